//! What evaluation draws on from outside: a clock, a random source and the
//! target directory's uniqueness check. All injectable so tests are
//! deterministic and the crate itself does no I/O.

use std::fmt;

use jiff::Timestamp;
/// Source of the current time (for `Now()`): the one clock of the domain crate.
pub use tenantsync_domain::{Clock, FixedClock, SystemClock};

/// Source of randomness (for `Guid()` and `RandomString`).
pub trait RandomSource {
    /// 64 uniformly random bits.
    fn next_u64(&mut self) -> u64;
}

/// Asks the target directory whether a candidate value is free
/// (`SelectUniqueValue`). The sync engine implements this.
pub trait UniquenessCheck {
    /// `Ok(true)` if no object in the target already uses `candidate`.
    ///
    /// # Errors
    /// A message when the check itself could not be made.
    fn is_unique(&mut self, candidate: &str) -> Result<bool, String>;
}

impl<F: FnMut(&str) -> Result<bool, String>> UniquenessCheck for F {
    fn is_unique(&mut self, candidate: &str) -> Result<bool, String> {
        self(candidate)
    }
}

/// The operating system's random generator.
#[derive(Debug, Clone, Copy, Default)]
pub struct OsRandom;

impl RandomSource for OsRandom {
    fn next_u64(&mut self) -> u64 {
        // getrandom fails only on exotic platforms; fall back to time-seeded bits.
        getrandom::u64().unwrap_or_else(|_| {
            let n = Timestamp::now().as_nanosecond();
            SeededRandom::new(n as u64).next_u64()
        })
    }
}

/// A small deterministic generator (SplitMix64) for tests and reproducible runs.
#[derive(Debug, Clone)]
pub struct SeededRandom {
    state: u64,
}

impl SeededRandom {
    /// Starts from `seed`.
    pub fn new(seed: u64) -> Self {
        SeededRandom { state: seed }
    }
}

impl RandomSource for SeededRandom {
    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// An unbiased index below `n` (n > 0).
pub(crate) fn below(r: &mut dyn RandomSource, n: usize) -> usize {
    let n64 = n as u64;
    if n64 <= 1 {
        return 0;
    }
    let zone = u64::MAX - (u64::MAX % n64);
    loop {
        let v = r.next_u64();
        if v < zone {
            return (v % n64) as usize;
        }
    }
}

/// Everything an evaluation may draw on.
pub struct Env<'a> {
    /// For `Now()`.
    pub clock: &'a dyn Clock,
    /// For `Guid()` and `RandomString`.
    pub random: &'a mut dyn RandomSource,
    /// For `SelectUniqueValue`; `None` makes it an evaluation error.
    pub uniqueness: Option<&'a mut dyn UniquenessCheck>,
}

impl<'a> Env<'a> {
    /// An environment without a uniqueness check.
    pub fn new(clock: &'a dyn Clock, random: &'a mut dyn RandomSource) -> Self {
        Env { clock, random, uniqueness: None }
    }

    /// Adds the target directory's uniqueness check.
    pub fn with_uniqueness(mut self, check: &'a mut dyn UniquenessCheck) -> Self {
        self.uniqueness = Some(check);
        self
    }
}

impl fmt::Debug for Env<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Env").field("uniqueness", &self.uniqueness.is_some()).finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_is_deterministic_and_below_is_in_range() {
        let mut a = SeededRandom::new(7);
        let mut b = SeededRandom::new(7);
        assert_eq!(a.next_u64(), b.next_u64());
        for n in 1..50 {
            assert!(below(&mut a, n) < n);
        }
        let mut os = OsRandom;
        assert_ne!(os.next_u64(), os.next_u64());
        assert!(SystemClock.now() > Timestamp::UNIX_EPOCH);
    }
}

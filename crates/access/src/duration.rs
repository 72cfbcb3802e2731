//! ISO 8601 durations as Graph writes them in entitlement management (`P14D`, `PT0S`,
//! `PT3H`, `P1DT12H`, `P2W`): days, hours, minutes and seconds. A day is 24 hours (every
//! time here is UTC). Years and months have no fixed length, so a duration that names
//! them is refused here; recurring schedules use their own pattern instead.
use crate::AccessError;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// A non-negative length of time, written and read as ISO 8601.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IsoDuration {
    seconds: u64,
}

const MINUTE: u64 = 60;
const HOUR: u64 = 60 * MINUTE;
const DAY: u64 = 24 * HOUR;
/// The longest duration accepted: 100 years of days, far beyond any policy's limit
/// (Entra's longest is 3,660 days) and far from overflowing a timestamp.
const MAX_SECONDS: u64 = 36_600 * DAY;

impl IsoDuration {
    pub const ZERO: IsoDuration = IsoDuration { seconds: 0 };

    pub const fn days(days: u64) -> IsoDuration {
        IsoDuration { seconds: days * DAY }
    }

    pub const fn hours(hours: u64) -> IsoDuration {
        IsoDuration { seconds: hours * HOUR }
    }

    pub const fn seconds(seconds: u64) -> IsoDuration {
        IsoDuration { seconds }
    }

    pub fn as_seconds(self) -> u64 {
        self.seconds
    }

    pub fn is_zero(self) -> bool {
        self.seconds == 0
    }

    /// `at` moved forward by this duration (saturating at the largest timestamp).
    pub fn after(self, at: Timestamp) -> Timestamp {
        let secs = i64::try_from(self.seconds).unwrap_or(i64::MAX);
        at.checked_add(SignedDuration::from_secs(secs)).unwrap_or(Timestamp::MAX)
    }

    /// `at` moved back by this duration (saturating at the smallest timestamp).
    pub fn before(self, at: Timestamp) -> Timestamp {
        let secs = i64::try_from(self.seconds).unwrap_or(i64::MAX);
        at.checked_sub(SignedDuration::from_secs(secs)).unwrap_or(Timestamp::MIN)
    }

    /// The duration from `from` to `to`, zero when `to` is not later.
    pub fn between(from: Timestamp, to: Timestamp) -> IsoDuration {
        let secs = to.duration_since(from).as_secs();
        IsoDuration { seconds: u64::try_from(secs).unwrap_or(0) }
    }
}

impl fmt::Display for IsoDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (days, rest) = (self.seconds / DAY, self.seconds % DAY);
        let (hours, rest) = (rest / HOUR, rest % HOUR);
        let (minutes, seconds) = (rest / MINUTE, rest % MINUTE);
        f.write_str("P")?;
        if days > 0 {
            write!(f, "{days}D")?;
        }
        if rest_or(hours, minutes, seconds) || days == 0 {
            f.write_str("T")?;
            if hours > 0 {
                write!(f, "{hours}H")?;
            }
            if minutes > 0 {
                write!(f, "{minutes}M")?;
            }
            if seconds > 0 || (days == 0 && hours == 0 && minutes == 0) {
                write!(f, "{seconds}S")?;
            }
        }
        Ok(())
    }
}

fn rest_or(hours: u64, minutes: u64, seconds: u64) -> bool {
    hours > 0 || minutes > 0 || seconds > 0
}

impl FromStr for IsoDuration {
    type Err = AccessError;

    fn from_str(s: &str) -> Result<IsoDuration, AccessError> {
        let bad = |reason: &'static str| AccessError::InvalidDuration { value: s.to_owned(), reason };
        let upper = s.trim().to_ascii_uppercase();
        let body = upper.strip_prefix('P').ok_or_else(|| bad("an ISO 8601 duration starts with P"))?;
        if body.is_empty() {
            return Err(bad("no amount after P"));
        }
        let (date, time) = match body.split_once('T') {
            Some((_, "")) => return Err(bad("no amount after T")),
            Some((d, t)) => (d, Some(t)),
            None => (body, None),
        };
        let mut seconds: u64 = 0;
        let mut add = |amount: u64, unit: u64| -> Result<(), AccessError> {
            seconds =
                amount.checked_mul(unit).and_then(|v| seconds.checked_add(v)).filter(|v| *v <= MAX_SECONDS).ok_or_else(|| bad("longer than 100 years"))?;
            Ok(())
        };
        for (amount, unit) in parts(date).map_err(bad)? {
            match unit {
                'W' => add(amount, 7 * DAY)?,
                'D' => add(amount, DAY)?,
                'Y' | 'M' => return Err(bad("years and months have no fixed length; give days")),
                _ => return Err(bad("a date part takes W or D")),
            }
        }
        for (amount, unit) in parts(time.unwrap_or_default()).map_err(bad)? {
            match unit {
                'H' => add(amount, HOUR)?,
                'M' => add(amount, MINUTE)?,
                'S' => add(amount, 1)?,
                _ => return Err(bad("a time part takes H, M or S")),
            }
        }
        Ok(IsoDuration { seconds })
    }
}

/// `14D` → `[(14, 'D')]`; digits then one unit letter, repeated.
fn parts(s: &str) -> Result<Vec<(u64, char)>, &'static str> {
    let mut out = Vec::new();
    let mut digits = String::new();
    for c in s.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
        } else if digits.is_empty() {
            return Err("a unit without an amount");
        } else {
            let amount = digits.parse::<u64>().map_err(|_| "an amount too large")?;
            out.push((amount, c));
            digits.clear();
        }
    }
    if !digits.is_empty() {
        return Err("an amount without a unit");
    }
    Ok(out)
}

impl Serialize for IsoDuration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for IsoDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<IsoDuration, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn graph_s_spellings_parse() {
        for (text, seconds) in
            [("P14D", 14 * DAY), ("PT0S", 0), ("PT3H", 3 * HOUR), ("P1DT12H", DAY + 12 * HOUR), ("P2W", 14 * DAY), ("PT90M", 90 * MINUTE), ("p1d", DAY)]
        {
            assert_eq!(text.parse::<IsoDuration>().map(|d| d.as_seconds()), Ok(seconds), "{text}");
        }
    }

    #[test]
    fn printed_in_the_shortest_form() {
        for (seconds, text) in [(0, "PT0S"), (14 * DAY, "P14D"), (3 * HOUR, "PT3H"), (DAY + 90 * MINUTE, "P1DT1H30M"), (61, "PT1M1S")] {
            assert_eq!(IsoDuration::seconds(seconds).to_string(), text);
        }
    }

    #[test]
    fn refusals_say_why() {
        for (text, why) in [
            ("14D", "starts with P"),
            ("P", "no amount after P"),
            ("P1DT", "no amount after T"),
            ("P3M", "no fixed length"),
            ("P1Y", "no fixed length"),
            ("PT5D", "H, M or S"),
            ("P1H", "W or D"),
            ("PD", "without an amount"),
            ("P14", "without a unit"),
            ("P99999999999999999999D", "too large"),
            ("P40000D", "100 years"),
            ("P-1D", "without an amount"),
        ] {
            let err = text.parse::<IsoDuration>().expect_err(text);
            assert!(err.to_string().contains(why), "{text}: {err}");
            assert_eq!(err.code(), "invalid_duration");
        }
    }

    #[test]
    fn moves_timestamps() {
        let t: Timestamp = "2026-12-06T00:00:00Z".parse().unwrap();
        assert_eq!(IsoDuration::days(90).after(t).to_string(), "2027-03-06T00:00:00Z");
        assert_eq!(IsoDuration::days(1).before(t).to_string(), "2026-12-05T00:00:00Z");
        assert_eq!(IsoDuration::between(t, IsoDuration::hours(5).after(t)), IsoDuration::hours(5));
        assert_eq!(IsoDuration::between(IsoDuration::hours(5).after(t), t), IsoDuration::ZERO);
    }

    proptest! {
        #[test]
        fn printing_then_parsing_gives_the_same(seconds in 0..MAX_SECONDS) {
            let d = IsoDuration::seconds(seconds);
            prop_assert_eq!(d.to_string().parse::<IsoDuration>(), Ok(d));
        }

        #[test]
        fn no_input_panics(s in "\\PC{0,24}") {
            let _ = s.parse::<IsoDuration>();
        }
    }
}

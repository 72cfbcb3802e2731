//! How command-line values are read, for every command alike: whole numbers with their
//! bounds, closed sets of names (listed by `--help`, surrounding spaces allowed), and
//! times.
use clap::ValueEnum;
use clap::builder::{EnumValueParser, PossibleValue, TypedValueParser};
use std::ffi::OsStr;
use std::marker::PhantomData;

/// A whole number of at least `MIN` (`--batch-size 0` and `--retention-days -1` are
/// refused with what is expected; options that take one allow a leading `-` so the
/// message is this one, not clap's "unexpected argument").
pub fn number<T: TryFrom<u64>, const MIN: u64>(s: &str) -> Result<T, String> {
    let expected = || if MIN == 0 { "expected a whole number, 0 or more".to_owned() } else { format!("expected a whole number, {MIN} or more") };
    let n: u64 = s.trim().parse().map_err(|_| expected())?;
    if n < MIN {
        return Err(expected());
    }
    T::try_from(n).map_err(|_| format!("{n} is too large"))
}

/// One of the names of `E`, as `--help` lists them, ignoring case and surrounding spaces
/// (so `--reset 'Watermark, Escrows'` reads like `--reset Watermark,Escrows`).
#[derive(Debug, Clone, Copy)]
pub struct Names<E>(PhantomData<E>);

impl<E> Names<E> {
    pub fn new() -> Self {
        Names(PhantomData)
    }
}

impl<E> Default for Names<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E: ValueEnum + Clone + Send + Sync + 'static> TypedValueParser for Names<E> {
    type Value = E;

    fn parse_ref(&self, cmd: &clap::Command, arg: Option<&clap::Arg>, value: &OsStr) -> Result<E, clap::Error> {
        let trimmed = value.to_str().map(str::trim).unwrap_or_default();
        EnumValueParser::<E>::new().parse_ref(cmd, arg, OsStr::new(if trimmed.is_empty() { value.to_str().unwrap_or_default() } else { trimmed }))
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = PossibleValue> + '_>> {
        Some(Box::new(E::value_variants().iter().filter_map(ValueEnum::to_possible_value)))
    }
}

/// A time given on the command line: an RFC 3339 time (`2026-12-06T10:11:12Z`,
/// `2026-12-06T11:11:12+01:00`), a date and time without offset (UTC), or a date (its
/// midnight, UTC).
pub fn time(s: &str) -> Result<jiff::Timestamp, String> {
    let s = s.trim();
    if let Ok(t) = s.parse::<jiff::Timestamp>() {
        return Ok(t);
    }
    if let Ok(dt) = s.parse::<jiff::civil::DateTime>() {
        return dt.to_zoned(jiff::tz::TimeZone::UTC).map(|z| z.timestamp()).map_err(|e| e.to_string());
    }
    if let Ok(d) = s.parse::<jiff::civil::Date>() {
        return d.to_zoned(jiff::tz::TimeZone::UTC).map(|z| z.timestamp()).map_err(|e| e.to_string());
    }
    Err("expected a date (2026-12-06) or a time (2026-12-06T10:11:12Z, RFC 3339)".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_say_what_they_expect() {
        assert_eq!(number::<u32, 0>("7"), Ok(7));
        assert_eq!(number::<u32, 0>("-1"), Err("expected a whole number, 0 or more".into()));
        assert_eq!(number::<usize, 1>("0"), Err("expected a whole number, 1 or more".into()));
        assert_eq!(number::<u32, 0>("99999999999"), Err("99999999999 is too large".into()));
    }

    #[test]
    fn times_are_dates_or_rfc3339() {
        assert_eq!(time("2026-12-06").unwrap().to_string(), "2026-12-06T00:00:00Z");
        assert_eq!(time("2026-12-06T10:11:12").unwrap().to_string(), "2026-12-06T10:11:12Z");
        assert_eq!(time("2026-12-06T11:11:12+01:00").unwrap().to_string(), "2026-12-06T10:11:12Z");
        assert!(time("yesterday").is_err());
    }
}

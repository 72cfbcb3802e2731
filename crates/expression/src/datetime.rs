//! Dates the way Entra's expression functions see them: .NET custom and
//! standard format strings (invariant culture), lenient `CDate` parsing,
//! AD FILETIME numbers, and VB.NET `DateAdd`/`DateDiff`.
//!
//! Decision: the provisioning service's local time zone is UTC, so inputs with
//! an offset are converted to UTC, and `z`/`zz`/`zzz` print `+0`, `+00`,
//! `+00:00`.

use jiff::civil::{Date, DateTime, Time};
use jiff::tz::{Offset, TimeZone};
use jiff::{Span, Timestamp};

const MONTHS: [&str; 12] = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];
const DAYS: [&str; 7] = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];

/// FILETIME ticks (100 ns since 1601-01-01 UTC) at the Unix epoch.
const FILETIME_UNIX_EPOCH: i128 = 116_444_736_000_000_000;

/// What a parsed date says about its zone (.NET `DateTimeKind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Unspecified,
    Utc,
    Local,
}

fn utc(ts: Timestamp) -> DateTime {
    TimeZone::UTC.to_datetime(ts)
}

fn to_ts(dt: DateTime) -> Option<Timestamp> {
    Offset::UTC.to_timestamp(dt).ok()
}

/// `M/d/yyyy h:mm:ss tt` in UTC — the form CDate, Now and DateAdd return.
pub fn format_general(ts: Timestamp) -> String {
    let dt = utc(ts);
    let h12 = match dt.hour() % 12 {
        0 => 12,
        h => h,
    };
    format!("{}/{}/{} {}:{:02}:{:02} {}", dt.month(), dt.day(), dt.year(), h12, dt.minute(), dt.second(), if dt.hour() < 12 { "AM" } else { "PM" })
}

struct Cursor<'a> {
    s: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }
    fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn eat_ci(&mut self, word: &str) -> bool {
        let end = self.i + word.len();
        match self.s.get(self.i..end) {
            Some(slice) if slice.eq_ignore_ascii_case(word.as_bytes()) => {
                self.i = end;
                true
            }
            _ => false,
        }
    }
    fn skip_ws(&mut self) {
        while self.peek().is_some_and(|b| b.is_ascii_whitespace()) {
            self.i += 1;
        }
    }
    /// Between min and max digits.
    fn digits(&mut self, min: usize, max: usize) -> Option<(i64, usize)> {
        let start = self.i;
        let mut v: i64 = 0;
        while self.i - start < max {
            match self.peek() {
                Some(b @ b'0'..=b'9') => {
                    v = v * 10 + i64::from(b - b'0');
                    self.i += 1;
                }
                _ => break,
            }
        }
        let n = self.i - start;
        if n < min {
            self.i = start;
            return None;
        }
        Some((v, n))
    }
    fn done(&self) -> bool {
        self.i >= self.s.len()
    }
}

/// `Z`, `±hh:mm`, `±hhmm` or `±hh` → offset seconds.
fn zone(c: &mut Cursor<'_>) -> Option<Option<i32>> {
    if c.eat(b'Z') || c.eat(b'z') {
        return Some(Some(0));
    }
    let sign = match c.peek() {
        Some(b'+') => 1,
        Some(b'-') => -1,
        _ => return Some(None),
    };
    c.i += 1;
    let (h, n) = c.digits(1, 2)?;
    let mut m = 0;
    if c.eat(b':') {
        m = c.digits(2, 2)?.0;
    } else if n == 2
        && let Some((mm, _)) = c.digits(2, 2)
    {
        m = mm;
    }
    if h > 14 || m > 59 {
        return None;
    }
    Some(Some(sign * i32::try_from(h * 3600 + m * 60).ok()?))
}

#[allow(clippy::too_many_arguments)]
fn build(y: i64, mo: i64, d: i64, h: i64, mi: i64, s: i64, nanos: i64, offset: Option<i32>) -> Option<Timestamp> {
    let date = Date::new(i16::try_from(y).ok()?, i8::try_from(mo).ok()?, i8::try_from(d).ok()?).ok()?;
    let time = Time::new(i8::try_from(h).ok()?, i8::try_from(mi).ok()?, i8::try_from(s).ok()?, i32::try_from(nanos).ok()?).ok()?;
    let dt = DateTime::from_parts(date, time);
    let off = Offset::from_seconds(offset.unwrap_or(0)).ok()?;
    off.to_timestamp(dt).ok()
}

/// Lenient date/time reading used by CDate and wherever a function needs a
/// date from a string: ISO 8601 (`2009-06-15T01:45:30-07:00`, `2020-03-16-07:00`,
/// `2021-08-24`), US general form (`8/25/2021 5:41:18 PM`), with an optional
/// zone (`Z`, `±hh:mm`, `±hhmm`, `±hh`). No zone means UTC.
pub fn parse_lenient(text: &str) -> Option<Timestamp> {
    let mut c = Cursor { s: text.trim().as_bytes(), i: 0 };
    let (y, mo, d);
    let (first, n) = c.digits(1, 4)?;
    if n == 4 && c.eat(b'-') {
        y = first;
        mo = c.digits(1, 2)?.0;
        if !c.eat(b'-') {
            return None;
        }
        d = c.digits(1, 2)?.0;
    } else if n == 4 && c.peek().is_some_and(|b| b.is_ascii_digit()) {
        // yyyyMMdd
        y = first;
        mo = c.digits(2, 2)?.0;
        d = c.digits(2, 2)?.0;
    } else if n <= 2 && c.eat(b'/') {
        mo = first;
        d = c.digits(1, 2)?.0;
        if !c.eat(b'/') {
            return None;
        }
        y = c.digits(4, 4)?.0;
    } else {
        return None;
    }
    let (mut h, mut mi, mut s, mut nanos) = (0, 0, 0, 0);
    let mut offset = zone(&mut c)?;
    if offset.is_none() && (c.eat(b'T') || c.eat(b't') || c.peek() == Some(b' ')) {
        c.skip_ws();
        if !c.done() {
            h = c.digits(1, 2)?.0;
            if !c.eat(b':') {
                return None;
            }
            mi = c.digits(2, 2)?.0;
            if c.eat(b':') {
                s = c.digits(2, 2)?.0;
                if c.eat(b'.') || c.eat(b',') {
                    let (f, fd) = c.digits(1, 9)?;
                    // skip extra precision
                    while c.peek().is_some_and(|b| b.is_ascii_digit()) {
                        c.i += 1;
                    }
                    nanos = f * 10_i64.pow(9 - u32::try_from(fd).ok()?);
                }
            }
            let before = c.i;
            c.skip_ws();
            if c.eat_ci("AM") {
                if !(1..=12).contains(&h) {
                    return None;
                }
                if h == 12 {
                    h = 0;
                }
            } else if c.eat_ci("PM") {
                if !(1..=12).contains(&h) {
                    return None;
                }
                if h != 12 {
                    h += 12;
                }
            } else {
                c.i = before;
            }
            c.skip_ws();
            offset = zone(&mut c)?;
        }
    }
    c.skip_ws();
    if !c.done() {
        return None;
    }
    build(y, mo, d, h, mi, s, nanos, offset)
}

/// AD FILETIME → instant.
pub fn from_filetime(ft: i64) -> Option<Timestamp> {
    let ticks = i128::from(ft) - FILETIME_UNIX_EPOCH;
    let nanos = ticks.checked_mul(100)?;
    Timestamp::from_nanosecond(nanos).ok()
}

/// Instant → AD FILETIME.
pub fn to_filetime(ts: Timestamp) -> Option<i64> {
    let ticks = ts.as_nanosecond().div_euclid(100) + FILETIME_UNIX_EPOCH;
    if ticks < 0 {
        return None;
    }
    i64::try_from(ticks).ok()
}

/// VB `DateAdd`.
pub fn date_add(interval: &str, n: i64, ts: Timestamp) -> Result<Timestamp, String> {
    let dt = utc(ts);
    let span = match interval {
        "yyyy" => Span::new().try_years(n),
        "q" => Span::new().try_months(n.saturating_mul(3)),
        "m" => Span::new().try_months(n),
        "y" | "d" | "w" => Span::new().try_days(n),
        "ww" => Span::new().try_weeks(n),
        "h" => Span::new().try_hours(n),
        "n" => Span::new().try_minutes(n),
        "s" => Span::new().try_seconds(n),
        other => return Err(format!("unknown interval {other:?}; use yyyy, q, m, y, d, w, ww, h, n or s")),
    }
    .map_err(|e| format!("{n} is out of range: {e}"))?;
    let out = if matches!(interval, "h" | "n" | "s") {
        ts.checked_add(span).map_err(|e| e.to_string())?
    } else {
        to_ts(dt.checked_add(span).map_err(|e| e.to_string())?).ok_or("date out of range")?
    };
    Ok(out)
}

fn day_number(d: Date) -> i64 {
    // days since 0001-01-01 (proleptic Gregorian)
    let y = i64::from(d.year()) - 1;
    let doy = i64::from(d.day_of_year());
    y * 365 + y.div_euclid(4) - y.div_euclid(100) + y.div_euclid(400) + doy - 1
}

/// VB.NET `DateDiff`, boundaries counted on UTC calendar values.
///
/// Decision: "d"/"y" count calendar-date boundaries as the reference (§6.4)
/// specifies; VB.NET itself truncates elapsed days, which agrees with every
/// documented vector but differs for e.g. 23:00 → 01:00 next day (we say 1).
pub fn date_diff(interval: &str, a: Timestamp, b: Timestamp) -> Result<i64, String> {
    let (da, db) = (utc(a), utc(b));
    let days = || day_number(db.date()) - day_number(da.date());
    let elapsed = b.as_nanosecond() - a.as_nanosecond();
    let per = |unit: i128| i64::try_from(elapsed / unit).map_err(|_| "result out of range".to_owned());
    Ok(match interval {
        "yyyy" => i64::from(db.year()) - i64::from(da.year()),
        "q" => {
            let q = |d: DateTime| i64::from(d.year()) * 4 + (i64::from(d.month()) - 1) / 3;
            q(db) - q(da)
        }
        "m" => (i64::from(db.year()) * 12 + i64::from(db.month())) - (i64::from(da.year()) * 12 + i64::from(da.month())),
        "d" | "y" => days(),
        "w" => days() / 7,
        "ww" => {
            let start = |d: DateTime| day_number(d.date()) - i64::from(d.weekday().to_sunday_zero_offset());
            (start(db) - start(da)) / 7
        }
        "h" => per(3_600_000_000_000)?,
        "n" => per(60_000_000_000)?,
        "s" => per(1_000_000_000)?,
        other => return Err(format!("unknown interval {other:?}; use yyyy, q, m, y, d, w, ww, h, n or s")),
    })
}

// ---------------------------------------------------------------- .NET formats

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Lit(String),
    /// Specifier letter and repeat count.
    Spec(char, usize),
}

fn standard(c: char) -> Option<&'static str> {
    Some(match c {
        'd' => "MM/dd/yyyy",
        'D' => "dddd, dd MMMM yyyy",
        'f' => "dddd, dd MMMM yyyy HH:mm",
        'F' | 'U' => "dddd, dd MMMM yyyy HH:mm:ss",
        'g' => "MM/dd/yyyy HH:mm",
        'G' => "MM/dd/yyyy HH:mm:ss",
        'M' | 'm' => "MMMM dd",
        'O' | 'o' => "yyyy'-'MM'-'dd'T'HH':'mm':'ss'.'fffffffK",
        'R' | 'r' => "ddd, dd MMM yyyy HH':'mm':'ss 'GMT'",
        's' => "yyyy'-'MM'-'dd'T'HH':'mm':'ss",
        't' => "HH:mm",
        'T' => "HH:mm:ss",
        'u' => "yyyy'-'MM'-'dd HH':'mm':'ss'Z'",
        'Y' | 'y' => "yyyy MMMM",
        _ => return None,
    })
}

fn tokenize(format: &str) -> Result<Vec<Tok>, String> {
    let mut chars: Vec<char> = format.chars().collect();
    if chars.len() == 1
        && let Some(c) = chars.first()
    {
        match standard(*c) {
            Some(p) => chars = p.chars().collect(),
            None => return Err(format!("{format:?} is not a standard date format")),
        }
    }
    let mut out = Vec::new();
    let mut i = 0;
    let lit = |out: &mut Vec<Tok>, s: &str| match out.last_mut() {
        Some(Tok::Lit(l)) => l.push_str(s),
        _ => out.push(Tok::Lit(s.to_owned())),
    };
    while let Some(&c) = chars.get(i) {
        match c {
            'd' | 'f' | 'F' | 'g' | 'h' | 'H' | 'K' | 'm' | 'M' | 's' | 't' | 'y' | 'z' => {
                let mut n = 1;
                while chars.get(i + n) == Some(&c) {
                    n += 1;
                }
                out.push(Tok::Spec(c, n));
                i += n;
            }
            '\'' | '"' => {
                let mut j = i + 1;
                let mut s = String::new();
                loop {
                    match chars.get(j) {
                        None => return Err(format!("unclosed quote in date format {format:?}")),
                        Some(&q) if q == c => break,
                        Some('\\') => {
                            if let Some(&e) = chars.get(j + 1) {
                                s.push(e);
                            }
                            j += 2;
                            continue;
                        }
                        Some(&ch) => s.push(ch),
                    }
                    j += 1;
                }
                lit(&mut out, &s);
                i = j + 1;
            }
            '\\' => {
                match chars.get(i + 1) {
                    Some(&e) => lit(&mut out, &e.to_string()),
                    None => return Err(format!("date format {format:?} ends with a backslash")),
                }
                i += 2;
            }
            '%' => {
                // %d: a single custom specifier
                i += 1;
            }
            other => {
                lit(&mut out, &other.to_string());
                i += 1;
            }
        }
    }
    Ok(out)
}

/// Formats with a .NET date/time format string (custom or standard, invariant culture).
pub(crate) fn format_dotnet(dt: DateTime, kind: Kind, format: &str) -> Result<String, String> {
    let toks = tokenize(format)?;
    let mut out = String::new();
    let h12 = match dt.hour() % 12 {
        0 => 12,
        h => h,
    };
    for t in toks {
        match t {
            Tok::Lit(s) => out.push_str(&s),
            Tok::Spec(c, n) => match (c, n) {
                ('d', 1) => out.push_str(&dt.day().to_string()),
                ('d', 2) => out.push_str(&format!("{:02}", dt.day())),
                ('d', 3) => out.push_str(DAYS.get(dt.weekday().to_sunday_zero_offset() as usize).map_or("", |d| d.get(..3).unwrap_or(d))),
                ('d', _) => out.push_str(DAYS.get(dt.weekday().to_sunday_zero_offset() as usize).copied().unwrap_or("")),
                ('f' | 'F', n) if n <= 7 => {
                    let frac = format!("{:09}", dt.subsec_nanosecond());
                    let digits = frac.get(..n).unwrap_or("");
                    if c == 'f' {
                        out.push_str(digits);
                    } else {
                        let trimmed = digits.trim_end_matches('0');
                        if trimmed.is_empty() && out.ends_with('.') {
                            out.pop();
                        }
                        out.push_str(trimmed);
                    }
                }
                ('f' | 'F', _) => return Err("more than 7 fraction digits in date format".into()),
                ('g', _) => out.push_str("A.D."),
                ('h', 1) => out.push_str(&h12.to_string()),
                ('h', _) => out.push_str(&format!("{h12:02}")),
                ('H', 1) => out.push_str(&dt.hour().to_string()),
                ('H', _) => out.push_str(&format!("{:02}", dt.hour())),
                ('K', _) => out.push_str(match kind {
                    Kind::Unspecified => "",
                    Kind::Utc => "Z",
                    Kind::Local => "+00:00",
                }),
                ('m', 1) => out.push_str(&dt.minute().to_string()),
                ('m', _) => out.push_str(&format!("{:02}", dt.minute())),
                ('M', 1) => out.push_str(&dt.month().to_string()),
                ('M', 2) => out.push_str(&format!("{:02}", dt.month())),
                ('M', 3) => out.push_str(MONTHS.get(dt.month() as usize - 1).map_or("", |m| m.get(..3).unwrap_or(m))),
                ('M', _) => out.push_str(MONTHS.get(dt.month() as usize - 1).copied().unwrap_or("")),
                ('s', 1) => out.push_str(&dt.second().to_string()),
                ('s', _) => out.push_str(&format!("{:02}", dt.second())),
                ('t', 1) => out.push(if dt.hour() < 12 { 'A' } else { 'P' }),
                ('t', _) => out.push_str(if dt.hour() < 12 { "AM" } else { "PM" }),
                ('y', 1) => out.push_str(&(dt.year() % 100).to_string()),
                ('y', 2) => out.push_str(&format!("{:02}", dt.year() % 100)),
                ('y', n) => out.push_str(&format!("{:0n$}", dt.year())),
                ('z', 1) => out.push_str("+0"),
                ('z', 2) => out.push_str("+00"),
                ('z', _) => out.push_str("+00:00"),
                _ => {}
            },
        }
    }
    Ok(out)
}

fn month_name(c: &mut Cursor<'_>, full: bool) -> Option<i64> {
    for (i, m) in MONTHS.iter().enumerate() {
        let name = if full { m } else { m.get(..3).unwrap_or(m) };
        if c.eat_ci(name) {
            return i64::try_from(i + 1).ok();
        }
    }
    None
}

/// .NET `DateTime.ParseExact` with one format (invariant culture, leading and
/// trailing white space allowed). Returns the UTC instant and its kind.
pub(crate) fn parse_exact(text: &str, format: &str) -> Result<(Timestamp, Kind), String> {
    let toks = tokenize(format)?;
    let mut c = Cursor { s: text.trim().as_bytes(), i: 0 };
    let fail = || format!("does not match the format {format:?}");
    let (mut y, mut mo, mut d, mut h, mut mi, mut s, mut nanos) = (1_i64, 1, 1, 0, 0, 0, 0);
    let mut pm: Option<bool> = None;
    let mut offset: Option<i32> = None;
    let mut utc_marker = false;
    for t in toks {
        match t {
            Tok::Lit(l) => {
                for ch in l.chars() {
                    if ch.is_whitespace() {
                        c.skip_ws();
                    } else {
                        let mut buf = [0; 4];
                        if !c.eat_ci(ch.encode_utf8(&mut buf)) {
                            return Err(fail());
                        }
                    }
                }
            }
            Tok::Spec(ch, n) => {
                let two = |c: &mut Cursor<'_>| c.digits(if n == 1 { 1 } else { 2 }, 2).map(|v| v.0).ok_or_else(fail);
                match ch {
                    'd' if n <= 2 => d = two(&mut c)?,
                    'd' => {
                        let mut found = false;
                        for day in DAYS {
                            let name = if n == 3 { day.get(..3).unwrap_or(day) } else { day };
                            if c.eat_ci(name) {
                                found = true;
                                break;
                            }
                        }
                        if !found {
                            return Err(fail());
                        }
                    }
                    'M' if n <= 2 => mo = two(&mut c)?,
                    'M' => mo = month_name(&mut c, n > 3).ok_or_else(fail)?,
                    'y' => {
                        let (v, digits) = if n <= 2 { c.digits(1, 2) } else { c.digits(n.min(4), n.max(4)) }.ok_or_else(fail)?;
                        y = if n <= 2 && digits <= 2 { if v < 50 { 2000 + v } else { 1900 + v } } else { v };
                    }
                    'h' | 'H' => h = two(&mut c)?,
                    'm' => mi = two(&mut c)?,
                    's' => s = two(&mut c)?,
                    'f' | 'F' => {
                        let (v, k) = c.digits(if ch == 'f' { n } else { 0 }, n).ok_or_else(fail)?;
                        if k > 0 {
                            nanos = v * 10_i64.pow(9 - u32::try_from(k).map_err(|_| fail())?);
                        } else if ch == 'F' {
                            // F with no digits may also drop the '.' before it; nothing to do
                        }
                    }
                    't' => {
                        if c.eat_ci(if n == 1 { "A" } else { "AM" }) {
                            pm = Some(false);
                        } else if c.eat_ci(if n == 1 { "P" } else { "PM" }) {
                            pm = Some(true);
                        } else {
                            return Err(fail());
                        }
                    }
                    'z' | 'K' => match zone(&mut c) {
                        Some(Some(o)) => {
                            if c.s.get(c.i.wrapping_sub(1)).is_some_and(|b| *b == b'Z' || *b == b'z') {
                                utc_marker = true;
                            }
                            offset = Some(o);
                        }
                        Some(None) if ch == 'K' => {}
                        _ => return Err(fail()),
                    },
                    'g' => {
                        if !(c.eat_ci("A.D.") || c.eat_ci("AD")) {
                            return Err(fail());
                        }
                    }
                    _ => return Err(fail()),
                }
            }
        }
    }
    if !c.done() {
        return Err(fail());
    }
    match pm {
        Some(true) if h < 12 => h += 12,
        Some(false) if h == 12 => h = 0,
        _ => {}
    }
    let kind = match offset {
        None => Kind::Unspecified,
        Some(_) if utc_marker => Kind::Utc,
        Some(_) => Kind::Local,
    };
    let ts = build(y, mo, d, h, mi, s, nanos, offset).ok_or_else(|| "is not a valid date/time".to_owned())?;
    Ok((ts, kind))
}

/// `FormatDateTime(source, styles, inputFormat, outputFormat)`.
pub(crate) fn reformat(text: &str, input_format: &str, output_format: &str) -> Result<String, String> {
    let (ts, kind) = parse_exact(text, input_format)?;
    format_dotnet(utc(ts), kind, output_format)
}

/// The `DateTimeStyles` names .NET knows; FormatDateTime validates against these.
pub(crate) const DATE_TIME_STYLES: [&str; 10] = [
    "None",
    "AllowLeadingWhite",
    "AllowTrailingWhite",
    "AllowInnerWhite",
    "AllowWhiteSpaces",
    "NoCurrentDateDefault",
    "AdjustToUniversal",
    "AssumeLocal",
    "AssumeUniversal",
    "RoundtripKind",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> String {
        format_general(parse_lenient(s).unwrap_or_else(|| panic!("cannot parse {s}")))
    }

    #[test]
    fn lenient_forms() {
        assert_eq!(p("2020-03-16-07:00"), "3/16/2020 7:00:00 AM");
        assert_eq!(p("2021-06-30+08:00"), "6/29/2021 4:00:00 PM");
        assert_eq!(p("2009-06-15T01:45:30-07:00"), "6/15/2009 8:45:30 AM");
        assert_eq!(p("8/25/2021 5:41:18 PM"), "8/25/2021 5:41:18 PM");
        assert_eq!(p("8/25/2021 12:00:00 AM"), "8/25/2021 12:00:00 AM");
        assert_eq!(p("2021-08-24"), "8/24/2021 12:00:00 AM");
        assert_eq!(p("2020-12-31 23:59:59-08:00"), "1/1/2021 7:59:59 AM");
        assert_eq!(p("2015-01-23T10:53:47.1234567Z"), "1/23/2015 10:53:47 AM");
        assert_eq!(p("20150123"), "1/23/2015 12:00:00 AM");
        for bad in ["", "yesterday", "2021-13-01", "2021-02-30", "8/25/2021 13:00:00 PM", "2021-01-01 x", "2021-01-01+99:00"] {
            assert!(parse_lenient(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn filetime() {
        let ts = from_filetime(129_699_324_000_000_000).unwrap();
        assert_eq!(format_general(ts), "1/1/2012 11:00:00 PM");
        assert_eq!(to_filetime(ts), Some(129_699_324_000_000_000));
        assert_eq!(to_filetime(parse_lenient("1601-01-01T00:00:00Z").unwrap()), Some(0));
        assert!(from_filetime(i64::MAX).is_none(), "beyond year 9999");
    }

    #[test]
    fn dotnet_formats() {
        assert_eq!(reformat("20150123105347.1Z", "yyyyMMddHHmmss.fZ", "yyyy-MM-dd").unwrap(), "2015-01-23");
        assert_eq!(reformat("2020-12-31-08:00", "yyyy-MM-ddzzz", "yyyy-MM-dd").unwrap(), "2020-12-31");
        assert_eq!(reformat("12/31/2020 11:30:00 PM", "M/d/yyyy hh:mm:ss tt", "yyyy-MM-dd HH:mm").unwrap(), "2020-12-31 23:30");
        assert_eq!(reformat("2020-01-05", "yyyy-MM-dd", "dddd, MMMM d, yyyy 'at' h tt").unwrap(), "Sunday, January 5, 2020 at 12 AM");
        assert_eq!(reformat("2020-01-05 07:08:09", "yyyy-MM-dd HH:mm:ss", "o").unwrap(), "2020-01-05T07:08:09.0000000");
        assert_eq!(reformat("2020-01-05T07:08:09Z", "yyyy-MM-dd'T'HH:mm:ssK", "o").unwrap(), "2020-01-05T07:08:09.0000000Z");
        assert_eq!(reformat("2020-01-05 07:08:09", "yyyy-MM-dd HH:mm:ss", "HH:mm:ss.FFF").unwrap(), "07:08:09");
        assert_eq!(reformat("05 Jan 20", "dd MMM yy", "yyyy/MM/dd").unwrap(), "2020/01/05");
        assert_eq!(reformat("05 Jan 99", "dd MMM yy", "d\\/M\\/yy").unwrap(), "5/1/99");
        assert!(reformat("2020-01-05", "yyyyMMdd", "yyyy").is_err());
        assert!(reformat("2020-01-05", "yyyy-MM-dd", "Q").is_err());
        assert!(reformat("2020-01-05", "'yyyy", "yyyy").is_err());
    }

    #[test]
    fn add_and_diff() {
        let t = parse_lenient("2012-03-16-07:00").unwrap();
        let f = |i: &str, n: i64| format_general(date_add(i, n, t).unwrap());
        assert_eq!(f("d", 7), "3/23/2012 7:00:00 AM");
        assert_eq!(f("m", 10), "1/16/2013 7:00:00 AM");
        let jan31 = parse_lenient("2021-01-31").unwrap();
        assert_eq!(format_general(date_add("m", 1, jan31).unwrap()), "2/28/2021 12:00:00 AM", "AddMonths clamps");
        assert!(date_add("x", 1, t).is_err());
        assert!(date_add("yyyy", i64::MAX, t).is_err());
        let a = parse_lenient("2021-01-01T23:00:00Z").unwrap();
        let b = parse_lenient("2021-01-02T01:00:00Z").unwrap();
        assert_eq!(date_diff("d", a, b).unwrap(), 1, "calendar boundary");
        assert_eq!(date_diff("h", a, b).unwrap(), 2);
        assert_eq!(date_diff("h", b, a).unwrap(), -2);
        // Sat 2021-01-02 → Sun 2021-01-03 crosses one Sunday boundary
        let sat = parse_lenient("2021-01-02").unwrap();
        let sun = parse_lenient("2021-01-03").unwrap();
        assert_eq!(date_diff("ww", sat, sun).unwrap(), 1);
        assert_eq!(date_diff("w", sat, sun).unwrap(), 0);
        assert_eq!(date_diff("q", sat, parse_lenient("2021-04-01").unwrap()).unwrap(), 1);
    }
}

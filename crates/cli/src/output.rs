//! Everything the CLI prints goes through here: lines of text, tables, fields, JSON
//! documents and error lines.
//!
//! A reader that goes away early (`tenantsync user list -t T | head -1` closes the pipe)
//! ends the process at once, quietly and with status 0, as Unix tools do; any other
//! failure to write standard output ends it with one error line and status 1.
use serde::Serialize;
use serde_json::Value;
use std::fmt::{Display, Write as _};
use std::io::{self, Write};

/// `println!`, through [`line`].
macro_rules! out {
    () => {
        $crate::output::line("")
    };
    ($($arg:tt)*) => {
        $crate::output::line(format_args!($($arg)*))
    };
}
pub(crate) use out;

/// Writes `text` and a newline to standard output.
pub fn line(text: impl Display) {
    write_out(&format!("{text}\n"));
}

/// Writes `text` as it is (it brings its own newlines).
pub fn text(text: &str) {
    write_out(text);
}

/// Writes one line to standard error. Nothing is left to tell if that fails.
pub fn error(text: impl Display) {
    let _ = writeln!(io::stderr().lock(), "{text}");
}

fn write_out(text: &str) {
    let mut out = io::stdout().lock();
    if let Err(e) = out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        stdout_failed(&e);
    }
}

/// Ends the process after a failed write to standard output.
fn stdout_failed(e: &io::Error) -> ! {
    if e.kind() == io::ErrorKind::BrokenPipe {
        // The reader has all it wanted.
        std::process::exit(0);
    }
    let f = crate::failure::Failure::cli("standard output", e.to_string(), crate::failure::CliCode::OutputFailed);
    error(format_args!("error: {f}"));
    std::process::exit(1);
}

/// Prints a value as one pretty JSON document.
pub fn json<T: Serialize>(value: &T) {
    match serde_json::to_string_pretty(value) {
        Ok(s) => line(s),
        Err(e) => error(format_args!("error: cannot print JSON: {e}")),
    }
}

/// Prints a value as one line of JSON (a record of a stream: `changes --follow --json`).
pub fn json_line<T: Serialize>(value: &T) {
    match serde_json::to_string(value) {
        Ok(s) => line(s),
        Err(e) => error(format_args!("error: cannot print JSON: {e}")),
    }
}

/// The one way times are printed as text: UTC, to the millisecond, fixed width
/// (`2026-12-06T10:11:12.345Z`). JSON keeps the stored precision.
pub fn time(t: jiff::Timestamp) -> String {
    format!("{t:.3}")
}

/// A JSON value as one table cell or field value. Times (Graph names them `…DateTime`)
/// take the one text form of [`time`].
fn scalar(key: &str, v: &Value) -> String {
    match v {
        Value::String(s) if key.ends_with("DateTime") => s.parse::<jiff::Timestamp>().map(time).unwrap_or_else(|_| s.clone()),
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().map(|i| scalar(key, i)).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    }
}

/// Prints an object's fields, one `name: value` a line, leaving out nulls.
pub fn fields<T: Serialize>(value: &T) {
    let Ok(Value::Object(map)) = serde_json::to_value(value) else { return };
    let rows: Vec<(String, String)> = map.iter().filter(|(_, v)| !v.is_null()).map(|(k, v)| (k.clone(), scalar(k, v))).collect();
    pairs(&rows);
}

/// Prints `name  value` lines, the values aligned.
pub fn pairs(rows: &[(String, String)]) {
    let width = rows.iter().map(|(k, _)| k.chars().count()).max().unwrap_or(0);
    let mut out = String::new();
    for (k, v) in rows {
        let _ = writeln!(out, "{}", format!("{k:width$}  {v}").trim_end());
    }
    text(&out);
}

/// Prints rows as an aligned table with a header.
pub fn table(header: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: &[String]| {
        let mut l = String::new();
        for (i, (cell, w)) in cells.iter().zip(&widths).enumerate() {
            if i + 1 == cells.len() {
                l.push_str(cell);
            } else {
                let _ = write!(l, "{cell:w$}  ");
            }
        }
        let _ = writeln!(out, "{}", l.trim_end());
    };
    line(&header.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>());
    for row in rows {
        line(row);
    }
    text(&out);
}

/// The name serde gives a value (an enum's wire name, e.g. `stagedDelete`, `allUsers`,
/// `Active`): what text output shows, so it reads as the JSON and the docs do.
pub fn name<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_have_one_fixed_width_form() {
        let t: jiff::Timestamp = "2026-12-06T10:11:12.345678901Z".parse().unwrap();
        assert_eq!(time(t), "2026-12-06T10:11:12.345Z");
        let whole: jiff::Timestamp = "2026-12-06T10:11:12Z".parse().unwrap();
        assert_eq!(time(whole), "2026-12-06T10:11:12.000Z");
        assert_eq!(scalar("createdDateTime", &Value::String("2026-12-06T10:11:12.5Z".into())), "2026-12-06T10:11:12.500Z");
        assert_eq!(scalar("department", &Value::String("2026-12-06T10:11:12.5Z".into())), "2026-12-06T10:11:12.5Z");
    }

    #[test]
    fn names_are_the_wire_names() {
        assert_eq!(name(&tenantsync_domain::SyncScope::AllUsers), "allUsers");
        assert_eq!(name(&tenantsync_domain::Origin::External), "external");
    }
}

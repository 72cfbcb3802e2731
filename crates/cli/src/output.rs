//! Printing objects as text or JSON.
use serde::Serialize;
use serde_json::Value;

/// Prints a value as pretty JSON.
pub fn json<T: Serialize>(value: &T) {
    match serde_json::to_string_pretty(value) {
        Ok(s) => println!("{s}"),
        Err(e) => eprintln!("error: cannot print JSON: {e}"),
    }
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().map(scalar).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    }
}

/// Prints an object's fields, one `name: value` a line, leaving out nulls.
pub fn fields<T: Serialize>(value: &T) {
    let Ok(Value::Object(map)) = serde_json::to_value(value) else { return };
    let width = map.keys().map(String::len).max().unwrap_or(0);
    for (k, v) in &map {
        if !v.is_null() {
            println!("{k:width$}  {}", scalar(v));
        }
    }
}

/// Prints rows as an aligned table with a header.
pub fn table(header: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let mut out = String::new();
        for (i, (cell, w)) in cells.iter().zip(&widths).enumerate() {
            if i + 1 == cells.len() {
                out.push_str(cell);
            } else {
                out.push_str(&format!("{cell:w$}  "));
            }
        }
        println!("{}", out.trim_end());
    };
    line(header.iter().map(|s| (*s).to_owned()).collect());
    for row in rows {
        line(row.clone());
    }
}

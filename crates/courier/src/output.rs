//! Tables for people, JSON for scripts. Everything printed here may hold
//! what a hostile sender or an agent's program wrote, so it goes through
//! `courier_core::display` first: no escape sequence reaches the terminal
//! (or the live viewers of the agent terminal `courier` runs in).

use courier_core::display::{for_terminal, for_terminal_line, json_for_terminal};
use serde_json::Value;

/// Prints `value` as pretty JSON.
pub fn json(value: &Value) {
    let text = serde_json::to_string_pretty(value).unwrap_or_default();
    println!("{}", json_for_terminal(&text));
}

/// Prints `value` as JSON on one line (an event of `courier events --json`).
pub fn json_line(value: &Value) {
    let text = serde_json::to_string(value).unwrap_or_default();
    println!("{}", json_for_terminal(&text));
}

/// Text of many lines (a body), safe to print.
pub fn text(text: &str) -> String {
    for_terminal(text).into_owned()
}

/// A field that must stay on one line (a screen row, a hint), safe to print.
pub fn line(text: &str) -> String {
    for_terminal_line(text).into_owned()
}

/// Prints rows under a header, columns padded to their widest cell. Every
/// cell is made safe to print here, whoever built it (a cell from [`cell`]
/// is already, and stays the same): a column filled from elsewhere, such as
/// a process's argv in the framing's why, cannot carry an escape either.
pub fn table(header: &[&str], rows: &[Vec<String>]) {
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|row| row.iter().map(|c| line(c)).collect())
        .collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell.chars().count());
            }
        }
    }
    let line = |cells: Vec<String>| {
        let padded: Vec<String> = cells
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c:<w$}", w = widths.get(i).copied().unwrap_or(0)))
            .collect();
        println!("{}", padded.join("  ").trim_end());
    };
    line(header.iter().map(|h| h.to_uppercase()).collect());
    for row in rows {
        line(row);
    }
}

/// A typed field of an answer as a cell, exactly as [`cell`] shows its
/// JSON (absent and `null` as `-`).
pub fn cell_of<T: serde::Serialize + ?Sized>(value: &T) -> String {
    serde_json::to_value(value).map_or_else(|_| "-".into(), |v| cell(&v))
}

/// A JSON value as a short cell: strings without quotes and safe to print
/// on one line, null as `-`.
pub fn cell(value: &Value) -> String {
    match value {
        Value::Null => "-".into(),
        Value::String(s) => line(s),
        Value::Array(items) => items.iter().map(cell).collect::<Vec<_>>().join(","),
        other => json_for_terminal(&other.to_string()).into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn cells_are_short() {
        assert_eq!(cell(&json!(null)), "-");
        assert_eq!(cell(&json!("x")), "x");
        assert_eq!(cell(&json!(["a", "b"])), "a,b");
        assert_eq!(cell(&json!(3)), "3");
    }

    #[test]
    fn a_cell_made_safe_again_by_the_table_is_the_same() {
        let once = cell(&json!("a\x1b[2J\t\u{202e}\u{9b}\nb"));
        assert_eq!(line(&once), once);
        assert_eq!(line("argv\x1b]52;c;eA==\x07"), "argv^[]52;c;eA==^G");
    }

    #[test]
    fn cells_carry_no_escape() {
        assert_eq!(
            cell(&json!(["a\x1b[2J", "t\nx\u{202e}"])),
            "a^[[2J,t\\nx\\u{202e}"
        );
    }
}

//! The conformance table: bodies × interpreters, each cell the framed
//! column's executions and the control column's outcome, in Markdown.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::corpus::control_na;
use super::run::Cell;

/// Both columns of one interpreter.
pub struct Row {
    pub id: &'static str,
    pub label: &'static str,
    pub framed: Vec<Cell>,
    pub control: Vec<Cell>,
}

/// A body's control cell: it ran, it is n/a, or it did not run (a failure).
fn control_word(interp: &str, cell: &Cell) -> &'static str {
    match (cell.executed, control_na(interp, cell.body).is_some()) {
        (true, false) if cell.raw => "ran raw",
        (true, false) => "ran",
        (_, true) => "n/a",
        (false, false) => "**NOT RUN**",
    }
}

/// Framed executions (1 per body that ran, 0 otherwise); what the
/// acceptance counts.
fn framed_word(cell: &Cell) -> &'static str {
    if cell.executed { "**1 RAN**" } else { "0" }
}

/// The table, its legend, the bodies' descriptions and the per-interpreter
/// verification counts, as Markdown.
pub fn render(rows: &[Row], bodies: &[(&'static str, &'static str)], notes: &[String]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Cell: framed executions / control (framing off). `0 / ran` is the goal: \
         the body runs when typed as it is, and nothing runs once Courier frames it. \
         `ran raw`: as a message with framing off it did not run (the header line \
         or the one-line typing stopped it), typed raw by the test it did: the attack \
         works in that interpreter. `n/a`: the body cannot run in that interpreter \
         even unframed. `—`: not in that language's corpus.\n"
    );
    let _ = write!(out, "| body |");
    for r in rows {
        let _ = write!(out, " {} |", r.label);
    }
    let _ = write!(out, "\n|---|");
    for _ in rows {
        let _ = write!(out, "---|");
    }
    out.push('\n');
    let index: Vec<BTreeMap<&str, (&Cell, &Cell)>> = rows
        .iter()
        .map(|r| {
            r.framed
                .iter()
                .zip(&r.control)
                .map(|(f, c)| (f.body, (f, c)))
                .collect()
        })
        .collect();
    for (body, what) in bodies {
        let _ = write!(out, "| `{body}` {what} |");
        for (r, cells) in rows.iter().zip(&index) {
            match cells.get(body) {
                Some((f, c)) => {
                    let _ = write!(out, " {} / {} |", framed_word(f), control_word(r.id, c));
                }
                None => out.push_str(" — |"),
            }
        }
        out.push('\n');
    }
    let _ = writeln!(
        out,
        "\nFramed deliveries verified (reported only; \"verified\" is decided elsewhere):\n"
    );
    for r in rows {
        let states: Vec<&String> = r.framed.iter().flat_map(|c| &c.states).collect();
        let verified = states.iter().filter(|s| s.as_str() == "verified").count();
        let framed = r.framed.iter().map(|c| ("framed", c));
        let control = r.control.iter().map(|c| ("control", c));
        let wedges: Vec<String> = framed
            .chain(control)
            .filter_map(|(column, c)| {
                c.wedged
                    .as_ref()
                    .map(|w| format!("{column} `{}`: {w}", c.body))
            })
            .collect();
        let _ = write!(out, "- {}: {verified}/{} verified", r.label, states.len());
        if !wedges.is_empty() {
            let _ = write!(out, "; fresh agent after {}", wedges.join(", "));
        }
        out.push('\n');
    }
    for note in notes {
        let _ = writeln!(out, "- SKIPPED: {note}");
    }
    out
}

/// Every failure the table shows: a framed body that ran, a control body
/// that did not run although it should.
pub fn failures(rows: &[Row]) -> Vec<String> {
    let mut out = Vec::new();
    for r in rows {
        for cell in r.framed.iter().filter(|c| c.executed) {
            out.push(format!("{}: framed `{}` ran", r.label, cell.body));
        }
        for cell in &r.control {
            if !cell.executed && control_na(r.id, cell.body).is_none() {
                out.push(format!(
                    "{}: control `{}` did not run (states {:?}{}), so its framed cell proves nothing",
                    r.label,
                    cell.body,
                    cell.states,
                    cell.wedged
                        .as_ref()
                        .map(|w| format!(", {w}"))
                        .unwrap_or_default()
                ));
            }
        }
    }
    out
}

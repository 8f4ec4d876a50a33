//! Printing: raw JSON for `--json`, tables (comfy-table) otherwise, and the confirmation prompt.

use std::io::{BufRead, IsTerminal, Write};

use chrono::{DateTime, Local, Utc};
use comfy_table::presets::{UTF8_BORDERS_ONLY, UTF8_HORIZONTAL_ONLY};
use comfy_table::{ContentArrangement, Table};
use serde::Serialize;

use crate::error::Error;

/// Prints `value` as pretty JSON.
pub fn json(value: &impl Serialize) -> Result<(), Error> {
    let text = serde_json::to_string_pretty(value).map_err(|e| Error::Io(std::io::Error::other(e)))?;
    line(&text)
}

/// Prints one line on stdout.
pub fn line(text: &str) -> Result<(), Error> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{text}")?;
    out.flush()?;
    Ok(())
}

/// A table with `header`.
pub fn table(header: &[&str]) -> Table {
    let mut table = Table::new();
    table
        .load_preset(UTF8_HORIZONTAL_ONLY)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(header);
    table
}

/// A two-column key/value table.
pub fn details(rows: Vec<(&str, String)>) -> Table {
    let mut table = Table::new();
    table
        .load_preset(UTF8_BORDERS_ONLY)
        .set_content_arrangement(ContentArrangement::Dynamic);
    for (key, value) in rows {
        table.add_row(vec![key.to_owned(), value]);
    }
    table
}

/// A timestamp in local time, or empty.
pub fn time(at: Option<DateTime<Utc>>) -> String {
    at.map(|at| at.with_timezone(&Local).format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_default()
}

/// Seconds as `1h 2m 3s`, or empty.
pub fn duration(seconds: Option<f64>) -> String {
    let Some(seconds) = seconds.filter(|s| s.is_finite() && *s >= 0.0) else {
        return String::new();
    };
    // Rounded to whole seconds; runs last far less than u64::MAX seconds.
    let total = seconds.round() as u64;
    let (h, m, s) = (total / 3600, total / 60 % 60, total % 60);
    match (h, m) {
        (0, 0) => format!("{s}s"),
        (0, _) => format!("{m}m {s}s"),
        _ => format!("{h}h {m}m {s}s"),
    }
}

/// An optional string, or empty.
pub fn opt(value: Option<&str>) -> String {
    value.unwrap_or_default().to_owned()
}

/// Asks `question [y/N]` on a terminal; without `--yes` and without a terminal, refuses.
pub fn confirm(question: &str, yes: bool) -> Result<(), Error> {
    if yes {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        return Err(Error::ConfirmationRequired(format!(
            "not confirmed: \"{question}\" needs an answer, stdin is not a terminal; pass --yes to confirm"
        )));
    }
    eprint!("{question} [y/N] ");
    std::io::stderr().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    if matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
        Ok(())
    } else {
        Err(Error::Aborted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_well() {
        assert_eq!(duration(None), "");
        assert_eq!(duration(Some(4.4)), "4s");
        assert_eq!(duration(Some(125.0)), "2m 5s");
        assert_eq!(duration(Some(3725.0)), "1h 2m 5s");
        assert_eq!(duration(Some(f64::NAN)), "");
    }
}

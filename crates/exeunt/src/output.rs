//! Printing for people (aligned tables) and for programs (JSON).

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

use serde::Serialize;

/// `println!` for what a command prints. `println!` panics when standard output's reader has
/// gone away (`exeunt case list | head -1`); this drops the rest of the output instead and lets
/// the command finish, so that its exit code still says whether it succeeded.
macro_rules! say {
    () => {
        $crate::output::say_line(format_args!(""))
    };
    ($($arg:tt)*) => {
        $crate::output::say_line(format_args!($($arg)*))
    };
}
pub(crate) use say;

/// Set once standard output's reader has gone away.
static READER_GONE: AtomicBool = AtomicBool::new(false);

pub fn say_line(line: std::fmt::Arguments<'_>) {
    if reader_gone() {
        return;
    }
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_fmt(line).and_then(|()| out.write_all(b"\n")) {
        note_reader_gone(&e);
        if !reader_gone() {
            eprintln!("error: cannot write to standard output: {e}");
            std::process::exit(1);
        }
    }
}

/// Remembers it when `e` says standard output's reader has gone away.
pub fn note_reader_gone(e: &std::io::Error) {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        READER_GONE.store(true, Ordering::Relaxed);
    }
}

/// Whether standard output's reader has gone away: a command that streams its output (an
/// export, a download) stops there, and ends as a program killed by `SIGPIPE` would.
pub fn reader_gone() -> bool {
    READER_GONE.load(Ordering::Relaxed)
}

/// Prints rows under a header, each column as wide as its widest cell.
pub fn table(header: &[&str], rows: &[Vec<String>]) {
    if rows.is_empty() {
        say!("(none)");
        return;
    }
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut out = String::new();
        for (i, (cell, w)) in cells.iter().zip(&widths).enumerate() {
            if i + 1 == cells.len() {
                out.push_str(cell);
            } else {
                out.push_str(&format!("{cell:<w$}  "));
            }
        }
        say!("{}", out.trim_end());
    };
    line(header.to_vec());
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
}

/// Prints a listing: JSON when asked for, otherwise a table with one row per item.
pub fn listing<T: Serialize>(
    as_json: bool,
    items: &[T],
    header: &[&str],
    row: impl Fn(&T) -> Vec<String>,
) -> anyhow::Result<()> {
    if as_json {
        return json(&items);
    }
    let rows: Vec<Vec<String>> = items.iter().map(row).collect();
    table(header, &rows);
    Ok(())
}

pub fn json<T: Serialize>(value: &T) -> anyhow::Result<()> {
    say!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// A timestamp in a time zone, to the minute.
pub fn local(t: jiff::Timestamp, tz: &jiff::tz::TimeZone) -> String {
    let z = t.to_zoned_datetime(tz.clone());
    format!("{}", z.strftime("%Y-%m-%d %H:%M %Z"))
}

/// Writes `bytes` to the file at `path`, or to standard output without one.
pub fn write_out(path: Option<&std::path::Path>, bytes: &[u8]) -> anyhow::Result<()> {
    use anyhow::Context;
    match path {
        Some(path) => {
            std::fs::write(path, bytes).with_context(|| format!("cannot write {}", path.display()))
        }
        None => std::io::stdout()
            .lock()
            .write_all(bytes)
            .inspect_err(note_reader_gone)
            .context("cannot write to standard output"),
    }
}

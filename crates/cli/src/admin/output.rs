//! Printing results: aligned tables for people, JSON for scripts.

use std::{
    io::{IsTerminal as _, Write},
    time::Duration,
};

use indicatif::{ProgressBar, ProgressStyle};

use taskforce_application::TenantDetails;
use taskforce_domain::TenantDomain;

/// Prints rows under headers, columns aligned by the width each cell takes
/// on a terminal (`日本語` takes six columns, an emoji two). The last column
/// is not padded, and padding is written by hand: a cell of any length
/// (a tenant with thousands of domains) is printed, where `format!`'s
/// width stops at 65,535.
pub fn table(headers: &[&str], rows: &[Vec<String>]) {
    say(&render(headers, rows));
}

fn render(headers: &[&str], rows: &[Vec<String>]) -> String {
    use unicode_width::UnicodeWidthStr as _;
    let mut widths: Vec<usize> = headers.iter().map(|h| h.width()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.width());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut text = String::new();
        for (i, (cell, width)) in cells.iter().zip(&widths).enumerate() {
            if i > 0 {
                text.push_str("  ");
            }
            text.push_str(cell);
            if i + 1 < cells.len() {
                text.extend(std::iter::repeat_n(' ', width.saturating_sub(cell.width())));
            }
        }
        text.trim_end().to_owned()
    };
    let mut text = line(headers.to_vec());
    for row in rows {
        text.push('\n');
        text.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    text
}

/// Prints a JSON value, pretty.
pub fn json(value: &serde_json::Value) {
    say(&serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string()));
}

/// The first failure to write to standard output, if any.
static UNWRITTEN: std::sync::Mutex<Option<String>> = std::sync::Mutex::new(None);

/// Prints one line (or several). A standard output that cannot be written
/// (a closed pipe, a full disk) does not stop the command: the failure is
/// kept for [`written`], which turns it into the command's error.
pub fn say(text: &str) {
    let mut out = std::io::stdout().lock();
    if let Err(error) = writeln!(out, "{text}").and_then(|()| out.flush()) {
        UNWRITTEN.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get_or_insert(error.to_string());
    }
}

/// Whether standard output is `/dev/null`: where the process finds it
/// closed, the standard library opens `/dev/null` in its place, so writes
/// "succeed" and go nowhere (Linux's `/proc` tells; elsewhere this is
/// `false`).
pub fn stdout_goes_nowhere() -> bool {
    std::fs::read_link("/proc/self/fd/1").is_ok_and(|target| target == std::path::Path::new("/dev/null"))
}

/// Whether everything printed reached standard output; the error names
/// what happened, and that the command's work itself was done.
pub fn written() -> anyhow::Result<()> {
    match UNWRITTEN.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take() {
        Some(error) => anyhow::bail!("the command's work was done, but its output could not be written: {error}"),
        None => Ok(()),
    }
}

/// A tenant as JSON, with its plan's limits as `GET /api/tenants/me/`
/// gives them (`null`: unlimited).
pub fn tenant_json(details: &TenantDetails) -> serde_json::Value {
    let t = &details.tenant;
    let limits = t.plan.limits();
    serde_json::json!({
        "id": t.id.0,
        "slug": t.slug.as_str(),
        "name": t.name.as_str(),
        "schema_name": t.schema_name.as_str(),
        "plan": t.plan.as_str(),
        "limits": {"projects": limits.projects, "tasks": limits.tasks, "members": limits.members},
        "is_active": t.is_active,
        "allow_signup": t.allow_signup,
        "schema_version": t.schema_version,
        "created_at": t.created_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "domains": details.domains.iter().map(domain_json).collect::<Vec<_>>(),
    })
}

/// A domain as JSON.
pub fn domain_json(domain: &TenantDomain) -> serde_json::Value {
    serde_json::json!({ "domain": domain.domain.as_str(), "is_primary": domain.is_primary })
}

/// A progress bar of `length` steps drawn on stderr with `template`
/// (indicatif's), when stderr is a terminal and there is work; nothing
/// otherwise.
pub fn progress_bar(length: usize, template: &str) -> Option<ProgressBar> {
    if length == 0 || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = ProgressBar::new(length as u64).with_style(bar_style(template));
    bar.enable_steady_tick(Duration::from_millis(120));
    Some(bar)
}

/// A spinner with a message and the time spent, drawn on stderr while a
/// step of unknown length runs (reading or writing a whole tenant), when
/// stderr is a terminal; nothing otherwise. Dropped, it is cleared.
pub struct Spinner(Option<ProgressBar>);

/// Starts a [`Spinner`] saying `message`.
pub fn spinner(message: &str) -> Spinner {
    if !std::io::stderr().is_terminal() {
        return Spinner(None);
    }
    let style = ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
        .unwrap_or_else(|_| ProgressStyle::default_spinner());
    let bar = ProgressBar::new_spinner().with_style(style).with_message(message.to_owned());
    bar.enable_steady_tick(Duration::from_millis(120));
    Spinner(Some(bar))
}

impl Spinner {
    /// Names the next step.
    pub fn say(&self, message: String) {
        if let Some(bar) = &self.0 {
            bar.set_message(message);
        }
    }

    /// Whether it is drawn (stderr is a terminal).
    pub fn shown(&self) -> bool {
        self.0.is_some()
    }
}

/// Counts the bytes that pass through a reader or a writer, and has the
/// spinner say `label` with the count (and of how many, when known) every
/// MiB.
pub struct Counted<'a, T> {
    inner: T,
    bytes: u64,
    spinner: &'a Spinner,
    label: String,
    total: Option<u64>,
}

impl<'a, T> Counted<'a, T> {
    /// Counts what passes through `inner`.
    pub fn new(inner: T, spinner: &'a Spinner, label: String, total: Option<u64>) -> Self {
        Self { inner, bytes: 0, spinner, label, total }
    }

    fn count(&mut self, n: usize) {
        const MIB: u64 = 1024 * 1024;
        let before = self.bytes;
        self.bytes += n as u64;
        if self.spinner.shown() && before / MIB != self.bytes / MIB {
            let done = self.bytes as f64 / MIB as f64;
            self.spinner.say(match self.total {
                Some(total) => format!("{}: {done:.0} of {:.0} MiB", self.label, total as f64 / MIB as f64),
                None => format!("{}: {done:.0} MiB", self.label),
            });
        }
    }
}

impl<T: std::io::Read> std::io::Read for Counted<'_, T> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count(n);
        Ok(n)
    }
}

impl<T: std::io::Write> std::io::Write for Counted<'_, T> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.count(n);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

impl Drop for Spinner {
    fn drop(&mut self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}

/// tenant-admin's progress bar look, with `template`'s fields.
pub fn bar_style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ")
        // `{rate}`: items a second, whole from 10 on, one decimal below
        // (`{per_sec}` shows four); none before the first item is done
        .with_key("rate", |state: &indicatif::ProgressState, out: &mut dyn std::fmt::Write| {
            let rate = state.per_sec();
            let _ = match rate {
                _ if state.pos() == 0 => write!(out, "-/s"),
                10.0.. => write!(out, "{rate:.0}/s"),
                _ => write!(out, "{rate:.1}/s"),
            };
        })
}

#[cfg(test)]
mod tests {
    use super::render;

    #[test]
    fn columns_align_by_terminal_width_and_a_cell_of_any_length_is_printed() {
        let rows = vec![
            vec!["1".to_owned(), "日本語".to_owned(), "x".to_owned()],
            vec!["22".to_owned(), "abc".to_owned(), "y".to_owned()],
        ];
        assert_eq!(render(&["ID", "NAME", "LAST"], &rows), "ID  NAME    LAST\n1   日本語  x\n22  abc     y");
        // past format!'s width limit of 65,535, in a middle column and the last
        let long = "d".repeat(70_000);
        let text = render(&["A", "B"], &[vec![long.clone(), "z".to_owned()], vec!["q".to_owned(), long.clone()]]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[1], format!("{long}  z"));
        assert_eq!(lines[2], format!("q{}  {long}", " ".repeat(69_999)));
    }
}

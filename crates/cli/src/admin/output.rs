//! Printing results: aligned tables for people, JSON for scripts.

use std::{
    io::{IsTerminal as _, Write},
    time::Duration,
};

use indicatif::{ProgressBar, ProgressStyle};

use taskforce_application::TenantDetails;
use taskforce_domain::TenantDomain;

/// Prints rows under headers, columns aligned.
pub fn table(headers: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells.iter().zip(&widths).map(|(cell, width)| format!("{cell:<width$}")).collect();
        padded.join("  ").trim_end().to_owned()
    };
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{}", line(headers.to_vec()));
    for row in rows {
        let _ = writeln!(out, "{}", line(row.iter().map(String::as_str).collect()));
    }
}

/// Prints a JSON value, pretty.
#[expect(clippy::print_stdout, reason = "printing is this module's job")]
pub fn json(value: &serde_json::Value) {
    println!("{}", serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string()));
}

/// Prints one line.
#[expect(clippy::print_stdout, reason = "printing is this module's job")]
pub fn say(text: &str) {
    println!("{text}");
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

/// tenant-admin's progress bar look, with `template`'s fields.
pub fn bar_style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar()).progress_chars("=> ")
}

//! `tenant-admin tenant …` and `dev-tenant`.

use std::io::{BufRead, IsTerminal, Write};

use anyhow::{Context as _, bail};
use clap::{ArgGroup, Args};
use taskforce_application::ImportError;
use taskforce_domain::{HostName, NewTenant, Plan, Slug, TenantChanges, TenantName};

use super::{Context, DevTenantArgs, output, parse_host, parse_name, parse_new_slug, parse_plan, parse_slug};

#[derive(Debug, Args)]
pub(super) struct CreateArgs {
    /// URL-friendly identifier: a-z, 0-9, '-', '_', starting with a letter.
    #[arg(long, value_parser = parse_new_slug)]
    slug: Slug,
    /// Display name.
    #[arg(long, value_parser = parse_name)]
    name: TenantName,
    /// A host name for the tenant (repeatable); the first is primary.
    #[arg(long = "domain", value_parser = parse_host)]
    domains: Vec<HostName>,
    /// Subscription plan.
    #[arg(long, default_value = "free", value_name = "free|basic|premium|enterprise", value_parser = parse_plan)]
    plan: Plan,
    /// Let people register themselves as members.
    #[arg(long)]
    allow_signup: bool,
}

#[derive(Debug, Args)]
// at least one change, or it is bad usage (exit 2) like any other
#[command(group(ArgGroup::new("change").required(true).multiple(true).args(["name", "plan", "active", "allow_signup"])))]
pub(super) struct UpdateArgs {
    /// The tenant's slug.
    #[arg(value_parser = parse_slug)]
    slug: Slug,
    /// New display name.
    #[arg(long, value_parser = parse_name)]
    name: Option<TenantName>,
    /// New plan.
    #[arg(long, value_name = "free|basic|premium|enterprise", value_parser = parse_plan)]
    plan: Option<Plan>,
    /// Activate (true) or deactivate (false).
    #[arg(long, value_name = "true|false")]
    active: Option<bool>,
    /// Open (true) or close (false) self-registration.
    #[arg(long, value_name = "true|false")]
    allow_signup: Option<bool>,
}

/// The given domains, then `<slug>.<platform domain>`, without repeats.
fn with_platform_domain(ctx: &Context, slug: &Slug, mut domains: Vec<HostName>) -> anyhow::Result<Vec<HostName>> {
    for domain in &domains {
        super::domains::not_another_slugs_address(ctx, slug, domain)?;
    }
    let own = ctx.platform_domain.subdomain(slug.as_str())?;
    if !domains.contains(&own) {
        domains.push(own);
    }
    Ok(domains)
}

pub(super) fn create(ctx: &Context, args: CreateArgs) -> anyhow::Result<()> {
    let domains = with_platform_domain(ctx, &args.slug, args.domains)?;
    let new = NewTenant { slug: args.slug, name: args.name, plan: args.plan, allow_signup: args.allow_signup, domains };
    let started = std::time::Instant::now();
    let tenant = ctx.admin.create(&new)?;
    let hosts: Vec<&str> = new.domains.iter().map(HostName::as_str).collect();
    output::say(&format!(
        "created tenant '{}' (id {}, schema {}, plan {}) with domains {} in {} ms",
        tenant.slug,
        tenant.id,
        tenant.schema_name,
        tenant.plan,
        hosts.join(", "),
        started.elapsed().as_millis()
    ));
    Ok(())
}

pub(super) fn list(ctx: &Context, json: bool) -> anyhow::Result<()> {
    let tenants = ctx.admin.list()?;
    if json {
        output::json(&serde_json::Value::Array(tenants.iter().map(output::tenant_json).collect()));
        return Ok(());
    }
    let rows: Vec<Vec<String>> = tenants
        .iter()
        .map(|d| {
            let t = &d.tenant;
            vec![
                t.id.to_string(),
                t.slug.to_string(),
                t.name.as_str().to_owned(),
                t.plan.to_string(),
                if t.is_active { "yes" } else { "no" }.to_owned(),
                t.schema_version.clone().unwrap_or_else(|| "-".into()),
                d.domains.iter().map(|d| d.domain.as_str()).collect::<Vec<_>>().join(","),
            ]
        })
        .collect();
    output::table(&["ID", "SLUG", "NAME", "PLAN", "ACTIVE", "SCHEMA VERSION", "DOMAINS"], &rows);
    Ok(())
}

pub(super) fn show(ctx: &Context, slug: &Slug, json: bool) -> anyhow::Result<()> {
    let details = ctx.admin.show(slug)?;
    if json {
        output::json(&output::tenant_json(&details));
        return Ok(());
    }
    let t = &details.tenant;
    let limits = t.plan.limits();
    let limit = |l: Option<u32>| l.map_or_else(|| "unlimited".to_owned(), |l| l.to_string());
    let rows = vec![
        vec!["id".into(), t.id.to_string()],
        vec!["slug".into(), t.slug.to_string()],
        vec!["name".into(), t.name.as_str().to_owned()],
        vec!["schema".into(), t.schema_name.to_string()],
        vec!["schema version".into(), t.schema_version.clone().unwrap_or_else(|| "-".into())],
        vec![
            "plan".into(),
            format!(
                "{} (projects {}, tasks {}, members {})",
                t.plan,
                limit(limits.projects),
                limit(limits.tasks),
                limit(limits.members)
            ),
        ],
        vec!["active".into(), t.is_active.to_string()],
        vec!["self-signup".into(), t.allow_signup.to_string()],
        vec!["created".into(), t.created_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)],
        vec![
            "domains".into(),
            details
                .domains
                .iter()
                .map(|d| if d.is_primary { format!("{} (primary)", d.domain) } else { d.domain.to_string() })
                .collect::<Vec<_>>()
                .join(", "),
        ],
    ];
    output::table(&["FIELD", "VALUE"], &rows);
    Ok(())
}

pub(super) fn update(ctx: &Context, args: UpdateArgs) -> anyhow::Result<()> {
    let changes =
        TenantChanges { name: args.name, plan: args.plan, is_active: args.active, allow_signup: args.allow_signup };
    let tenant = ctx.admin.update(&args.slug, &changes)?;
    output::say(&format!(
        "updated tenant '{}': name '{}', plan {}, active {}, self-signup {}",
        tenant.slug,
        tenant.name.as_str(),
        tenant.plan,
        tenant.is_active,
        tenant.allow_signup
    ));
    if changes.plan.is_some() {
        for (resource, held, limit) in ctx.admin.over_limits(&tenant)? {
            crate::stderr_line!(
                "warning: '{}' has {held} {}, over the {} plan's {limit}: nothing is removed, and creating more is \
                 refused until it is under",
                tenant.slug,
                resource.as_str(),
                tenant.plan
            );
        }
    }
    Ok(())
}

pub(super) fn delete(ctx: &Context, slug: &Slug, yes: bool) -> anyhow::Result<()> {
    let details = ctx.admin.show(slug)?;
    if !yes {
        let stdin = std::io::stdin();
        if !stdin.is_terminal() {
            bail!("refusing to delete '{slug}' without --yes (stdin is not a terminal to confirm on)");
        }
        let _ = write!(
            std::io::stderr(),
            "This drops schema {} with all of tenant '{slug}' and its data, domains and memberships.\nType the slug to confirm: ",
            details.tenant.schema_name
        );
        let _ = std::io::stderr().flush();
        let mut answer = String::new();
        stdin.lock().read_line(&mut answer)?;
        if answer.trim() != slug.as_str() {
            bail!("not confirmed; nothing was deleted");
        }
    }
    let deleted = ctx.admin.delete(slug)?;
    if deleted.schema_dropped {
        output::say(&format!("deleted tenant '{slug}' and schema {}", details.tenant.schema_name));
    } else {
        output::say(&format!(
            "deleted tenant '{slug}'; its schema {} was not there (dropped by hand before?), so only its row, \
             domains and memberships went",
            details.tenant.schema_name
        ));
    }
    Ok(())
}

pub(super) fn export(ctx: &Context, slug: &Slug, file: &std::path::Path) -> anyhow::Result<()> {
    if file.as_os_str() == "-" {
        return export_to_stdout(ctx, slug);
    }
    let started = std::time::Instant::now();
    // refused before the tenant is read: an export never replaces a file
    if file.symlink_metadata().is_ok() {
        bail!("{} exists already; export to a new file", file.display());
    }
    let target = file.display().to_string();
    let spinner = output::spinner(&format!("exporting tenant '{slug}' to {target}"));
    let mut exported = None;
    write_whole(file, |writer| {
        exported = Some(export_counted(ctx, slug, writer, &spinner, &target)?);
        Ok(())
    })?;
    drop(spinner);
    let exported = exported.context("the export wrote nothing")?;
    output::say(&exported_line(slug, &exported, &target, started));
    Ok(())
}

/// `tenant export SLUG -`: the export on standard output, its summary on
/// standard error. A terminal is refused: the export holds password hashes.
fn export_to_stdout(ctx: &Context, slug: &Slug) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    if std::io::stdout().is_terminal() {
        bail!("refusing to write an export (it holds password hashes) to a terminal; redirect or pipe it");
    }
    if output::stdout_goes_nowhere() {
        bail!("standard output is /dev/null (or was closed): the export would go nowhere; give a file or a pipe");
    }
    let target = "standard output";
    let spinner = output::spinner(&format!("exporting tenant '{slug}' to {target}"));
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let exported = export_counted(ctx, slug, &mut out, &spinner, target)?;
    out.flush().context("writing to standard output")?;
    drop(spinner);
    crate::stderr_line!("{}", exported_line(slug, &exported, target, started));
    Ok(())
}

/// The export written to `writer`, its bytes counted on the spinner; a
/// failed write names `target`.
fn export_counted(
    ctx: &Context,
    slug: &Slug,
    writer: &mut dyn Write,
    spinner: &output::Spinner,
    target: &str,
) -> anyhow::Result<taskforce_application::Exported> {
    let mut writer = output::Counted::new(writer, spinner, format!("exporting tenant '{slug}' to {target}"), None);
    ctx.admin.export_to(slug, chrono::Utc::now(), &mut writer).map_err(|error| match error {
        taskforce_application::TenantAdminError::Write(error) => {
            anyhow::Error::new(error).context(format!("writing to {target}"))
        }
        other => other.into(),
    })
}

/// The line that reports an export.
fn exported_line(
    slug: &Slug,
    exported: &taskforce_application::Exported,
    target: &str,
    started: std::time::Instant,
) -> String {
    format!(
        "exported tenant '{slug}' (schema version {}): {} member(s), {} row(s) in {} table(s) to {target} in {} ms",
        exported.schema_version,
        exported.members,
        exported.rows,
        exported.tables,
        started.elapsed().as_millis()
    )
}

/// Has `write` write the export to `file`, whole or not at all: into a hidden file beside
/// it (mode 0600: it holds password hashes), synced, then linked under its
/// name, which must still be free (renamed there on a filesystem without
/// hard links). A failure or an interruption never leaves a truncated export
/// under the name asked for.
fn write_whole(
    file: &std::path::Path,
    write: impl FnOnce(&mut dyn std::io::Write) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    // a short name, whatever the export's: a long one must not grow past the limit
    let partial = file.with_file_name(format!(".tenant-export.partial-{}", std::process::id()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let written = (|| -> anyhow::Result<()> {
        let mut writer =
            std::io::BufWriter::new(options.open(&partial).with_context(|| format!("writing {}", file.display()))?);
        write(&mut writer)?;
        let written = writer.into_inner().map_err(std::io::IntoInnerError::into_error);
        written.and_then(|f| f.sync_all()).with_context(|| format!("writing {}", file.display()))?;
        publish(&partial, file, |from, to| std::fs::hard_link(from, to))
            .with_context(|| format!("writing {}", file.display()))?;
        Ok(())
    })();
    // the hidden file goes whatever happened; the export, if made, keeps its link
    let _ = std::fs::remove_file(&partial);
    written
}

/// Gives the written `partial` file the name `file` with `link`, which
/// fails if the name is taken. Filesystems without hard links (FAT, some
/// network shares) refuse with EPERM or EOPNOTSUPP: there the file is
/// renamed instead, if the name is still free when looked at (a file made
/// under it in the instant between would be replaced; links leave no such
/// instant, so they come first).
fn publish(
    partial: &std::path::Path,
    file: &std::path::Path,
    link: impl FnOnce(&std::path::Path, &std::path::Path) -> std::io::Result<()>,
) -> std::io::Result<()> {
    use std::io::ErrorKind;
    match link(partial, file) {
        Err(error) if matches!(error.kind(), ErrorKind::Unsupported | ErrorKind::PermissionDenied) => {
            if file.symlink_metadata().is_ok() {
                return Err(ErrorKind::AlreadyExists.into());
            }
            std::fs::rename(partial, file)
        }
        linked => linked,
    }
}

pub(super) fn import(
    ctx: &Context,
    file: &std::path::Path,
    slug: Option<&Slug>,
    keep_unmatched: bool,
) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    // `-`: stdin, kept in an unnamed temporary file, since an import reads
    // its document twice and a pipe can be read once
    let (opened, shown) = if file.as_os_str() == "-" {
        if std::io::stdin().is_terminal() {
            bail!("`tenant import -` reads the export from stdin: pipe or redirect it there");
        }
        let mut spooled = tempfile::tempfile().context("making a temporary file for stdin")?;
        // a long read (an export arriving over ssh, say) shows how far it got
        let spinner = output::spinner("reading stdin");
        let mut counted = output::Counted::new(std::io::stdin().lock(), &spinner, "reading stdin".to_owned(), None);
        std::io::copy(&mut counted, &mut spooled).context("reading the export from stdin")?;
        (spooled, "stdin".to_owned())
    } else {
        let opened = std::fs::File::open(file).with_context(|| format!("opening {}", file.display()))?;
        (opened, file.display().to_string())
    };
    let total = opened.metadata().with_context(|| format!("opening {shown}"))?;
    // read twice: a pipe or a FIFO cannot be
    if !total.is_file() {
        bail!("{shown} is not a regular file; an import reads its file twice (save the export to a file, or use -)");
    }
    let spinner = output::spinner(&format!("checking {shown}"));
    // the same open file each time, from its start: a file put under the
    // name meanwhile is not read
    let readings = std::cell::Cell::new(0);
    let open = || -> std::io::Result<Box<dyn std::io::Read + '_>> {
        let mut reader = opened.try_clone()?;
        std::io::Seek::rewind(&mut reader)?;
        readings.set(readings.get() + 1);
        let step = if readings.get() == 1 { "checking" } else { "loading the rows of" };
        let label = format!("{step} {shown}");
        let counted = output::Counted::new(reader, &spinner, label, Some(total.len()));
        Ok(Box::new(std::io::BufReader::with_capacity(256 * 1024, counted)))
    };
    let imported = ctx
        .admin
        .import_from(&open, slug, &ctx.platform_domain, ctx.hasher.as_ref(), keep_unmatched)
        .map_err(|error| match error {
            ImportError::Read(error) => anyhow::Error::new(error).context(format!("reading {shown}")),
            ImportError::NotAnExport(reason) => anyhow::anyhow!("{shown} is not a tenant export: {reason}"),
            other => other.into(),
        })?;
    drop(spinner);
    let unmatched = match (imported.unmatched, keep_unmatched) {
        (0, _) => String::new(),
        (n, false) => format!(", {n} user id(s) no account here matches set to nobody"),
        (n, true) => format!(", {n} user id(s) no account here matches kept as they were"),
    };
    output::say(&format!(
        "imported tenant '{}' (id {}, schema {}): {} member(s), {} new account(s), {} row(s){unmatched} in {} ms",
        imported.tenant.slug,
        imported.tenant.id,
        imported.tenant.schema_name,
        imported.members,
        imported.accounts_created,
        imported.rows,
        started.elapsed().as_millis()
    ));
    Ok(())
}

pub(super) fn dev_tenant(ctx: &Context, args: DevTenantArgs) -> anyhow::Result<()> {
    let mut domains = vec![ctx.platform_domain.subdomain(args.slug.as_str())?];
    for domain in &args.domains {
        super::domains::not_another_slugs_address(ctx, &args.slug, domain)?;
    }
    for domain in args.domains {
        if !domains.contains(&domain) {
            domains.push(domain);
        }
    }
    let details = ctx.admin.ensure_dev_tenant(&args.slug, &args.name, &domains)?;
    let hosts: Vec<&str> = details.domains.iter().map(|d| d.domain.as_str()).collect();
    if hosts.is_empty() {
        // every host it asked for is another tenant's (the warnings name them)
        bail!(
            "development tenant '{}' exists but no host reaches it: give it one that is free with --domain, or \
             `tenant-admin domain add {} HOST`",
            details.tenant.slug,
            details.tenant.slug
        );
    }
    output::say(&format!("development tenant '{}' is ready on {}", details.tenant.slug, hosts.join(", ")));
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::io::{Error, ErrorKind};

    use super::publish;

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    /// A written partial file and the name it is to take, in a new folder.
    fn written() -> Result<(tempfile::TempDir, std::path::PathBuf, std::path::PathBuf), std::io::Error> {
        let folder = tempfile::tempdir()?;
        let (partial, file) = (folder.path().join(".partial"), folder.path().join("export.json"));
        std::fs::write(&partial, "{}")?;
        Ok((folder, partial, file))
    }

    #[test]
    fn without_hard_links_the_export_is_renamed_into_place() -> TestResult {
        for refusal in [ErrorKind::Unsupported, ErrorKind::PermissionDenied] {
            let (_folder, partial, file) = written()?;
            publish(&partial, &file, |_, _| Err(Error::from(refusal)))?;
            assert_eq!(std::fs::read_to_string(&file)?, "{}");
            assert!(!partial.exists(), "{refusal:?}: the partial file was moved, not copied");
        }
        Ok(())
    }

    #[test]
    fn without_hard_links_a_name_taken_meanwhile_is_kept() -> TestResult {
        let (_folder, partial, file) = written()?;
        std::fs::write(&file, "someone else's")?;
        let refused = publish(&partial, &file, |_, _| Err(Error::from(ErrorKind::Unsupported)));
        assert_eq!(refused.map_err(|e| e.kind()), Err(ErrorKind::AlreadyExists));
        assert_eq!(std::fs::read_to_string(&file)?, "someone else's");
        Ok(())
    }

    #[test]
    fn other_link_failures_are_reported_as_they_are() -> TestResult {
        let (_folder, partial, file) = written()?;
        let failed = publish(&partial, &file, |_, _| Err(Error::from(ErrorKind::StorageFull)));
        assert_eq!(failed.map_err(|e| e.kind()), Err(ErrorKind::StorageFull));
        assert!(!file.exists() && partial.exists());
        // and a real link is made when the filesystem has them
        publish(&partial, &file, |from, to| std::fs::hard_link(from, to))?;
        assert_eq!(std::fs::read_to_string(&file)?, "{}");
        Ok(())
    }
}

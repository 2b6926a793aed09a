//! `tenant-admin`, run as operators run it: the real binary against a real
//! database, checking exit codes, messages and what changed.

use std::{
    io::Write,
    path::PathBuf,
    process::{Command, Output, Stdio},
};

use taskforce_pgcluster::TestDatabase;

type TestResult = Result<(), Box<dyn std::error::Error>>;

struct Admin {
    db: TestDatabase,
    files: tempfile::TempDir,
}

impl Admin {
    fn new() -> Result<Self, Box<dyn std::error::Error>> {
        Ok(Self { db: TestDatabase::create()?, files: tempfile::tempdir()? })
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_tenant-admin"));
        command
            .args(args)
            .env("TASKFORCE_ENV", "test")
            .env("TASKFORCE_CONFIG_DIR", PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../config"))
            .env("TASKFORCE__DATABASE__URL", self.db.url())
            .env_remove("DATABASE_URL")
            .env_remove("REDIS_URL")
            .env("TASKFORCE__REDIS__URL", "")
            .env("TASKFORCE__STORAGE__ROOT", self.files.path())
            .env_remove("RUST_LOG")
            .stdin(Stdio::null());
        command
    }

    fn run(&self, args: &[&str]) -> Result<Output, std::io::Error> {
        self.command(args).output()
    }

    fn run_with_stdin(&self, args: &[&str], input: &str) -> Result<Output, Box<dyn std::error::Error>> {
        let mut child =
            self.command(args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn()?;
        child.stdin.take().ok_or("no stdin")?.write_all(input.as_bytes())?;
        Ok(child.wait_with_output()?)
    }

    fn json(&self, args: &[&str]) -> Result<serde_json::Value, Box<dyn std::error::Error>> {
        let out = self.run(args)?;
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        Ok(serde_json::from_slice(&out.stdout)?)
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn ok(out: &Output) -> String {
    // the status's Debug names a signal when the process was killed by one
    assert_eq!(out.status.code(), Some(0), "{:?}, stderr: {}", out.status, text(&out.stderr));
    text(&out.stdout)
}

/// Exit code and the one-line reason on stderr.
fn failed(out: &Output, code: i32) -> String {
    assert_eq!(
        out.status.code(),
        Some(code),
        "{:?}, stdout: {} stderr: {}",
        out.status,
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stderr)
}

#[test]
fn tenants_are_created_listed_shown_updated_and_deleted() -> TestResult {
    let admin = Admin::new()?;
    let out = admin.run(&[
        "tenant",
        "create",
        "--slug",
        "Acme",
        "--name",
        "Acme Corp",
        "--domain",
        "acme.example.com",
        "--plan",
        "basic",
    ])?;
    assert!(ok(&out).contains("created tenant 'acme'"));
    let list = admin.json(&["tenant", "list", "--json"])?;
    assert_eq!(list.as_array().map(Vec::len), Some(1));
    let acme = &list[0];
    assert_eq!(
        (acme["slug"].as_str(), acme["schema_name"].as_str(), acme["plan"].as_str()),
        (Some("acme"), Some("tenant_acme"), Some("basic"))
    );
    assert_eq!(
        acme["domains"],
        serde_json::json!([{"domain": "acme.example.com", "is_primary": true}, {"domain": "acme.localhost", "is_primary": false}])
    );
    assert!(acme["schema_version"].as_str().is_some_and(|v| v.len() == 14));

    ok(&admin.run(&["tenant", "update", "acme", "--plan", "premium", "--active", "false", "--name", "Acme Ltd"])?);
    let shown = admin.json(&["tenant", "show", "acme", "--json"])?;
    assert_eq!(
        (shown["plan"].as_str(), shown["is_active"].as_bool(), shown["name"].as_str()),
        (Some("premium"), Some(false), Some("Acme Ltd"))
    );
    assert!(ok(&admin.run(&["tenant", "show", "acme"])?).contains("premium (projects 50, tasks 500, members 100)"));

    // deleting asks, and without a terminal it refuses unless --yes
    let refused = failed(&admin.run(&["tenant", "delete", "acme"])?, 1);
    assert!(refused.contains("without --yes"), "{refused}");
    assert_eq!(admin.json(&["tenant", "list", "--json"])?.as_array().map(Vec::len), Some(1));
    assert!(ok(&admin.run(&["tenant", "delete", "acme", "--yes"])?).contains("deleted tenant 'acme'"));
    assert_eq!(admin.json(&["tenant", "list", "--json"])?, serde_json::json!([]));
    Ok(())
}

#[test]
fn bad_input_gets_a_clear_message_and_changes_nothing() -> TestResult {
    let admin = Admin::new()?;
    // bad usage: exit 2, clap names the problem
    let bad_slug = failed(&admin.run(&["tenant", "create", "--slug", "9lives", "--name", "Cat"])?, 2);
    assert!(bad_slug.contains("the slug must start with a letter"), "{bad_slug}");
    let reserved = failed(&admin.run(&["tenant", "create", "--slug", "admin", "--name", "X"])?, 2);
    assert!(reserved.contains("reserved"), "{reserved}");
    let bad_char = failed(&admin.run(&["tenant", "create", "--slug", "a.b", "--name", "X"])?, 2);
    assert!(bad_char.contains("'.' is not allowed"), "{bad_char}");
    failed(&admin.run(&["tenant", "create", "--slug", "x", "--name", "X", "--plan", "gold"])?, 2);
    failed(&admin.run(&["no-such-command"])?, 2);

    ok(&admin.run(&["tenant", "create", "--slug", "acme", "--name", "Acme", "--domain", "shared.example.com"])?);
    // a taken domain: exit 1, one line, nothing created
    let taken = failed(
        &admin.run(&["tenant", "create", "--slug", "other", "--name", "Other", "--domain", "shared.example.com"])?,
        1,
    );
    assert_eq!(taken.lines().count(), 1, "{taken}");
    assert!(taken.contains("the domain 'shared.example.com' already belongs to another tenant"), "{taken}");
    let clash = failed(&admin.run(&["tenant", "create", "--slug", "acme", "--name", "Again"])?, 1);
    assert!(clash.contains("already exists"), "{clash}");
    ok(&admin.run(&["tenant", "create", "--slug", "my-team", "--name", "A"])?);
    let dash = failed(&admin.run(&["tenant", "create", "--slug", "my_team", "--name", "B"])?, 1);
    assert!(dash.contains("tenant_my_team"), "{dash}");
    let names: Vec<String> = admin
        .json(&["tenant", "list", "--json"])?
        .as_array()
        .map(|a| a.iter().filter_map(|t| t["slug"].as_str().map(str::to_owned)).collect())
        .unwrap_or_default();
    assert_eq!(names, vec!["acme", "my-team"]);
    // unknown things
    assert!(failed(&admin.run(&["tenant", "show", "nope"])?, 1).contains("no tenant with the slug 'nope'"));
    assert!(failed(&admin.run(&["domain", "remove", "nowhere.example.com"])?, 1).contains("no tenant has the domain"));
    assert!(
        failed(&admin.run(&["member", "add", "acme", "ghost", "--role", "admin"])?, 1)
            .contains("no user named 'ghost'")
    );
    assert!(failed(&admin.run(&["tenant", "update", "acme"])?, 1).contains("nothing to change"));
    Ok(())
}

#[test]
fn domains_users_and_members_are_managed() -> TestResult {
    let admin = Admin::new()?;
    ok(&admin.run(&["tenant", "create", "--slug", "acme", "--name", "Acme"])?);
    ok(&admin.run(&["domain", "add", "acme", "Acme.Example.COM.", "--primary"])?);
    let domains = admin.json(&["domain", "list", "acme", "--json"])?;
    assert_eq!(
        domains,
        serde_json::json!([
            {"domain": "acme.example.com", "tenant": "acme", "is_primary": true},
            {"domain": "acme.localhost", "tenant": "acme", "is_primary": false}
        ])
    );
    ok(&admin.run(&["domain", "remove", "acme.example.com"])?);
    assert_eq!(
        admin.json(&["domain", "list", "--json"])?,
        serde_json::json!([{"domain": "acme.localhost", "tenant": "acme", "is_primary": true}])
    );

    let weak = failed(
        &admin.run_with_stdin(
            &["user", "create", "--username", "ann", "--email", "ann@example.com", "--password-stdin"],
            "12345678\n",
        )?,
        1,
    );
    assert!(weak.contains("This password is entirely numeric."), "{weak}");
    let created = ok(&admin.run_with_stdin(
        &["user", "create", "--username", "ann", "--email", "ann@example.com", "--password-stdin"],
        "Sturdy-passphrase-42\n",
    )?);
    assert!(created.contains("created user 'ann'"), "{created}");
    assert!(!created.contains("Sturdy"), "the password is not echoed");
    let generated = ok(&admin.run(&["user", "create", "--username", "bob", "--email", "bob@example.com"])?);
    assert!(generated.contains("generated password (shown once): tf-"), "{generated}");
    ok(&admin.run(&["member", "add", "acme", "ann", "--role", "admin"])?);
    let again = failed(&admin.run(&["member", "add", "acme", "ANN", "--role", "viewer"])?, 1);
    assert!(again.contains("already a member"), "{again}");
    let members = admin.json(&["member", "list", "acme", "--json"])?;
    assert_eq!(members.as_array().map(Vec::len), Some(1));
    assert_eq!((members[0]["username"].as_str(), members[0]["role"].as_str()), (Some("ann"), Some("admin")));
    Ok(())
}

#[test]
fn dev_tenant_and_migrate_are_idempotent() -> TestResult {
    let admin = Admin::new()?;
    for _ in 0..2 {
        let out = ok(&admin.run(&["dev-tenant"])?);
        assert!(out.contains("development tenant 'dev' is ready on dev.localhost, localhost"), "{out}");
    }
    let dev = admin.json(&["tenant", "show", "dev", "--json"])?;
    assert_eq!(dev["allow_signup"], true);
    for _ in 0..2 {
        let out = ok(&admin.run(&["migrate", "--jobs", "3"])?);
        assert!(out.contains("shared schema: up to date"), "{out}");
        assert!(out.contains("tenant schemas: 0 migrated, 1 up to date, 0 failed"), "{out}");
    }
    assert!(ok(&admin.run(&["migrate", "--tenant", "dev"])?).contains("tenant 'dev': up to date"));
    assert!(failed(&admin.run(&["migrate", "--tenant", "nope"])?, 1).contains("no tenant with the slug 'nope'"));
    failed(&admin.run(&["migrate", "--shared", "--tenants"])?, 2);
    Ok(())
}

#[test]
fn every_subcommand_has_help() -> TestResult {
    let admin = Admin::new()?;
    let commands: [&[&str]; 16] = [
        &[],
        &["migrate"],
        &["tenant"],
        &["tenant", "create"],
        &["tenant", "list"],
        &["tenant", "show"],
        &["tenant", "update"],
        &["tenant", "delete"],
        &["domain"],
        &["domain", "add"],
        &["domain", "remove"],
        &["domain", "list"],
        &["user", "create"],
        &["member", "add"],
        &["member", "list"],
        &["dev-tenant"],
    ];
    for command in commands {
        let mut args = command.to_vec();
        args.push("--help");
        let out = admin.run(&args)?;
        assert!(ok(&out).contains("Usage: tenant-admin"), "{args:?}");
    }
    Ok(())
}

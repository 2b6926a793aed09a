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

    /// What `args` writes on a terminal (a pseudo-terminal made by
    /// util-linux's `script`), standard output and error together; the
    /// command must succeed.
    fn on_a_terminal(&self, args: &[&str]) -> Result<String, Box<dyn std::error::Error>> {
        let command = self.command(args);
        let line = std::iter::once(command.get_program())
            .chain(command.get_args())
            .map(|word| format!("'{}'", word.to_string_lossy().replace('\'', r"'\''")))
            .collect::<Vec<_>>()
            .join(" ");
        let mut script = Command::new("script");
        script.args(["-qec", &line, "/dev/null"]).stdin(Stdio::null());
        for (key, value) in command.get_envs() {
            match value {
                Some(value) => script.env(key, value),
                None => script.env_remove(key),
            };
        }
        let out = script.output()?;
        let shown = text(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {shown} {}", text(&out.stderr));
        Ok(shown)
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

    ok(&admin.run(&["tenant", "update", "acme", "--plan", "Premium", "--active", "false", "--name", "Acme Ltd"])?);
    let shown = admin.json(&["tenant", "show", "acme", "--json"])?;
    assert_eq!(
        (shown["plan"].as_str(), shown["is_active"].as_bool(), shown["name"].as_str()),
        (Some("premium"), Some(false), Some("Acme Ltd"))
    );
    assert_eq!(shown["limits"], serde_json::json!({"projects": 50, "tasks": 500, "members": 100}));
    assert!(ok(&admin.run(&["tenant", "show", "acme"])?).contains("premium (projects 50, tasks 500, members 100)"));
    // a cheaper plan than what the tenant holds: done, with a warning per resource over
    admin.sql("INSERT INTO tenant_acme.projects (name, owner_id) VALUES ('One', 1), ('Two', 1)")?;
    let out = admin.run(&["tenant", "update", "acme", "--plan", "free"])?;
    ok(&out);
    let warned = text(&out.stderr);
    assert!(warned.contains("warning: 'acme' has 2 projects, over the free plan's 1"), "{warned}");
    assert!(!warned.contains("tasks") && !warned.contains("members"), "{warned}");
    ok(&admin.run(&["tenant", "update", "acme", "--plan", "premium"])?);

    // deleting asks, and without a terminal it refuses unless --yes
    let refused = failed(&admin.run(&["tenant", "delete", "acme"])?, 1);
    assert!(refused.contains("without --yes"), "{refused}");
    assert_eq!(admin.json(&["tenant", "list", "--json"])?.as_array().map(Vec::len), Some(1));
    let deleted = ok(&admin.run(&["tenant", "delete", "acme", "--yes"])?);
    assert!(deleted.contains("deleted tenant 'acme' and schema tenant_acme"), "{deleted}");
    assert_eq!(admin.json(&["tenant", "list", "--json"])?, serde_json::json!([]));
    // a schema someone dropped by hand is not claimed as dropped
    ok(&admin.run(&["tenant", "create", "--slug", "bare", "--name", "Bare"])?);
    admin.sql("DROP SCHEMA tenant_bare CASCADE")?;
    // exporting it says what is wrong, not PostgreSQL's "relation does not exist"
    let file = admin.files.path().join("bare.json");
    let refused = failed(&admin.run(&["tenant", "export", "bare", file.to_str().ok_or("path")?])?, 1);
    assert!(refused.contains("the tenant's schema does not exist (was it dropped by hand?)"), "{refused}");
    assert!(!refused.contains("relation"), "{refused}");
    let deleted = ok(&admin.run(&["tenant", "delete", "bare", "--yes"])?);
    assert!(deleted.contains("deleted tenant 'bare'; its schema tenant_bare was not there"), "{deleted}");
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
    // domains no DNS name is, each told what is wrong, with the likely fix
    for (domain, told) in [
        ("-lead.example", "begins or ends with '-'"),
        ("end-.example", "begins or ends with '-'"),
        ("999.1.1.1", "no IPv4 address"),
        ("1.2.3", "no IPv4 address"),
        ("acme.com:8080", "without its port"),
        ("bücher.example", "xn--"),
    ] {
        let flag = format!("--domain={domain}");
        let refused = failed(&admin.run(&["tenant", "create", "--slug", "x", "--name", "X", &flag])?, 2);
        assert!(refused.contains(told), "{domain}: {refused}");
    }

    ok(&admin.run(&["tenant", "create", "--slug", "acme", "--name", "Acme", "--domain", "shared.example.com"])?);
    // a taken domain: exit 1, one line, nothing created
    let taken = failed(
        &admin.run(&["tenant", "create", "--slug", "other", "--name", "Other", "--domain", "shared.example.com"])?,
        1,
    );
    assert_eq!(taken.lines().count(), 1, "{taken}");
    assert!(taken.contains("the domain 'shared.example.com' already belongs to the tenant 'acme'"), "{taken}");
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
    // an update that changes nothing is bad usage, and names what it could change
    let nothing = failed(&admin.run(&["tenant", "update", "acme"])?, 2);
    assert!(nothing.contains("required") && nothing.contains("--allow-signup"), "{nothing}");
    // a user name or e-mail address that can never be valid is bad usage too
    let bad_name = failed(&admin.run(&["member", "add", "acme", "no spaces", "--role", "admin"])?, 2);
    assert!(bad_name.contains("Enter a valid username."), "{bad_name}");
    let bad_email = failed(&admin.run(&["user", "create", "--username", "ann", "--email", "ann.example.com"])?, 2);
    assert!(bad_email.contains("Enter a valid email address."), "{bad_email}");
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
    // another slug's platform address is refused: signup would never get it back
    let squat = failed(&admin.run(&["domain", "add", "acme", "gamma.localhost"])?, 1);
    assert!(squat.contains("the platform's address for the slug 'gamma'"), "{squat}");
    assert!(squat.contains("its own is acme.localhost"), "{squat}");
    let squat = failed(
        &admin.run(&["tenant", "create", "--slug", "beta", "--name", "Beta", "--domain", "gamma.localhost"])?,
        1,
    );
    assert!(squat.contains("slug 'gamma'"), "{squat}");
    // --primary on a domain the tenant has already moves the flag to it
    let moved = ok(&admin.run(&["domain", "add", "acme", "acme.localhost", "--primary"])?);
    assert!(moved.contains("as its primary domain"), "{moved}");
    let domains = admin.json(&["domain", "list", "acme", "--json"])?;
    assert_eq!(
        domains,
        serde_json::json!([
            {"domain": "acme.localhost", "tenant": "acme", "is_primary": true},
            {"domain": "acme.example.com", "tenant": "acme", "is_primary": false}
        ])
    );
    let again = failed(&admin.run(&["domain", "add", "acme", "acme.localhost"])?, 1);
    assert!(again.contains("already belongs"), "{again}");
    // deeper names under it, and the tenant's own, are fine
    ok(&admin.run(&["domain", "add", "acme", "eu.acme.localhost"])?);
    ok(&admin.run(&["domain", "remove", "eu.acme.localhost"])?);
    ok(&admin.run(&["domain", "remove", "acme.example.com"])?);
    // a tenant's last domain may go, with a warning: no host reaches it then
    ok(&admin.run(&["tenant", "create", "--slug", "lone", "--name", "Lone"])?);
    let last = admin.run(&["domain", "remove", "lone.localhost"])?;
    assert!(ok(&last).contains("'lone.localhost' no longer leads to any tenant"));
    assert!(
        text(&last.stderr).contains("warning: tenant 'lone' has no domain left, so no host leads to it"),
        "{}",
        text(&last.stderr)
    );
    ok(&admin.run(&["tenant", "delete", "lone", "--yes"])?);
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
    // the white space around a password is dropped, as the API drops it at
    // login: kept, it could never be typed in
    ok(&admin.run_with_stdin(
        &["user", "create", "--username", "cid", "--email", "cid@example.com", "--password-stdin"],
        "  Spacious-passphrase-7 \t\n",
    )?);
    let hash = admin.sql("SELECT password_hash FROM public.users WHERE username = 'cid'")?;
    let hasher = taskforce_auth::Argon2Hasher::new(taskforce_auth::HashCost::OWASP_MINIMUM)?;
    use taskforce_domain::PasswordHasher as _;
    assert!(hasher.verify("Spacious-passphrase-7", &hash)?, "the password as login reads it");
    assert!(!hasher.verify("  Spacious-passphrase-7 \t", &hash)?);
    let generated = ok(&admin.run(&["user", "create", "--username", "bob", "--email", "bob@example.com"])?);
    assert!(generated.contains("generated password (shown once): tf-"), "{generated}");
    // the account's own spelling in the answer, whatever was typed
    let added = ok(&admin.run(&["member", "add", "acme", "ANN", "--role", "Admin"])?);
    assert!(added.contains("'ann' is now admin of 'acme'"), "{added}");
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
    // a warning of the work reads as one of the tool's own lines
    ok(&admin.run(&["tenant", "create", "--slug", "other", "--name", "Other"])?);
    ok(&admin.run(&["domain", "remove", "localhost"])?);
    ok(&admin.run(&["domain", "add", "other", "localhost"])?);
    let out = admin.run(&["dev-tenant"])?;
    ok(&out);
    assert!(
        text(&out.stderr).lines().any(|line| line.starts_with(
            "warning: the dev tenant's domain belongs to another tenant; left there domain=localhost owner=other"
        )),
        "{}",
        text(&out.stderr)
    );
    // a dev tenant every host of which is another tenant's is no success
    // (the platform address of a slug no tenant had yet, given by hand)
    admin.sql(
        "INSERT INTO public.domains (domain, tenant_id, is_primary)
              SELECT 'newt.localhost', id, false FROM public.tenants WHERE slug = 'other'",
    )?;
    let refused = failed(&admin.run(&["dev-tenant", "--slug", "newt", "--domain", "localhost"])?, 1);
    assert!(refused.contains("development tenant 'newt' exists but no host reaches it"), "{refused}");
    // it opens a tenant to self-signup: never in production
    let refused = failed(&admin.command(&["dev-tenant"]).env("TASKFORCE_ENV", "production").output()?, 1);
    assert!(refused.contains("dev-tenant is for development"), "{refused}");
    assert!(failed(&admin.run(&["migrate", "--tenant", "nope"])?, 1).contains("no tenant with the slug 'nope'"));
    failed(&admin.run(&["migrate", "--shared", "--tenants"])?, 2);
    Ok(())
}

#[test]
fn spare_schemas_are_filled_taken_by_new_tenants_dropped_when_outdated_and_cleared() -> TestResult {
    let admin = Admin::new()?;
    ok(&admin.run(&["migrate"])?);
    let ready = |admin: &Admin| -> Result<serde_json::Value, Box<dyn std::error::Error>> {
        Ok(admin.json(&["spares", "status", "--json"])?["ready"].clone())
    };
    assert_eq!(ready(&admin)?, 0);
    // a count past what anyone means is bad usage, before anything is made
    let refused = failed(&admin.run(&["spares", "fill", "--count", "99999999999"])?, 2);
    assert!(refused.contains("99999999999"), "{refused}");
    // two fills at once: one waits for the other's lock and both succeed
    let (first, second) = std::thread::scope(|scope| {
        let one = scope.spawn(|| admin.run(&["spares", "fill", "--count", "3"]));
        let two = scope.spawn(|| admin.run(&["spares", "fill", "--count", "3"]));
        (one.join(), two.join())
    });
    let (first, second) = (first.map_err(|_| "panicked")??, second.map_err(|_| "panicked")??);
    let (first, second) = (ok(&first), ok(&second));
    let made = |out: &str| -> Result<usize, Box<dyn std::error::Error>> {
        let count = out.split("made ").nth(1).and_then(|rest| rest.split(';').next()).ok_or("no count")?;
        Ok(count.parse()?)
    };
    assert_eq!(made(&first)? + made(&second)?, 3, "{first} / {second}");
    assert!(first.contains("3 ready") && second.contains("3 ready"), "{first} / {second}");
    assert_eq!(ready(&admin)?, 3);
    let spares = admin.sql("SELECT string_agg(name, ',' ORDER BY name) FROM public.spare_schemas")?;

    // a new tenant takes the first spare: its schema is that schema, renamed
    let oid = admin.sql(&format!(
        "SELECT oid FROM pg_namespace WHERE nspname = '{}'",
        spares.split(',').next().ok_or("no spare")?
    ))?;
    ok(&admin.run(&["tenant", "create", "--slug", "acme", "--name", "Acme"])?);
    assert_eq!(admin.sql("SELECT oid FROM pg_namespace WHERE nspname = 'tenant_acme'")?, oid);
    assert_eq!(ready(&admin)?, 2);
    assert_eq!(admin.sql("SELECT count(*) FROM tenant_acme.projects")?, "0");

    // after a new migration, `migrate` drops the spares made before it
    admin.sql("UPDATE public.spare_schemas SET schema_version = '0000'")?;
    let table = ok(&admin.run(&["spares", "status"])?);
    assert!(table.contains("0000") && table.contains("outdated"), "{table}");
    let out = ok(&admin.run(&["migrate"])?);
    assert!(out.contains("spare schemas: dropped 2 made by older migrations"), "{out}");
    assert_eq!(admin.sql(r"SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'tenant\_\_spare%'")?, "0");

    // on a terminal, filling and clearing each draw a progress bar
    let filled = admin.on_a_terminal(&["spares", "fill", "--count", "2"])?;
    assert!(filled.contains("making spare schemas") && filled.contains("made 2; 2 ready"), "{filled}");
    let cleared = admin.on_a_terminal(&["spares", "clear"])?;
    assert!(cleared.contains("dropping spare schemas") && cleared.contains("dropped 2"), "{cleared}");
    ok(&admin.run(&["spares", "fill", "--count", "1"])?);
    assert!(ok(&admin.run(&["spares", "clear"])?).contains("spare schemas: dropped 1"));
    assert_eq!(ready(&admin)?, 0);
    let table = ok(&admin.run(&["spares", "status"])?);
    assert!(table.contains("none: `spares fill` makes them"), "{table}");
    // the tenant is untouched by all of it
    assert_eq!(admin.sql("SELECT count(*) FROM tenant_acme.projects")?, "0");
    failed(&admin.run(&["spares", "fill", "--count", "many"])?, 2);
    Ok(())
}

#[test]
fn every_subcommand_has_help() -> TestResult {
    let admin = Admin::new()?;
    let commands: [&[&str]; 20] = [
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
        &["spares"],
        &["spares", "status"],
        &["spares", "fill"],
        &["spares", "clear"],
    ];
    for command in commands {
        let mut args = command.to_vec();
        args.push("--help");
        let out = admin.run(&args)?;
        assert!(ok(&out).contains("Usage: tenant-admin"), "{args:?}");
    }
    // the choices are shown where they are asked for
    for (args, choices) in [
        (&["tenant", "create", "--help"], "--plan <free|basic|premium|enterprise>"),
        (&["tenant", "update", "--help"], "--plan <free|basic|premium|enterprise>"),
        (&["member", "add", "--help"], "--role <owner|admin|member|viewer>"),
    ] {
        let help = ok(&admin.run(args)?);
        assert!(help.contains(choices), "{args:?}: {help}");
    }
    Ok(())
}

impl Admin {
    /// One value (or lines) from SQL run on the test database.
    fn sql(&self, query: &str) -> Result<String, Box<dyn std::error::Error>> {
        let out = Command::new("psql").args([self.db.url(), "-tAc", query]).output()?;
        if !out.status.success() {
            return Err(format!("psql: {}", text(&out.stderr)).into());
        }
        Ok(text(&out.stdout).trim().to_owned())
    }

    /// An account with a password, made a member.
    fn member(&self, slug: &str, username: &str, role: &str) -> TestResult {
        ok(&self.run_with_stdin(
            &[
                "user",
                "create",
                "--username",
                username,
                "--email",
                &format!("{username}@example.com"),
                "--password-stdin",
            ],
            "Export-passphrase-1\n",
        )?);
        ok(&self.run(&["member", "add", slug, username, "--role", role])?);
        Ok(())
    }

    /// A checksum of every row of every tenant table of `schema`.
    fn checksums(&self, schema: &str) -> Result<Vec<String>, Box<dyn std::error::Error>> {
        ["projects", "tasks", "comments", "attachments", "activity", "notifications"]
            .iter()
            .map(|table| {
                self.sql(&format!(
                    "SELECT '{table}:' || count(*) || ':' || md5(coalesce(string_agg(t::text, '|' ORDER BY id), '')) FROM {schema}.{table} t"
                ))
            })
            .collect()
    }
}

/// Rows in every tenant table, with user ids of `owner` and `member`.
fn fill(admin: &Admin, schema: &str, owner: &str, member: &str) -> TestResult {
    admin.sql(&format!(
        "INSERT INTO {schema}.projects (name, description, owner_id) VALUES ('Apollo', 'moon', {owner}), ('Gemini', '', {owner});
         INSERT INTO {schema}.tasks (project_id, title, description, status, priority, assignee_id, created_by, due_date)
              VALUES (1, 'Launch', 'go @{member}', 'todo', 'high', {member}, {owner}, '2026-12-01'),
                     (1, 'Land', '', 'done', 'low', NULL, {member}, NULL), (2, 'Orbit', '', 'in_progress', 'urgent', {owner}, {owner}, NULL);
         INSERT INTO {schema}.comments (task_id, author_id, body) VALUES (1, {member}, 'ready'), (1, {owner}, 'go');
         INSERT INTO {schema}.attachments (task_id, filename, content_type, size, storage_key, uploaded_by)
              VALUES (1, 'plan.pdf', 'application/pdf', 1234, 'aaaabbbbccccddddeeeeffff00001111', {member});
         INSERT INTO {schema}.activity (actor_id, verb, target_type, target_id, project_id, changes)
              VALUES ({owner}, 'created', 'project', 1, 1, '{{\"name\": [null, \"Apollo\"]}}'), (0, 'created', 'membership', 2, NULL, '{{}}');
         INSERT INTO {schema}.notifications (recipient_id, kind, actor_id, target_type, target_id, project_id, message)
              VALUES ({member}, 'task_assigned', {owner}, 'task', 1, 1, 'olga assigned you “Launch”');"
    ))?;
    Ok(())
}

#[test]
fn a_tenant_exported_and_imported_comes_back_row_for_row() -> TestResult {
    let admin = Admin::new()?;
    ok(&admin.run(&[
        "tenant",
        "create",
        "--slug",
        "acme",
        "--name",
        "Acme",
        "--domain",
        "acme.example.com",
        "--plan",
        "premium",
    ])?);
    admin.member("acme", "olga", "owner")?;
    admin.member("acme", "mia", "member")?;
    let id_of = |name: &str| admin.sql(&format!("SELECT id FROM public.users WHERE username = '{name}'"));
    let (olga, mia) = (id_of("olga")?, id_of("mia")?);
    fill(&admin, "tenant_acme", &olga, &mia)?;
    // kim, a member no more: a project of hers and a task assigned to her stay
    admin.member_less_account("kim")?;
    let kim = id_of("kim")?;
    admin.sql(&format!(
        "INSERT INTO tenant_acme.projects (name, description, owner_id) VALUES ('Kim''s', '', {kim});
         INSERT INTO tenant_acme.tasks (project_id, title, created_by, assignee_id) VALUES (1, 'Kim''s task', {olga}, {kim});
         INSERT INTO tenant_acme.activity (actor_id, verb, target_type, target_id, project_id, changes)
              VALUES ({olga}, 'updated', 'task', 4, 1, '{{\"assignee_id\": [{mia}, {kim}]}}')"
    ))?;
    // members who joined long ago, and an account that may no longer log in
    admin.sql(
        "UPDATE public.memberships SET joined_at = timestamptz '2024-02-20 12:34:56.789+00' + (user_id % 7) * interval '1 day';
         UPDATE public.users SET is_active = false WHERE username = 'olga'",
    )?;
    let joined = |admin: &Admin, slug: &str| {
        admin.sql(&format!(
            "SELECT string_agg(u.username || ' ' || m.joined_at, ', ' ORDER BY u.username)
               FROM public.memberships m JOIN public.users u ON u.id = m.user_id
               JOIN public.tenants t ON t.id = m.tenant_id WHERE t.slug = '{slug}'"
        ))
    };
    let joined_before = joined(&admin, "acme")?;
    assert!(joined_before.contains("2024-02-2"), "{joined_before}");
    let original = admin.checksums("tenant_acme")?;
    let file = admin.files.path().join("acme.json");
    let file_arg = file.to_str().ok_or("path")?;

    let exported = ok(&admin.run(&["tenant", "export", "acme", file_arg])?);
    assert!(
        exported.contains("exported tenant 'acme'") && exported.contains("2 member(s), 16 row(s) in 6 table(s)"),
        "{exported}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&file)?.permissions().mode() & 0o777, 0o600, "the export holds password hashes");
    }
    let before = std::fs::read(&file)?;
    assert!(
        failed(&admin.run(&["tenant", "export", "acme", file_arg])?, 1).contains("exists already"),
        "an existing file is kept"
    );
    assert_eq!(std::fs::read(&file)?, before);
    // `-` writes it to standard output (to pipe it on), the summary to stderr
    let piped = admin.run(&["tenant", "export", "acme", "-"])?;
    let document: serde_json::Value = serde_json::from_str(&ok(&piped))?;
    let saved: serde_json::Value = serde_json::from_slice(&before)?;
    assert_eq!((&document["tables"], &document["members"]), (&saved["tables"], &saved["members"]));
    assert!(text(&piped.stderr).contains("to standard output"), "{}", text(&piped.stderr));
    // and `tenant import -` reads one from standard input
    let from_stdin = ok(&admin.run_with_stdin(&["tenant", "import", "-", "--slug", "acme-piped"], &ok(&piped))?);
    assert!(from_stdin.contains("imported tenant 'acme-piped'"), "{from_stdin}");
    let refused = failed(&admin.run_with_stdin(&["tenant", "import", "-", "--slug", "nothing"], "{\"tables\": 1")?, 1);
    assert!(refused.contains("stdin is not a tenant export"), "{refused}");
    ok(&admin.run(&["tenant", "delete", "acme-piped", "--yes"])?);
    // only the export is left in the folder: no hidden partial file
    let names: Vec<String> = std::fs::read_dir(admin.files.path())?
        .filter_map(|entry| entry.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .filter(|name| name.contains("acme"))
        .collect();
    assert_eq!(names, ["acme.json"]);
    // a write that fails (a folder that is not there) names the file and leaves nothing
    let nowhere = admin.files.path().join("missing").join("acme.json");
    let refused = failed(&admin.run(&["tenant", "export", "acme", nowhere.to_str().ok_or("path")?])?, 1);
    assert!(refused.contains("writing") && refused.contains("missing/acme.json"), "{refused}");

    // a copy beside the original, under a new slug and its own domain
    let copied = ok(&admin.run(&["tenant", "import", file_arg, "--slug", "acme-copy"])?);
    assert!(
        copied.contains("imported tenant 'acme-copy'") && copied.contains("2 member(s), 0 new account(s), 16 row(s)"),
        "{copied}"
    );
    assert_eq!(admin.checksums("tenant_acme_copy")?, original);
    assert_eq!(joined(&admin, "acme-copy")?, joined_before, "members keep the dates they joined");
    // what format 2 added: each table's row count, each member's date
    let document: serde_json::Value = serde_json::from_slice(&before)?;
    assert_eq!(
        (&document["format"], &document["tables"][1]["table"], &document["tables"][1]["count"]),
        (&serde_json::json!(3), &serde_json::json!("tasks"), &serde_json::json!(4))
    );
    // what format 3 added: the accounts the rows name that are no members
    assert_eq!(
        document["other_accounts"],
        serde_json::json!([{"user_id": kim.parse::<i64>()?, "username": "kim", "email": "kim@example.com"}])
    );
    // a document of format 1, from the builds before, is still read: its
    // members join at the import
    let mut older = document.clone();
    older["format"] = serde_json::json!(1);
    for member in older["members"].as_array_mut().ok_or("members")? {
        member.as_object_mut().ok_or("member")?.remove("joined_at").ok_or("joined_at")?;
    }
    for table in older["tables"].as_array_mut().ok_or("tables")? {
        table.as_object_mut().ok_or("table")?.remove("count").ok_or("count")?;
    }
    older.as_object_mut().ok_or("document")?.remove("other_accounts").ok_or("other_accounts")?;
    let older_file = admin.files.path().join("acme-format-1.json");
    std::fs::write(&older_file, older.to_string())?;
    let older_arg = older_file.to_str().ok_or("path")?;
    // a document of format 3 names its former members: keeping ids is refused
    let current = admin.files.path().join("acme-format-3.json");
    std::fs::write(&current, document.to_string())?;
    let refused = failed(
        &admin.run(&[
            "tenant",
            "import",
            current.to_str().ok_or("path")?,
            "--slug",
            "acme-k",
            "--keep-unmatched-ids",
        ])?,
        1,
    );
    assert!(refused.contains("--keep-unmatched-ids is for exports of format 1 or 2"), "{refused}");
    // kim's id, named by no member and no account of the document: restored
    // into the database it came from, it is kept when asked …
    let imported = ok(&admin.run(&["tenant", "import", older_arg, "--slug", "acme-old", "--keep-unmatched-ids"])?);
    assert!(
        imported.contains("2 member(s), 0 new account(s), 16 row(s), 1 user id(s) no account here matches kept"),
        "{imported}"
    );
    assert_eq!(admin.checksums("tenant_acme_old")?, original);
    // … and set to nobody otherwise (it might be someone else's here)
    let imported = ok(&admin.run(&["tenant", "import", older_arg, "--slug", "acme-older"])?);
    assert!(imported.contains("1 user id(s) no account here matches set to nobody"), "{imported}");
    assert_eq!(admin.sql("SELECT owner_id FROM tenant_acme_older.projects WHERE name = 'Kim''s'")?, "-1");
    let joined_now = joined(&admin, "acme-old")?;
    assert!(joined_now.starts_with("mia 20") && !joined_now.contains("2024-02-2"), "{joined_now}");
    let copy = admin.json(&["tenant", "show", "acme-copy", "--json"])?;
    assert_eq!(copy["domains"], serde_json::json!([{"domain": "acme-copy.localhost", "is_primary": true}]));
    // new rows continue after the imported ids
    admin.sql("INSERT INTO tenant_acme_copy.tasks (project_id, title, created_by) VALUES (1, 'After', 1)")?;
    assert_eq!(admin.sql("SELECT max(id) FROM tenant_acme_copy.tasks")?, "5");

    // the original deleted, then restored under its slug and domains
    ok(&admin.run(&["tenant", "delete", "acme", "--yes"])?);
    ok(&admin.run(&["tenant", "import", file_arg])?);
    assert_eq!(admin.checksums("tenant_acme")?, original);
    let restored = admin.json(&["tenant", "show", "acme", "--json"])?;
    assert_eq!(
        (restored["plan"].as_str(), restored["domains"][0]["domain"].as_str()),
        (Some("premium"), Some("acme.example.com"))
    );
    let members = admin.json(&["member", "list", "acme", "--json"])?;
    let roles: Vec<(String, String)> = members
        .as_array()
        .ok_or("members")?
        .iter()
        .filter_map(|m| Some((m["username"].as_str()?.to_owned(), m["role"].as_str()?.to_owned())))
        .collect();
    assert_eq!(roles, [("olga".to_owned(), "owner".to_owned()), ("mia".to_owned(), "member".to_owned())]);
    // importing again: the slug is taken, nothing changes
    assert!(failed(&admin.run(&["tenant", "import", file_arg])?, 1).contains("already exists"));
    assert_eq!(admin.checksums("tenant_acme")?, original);

    // into another database whose accounts have other ids: user ids follow
    let other = Admin::new()?;
    // two accounts before mia's, so none of the importer's ids matches the exporter's
    other.member_less_account("zed")?;
    other.member_less_account("yan")?;
    other.member_less_account("mia")?;
    let imported = ok(&other.run(&["tenant", "import", file_arg])?);
    assert!(imported.contains("2 member(s), 1 new account(s)"), "{imported}");
    let (new_olga, new_mia) = (
        other.sql("SELECT id FROM public.users WHERE username = 'olga'")?,
        other.sql("SELECT id FROM public.users WHERE username = 'mia'")?,
    );
    assert_ne!(new_olga, olga, "olga's new account has another id");
    assert_eq!(joined(&other, "acme")?, joined_before);
    // olga's account could not log in where it came from: the new one cannot either
    assert_eq!(other.sql("SELECT is_active FROM public.users WHERE username = 'olga'")?, "f");
    assert_ne!(new_mia, mia, "mia's existing account has another id");
    assert_eq!(
        other
            .sql("SELECT string_agg(DISTINCT owner_id::text, ',') FROM tenant_acme.projects WHERE name <> 'Kim''s'")?,
        new_olga
    );
    // kim has no account here, and her old id is mia's: her rows go to nobody, not to mia
    assert_eq!(kim, new_mia, "the case this checks: kim's old id is another person's here");
    assert_eq!(other.sql("SELECT owner_id FROM tenant_acme.projects WHERE name = 'Kim''s'")?, "-1");
    // the activity log's changes follow too: mia's id to her account here, kim's to nobody
    assert_eq!(
        other.sql("SELECT changes ->> 'assignee_id' FROM tenant_acme.activity WHERE changes ? 'assignee_id'")?,
        format!("[{new_mia}, -1]")
    );
    assert_eq!(
        other.sql("SELECT coalesce(assignee_id::text, 'nobody') FROM tenant_acme.tasks WHERE title = 'Kim''s task'")?,
        "nobody"
    );
    assert_eq!(
        other.sql("SELECT assignee_id || '/' || created_by FROM tenant_acme.tasks WHERE title = 'Launch'")?,
        format!("{new_mia}/{new_olga}")
    );
    assert_eq!(
        other.sql(
            "SELECT string_agg(DISTINCT actor_id::text, ',') FROM tenant_acme.activity WHERE target_type = 'membership'"
        )?,
        "0"
    );
    // olga's account was created with her password hash: she keeps her password
    assert_eq!(
        other.sql("SELECT password_hash FROM public.users WHERE username = 'olga'")?,
        admin.sql("SELECT password_hash FROM public.users WHERE username = 'olga'")?
    );
    Ok(())
}

#[test]
fn a_tenant_without_members_and_with_thousands_of_rows_goes_across_in_chunks() -> TestResult {
    let admin = Admin::new()?;
    ok(&admin.run(&["tenant", "create", "--slug", "bulk", "--name", "Bulk"])?);
    // more rows than one fetch or one load takes, made by the operator (id 0)
    admin.sql(
        "INSERT INTO tenant_bulk.projects (name, description, owner_id)
              SELECT 'Project ' || g, repeat('x', g % 300), 0 FROM generate_series(1, 2500) g",
    )?;
    let original = admin.checksums("tenant_bulk")?;
    let file = admin.files.path().join("bulk.json");
    let file_arg = file.to_str().ok_or("path")?;
    assert!(ok(&admin.run(&["tenant", "export", "bulk", file_arg])?).contains("0 member(s), 2500 row(s)"));
    let imported = ok(&admin.run(&["tenant", "import", file_arg, "--slug", "bulk-copy"])?);
    assert!(imported.contains("0 member(s), 0 new account(s), 2500 row(s) in"), "{imported}");
    assert_eq!(admin.checksums("tenant_bulk_copy")?, original);
    // a pipe cannot be read twice: refused before anything is done
    let refused = failed(&admin.run(&["tenant", "import", "/dev/stdin", "--slug", "piped"])?, 1);
    assert!(refused.contains("is not a regular file"), "{refused}");
    Ok(())
}

/// The export of a tenant `acme` whose owner `olga` made a little of
/// everything ([`fill`]), as JSON.
fn filled_export(admin: &Admin) -> Result<serde_json::Value, Box<dyn std::error::Error>> {
    ok(&admin.run(&["tenant", "create", "--slug", "acme", "--name", "Acme"])?);
    admin.member("acme", "olga", "owner")?;
    let olga = admin.sql("SELECT id FROM public.users WHERE username = 'olga'")?;
    fill(admin, "tenant_acme", &olga, &olga)?;
    let file = admin.files.path().join("acme.json");
    ok(&admin.run(&["tenant", "export", "acme", file.to_str().ok_or("path")?])?);
    Ok(serde_json::from_str(&std::fs::read_to_string(&file)?)?)
}

/// New rows of an imported tenant continue after the largest id of each
/// table, also when that is the last possible one (the next creation finds
/// the sequence used up) or when no id is above 0 (they start from 1).
#[test]
fn an_import_s_new_ids_continue_after_its_largest_even_the_last_possible() -> TestResult {
    let admin = Admin::new()?;
    let mut export = filled_export(&admin)?;
    for table in export["tables"].as_array_mut().ok_or("tables")? {
        let name = table["table"].clone();
        for (n, row) in table["rows"].as_array_mut().ok_or("rows")?.iter_mut().enumerate() {
            match name.as_str() {
                Some("notifications") if n == 0 => row["id"] = serde_json::json!(i64::MAX),
                Some("activity") => row["id"] = serde_json::json!(-7 - i64::try_from(n)?),
                _ => {}
            }
        }
    }
    let edge = admin.files.path().join("edge.json");
    std::fs::write(&edge, export.to_string())?;
    ok(&admin.run(&["tenant", "import", edge.to_str().ok_or("path")?, "--slug", "edge"])?);

    let sequence =
        |table: &str| admin.sql(&format!("SELECT last_value || ' ' || is_called FROM tenant_edge.{table}_id_seq"));
    assert_eq!(sequence("notifications")?, format!("{} true", i64::MAX));
    assert_eq!(sequence("activity")?, "1 false");
    assert_eq!(sequence("projects")?, "2 true");
    let next = admin.sql(
        "WITH next AS (INSERT INTO tenant_edge.projects (name, description, owner_id) VALUES ('Next', '', 1) RETURNING id)
         SELECT id FROM next",
    )?;
    assert_eq!(next, "3");
    let exhausted = admin.sql(
        "INSERT INTO tenant_edge.notifications (recipient_id, kind, actor_id, target_type, target_id, message)
         VALUES (1, 'task_assigned', 1, 'task', 1, 'm')",
    );
    assert!(exhausted.is_err_and(|e| e.to_string().contains("reached maximum value")), "the last id was given again");
    Ok(())
}

#[test]
fn an_import_that_cannot_be_completed_leaves_nothing() -> TestResult {
    let admin = Admin::new()?;
    let mut export = filled_export(&admin)?;

    // from another schema version
    export["schema_version"] = serde_json::json!("20000101000000");
    let older = admin.files.path().join("older.json");
    std::fs::write(&older, export.to_string())?;
    let refused = failed(&admin.run(&["tenant", "import", older.to_str().ok_or("path")?, "--slug", "older"])?, 1);
    assert!(refused.contains("schema is at version 20000101000000"), "{refused}");
    // rows that break a constraint half way through
    export["schema_version"] =
        serde_json::json!(admin.sql("SELECT schema_version FROM public.tenants WHERE slug = 'acme'")?);
    export["tables"][1]["rows"][1]["project_id"] = serde_json::json!(999);
    let broken = admin.files.path().join("broken.json");
    std::fs::write(&broken, export.to_string())?;
    let refused = failed(&admin.run(&["tenant", "import", broken.to_str().ok_or("path")?, "--slug", "broken"])?, 1);
    assert!(refused.contains("the rows of tasks: row 2, id 2: "), "the row is named: {refused}");
    assert!(refused.contains("tasks_project_id_fkey"), "{refused}");
    assert!(refused.contains("Key (project_id)=(999)"), "the database's detail: {refused}");
    assert_eq!(refused.matches("violates").count(), 1, "the cause once, not twice: {refused}");
    // rows that would lose a value or take one they were not given, and
    // values the table refuses: each named by its row and id
    let mut export_ok = export.clone();
    export_ok["tables"][1]["rows"][1]["project_id"] = export["tables"][1]["rows"][0]["project_id"].clone();
    let task = export["tables"][1]["rows"][2].clone();
    for (change, reason) in [
        (
            serde_json::json!({"titel": "Orbit"}),
            "the rows of tasks: row 3, id 3: the key 'titel' is no column of tasks",
        ),
        (serde_json::json!({"title": null}), "the rows of tasks: row 3, id 3: null value in column \"title\""),
        (
            serde_json::json!({"id": 1}),
            "the rows of tasks: row 3, id 1: duplicate key value violates unique constraint \"tasks_pkey\"",
        ),
        (
            serde_json::json!({"due_date": "soon"}),
            "the rows of tasks: row 3, id 3: 'due_date' is 'soon', where a date is written as an export writes it",
        ),
        (serde_json::json!({"due_date": "infinity"}), "row 3, id 3: 'due_date' is 'infinity', where"),
        (serde_json::json!({"created_at": "yesterday"}), "row 3, id 3: 'created_at' is 'yesterday', where"),
        (serde_json::json!({"due_date": "2026-01-01 infinity"}), "row 3, id 3: 'due_date' is '2026-01-01 infinity'"),
        (serde_json::json!({"created_at": "2026-01-01T00:00:00 BC"}), "'created_at' is '2026-01-01T00:00:00 BC'"),
        (
            serde_json::json!({"title": {"a": 1}}),
            "row 3, id 3: 'title' is a JSON object, where the column takes a string",
        ),
        (serde_json::json!({"version": "2"}), "'version' is a JSON string, where the column takes a number"),
        (serde_json::json!({"description": "nul \u{0} byte"}), "the rows of tasks: row 3, a NUL character"),
        (
            serde_json::json!({"project_id": "one"}),
            "row 3, id 3: 'project_id' is a JSON string, where the column takes a number",
        ),
        (serde_json::json!({"project_id": 1.5}), "row 3, id 3: invalid input syntax for type bigint: \"1.5\""),
        // what the table's own rules let in but the server could not show
        (
            serde_json::json!({"description": "y".repeat(100_001)}),
            "tasks, the row with id 3: the server could not show it (stored description is invalid: Ensure this \
             field has no more than 100000 characters.)",
        ),
        (serde_json::json!({"title": "   "}), "tasks, the row with id 3: the server could not show it (stored task"),
    ] {
        let mut changed = export_ok.clone();
        let mut row = task.clone();
        for (key, value) in change.as_object().ok_or("change")? {
            row[key] = value.clone();
        }
        changed["tables"][1]["rows"][2] = row;
        std::fs::write(&broken, changed.to_string())?;
        let refused = failed(&admin.run(&["tenant", "import", broken.to_str().ok_or("path")?, "--slug", "broken"])?, 1);
        assert!(refused.contains(reason), "{reason}: {refused}");
    }
    for (row, reason) in [
        (serde_json::json!(7), "the rows of tasks: row 3, a JSON number, where a row is an object"),
        (
            {
                let mut row = task.clone();
                row.as_object_mut().ok_or("row")?.remove("title");
                row
            },
            "the rows of tasks: row 3, id 3: the column 'title' of tasks is missing",
        ),
    ] {
        let mut changed = export_ok.clone();
        changed["tables"][1]["rows"][2] = row;
        std::fs::write(&broken, changed.to_string())?;
        let refused = failed(&admin.run(&["tenant", "import", broken.to_str().ok_or("path")?, "--slug", "broken"])?, 1);
        assert!(refused.contains(reason), "{refused}");
    }
    // a key given twice in a row: JSON allows it, the load would keep one
    let twice = export_ok.to_string().replacen("\"title\":\"Orbit\"", "\"title\":\"Orbit\",\"title\":\"Moon\"", 1);
    assert_ne!(twice, export_ok.to_string());
    std::fs::write(&broken, twice)?;
    let refused = failed(&admin.run(&["tenant", "import", broken.to_str().ok_or("path")?, "--slug", "broken"])?, 1);
    assert!(refused.contains("row 3 of a table gives the key 'title' twice"), "{refused}");
    // keys the export's head does not have, and two primary domains
    for (path, reason) in [
        ("/tenant", "unknown field `colour`"),
        ("/members/0", "unknown field `colour`"),
        ("/tables/2", "unknown field `colour`"),
        ("", "unknown field `colour`"),
    ] {
        let mut changed = export_ok.clone();
        changed.pointer_mut(path).ok_or("path")?["colour"] = serde_json::json!("red");
        std::fs::write(&broken, changed.to_string())?;
        let refused = failed(&admin.run(&["tenant", "import", broken.to_str().ok_or("path")?, "--slug", "broken"])?, 1);
        assert!(refused.contains(reason), "{path}: {refused}");
    }
    // a table's rows given twice would be counted once and loaded twice
    let twice_rows = export_ok.to_string().replacen("\"rows\":[", "\"rows\":[],\"rows\":[", 1);
    std::fs::write(&broken, twice_rows)?;
    let refused = failed(&admin.run(&["tenant", "import", broken.to_str().ok_or("path")?, "--slug", "broken"])?, 1);
    assert!(refused.contains("duplicate field `rows` in a table"), "{refused}");
    // two of the export's accounts that would be one here
    let mut doubled = export_ok.clone();
    let mut twin = doubled["members"][0].clone();
    twin["username"] = serde_json::json!("OLGA");
    twin["email"] = serde_json::json!("other@example.com");
    twin["user_id"] = serde_json::json!(999);
    doubled["members"].as_array_mut().ok_or("members")?.push(twin);
    std::fs::write(&broken, doubled.to_string())?;
    let refused = failed(&admin.run(&["tenant", "import", broken.to_str().ok_or("path")?, "--slug", "broken"])?, 1);
    assert!(refused.contains("accounts 'olga' and 'OLGA': one user name"), "{refused}");
    let mut none = export_ok.clone();
    none["domains"] = serde_json::json!([]);
    std::fs::write(&broken, none.to_string())?;
    let refused = failed(&admin.run(&["tenant", "import", broken.to_str().ok_or("path")?])?, 1);
    assert!(refused.contains("domains: the export gives none, so no host would lead to the tenant"), "{refused}");
    let mut undated = export_ok.clone();
    undated["members"][0].as_object_mut().ok_or("member")?.remove("joined_at");
    std::fs::write(&broken, undated.to_string())?;
    let refused = failed(&admin.run(&["tenant", "import", broken.to_str().ok_or("path")?])?, 1);
    assert!(refused.contains("member 'olga': no joined_at (format 3 gives every member's)"), "{refused}");
    let mut two = export.clone();
    two["domains"] = serde_json::json!([
        {"domain": "one.example.com", "is_primary": true}, {"domain": "two.example.com", "is_primary": true}
    ]);
    std::fs::write(&broken, two.to_string())?;
    let refused = failed(&admin.run(&["tenant", "import", broken.to_str().ok_or("path")?])?, 1);
    assert!(
        refused.contains(r#"a tenant has one primary domain; the export marks ["one.example.com", "two.example.com"]"#),
        "{refused}"
    );
    // rows that are not the number the export gives (a list cut short by hand)
    let schema_version = export["schema_version"].clone();
    let mut cut = export.clone();
    cut["tables"][1]["rows"][1]["project_id"] = cut["tables"][1]["rows"][0]["project_id"].clone();
    cut["tables"][1]["rows"].as_array_mut().ok_or("rows")?.pop();
    let cut_file = admin.files.path().join("cut.json");
    std::fs::write(&cut_file, cut.to_string())?;
    let refused = failed(&admin.run(&["tenant", "import", cut_file.to_str().ok_or("path")?, "--slug", "broken"])?, 1);
    assert!(refused.contains("the rows of tasks: the export gives 3, the list holds 2"), "{refused}");
    // rows that are no list
    cut["tables"][1]["rows"] = serde_json::json!({"id": 1});
    std::fs::write(&cut_file, cut.to_string())?;
    let refused = failed(&admin.run(&["tenant", "import", cut_file.to_str().ok_or("path")?, "--slug", "broken"])?, 1);
    assert!(refused.contains("is not a tenant export: invalid type: map, expected a list of rows"), "{refused}");
    // a format-2 table without its count, and a table given twice (the
    // second would have been counted and never loaded)
    for (cut, reason) in [
        (
            {
                let mut cut = export.clone();
                cut["tables"][0].as_object_mut().ok_or("table")?.remove("count");
                cut
            },
            "the rows of projects: no count (format 3 has one)",
        ),
        (
            {
                let mut cut = export.clone();
                let again = cut["tables"][2].clone();
                cut["tables"].as_array_mut().ok_or("tables")?.push(again);
                cut
            },
            r#"its tables are ["projects", "tasks", "comments", "attachments", "activity", "notifications", "comments"]"#,
        ),
    ] {
        std::fs::write(&cut_file, cut.to_string())?;
        let refused =
            failed(&admin.run(&["tenant", "import", cut_file.to_str().ok_or("path")?, "--slug", "broken"])?, 1);
        assert!(refused.contains(reason), "{refused}");
    }
    // a format from a later build
    cut = export.clone();
    cut["format"] = serde_json::json!(4);
    std::fs::write(&cut_file, cut.to_string())?;
    let refused = failed(&admin.run(&["tenant", "import", cut_file.to_str().ok_or("path")?, "--slug", "broken"])?, 1);
    assert!(refused.contains("the export is in format 4; this build reads formats 1 to 3"), "{refused}");
    assert_eq!(schema_version, export["schema_version"]);
    // a new account whose hash this server cannot verify could never log in
    let fresh = Admin::new()?;
    export["tables"][1]["rows"][1]["project_id"] = export["tables"][1]["rows"][0]["project_id"].clone();
    export["members"][0]["password_hash"] = serde_json::json!("plaintext");
    let unusable = admin.files.path().join("unusable.json");
    std::fs::write(&unusable, export.to_string())?;
    let refused = failed(&fresh.run(&["tenant", "import", unusable.to_str().ok_or("path")?])?, 1);
    assert!(refused.contains("member 'olga': its password hash is not one this server verifies"), "{refused}");
    assert_eq!(fresh.sql("SELECT count(*) FROM public.users")?, "0", "no account was created");

    assert_eq!(admin.sql("SELECT count(*) FROM public.tenants WHERE slug IN ('older', 'broken')")?, "0");
    assert_eq!(admin.sql("SELECT count(*) FROM pg_namespace WHERE nspname IN ('tenant_older', 'tenant_broken')")?, "0");
    assert_eq!(
        admin.sql("SELECT count(*) FROM public.domains WHERE domain LIKE 'older.%' OR domain LIKE 'broken.%'")?,
        "0"
    );
    Ok(())
}

#[test]
fn an_import_refuses_to_hand_a_member_s_place_to_another_person_s_account() -> TestResult {
    let admin = Admin::new()?;
    ok(&admin.run(&["tenant", "create", "--slug", "acme", "--name", "Acme"])?);
    admin.member("acme", "olga", "owner")?;
    admin.member("acme", "mia", "member")?;
    let olga = admin.sql("SELECT id FROM public.users WHERE username = 'olga'")?;
    fill(&admin, "tenant_acme", &olga, &olga)?;
    let file = admin.files.path().join("acme.json");
    let file_arg = file.to_str().ok_or("path")?;
    ok(&admin.run(&["tenant", "export", "acme", file_arg])?);

    let other = Admin::new()?;
    // someone else registered the name "mia" here
    other.account_with("mia", "mia@elsewhere.example.net")?;
    let their_hash = other.sql("SELECT password_hash FROM public.users WHERE username = 'mia'")?;
    let refused = failed(&other.run(&["tenant", "import", file_arg])?, 1);
    assert!(
        refused.contains("member 'mia'") && refused.contains("another e-mail address") && refused.contains("nothing"),
        "{refused}"
    );
    // someone else holds olga's address under another name
    let third = Admin::new()?;
    third.account_with("olga-k", "OLGA@example.com")?;
    let refused = failed(&third.run(&["tenant", "import", file_arg])?, 1);
    assert!(refused.contains("member 'olga'") && refused.contains("belongs to another account"), "{refused}");

    for db in [&other, &third] {
        assert_eq!(db.sql("SELECT count(*) FROM public.tenants WHERE slug = 'acme'")?, "0");
        assert_eq!(db.sql("SELECT count(*) FROM pg_namespace WHERE nspname = 'tenant_acme'")?, "0");
        assert_eq!(db.sql("SELECT count(*) FROM public.memberships")?, "0");
        assert_eq!(db.sql("SELECT count(*) FROM public.users")?, "1", "no account was created");
    }
    // the other person's account is as it was: its address and its password
    assert_eq!(other.sql("SELECT email FROM public.users WHERE username = 'mia'")?, "mia@elsewhere.example.net");
    assert_eq!(other.sql("SELECT password_hash FROM public.users WHERE username = 'mia'")?, their_hash);
    Ok(())
}

/// An account that made itself through the API (its address typed, never
/// proven) is a member's account only with the member's password hash too:
/// a restore into the same database finds it; someone who registered the
/// member's name and address elsewhere first does not get the place.
#[test]
fn an_import_takes_a_self_registered_account_for_a_member_only_with_the_same_password() -> TestResult {
    let admin = Admin::new()?;
    ok(&admin.run(&["tenant", "create", "--slug", "acme", "--name", "Acme"])?);
    admin.member("acme", "olga", "owner")?;
    admin.member("acme", "mia", "admin")?;
    admin.sql("UPDATE public.users SET registered_themselves = true WHERE username = 'mia'")?;
    let file = admin.files.path().join("acme.json");
    let file_arg = file.to_str().ok_or("path")?;
    ok(&admin.run(&["tenant", "export", "acme", file_arg])?);

    // elsewhere, someone registered mia's and olga's names and addresses first
    let other = Admin::new()?;
    other.member_less_account("mia")?;
    other.member_less_account("olga")?;
    other.sql("UPDATE public.users SET registered_themselves = true")?;
    let refused = failed(&other.run(&["tenant", "import", file_arg])?, 1);
    // every member that cannot come over, in one answer
    for name in ["mia", "olga"] {
        assert!(refused.contains(&format!("member '{name}': an account here registered itself")), "{refused}");
    }
    assert!(refused.contains("`tenant-admin user confirm <name>`"), "{refused}");
    assert_eq!(other.sql("SELECT count(*) FROM public.memberships")?, "0");
    assert_eq!(other.sql("SELECT count(*) FROM public.tenants WHERE slug = 'acme'")?, "0");
    // an operator who checked vouches for both: the import takes them
    for name in ["mia", "olga"] {
        let confirmed = ok(&other.run(&["user", "confirm", name])?);
        assert!(confirmed.contains(&format!("confirmed user '{name}'")), "{confirmed}");
    }
    failed(&other.run(&["user", "confirm", "nobody"])?, 1);
    // once is enough: again, and for an account an operator made, it says so
    let again = ok(&other.run(&["user", "confirm", "mia"])?);
    assert!(again.contains("user 'mia'") && again.contains("needs no confirmation"), "{again}");
    ok(&other.run(&["user", "create", "--username", "ops", "--email", "ops@example.com"])?);
    let made = ok(&other.run(&["user", "confirm", "ops"])?);
    assert!(made.contains("needs no confirmation: it was made by an operator"), "{made}");
    ok(&other.run(&["tenant", "import", file_arg])?);
    assert_eq!(
        other.sql(
            "SELECT m.role FROM public.memberships m JOIN public.users u ON u.id = m.user_id WHERE u.username = 'mia'"
        )?,
        "admin"
    );

    // restored where it came from: mia's own account, same password, same role
    ok(&admin.run(&["tenant", "delete", "acme", "--yes"])?);
    ok(&admin.run(&["tenant", "import", file_arg])?);
    assert_eq!(
        admin.sql(
            "SELECT m.role FROM public.memberships m JOIN public.users u ON u.id = m.user_id \
             JOIN public.tenants t ON t.id = m.tenant_id WHERE t.slug = 'acme' AND u.username = 'mia'"
        )?,
        "admin"
    );
    assert_eq!(admin.sql("SELECT count(*) FROM public.users WHERE username = 'mia'")?, "1");
    Ok(())
}

impl Admin {
    /// An account that belongs to no tenant (so ids differ between
    /// databases), with the address [`Admin::member`] gives the same name.
    fn member_less_account(&self, username: &str) -> TestResult {
        self.account_with(username, &format!("{username}@example.com"))
    }

    /// An account that belongs to no tenant, with the given address.
    fn account_with(&self, username: &str, email: &str) -> TestResult {
        ok(&self.run_with_stdin(
            &["user", "create", "--username", username, "--email", email, "--password-stdin"],
            "Other-passphrase-1\n",
        )?);
        Ok(())
    }
}

/// A database shaped like the Django product's (django-tenants' public
/// tables and its custom user model), with tenants and accounts that test
/// each rule of the import.
fn django_database() -> Result<TestDatabase, Box<dyn std::error::Error>> {
    use diesel::{Connection as _, connection::SimpleConnection as _};
    let db = TestDatabase::create()?;
    let mut conn = diesel::PgConnection::establish(db.url())?;
    conn.batch_execute(
        "CREATE TABLE tenants_tenant (id bigserial PRIMARY KEY, schema_name varchar(63) NOT NULL UNIQUE,
             name varchar(100) NOT NULL, slug varchar(50) NOT NULL UNIQUE, plan varchar(20) NOT NULL,
             is_active boolean NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
         CREATE TABLE tenants_domain (id bigserial PRIMARY KEY, domain varchar(253) NOT NULL UNIQUE,
             is_primary boolean NOT NULL, tenant_id bigint NOT NULL REFERENCES tenants_tenant (id));
         CREATE TABLE core_user (id bigserial PRIMARY KEY, password varchar(128) NOT NULL, last_login timestamptz,
             is_superuser boolean NOT NULL DEFAULT false, username varchar(150) NOT NULL UNIQUE,
             email varchar(254) NOT NULL, is_staff boolean NOT NULL, is_active boolean NOT NULL,
             date_joined timestamptz NOT NULL DEFAULT now(), role varchar(20) NOT NULL);
         INSERT INTO tenants_tenant (schema_name, name, slug, plan, is_active) VALUES
             ('public', 'Public', 'public', 'free', true),
             ('tenant_acme', 'Acme Corp', 'acme', 'premium', true),
             ('tenant_sleepy', 'Sleepy', 'sleepy', 'basic', false),
             ('tenant_9lives', 'Nine Lives', '9lives', 'free', true);
         INSERT INTO tenants_domain (domain, is_primary, tenant_id) VALUES
             ('localhost', true, 1), ('acme.localhost', false, 2), ('acme.example.com', true, 2),
             ('old.example.com', true, 4);
         INSERT INTO core_user (password, username, email, is_staff, is_active, role) VALUES
             ('pbkdf2_sha256$20000$olgasalt$RoTXHHd1PqQrFDj6uurkNBC/bvvLAVIpaOBvbCqPN9g=', 'olga', 'olga@acme.example', true, true, 'OWNER'),
             ('pbkdf2_sha256$20000$adamsalt$AAAA', 'adam', 'adam@acme.example', false, true, 'admin'),
             ('pbkdf2_sha256$20000$samsalt$AAAA', 'sam', 'sam@acme.example', false, true, 'staff'),
             ('pbkdf2_sha256$20000$ullasalt$AAAA', 'ulla', 'ulla@acme.example', false, false, 'user'),
             ('!unusable', 'nomail', '', false, true, 'user'),
             ('bcrypt_sha256$$2b$12$abcdefghijklmnopqrstuv', 'bert', 'bert@acme.example', false, true, 'user'),
             ('!sso-only', 'sso', 'sso@acme.example', false, true, 'admin');",
    )?;
    Ok(db)
}

#[test]
fn import_django_brings_tenants_and_accounts_over_reports_the_rest_and_runs_again() -> TestResult {
    let admin = Admin::new()?;
    // an empty address is bad usage, not libpq's defaults
    let empty = admin.command(&["import-django"]).env("DJANGO_DATABASE_URL", "").output()?;
    assert_eq!(empty.status.code(), Some(2), "{}", text(&empty.stderr));
    assert!(text(&empty.stderr).contains("the Django database's URL is empty"), "{}", text(&empty.stderr));
    let django = django_database()?;
    // (kind, name, outcome) of each line of the JSON report, as JSON text
    type Outcome = (String, String, String);
    let outcomes = |out: &Output| -> Result<Vec<Outcome>, Box<dyn std::error::Error>> {
        let report: serde_json::Value = serde_json::from_slice(&out.stdout)?;
        Ok(report
            .as_array()
            .ok_or("no report")?
            .iter()
            .map(|i| (i["kind"].to_string(), i["name"].to_string(), i["outcome"].to_string()))
            .collect())
    };
    let row =
        |kind: &str, name: &str, outcome: &str| (format!("{kind:?}"), format!("{name:?}"), format!("{outcome:?}"));

    // here already: an `adam` who is someone else (another address), and the same `sam`
    for (name, email) in [("adam", "adam@elsewhere.example"), ("sam", "SAM@acme.example")] {
        ok(&admin.run_with_stdin(
            &["user", "create", "--username", name, "--email", email, "--password-stdin"],
            "Sturdy-passphrase-42\n",
        )?);
    }

    // a tenant to join that is neither here nor in Django: refused before anything is made
    let unknown = admin.run(&["import-django", django.url(), "--members-of", "nope", "--json"])?;
    assert!(failed(&unknown, 1).contains("no tenant with the slug 'nope'"));
    let tenants = admin.json(&["tenant", "list", "--json"])?;
    assert_eq!(tenants.as_array().map(Vec::len), Some(0), "{tenants}");

    let first = admin.run(&["import-django", django.url(), "--members-of", "acme", "--json"])?;
    // refused: a slug this product does not take, a name here that is someone else's, no
    // e-mail address, a hash of a kind not verified here; exit 1
    let refused = failed(&first, 1);
    assert!(refused.contains("4 item(s) refused"), "{refused} {}", text(&first.stdout));
    assert_eq!(
        outcomes(&first)?,
        vec![
            row("tenant", "acme", "imported"),
            row("tenant", "sleepy", "imported"),
            row("tenant", "9lives", "refused"),
            row("account", "olga", "imported"),
            row("account", "adam", "refused"),
            row("account", "sam", "skipped"),
            row("account", "ulla", "skipped"),
            row("account", "nomail", "refused"),
            row("account", "bert", "refused"),
            row("account", "sso", "skipped"),
        ]
    );
    let acme = admin.json(&["tenant", "show", "acme", "--json"])?;
    assert_eq!(
        (&acme["name"], &acme["plan"], &acme["is_active"], &acme["allow_signup"]),
        (
            &serde_json::json!("Acme Corp"),
            &serde_json::json!("premium"),
            &serde_json::json!(true),
            &serde_json::json!(false)
        )
    );
    let domains: Vec<(String, bool)> = acme["domains"]
        .as_array()
        .ok_or("no domains")?
        .iter()
        .map(|d| (d["domain"].as_str().unwrap_or_default().to_owned(), d["is_primary"].as_bool().unwrap_or_default()))
        .collect();
    assert_eq!(domains, vec![("acme.example.com".to_owned(), true), ("acme.localhost".to_owned(), false)]);
    assert_eq!(admin.json(&["tenant", "show", "sleepy", "--json"])?["is_active"], serde_json::json!(false));
    let members: Vec<(String, String)> = admin
        .json(&["member", "list", "acme", "--json"])?
        .as_array()
        .ok_or("no members")?
        .iter()
        .map(|m| {
            (m["username"].as_str().unwrap_or_default().to_owned(), m["role"].as_str().unwrap_or_default().to_owned())
        })
        .collect();
    // the other `adam` got no role; the same `sam` got Django's (staff: member);
    // `OWNER` is an owner, whatever its case
    assert_eq!(members, vec![("olga".into(), "owner".into()), ("sam".into(), "member".into())]);
    // the Django hash is kept as it is, for the first login to verify and replace
    let olga_hash = {
        use diesel::{Connection as _, RunQueryDsl as _};
        #[derive(diesel::QueryableByName)]
        struct Hash {
            #[diesel(sql_type = diesel::sql_types::Text)]
            password_hash: String,
        }
        let mut conn = diesel::PgConnection::establish(admin.db.url())?;
        diesel::sql_query("SELECT password_hash FROM public.users WHERE username = 'olga'")
            .get_result::<Hash>(&mut conn)?
    };
    assert_eq!(olga_hash.password_hash, "pbkdf2_sha256$20000$olgasalt$RoTXHHd1PqQrFDj6uurkNBC/bvvLAVIpaOBvbCqPN9g=");

    // again, the URL from the environment this time: what is here is left alone, nothing is
    // made twice
    let again =
        admin.command(&["import-django", "--members-of", "acme"]).env("DJANGO_DATABASE_URL", django.url()).output()?;
    let text = failed(&again, 1);
    assert!(text.contains("4 item(s) refused"), "{text}");
    let lines = String::from_utf8_lossy(&again.stdout).into_owned();
    assert!(lines.contains("skipped: tenant 'acme': a tenant with this slug is here already"), "{lines}");
    assert!(lines.contains("refused: account 'nomail': no e-mail address"), "{lines}");
    assert!(
        lines.contains("refused: account 'adam': an account here has this user name but another e-mail"),
        "{lines}"
    );
    assert!(lines.contains("refused: account 'bert': its password hash is Django's \"bcrypt_sha256\""), "{lines}");
    assert!(lines.contains("django: 0 of 3 tenant(s) and 0 of 7 account(s) imported"), "{lines}");
    assert_eq!(admin.json(&["member", "list", "acme", "--json"])?.as_array().map(Vec::len), Some(2));
    let tenants = admin.json(&["tenant", "list", "--json"])?;
    assert_eq!(tenants.as_array().map(Vec::len), Some(2), "{tenants}");

    // a database that is not Django's is refused with a reason
    let not_django = failed(&admin.run(&["import-django", admin.db.url()])?, 1);
    assert!(not_django.contains("not a TaskForce Django database"), "{not_django}");
    Ok(())
}

/// Four operators making four domains primary at once: each add succeeds
/// (one at a time, the tenant row locked), and one primary is left.
#[test]
fn simultaneous_primary_domains_all_land_and_leave_one_primary() -> TestResult {
    let admin = Admin::new()?;
    ok(&admin.run(&["tenant", "create", "--slug", "acme", "--name", "Acme"])?);
    let children = ["a", "b", "c", "d"]
        .iter()
        .map(|name| {
            admin
                .command(&["domain", "add", "acme", &format!("{name}.example.com"), "--primary"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
        })
        .collect::<Result<Vec<_>, _>>()?;
    for child in children {
        ok(&child.wait_with_output()?);
    }
    let domains = admin.json(&["domain", "list", "acme", "--json"])?;
    let listed = domains.as_array().ok_or("domains")?;
    assert_eq!(listed.len(), 5, "{domains}");
    assert_eq!(listed.iter().filter(|d| d["is_primary"] == true).count(), 1, "{domains}");
    Ok(())
}

/// Runs `args` with a standard output whose reading end is already closed.
fn with_stdout_closed(admin: &Admin, args: &[&str]) -> Result<Output, Box<dyn std::error::Error>> {
    let mut child = admin.command(args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn()?;
    drop(child.stdout.take());
    Ok(child.wait_with_output()?)
}

/// A closed pipe on standard output is an error in the usual format (exit
/// 1, one line), not a panic; a generated password that could not be shown
/// there is shown on standard error, or the account could never be used.
#[test]
fn an_output_that_cannot_be_written_is_an_error_and_loses_no_password() -> TestResult {
    let admin = Admin::new()?;
    ok(&admin.run(&["tenant", "create", "--slug", "acme", "--name", "Acme"])?);
    for args in [&["tenant", "list"][..], &["tenant", "list", "--json"]] {
        let out = with_stdout_closed(&admin, args)?;
        let stderr = failed(&out, 1);
        assert!(
            stderr.starts_with("error: the command's work was done, but its output could not be written"),
            "{stderr}"
        );
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
    }
    // nor does a standard error that cannot be written make it panic (101)
    let full = std::fs::OpenOptions::new().write(true).open("/dev/full")?;
    let out = admin.command(&["tenant", "show", "nosuch"]).stderr(Stdio::from(full)).output()?;
    assert_eq!(out.status.code(), Some(1), "{:?}", out.status);
    let out = with_stdout_closed(&admin, &["user", "create", "--username", "pipe", "--email", "pipe@example.com"])?;
    let stderr = failed(&out, 1);
    assert!(stderr.contains("generated password (shown once): tf-"), "{stderr}");
    // a standard output that is /dev/null (what a closed one becomes when the
    // process starts): an export to it is refused, a password shown on stderr
    let out = admin.command(&["tenant", "export", "acme", "-"]).stdout(Stdio::null()).output()?;
    let stderr = failed(&out, 1);
    assert!(stderr.contains("standard output is /dev/null (or was closed)"), "{stderr}");
    let out = admin
        .command(&["user", "create", "--username", "void", "--email", "void@example.com"])
        .stdout(Stdio::null())
        .output()?;
    let stderr = ok_stderr(&out);
    assert!(stderr.contains("generated password (shown once): tf-"), "{stderr}");
    Ok(())
}

/// The standard error of a command that succeeded.
fn ok_stderr(out: &Output) -> String {
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn an_unreachable_or_malformed_database_is_one_line_without_its_password() -> TestResult {
    let admin = Admin::new()?;
    let urls = [
        "postgres://taskforce:S3cret-pw@127.0.0.1:9/none",
        "postgres//taskforce:S3cret-pw@127.0.0.1:5432/x",
        // a bare '%': libpq's complaint would quote the password
        "postgres://taskforce:S3cret-pw%zz@127.0.0.1:5432/x",
    ];
    for (command, url) in [["tenant", "list"], ["migrate", "--shared"]].iter().flat_map(|c| urls.map(|u| (c, u))) {
        let out = admin.command(command).env("TASKFORCE__DATABASE__URL", url).output()?;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{command:?} {url}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{url}: one line, not r2d2's log and libpq's lines: {stderr}");
        assert!(stderr.starts_with("error: connecting to PostgreSQL: "), "{url}: {stderr}");
        assert!(!stderr.contains("S3cret-pw") && !stderr.contains('\u{1b}'), "{url}: a password or a colour: {stderr}");
    }
    Ok(())
}

/// An import under the export's own slug names a domain problem in the
/// export's terms, before anything is made: one listed twice, or one another
/// tenant has taken meanwhile (not the database's `domains_pkey`).
#[test]
fn an_import_names_a_domain_listed_twice_or_taken_meanwhile() -> TestResult {
    let admin = Admin::new()?;
    ok(&admin.run(&["tenant", "create", "--slug", "acme", "--name", "Acme", "--domain", "acme.example.com"])?);
    let file = admin.files.path().join("acme.json");
    ok(&admin.run(&["tenant", "export", "acme", file.to_str().ok_or("path")?])?);
    ok(&admin.run(&["tenant", "delete", "acme", "--yes"])?);
    let mut export: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&file)?)?;

    let domains = export["domains"].as_array_mut().ok_or("domains")?;
    let first = domains[0].clone();
    domains.push(first);
    let twice = admin.files.path().join("twice.json");
    std::fs::write(&twice, export.to_string())?;
    let refused = failed(&admin.run(&["tenant", "import", twice.to_str().ok_or("path")?])?, 1);
    assert!(refused.contains("is listed twice"), "{refused}");

    // another slug's platform address would keep that slug from ever being made
    let mut squatting = export.clone();
    squatting["domains"] = serde_json::json!([{"domain": "zzz.localhost", "is_primary": true}]);
    let squat = admin.files.path().join("squat.json");
    std::fs::write(&squat, squatting.to_string())?;
    let refused = failed(&admin.run(&["tenant", "import", squat.to_str().ok_or("path")?])?, 1);
    assert!(refused.contains("'zzz.localhost' is this platform's address for the slug 'zzz'"), "{refused}");
    let refused = failed(&admin.run(&["dev-tenant", "--domain", "zzz.localhost"])?, 1);
    assert!(refused.contains("the platform's address for the slug 'zzz'"), "{refused}");
    ok(&admin.run(&["tenant", "create", "--slug", "zzz", "--name", "Z"])?);

    ok(&admin.run(&["tenant", "create", "--slug", "other", "--name", "Other", "--domain", "acme.example.com"])?);
    let refused = failed(&admin.run(&["tenant", "import", file.to_str().ok_or("path")?])?, 1);
    assert!(refused.contains("'acme.example.com' already belongs to the tenant 'other'"), "{refused}");
    assert_eq!(admin.sql("SELECT count(*) FROM public.tenants WHERE slug = 'acme'")?, "0");
    Ok(())
}

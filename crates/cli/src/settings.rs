//! Typed, layered configuration: `config/default.toml` →
//! `config/<TASKFORCE_ENV>.toml` → `.env` → `TASKFORCE__SECTION__KEY`
//! environment variables (plus `DATABASE_URL` and `REDIS_URL`).

use std::{collections::HashSet, net::IpAddr, path::PathBuf, str::FromStr};

use config::{Config, Environment as EnvSource, File, FileFormat};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

/// The JWT secret shipped in `config/default.toml`; refused in production.
pub const DEFAULT_JWT_SECRET: &str = "insecure-development-secret-change-me";
/// Shortest JWT secret accepted in production, in bytes.
pub const MIN_JWT_SECRET_BYTES: usize = 32;

/// Copies of the files in `config/`, used when that folder is not there
/// (a binary run outside the repository).
const EMBEDDED: [(&str, &str); 4] = [
    ("default", include_str!("../../../config/default.toml")),
    ("development", include_str!("../../../config/development.toml")),
    ("test", include_str!("../../../config/test.toml")),
    ("production", include_str!("../../../config/production.toml")),
];

/// Where the service runs; chooses `config/<environment>.toml`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Environment {
    /// A developer's machine (default).
    #[default]
    Development,
    /// The test suite.
    Test,
    /// Production: strict checks on secrets.
    Production,
}

impl Environment {
    /// The name used in `TASKFORCE_ENV` and file names.
    pub fn as_str(self) -> &'static str {
        match self {
            Environment::Development => "development",
            Environment::Test => "test",
            Environment::Production => "production",
        }
    }
}

impl FromStr for Environment {
    type Err = SettingsError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "development" | "dev" => Ok(Environment::Development),
            "test" => Ok(Environment::Test),
            "production" | "prod" => Ok(Environment::Production),
            other => Err(SettingsError::Invalid(format!(
                "TASKFORCE_ENV={other:?} is not one of development, test, production"
            ))),
        }
    }
}

/// Why configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// A file or variable could not be read or has the wrong type.
    #[error("configuration error: {0}")]
    Load(#[from] config::ConfigError),
    /// A value is present but not acceptable.
    #[error("configuration error: {0}")]
    Invalid(String),
}

/// All settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Set from `TASKFORCE_ENV`, not from files.
    #[serde(skip)]
    pub environment: Environment,
    /// The HTTP server.
    pub server: ServerSettings,
    /// PostgreSQL.
    pub database: DatabaseSettings,
    /// Redis.
    pub redis: RedisSettings,
    /// The request-path cache.
    pub cache: CacheSettings,
    /// Tokens.
    pub auth: AuthSettings,
    /// Tenancy.
    pub tenancy: TenancySettings,
    /// Outgoing mail.
    pub mail: MailSettings,
    /// Attachments' bytes.
    pub storage: StorageSettings,
    /// Logging.
    pub log: LogSettings,
}

/// `[server]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    /// Address to bind.
    pub host: String,
    /// Port to bind (0 picks a free one).
    pub port: u16,
    /// Worker threads; 0 = one per core.
    pub workers: usize,
    /// Grace for in-flight requests after SIGTERM.
    pub shutdown_timeout_secs: u64,
    /// Proxies whose forwarding headers are believed.
    pub trusted_proxies: Vec<IpAddr>,
    /// CORS origins; `*` = any.
    pub cors_allowed_origins: Vec<String>,
    /// Seconds between heartbeats on idle notification streams.
    pub sse_heartbeat_secs: u64,
    /// Seconds a JSON request body may take to arrive after its headers.
    pub body_timeout_secs: u64,
    /// Seconds an upload's body may bring no byte before it is given up.
    pub upload_idle_secs: u64,
}

/// `[database]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    /// `postgres://` URL; empty = the embedded cluster.
    pub url: SecretString,
    /// Most pooled connections.
    pub pool_size: u32,
    /// Tenant scopes run on this many pools of `pool_size / tenant_shards`
    /// connections, a tenant on its own one unless that is busy (1: one pool
    /// for all; 0: one shard per connection, `pool_size` of them).
    pub tenant_shards: u32,
    /// How long a tenant's work waits for its own shard before it takes an
    /// idle connection of another.
    pub shard_spill_ms: u64,
    /// Tenant schemas kept made and migrated ahead of time, so creating a
    /// tenant renames one instead of building it (0: built on demand).
    pub spare_schemas: usize,
    /// Wait for a free connection before answering 503.
    pub checkout_timeout_ms: u64,
    /// `statement_timeout` of every session.
    pub statement_timeout_ms: u64,
    /// diesel's prepared-statement cache (off behind old PgBouncer).
    pub statement_cache: bool,
    /// Whether `serve` migrates at start.
    pub auto_migrate: bool,
    /// Data folder of the embedded cluster.
    pub embedded_dir: PathBuf,
    /// Preferred port of the embedded cluster.
    pub embedded_port: u16,
}

/// A URL setting's value, unless it is empty (which means "none").
fn configured(url: &SecretString) -> Option<&str> {
    Some(url.expose_secret().trim()).filter(|url| !url.is_empty())
}

impl DatabaseSettings {
    /// The configured URL, if any.
    pub fn url(&self) -> Option<&str> {
        configured(&self.url)
    }

    /// How many pools tenant scopes run on: `tenant_shards`, where 0 means
    /// one per connection.
    pub fn shard_count(&self) -> u32 {
        if self.tenant_shards == 0 { self.pool_size } else { self.tenant_shards }
    }
}

/// `[cache]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CacheSettings {
    /// Whether the request path caches at all.
    pub enabled: bool,
    /// How long a host → tenant entry lives.
    pub tenant_ttl_secs: u64,
    /// How long membership and session entries live.
    pub access_ttl_secs: u64,
    /// Without Redis: whether the server listens for the database's notices
    /// of changes to hosts, memberships, accounts and sessions and drops
    /// the entries they name (needs sessions of its own: turn it off behind
    /// a pooler in transaction mode).
    pub listen: bool,
    /// How long every entry lives while the server listens.
    pub listening_ttl_secs: u64,
}

/// `[redis]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedisSettings {
    /// `redis://` URL; empty = in-process cache.
    pub url: SecretString,
    /// Each call gives up after this many milliseconds.
    pub timeout_ms: u64,
    /// Most pooled connections.
    pub pool_size: usize,
}

impl RedisSettings {
    /// The configured URL, if any.
    pub fn url(&self) -> Option<&str> {
        configured(&self.url)
    }
}

/// `[auth]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSettings {
    /// HMAC key for tokens.
    pub jwt_secret: SecretString,
    /// `iss` of issued tokens.
    pub issuer: String,
    /// Access token lifetime.
    pub access_ttl_secs: u64,
    /// Refresh token lifetime.
    pub refresh_ttl_secs: u64,
    /// Invitation lifetime.
    pub invitation_ttl_secs: u64,
    /// Failed logins allowed per account (all tenants) within the window.
    pub login_max_failures: u32,
    /// Failed logins allowed per client address within the window.
    pub login_max_failures_per_client: u32,
    /// The throttling window.
    pub login_failure_window_secs: u64,
    /// Tenant signups allowed per client address within an hour (0: no limit).
    pub signups_per_client_per_hour: u32,
}

/// `[mail]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailSettings {
    /// `log`, `file` or `smtp`.
    pub transport: String,
    /// The sender.
    pub from: String,
    /// Folder of the file transport.
    pub file_dir: PathBuf,
    /// URL of the SMTP server.
    pub smtp_url: SecretString,
}

/// `[storage]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageSettings {
    /// Folder of the local file store (one subfolder per tenant).
    pub root: PathBuf,
    /// `s3://bucket/prefix?…` for an S3-compatible store; empty = `root`.
    pub url: SecretString,
    /// Largest attachment accepted, in bytes.
    pub max_upload_bytes: u64,
}

impl StorageSettings {
    /// The object store URL, if any.
    pub fn url(&self) -> Option<&str> {
        configured(&self.url)
    }
}

/// `[tenancy]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenancySettings {
    /// Every tenant gets `<slug>.<platform_domain>`.
    pub platform_domain: String,
    /// Whether `POST /api/signup/` is open.
    pub signup_enabled: bool,
    /// Whether `serve` makes sure the development tenant exists.
    pub ensure_dev_tenant: bool,
    /// The development tenant.
    pub dev_tenant: DevTenantSettings,
}

/// `[tenancy.dev_tenant]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DevTenantSettings {
    /// Its slug.
    pub slug: String,
    /// Its name.
    pub name: String,
    /// Domains besides `<slug>.<platform_domain>`.
    pub domains: Vec<String>,
}

/// `[log]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    /// Default filter (`RUST_LOG` wins).
    pub level: String,
    /// `pretty` or `json`.
    pub format: String,
}

/// The conventional variables that set a URL when its own
/// `TASKFORCE__…` variable does not.
const URL_ALIASES: [(&str, &str); 2] = [("DATABASE_URL", "database.url"), ("REDIS_URL", "redis.url")];

/// The keys whose variable holds a comma-separated list.
const LIST_KEYS: [&str; 3] = ["server.trusted_proxies", "server.cors_allowed_origins", "tenancy.dev_tenant.domains"];

/// The variable that sets `key`: `server.trusted_proxies` →
/// `TASKFORCE__SERVER__TRUSTED_PROXIES`.
fn variable_of(key: &str) -> String {
    format!("{PREFIX}{}", key.to_ascii_uppercase().replace('.', "__"))
}

/// What every setting's variable begins with.
const PREFIX: &str = "TASKFORCE__";

/// Whether a variable sets a setting: the `config` crate matches the
/// `TASKFORCE__` prefix in any case, so `taskforce__server__port` does too.
fn is_setting(name: &str) -> bool {
    name.get(..PREFIX.len()).is_some_and(|prefix| prefix.eq_ignore_ascii_case(PREFIX))
}

/// Refuses a value in the TOML file `path` whose type is not its key's (as
/// the compiled-in `default.toml` writes it): the `config` crate would take
/// `workers = 2.7` as 3 and `body_timeout_secs = true` as 1, in silence.
/// Keys that name no setting are left to the unknown-field check.
fn check_value_types(path: &std::path::Path) -> Result<(), SettingsError> {
    let read = |source: File<config::FileSourceFile, FileFormat>| {
        Config::builder().add_source(source).build()?.try_deserialize::<config::Map<String, config::Value>>()
    };
    let given = read(File::from(path))?;
    let defaults = EMBEDDED.iter().find(|(name, _)| *name == "default").map_or("", |(_, text)| *text);
    let expected = Config::builder()
        .add_source(File::from_str(defaults, FileFormat::Toml))
        .build()?
        .try_deserialize::<config::Map<String, config::Value>>()?;
    same_types(&given, &expected, "")
        .map_err(|mismatch| SettingsError::Invalid(format!("{}: {mismatch}", path.display())))
}

/// The first key of `given` whose value is of another type than in
/// `expected` (a whole number, a number with a fraction, a boolean, text,
/// a list or a table), as `key = value: expected …`.
fn same_types(
    given: &config::Map<String, config::Value>,
    expected: &config::Map<String, config::Value>,
    prefix: &str,
) -> Result<(), String> {
    use config::ValueKind;
    let kind = |value: &ValueKind| match value {
        ValueKind::Nil => "nothing",
        ValueKind::Boolean(_) => "true or false",
        ValueKind::I64(_) | ValueKind::I128(_) | ValueKind::U64(_) | ValueKind::U128(_) => "a whole number",
        ValueKind::Float(_) => "a number",
        ValueKind::String(_) => "text in quotes",
        ValueKind::Table(_) => "a table",
        ValueKind::Array(_) => "a list",
    };
    for (key, value) in given {
        let Some(wanted) = expected.get(key) else { continue };
        let name = format!("{prefix}{key}");
        match (&value.kind, &wanted.kind) {
            (ValueKind::Table(inner), ValueKind::Table(wanted)) => same_types(inner, wanted, &format!("{name}."))?,
            (found, wanted) if kind(found) != kind(wanted) => {
                return Err(format!("{name} = {value}: expected {}", kind(wanted)));
            }
            _ => {}
        }
    }
    Ok(())
}

/// The variables with every setting's name in upper case, as the list and
/// URL rules look them up; a setting given under two spellings is refused
/// rather than one of them winning at random.
fn canonical(variables: config::Map<String, String>) -> Result<config::Map<String, String>, SettingsError> {
    let mut canonical = config::Map::new();
    let mut spelled = config::Map::<String, String>::new();
    for (name, value) in variables {
        let upper = if is_setting(&name) { name.to_ascii_uppercase() } else { name.clone() };
        if let Some(first) = spelled.insert(upper.clone(), name.clone()) {
            let (a, b) = if first < name { (first, name) } else { (name, first) };
            return Err(SettingsError::Invalid(format!("{upper} is set twice, as {a} and as {b}; keep one")));
        }
        canonical.insert(upper, value);
    }
    Ok(canonical)
}

/// Reads the `.env` file of the working directory or of the nearest parent
/// that has one: its variables fill in those the environment does not set.
/// Returns the names it set. A line it cannot read stops the program with its
/// place in the file (not its text, which may hold a secret); a missing file
/// is no error.
fn read_dotenv() -> Result<HashSet<String>, SettingsError> {
    let Some(path) = std::env::current_dir()
        .ok()
        .and_then(|dir| dir.ancestors().map(|d| d.join(".env")).find(|candidate| candidate.is_file()))
    else {
        return Ok(HashSet::new());
    };
    let before: HashSet<std::ffi::OsString> = std::env::vars_os().map(|(name, _)| name).collect();
    dotenvy::from_path(&path).map_err(|error| {
        let place = match &error {
            // dotenvy names the line, or only its value, by its text: the
            // line is the first that holds it and fails read on its own
            dotenvy::Error::LineParse(text, _) if !text.trim().is_empty() => std::fs::read_to_string(&path)
                .ok()
                .and_then(|whole| {
                    let fails = |line: &str| dotenvy::from_read_iter(line.as_bytes()).any(|item| item.is_err());
                    whole.lines().position(|line| line.contains(text.trim()) && fails(line))
                })
                .map_or_else(String::new, |index| format!(":{}", index + 1)),
            _ => String::new(),
        };
        let reason = match error {
            dotenvy::Error::LineParse(..) => "not NAME=value (quote a value with spaces or #: NAME=\"a b\")".to_owned(),
            other => other.to_string(),
        };
        SettingsError::Invalid(format!("{}{place}: {reason}", path.display()))
    })?;
    Ok(std::env::vars_os()
        .filter(|(name, _)| !before.contains(name))
        .filter_map(|(name, _)| name.into_string().ok())
        .collect())
}

/// Drops what a `.env` file set where the environment sets the same
/// setting itself, under another spelling (`taskforce__server__port`) or
/// as the other name of a URL (`DATABASE_URL` exported in the shell against
/// `TASKFORCE__DATABASE__URL` in the file): the environment wins, as its
/// layer comes last.
fn yield_to_the_environment(
    mut variables: config::Map<String, String>,
    from_dotenv: &HashSet<String>,
) -> config::Map<String, String> {
    if from_dotenv.is_empty() {
        return variables;
    }
    let setting = |name: &str| {
        let upper = if is_setting(name) { name.to_ascii_uppercase() } else { name.to_owned() };
        // a URL's two names are one setting
        URL_ALIASES.iter().find(|(alias, _)| *alias == upper).map_or(upper.clone(), |(_, key)| variable_of(key))
    };
    let from_the_environment: HashSet<String> =
        variables.keys().filter(|name| !from_dotenv.contains(*name)).map(|name| setting(name)).collect();
    variables.retain(|name, _| !from_dotenv.contains(name) || !from_the_environment.contains(&setting(name)));
    variables
}

impl Settings {
    /// What only a server needs besides [`check`](Self::check)'s rules: in
    /// production, a JWT secret of its own of at least 32 bytes, and a mailer
    /// that sends (the log transport sends nothing, so invitations would be
    /// answered `201` and never arrive). `migrate` and `tenant-admin` sign
    /// no token and send no mail, so an operator's shell or a migration job
    /// need not hold the signing key.
    pub fn check_serving(&self) -> Result<(), SettingsError> {
        if self.environment == Environment::Production {
            let secret = self.auth.jwt_secret.expose_secret();
            if secret.is_empty() {
                return Err(SettingsError::Invalid(
                    "TASKFORCE__AUTH__JWT_SECRET is not set; production needs a random secret of at least 32 bytes"
                        .into(),
                ));
            }
            if secret == DEFAULT_JWT_SECRET {
                return Err(SettingsError::Invalid(
                    "the JWT secret is the development default; set TASKFORCE__AUTH__JWT_SECRET to a random value of at least 32 bytes".into(),
                ));
            }
            if secret.len() < MIN_JWT_SECRET_BYTES {
                return Err(SettingsError::Invalid(format!(
                    "the JWT secret is {} bytes long; production needs at least {MIN_JWT_SECRET_BYTES}",
                    secret.len()
                )));
            }
        }
        if self.environment == Environment::Production && self.mail.transport == "log" {
            return Err(SettingsError::Invalid(
                "mail.transport = \"log\" sends no mail; production needs TASKFORCE__MAIL__TRANSPORT=smtp (with TASKFORCE__MAIL__SMTP_URL) or file".into(),
            ));
        }
        Ok(())
    }

    /// Loads every layer for the environment named by `TASKFORCE_ENV`.
    pub fn load() -> Result<Self, SettingsError> {
        // a .env file fills in variables the environment does not set
        let from_dotenv = read_dotenv()?;
        let environment = match std::env::var("TASKFORCE_ENV") {
            Ok(name) => name.parse()?,
            Err(std::env::VarError::NotPresent) => Environment::Development,
            Err(std::env::VarError::NotUnicode(_)) => {
                return Err(SettingsError::Invalid("TASKFORCE_ENV is not valid UTF-8".into()));
            }
        };
        let config_dir = match std::env::var("TASKFORCE_CONFIG_DIR") {
            // named, it must be there: a folder that cannot be read would
            // leave every setting at its compiled-in default without a word
            Ok(dir) => match std::fs::read_dir(&dir) {
                Ok(_) => dir,
                Err(error) => {
                    return Err(SettingsError::Invalid(format!(
                        "TASKFORCE_CONFIG_DIR={dir} cannot be read as a folder ({error}); it names the folder of \
                         default.toml and <environment>.toml"
                    )));
                }
            },
            Err(std::env::VarError::NotPresent) => "config".to_owned(),
            Err(std::env::VarError::NotUnicode(_)) => {
                return Err(SettingsError::Invalid("TASKFORCE_CONFIG_DIR is not valid UTF-8".into()));
            }
        };
        Self::load_from_environment(environment, &config_dir, &from_dotenv)
    }

    /// Loads the layers of one environment from a configuration folder
    /// (falling back to the copies compiled in when it does not exist).
    pub fn load_for(environment: Environment, config_dir: &str) -> Result<Self, SettingsError> {
        Self::load_from_environment(environment, config_dir, &HashSet::new())
    }

    /// [`load_for`](Self::load_for) with the names of the variables a `.env`
    /// file set, which yield to the environment's own.
    fn load_from_environment(
        environment: Environment,
        config_dir: &str,
        from_dotenv: &HashSet<String>,
    ) -> Result<Self, SettingsError> {
        let mut variables = config::Map::new();
        for (name, value) in std::env::vars_os() {
            // a name that is not text names no setting
            let Ok(name) = name.into_string() else { continue };
            match value.into_string() {
                Ok(value) => {
                    variables.insert(name, value);
                }
                Err(_) if is_setting(&name) || URL_ALIASES.iter().any(|(alias, _)| name == *alias) => {
                    return Err(SettingsError::Invalid(format!("{name} is not valid UTF-8")));
                }
                Err(_) => {}
            }
        }
        Self::load_with(environment, config_dir, yield_to_the_environment(variables, from_dotenv))
    }

    /// Loads the layers of one environment with `variables` as the
    /// environment. A variable's value stays text until its key needs a
    /// number or a boolean: a secret of digits (or one that reads as a
    /// float, such as `12e4…`) is kept as written, not turned into a number.
    fn load_with(
        environment: Environment,
        config_dir: &str,
        variables: config::Map<String, String>,
    ) -> Result<Self, SettingsError> {
        let variables = canonical(variables)?;
        let mut builder = Config::builder();
        for name in ["default", environment.as_str()] {
            let path = PathBuf::from(config_dir).join(format!("{name}.toml"));
            // there but not readable (a folder that may be listed but not
            // entered, a file of mode 000): named, not left for the defaults
            let there = match std::fs::File::open(&path) {
                Ok(_) => path.is_file(),
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => false,
                Err(error) => return Err(SettingsError::Invalid(format!("{}: {error}", path.display()))),
            };
            builder = if there {
                check_value_types(&path)?;
                builder.add_source(File::from(path))
            } else {
                let embedded = EMBEDDED.iter().find(|(n, _)| *n == name).map(|(_, text)| *text).unwrap_or("");
                builder.add_source(File::from_str(embedded, FileFormat::Toml))
            };
        }
        builder = builder.add_source(
            EnvSource::with_prefix("TASKFORCE").prefix_separator("__").separator("__").source(Some(variables.clone())),
        );
        for key in LIST_KEYS {
            if let Some(value) = variables.get(&variable_of(key)) {
                let items: Vec<String> =
                    value.split(',').map(str::trim).filter(|item| !item.is_empty()).map(str::to_owned).collect();
                builder = builder.set_override(key, items)?;
            }
        }
        for (variable, key) in URL_ALIASES {
            if !variables.contains_key(&variable_of(key)) {
                builder = builder.set_override_option(key, variables.get(variable).cloned())?;
            }
        }
        let mut settings: Settings = builder.build()?.try_deserialize().map_err(|error| {
            // a typo would otherwise be a setting silently left at its default
            let text = error.to_string();
            if text.contains("unknown field") {
                SettingsError::Invalid(format!(
                    "{text}: a key in config/*.toml or a TASKFORCE__<SECTION>__<KEY> variable names no setting \
                     (docs/operations.md lists them)"
                ))
            } else {
                error.into()
            }
        })?;
        settings.environment = environment;
        settings.check()?;
        Ok(settings)
    }

    /// Refuses settings that would be unsafe or cannot work.
    pub fn check(&self) -> Result<(), SettingsError> {
        if self.environment == Environment::Production {
            // the embedded cluster is the developer's default; a production
            // server on it would keep its tenants in the working directory
            if self.database.url().is_none() {
                return Err(SettingsError::Invalid(
                    "no database URL; production needs TASKFORCE__DATABASE__URL (or DATABASE_URL), the embedded cluster is for development".into(),
                ));
            }
        }
        if !["log", "file", "smtp"].contains(&self.mail.transport.as_str()) {
            return Err(SettingsError::Invalid(format!(
                "mail.transport = {:?}; expected log, file or smtp",
                self.mail.transport
            )));
        }
        // another database's URL: named by its scheme (never its password),
        // not taken for a malformed libpq key=value string; only a plain
        // scheme before `://` counts (a key=value string may hold `://` in a
        // value), and only the two libpq reads as URLs pass
        if let Some(url) = self.database.url()
            && let Some((scheme, _)) = url.split_once("://")
            && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && scheme.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
            && !taskforce_persistence::is_uri(url)
        {
            return Err(SettingsError::Invalid(format!(
                "database.url starts with {scheme}://; TaskForce takes postgres:// or postgresql:// URLs (in lower \
                 case), or libpq's key=value form"
            )));
        }
        if !["pretty", "json"].contains(&self.log.format.as_str()) {
            return Err(SettingsError::Invalid(format!("log.format = {:?}; expected pretty or json", self.log.format)));
        }
        if self.database.pool_size == 0 {
            return Err(SettingsError::Invalid("database.pool_size must be at least 1".into()));
        }
        if self.database.tenant_shards > self.database.pool_size {
            return Err(SettingsError::Invalid(format!(
                "database.tenant_shards = {}; expected 0 (one per connection) to pool_size ({})",
                self.database.tenant_shards, self.database.pool_size
            )));
        }
        if self.storage.max_upload_bytes == 0 {
            return Err(SettingsError::Invalid("storage.max_upload_bytes must be at least 1".into()));
        }
        if self.redis.pool_size == 0 {
            return Err(SettingsError::Invalid("redis.pool_size must be at least 1".into()));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn development() -> Settings {
        with_variables(&[]).expect("the development settings load")
    }

    const CONFIG_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../config");

    /// The settings of `environment` with exactly these variables.
    fn loaded(environment: Environment, pairs: &[(&str, &str)]) -> Result<Settings, SettingsError> {
        let variables = pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        Settings::load_with(environment, CONFIG_DIR, variables)
    }

    fn with_variables(pairs: &[(&str, &str)]) -> Result<Settings, SettingsError> {
        loaded(Environment::Development, pairs)
    }

    #[test]
    fn variables_keep_text_as_written_and_give_numbers_booleans_and_lists_where_keys_need_them()
    -> Result<(), SettingsError> {
        let settings = with_variables(&[
            ("TASKFORCE__AUTH__JWT_SECRET", "12345678901234567890123456789012345"),
            ("TASKFORCE__AUTH__ISSUER", "1.0"),
            ("TASKFORCE__TENANCY__DEV_TENANT__NAME", "007"),
            ("TASKFORCE__DATABASE__POOL_SIZE", "7"),
            ("TASKFORCE__TENANCY__ENSURE_DEV_TENANT", "false"),
            ("TASKFORCE__SERVER__TRUSTED_PROXIES", "10.0.0.1, 10.0.0.2"),
            ("TASKFORCE__SERVER__CORS_ALLOWED_ORIGINS", "https://app.example.com"),
            ("DATABASE_URL", "postgres://db.example.com/taskforce"),
        ])?;
        assert_eq!(settings.auth.jwt_secret.expose_secret(), "12345678901234567890123456789012345");
        assert_eq!(settings.auth.issuer, "1.0");
        assert_eq!(settings.tenancy.dev_tenant.name, "007");
        assert_eq!(settings.database.pool_size, 7);
        assert!(!settings.tenancy.ensure_dev_tenant);
        let proxies: Vec<String> = settings.server.trusted_proxies.iter().map(ToString::to_string).collect();
        assert_eq!(proxies, ["10.0.0.1", "10.0.0.2"]);
        assert_eq!(settings.server.cors_allowed_origins, ["https://app.example.com"]);
        assert_eq!(settings.database.url.expose_secret(), "postgres://db.example.com/taskforce");

        let specific = with_variables(&[
            ("DATABASE_URL", "postgres://generic/db"),
            ("TASKFORCE__DATABASE__URL", "postgres://specific/db"),
            ("TASKFORCE__SERVER__CORS_ALLOWED_ORIGINS", ""),
        ])?;
        assert_eq!(specific.database.url.expose_secret(), "postgres://specific/db");
        assert!(specific.server.cors_allowed_origins.is_empty());

        // the prefix matches in any case (as the config crate reads it), and
        // lists and URLs follow whatever the spelling
        let lower = with_variables(&[
            ("taskforce__server__trusted_proxies", "10.0.0.3,10.0.0.4"),
            ("TaskForce__Database__Url", "postgres://mixed/db"),
            ("DATABASE_URL", "postgres://generic/db"),
        ])?;
        let proxies: Vec<String> = lower.server.trusted_proxies.iter().map(ToString::to_string).collect();
        assert_eq!(proxies, ["10.0.0.3", "10.0.0.4"]);
        assert_eq!(lower.database.url.expose_secret(), "postgres://mixed/db");
        let twice = with_variables(&[("TASKFORCE__SERVER__PORT", "8001"), ("taskforce__server__port", "8002")])
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            twice.as_deref(),
            Some(
                "configuration error: TASKFORCE__SERVER__PORT is set twice, as TASKFORCE__SERVER__PORT and as \
                 taskforce__server__port; keep one"
            ),
        );

        let error = with_variables(&[("TASKFORCE__DATABASE__POOL_SIZE", "seven")]).err().map(|e| e.to_string());
        assert!(error.as_deref().is_some_and(|e| e.contains("pool_size")), "{error:?}");
        Ok(())
    }

    #[test]
    fn production_refuses_a_mailer_that_sends_nothing() -> Result<(), SettingsError> {
        let production = |transport: &str| {
            loaded(
                Environment::Production,
                &[
                    ("TASKFORCE__AUTH__JWT_SECRET", "a-production-secret-of-more-than-32-bytes"),
                    ("TASKFORCE__DATABASE__URL", "postgres://db.example.com/taskforce"),
                    ("TASKFORCE__MAIL__TRANSPORT", transport),
                ],
            )
        };
        // the settings load (migrate and tenant-admin send no mail), but a server refuses them
        let error = production("log")?.check_serving().err().map(|e| e.to_string());
        assert!(error.as_deref().is_some_and(|e| e.contains("TASKFORCE__MAIL__TRANSPORT=smtp")), "{error:?}");
        for transport in ["file", "smtp"] {
            let settings = production(transport)?;
            assert_eq!(settings.mail.transport, transport);
            assert!(settings.check_serving().is_ok(), "{transport}");
        }
        // development keeps the log transport as its default, and serves with it
        let dev = with_variables(&[])?;
        assert_eq!(dev.mail.transport, "log");
        assert!(dev.check_serving().is_ok());
        Ok(())
    }

    #[test]
    fn what_a_dotenv_file_set_yields_to_the_environment_under_any_of_its_names() -> Result<(), SettingsError> {
        let variables = |pairs: &[(&str, &str)]| -> config::Map<String, String> {
            pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
        };
        let from_dotenv: HashSet<String> =
            ["TASKFORCE__DATABASE__URL", "taskforce__server__port", "TASKFORCE__AUTH__ISSUER", "REDIS_URL"]
                .map(str::to_owned)
                .into();
        let kept = yield_to_the_environment(
            variables(&[
                // the file's canonical URL against the shell's DATABASE_URL
                ("TASKFORCE__DATABASE__URL", "postgres://from-the-file/db"),
                ("DATABASE_URL", "postgres://from-the-shell/db"),
                // another spelling of the same setting
                ("taskforce__server__port", "8100"),
                ("TASKFORCE__SERVER__PORT", "8200"),
                // set by the file alone: kept
                ("TASKFORCE__AUTH__ISSUER", "from-the-file"),
                // the file's alias against the shell's canonical name
                ("REDIS_URL", "redis://from-the-file"),
                ("TASKFORCE__REDIS__URL", "redis://from-the-shell"),
            ]),
            &from_dotenv,
        );
        let settings = Settings::load_with(Environment::Development, CONFIG_DIR, kept)?;
        assert_eq!(settings.database.url.expose_secret(), "postgres://from-the-shell/db");
        assert_eq!(settings.server.port, 8200);
        assert_eq!(settings.auth.issuer, "from-the-file");
        assert_eq!(settings.redis.url.expose_secret(), "redis://from-the-shell");
        Ok(())
    }

    /// A value of another type than its key's in a TOML file is refused by
    /// name, not converted (`2.7` taken as 3, `true` as 1).
    #[test]
    fn a_file_value_of_the_wrong_type_is_refused_by_name() -> Result<(), Box<dyn std::error::Error>> {
        let folder = tempfile::tempdir()?;
        let cases = [
            ("[server]\nworkers = 2.7\n", "server.workers = 2.7: expected a whole number"),
            ("[server]\nbody_timeout_secs = true\n", "server.body_timeout_secs = true: expected a whole number"),
            ("[cache]\nenabled = 1\n", "cache.enabled = 1: expected true or false"),
            ("[database]\nurl = 5\n", "database.url = 5: expected text in quotes"),
            (
                "[tenancy.dev_tenant]\ndomains = \"localhost\"\n",
                "tenancy.dev_tenant.domains = localhost: expected a list",
            ),
        ];
        for (text, reason) in cases {
            std::fs::write(folder.path().join("development.toml"), text)?;
            let dir = folder.path().to_str().ok_or("path")?;
            let error =
                Settings::load_with(Environment::Development, dir, config::Map::new()).err().map(|e| e.to_string());
            assert!(
                error.as_deref().is_some_and(|e| e.contains(reason) && e.contains("development.toml")),
                "{text}: {error:?}"
            );
        }
        // the right types load
        std::fs::write(folder.path().join("development.toml"), "[server]\nworkers = 2\n[cache]\nenabled = false\n")?;
        let settings =
            Settings::load_with(Environment::Development, folder.path().to_str().ok_or("path")?, config::Map::new())?;
        assert_eq!((settings.server.workers, settings.cache.enabled), (2, false));
        Ok(())
    }

    #[test]
    fn a_variable_or_key_that_names_no_setting_is_refused_by_name() {
        for (name, unknown) in [
            ("TASKFORCE__DATABASE__POOLSIZE", "poolsize"),
            ("TASKFORCE__DATABSE__URL", "databse"),
            ("taskforce__server__prot", "prot"),
        ] {
            let error = with_variables(&[(name, "7")]).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(error.contains(unknown) && error.contains("names no setting"), "{name}: {error}");
        }
        // another program's variables, and ours with one underscore, are not settings
        assert!(with_variables(&[("TASKFORCE_TEST_TOOLS", "required"), ("DB_HOST", "x")]).is_ok());
    }

    #[test]
    fn only_a_production_server_needs_the_jwt_secret() -> Result<(), SettingsError> {
        let production = |secret: &str| {
            loaded(
                Environment::Production,
                &[
                    ("TASKFORCE__AUTH__JWT_SECRET", secret),
                    ("TASKFORCE__DATABASE__URL", "postgres://db.example.com/taskforce"),
                    ("TASKFORCE__MAIL__TRANSPORT", "smtp"),
                ],
            )
        };
        for (secret, reason) in [
            ("", "TASKFORCE__AUTH__JWT_SECRET is not set"),
            (DEFAULT_JWT_SECRET, "the development default"),
            ("short", "5 bytes long"),
        ] {
            // the tools load them
            let settings = production(secret)?;
            let error = settings.check_serving().err().map(|e| e.to_string());
            assert!(error.as_deref().is_some_and(|e| e.contains(reason)), "{secret:?}: {error:?}");
        }
        assert!(production("a-production-secret-of-more-than-32-bytes")?.check_serving().is_ok());
        Ok(())
    }

    #[test]
    fn pools_of_size_zero_are_refused_by_name() {
        let mut database = development();
        database.database.pool_size = 0;
        let mut redis = development();
        redis.redis.pool_size = 0;

        let database = database.check().expect_err("database pool of 0").to_string();
        let redis = redis.check().expect_err("redis pool of 0").to_string();

        assert!(database.contains("database.pool_size must be at least 1"), "{database}");
        assert!(redis.contains("redis.pool_size must be at least 1"), "{redis}");
        assert!(development().check().is_ok());
    }

    #[test]
    fn a_database_url_of_another_database_is_named_by_its_scheme_alone() {
        let mut settings = development();
        settings.database.url = "mysql://root:S3cret@db/tf".to_owned().into();
        let error = settings.check().expect_err("a MySQL URL").to_string();
        assert!(error.contains("database.url starts with mysql://; TaskForce takes postgres://"), "{error}");
        assert!(!error.contains("S3cret"), "{error}");
        settings.database.url = "POSTGRESQL://u@h/d".to_owned().into();
        let error = settings.check().expect_err("an upper-case scheme libpq does not read").to_string();
        assert!(error.contains("starts with POSTGRESQL://"), "{error}");
        for fine in ["postgres://u@h/d", "postgresql://u@h/d", "host=h dbname=d", "host=db password=ab://cd dbname=d"] {
            settings.database.url = fine.to_owned().into();
            assert!(settings.check().is_ok(), "{fine}");
        }
    }

    #[test]
    fn a_log_format_that_is_neither_pretty_nor_json_is_refused_by_name() {
        let mut settings = development();
        settings.log.format = "xml".into();
        let error = settings.check().expect_err("an unknown format").to_string();
        assert!(error.contains("log.format = \"xml\"; expected pretty or json"), "{error}");
        settings.log.format = "json".into();
        assert!(settings.check().is_ok());
    }

    #[test]
    fn tenant_shards_must_fit_the_pool() {
        let mut settings = development();
        settings.database.pool_size = 16;
        settings.database.tenant_shards = 17;
        let error = settings.check().expect_err("more shards than connections").to_string();
        assert!(error.contains("database.tenant_shards = 17"), "{error}");
        for (shards, count) in [(0, 16), (1, 1), (4, 4), (16, 16)] {
            settings.database.tenant_shards = shards;
            assert!(settings.check().is_ok(), "{shards} shards");
            assert_eq!(settings.database.shard_count(), count, "tenant_shards = {shards}");
        }
    }
}

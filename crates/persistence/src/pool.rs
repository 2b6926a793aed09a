//! The one connection pool, and the customizer that leaves every new
//! connection fail-closed.

use std::{
    ops::{Deref, DerefMut},
    time::Duration,
};

use diesel::{
    PgConnection,
    connection::{CacheSize, Connection, SimpleConnection},
    r2d2::{ConnectionManager, CustomizeConnection, Error as R2d2Error},
};
use taskforce_domain::StoreError;

/// The pool every adapter in this crate draws from.
pub type PgPool = r2d2::Pool<ConnectionManager<PgConnection>>;

/// A connection checked out of [`PgPool`].
pub type PooledConn = r2d2::PooledConnection<ConnectionManager<PgConnection>>;

/// How to build the pool.
#[derive(Debug, Clone)]
pub struct PoolSettings {
    /// `postgres://` URL of the database.
    pub url: String,
    /// Most connections held open.
    pub max_size: u32,
    /// Connections kept open when idle, opened in the background; `None`
    /// means `max_size`. The default is `Some(0)`: connections are opened
    /// when a check-out needs one (and kept until idle for 10 minutes). A
    /// connection opened in the background can still be in its TLS handshake
    /// when the process exits, and libpq's OpenSSL then crashes in its exit
    /// handler (seen as `tenant-admin migrate` dying of SIGSEGV once in
    /// fifteen runs); opened on demand, none is in flight once the work is
    /// done.
    pub min_idle: Option<u32>,
    /// How long a check-out waits for a free connection before the request
    /// is answered `503`.
    pub checkout_timeout: Duration,
    /// `statement_timeout` of every session (0 disables it).
    pub statement_timeout: Duration,
    /// `application_name` shown in `pg_stat_activity`.
    pub application_name: String,
    /// Whether diesel keeps prepared statements per connection. Turn off
    /// behind PgBouncer older than 1.21 in transaction pooling mode.
    pub statement_cache: bool,
}

impl PoolSettings {
    /// Defaults for a URL: up to 16 connections opened on demand, 5 s
    /// check-out wait, 30 s statement timeout, statement cache on.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            max_size: 16,
            min_idle: Some(0),
            checkout_timeout: Duration::from_secs(5),
            statement_timeout: Duration::from_secs(30),
            application_name: "taskforce".to_owned(),
            statement_cache: true,
        }
    }
}

/// Puts each new connection into a known state in which no tenant's table
/// resolves: an empty `search_path` (shared tables are always written
/// `public.x`), a statement timeout and an application name. r2d2 runs this
/// when a connection is made, never at check-out, so it cannot and does not
/// choose a tenant; tenant scopes do that per transaction.
#[derive(Debug, Clone)]
pub struct FailClosed {
    statement_timeout_ms: u128,
    application_name: String,
    statement_cache: bool,
}

impl FailClosed {
    /// The customizer for these settings.
    pub fn new(settings: &PoolSettings) -> Self {
        Self {
            statement_timeout_ms: settings.statement_timeout.as_millis(),
            application_name: settings.application_name.replace('\'', "''"),
            statement_cache: settings.statement_cache,
        }
    }

    /// Applies the fail-closed state to a connection made outside the pool.
    pub fn apply(&self, conn: &mut PgConnection) -> diesel::QueryResult<()> {
        if !self.statement_cache {
            conn.set_prepared_statement_cache_size(CacheSize::Disabled);
        }
        conn.batch_execute(&format!(
            "SELECT pg_catalog.set_config('search_path', '', false); \
             SET statement_timeout = {}; SET application_name = '{}'; SET TimeZone = 'UTC'",
            self.statement_timeout_ms, self.application_name
        ))
    }
}

impl CustomizeConnection<PgConnection, R2d2Error> for FailClosed {
    fn on_acquire(&self, conn: &mut PgConnection) -> Result<(), R2d2Error> {
        self.apply(conn).map_err(R2d2Error::QueryError)
    }
}

/// Whether `url` is in libpq's URI form (`postgres://…`), not `key=value`.
pub fn is_uri(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// `url` with the libpq parameters `params` (`a=1&b=2`) added: after the
/// query of a URI (which starts at the first `?` past the host, whatever
/// the user name, password or query values hold), or as `a=1 b=2` at the
/// end of a `key=value` string.
pub fn with_params(url: &str, params: &str) -> String {
    if !is_uri(url) {
        return format!("{url} {}", params.replace('&', " "));
    }
    let rest = url.split_once("://").map_or("", |(_, rest)| rest);
    // libpq ends the user name and password at an '@' before the first '/'
    let authority = &rest[..rest.find('/').unwrap_or(rest.len())];
    let after_credentials = authority.find('@').map_or(rest, |at| &rest[at + 1..]);
    let joint = if after_credentials.contains('?') { '&' } else { '?' };
    format!("{url}{joint}{params}")
}

/// Builds the pool without connecting: the server may come up later, and
/// until it does requests are answered `503`.
pub fn build_pool(settings: &PoolSettings) -> Result<PgPool, StoreError> {
    crate::error::check_url(&settings.url)?;
    Ok(r2d2::Pool::builder()
        .max_size(settings.max_size)
        .min_idle(settings.min_idle)
        .connection_timeout(settings.checkout_timeout)
        // a check-out costs no round trip; a dead connection is noticed by
        // the statement that uses it and then discarded
        .test_on_check_out(false)
        .connection_customizer(Box::new(FailClosed::new(settings)))
        .error_handler(Box::new(QuietErrors))
        .build_unchecked(ConnectionManager::new(&settings.url)))
}

/// A check-out from the pool, its failure as one line without secrets (see
/// [`connection_failure`](crate::connection_failure)), for callers outside
/// a store: `migrate` and `tenant-admin`.
pub fn check_out(pool: &PgPool) -> Result<PooledConn, StoreError> {
    pool.get().map_err(crate::error::pool_error)
}

/// r2d2 logs each failed connection attempt at error level with libpq's
/// message: several lines, and a password when the URL does not parse. They
/// go to debug instead, as one line without secrets: whoever waited for the
/// connection reports the failure (a `503` logs it as its cause, and the
/// binaries print one `error:` line).
#[derive(Debug)]
struct QuietErrors;

impl r2d2::HandleError<diesel::r2d2::Error> for QuietErrors {
    fn handle_error(&self, error: diesel::r2d2::Error) {
        tracing::debug!(error = %crate::error::connection_failure(&error.to_string()), "a connection attempt failed");
    }
}

/// Opens a single connection outside the pool, in the same fail-closed state.
pub fn connect(settings: &PoolSettings) -> Result<PgConnection, StoreError> {
    crate::error::check_url(&settings.url)?;
    let mut conn = PgConnection::establish(&settings.url).map_err(|error| {
        StoreError::Unavailable(format!(
            "cannot connect to PostgreSQL: {}",
            crate::error::connection_failure(&error.to_string())
        ))
    })?;
    FailClosed::new(settings).apply(&mut conn).map_err(crate::error::store_error)?;
    Ok(conn)
}

/// A connection of its own (closed when dropped) or a pooled one.
pub(crate) enum Session {
    Fresh(PgConnection),
    Pooled(PooledConn),
}

impl Deref for Session {
    type Target = PgConnection;

    fn deref(&self) -> &PgConnection {
        match self {
            Session::Fresh(conn) => conn,
            Session::Pooled(conn) => conn,
        }
    }
}

impl DerefMut for Session {
    fn deref_mut(&mut self) -> &mut PgConnection {
        match self {
            Session::Fresh(conn) => conn,
            Session::Pooled(conn) => &mut *conn,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::with_params;

    #[test]
    fn params_go_after_the_query_whatever_the_credentials_or_values_hold() {
        let cases = [
            ("postgres://h/db", "postgres://h/db?a=1&b=2"),
            ("postgres://h/db?sslmode=disable", "postgres://h/db?sslmode=disable&a=1&b=2"),
            ("postgres://u:a?b@h/db", "postgres://u:a?b@h/db?a=1&b=2"),
            ("postgres://h/db?application_name=a@b", "postgres://h/db?application_name=a@b&a=1&b=2"),
            ("postgres://h?x=1", "postgres://h?x=1&a=1&b=2"),
            ("host=h dbname=db", "host=h dbname=db a=1 b=2"),
        ];
        for (url, expected) in cases {
            assert_eq!(with_params(url, "a=1&b=2"), expected, "{url}");
        }
    }
}

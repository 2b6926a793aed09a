//! Translation of diesel and r2d2 failures into the domain's [`StoreError`]
//! at the seam; nothing diesel-specific leaves this crate.

use diesel::result::{DatabaseErrorKind, Error as DieselError};
use taskforce_domain::{StoreError, Unique};

/// The rule a constraint of the shared schema stands for (the migrations
/// name them; `migrations/public`).
pub(crate) fn unique_rule(constraint: &str) -> Unique {
    match constraint {
        "tenants_slug_key" => Unique::Slug,
        "tenants_schema_name_key" => Unique::SchemaName,
        "domains_pkey" => Unique::Domain,
        "domains_one_primary_per_tenant" => Unique::PrimaryDomain,
        "users_username_key" => Unique::Username,
        "users_email_key" => Unique::Email,
        "memberships_tenant_user_key" => Unique::Membership,
        other => Unique::Other(other.to_owned()),
    }
}

/// Maps a diesel error to the port's error.
pub(crate) fn store_error(error: DieselError) -> StoreError {
    match error {
        DieselError::NotFound => StoreError::NotFound,
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
            StoreError::Duplicate(unique_rule(info.constraint_name().unwrap_or("unique")))
        }
        // a row that names a parent another transaction deleted since it
        // was read (a task created in a project being deleted)
        DieselError::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, info) => {
            StoreError::MissingReference(info.message().to_owned())
        }
        DieselError::DatabaseError(
            DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
            info,
        ) => StoreError::Unavailable(info.message().to_owned()),
        DieselError::DatabaseError(_, ref info) if info.message().contains("statement timeout") => StoreError::Timeout,
        // two transactions waited on each other and PostgreSQL ended this
        // one (a tenant's deletion and a read of its tables, say): nothing
        // of it stayed, and trying again may succeed
        DieselError::DatabaseError(_, ref info) if info.message().starts_with("deadlock detected") => {
            StoreError::Unavailable(info.message().to_owned())
        }
        DieselError::DatabaseError(_, ref info) if is_server_going_away(info.message()) => {
            StoreError::Unavailable(info.message().to_owned())
        }
        DieselError::BrokenTransactionManager => StoreError::Unavailable("broken connection".to_owned()),
        other => StoreError::internal(other),
    }
}

/// Maps the failure of a transaction's first round trip: for a tenant
/// scope, `tf_enter_tenant`'s refusals (its tenant is gone, or being
/// deleted); anything else as [`store_error`] does. Only here: no other
/// statement raises them, and a message that merely mentions them
/// elsewhere is no such refusal.
pub(crate) fn begin_error(error: DieselError) -> StoreError {
    if let DieselError::DatabaseError(_, ref info) = error {
        let message = info.message();
        if message.starts_with(crate::scope::TENANT_GONE) {
            return StoreError::TenantGone(message.to_owned());
        }
        if message.starts_with(crate::scope::TENANT_BUSY) {
            return StoreError::Unavailable(message.to_owned());
        }
    }
    store_error(error)
}

/// Messages PostgreSQL sends when it terminates a session or shuts down.
fn is_server_going_away(message: &str) -> bool {
    ["terminating connection", "the database system is", "server closed the connection", "connection to server"]
        .iter()
        .any(|needle| message.contains(needle))
}

/// Maps a failed pool check-out.
pub(crate) fn pool_error(error: r2d2::Error) -> StoreError {
    StoreError::Unavailable(format!("no database connection available: {}", connection_failure(&error.to_string())))
}

/// A failure to connect as one line without secrets: libpq's messages span
/// lines ("…refused\n\tIs the server running…") and, for a connection
/// string it cannot parse, quote the string with its password. Passwords
/// (`user:password@`, `password=…`) become `***`.
pub(crate) fn connection_failure(message: &str) -> String {
    let line = message.split_whitespace().collect::<Vec<_>>().join(" ");
    without_passwords(&line)
}

/// Refuses a `postgres://` URL with a `%` that does not begin a
/// percent-encoded byte, before libpq sees it: libpq's complaint quotes the
/// token, which may be the password. The refusal quotes nothing.
pub(crate) fn check_url(url: &str) -> Result<(), StoreError> {
    let uri = crate::pool::is_uri(url);
    let bytes = url.as_bytes();
    // a '%' not followed by two hex digits, or one that encodes a NUL
    // (libpq refuses both, quoting the token)
    let bad = bytes.iter().enumerate().any(|(i, b)| {
        *b == b'%'
            && match (bytes.get(i + 1), bytes.get(i + 2)) {
                (Some(high), Some(low)) if high.is_ascii_hexdigit() && low.is_ascii_hexdigit() => {
                    *high == b'0' && *low == b'0'
                }
                _ => true,
            }
    });
    if uri && bad {
        return Err(StoreError::Unavailable(
            "the database URL is malformed: a '%' in it must begin a percent-encoded byte other than %00 (write %25 for a '%' in a password)"
                .into(),
        ));
    }
    // libpq ends the user name and password at the first '@' and the host
    // at the first '/': an unencoded '@' or '/' in a password moves those
    // splits, and libpq then quotes a piece of the password as a host or a
    // port
    if uri && let Some((_, rest)) = url.split_once("://") {
        let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        let path = path.split('?').next().unwrap_or_default();
        let second_at = authority.matches('@').count() > 1;
        let slash_in_password = !authority.contains('@') && path.contains('@');
        if second_at || slash_in_password {
            return Err(StoreError::Unavailable(
                "the database URL is malformed: an '@' or '/' in its user name or password must be percent-encoded (%40, %2F)"
                    .into(),
            ));
        }
    }
    if !uri && !settings_are_whole(url) {
        return Err(StoreError::Unavailable(
            "the connection string is malformed: every setting must be key=value, and a value with spaces quoted (password='a b')"
                .into(),
        ));
    }
    Ok(())
}

/// Whether a `key=value …` connection string reads as libpq reads it, each
/// setting whole: a word without `=` (an unquoted space in a password, say)
/// makes libpq quote that word in its complaint.
fn settings_are_whole(text: &str) -> bool {
    let mut rest = text.trim_start();
    while !rest.is_empty() {
        let key_end = rest.find(|c: char| c.is_whitespace() || c == '=').unwrap_or(rest.len());
        if key_end == 0 {
            return false;
        }
        rest = rest[key_end..].trim_start();
        let Some(after) = rest.strip_prefix('=') else { return false };
        rest = after.trim_start();
        if let Some(quoted) = rest.strip_prefix('\'') {
            // up to the closing quote, skipping escaped characters
            let mut escaped = false;
            let Some(close) = quoted.char_indices().find_map(|(i, c)| {
                let closes = c == '\'' && !escaped;
                escaped = c == '\\' && !escaped;
                closes.then_some(i)
            }) else {
                return false;
            };
            rest = &quoted[close + 1..];
        } else {
            rest = &rest[rest.find(char::is_whitespace).unwrap_or(rest.len())..];
        }
        rest = rest.trim_start();
    }
    true
}

/// `user:secret@host` → `user:***@host`, `password=secret` → `password=***`.
fn without_passwords(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('@') {
        let (before, after) = rest.split_at(at);
        // the password runs from the last ':' of the user part to the '@'
        let user_part_start =
            before.rfind(|c: char| c.is_whitespace() || c == '/' || c == '"' || c == '\'').map_or(0, |i| i + 1);
        match before[user_part_start..].find(':') {
            Some(colon) if user_part_start + colon + 1 < before.len() => {
                out.push_str(&before[..user_part_start + colon + 1]);
                out.push_str("***");
            }
            _ => out.push_str(before),
        }
        out.push('@');
        rest = &after[1..];
    }
    out.push_str(rest);
    let mut redacted = Vec::new();
    // inside a quoted value (`password='a b'`), whose words are dropped
    let mut quoted = false;
    for word in out.split(' ') {
        if quoted {
            quoted = !word.trim_end_matches('"').ends_with('\'');
            continue;
        }
        match word.split_once("password=") {
            Some((key, value)) if !value.is_empty() => {
                let closing = if value.ends_with('"') { "\"" } else { "" };
                let value = value.trim_end_matches('"');
                quoted = value.starts_with('\'') && (value.len() == 1 || !value.ends_with('\''));
                redacted.push(format!("{key}password=***{closing}"));
            }
            _ => redacted.push(word.to_owned()),
        }
    }
    redacted.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_with_a_bare_percent_is_refused_without_quoting_it() {
        let refused = check_url("postgres://postgres:S3cret%PW@127.0.0.1/x").err().map(|e| e.to_string());
        assert!(refused.as_deref().is_some_and(|e| e.contains("%25") && !e.contains("S3cret")), "{refused:?}");
        assert!(check_url("postgres://u:p%4").is_err());
        assert!(check_url("postgres://u:p%00w@h/db").is_err(), "a NUL");
        for unencoded in ["postgres://u:pa@SECRET@h/db", "postgres://u:SECRET/TAIL@h:5432/db"] {
            let refused = check_url(unencoded).err().map(|e| e.to_string());
            assert!(refused.as_deref().is_some_and(|e| e.contains("%40") && !e.contains("SECRET")), "{unencoded}");
        }
        // libpq reads these as meant
        for fine in ["postgres://u:a?b@h/db", "postgres://h/db?application_name=a@b", "postgres://u:p%40ss@h/db"] {
            assert!(check_url(fine).is_ok(), "{fine}");
        }
        for fine in [
            "postgres://u:p%40ss@h/db",
            "postgresql://h/db?sslmode=disable",
            "host=h password=a%b",
            "host = h  password = 'two words' dbname=d",
            "password='it\\'s' host=h",
            "",
        ] {
            assert!(check_url(fine).is_ok(), "{fine}");
        }
        // libpq's complaint about these would quote a word of the password
        for malformed in ["host=h password=my secret", "host=h password='unclosed", "=x", "host=h junk"] {
            let refused = check_url(malformed).err().map(|e| e.to_string());
            assert!(
                refused.as_deref().is_some_and(|e| e.contains("key=value") && !e.contains("secret")),
                "{malformed}"
            );
        }
    }

    #[test]
    fn connection_failures_are_one_line_without_passwords() {
        let cases = [
            (
                "connection to server at \"127.0.0.1\", port 1 failed: Connection refused\n\tIs the server running on that host?\n",
                "connection to server at \"127.0.0.1\", port 1 failed: Connection refused Is the server running on that host?",
            ),
            (
                "missing \"=\" after \"postgres//admin:S3cretPW@127.0.0.1:5432/x\" in connection info string",
                "missing \"=\" after \"postgres//admin:***@127.0.0.1:5432/x\" in connection info string",
            ),
            ("invalid URL postgres://u:p%40ss:w@h/db", "invalid URL postgres://u:***@h/db"),
            ("host=h user=u password=hunter2 dbname=d", "host=h user=u password=*** dbname=d"),
            ("host=h password='two words' dbname=d", "host=h password=*** dbname=d"),
            ("host=h password='one' dbname=d", "host=h password=*** dbname=d"),
            ("role \"someone@example.com\" does not exist", "role \"someone@example.com\" does not exist"),
        ];
        for (message, expected) in cases {
            assert_eq!(connection_failure(message), expected, "{message}");
        }
    }
}

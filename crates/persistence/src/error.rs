//! Translation of diesel and r2d2 failures into the domain's [`StoreError`]
//! at the seam; nothing diesel-specific leaves this crate.

use diesel::result::{DatabaseErrorKind, Error as DieselError};
use taskforce_domain::StoreError;

/// Maps a diesel error to the port's error.
pub(crate) fn store_error(error: DieselError) -> StoreError {
    match error {
        DieselError::NotFound => StoreError::NotFound,
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
            StoreError::Duplicate(info.constraint_name().unwrap_or("unique").to_owned())
        }
        DieselError::DatabaseError(
            DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
            info,
        ) => StoreError::Unavailable(info.message().to_owned()),
        DieselError::DatabaseError(_, ref info) if info.message().contains("statement timeout") => StoreError::Timeout,
        DieselError::DatabaseError(_, ref info) if is_server_going_away(info.message()) => {
            StoreError::Unavailable(info.message().to_owned())
        }
        DieselError::BrokenTransactionManager => StoreError::Unavailable("broken connection".to_owned()),
        other => StoreError::internal(other),
    }
}

/// Messages PostgreSQL sends when it terminates a session or shuts down.
fn is_server_going_away(message: &str) -> bool {
    ["terminating connection", "the database system is", "server closed the connection", "connection to server"]
        .iter()
        .any(|needle| message.contains(needle))
}

/// Maps a failed pool check-out.
pub(crate) fn pool_error(error: r2d2::Error) -> StoreError {
    StoreError::Unavailable(format!("no database connection available: {error}"))
}

//! Turning request fields into domain values, collecting problems per field.

use chrono::NaiveDate;
use serde::{Deserialize, Deserializer};
use taskforce_application::FieldErrors;

/// For `Option<Option<T>>` fields: absent → `None`, `null` → `Some(None)`.
pub fn double_option<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// Parses an optional value with `parse`, recording a problem under `field`.
pub fn parsed<T, E: std::fmt::Display>(
    errors: &mut FieldErrors,
    field: &str,
    value: Option<&str>,
    parse: impl Fn(&str) -> Result<T, E>,
) -> Option<T> {
    value.and_then(|v| errors.check(field, parse(v)))
}

/// A `YYYY-MM-DD` date.
pub fn date(text: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| "Date has wrong format. Use one of these formats instead: YYYY-MM-DD.".to_owned())
}

/// A positive id.
pub fn id(text: &str) -> Result<i64, String> {
    text.trim().parse::<i64>().ok().filter(|n| *n > 0).ok_or_else(|| "A valid integer is required.".to_owned())
}

/// `true` / `false` (also `1`/`0`, `yes`/`no`), as DRF's boolean filter.
pub fn boolean(text: &str) -> Result<bool, String> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err("Must be a valid boolean.".to_owned()),
    }
}

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

/// Parses a query filter like [`parsed`], where an empty (or blank) value
/// is no filter: django-filter skips empty values, so
/// `?status=&priority=high` filters on the priority alone.
pub fn filter_param<T, E: std::fmt::Display>(
    errors: &mut FieldErrors,
    field: &str,
    value: Option<&str>,
    parse: impl Fn(&str) -> Result<T, E>,
) -> Option<T> {
    parsed(errors, field, value.filter(|v| !v.trim().is_empty()), parse)
}

/// A `YYYY-MM-DD` date as DRF's `DateField` reads one: four digits of a
/// year from 1 to 9999, and one or two of month and day. chrono alone would
/// also take a sign and more digits (`+10000-01-01`, `-0001-01-01`) and the
/// year 0.
pub fn date(text: &str) -> Result<NaiveDate, String> {
    let wrong = || "Date has wrong format. Use one of these formats instead: YYYY-MM-DD.".to_owned();
    let number = |part: &str, lengths: std::ops::RangeInclusive<usize>| {
        (lengths.contains(&part.len()) && part.bytes().all(|b| b.is_ascii_digit())).then(|| part.parse::<u32>().ok())?
    };
    let mut parts = text.split('-');
    let ymd = match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(year), Some(month), Some(day), None) => (number(year, 4..=4), number(month, 1..=2), number(day, 1..=2)),
        _ => return Err(wrong()),
    };
    let (Some(year), Some(month), Some(day)) = ymd else {
        return Err(wrong());
    };
    let year = i32::try_from(year).ok().filter(|y| *y >= 1).ok_or_else(wrong)?;
    NaiveDate::from_ymd_opt(year, month, day).ok_or_else(wrong)
}

/// A whole number as Python's `int()` reads one for DRF: spaces around, an
/// optional sign, single `_` between ASCII digits (`int()` also reads
/// non-ASCII digits such as `２`; those are not read). Beyond `i128` it
/// saturates, so a caller's range check still refuses it as out of range.
pub fn python_int(text: &str) -> Option<i128> {
    let text = text.trim();
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let grouped = digits.split('_').all(|group| !group.is_empty() && group.bytes().all(|b| b.is_ascii_digit()));
    if !grouped {
        return None;
    }
    let value = digits.replace('_', "").parse::<i128>().unwrap_or(i128::MAX);
    Some(if negative { -value } else { value })
}

/// A positive id.
pub fn id(text: &str) -> Result<i64, String> {
    match text.trim().parse::<i64>() {
        Ok(id) if id > 0 => Ok(id),
        Ok(_) => Err("Ensure this value is greater than or equal to 1.".to_owned()),
        Err(_) => Err("A valid integer is required.".to_owned()),
    }
}

/// `true` / `false` (also `1`/`0`, `yes`/`no`), as DRF's boolean filter.
pub fn boolean(text: &str) -> Result<bool, String> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err("Must be a valid boolean.".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use chrono::Datelike;

    use super::*;

    #[test]
    fn dates_are_four_digit_years_as_drf_reads_them() {
        for (text, expected) in [("2026-11-27", (2026, 11, 27)), ("2026-1-5", (2026, 1, 5)), ("0001-01-01", (1, 1, 1))]
        {
            let parsed = date(text).map(|d| (d.year(), d.month(), d.day()));
            assert_eq!(parsed, Ok(expected), "{text}");
        }
        for refused in [
            "+10000-01-01",
            "-0001-01-01",
            "0000-01-01",
            "10000-01-01",
            "26-01-01",
            "2026-13-01",
            "2026-02-30",
            "2026-001-01",
            " 2026-01-01",
            "2026-01-01T00:00",
            "",
        ] {
            assert!(date(refused).is_err(), "{refused:?}");
        }
    }
}

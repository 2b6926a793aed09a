//! Times in answers as DRF writes them (`datetime.isoformat()` with `Z`):
//! RFC 3339 in UTC, six fractional digits when there are microseconds and
//! none when there are not. chrono's own form writes three digits for a
//! time whose microseconds end in `000`, which a client parsing a fixed
//! pattern would trip over once in a thousand writes.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serializer;

/// The time in DRF's form. chrono's RFC 3339 writer with a fixed number of
/// digits, not `format()`, which reads its pattern again on every call (a
/// list of twenty tasks writes sixty times).
pub(crate) fn drf_form(time: &DateTime<Utc>) -> String {
    let digits = if time.timestamp_subsec_micros() == 0 { SecondsFormat::Secs } else { SecondsFormat::Micros };
    time.to_rfc3339_opts(digits, true)
}

/// `serialize_with` for a time.
pub(crate) fn drf<S: Serializer>(time: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&drf_form(time))
}

/// `serialize_with` for a time that may be missing (`null`).
pub(crate) fn drf_option<S: Serializer>(time: &Option<DateTime<Utc>>, serializer: S) -> Result<S::Ok, S::Error> {
    match time {
        Some(time) => drf(time, serializer),
        None => serializer.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone as _;

    use super::*;

    #[test]
    fn six_fractional_digits_or_none_as_drf_writes_them() -> Result<(), serde_json::Error> {
        let at = |nanos| Utc.timestamp_opt(1_764_352_800, nanos).single().map(|t| drf_form(&t));
        assert_eq!(at(0).as_deref(), Some("2025-11-28T18:00:00Z"));
        assert_eq!(at(500_000_000).as_deref(), Some("2025-11-28T18:00:00.500000Z"));
        assert_eq!(at(715_661_000).as_deref(), Some("2025-11-28T18:00:00.715661Z"));
        // below a microsecond (a time made in the process, not read back) is cut off
        assert_eq!(at(715_661_999).as_deref(), Some("2025-11-28T18:00:00.715661Z"));
        assert_eq!(at(999).as_deref(), Some("2025-11-28T18:00:00Z"));

        #[derive(serde::Serialize)]
        struct Out {
            #[serde(serialize_with = "drf")]
            at: DateTime<Utc>,
            #[serde(serialize_with = "drf_option")]
            maybe: Option<DateTime<Utc>>,
            #[serde(serialize_with = "drf_option")]
            missing: Option<DateTime<Utc>>,
        }
        let time = Utc.timestamp_opt(1_764_352_800, 120_000_000).single();
        let out = Out { at: time.unwrap_or_default(), maybe: time, missing: None };
        assert_eq!(
            serde_json::to_string(&out)?,
            r#"{"at":"2025-11-28T18:00:00.120000Z","maybe":"2025-11-28T18:00:00.120000Z","missing":null}"#
        );
        Ok(())
    }
}

//! [`JsonBody`]: JSON request bodies with the contract's errors — `415` for
//! a body of another content type (no body at all reads as `{}`), `413` over 1 MiB, `400 invalid_json` for what is
//! not a JSON object, `400 validation_failed` naming the field whose value
//! has the wrong type, or naming where a NUL character is (in any field:
//! PostgreSQL cannot store one). Other unknown fields are ignored.

use std::{future::Future, pin::Pin, time::Duration};

use actix_web::{FromRequest, HttpRequest, dev::Payload, http::header, web};
use serde::de::DeserializeOwned;

use crate::{ApiError, JSON_LIMIT_BYTES};

/// How long a JSON body (at most 1 MiB) may take to arrive once its headers
/// have, unless `server.body_timeout_secs` says otherwise. The caller's role
/// and session are judged when the headers arrive; without a deadline a
/// client sending its body a byte at a time would keep that judgement as
/// long as it liked (past a removal, a demotion, a logout). Uploads have
/// none: their standing is judged again when their bytes are in.
pub const BODY_DEADLINE: Duration = Duration::from_secs(10);

/// How long an upload's body may bring no byte, unless
/// `server.upload_idle_secs` says otherwise. An upload has no deadline (a
/// large file on a slow link may rightly take minutes), but one that stalls
/// would hold its connection, a blocking thread and a part-written file for
/// as long as its client liked.
pub const UPLOAD_IDLE: Duration = Duration::from_secs(30);

/// How long the reader of a body cut off by its deadline is kept after the
/// `408` (see [`JsonBody`]'s extractor): far longer than the answer takes
/// to be handed to the connection.
const UNREAD_BODY_HELD: Duration = Duration::from_secs(5);

/// Keeps the reader of a body given up on, unread, until the answer has
/// gone: actix then closes a connection whose body was left unread,
/// chunked or not, where a dropped reader has it drain a chunked body and
/// read on (the rest of the body, and whatever followed, taken for the
/// next requests).
pub(crate) fn hold_unread<T: 'static>(reader: T) {
    actix_web::rt::spawn(async move {
        tokio::time::sleep(UNREAD_BODY_HELD).await;
        drop(reader);
    });
}

/// A `408 request_timeout` with `message`.
pub(crate) fn timed_out(message: String) -> ApiError {
    ApiError::new(actix_web::http::StatusCode::REQUEST_TIMEOUT, "request_timeout", message)
}

/// A JSON body parsed into `T`. A handler that must refuse some callers
/// before it judges the body (as DRF checks permissions before a view parses
/// anything) takes `Result<JsonBody<T>, ApiError>` instead, actix's own
/// extractor for an outcome, and looks at it after its check.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

/// A request body's fields that may be `null` (DRF's `allow_null`): any
/// other field given as `null` is "This field may not be null.", as DRF
/// says, rather than read as if it were absent (a client sending `null` to
/// clear a field would otherwise get `200` and an unchanged field).
pub trait Nullable {
    /// The fields, by name.
    const NULLABLE: &'static [&'static str] = &[];
}

impl<T: DeserializeOwned + Nullable + 'static> FromRequest for JsonBody<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let content_type = match content_type(req) {
            Ok(given) => given.unwrap_or("").to_owned(),
            Err(refused) => return Box::pin(std::future::ready(Err(refused))),
        };
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        let coding = content_coding(req);
        let deadline = req
            .app_data::<web::Data<crate::AppState>>()
            .map(|state| state.settings.body_timeout_secs)
            .filter(|secs| *secs > 0)
            .map_or(BODY_DEADLINE, Duration::from_secs);
        let mut bytes = Box::pin(web::Bytes::from_request(req, payload));
        Box::pin(async move {
            let coding = coding?;
            let essence = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
            let unsupported = || {
                ApiError::unsupported_media_type(format!(
                    "Unsupported media type \"{content_type}\" in request; send application/json."
                ))
            };
            let is_json = essence == "application/json" || essence.ends_with("+json");
            // no body at all reads as `{}` whatever the type, as DRF reads
            // one (each required field is then named, below); only a body
            // that is there can be of a type the endpoint does not take
            if !is_json && declared.is_some_and(|length| length > 0) {
                return Err(unsupported());
            }
            if declared.is_some_and(|length| length > JSON_LIMIT_BYTES) {
                return Err(ApiError::payload_too_large("The request body is larger than 1 MiB."));
            }
            if declared == Some(0) {
                // no body at all, whatever its coding says
                return parse(b"{}").map(JsonBody);
            }
            let Ok(bytes) = tokio::time::timeout(deadline, &mut bytes).await else {
                hold_unread(bytes);
                return Err(timed_out(format!(
                    "The request body did not arrive within {} seconds.",
                    deadline.as_secs()
                )));
            };
            let bytes = bytes.map_err(|error| {
                if error.as_response_error().status_code() == actix_web::http::StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::payload_too_large("The request body is larger than 1 MiB.")
                } else {
                    unreadable(coding)
                }
            })?;
            if bytes.is_empty() {
                return parse(b"{}").map(JsonBody);
            }
            if !is_json {
                return Err(unsupported());
            }
            parse(&bytes).map(JsonBody)
        })
    }
}

/// The request's `Content-Type`, if it has one. Two are `415`, as two
/// `Content-Encoding`s are: taking the first would read the body as
/// another type than a proxy or a later reader that takes the last.
pub fn content_type(req: &HttpRequest) -> Result<Option<&str>, ApiError> {
    let mut types = req.headers().get_all(header::CONTENT_TYPE);
    match (types.next(), types.next()) {
        (None, _) => Ok(None),
        (Some(value), None) => Ok(value.to_str().ok()),
        (Some(_), Some(_)) => {
            Err(ApiError::unsupported_media_type("The request has more than one Content-Type header; send one."))
        }
    }
}

/// How a JSON request body is encoded (`Content-Encoding`), of the codings
/// the server decodes; nothing else is read as if it were plain: an unknown
/// coding, or several (`gzip, gzip`), is `415`, where reading the bytes as
/// they come would read another body than a proxy that honours the header.
pub fn content_coding(req: &HttpRequest) -> Result<Option<&'static str>, ApiError> {
    let mut codings = req.headers().get_all(header::CONTENT_ENCODING);
    let (Some(value), None) = (codings.next(), codings.next()) else {
        return if req.headers().contains_key(header::CONTENT_ENCODING) {
            Err(ApiError::unsupported_media_type(
                "Several Content-Encoding headers in request; send one, gzip or deflate, or none.",
            ))
        } else {
            Ok(None)
        };
    };
    let text = value.to_str().unwrap_or("").trim().to_ascii_lowercase();
    match text.as_str() {
        "" | "identity" => Ok(None),
        // not `x-gzip`: actix's decoder does not know it and would read such
        // a body as plain
        "gzip" => Ok(Some("gzip")),
        "deflate" => Ok(Some("deflate")),
        _ => Err(ApiError::unsupported_media_type(format!(
            "Unsupported content encoding \"{}\" in request; send the body as it is, or compressed with gzip or \
             deflate.",
            value.to_str().unwrap_or("?")
        ))),
    }
}

/// A body that could not be read to its end: for a compressed one, most
/// likely not the coding its header names.
pub fn unreadable(coding: Option<&str>) -> ApiError {
    ApiError::invalid_json(match coding {
        Some(coding) => format!("The body could not be read: it is not {coding} data, as its Content-Encoding says."),
        None => "The body could not be read to its end.".to_owned(),
    })
}

/// Parses a JSON object into `T`, naming the field of a type error, and
/// each of its fields given as `null` that may not be.
pub fn parse<T: DeserializeOwned + Nullable>(bytes: &[u8]) -> Result<T, ApiError> {
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| ApiError::invalid_json(format!("JSON parse error: {e}")))?;
    if !value.is_object() {
        return Err(ApiError::invalid_json("Expected a JSON object."));
    }
    // PostgreSQL text cannot hold NUL, so no use case ever sees one
    if let Some(path) = nul_path(&value) {
        return Err(ApiError::field(path.trim_start_matches('.'), "Null characters are not allowed."));
    }
    let known = field_names::<T>();
    let mut nulls = taskforce_application::FieldErrors::new();
    for (key, _) in value.as_object().into_iter().flatten().filter(|(_, v)| v.is_null()) {
        // a field the body does not have is ignored, null or not
        if known.contains(&key.as_str()) && !T::NULLABLE.contains(&key.as_str()) {
            nulls.add(key, "This field may not be null.");
        }
    }
    if !nulls.is_empty() {
        return Err(ApiError::validation(&nulls));
    }
    serde_path_to_error::deserialize(value).map_err(|error| {
        let path = error.path().to_string();
        let message = error.inner().to_string();
        let message = message.split(" at line").next().unwrap_or(&message);
        let sentence = drf_sentence(message).map_or_else(
            || {
                let mut sentence = format!("{message}.");
                if let Some(first) = sentence.get(..1) {
                    sentence.replace_range(..1, &first.to_uppercase());
                }
                sentence
            },
            str::to_owned,
        );
        ApiError::field(if path == "." { "non_field_errors" } else { &path }, sentence)
    })
}

/// The names of the fields `T` reads, as serde's derive lists them (it
/// hands them to the deserializer, which is all this one takes).
pub(crate) fn field_names<T: DeserializeOwned>() -> &'static [&'static str] {
    struct Names<'a>(&'a mut &'static [&'static str]);
    impl<'de> serde::Deserializer<'de> for Names<'_> {
        type Error = serde::de::value::Error;
        fn deserialize_any<V: serde::de::Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
            Err(serde::de::Error::custom("not a struct"))
        }
        fn deserialize_struct<V: serde::de::Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Self::Error> {
            *self.0 = fields;
            Err(serde::de::Error::custom("only the names were asked for"))
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option unit
            unit_struct newtype_struct seq tuple tuple_struct map enum identifier ignored_any
        }
    }
    let mut names: &'static [&'static str] = &[];
    // the error is the point: the names were taken before it
    let _ = T::deserialize(Names(&mut names));
    names
}

/// DRF's sentence for a value of the wrong type, from what serde says it
/// expected ("invalid type: floating point `1e20`, expected i64"): clients
/// of the Django product match these, and Rust's type names are no business
/// of theirs.
fn drf_sentence(message: &str) -> Option<&'static str> {
    let expected = message.rsplit_once("expected ")?.1.trim();
    let integer = ["i8", "i16", "i32", "i64", "u8", "u16", "u32", "u64", "usize", "isize"];
    Some(match expected {
        _ if integer.contains(&expected) => "A valid integer is required.",
        "a boolean" => "Must be a valid boolean.",
        "a string" | "a borrowed string" => "Not a valid string.",
        "a sequence" => "Expected a list of items.",
        _ if expected.starts_with("struct ") || expected == "a map" => "Invalid data. Expected a dictionary.",
        _ => return None,
    })
}

/// The answer to a body that cannot be judged, given once the object the
/// request would change is found and the caller may change it: DRF looks the
/// object up and checks its permissions before it reads the body, so a
/// missing object is `404` and a forbidden one `403` whatever the body.
/// `check` runs on the blocking pool, and only on this error path: a good
/// body costs nothing more.
pub async fn refused_after_object<E>(
    bad_body: ApiError,
    check: impl FnOnce() -> Result<(), E> + Send + 'static,
) -> ApiError
where
    E: Send + 'static,
    ApiError: From<E>,
{
    match crate::block(check).await {
        Ok(Ok(())) => bad_body,
        Ok(Err(refused)) => refused.into(),
        Err(blocking) => blocking.into(),
    }
}

/// Where the first NUL character is, if any: `name`, `tags[2]`, `a.b` (a
/// key's own NUL dropped, so the name can be shown). One walk; a path is
/// only built on the way back from a NUL.
fn nul_path(value: &serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::String(text) => text.contains('\0').then(String::new),
        serde_json::Value::Array(items) => {
            items.iter().enumerate().find_map(|(i, item)| nul_path(item).map(|rest| format!("[{i}]{rest}")))
        }
        serde_json::Value::Object(map) => map.iter().find_map(|(key, item)| {
            let name = || key.replace('\0', "");
            if key.contains('\0') {
                return Some(format!(".{}", name()));
            }
            nul_path(item).map(|rest| format!(".{}{rest}", name()))
        }),
        _ => None,
    }
}

/// A password as DRF's `CharField` (and simplejwt's `PasswordField`) reads
/// one: without the white space around it. The Django product stored and
/// checked passwords so, so an account brought over with its hash logs in
/// with what its owner types there, spaces and all.
pub fn trimmed_password(value: Option<String>) -> Option<String> {
    value.map(|text| text.trim().to_owned())
}

/// A text field as DRF's `CharField` judges one before anything else:
/// absent is "This field is required.", nothing but white space "This field
/// may not be blank." (both `None`); the text as sent otherwise.
pub fn required_text(
    errors: &mut taskforce_application::FieldErrors,
    field: &str,
    value: Option<String>,
) -> Option<String> {
    let value = required(errors, field, value)?;
    if value.trim().is_empty() {
        errors.add(field, "This field may not be blank.");
        return None;
    }
    Some(value)
}

/// `Some(value)` or a "This field is required." problem.
pub fn required<T>(errors: &mut taskforce_application::FieldErrors, field: &str, value: Option<T>) -> Option<T> {
    if value.is_none() {
        errors.add(field, "This field is required.");
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    struct Probe {
        name: Option<String>,
        #[serde(default, deserialize_with = "crate::fields::double_option")]
        due: Option<Option<String>>,
    }

    impl Nullable for Probe {
        const NULLABLE: &'static [&'static str] = &["due"];
    }

    #[test]
    fn null_is_refused_but_where_a_field_may_be_null_and_ignored_on_unknown_fields() {
        assert_eq!(field_names::<Probe>(), ["name", "due"]);
        let refused = parse::<Probe>(br#"{"name": null}"#).err().map(|e| e.body());
        assert_eq!(
            refused.map(|body| body["error"]["fields"].clone()),
            Some(serde_json::json!({"name": ["This field may not be null."]}))
        );
        let cleared = parse::<Probe>(br#"{"name": "x", "due": null, "other": null}"#).ok().map(|p| p.due);
        assert_eq!(cleared, Some(Some(None)), "a nullable field takes null, an unknown one is ignored");
    }

    #[test]
    fn type_errors_name_their_field_and_unknown_fields_are_ignored() {
        let ok: Result<Probe, _> = parse(br#"{"name": "x", "role": "owner"}"#);
        assert_eq!(ok.ok().and_then(|p| p.name), Some("x".into()));
        let bad = parse::<Probe>(br#"{"name": 5}"#).err().map(|e| e.code());
        assert_eq!(bad, Some("validation_failed"));
        assert_eq!(parse::<Probe>(b"[1]").err().map(|e| e.code()), Some("invalid_json"));
        assert_eq!(parse::<Probe>(b"{").err().map(|e| e.code()), Some("invalid_json"));
    }

    #[test]
    fn type_errors_are_told_in_drf_s_sentences() {
        #[derive(Debug, serde::Deserialize)]
        #[expect(dead_code, reason = "only the refusal matters")]
        struct Typed {
            count: Option<i64>,
            limit: Option<u32>,
            flag: Option<bool>,
            name: Option<String>,
            tags: Option<Vec<String>>,
        }
        impl Nullable for Typed {}
        for (body, field, sentence) in [
            (r#"{"count": 1e20}"#, "count", "A valid integer is required."),
            (r#"{"count": 1.5}"#, "count", "A valid integer is required."),
            (r#"{"count": "7"}"#, "count", "A valid integer is required."),
            (r#"{"limit": -1}"#, "limit", "A valid integer is required."),
            (r#"{"flag": "yes"}"#, "flag", "Must be a valid boolean."),
            (r#"{"name": 5}"#, "name", "Not a valid string."),
            (r#"{"name": {"a": 1}}"#, "name", "Not a valid string."),
            (r#"{"tags": "x"}"#, "tags", "Expected a list of items."),
        ] {
            let error = parse::<Typed>(body.as_bytes()).err().map(|e| e.body().to_string()).unwrap_or_default();
            assert!(error.contains(&format!("\"{field}\":[\"{sentence}\"]")), "{body}: {error}");
        }
    }

    #[test]
    fn a_nul_anywhere_is_refused_naming_where() {
        let cases: [(&[u8], &str); 5] = [
            (br#"{"name": "a\u0000b"}"#, "name"),
            (br#"{"name": "ok", "role": "\u0000"}"#, "role"),
            (br#"{"tags": ["x", "y\u0000"]}"#, "tags[1]"),
            (br#"{"a": {"b": "\u0000"}}"#, "a.b"),
            (br#"{"na\u0000me": "x"}"#, "name"),
        ];
        for (body, field) in cases {
            let error = parse::<Probe>(body).err();
            assert_eq!(error.as_ref().map(|e| (e.code(), e.field_names())), Some(("validation_failed", vec![field])));
        }
        assert!(parse::<Probe>(br#"{"name": "a\\u0000b"}"#).is_ok(), "an escaped backslash is no NUL");
    }

    #[derive(Debug, serde::Deserialize)]
    #[expect(dead_code, reason = "only whether it parses matters")]
    struct Shaped {
        title: Option<String>,
        count: Option<i64>,
        flag: Option<bool>,
        tags: Option<Vec<String>>,
    }

    impl Nullable for Shaped {}

    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4096))]

        /// Mirrored by the `body` fuzz target: no body panics the parser, a
        /// body that is not a JSON object is `invalid_json`, and a type error
        /// names a field.
        #[test]
        fn any_body_is_parsed_or_refused_in_the_contract_s_terms(
            bytes in prop_oneof![
                proptest::collection::vec(any::<u8>(), 0..200),
                "\\{\"(title|count|flag|tags|x)\": ?(\"[a-z]{0,3}(\\\\u0000)?[a-z]{0,2}\"|-?[0-9]{1,20}|true|null|\\[\\]|\\{\\})\\}".prop_map(String::into_bytes),
                any::<String>().prop_map(String::into_bytes),
            ]
        ) {
            let json = serde_json::from_slice::<serde_json::Value>(&bytes).ok().filter(serde_json::Value::is_object);
            match (json, parse::<Shaped>(&bytes)) {
                // not JSON, or JSON but not an object
                (None, outcome) => prop_assert_eq!(outcome.err().map(|e| e.code()), Some("invalid_json")),
                (Some(_), Ok(_)) => {}
                // an object with a value of the wrong type, or a NUL anywhere:
                // that one key is named (a NUL's even in a field T ignores)
                (Some(object), Err(error)) => {
                    prop_assert_eq!(error.code(), "validation_failed");
                    let names = error.field_names();
                    prop_assert_eq!(names.len(), 1, "{:?}", names);
                    let key = names[0].split(['[', '.']).next().unwrap_or_default();
                    let holds_nul = object.to_string().contains("\\u0000");
                    prop_assert!(holds_nul || ["title", "count", "flag", "tags"].contains(&key), "{:?}", names);
                    prop_assert!(object.get(key).is_some(), "{:?} is not in the body", names);
                }
            }
        }
    }
}

//! `ETag`, `If-Match` and `If-None-Match`.

use actix_web::{HttpRequest, HttpResponse, http::header};
use serde::Serialize;
use taskforce_application::IfMatch;

/// The request's `If-Match`, if any: every line of it, as one list. A value
/// that is not text still makes the write conditional, on a tag nothing
/// matches (`412`), rather than leaving it unconditional.
pub fn if_match(req: &HttpRequest) -> Option<IfMatch> {
    condition(req, header::IF_MATCH)
}

/// Every line of a conditional header, as one list (`None` without one).
fn condition(req: &HttpRequest, name: header::HeaderName) -> Option<IfMatch> {
    let lines: Vec<String> =
        req.headers().get_all(name).map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned()).collect();
    (!lines.is_empty()).then(|| IfMatch::parse(&lines.join(",")))
}

/// A `200` (or `201`) JSON response with its `ETag`, or `304` when
/// `If-None-Match` names the current tag.
pub fn tagged<T: Serialize>(
    req: &HttpRequest,
    status: actix_web::http::StatusCode,
    etag: &str,
    body: &T,
) -> HttpResponse {
    let not_modified = condition(req, header::IF_NONE_MATCH).is_some_and(|tags| tags.matches_weakly(etag));
    let read = [actix_web::http::Method::GET, actix_web::http::Method::HEAD].contains(req.method());
    if not_modified && read {
        return HttpResponse::NotModified().insert_header((header::ETAG, etag.to_owned())).finish();
    }
    HttpResponse::build(status).insert_header((header::ETAG, etag.to_owned())).json(body)
}

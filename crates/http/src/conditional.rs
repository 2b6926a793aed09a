//! `ETag`, `If-Match` and `If-None-Match`.

use actix_web::{HttpRequest, HttpResponse, http::header};
use serde::Serialize;
use taskforce_application::IfMatch;

/// The request's `If-Match`, if any.
pub fn if_match(req: &HttpRequest) -> Option<IfMatch> {
    req.headers().get(header::IF_MATCH).and_then(|v| v.to_str().ok()).map(IfMatch::parse)
}

/// A `200` (or `201`) JSON response with its `ETag`, or `304` when
/// `If-None-Match` names the current tag.
pub fn tagged<T: Serialize>(
    req: &HttpRequest,
    status: actix_web::http::StatusCode,
    etag: &str,
    body: &T,
) -> HttpResponse {
    let not_modified = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| IfMatch::parse(v).matches_weakly(etag));
    let read = [actix_web::http::Method::GET, actix_web::http::Method::HEAD].contains(req.method());
    if not_modified && read {
        return HttpResponse::NotModified().insert_header((header::ETAG, etag.to_owned())).finish();
    }
    HttpResponse::build(status).insert_header((header::ETAG, etag.to_owned())).json(body)
}

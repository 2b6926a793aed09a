//! The OpenAPI document and the interactive reference, served with no
//! internet access (Swagger UI's files are compiled in).

use std::sync::{Arc, OnceLock};

use actix_web::{HttpResponse, http::header, web};
use utoipa::OpenApi;

use crate::openapi::ApiDoc;

/// `GET /api/openapi.json`.
pub async fn openapi_json() -> HttpResponse {
    static DOCUMENT: OnceLock<String> = OnceLock::new();
    let body = DOCUMENT.get_or_init(|| ApiDoc::openapi().to_json().unwrap_or_else(|_| "{}".to_owned()));
    HttpResponse::Ok().content_type(crate::JSON_CONTENT_TYPE).body(body.clone())
}

/// `GET /api/docs` → the page's canonical address with a trailing slash, so
/// that its relative asset links resolve.
pub async fn docs_redirect() -> HttpResponse {
    HttpResponse::PermanentRedirect().insert_header((header::LOCATION, "/api/docs/")).finish()
}

/// `GET /api/docs/{file}`: Swagger UI pointed at `/api/openapi.json`.
pub async fn docs_file(tail: web::Path<String>) -> HttpResponse {
    static CONFIG: OnceLock<Arc<utoipa_swagger_ui::Config<'static>>> = OnceLock::new();
    let config = CONFIG.get_or_init(|| Arc::new(utoipa_swagger_ui::Config::new(["/api/openapi.json"]))).clone();
    match utoipa_swagger_ui::serve(&tail.into_inner(), config) {
        Ok(Some(file)) => HttpResponse::Ok().content_type(file.content_type).body(file.bytes.to_vec()),
        Ok(None) => actix_web::ResponseError::error_response(&crate::ApiError::not_found()),
        Err(error) => actix_web::ResponseError::error_response(&crate::ApiError::internal(error)),
    }
}

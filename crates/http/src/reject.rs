//! The contract's JSON error body for what actix itself rejects: unknown
//! routes, wrong methods, oversized or malformed bodies, paths that do not parse.

use actix_web::{
    HttpRequest, HttpResponse,
    dev::ServiceResponse,
    error::PathError,
    http::{StatusCode, header},
    middleware::{ErrorHandlerResponse, ErrorHandlers},
    web,
};

use crate::{ApiError, tenant::take_no_tenant_refusal};

/// Largest JSON body accepted.
pub const JSON_LIMIT_BYTES: usize = 1 << 20;

/// Path parameters that do not parse (`/api/projects/abc/`) match nothing:
/// `404 not_found`.
pub fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|_error: PathError, _| ApiError::not_found().into())
}

/// The answer for a path no route matches: on a host that serves no
/// tenant (or an inactive one), the host's answer first.
pub async fn no_route(req: HttpRequest) -> HttpResponse {
    tracing::debug!(path = req.path(), "no route");
    actix_web::ResponseError::error_response(&take_no_tenant_refusal(&req).unwrap_or_else(ApiError::not_found))
}

/// Gives every error response that is not JSON yet (actix's own 404, 405,
/// 413, …) the contract's JSON body, keeping its status and headers such as
/// `Allow`.
pub fn json_error_bodies<B: 'static>() -> ErrorHandlers<B> {
    ErrorHandlers::new().default_handler(|response: ServiceResponse<B>| {
        // a tenant gone under the request: its host named, as for any host
        // with no tenant
        if response.response().extensions().get::<crate::error::NamesTheHost>().is_some() {
            let trusted = response
                .request()
                .app_data::<web::Data<crate::AppState>>()
                .map(|state| state.settings.trusted_proxies.clone())
                .unwrap_or_default();
            let host = crate::host::raw_host(response.request(), &trusted);
            let replacement = actix_web::ResponseError::error_response(&ApiError::tenant_not_found(&host));
            let (request, _) = response.into_parts();
            return Ok(ErrorHandlerResponse::Response(
                ServiceResponse::new(request, replacement).map_into_right_body(),
            ));
        }
        in_the_error_format(response, |response| {
            let status = response.status();
            // a wrong method on a host that serves no tenant: the host's answer
            if status == StatusCode::METHOD_NOT_ALLOWED
                && let Some(refusal) = take_no_tenant_refusal(response.request())
            {
                return actix_web::ResponseError::error_response(&refusal);
            }
            let mut reply = actix_web::ResponseError::error_response(&for_status(status));
            if let Some(allow) = response.headers().get(header::ALLOW) {
                reply.headers_mut().insert(header::ALLOW, allow.clone());
            }
            *reply.status_mut() = status;
            reply
        })
    })
}

/// Gives actix-cors' refusal of a preflight or a request (an origin that is
/// not listed, or a method or header that is not allowed; `400`, plain text) the
/// contract's body: `403 permission_denied`.
/// It wraps the CORS middleware, inside which every other error is JSON
/// already ([`json_error_bodies`]), so a plain-text `400` here is CORS's.
pub fn cors_refusals<B: 'static>() -> ErrorHandlers<B> {
    ErrorHandlers::new().handler(StatusCode::BAD_REQUEST, |response: ServiceResponse<B>| {
        in_the_error_format(response, |_| {
            actix_web::ResponseError::error_response(&ApiError::new(
                StatusCode::FORBIDDEN,
                "permission_denied",
                "This cross-origin request is not allowed: its origin, method or headers (server.cors_allowed_origins).",
            ))
        })
    })
}

/// Keeps a response whose body is JSON already; replaces any other by
/// `reply`'s answer to it, for the same request.
fn in_the_error_format<B>(
    response: ServiceResponse<B>,
    reply: impl FnOnce(&ServiceResponse<B>) -> HttpResponse,
) -> actix_web::Result<ErrorHandlerResponse<B>> {
    if is_json(&response) {
        return Ok(ErrorHandlerResponse::Response(response.map_into_left_body()));
    }
    let replacement = reply(&response);
    let (request, _) = response.into_parts();
    Ok(ErrorHandlerResponse::Response(ServiceResponse::new(request, replacement).map_into_right_body()))
}

/// Whether a response's body is JSON already.
fn is_json<B>(response: &ServiceResponse<B>) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
}

fn for_status(status: StatusCode) -> ApiError {
    match status {
        StatusCode::NOT_FOUND => ApiError::not_found(),
        StatusCode::METHOD_NOT_ALLOWED => ApiError::method_not_allowed(),
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::payload_too_large("The request body is too large."),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::unsupported_media_type("Unsupported content type."),
        StatusCode::UNAUTHORIZED => {
            ApiError::new(status, "not_authenticated", "Authentication credentials were not provided.")
        }
        StatusCode::FORBIDDEN => ApiError::new(status, "permission_denied", "You do not have permission."),
        StatusCode::TOO_MANY_REQUESTS => ApiError::new(status, "rate_limited", "Too many requests."),
        StatusCode::BAD_REQUEST => ApiError::invalid_json("The request could not be read."),
        status if status.is_server_error() => ApiError::internal(format!("{status} from a handler")),
        status => ApiError::new(status, "error", status.canonical_reason().unwrap_or("Error").to_owned()),
    }
}

//! The OpenAPI document, generated from the handlers' annotations.

use utoipa::OpenApi;

use crate::{error, routes};

/// The whole API's OpenAPI 3 document.
#[derive(Debug, OpenApi)]
#[openapi(
    info(
        title = "TaskForce API",
        description = "Multi-tenant project management. The tenant is chosen by the request's host name.",
        version = env!("CARGO_PKG_VERSION")
    ),
    paths(routes::health::health, routes::health::ready),
    components(schemas(error::ErrorBody, error::ErrorDetail)),
    tags((name = "platform", description = "Endpoints that work on any host"))
)]
pub struct ApiDoc;

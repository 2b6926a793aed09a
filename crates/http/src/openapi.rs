//! The OpenAPI document, generated from the handlers' annotations.

use utoipa::{
    Modify, OpenApi,
    openapi::{
        Content, Ref, RefOr, ResponseBuilder,
        path::{Operation, ParameterIn},
        security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
    },
};

use crate::{error, routes};

/// Declares the bearer-token scheme the secured operations name.
#[derive(Debug)]
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("JWT").build()),
        );
    }
}

/// Paths served on every host; the others answer on a tenant's host only.
const ANY_HOST: [&str; 3] = ["/api/health/", "/api/health/ready/", "/api/signup/"];

/// Documents the answers every operation of a kind can give, so that each
/// handler's annotation lists only its own: the tenant's host not found
/// (`404 tenant_not_found`), inactive (`403 tenant_inactive`) or being
/// upgraded (`503 unavailable`); a missing or refused token (`401`); a JSON
/// body that is malformed, too large or of another type (`400`, `413`,
/// `415`); a list's bad filter or a page past the last (`400`, `404`); a
/// path id that is no integer (`404`).
#[derive(Debug)]
struct StandardResponses;

fn error_response(description: &str) -> RefOr<utoipa::openapi::Response> {
    RefOr::T(
        ResponseBuilder::new()
            .description(description)
            .content("application/json", Content::new(Some(Ref::from_schema_name("ErrorBody"))))
            .build(),
    )
}

fn add_standard_responses(path: &str, operation: &mut Operation) {
    let mut add = |status: &str, description: &str| {
        operation.responses.responses.entry(status.to_owned()).or_insert_with(|| error_response(description));
    };
    if !ANY_HOST.contains(&path) {
        add("404", "Not found (`not_found`), or no tenant has this host (`tenant_not_found`).");
        add("403", "The role does not allow it (`permission_denied`), or the tenant is inactive (`tenant_inactive`).");
        add("503", "The tenant is being upgraded, or the database does not answer (`unavailable`).");
    }
    let secured = operation.security.as_ref().is_some_and(|requirements| !requirements.is_empty());
    if secured {
        add(
            "401",
            "No token, or a token that is invalid, expired or another tenant's (`not_authenticated`, `token_invalid`).",
        );
    }
    let json_body = operation.request_body.as_ref().is_some_and(|body| body.content.contains_key("application/json"));
    if json_body {
        add("400", "Malformed JSON (`invalid_json`) or invalid fields (`validation_failed`).");
        add("413", "The body is larger than 1 MiB (`payload_too_large`).");
        add("415", "The body is not `application/json` (`unsupported_media_type`).");
    }
    let parameters = operation.parameters.as_deref().unwrap_or_default();
    if parameters.iter().any(|p| p.parameter_in == ParameterIn::Query) {
        add("400", "A query parameter is invalid (`validation_failed`).");
    }
    if parameters.iter().any(|p| p.name == "page") {
        add("404", "A page past the last, or a page that is not a positive integer (`not_found`, \"Invalid page.\").");
    }
    if parameters.iter().any(|p| p.parameter_in == ParameterIn::Path) {
        add("404", "No such object in this tenant, or an id that is not an integer (`not_found`).");
    }
}

impl Modify for StandardResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for (path, item) in openapi.paths.paths.iter_mut() {
            let operations =
                [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch, &mut item.head];
            for operation in operations.into_iter().flatten() {
                add_standard_responses(path, operation);
            }
        }
    }
}

/// The whole API's OpenAPI 3 document.
#[derive(Debug, OpenApi)]
#[openapi(
    info(
        title = "TaskForce API",
        description = "Multi-tenant project management. The tenant is chosen by the request's host name.",
        version = env!("CARGO_PKG_VERSION")
    ),
    paths(
        routes::health::health,
        routes::health::ready,
        routes::signup::signup,
        routes::auth::register,
        routes::auth::login,
        routes::auth::refresh,
        routes::auth::logout,
        routes::auth::me,
        routes::tenants::show,
        routes::tenants::replace,
        routes::tenants::patch,
        routes::tenants::list_members,
        routes::tenants::invite,
        routes::tenants::change_role,
        routes::tenants::remove_member,
        routes::tenants::accept_invitation,
        routes::projects::list,
        routes::projects::create,
        routes::projects::show,
        routes::projects::replace,
        routes::projects::patch,
        routes::projects::delete,
        routes::tasks::list,
        routes::tasks::create,
        routes::tasks::show,
        routes::tasks::replace,
        routes::tasks::patch,
        routes::tasks::delete,
        routes::comments::list,
        routes::comments::create,
        routes::comments::patch,
        routes::comments::delete,
        routes::attachments::list,
        routes::attachments::upload,
        routes::attachments::show,
        routes::attachments::download,
        routes::attachments::delete,
        routes::activity::of_project,
        routes::activity::tenant_wide,
        routes::reports::summary,
        routes::reports::throughput,
        routes::reports::workload,
        routes::reports::cycle_time,
        routes::notifications::list,
        routes::notifications::read,
        routes::notifications::read_all,
        routes::notifications::ticket,
        routes::notifications::stream,
    ),
    modifiers(&BearerAuth, &StandardResponses),
    components(schemas(error::ErrorBody, error::ErrorDetail)),
    tags(
        (name = "platform", description = "Endpoints that work on any host"),
        (name = "auth", description = "Accounts and tokens, on a tenant's host"),
        (name = "tenant", description = "The tenant's settings and members"),
        (name = "projects", description = "Projects"),
        (name = "tasks", description = "Tasks, with filters, ordering and conditional updates"),
        (name = "comments", description = "Comments on tasks"),
        (name = "attachments", description = "Files on tasks: streamed multipart uploads and downloads"),
        (name = "activity", description = "The audit log"),
        (name = "reports", description = "Reports (dates in UTC, weeks from Monday)"),
        (name = "notifications", description = "Notifications and their live stream")
    )
)]
pub struct ApiDoc;

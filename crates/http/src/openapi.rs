//! The OpenAPI document, generated from the handlers' annotations.

use utoipa::{
    Modify, OpenApi,
    openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
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
    modifiers(&BearerAuth),
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

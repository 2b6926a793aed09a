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
/// body that is malformed, too large, of another type or too slow to arrive
/// (`400`, `413`, `415`, `408`); a list's bad filter or a page past the last (`400`, `404`); a
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
        add("408", "The body did not arrive within `server.body_timeout_secs` of its headers (`request_timeout`).");
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
    // the conditional headers, where the operation answers to them
    let answers = |status: &str| operation.responses.responses.contains_key(status);
    let mut headers = Vec::new();
    if answers("412") {
        headers.push((
            "If-Match",
            "Entity tags (or `*`) the object must still have; otherwise `412 precondition_failed` and nothing changes.",
        ));
    }
    if answers("304") {
        headers.push(("If-None-Match", "Entity tags (or `*`): when one is the object's, `304 Not Modified`."));
    }
    // a 304 carries the tag its 200 would have
    let tag = operation.responses.responses.get("200").and_then(|ok| match ok {
        RefOr::T(ok) => ok.headers.get("ETag").cloned(),
        RefOr::Ref(_) => None,
    });
    if let (Some(tag), Some(RefOr::T(not_modified))) = (tag, operation.responses.responses.get_mut("304")) {
        not_modified.headers.insert("ETag".to_owned(), tag);
    }
    for (name, description) in headers {
        let header = utoipa::openapi::path::ParameterBuilder::new()
            .name(name)
            .parameter_in(ParameterIn::Header)
            .required(utoipa::openapi::Required::False)
            .description(Some(description))
            .schema(Some(utoipa::openapi::schema::Object::with_type(utoipa::openapi::schema::Type::String)))
            .build();
        operation.parameters.get_or_insert_with(Vec::new).push(header);
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

/// Every field of an answer is sent, `null` where empty (no answer skips
/// one but the error body's, whose `fields`, `limit` and `resource` come
/// with some errors only), so each object schema that is not a request
/// body's lists all its properties as required: generated clients type them
/// as present and nullable, not as possibly missing (utoipa leaves
/// `Option` fields out).
#[derive(Debug)]
struct AnswersSendEveryField;

/// The answers whose optional fields are left out when empty.
const SKIPS_EMPTY_FIELDS: [&str; 2] = ["ErrorBody", "ErrorDetail"];

/// The schema names `value` refers to (`$ref`), at any depth.
fn references(value: &serde_json::Value, found: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(map) => {
            if let Some(name) = map.get("$ref").and_then(|r| r.as_str()).and_then(|r| r.rsplit('/').next()) {
                found.push(name.to_owned());
            }
            map.values().for_each(|v| references(v, found));
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| references(v, found)),
        _ => {}
    }
}

impl Modify for AnswersSendEveryField {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        // the schemas a request body reaches
        let mut to_visit = Vec::new();
        for item in openapi.paths.paths.values() {
            let operations = [&item.get, &item.put, &item.post, &item.delete, &item.patch, &item.head];
            for body in operations.into_iter().flatten().filter_map(|operation| operation.request_body.as_ref()) {
                if let Ok(body) = serde_json::to_value(body) {
                    references(&body, &mut to_visit);
                }
            }
        }
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut inputs = std::collections::BTreeSet::new();
        while let Some(name) = to_visit.pop() {
            if !inputs.insert(name.clone()) {
                continue;
            }
            if let Some(schema) = components.schemas.get(&name)
                && let Ok(schema) = serde_json::to_value(schema)
            {
                references(&schema, &mut to_visit);
            }
        }
        for (name, schema) in components.schemas.iter_mut() {
            if !inputs.contains(name) && !SKIPS_EMPTY_FIELDS.contains(&name.as_str()) {
                require_every_field(schema);
            }
        }
    }
}

/// Makes every property of `schema`'s objects required, at any depth of
/// its inline schemas (a page's items are inlined into it); references are
/// left to their own schema.
fn require_every_field(schema: &mut RefOr<utoipa::openapi::schema::Schema>) {
    use utoipa::openapi::schema::{ArrayItems, Schema};
    let RefOr::T(schema) = schema else { return };
    match schema {
        Schema::Object(object) => {
            object.required = object.properties.keys().cloned().collect();
            object.properties.values_mut().for_each(require_every_field);
        }
        Schema::Array(array) => {
            if let ArrayItems::RefOrSchema(items) = &mut array.items {
                require_every_field(items);
            }
        }
        Schema::OneOf(one_of) => one_of.items.iter_mut().for_each(require_every_field),
        Schema::AllOf(all_of) => all_of.items.iter_mut().for_each(require_every_field),
        Schema::AnyOf(any_of) => any_of.items.iter_mut().for_each(require_every_field),
        _ => {}
    }
}

/// Operation ids unique over the document, as OpenAPI requires (utoipa
/// takes the handler's name: five `list`s, four `show`s): the tag, then
/// the handler, `projects_list`, `tasks_show`.
#[derive(Debug)]
struct UniqueOperationIds;

impl Modify for UniqueOperationIds {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for item in openapi.paths.paths.values_mut() {
            let operations =
                [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch, &mut item.head];
            for operation in operations.into_iter().flatten() {
                let tag = operation.tags.as_ref().and_then(|tags| tags.first()).cloned();
                if let (Some(tag), Some(id)) = (tag, operation.operation_id.as_mut())
                    && !id.starts_with(&format!("{tag}_"))
                {
                    *id = format!("{tag}_{id}");
                }
            }
        }
    }
}

/// Where a string takes one of a fixed set of values: a body's or answer's
/// field (`schema`, `property`), or a query parameter (`path`, `name`).
#[derive(Debug, Clone, Copy)]
enum Place {
    Field(&'static str, &'static str),
    Query(&'static str, &'static str),
}

/// The strings that are choices, with the domain's own lists of them, so
/// that a generated client gets an enumeration. (`PATCH` bodies are copies
/// of the full ones, made after this.)
fn choices() -> Vec<(Vec<&'static str>, &'static [Place])> {
    use Place::{Field, Query};
    use taskforce_domain::{NotificationKind, Plan, Priority, ProjectStatus, Role, TargetType, TaskStatus, Verb};
    vec![
        (
            TaskStatus::ALL.map(TaskStatus::as_str).to_vec(),
            &[Field("TaskIn", "status"), Field("TaskOut", "status"), Query("/api/projects/{id}/tasks/", "status")],
        ),
        (
            Priority::ALL.map(Priority::as_str).to_vec(),
            &[
                Field("TaskIn", "priority"),
                Field("TaskOut", "priority"),
                Query("/api/projects/{id}/tasks/", "priority"),
            ],
        ),
        (
            ProjectStatus::ALL.map(ProjectStatus::as_str).to_vec(),
            &[Field("ProjectIn", "status"), Field("ProjectOut", "status"), Query("/api/projects/", "status")],
        ),
        (
            Role::ALL.map(Role::as_str).to_vec(),
            &[
                Field("InviteBody", "role"),
                Field("RoleBody", "role"),
                Field("InvitationBody", "role"),
                Field("PendingInvitationBody", "role"),
                Field("MemberBody", "role"),
                Field("Me", "role"),
            ],
        ),
        (Plan::ALL.map(Plan::as_str).to_vec(), &[Field("TenantBody", "plan"), Field("SignupTenant", "plan")]),
        (NotificationKind::ALL.map(NotificationKind::as_str).to_vec(), &[Field("NotificationOut", "kind")]),
        (
            TargetType::ALL.map(TargetType::as_str).to_vec(),
            &[
                Field("ActivityOut", "target_type"),
                Field("NotificationOut", "target_type"),
                Query("/api/activity/", "target_type"),
            ],
        ),
        (Verb::ALL.map(Verb::as_str).to_vec(), &[Field("ActivityOut", "verb")]),
        (routes::reports::FORMATS.to_vec(), &[Query("/api/reports/throughput/", "format")]),
    ]
}

/// Applies [`choices`].
#[derive(Debug)]
struct Choices;

impl Modify for Choices {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::schema::Schema;
        let components = openapi.components.get_or_insert_with(Default::default);
        for (values, places) in choices() {
            let values: Vec<serde_json::Value> = values.into_iter().map(serde_json::Value::from).collect();
            for place in places {
                let schema = match *place {
                    Place::Field(schema, property) => match components.schemas.get_mut(schema) {
                        Some(RefOr::T(Schema::Object(object))) => object.properties.get_mut(property),
                        _ => None,
                    },
                    Place::Query(path, name) => openapi
                        .paths
                        .paths
                        .get_mut(path)
                        .and_then(|item| item.get.as_mut())
                        .and_then(|operation| operation.parameters.as_mut())
                        .and_then(|parameters| {
                            parameters.iter_mut().find(|p| p.parameter_in == ParameterIn::Query && p.name == name)
                        })
                        .and_then(|parameter| parameter.schema.as_mut()),
                };
                if let Some(RefOr::T(Schema::Object(object))) = schema {
                    object.enum_values = Some(values.clone());
                }
            }
        }
    }
}

/// The fields each request body must carry. The handlers read every field
/// as an option so that a missing one is answered field by field ("This
/// field is required."), which utoipa would document as optional and
/// nullable; a client generated from the document must send these.
const REQUIRED: [(&str, &[&str]); 10] = [
    ("RegisterBody", &["username", "email", "password", "password_confirm"]),
    ("LoginBody", &["username", "password"]),
    ("RefreshBody", &["refresh"]),
    ("SignupBody", &["tenant_name", "slug", "username", "email", "password", "password_confirm"]),
    ("InviteBody", &["email", "role"]),
    ("AcceptBody", &["token", "username", "password"]),
    ("CommentIn", &["body"]),
    ("ProjectIn", &["name"]),
    ("TaskIn", &["title"]),
    ("TenantSettingsBody", &["name"]),
];

/// Every request body with the fields that may be `null` (`body::Nullable`):
/// the others are documented without `null`, as the server refuses it.
const NULLABLE: [(&str, &[&str]); 11] = {
    use crate::body::Nullable;
    use routes::{auth, comments, projects, signup, tasks, tenants};
    [
        ("RegisterBody", auth::RegisterBody::NULLABLE),
        ("LoginBody", auth::LoginBody::NULLABLE),
        ("RefreshBody", auth::RefreshBody::NULLABLE),
        ("SignupBody", signup::SignupBody::NULLABLE),
        ("InviteBody", tenants::InviteBody::NULLABLE),
        ("RoleBody", tenants::RoleBody::NULLABLE),
        ("AcceptBody", tenants::AcceptBody::NULLABLE),
        ("TenantSettingsBody", tenants::TenantSettingsBody::NULLABLE),
        ("CommentIn", comments::CommentIn::NULLABLE),
        ("ProjectIn", projects::ProjectIn::NULLABLE),
        ("TaskIn", tasks::TaskIn::NULLABLE),
    ]
};

/// The bodies a `PATCH` sends in part: every field optional, under a
/// schema of its own (`ProjectPatch`, …) so that `POST` and `PUT` keep
/// their required fields.
const PARTIAL: [(&str, &str); 4] = [
    ("ProjectIn", "ProjectPatch"),
    ("TaskIn", "TaskPatch"),
    ("TenantSettingsBody", "TenantSettingsPatch"),
    ("CommentIn", "CommentPatch"),
];

/// Applies [`REQUIRED`] and [`PARTIAL`].
#[derive(Debug)]
struct RequiredFields;

impl Modify for RequiredFields {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::schema::Schema;
        let components = openapi.components.get_or_insert_with(Default::default);
        for (name, nullable) in NULLABLE {
            let Some(RefOr::T(Schema::Object(object))) = components.schemas.get_mut(name) else { continue };
            for (field, property) in object.properties.iter_mut() {
                if let RefOr::T(Schema::Object(property)) = property
                    && !nullable.contains(&field.as_str())
                {
                    without_null(property);
                }
            }
        }
        for (full, partial) in PARTIAL {
            if let Some(schema) = components.schemas.get(full).cloned() {
                components.schemas.insert(partial.to_owned(), schema);
            }
        }
        for (name, fields) in REQUIRED {
            let Some(RefOr::T(Schema::Object(object))) = components.schemas.get_mut(name) else { continue };
            object.required = fields.iter().map(|f| (*f).to_owned()).collect();
            for field in fields {
                // sent, and not as null
                if let Some(RefOr::T(Schema::Object(property))) = object.properties.get_mut(*field) {
                    without_null(property);
                }
            }
        }
        for item in openapi.paths.paths.values_mut() {
            let Some(body) = item.patch.as_mut().and_then(|patch| patch.request_body.as_mut()) else { continue };
            for content in body.content.values_mut() {
                if let Some(RefOr::Ref(reference)) = content.schema.as_mut()
                    && let Some((_, partial)) =
                        PARTIAL.iter().find(|(full, _)| reference.ref_location.ends_with(&format!("/{full}")))
                {
                    *reference = Ref::from_schema_name(*partial);
                }
            }
            // no body at all reads as `{}`: such a PATCH changes nothing, and is answered 200
            body.required = Some(utoipa::openapi::Required::False);
        }
    }
}

/// A property's type without `null`.
fn without_null(property: &mut utoipa::openapi::schema::Object) {
    use utoipa::openapi::schema::{SchemaType, Type};
    if let SchemaType::Array(types) = &property.schema_type {
        let types: Vec<Type> = types.iter().filter(|t| **t != Type::Null).cloned().collect();
        property.schema_type = match types.as_slice() {
            [one] => SchemaType::Type(one.clone()),
            _ => SchemaType::Array(types),
        };
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
        routes::tenants::list_invitations,
        routes::tenants::withdraw_invitation,
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
    modifiers(&BearerAuth, &StandardResponses, &Choices, &RequiredFields, &AnswersSendEveryField, &UniqueOperationIds),
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The schema `name`'s required fields, and whether `field` may be null.
    fn schema(document: &serde_json::Value, name: &str, field: &str) -> (Vec<String>, bool) {
        let schema = &document["components"]["schemas"][name];
        let required =
            schema["required"].as_array().into_iter().flatten().filter_map(|f| f.as_str()).map(str::to_owned);
        let nullable = schema["properties"][field]["type"].as_array().is_some_and(|t| t.iter().any(|t| t == "null"));
        (required.collect(), nullable)
    }

    fn body_of<'a>(document: &'a serde_json::Value, path: &str, method: &str) -> &'a serde_json::Value {
        &document["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    }

    /// Every body's fields, as serde reads them, are its schema's
    /// properties, and the ones that take null are among them: the null
    /// rule (`body::Nullable`) judges the fields serde lists, so a body
    /// whose names it could not list would take null everywhere.
    #[test]
    fn every_body_s_fields_are_its_schema_s_and_its_nullable_ones_are_fields() -> Result<(), serde_json::Error> {
        use crate::body::{Nullable, field_names};
        use routes::{auth, comments, projects, signup, tasks, tenants};
        let document = serde_json::to_value(ApiDoc::openapi())?;
        let bodies: [(&str, &[&str], &[&str]); 11] = [
            ("RegisterBody", field_names::<auth::RegisterBody>(), auth::RegisterBody::NULLABLE),
            ("LoginBody", field_names::<auth::LoginBody>(), auth::LoginBody::NULLABLE),
            ("RefreshBody", field_names::<auth::RefreshBody>(), auth::RefreshBody::NULLABLE),
            ("SignupBody", field_names::<signup::SignupBody>(), signup::SignupBody::NULLABLE),
            ("InviteBody", field_names::<tenants::InviteBody>(), tenants::InviteBody::NULLABLE),
            ("RoleBody", field_names::<tenants::RoleBody>(), tenants::RoleBody::NULLABLE),
            ("AcceptBody", field_names::<tenants::AcceptBody>(), tenants::AcceptBody::NULLABLE),
            ("TenantSettingsBody", field_names::<tenants::TenantSettingsBody>(), tenants::TenantSettingsBody::NULLABLE),
            ("CommentIn", field_names::<comments::CommentIn>(), comments::CommentIn::NULLABLE),
            ("ProjectIn", field_names::<projects::ProjectIn>(), projects::ProjectIn::NULLABLE),
            ("TaskIn", field_names::<tasks::TaskIn>(), tasks::TaskIn::NULLABLE),
        ];
        assert_eq!(bodies.map(|(name, ..)| name), NULLABLE.map(|(name, _)| name), "the same bodies as NULLABLE");
        for (name, fields, nullable) in bodies {
            let mut documented: Vec<&str> = document["components"]["schemas"][name]["properties"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(field, _)| field.as_str())
                .collect();
            let mut fields = fields.to_vec();
            documented.sort_unstable();
            fields.sort_unstable();
            assert!(!fields.is_empty(), "{name}: serde listed no field");
            assert_eq!(fields, documented, "{name}");
            assert!(nullable.iter().all(|field| fields.contains(field)), "{name}: {nullable:?}");
        }
        Ok(())
    }

    /// What a validator (openapi-spec-validator) refuses: an operation id
    /// given twice, a path parameter the path does not have.
    #[test]
    fn operation_ids_are_unique_and_path_parameters_are_in_their_paths() -> Result<(), serde_json::Error> {
        let document = serde_json::to_value(ApiDoc::openapi())?;
        let mut ids = std::collections::HashSet::new();
        let paths = document["paths"].as_object().into_iter().flatten();
        for (path, item) in paths {
            for (method, operation) in item.as_object().into_iter().flatten() {
                let id = operation["operationId"].as_str().unwrap_or_default();
                assert!(!id.is_empty() && ids.insert(id.to_owned()), "{method} {path}: operation id {id:?} again");
                for parameter in operation["parameters"].as_array().into_iter().flatten() {
                    let name = parameter["name"].as_str().unwrap_or_default();
                    let in_path = path.contains(&format!("{{{name}}}"));
                    assert_eq!(parameter["in"] == "path", in_path, "{method} {path}: the parameter {name}");
                }
            }
        }
        assert!(ids.contains("projects_list") && ids.contains("notifications_stream"), "{ids:?}");
        // the conditional headers are declared where they are answered
        let names = |path: &str, method: &str| -> Vec<String> {
            document["paths"][path][method]["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|p| p["in"] == "header")
                .filter_map(|p| p["name"].as_str().map(str::to_owned))
                .collect()
        };
        assert_eq!(names("/api/tasks/{id}/", "patch"), ["If-Match"]);
        assert_eq!(names("/api/tenants/me/", "get"), ["If-None-Match"]);
        assert_eq!(names("/api/attachments/{id}/", "delete"), ["If-Match"]);
        assert!(names("/api/projects/", "get").is_empty());
        assert!(ids.len() >= 50, "{}", ids.len());
        Ok(())
    }

    #[test]
    fn required_fields_are_documented_required_and_patches_as_partial() -> Result<(), serde_json::Error> {
        let document = serde_json::to_value(ApiDoc::openapi())?;
        assert_eq!(
            schema(&document, "RegisterBody", "password"),
            (vec!["username".into(), "email".into(), "password".into(), "password_confirm".into()], false)
        );
        assert_eq!(schema(&document, "RefreshBody", "refresh"), (vec!["refresh".into()], false));
        // an optional field stays optional, and takes null only where the
        // server does (anything else given as null is refused)
        let (required, nullable) = schema(&document, "TaskIn", "description");
        assert_eq!((required, nullable), (vec!["title".into()], false));
        assert!(schema(&document, "TaskIn", "due_date").1);
        assert!(schema(&document, "TaskPatch", "assignee_id").1);
        assert!(!schema(&document, "ProjectPatch", "description").1);
        assert_eq!(schema(&document, "TaskIn", "title"), (vec!["title".into()], false));
        // POST and PUT send the whole object, PATCH a part of it
        for (path, full, partial) in [
            ("/api/projects/{id}/", "ProjectIn", "ProjectPatch"),
            ("/api/tasks/{id}/", "TaskIn", "TaskPatch"),
            ("/api/tenants/me/", "TenantSettingsBody", "TenantSettingsPatch"),
        ] {
            assert_eq!(body_of(&document, path, "put"), &format!("#/components/schemas/{full}"), "{path}");
            assert_eq!(body_of(&document, path, "patch"), &format!("#/components/schemas/{partial}"), "{path}");
            assert_eq!(document["paths"][path]["patch"]["requestBody"]["required"], false, "{path}");
            assert_eq!(document["paths"][path]["put"]["requestBody"]["required"], true, "{path}");
            assert_eq!(schema(&document, partial, "name").0, Vec::<String>::new(), "{partial}");
            assert!(
                document["components"]["schemas"][partial]["properties"].as_object().is_some_and(|p| !p.is_empty())
            );
        }
        assert_eq!(body_of(&document, "/api/projects/", "post"), "#/components/schemas/ProjectIn");
        // every schema named in the tables exists: a renamed struct is caught here
        for (name, fields) in REQUIRED {
            for field in fields {
                assert!(document["components"]["schemas"][name]["properties"][field].is_object(), "{name}.{field}");
            }
        }
        Ok(())
    }

    /// Every choice is declared where it is taken or shown, with the
    /// domain's values (a renamed schema, field or parameter fails here,
    /// as the modifier would skip it), `PATCH` bodies included.
    #[test]
    fn choices_are_enumerations_with_the_domain_s_values() -> Result<(), serde_json::Error> {
        let document = serde_json::to_value(ApiDoc::openapi())?;
        for (values, places) in choices() {
            for place in places {
                let declared = match *place {
                    Place::Field(schema, property) => {
                        &document["components"]["schemas"][schema]["properties"][property]
                    }
                    Place::Query(path, name) => document["paths"][path]["get"]["parameters"]
                        .as_array()
                        .and_then(|ps| ps.iter().find(|p| p["in"] == "query" && p["name"] == name))
                        .map_or(&serde_json::Value::Null, |p| &p["schema"]),
                };
                assert_eq!(declared["enum"], serde_json::json!(values), "{place:?}");
            }
        }
        let patched = &document["components"]["schemas"]["TaskPatch"]["properties"]["status"]["enum"];
        assert_eq!(patched, &serde_json::json!(["todo", "in_progress", "in_review", "done"]));
        Ok(())
    }

    /// A `304` declares the `ETag` its `200` does, and the stream its
    /// `Last-Event-ID` header.
    #[test]
    fn not_modified_answers_carry_the_tag_and_the_stream_takes_last_event_id() -> Result<(), serde_json::Error> {
        let document = serde_json::to_value(ApiDoc::openapi())?;
        let mut conditional = 0;
        for (path, item) in document["paths"].as_object().into_iter().flatten() {
            let Some(not_modified) = item["get"]["responses"].get("304") else { continue };
            conditional += 1;
            assert_eq!(not_modified["headers"]["ETag"], item["get"]["responses"]["200"]["headers"]["ETag"], "{path}");
            assert!(not_modified["headers"]["ETag"].is_object(), "{path}");
        }
        assert_eq!(conditional, 4, "projects, tasks, attachments and the tenant answer 304");
        let stream = document["paths"]["/api/notifications/stream/"]["get"]["parameters"].as_array();
        assert!(stream.into_iter().flatten().any(|p| p["in"] == "header" && p["name"] == "Last-Event-ID"));
        Ok(())
    }

    /// The answers' schemas require every field they list (the server sends
    /// each, `null` where empty), nested ones and pages' `next` and
    /// `previous` too; a request body's optional fields stay optional.
    #[test]
    fn an_answer_s_fields_are_all_required_and_a_body_s_optional_ones_not() -> Result<(), serde_json::Error> {
        let document = serde_json::to_value(ApiDoc::openapi())?;
        let required = |name: &str| {
            let mut fields: Vec<String> = document["components"]["schemas"][name]["required"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|f| f.as_str().map(str::to_owned))
                .collect();
            fields.sort_unstable();
            fields
        };
        let properties = |name: &str| {
            let fields: Vec<String> = document["components"]["schemas"][name]["properties"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(f, _)| f.clone())
                .collect();
            fields
        };
        for name in ["TaskOut", "NotificationOut", "ActivityOut", "CycleTimeOut", "Amounts", "TenantBody", "MemberBody"]
        {
            assert!(!properties(name).is_empty(), "{name} has no properties");
            assert_eq!(required(name), properties(name), "{name}");
        }
        let pages: Vec<&String> = document["components"]["schemas"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(n, _)| n)
            .filter(|n| n.starts_with("PageBody"))
            .collect();
        assert!(pages.len() >= 5, "{pages:?}");
        for page in pages {
            assert_eq!(required(page), ["count", "next", "previous", "results"], "{page}");
            let items = &document["components"]["schemas"][page]["properties"]["results"]["items"];
            if let Some(fields) = items["properties"].as_object() {
                let listed = items["required"].as_array().map_or(0, Vec::len);
                assert_eq!(listed, fields.len(), "{page}'s items: {items}");
            }
        }
        assert!(required("TaskIn").contains(&"title".to_owned()));
        assert!(!required("TaskIn").contains(&"due_date".to_owned()), "a body's optional field became required");
        assert!(required("TaskPatch").is_empty());
        Ok(())
    }

    /// The answers every operation of a kind can give are declared on each,
    /// in the error format: a JSON body's `400`, `408`, `413` and `415`, a
    /// token's `401`, a tenant host's `403`, `404` and `503`.
    #[test]
    fn every_operation_declares_the_standard_answers_of_its_kind() -> Result<(), serde_json::Error> {
        let document = serde_json::to_value(ApiDoc::openapi())?;
        let (mut with_body, mut secured) = (0, 0);
        for (path, item) in document["paths"].as_object().into_iter().flatten() {
            for (method, operation) in item.as_object().into_iter().flatten() {
                let responses = &operation["responses"];
                let declared = |status: &str| {
                    let schema = &responses[status]["content"]["application/json"]["schema"]["$ref"];
                    assert_eq!(schema, "#/components/schemas/ErrorBody", "{method} {path}: {status}");
                };
                if operation["requestBody"]["content"].get("application/json").is_some() {
                    with_body += 1;
                    ["400", "408", "413", "415"].into_iter().for_each(declared);
                }
                if operation["security"].as_array().is_some_and(|s| !s.is_empty()) {
                    secured += 1;
                    declared("401");
                }
                if !ANY_HOST.contains(&path.as_str()) {
                    ["403", "404", "503"].into_iter().for_each(declared);
                }
            }
        }
        assert!(with_body >= 15 && secured >= 40, "{with_body} operations with a JSON body, {secured} secured");
        Ok(())
    }
}

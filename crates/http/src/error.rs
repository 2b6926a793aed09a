//! [`ApiError`]: every error the API answers, in the contract's JSON shape,
//! mapped from the core's errors in one place.

use std::collections::BTreeMap;

use actix_web::{
    HttpResponse, ResponseError,
    http::{StatusCode, header},
};
use serde::Serialize;
use taskforce_application::{FieldErrors, ResolveError};
use taskforce_domain::StoreError;
use utoipa::ToSchema;

/// An error answer: status, stable code, a sentence for people, and for
/// validation failures the problems per field. Boxed, so results that carry
/// it stay small.
#[derive(Debug)]
pub struct ApiError(Box<Inner>);

#[derive(Debug)]
struct Inner {
    status: StatusCode,
    code: &'static str,
    message: String,
    fields: Option<BTreeMap<String, Vec<String>>>,
    extra: serde_json::Map<String, serde_json::Value>,
    retry_after: Option<u64>,
    /// What went wrong inside, for the log only; never sent.
    cause: Option<String>,
    /// `tenant_not_found` for the request's host, whose name the error does
    /// not know: [`crate::reject::json_error_bodies`] writes the message.
    names_the_host: bool,
}

/// Marks a response whose message names the request's host (see
/// [`ApiError::tenant_gone`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct NamesTheHost;

/// The body of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// The error inside [`ErrorBody`].
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable machine-readable code, such as `validation_failed`.
    #[schema(example = "validation_failed")]
    pub code: String,
    /// A human-readable sentence.
    pub message: String,
    /// Problems per field (validation errors only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fields: Option<BTreeMap<String, Vec<String>>>,
    /// `plan_limit_exceeded` only: the limit reached.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// `plan_limit_exceeded` only: the limited resource.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
}

impl ApiError {
    /// An error with a status, code and message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self(Box::new(Inner {
            status,
            code,
            message: message.into(),
            fields: None,
            extra: serde_json::Map::new(),
            retry_after: None,
            cause: None,
            names_the_host: false,
        }))
    }

    /// `404 tenant_not_found` for a tenant deleted before or while the
    /// request ran, in the contract's words for a host with no tenant
    /// (`No tenant for hostname '<host>'`), as its host answers now.
    fn tenant_gone(cause: StoreError) -> Self {
        let mut error =
            Self::new(StatusCode::NOT_FOUND, "tenant_not_found", "No tenant for this hostname").with_cause(cause);
        error.0.names_the_host = true;
        error
    }

    /// `400 validation_failed` with problems per field.
    pub fn validation(fields: &FieldErrors) -> Self {
        let mut error = Self::new(StatusCode::BAD_REQUEST, "validation_failed", "Invalid input.");
        error.0.fields = Some(fields.fields().clone());
        error
    }

    /// `400 validation_failed` for one field.
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        let mut fields = FieldErrors::new();
        fields.add(field, message);
        Self::validation(&fields)
    }

    /// `400 invalid_json`.
    pub fn invalid_json(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_json", message)
    }

    /// `412 precondition_failed`: `If-Match` names another version.
    pub fn precondition_failed() -> Self {
        Self::new(
            StatusCode::PRECONDITION_FAILED,
            "precondition_failed",
            "The object has changed since you read it; fetch it again (see its ETag).",
        )
    }

    /// `404 not_found`.
    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "Not found.")
    }

    /// `403 tenant_inactive`.
    pub fn tenant_inactive() -> Self {
        Self::new(StatusCode::FORBIDDEN, "tenant_inactive", "This tenant is inactive.")
    }

    /// `404 tenant_not_found` for a host.
    pub fn tenant_not_found(host: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, "tenant_not_found", format!("No tenant for hostname '{host}'"))
    }

    /// `405 method_not_allowed`.
    pub fn method_not_allowed() -> Self {
        Self::new(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "Method not allowed.")
    }

    /// `413 payload_too_large`.
    pub fn payload_too_large(message: impl Into<String>) -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", message)
    }

    /// `415 unsupported_media_type`.
    pub fn unsupported_media_type(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", message)
    }

    /// `503 unavailable`: a dependency is down or a tenant is being upgraded.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message).retry_after(1)
    }

    /// `500 internal`; the cause goes to the log, never to the client.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "Internal server error.").with_cause(cause)
    }

    /// Sets `Retry-After` (seconds).
    pub fn retry_after(mut self, seconds: u64) -> Self {
        self.0.retry_after = Some(seconds);
        self
    }

    /// Adds an extra member to the error object (`limit`, `resource`).
    pub fn with_extra(mut self, key: &str, value: serde_json::Value) -> Self {
        self.0.extra.insert(key.to_owned(), value);
        self
    }

    /// Records the internal cause, for the log.
    pub fn with_cause(mut self, cause: impl std::fmt::Display) -> Self {
        self.0.cause = Some(cause.to_string());
        self
    }

    /// The stable code.
    pub fn code(&self) -> &'static str {
        self.0.code
    }

    /// The fields a validation failure names (tests).
    #[cfg(test)]
    pub(crate) fn field_names(&self) -> Vec<&str> {
        self.0.fields.iter().flat_map(|fields| fields.keys().map(String::as_str)).collect()
    }

    pub(crate) fn body(&self) -> serde_json::Value {
        let inner = &self.0;
        let mut error = serde_json::Map::new();
        error.insert("code".into(), inner.code.into());
        error.insert("message".into(), inner.message.clone().into());
        if let Some(fields) = &inner.fields {
            error.insert("fields".into(), serde_json::json!(fields));
        }
        error.extend(inner.extra.clone());
        serde_json::json!({ "error": error })
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.0.status.as_u16(), self.0.code, self.0.message)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.0.status
    }

    fn error_response(&self) -> HttpResponse {
        let inner = &self.0;
        if inner.status.is_server_error() {
            tracing::error!(code = inner.code, cause = inner.cause.as_deref().unwrap_or(""), "request failed");
        }
        let mut response = HttpResponse::build(inner.status);
        if let Some(seconds) = inner.retry_after {
            response.insert_header((header::RETRY_AFTER, seconds.to_string()));
        }
        // HTTP requires a challenge with every 401 (RFC 9110 §15.5.2); the
        // bearer scheme's names a bad token (RFC 6750 §3), as DRF's did
        if inner.status == StatusCode::UNAUTHORIZED {
            let challenge = if inner.code == "token_invalid" {
                r#"Bearer realm="api", error="invalid_token""#
            } else {
                r#"Bearer realm="api""#
            };
            response.insert_header((header::WWW_AUTHENTICATE, challenge));
        }
        let mut response = response.insert_header((header::CACHE_CONTROL, "no-store")).json(self.body());
        if inner.names_the_host {
            response.extensions_mut().insert(NamesTheHost);
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound => Self::not_found(),
            StoreError::Duplicate(_) => {
                Self::new(StatusCode::CONFLICT, "conflict", "This conflicts with existing data.").with_cause(error)
            }
            StoreError::Unavailable(_) | StoreError::Timeout => {
                Self::unavailable("The service is temporarily unavailable; try again shortly.").with_cause(error)
            }
            // deleted before the request could begin: as its host answers now
            StoreError::TenantGone(_) => Self::tenant_gone(error),
            // where a parent may go meanwhile the use case says not found;
            // anywhere else a row naming no row is a fault
            StoreError::Aborted
            | StoreError::Internal(_)
            | StoreError::MissingReference(_)
            | StoreError::Refused { .. } => Self::internal(error),
        }
    }
}

impl From<ResolveError> for ApiError {
    fn from(error: ResolveError) -> Self {
        match error {
            ResolveError::UnknownHost(host) => Self::tenant_not_found(host.as_str()),
            ResolveError::Inactive => Self::tenant_inactive(),
            ResolveError::SchemaNotReady => Self::unavailable("This tenant is being upgraded; try again shortly."),
            ResolveError::Store(store) => store.into(),
        }
    }
}

impl From<actix_web::error::BlockingError> for ApiError {
    fn from(error: actix_web::error::BlockingError) -> Self {
        Self::internal(format!("blocking task failed: {error}"))
    }
}

impl ApiError {
    /// `403 plan_limit_exceeded` naming the resource and the limit.
    pub fn plan_limit(resource: taskforce_domain::LimitedResource, limit: u32) -> Self {
        let noun = match (resource.as_str(), limit) {
            (plural, 1) => plural.trim_end_matches('s'),
            (plural, _) => plural,
        };
        Self::new(StatusCode::FORBIDDEN, "plan_limit_exceeded", format!("Your plan allows at most {limit} {noun}."))
            .with_extra("limit", limit.into())
            .with_extra("resource", resource.as_str().into())
    }

    /// `403 permission_denied`.
    pub fn denied() -> Self {
        Self::new(StatusCode::FORBIDDEN, "permission_denied", "You do not have permission to perform this action.")
    }

    /// `409 conflict` whose message says what clashed ("A user with that
    /// username already exists."): the contract keeps `fields` for
    /// validation errors alone.
    pub fn conflict(fields: &FieldErrors) -> Self {
        let clashes: Vec<&str> = fields.fields().values().flatten().map(String::as_str).collect();
        let message =
            if clashes.is_empty() { "This conflicts with existing data.".to_owned() } else { clashes.join(" ") };
        Self::new(StatusCode::CONFLICT, "conflict", message)
    }
}

impl From<taskforce_application::Denied> for ApiError {
    fn from(_: taskforce_application::Denied) -> Self {
        Self::denied()
    }
}

impl From<taskforce_application::JoinError> for ApiError {
    fn from(error: taskforce_application::JoinError) -> Self {
        use taskforce_application::JoinError;
        match error {
            JoinError::SignupClosed => {
                Self::new(StatusCode::FORBIDDEN, "signup_closed", "Registration is closed on this tenant.")
            }
            JoinError::Invalid(fields) => Self::validation(&fields),
            JoinError::PlanLimit { limit, .. } => Self::plan_limit(taskforce_domain::LimitedResource::Members, limit),
            JoinError::AlreadyMember => {
                Self::new(StatusCode::CONFLICT, "conflict", "You are already a member of this tenant.")
            }
            JoinError::TenantInactive => Self::tenant_inactive(),
            JoinError::Auth(auth) => auth.into(),
            JoinError::Store(store) => store.into(),
        }
    }
}

impl From<taskforce_application::SignupError> for ApiError {
    fn from(error: taskforce_application::SignupError) -> Self {
        use taskforce_application::SignupError;
        match error {
            SignupError::Invalid(fields) => Self::validation(&fields),
            SignupError::Conflict(fields) => Self::conflict(&fields),
            SignupError::Throttled { retry_after } => {
                Self::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", error.to_string()).retry_after(retry_after)
            }
            SignupError::Auth(auth) => auth.into(),
            SignupError::Store(store) => store.into(),
        }
    }
}

impl From<taskforce_application::MembersError> for ApiError {
    fn from(error: taskforce_application::MembersError) -> Self {
        use taskforce_application::MembersError;
        match error {
            MembersError::Denied(_) => Self::denied(),
            MembersError::NotFound => Self::not_found(),
            MembersError::LastOwner => {
                Self::new(StatusCode::CONFLICT, "conflict", "A tenant must keep at least one owner.")
            }
            MembersError::Invalid(fields) => Self::validation(&fields),
            MembersError::PlanLimit { limit } => Self::plan_limit(taskforce_domain::LimitedResource::Members, limit),
            MembersError::PreconditionFailed => Self::precondition_failed(),
            MembersError::Store(store) => store.into(),
        }
    }
}

impl From<taskforce_application::WorkError> for ApiError {
    fn from(error: taskforce_application::WorkError) -> Self {
        use taskforce_application::WorkError;
        match error {
            WorkError::Denied(_) => Self::denied(),
            WorkError::NotFound => Self::not_found(),
            WorkError::Invalid(fields) => Self::validation(&fields),
            WorkError::PlanLimit { resource, limit } => Self::plan_limit(resource, limit),
            WorkError::PreconditionFailed => Self::precondition_failed(),
            WorkError::FileTooLarge { limit } => {
                Self::payload_too_large(format!("The file is larger than the limit of {limit} bytes."))
            }
            WorkError::UploadInterrupted => Self::field("file", "The upload was interrupted before the file ended."),
            WorkError::TenantInactive => Self::tenant_inactive(),
            WorkError::Store(store) => store.into(),
            // a record whose bytes are gone: the client can do nothing about
            // it but delete the record; the operator is told in the log
            WorkError::FileMissing => {
                tracing::warn!("an attachment's bytes are missing from the file store");
                Self::new(StatusCode::NOT_FOUND, "not_found", "This attachment's file is no longer stored.")
            }
            WorkError::Files(cause) => Self::internal(format!("file store: {cause}")),
        }
    }
}

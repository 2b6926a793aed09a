//! Liveness and readiness.

use actix_web::{HttpResponse, web};
use serde::Serialize;
use utoipa::ToSchema;

use crate::AppState;

/// Liveness: the process answers.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// Always `healthy`.
    #[schema(example = "healthy")]
    pub status: &'static str,
    /// Always `TaskForce API is running`.
    #[schema(example = "TaskForce API is running")]
    pub message: &'static str,
}

/// Readiness: whether the dependencies answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct Readiness {
    /// `ready` or `unavailable`.
    #[schema(example = "ready")]
    pub status: &'static str,
    /// One entry per dependency.
    pub checks: ReadinessChecks,
}

/// The state of each dependency.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReadinessChecks {
    /// `ok` or `unavailable`.
    pub database: &'static str,
    /// `ok`, `disabled` (in-process cache) or `degraded` (Redis unreachable).
    pub cache: &'static str,
    /// `ok` or `unavailable` (attachments cannot be stored; everything
    /// else works, so readiness does not depend on it).
    pub files: &'static str,
}

/// Liveness check; touches no database.
#[utoipa::path(get, path = "/api/health/", tag = "platform", responses((status = 200, body = Health)))]
pub async fn health() -> web::Json<Health> {
    web::Json(Health { status: "healthy", message: "TaskForce API is running" })
}

/// Readiness check: `200` when the database answers, `503` otherwise.
#[utoipa::path(
    get,
    path = "/api/health/ready/",
    tag = "platform",
    responses((status = 200, body = Readiness), (status = 503, body = Readiness))
)]
pub async fn ready(state: web::Data<AppState>) -> HttpResponse {
    let health = state.health.clone();
    let (database, cache, files) =
        crate::block(move || (health.database().is_ok(), health.cache().as_str(), health.files().is_ok()))
            .await
            .unwrap_or((false, "degraded", false));
    let body = Readiness {
        status: if database { "ready" } else { "unavailable" },
        checks: ReadinessChecks {
            database: if database { "ok" } else { "unavailable" },
            cache,
            files: if files { "ok" } else { "unavailable" },
        },
    };
    if database { HttpResponse::Ok().json(body) } else { HttpResponse::ServiceUnavailable().json(body) }
}

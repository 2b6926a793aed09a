//! `/api/projects/{id}/activity/` and `/api/activity/`.

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use taskforce_application::{Action, FieldErrors};
use taskforce_domain::{Activity, ActivityFilter, ProjectId, TargetType, UserId};
use utoipa::{IntoParams, ToSchema};

use crate::{
    ApiError, AppState, Authenticated, ErrorBody,
    fields::{filter_param, id},
    paging::{PageBody, PageQuery, page_answer},
    query::Query,
};

/// An activity entry.
#[derive(Debug, Serialize, ToSchema)]
pub struct ActivityOut {
    /// Id.
    pub id: i64,
    /// Who acted (0: an operator with tenant-admin).
    pub actor_id: i64,
    /// `created`, `updated` or `deleted`.
    pub verb: String,
    /// `project`, `task`, `comment`, `attachment` or `membership`.
    pub target_type: String,
    /// The target's id.
    pub target_id: i64,
    /// The project, if any.
    pub project_id: Option<i64>,
    /// `{field: [old, new]}`.
    #[schema(value_type = Object)]
    pub changes: serde_json::Map<String, serde_json::Value>,
    /// When.
    #[serde(serialize_with = "crate::time::drf")]
    pub created_at: DateTime<Utc>,
}

fn activity_out(a: Activity) -> ActivityOut {
    ActivityOut {
        id: a.id,
        actor_id: a.actor.0,
        verb: a.verb.as_str().to_owned(),
        target_type: a.target_type.as_str().to_owned(),
        target_id: a.target_id,
        project_id: a.project_id,
        changes: a.changes,
        created_at: a.created_at,
    }
}

/// A project's activity, newest first (any member).
#[utoipa::path(get, path = "/api/projects/{id}/activity/", tag = "activity", params(("id" = i64, Path), PageQuery), security(("bearer" = [])),
    responses((status = 200, body = PageBody<ActivityOut>), (status = 404, body = ErrorBody)))]
pub async fn of_project(
    req: HttpRequest,
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
    project: web::Path<i64>,
    Query(query): Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = query.request()?;
    let project = ProjectId(project.into_inner());
    let log = state.activity.clone();
    page_answer(
        &req,
        &state.settings.trusted_proxies,
        page,
        move |page| log.of_project(&actor, project, page),
        activity_out,
    )
    .await
}

/// Filters of the tenant-wide log.
#[derive(Debug, Deserialize, IntoParams)]
pub struct ActivityQuery {
    /// Only this actor's (user id).
    #[param(value_type = Option<i64>)]
    pub actor: Option<String>,
    /// Only about `project`, `task`, `comment`, `attachment` or `membership`.
    pub target_type: Option<String>,
    /// Only this project's.
    #[param(value_type = Option<i64>)]
    pub project: Option<String>,
    /// 1-based page number (`last` also names the last page, as in DRF).
    #[param(value_type = Option<u64>, minimum = 1)]
    pub page: Option<String>,
    /// Items per page: default 20, at most 100 (more means 100); a value
    /// that is not a positive integer means the default, as in DRF.
    #[param(value_type = Option<String>)]
    pub page_size: Option<String>,
}

/// The tenant-wide audit log, newest first (admins and owners).
#[utoipa::path(get, path = "/api/activity/", tag = "activity", params(ActivityQuery), security(("bearer" = [])),
    responses((status = 200, body = PageBody<ActivityOut>), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn tenant_wide(
    req: HttpRequest,
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
    Query(query): Query<ActivityQuery>,
) -> Result<HttpResponse, ApiError> {
    actor.may_ever(Action::ReadAuditLog)?;
    let page = PageQuery { page: query.page, page_size: query.page_size }.request()?;
    let mut errors = FieldErrors::new();
    let filter = ActivityFilter {
        // 0 is the operator, -1 someone this database has no account of
        actor: filter_param(&mut errors, "actor", query.actor.as_deref(), |a| match a.trim() {
            "0" => Ok(UserId::OPERATOR.0),
            "-1" => Ok(UserId::UNKNOWN.0),
            _ => id(a).map_err(|error| {
                if a.trim().parse::<i64>().is_ok() {
                    "Ensure this value is greater than or equal to -1.".into()
                } else {
                    error
                }
            }),
        })
        .map(UserId),
        target_type: filter_param(&mut errors, "target_type", query.target_type.as_deref(), |t| {
            TargetType::parse(t).ok_or_else(|| format!("\"{t}\" is not a valid choice."))
        }),
        project: filter_param(&mut errors, "project", query.project.as_deref(), id),
    };
    if !errors.is_empty() {
        return Err(ApiError::validation(&errors));
    }
    let log = state.activity.clone();
    page_answer(
        &req,
        &state.settings.trusted_proxies,
        page,
        move |page| log.tenant_wide(&actor, &filter, page),
        activity_out,
    )
    .await
}

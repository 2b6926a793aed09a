//! `/api/reports/…`.

use std::collections::BTreeMap;

use actix_web::{HttpResponse, http::header, web};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use taskforce_application::FieldErrors;
use taskforce_domain::{ProjectId, WeekThroughput};
use utoipa::{IntoParams, ToSchema};

use crate::{
    ApiError, AppState, Authenticated, ErrorBody,
    chart::{throughput_csv, throughput_svg},
    fields::{filter_param, id},
    query::Query,
};

/// Counts of tasks.
#[derive(Debug, Serialize, ToSchema)]
pub struct TaskCounts {
    /// All tasks.
    pub total: u64,
    /// Per status, every status present.
    pub by_status: BTreeMap<String, u64>,
    /// Per priority, every priority present.
    pub by_priority: BTreeMap<String, u64>,
    /// Not done, due before today (UTC).
    pub overdue: u64,
    /// Not done, due today or in the six days after.
    pub due_next_7_days: u64,
    /// Not done and unassigned.
    pub unassigned: u64,
}

/// `GET /api/reports/summary/`.
#[derive(Debug, Serialize, ToSchema)]
pub struct SummaryOut {
    /// Projects.
    pub projects: u64,
    /// Tasks.
    pub tasks: TaskCounts,
    /// Members.
    pub members: u64,
}

/// One week of throughput.
#[derive(Debug, Serialize, ToSchema)]
pub struct WeekOut {
    /// The Monday the week starts on (UTC).
    pub week_start: NaiveDate,
    /// Tasks created.
    pub created: u64,
    /// Tasks completed.
    pub completed: u64,
}

/// One member's load.
#[derive(Debug, Serialize, ToSchema)]
pub struct WorkloadOut {
    /// User id.
    pub user_id: i64,
    /// User name.
    pub username: String,
    /// Assigned and not done.
    pub open: u64,
    /// Of those, past due.
    pub overdue: u64,
    /// Completed in the last 30 days.
    pub completed_last_30_days: u64,
}

/// `GET /api/reports/cycle-time/`.
#[derive(Debug, Serialize, ToSchema)]
pub struct CycleTimeOut {
    /// Done tasks considered.
    pub completed: u64,
    /// Median hours from creation to done; null without any.
    pub median_hours: Option<f64>,
    /// 85th percentile hours; null without any.
    pub p85_hours: Option<f64>,
}

/// `?project=`.
#[derive(Debug, Deserialize, IntoParams)]
pub struct ScopeQuery {
    /// Only this project.
    #[param(value_type = Option<i64>)]
    pub project: Option<String>,
}

fn scope(project: Option<&str>) -> Result<Option<ProjectId>, ApiError> {
    let mut errors = FieldErrors::new();
    let project = filter_param(&mut errors, "project", project, id).map(ProjectId);
    errors.into_result(|| project).map_err(|e| ApiError::validation(&e))
}

/// Projects, tasks by status, priority and due state, and members.
#[utoipa::path(get, path = "/api/reports/summary/", tag = "reports", params(ScopeQuery), security(("bearer" = [])),
    responses((status = 200, body = SummaryOut), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn summary(
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
    query: Query<ScopeQuery>,
) -> Result<web::Json<SummaryOut>, ApiError> {
    let scope = scope(query.project.as_deref())?;
    let reports = state.reports.clone();
    let s = crate::block(move || reports.summary(&actor, scope)).await??;
    Ok(web::Json(SummaryOut {
        projects: s.projects,
        tasks: TaskCounts {
            total: s.tasks,
            by_status: s.by_status,
            by_priority: s.by_priority,
            overdue: s.overdue,
            due_next_7_days: s.due_next_7_days,
            unassigned: s.unassigned,
        },
        members: s.members,
    }))
}

/// `?weeks=&project=&format=`.
#[derive(Debug, Deserialize, IntoParams)]
pub struct ThroughputQuery {
    /// Weeks to cover, ending with the current one (default 12, at most 104).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 104)]
    pub weeks: Option<String>,
    /// Only this project.
    #[param(value_type = Option<i64>)]
    pub project: Option<String>,
    /// `json` (default), `svg` (a bar chart) or `csv`.
    pub format: Option<String>,
}

/// Tasks created and completed per week (Monday to Sunday, UTC), oldest
/// first; as JSON, an SVG chart or CSV.
#[utoipa::path(get, path = "/api/reports/throughput/", tag = "reports", params(ThroughputQuery), security(("bearer" = [])),
    responses(
        (status = 200, description = "JSON, or with format=svg an SVG chart, or with format=csv CSV", content(
            (Vec<WeekOut> = "application/json"),
            (String = "image/svg+xml"),
            (String = "text/csv")
        )),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn throughput(
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
    query: Query<ThroughputQuery>,
) -> Result<HttpResponse, ApiError> {
    let mut errors = FieldErrors::new();
    let weeks = filter_param(&mut errors, "weeks", query.weeks.as_deref(), |w| {
        w.trim().parse::<u32>().map_err(|_| "A valid integer is required.")
    })
    .unwrap_or(12);
    let format = query.format.as_deref().filter(|f| !f.is_empty()).unwrap_or("json").to_owned();
    if !["json", "svg", "csv"].contains(&format.as_str()) {
        errors.add("format", format!("\"{format}\" is not a valid choice."));
    }
    let scope = scope(query.project.as_deref())?;
    if !errors.is_empty() {
        return Err(ApiError::validation(&errors));
    }
    let tenant_name = actor.tenant.name.as_str().to_owned();
    let reports = state.reports.clone();
    let data: Vec<WeekThroughput> = crate::block(move || reports.throughput(&actor, weeks, scope)).await??;
    Ok(match format.as_str() {
        "svg" => {
            let title = match scope {
                Some(project) => format!("{tenant_name}, project {project}: tasks per week (UTC)"),
                None => format!("{tenant_name}: tasks per week (UTC)"),
            };
            // opened on its own, an SVG is a document: it runs nothing and
            // loads nothing (the chart is self-contained, its styles inline)
            HttpResponse::Ok()
                .content_type("image/svg+xml; charset=utf-8")
                .insert_header((
                    header::CONTENT_SECURITY_POLICY,
                    "default-src 'none'; style-src 'unsafe-inline'; sandbox",
                ))
                .body(throughput_svg(&title, &data))
        }
        "csv" => HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .insert_header((header::CONTENT_DISPOSITION, "attachment; filename=\"throughput.csv\""))
            .body(throughput_csv(&data)),
        _ => HttpResponse::Ok().json(
            data.into_iter()
                .map(|w| WeekOut { week_start: w.week_start, created: w.created, completed: w.completed })
                .collect::<Vec<_>>(),
        ),
    })
}

/// Each member's open, overdue and recently completed tasks.
#[utoipa::path(get, path = "/api/reports/workload/", tag = "reports", security(("bearer" = [])),
    responses((status = 200, body = Vec<WorkloadOut>)))]
pub async fn workload(
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
) -> Result<web::Json<Vec<WorkloadOut>>, ApiError> {
    let reports = state.reports.clone();
    let rows = crate::block(move || reports.workload(&actor)).await??;
    Ok(web::Json(
        rows.into_iter()
            .map(|w| WorkloadOut {
                user_id: w.user_id.0,
                username: w.username.to_string(),
                open: w.open,
                overdue: w.overdue,
                completed_last_30_days: w.completed_last_30_days,
            })
            .collect(),
    ))
}

/// Median and 85th-percentile hours from creation to done.
#[utoipa::path(get, path = "/api/reports/cycle-time/", tag = "reports", params(ScopeQuery), security(("bearer" = [])),
    responses((status = 200, body = CycleTimeOut), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn cycle_time(
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
    query: Query<ScopeQuery>,
) -> Result<web::Json<CycleTimeOut>, ApiError> {
    let scope = scope(query.project.as_deref())?;
    let reports = state.reports.clone();
    let c = crate::block(move || reports.cycle_time(&actor, scope)).await??;
    Ok(web::Json(CycleTimeOut { completed: c.completed, median_hours: c.median_hours, p85_hours: c.p85_hours }))
}

//! `/api/reports/…`.

use std::collections::BTreeMap;

use actix_web::{HttpResponse, http::header, web};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use taskforce_application::{FieldErrors, MAX_WEEKS};
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

/// The throughput report's `format`s.
pub(crate) const FORMATS: [&str; 3] = ["json", "svg", "csv"];

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
    // every field's problem in one answer, as DRF's filter form gives them
    let mut errors = FieldErrors::new();
    let weeks = filter_param(&mut errors, "weeks", query.weeks.as_deref(), weeks).unwrap_or(12);
    let format = query.format.as_deref().map(str::trim).filter(|f| !f.is_empty()).unwrap_or("json").to_owned();
    if !FORMATS.contains(&format.as_str()) {
        errors.add("format", format!("\"{format}\" is not a valid choice."));
    }
    let scope = filter_param(&mut errors, "project", query.project.as_deref(), id).map(ProjectId);
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

/// `?weeks=` as DRF's `IntegerField` reads it (Python's `int()` of the
/// text once a decimal point followed only by zeros is dropped: `12.0`,
/// `1_0`, ` +8 `), within 1 to [`MAX_WEEKS`].
fn weeks(text: &str) -> Result<u32, String> {
    let text = text.trim();
    let whole =
        text.find('.').filter(|&dot| text[dot + 1..].bytes().all(|b| b == b'0')).map_or(text, |dot| &text[..dot]);
    let number = crate::fields::python_int(whole).ok_or_else(|| "A valid integer is required.".to_owned())?;
    u32::try_from(number)
        .ok()
        .filter(|n| (1..=MAX_WEEKS).contains(n))
        .ok_or_else(|| format!("Ensure this value is between 1 and {MAX_WEEKS}."))
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

#[cfg(test)]
mod tests {
    #[test]
    fn weeks_are_read_as_drf_reads_an_integer_and_kept_in_range() {
        for (text, read) in
            [("12", Ok(12)), (" 8 ", Ok(8)), ("12.0", Ok(12)), ("+3", Ok(3)), ("104", Ok(104)), ("1_0", Ok(10))]
        {
            assert_eq!(super::weeks(text), read, "{text}");
        }
        let range = Err(format!("Ensure this value is between 1 and {}.", super::MAX_WEEKS));
        for text in ["0", "-1", "105", "4294967296", "99999999999999999999"] {
            assert_eq!(super::weeks(text), range, "{text}");
        }
        for text in ["x", "12.5", "1e3", "", "+", "0x10", "١٢", "1__0", "_1", "1_", "+-1", "- 1"] {
            assert_eq!(super::weeks(text), Err("A valid integer is required.".to_owned()), "{text}");
        }
    }
}

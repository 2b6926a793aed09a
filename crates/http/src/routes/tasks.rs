//! `/api/projects/{id}/tasks/` and `/api/tasks/…`.

use actix_web::{HttpRequest, HttpResponse, http::StatusCode, web};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use taskforce_application::{Action, FieldErrors, TaskPatch, Tasks};
use taskforce_domain::{
    Description, Priority, ProjectId, SearchTerms, Task, TaskFields, TaskFilter, TaskId, TaskOrdering, TaskStatus,
    TaskTitle, UserId,
};
use utoipa::{IntoParams, ToSchema};

use crate::{
    ApiError, AppState, Authenticated, ErrorBody,
    body::{JsonBody, refused_after_object, required},
    conditional::{if_match, tagged},
    fields::{boolean, date, double_option, filter_param, id, parsed},
    paging::{PageBody, PageQuery, page_answer},
    query::Query,
};

/// A task.
#[derive(Debug, Serialize, ToSchema)]
pub struct TaskOut {
    /// Id.
    pub id: i64,
    /// Its project.
    pub project_id: i64,
    /// Title.
    pub title: String,
    /// Description.
    pub description: String,
    /// `todo`, `in_progress`, `in_review` or `done`.
    pub status: String,
    /// `low`, `medium`, `high` or `urgent`.
    pub priority: String,
    /// Assignee (a member), or null.
    pub assignee_id: Option<i64>,
    /// Due date, `YYYY-MM-DD`.
    pub due_date: Option<NaiveDate>,
    /// Creator.
    pub created_by: i64,
    /// Created.
    #[serde(serialize_with = "crate::time::drf")]
    pub created_at: DateTime<Utc>,
    /// Last changed.
    #[serde(serialize_with = "crate::time::drf")]
    pub updated_at: DateTime<Utc>,
    /// When it became done.
    #[serde(serialize_with = "crate::time::drf_option")]
    pub completed_at: Option<DateTime<Utc>>,
}

pub(crate) fn task_out(t: Task) -> TaskOut {
    TaskOut {
        id: t.id.0,
        project_id: t.project_id.0,
        title: t.title.as_str().to_owned(),
        description: t.description.into_string(),
        status: t.status.as_str().to_owned(),
        priority: t.priority.as_str().to_owned(),
        assignee_id: t.assignee_id.map(|u| u.0),
        due_date: t.due_date,
        created_by: t.created_by.0,
        created_at: t.created_at,
        updated_at: t.updated_at,
        completed_at: t.completed_at,
    }
}

/// A task's writable fields; unknown and read-only fields are ignored.
#[derive(Debug, Deserialize, ToSchema)]
pub struct TaskIn {
    /// 1–500 characters.
    pub title: Option<String>,
    /// Free text, at most 100,000 characters, no NUL.
    pub description: Option<String>,
    /// `todo` (default), `in_progress`, `in_review`, `done`.
    pub status: Option<String>,
    /// `low`, `medium` (default), `high`, `urgent`.
    pub priority: Option<String>,
    /// A member's user id, or null.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>, nullable)]
    pub assignee_id: Option<Option<i64>>,
    /// `YYYY-MM-DD`, or null.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, format = Date, nullable)]
    pub due_date: Option<Option<String>>,
}

impl crate::body::Nullable for TaskIn {
    const NULLABLE: &'static [&'static str] = &["assignee_id", "due_date"];
}

impl TaskIn {
    /// A new task's fields: a `PUT`-like patch with the defaults filled in.
    fn fields(self) -> Result<TaskFields, ApiError> {
        let patch = self.patch(true)?;
        Ok(TaskFields {
            title: patch.title.ok_or_else(|| ApiError::field("title", "This field is required."))?,
            description: patch.description.unwrap_or_default(),
            status: patch.status.unwrap_or_default(),
            priority: patch.priority.unwrap_or_default(),
            assignee_id: patch.assignee_id.flatten(),
            due_date: patch.due_date.flatten(),
        })
    }

    fn patch(self, full: bool) -> Result<TaskPatch, ApiError> {
        let mut errors = FieldErrors::new();
        let title = if full { required(&mut errors, "title", self.title) } else { self.title };
        let assignee_id = match self.assignee_id {
            Some(Some(user)) if user <= 0 => {
                errors.add("assignee_id", "The assignee must be a member of this tenant.");
                None
            }
            other => other.map(|user| user.map(UserId)),
        };
        let due_date = match self.due_date {
            Some(Some(text)) => errors.check("due_date", date(&text)).map(Some),
            Some(None) => Some(None),
            None => None,
        };
        let patch = TaskPatch {
            title: parsed(&mut errors, "title", title.as_deref(), TaskTitle::parse),
            description: parsed(&mut errors, "description", self.description.as_deref(), Description::parse),
            status: parsed(&mut errors, "status", self.status.as_deref(), str::parse::<TaskStatus>),
            priority: parsed(&mut errors, "priority", self.priority.as_deref(), str::parse::<Priority>),
            assignee_id,
            due_date,
        };
        errors.into_result(|| patch).map_err(|e| ApiError::validation(&e))
    }
}

/// Task list filters, ordering and paging.
#[derive(Debug, Deserialize, IntoParams)]
pub struct TaskQuery {
    /// Only this status.
    pub status: Option<String>,
    /// Only this priority.
    pub priority: Option<String>,
    /// Only tasks assigned to this user id.
    #[param(value_type = Option<i64>)]
    pub assignee: Option<String>,
    /// Only tasks due before this date (`YYYY-MM-DD`).
    #[param(value_type = Option<String>, format = Date)]
    pub due_before: Option<String>,
    /// `true`: only tasks past their due date (UTC) and not done.
    #[param(value_type = Option<bool>)]
    pub overdue: Option<String>,
    /// Title or description contains this.
    pub search: Option<String>,
    /// `created_at`, `due_date`, `priority`, `updated_at`; `-` for descending.
    pub ordering: Option<String>,
    /// 1-based page number (`last` also names the last page, as in DRF).
    #[param(value_type = Option<u64>, minimum = 1)]
    pub page: Option<String>,
    /// Items per page: default 20, at most 100 (more means 100); a value
    /// that is not a positive integer means the default, as in DRF.
    #[param(value_type = Option<String>)]
    pub page_size: Option<String>,
}

impl TaskQuery {
    fn filter(&self, today: NaiveDate) -> Result<TaskFilter, ApiError> {
        let mut errors = FieldErrors::new();
        let overdue = filter_param(&mut errors, "overdue", self.overdue.as_deref(), boolean);
        let filter = TaskFilter {
            status: filter_param(&mut errors, "status", self.status.as_deref(), str::parse::<TaskStatus>),
            priority: filter_param(&mut errors, "priority", self.priority.as_deref(), str::parse::<Priority>),
            assignee: filter_param(&mut errors, "assignee", self.assignee.as_deref(), id).map(UserId),
            due_before: filter_param(&mut errors, "due_before", self.due_before.as_deref(), date),
            overdue_as_of: overdue.filter(|o| *o).map(|_| today),
            search: filter_param(&mut errors, "search", self.search.as_deref(), SearchTerms::parse).unwrap_or_default(),
            ordering: filter_param(&mut errors, "ordering", self.ordering.as_deref(), |o| {
                o.trim().parse::<TaskOrdering>()
            })
            .unwrap_or_default(),
        };
        errors.into_result(|| filter).map_err(|e| ApiError::validation(&e))
    }
}

/// A project's tasks, filtered and ordered.
#[utoipa::path(get, path = "/api/projects/{id}/tasks/", tag = "tasks", params(("id" = i64, Path), TaskQuery), security(("bearer" = [])),
    responses((status = 200, body = PageBody<TaskOut>), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn list(
    req: HttpRequest,
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
    project: web::Path<i64>,
    query: Query<TaskQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = PageQuery { page: query.page.clone(), page_size: query.page_size.clone() }.request()?;
    let filter = query.filter(state.tasks.today())?;
    let project = ProjectId(project.into_inner());
    let tasks = state.tasks.clone();
    page_answer(
        &req,
        &state.settings.trusted_proxies,
        page,
        move |page| tasks.list(&actor, project, &filter, page),
        task_out,
    )
    .await
}

/// Creates a task in the project (within the plan's limit).
#[utoipa::path(post, path = "/api/projects/{id}/tasks/", tag = "tasks", request_body = TaskIn, params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 201, body = TaskOut, headers(("ETag" = String))), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
    project: web::Path<i64>,
    body: Result<JsonBody<TaskIn>, ApiError>,
) -> Result<HttpResponse, ApiError> {
    actor.may_ever(Action::CreateContent)?;
    let project = ProjectId(project.into_inner());
    let fields = match body.and_then(|JsonBody(body)| body.fields()) {
        Ok(fields) => fields,
        Err(bad) => {
            let tasks = state.tasks.clone();
            return Err(refused_after_object(bad, move || tasks.may_create(&actor, project)).await);
        }
    };
    let tasks = state.tasks.clone();
    let task = crate::block(move || tasks.create(&actor, project, &fields)).await??;
    Ok(tagged(&req, StatusCode::CREATED, &Tasks::etag(&task), &task_out(task)))
}

/// One task; `If-None-Match` with its `ETag` answers `304`.
#[utoipa::path(get, path = "/api/tasks/{id}/", tag = "tasks", params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 200, body = TaskOut, headers(("ETag" = String))), (status = 304), (status = 404, body = ErrorBody)))]
pub async fn show(
    req: HttpRequest,
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = TaskId(id.into_inner());
    let tasks = state.tasks.clone();
    let task = crate::block(move || tasks.get(&actor, id)).await??;
    Ok(tagged(&req, StatusCode::OK, &Tasks::etag(&task), &task_out(task)))
}

async fn update(
    req: HttpRequest,
    state: web::Data<AppState>,
    actor: taskforce_application::Actor,
    id: i64,
    body: Result<JsonBody<TaskIn>, ApiError>,
    full: bool,
) -> Result<HttpResponse, ApiError> {
    actor.may_ever(Action::UpdateTask)?;
    let tasks = state.tasks.clone();
    let patch = match body.and_then(|JsonBody(body)| body.patch(full)) {
        Ok(patch) => patch,
        Err(bad) => return Err(refused_after_object(bad, move || tasks.may_update(&actor, TaskId(id))).await),
    };
    let condition = if_match(&req);
    let task = crate::block(move || tasks.update(&actor, TaskId(id), &patch, condition.as_ref())).await??;
    Ok(tagged(&req, StatusCode::OK, &Tasks::etag(&task), &task_out(task)))
}

/// Replaces the writable fields (`title` required); conditional with `If-Match`.
#[utoipa::path(put, path = "/api/tasks/{id}/", tag = "tasks", request_body = TaskIn, params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 200, body = TaskOut, headers(("ETag" = String))), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 412, body = ErrorBody)))]
pub async fn replace(
    req: HttpRequest,
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
    id: web::Path<i64>,
    body: Result<JsonBody<TaskIn>, ApiError>,
) -> Result<HttpResponse, ApiError> {
    update(req, state, actor, id.into_inner(), body, true).await
}

/// Changes some fields; conditional with `If-Match`.
#[utoipa::path(patch, path = "/api/tasks/{id}/", tag = "tasks", request_body = TaskIn, params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 200, body = TaskOut, headers(("ETag" = String))), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 412, body = ErrorBody)))]
pub async fn patch(
    req: HttpRequest,
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
    id: web::Path<i64>,
    body: Result<JsonBody<TaskIn>, ApiError>,
) -> Result<HttpResponse, ApiError> {
    update(req, state, actor, id.into_inner(), body, false).await
}

/// Deletes the task with its comments.
#[utoipa::path(delete, path = "/api/tasks/{id}/", tag = "tasks", params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 412, body = ErrorBody)))]
pub async fn delete(
    req: HttpRequest,
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    // a role that may never delete is refused before the object is looked
    // up, as DRF's view-level permission comes before get_object
    actor.may_ever(Action::DeleteTask)?;
    let id = TaskId(id.into_inner());
    let condition = if_match(&req);
    let tasks = state.tasks.clone();
    crate::block(move || tasks.delete(&actor, id, condition.as_ref())).await??;
    Ok(HttpResponse::NoContent().finish())
}

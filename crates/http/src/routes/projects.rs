//! `/api/projects/…`.

use actix_web::{HttpRequest, HttpResponse, http::StatusCode, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use taskforce_application::{Action, FieldErrors, ProjectPatch, Projects};
use taskforce_domain::{
    Description, Project, ProjectFields, ProjectFilter, ProjectId, ProjectName, ProjectStatus, SearchTerms,
};
use utoipa::{IntoParams, ToSchema};

use crate::{
    ApiError, AppState, Authenticated, ErrorBody,
    body::{JsonBody, refused_after_object, required},
    conditional::{if_match, tagged},
    fields::{filter_param, parsed},
    paging::{PageBody, PageQuery, page_answer},
    query::Query,
};

/// A project.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProjectOut {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// `active` or `archived`.
    pub status: String,
    /// Owner (its creator).
    pub owner_id: i64,
    /// Created.
    #[serde(serialize_with = "crate::time::drf")]
    pub created_at: DateTime<Utc>,
    /// Last changed.
    #[serde(serialize_with = "crate::time::drf")]
    pub updated_at: DateTime<Utc>,
}

pub(crate) fn project_out(p: Project) -> ProjectOut {
    ProjectOut {
        id: p.id.0,
        name: p.name.as_str().to_owned(),
        description: p.description.into_string(),
        status: p.status.as_str().to_owned(),
        owner_id: p.owner_id.0,
        created_at: p.created_at,
        updated_at: p.updated_at,
    }
}

/// A project's writable fields; unknown and read-only fields are ignored.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ProjectIn {
    /// 1–200 characters.
    pub name: Option<String>,
    /// Free text, at most 100,000 characters, no NUL.
    pub description: Option<String>,
    /// `active` (default) or `archived`.
    pub status: Option<String>,
}

impl crate::body::Nullable for ProjectIn {}

impl ProjectIn {
    fn patch(self, full: bool) -> Result<ProjectPatch, ApiError> {
        let mut errors = FieldErrors::new();
        let name = if full { required(&mut errors, "name", self.name) } else { self.name };
        let patch = ProjectPatch {
            name: parsed(&mut errors, "name", name.as_deref(), ProjectName::parse),
            description: parsed(&mut errors, "description", self.description.as_deref(), Description::parse),
            status: parsed(&mut errors, "status", self.status.as_deref(), str::parse::<ProjectStatus>),
        };
        errors.into_result(|| patch).map_err(|e| ApiError::validation(&e))
    }
}

/// `?status=&search=` and paging.
#[derive(Debug, Deserialize, IntoParams)]
pub struct ProjectQuery {
    /// `active` or `archived`.
    pub status: Option<String>,
    /// Name or description contains this.
    pub search: Option<String>,
    /// 1-based page number (`last` also names the last page, as in DRF).
    #[param(value_type = Option<u64>, minimum = 1)]
    pub page: Option<String>,
    /// Items per page: default 20, at most 100 (more means 100); a value
    /// that is not a positive integer means the default, as in DRF.
    #[param(value_type = Option<String>)]
    pub page_size: Option<String>,
}

/// The tenant's projects, newest first.
#[utoipa::path(get, path = "/api/projects/", tag = "projects", params(ProjectQuery), security(("bearer" = [])),
    responses((status = 200, body = PageBody<ProjectOut>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn list(
    req: HttpRequest,
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
    Query(query): Query<ProjectQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = PageQuery { page: query.page, page_size: query.page_size }.request()?;
    let mut errors = FieldErrors::new();
    let filter = ProjectFilter {
        status: filter_param(&mut errors, "status", query.status.as_deref(), str::parse::<ProjectStatus>),
        search: filter_param(&mut errors, "search", query.search.as_deref(), SearchTerms::parse).unwrap_or_default(),
    };
    if !errors.is_empty() {
        return Err(ApiError::validation(&errors));
    }
    let projects = state.projects.clone();
    page_answer(
        &req,
        &state.settings.trusted_proxies,
        page,
        move |page| projects.list(&actor, &filter, page),
        project_out,
    )
    .await
}

/// Creates a project owned by the caller (within the plan's limit).
#[utoipa::path(post, path = "/api/projects/", tag = "projects", request_body = ProjectIn, security(("bearer" = [])),
    responses((status = 201, body = ProjectOut, headers(("ETag" = String))), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
    body: Result<JsonBody<ProjectIn>, ApiError>,
) -> Result<HttpResponse, ApiError> {
    actor.may_ever(Action::CreateContent)?;
    let JsonBody(body) = body?;
    let patch = body.patch(true)?;
    let fields = ProjectFields {
        name: patch.name.ok_or_else(|| ApiError::field("name", "This field is required."))?,
        description: patch.description.unwrap_or_default(),
        status: patch.status.unwrap_or(ProjectStatus::Active),
    };
    let projects = state.projects.clone();
    let project = crate::block(move || projects.create(&actor, &fields)).await??;
    Ok(tagged(&req, StatusCode::CREATED, &Projects::etag(&project), &project_out(project)))
}

/// One project; `If-None-Match` with its `ETag` answers `304`.
#[utoipa::path(get, path = "/api/projects/{id}/", tag = "projects", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = ProjectOut, headers(("ETag" = String))), (status = 304), (status = 404, body = ErrorBody)))]
pub async fn show(
    req: HttpRequest,
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = ProjectId(id.into_inner());
    let projects = state.projects.clone();
    let project = crate::block(move || projects.get(&actor, id)).await??;
    Ok(tagged(&req, StatusCode::OK, &Projects::etag(&project), &project_out(project)))
}

async fn update(
    req: HttpRequest,
    state: web::Data<AppState>,
    actor: taskforce_application::Actor,
    id: i64,
    body: Result<JsonBody<ProjectIn>, ApiError>,
    full: bool,
) -> Result<HttpResponse, ApiError> {
    actor.may_ever(Action::ChangeProject)?;
    let projects = state.projects.clone();
    let patch = match body.and_then(|JsonBody(body)| body.patch(full)) {
        Ok(patch) => patch,
        Err(bad) => return Err(refused_after_object(bad, move || projects.may_change(&actor, ProjectId(id))).await),
    };
    let condition = if_match(&req);
    let project = crate::block(move || projects.update(&actor, ProjectId(id), &patch, condition.as_ref())).await??;
    Ok(tagged(&req, StatusCode::OK, &Projects::etag(&project), &project_out(project)))
}

/// Replaces the writable fields (`name` required). `If-Match` makes it
/// conditional: `412` when the project changed since.
#[utoipa::path(put, path = "/api/projects/{id}/", tag = "projects", request_body = ProjectIn, security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = ProjectOut, headers(("ETag" = String))), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 412, body = ErrorBody)))]
pub async fn replace(
    req: HttpRequest,
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
    id: web::Path<i64>,
    body: Result<JsonBody<ProjectIn>, ApiError>,
) -> Result<HttpResponse, ApiError> {
    update(req, state, actor, id.into_inner(), body, true).await
}

/// Changes some fields. `If-Match` makes it conditional.
#[utoipa::path(patch, path = "/api/projects/{id}/", tag = "projects", request_body = ProjectIn, security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = ProjectOut, headers(("ETag" = String))), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 412, body = ErrorBody)))]
pub async fn patch(
    req: HttpRequest,
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
    id: web::Path<i64>,
    body: Result<JsonBody<ProjectIn>, ApiError>,
) -> Result<HttpResponse, ApiError> {
    update(req, state, actor, id.into_inner(), body, false).await
}

/// Deletes the project with its tasks and comments.
#[utoipa::path(delete, path = "/api/projects/{id}/", tag = "projects", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 412, body = ErrorBody)))]
pub async fn delete(
    req: HttpRequest,
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    // a role that may never delete is refused before the object is looked
    // up, as DRF's view-level permission comes before get_object
    actor.may_ever(Action::ChangeProject)?;
    let id = ProjectId(id.into_inner());
    let condition = if_match(&req);
    let projects = state.projects.clone();
    crate::block(move || projects.delete(&actor, id, condition.as_ref())).await??;
    Ok(HttpResponse::NoContent().finish())
}

//! `/api/tasks/{id}/comments/` and `/api/comments/{id}/`.

use actix_web::{HttpRequest, HttpResponse, http::StatusCode, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use taskforce_application::{Action, CommentPatch, Comments, FieldErrors};
use taskforce_domain::{Comment, CommentBody, CommentId, TaskId};
use utoipa::ToSchema;

use crate::{
    ApiError, AppState, Authenticated, ErrorBody,
    body::{JsonBody, refused_after_object, required},
    conditional::{if_match, tagged},
    paging::{PageBody, PageQuery, page_answer},
    query::Query,
};

/// A comment.
#[derive(Debug, Serialize, ToSchema)]
pub struct CommentOut {
    /// Id.
    pub id: i64,
    /// The task.
    pub task_id: i64,
    /// Who wrote it.
    pub author_id: i64,
    /// Text.
    pub body: String,
    /// Written.
    #[serde(serialize_with = "crate::time::drf")]
    pub created_at: DateTime<Utc>,
    /// Last edited.
    #[serde(serialize_with = "crate::time::drf")]
    pub updated_at: DateTime<Utc>,
}

fn comment_out(c: Comment) -> CommentOut {
    CommentOut {
        id: c.id.0,
        task_id: c.task_id.0,
        author_id: c.author_id.0,
        body: c.body.as_str().to_owned(),
        created_at: c.created_at,
        updated_at: c.updated_at,
    }
}

/// A comment's text.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CommentIn {
    /// Not blank, at most 10,000 characters.
    pub body: Option<String>,
}

impl crate::body::Nullable for CommentIn {}

impl CommentIn {
    /// For a `PATCH`: the text if it is given (DRF's partial update).
    fn patch(self) -> Result<Option<CommentBody>, ApiError> {
        if self.body.is_none() { Ok(None) } else { self.body().map(Some) }
    }

    fn body(self) -> Result<CommentBody, ApiError> {
        let mut errors = FieldErrors::new();
        let text = required(&mut errors, "body", self.body);
        let body = text.and_then(|t| errors.check("body", CommentBody::parse(&t)));
        match body {
            Some(body) if errors.is_empty() => Ok(body),
            _ => Err(ApiError::validation(&errors)),
        }
    }
}

/// A task's comments, oldest first.
#[utoipa::path(get, path = "/api/tasks/{id}/comments/", tag = "comments", params(("id" = i64, Path), PageQuery), security(("bearer" = [])),
    responses((status = 200, body = PageBody<CommentOut>), (status = 404, body = ErrorBody)))]
pub async fn list(
    req: HttpRequest,
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
    task: web::Path<i64>,
    query: Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = query.request()?;
    let task = TaskId(task.into_inner());
    let comments = state.comments.clone();
    page_answer(&req, &state.settings.trusted_proxies, page, move |page| comments.list(&actor, task, page), comment_out)
        .await
}

/// Comments on a task.
#[utoipa::path(post, path = "/api/tasks/{id}/comments/", tag = "comments", request_body = CommentIn, params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 201, body = CommentOut, headers(("ETag" = String))), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
    task: web::Path<i64>,
    body: Result<JsonBody<CommentIn>, ApiError>,
) -> Result<HttpResponse, ApiError> {
    actor.may_ever(Action::CreateContent)?;
    let task = TaskId(task.into_inner());
    let body = match body.and_then(|JsonBody(body)| body.body()) {
        Ok(body) => body,
        Err(bad) => {
            let comments = state.comments.clone();
            return Err(refused_after_object(bad, move || comments.may_create(&actor, task)).await);
        }
    };
    let comments = state.comments.clone();
    let comment = crate::block(move || comments.create(&actor, task, &body)).await??;
    Ok(tagged(&req, StatusCode::CREATED, &Comments::etag(&comment), &comment_out(comment)))
}

/// Edits a comment (its author only); conditional with `If-Match`.
#[utoipa::path(patch, path = "/api/comments/{id}/", tag = "comments", request_body = CommentIn, params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 200, body = CommentOut, headers(("ETag" = String))), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 412, body = ErrorBody)))]
pub async fn patch(
    req: HttpRequest,
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
    id: web::Path<i64>,
    body: Result<JsonBody<CommentIn>, ApiError>,
) -> Result<HttpResponse, ApiError> {
    actor.may_ever(Action::EditComment)?;
    let id = CommentId(id.into_inner());
    let comments = state.comments.clone();
    let patch = match body.and_then(|JsonBody(body)| body.patch()) {
        Ok(body) => CommentPatch { body },
        Err(bad) => return Err(refused_after_object(bad, move || comments.may_edit(&actor, id)).await),
    };
    let condition = if_match(&req);
    let comment = crate::block(move || comments.update(&actor, id, &patch, condition.as_ref())).await??;
    Ok(tagged(&req, StatusCode::OK, &Comments::etag(&comment), &comment_out(comment)))
}

/// Deletes a comment (its author, an admin or an owner).
#[utoipa::path(delete, path = "/api/comments/{id}/", tag = "comments", params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 412, body = ErrorBody)))]
pub async fn delete(
    req: HttpRequest,
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    // a role that may never delete is refused before the object is looked
    // up, as DRF's view-level permission comes before get_object
    actor.may_ever(Action::DeleteComment)?;
    let id = CommentId(id.into_inner());
    let condition = if_match(&req);
    let comments = state.comments.clone();
    crate::block(move || comments.delete(&actor, id, condition.as_ref())).await??;
    Ok(HttpResponse::NoContent().finish())
}

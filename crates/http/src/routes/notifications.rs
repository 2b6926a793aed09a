//! `/api/notifications/…`: the caller's notifications, and their live stream.

use actix_web::{HttpRequest, HttpResponse, http::header, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use taskforce_application::{AdmitError, AuthError, FieldErrors};
use taskforce_domain::{HostName, Notification};
use utoipa::{IntoParams, ToSchema};

use crate::{
    ApiError, AppState, Authenticated, ErrorBody,
    fields::{boolean, filter_param},
    host::raw_host,
    paging::{PageBody, PageQuery, page_answer},
    query::Query,
    stream::notification_stream,
    tenant::{not_authenticated, token_invalid},
};

/// A notification.
#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationOut {
    /// Id (increasing; streams send it as the event id).
    pub id: i64,
    /// `task_assigned`, `task_status_changed`, `comment_added`, `mentioned` or `invitation_accepted`.
    pub kind: String,
    /// Who caused it.
    pub actor_id: i64,
    /// `task` (assignments, status changes, comments and mentions: the task's id) or `membership` (accepted invitations).
    pub target_type: String,
    /// The target's id.
    pub target_id: i64,
    /// The project, if any.
    pub project_id: Option<i64>,
    /// A sentence for people.
    pub message: String,
    /// When it was marked read, or null.
    #[serde(serialize_with = "crate::time::drf_option")]
    pub read_at: Option<DateTime<Utc>>,
    /// When it was written.
    #[serde(serialize_with = "crate::time::drf")]
    pub created_at: DateTime<Utc>,
}

/// The API shape of a notification.
pub fn notification_out(n: Notification) -> NotificationOut {
    NotificationOut {
        id: n.id,
        kind: n.kind.as_str().to_owned(),
        actor_id: n.actor.0,
        target_type: n.target_type.as_str().to_owned(),
        target_id: n.target_id,
        project_id: n.project_id,
        message: n.message,
        read_at: n.read_at,
        created_at: n.created_at,
    }
}

/// `?unread=true` and paging.
#[derive(Debug, Deserialize, IntoParams)]
pub struct NotificationQuery {
    /// Only unread ones.
    #[param(value_type = Option<bool>)]
    pub unread: Option<String>,
    /// 1-based page number (`last` also names the last page, as in DRF).
    #[param(value_type = Option<u64>, minimum = 1)]
    pub page: Option<String>,
    /// Items per page: default 20, at most 100 (more means 100); a value
    /// that is not a positive integer means the default, as in DRF.
    #[param(value_type = Option<String>)]
    pub page_size: Option<String>,
}

/// The caller's notifications in this tenant, newest first.
#[utoipa::path(get, path = "/api/notifications/", tag = "notifications", params(NotificationQuery), security(("bearer" = [])),
    responses((status = 200, body = PageBody<NotificationOut>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn list(
    req: HttpRequest,
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
    Query(query): Query<NotificationQuery>,
) -> Result<HttpResponse, ApiError> {
    // the filter before the page, as DRF filters the queryset first
    let mut errors = FieldErrors::new();
    let unread = filter_param(&mut errors, "unread", query.unread.as_deref(), boolean).unwrap_or(false);
    if !errors.is_empty() {
        return Err(ApiError::validation(&errors));
    }
    let page = PageQuery { page: query.page, page_size: query.page_size }.request()?;
    let notifications = state.notifications.clone();
    page_answer(
        &req,
        &state.settings.trusted_proxies,
        page,
        move |page| notifications.list(&actor, unread, page),
        notification_out,
    )
    .await
}

/// Marks one of the caller's notifications read (`204`, as the contract
/// answers both read actions); one already read keeps its first `read_at`.
#[utoipa::path(post, path = "/api/notifications/{id}/read/", tag = "notifications", params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn read(
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let notifications = state.notifications.clone();
    crate::block(move || notifications.mark_read(&actor, id)).await??;
    Ok(HttpResponse::NoContent().finish())
}

/// Marks all of the caller's notifications read.
#[utoipa::path(post, path = "/api/notifications/read-all/", tag = "notifications", security(("bearer" = [])),
    responses((status = 204), (status = 401, body = ErrorBody)))]
pub async fn read_all(
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
) -> Result<HttpResponse, ApiError> {
    let notifications = state.notifications.clone();
    crate::block(move || notifications.mark_all_read(&actor)).await??;
    Ok(HttpResponse::NoContent().finish())
}

/// A stream ticket.
#[derive(Debug, Serialize, ToSchema)]
pub struct TicketOut {
    /// Pass as `?ticket=` to the stream; single use.
    pub ticket: String,
    /// Unusable after this (60 s).
    #[serde(serialize_with = "crate::time::drf")]
    pub expires_at: DateTime<Utc>,
}

/// A single-use ticket (60 s) for opening the stream from a browser's
/// `EventSource`, which cannot send an `Authorization` header.
#[utoipa::path(post, path = "/api/notifications/ticket/", tag = "notifications", security(("bearer" = [])),
    responses((status = 200, body = TicketOut), (status = 401, body = ErrorBody)))]
pub async fn ticket(
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
) -> Result<web::Json<TicketOut>, ApiError> {
    let notifications = state.notifications.clone();
    let ticket = crate::block(move || notifications.ticket(&actor)).await??;
    Ok(web::Json(TicketOut { ticket: ticket.ticket, expires_at: ticket.expires_at }))
}

/// `?ticket=` and `?last_event_id=`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StreamQuery {
    /// A ticket from `POST /api/notifications/ticket/`, instead of a bearer token.
    pub ticket: Option<String>,
    /// Resume after this notification id (as the `Last-Event-ID` header
    /// does); a value that is not a non-negative integer is ignored.
    #[param(value_type = Option<String>)]
    pub last_event_id: Option<String>,
}

/// Server-Sent Events: one `event: notification` per new notification of
/// the caller in this tenant, whichever instance wrote it; `id:` is the
/// notification id, so a reconnecting client resumes with `Last-Event-ID`;
/// a comment every 15 s keeps proxies from closing it. Authenticate with a
/// bearer token or a `?ticket=`.
#[utoipa::path(get, path = "/api/notifications/stream/", tag = "notifications",
    params(StreamQuery, ("Last-Event-ID" = Option<String>, Header,
        description = "Resume after this notification id (an `EventSource` sends it when it reconnects); it wins over `last_event_id`")),
    security(("bearer" = [])),
    responses((status = 200, description = "An event stream", content_type = "text/event-stream"), (status = 401, body = ErrorBody)))]
pub async fn stream(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: Result<Query<StreamQuery>, ApiError>,
) -> Result<HttpResponse, ApiError> {
    let raw = raw_host(&req, &state.settings.trusted_proxies);
    let host = HostName::from_header(&raw).map_err(|_| ApiError::tenant_not_found(&raw))?;
    // authentication comes first: a query string that cannot be read holds
    // no ticket, and its fault is told only to a caller admitted otherwise
    let (query, unreadable) = match query {
        Ok(Query(query)) => (query, None),
        Err(error) => (StreamQuery { ticket: None, last_event_id: None }, Some(error)),
    };
    let last_seen = req
        .headers()
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| query.last_event_id.clone())
        .and_then(|v| v.trim().parse::<i64>().ok())
        .filter(|id| *id >= 0);
    // an empty ?ticket= is no ticket: a bearer token may still admit
    let actor = match query.ticket.as_ref().filter(|ticket| !ticket.is_empty()) {
        Some(ticket) => {
            let ticket = ticket.clone();
            let (auth, directory, notifications) =
                (state.auth.clone(), state.directory.clone(), state.notifications.clone());
            crate::block(move || {
                let tenant = directory.resolve(&host).map_err(AdmitError::from)?;
                let redeemed = notifications.redeem(tenant.id, &ticket).map_err(|error| match error {
                    taskforce_application::WorkError::Store(store) => AdmitError::from(store),
                    other => AdmitError::Auth(AuthError::Internal(other.to_string())),
                })?;
                let (user, family) =
                    redeemed.ok_or(AdmitError::Auth(AuthError::TokenInvalid("unknown or used ticket".into())))?;
                auth.admit_session(&directory, &host, user, family)
            })
            .await?
            .map_err(|error| match error {
                AdmitError::Resolve(e) => ApiError::from(e),
                AdmitError::NotAuthenticated => not_authenticated(),
                // the database did not answer: not the ticket's fault
                AdmitError::Auth(AuthError::Store(store)) => ApiError::from(store),
                AdmitError::Auth(_) => token_invalid(),
            })?
        }
        None => {
            use actix_web::FromRequest;
            Authenticated::extract(&req).await?.0
        }
    };
    if let Some(error) = unreadable {
        return Err(error);
    }
    let heartbeat = std::time::Duration::from_secs(state.settings.sse_heartbeat_secs.max(1));
    let body = notification_stream(state.hub.clone(), state.notifications.clone(), actor, last_seen, heartbeat);
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header(("X-Accel-Buffering", "no"))
        .streaming(body))
}

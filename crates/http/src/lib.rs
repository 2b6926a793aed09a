//! # TaskForce HTTP adapter
//!
//! actix-web in front of the application layer: tenant resolution from the
//! `Host` header, the contract's JSON errors for everything, request ids and
//! structured logs, CORS, the OpenAPI document and its browsable reference.
//! It reaches storage only through `taskforce-application`.

pub mod body;
mod chart;
mod conditional;
mod error;
mod fields;
mod host;
pub mod openapi;
mod paging;
mod query;
mod reject;
pub mod routes;
mod stream;
mod tenant;
mod time;

use std::{net::IpAddr, net::TcpListener};

use actix_cors::Cors;
use actix_web::{
    App, FromRequest, Handler, HttpMessage, HttpServer, Resource, Responder,
    body::MessageBody,
    dev::{Server, ServiceRequest, ServiceResponse},
    http::header,
    middleware::{Compress, Next, from_fn},
    web,
};
use taskforce_application::{
    ActivityLog, Authenticator, Comments, HealthCheck, Notifications, Projects, Registration, Reports, Tasks,
    TenantDirectory, TenantMembers,
};
use tracing_actix_web::{DefaultRootSpanBuilder, RequestId, RootSpanBuilder, TracingLogger};

pub use error::{ApiError, ErrorBody, ErrorDetail};
pub use host::{client_ip, raw_host};
pub use reject::JSON_LIMIT_BYTES;

/// The media type of every JSON body the API sends.
pub const JSON_CONTENT_TYPE: &str = "application/json; charset=utf-8";
pub use stream::{HEARTBEAT, NotificationHub};
pub use tenant::{Authenticated, CurrentTenant};

/// Settings of the HTTP layer.
#[derive(Debug, Clone, Default)]
pub struct HttpSettings {
    /// Addresses of reverse proxies whose `X-Forwarded-Host` /
    /// `X-Forwarded-For` are believed. Empty: none are.
    pub trusted_proxies: Vec<IpAddr>,
    /// Origins allowed by CORS; `*` allows any (without credentials).
    pub cors_allowed_origins: Vec<String>,
    /// Worker threads; 0 means one per core.
    pub workers: usize,
    /// Seconds given to in-flight requests after SIGTERM.
    pub shutdown_timeout_secs: u64,
    /// Whether `POST /api/signup/` is open.
    pub signup_enabled: bool,
    /// Seconds between heartbeats on an idle notification stream.
    pub sse_heartbeat_secs: u64,
    /// Seconds a JSON body may take to arrive after its headers
    /// ([`body::BODY_DEADLINE`] when 0).
    pub body_timeout_secs: u64,
    /// Seconds an upload's body may bring no byte before it is given up
    /// ([`body::UPLOAD_IDLE`] when 0).
    pub upload_idle_secs: u64,
}

/// What handlers share: settings and the application's services.
#[derive(Debug, Clone)]
pub struct AppState {
    /// HTTP settings.
    pub settings: HttpSettings,
    /// Host → tenant.
    pub directory: TenantDirectory,
    /// Readiness probes.
    pub health: HealthCheck,
    /// Login, tokens, request authentication.
    pub auth: Authenticator,
    /// Registration, invitations, signup.
    pub registration: Registration,
    /// The tenant's settings and members.
    pub members: TenantMembers,
    /// Projects.
    pub projects: Projects,
    /// Tasks.
    pub tasks: Tasks,
    /// Comments.
    pub comments: Comments,
    /// Attachments.
    pub attachments: taskforce_application::Attachments,
    /// The activity log.
    pub activity: ActivityLog,
    /// Reports.
    pub reports: Reports,
    /// Notifications.
    pub notifications: Notifications,
    /// This instance's open notification streams.
    pub hub: std::sync::Arc<NotificationHub>,
}

/// [`web::block`] with the request's span entered on the blocking thread:
/// the log lines of the work done there carry the request's id, tenant and
/// user like the rest of the request's lines.
pub(crate) fn block<F, R>(work: F) -> impl Future<Output = Result<R, actix_web::error::BlockingError>>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    let span = tracing::Span::current();
    web::block(move || span.in_scope(work))
}

/// Starts serving on a bound listener. The returned server future runs until
/// SIGTERM/SIGINT, then stops accepting, lets in-flight requests finish and
/// resolves.
pub fn serve(listener: TcpListener, state: AppState) -> std::io::Result<Server> {
    let settings = state.settings.clone();
    let state = web::Data::new(state);
    let mut server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .app_data(web::PayloadConfig::new(JSON_LIMIT_BYTES))
            .app_data(reject::path_config())
            .configure(routes_config)
            .default_service(web::to(reject::no_route))
            .wrap(from_fn(tenant::admit_first))
            .wrap(reject::json_error_bodies())
            .wrap(cors(&state.settings.cors_allowed_origins))
            .wrap(reject::cors_refusals())
            .wrap(Compress::default())
            .wrap(from_fn(response_headers))
            .wrap(TracingLogger::<TenantSpan>::new())
    })
    .listen(listener)?
    // the composition root handles SIGTERM/SIGINT: it ends the notification
    // streams first, then stops the server gracefully
    .disable_signals()
    .shutdown_timeout(settings.shutdown_timeout_secs);
    if settings.workers > 0 {
        server = server.workers(settings.workers);
    }
    Ok(server.run())
}

/// Every route of the API.
pub fn routes_config(cfg: &mut web::ServiceConfig) {
    use routes::{
        activity, attachments, auth, comments, health, notifications, projects, reports, signup, tasks, tenants,
    };
    cfg.service(resource("/api/health/").read(health::health))
        .service(resource("/api/health/ready/").read(health::ready))
        .service(resource("/api/signup/").post(signup::signup))
        .service(resource("/api/auth/register/").post(auth::register))
        .service(resource("/api/auth/login/").post(auth::login))
        .service(resource("/api/auth/token/refresh/").post(auth::refresh))
        .service(resource("/api/auth/logout/").post(auth::logout))
        .service(resource("/api/auth/me/").read(auth::me))
        .service(resource("/api/tenants/me/").read(tenants::show).put(tenants::replace).patch(tenants::patch))
        .service(resource("/api/tenants/members/").read(tenants::list_members).post(tenants::invite))
        .service(resource("/api/tenants/members/{id}/").patch(tenants::change_role).delete(tenants::remove_member))
        .service(resource("/api/tenants/invitations/").read(tenants::list_invitations))
        .service(resource("/api/tenants/invitations/{id}/").delete(tenants::withdraw_invitation))
        .service(resource("/api/invitations/accept/").post(tenants::accept_invitation))
        .service(resource("/api/projects/").read(projects::list).post(projects::create))
        .service(
            resource("/api/projects/{id}/")
                .read(projects::show)
                .put(projects::replace)
                .patch(projects::patch)
                .delete(projects::delete),
        )
        .service(resource("/api/projects/{id}/tasks/").read(tasks::list).post(tasks::create))
        .service(resource("/api/projects/{id}/activity/").read(activity::of_project))
        .service(
            resource("/api/tasks/{id}/")
                .read(tasks::show)
                .put(tasks::replace)
                .patch(tasks::patch)
                .delete(tasks::delete),
        )
        .service(resource("/api/tasks/{id}/comments/").read(comments::list).post(comments::create))
        .service(resource("/api/comments/{id}/").patch(comments::patch).delete(comments::delete))
        .service(resource("/api/tasks/{id}/attachments/").read(attachments::list).post(attachments::upload))
        .service(resource("/api/attachments/{id}/").read(attachments::show).delete(attachments::delete))
        .service(resource("/api/attachments/{id}/download/").get(attachments::download))
        .service(resource("/api/activity/").read(activity::tenant_wide))
        .service(resource("/api/reports/summary/").read(reports::summary))
        .service(resource("/api/reports/throughput/").read(reports::throughput))
        .service(resource("/api/reports/workload/").read(reports::workload))
        .service(resource("/api/reports/cycle-time/").read(reports::cycle_time))
        .service(resource("/api/notifications/").read(notifications::list))
        .service(resource("/api/notifications/read-all/").post(notifications::read_all))
        .service(resource("/api/notifications/ticket/").post(notifications::ticket))
        .service(resource("/api/notifications/stream/").get(notifications::stream))
        .service(resource("/api/notifications/{id}/read/").post(notifications::read))
        .service(web::resource("/api/openapi.json").read(routes::docs::openapi_json))
        .service(web::resource("/api/docs").read(routes::docs::docs_redirect))
        .service(web::resource("/api/docs/{tail:.*}").read(routes::docs::docs_file));
}

/// A read: `GET`, and `HEAD` answering with the same status and headers
/// and no body (actix leaves the body out), as Django answers `HEAD` for
/// every view that answers `GET`, so probes and clients that send `HEAD`
/// keep working. The notification stream and attachment downloads are
/// `GET` only: actix would still run their bodies (a stream that never
/// ends, a file read from the store) only to drop them.
trait Read {
    fn read<F, Args>(self, handler: F) -> Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static;
}

impl Read for Resource {
    fn read<F, Args>(self, handler: F) -> Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.route(web::get().to(handler.clone())).route(web::head().to(handler))
    }
}

/// A resource answering at `path` and at `path` without its trailing slash,
/// as the contract asks.
fn resource(path: &str) -> Resource {
    // an id is digits, as Django's `<int:pk>` matches: `/api/tasks/+1/` and
    // `/api/tenants/members/abc/` name no resource (404), whatever the method
    let path = path.replace("{id}", "{id:[0-9]+}");
    let trimmed = path.trim_end_matches('/').to_owned();
    web::resource([path, trimmed])
}

/// The request headers a listed origin may send: ours (`Authorization`,
/// `Content-Type`, the conditional ones, `Last-Event-ID` for a stream read
/// with `fetch`) and those django-cors-headers allowed by default, which
/// browser clients of the Django product send (`X-Requested-With`,
/// `X-CSRFToken`, …), so none of their preflights is refused.
const ALLOWED_HEADERS: [&str; 12] = [
    "accept",
    "accept-encoding",
    "authorization",
    "content-type",
    "dnt",
    "if-match",
    "if-none-match",
    "last-event-id",
    "origin",
    "user-agent",
    "x-csrftoken",
    "x-requested-with",
];

fn cors(origins: &[String]) -> Cors {
    let base = Cors::default()
        .allowed_methods(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
        .allowed_headers(ALLOWED_HEADERS)
        .expose_headers([
            header::ETAG,
            header::RETRY_AFTER,
            header::LOCATION,
            header::WWW_AUTHENTICATE,
            header::HeaderName::from_static("x-request-id"),
        ])
        .max_age(3600);
    if origins.iter().any(|o| o == "*") {
        return base.allow_any_origin();
    }
    origins.iter().fold(base, |cors, origin| cors.allowed_origin(origin))
}

/// Adds `X-Request-Id` (the id in every log line of the request) to each
/// response, and the charset to JSON's media type.
async fn response_headers(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let id: Option<String> = req.extensions().get::<RequestId>().map(ToString::to_string);
    let started = std::time::Instant::now();
    let mut response = next.call(req).await?;
    // one line per request, inside its span (method, route, client, request
    // id, tenant, user); silenced with RUST_LOG=…,taskforce::access=warn
    tracing::info!(
        target: "taskforce::access",
        status = response.status().as_u16(),
        elapsed_ms = started.elapsed().as_secs_f64() * 1e3,
        "request"
    );
    let headers = response.headers_mut();
    if let Some(value) = id.and_then(|id| header::HeaderValue::from_str(&id).ok()) {
        headers.insert(header::HeaderName::from_static("x-request-id"), value);
    }
    // the contract's JSON is `application/json; charset=utf-8`; actix's
    // `Json` and `.json()` say `application/json` alone. A download (it has
    // a disposition) keeps the type its file was stored with.
    let json = headers.get(header::CONTENT_TYPE).is_some_and(|value| value.as_bytes() == b"application/json");
    if json && !headers.contains_key(header::CONTENT_DISPOSITION) {
        headers.insert(header::CONTENT_TYPE, header::HeaderValue::from_static(JSON_CONTENT_TYPE));
    }
    // a download asks the compressor to leave it alone with `identity`,
    // which RFC 9110 says is not to be sent as a content coding
    if headers.get(header::CONTENT_ENCODING).is_some_and(|value| value.as_bytes() == b"identity") {
        headers.remove(header::CONTENT_ENCODING);
    }
    // every answer is what its type says, as Django's SecurityMiddleware
    // declares on each response (a JSON error read as HTML, a chart as a page)
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, header::HeaderValue::from_static("nosniff"));
    Ok(response)
}

/// A request's path and query for the log, with the value of a `ticket`
/// parameter replaced: a stream ticket opens the stream until it is used
/// or a minute has passed, and logs are read by more people than that. A
/// parameter that says `ticket` anywhere once decoded is replaced too, so
/// a ticket sent in a form the stream refuses (`?a=1;ticket=…`,
/// `?ticket%3D…`, `?ticket[]=…`), which stays good, is not logged either.
fn without_secrets(uri: &actix_web::http::Uri) -> String {
    let path = uri.path();
    let Some(query) = uri.query() else { return path.to_owned() };
    let mentions_ticket = |text: &str| text.to_ascii_lowercase().contains("ticket");
    let query: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            // the name as the query reader decodes it (`%74icket` is `ticket`)
            Some((key, _)) if decoded(key).eq_ignore_ascii_case("ticket") => format!("{key}=[redacted]"),
            Some((key, _)) if mentions_ticket(&decoded(pair)) => format!("{key}=[redacted]"),
            None if !decoded(pair).eq_ignore_ascii_case("ticket") && mentions_ticket(&decoded(pair)) => {
                "[redacted]".to_owned()
            }
            _ => pair.to_owned(),
        })
        .collect();
    format!("{path}?{}", query.join("&"))
}

/// A query parameter (or its name), percent- and plus-decoded; as sent
/// when it does not decode.
fn decoded(pair: &str) -> String {
    serde_urlencoded::from_str::<Vec<(String, String)>>(pair)
        .ok()
        .and_then(|pairs| pairs.into_iter().next())
        .map_or_else(
            || pair.to_owned(),
            |(name, value)| if value.is_empty() { name } else { format!("{name}={value}") },
        )
}

/// The root span of each request, with room for the tenant and user once
/// they are known.
struct TenantSpan;

impl RootSpanBuilder for TenantSpan {
    fn on_request_start(request: &ServiceRequest) -> tracing::Span {
        // the full span (route pattern, client address, user agent …) costs
        // a walk of the routing table per request: only build it for a log
        // that will show it
        if !tracing::enabled!(tracing::Level::INFO) {
            return tracing::Span::none();
        }
        // the fields of tracing-actix-web's span, made here: the target
        // leaves a stream ticket out (it would open the stream for its
        // minute), and the client is the peer, as for throttling, not what
        // an untrusted `X-Forwarded-For` says
        let request_id = request.extensions().get::<RequestId>().map(ToString::to_string).unwrap_or_default();
        let route = request.match_pattern().unwrap_or_else(|| "default".to_owned());
        let user_agent = request.headers().get(header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or("");
        let empty = tracing::field::Empty;
        tracing::info_span!(
            "HTTP request",
            http.method = %request.method(),
            http.route = %route,
            http.target = %without_secrets(request.uri()),
            http.client_ip = %request.peer_addr().map(|a| a.ip().to_string()).unwrap_or_default(),
            http.user_agent = %user_agent,
            http.status_code = empty,
            otel.name = %format!("{} {route}", request.method()),
            otel.kind = "server",
            otel.status_code = empty,
            request_id = %request_id,
            exception.message = empty,
            exception.details = empty,
            tenant = empty,
            user = empty,
        )
    }

    fn on_request_end<B: MessageBody>(span: tracing::Span, outcome: &Result<ServiceResponse<B>, actix_web::Error>) {
        DefaultRootSpanBuilder::on_request_end(span, outcome);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_stream_ticket_never_reaches_the_log() -> Result<(), Box<dyn std::error::Error>> {
        let of = |uri: &str| -> Result<String, Box<dyn std::error::Error>> {
            Ok(super::without_secrets(&uri.parse::<actix_web::http::Uri>()?))
        };
        assert_eq!(
            of("/api/notifications/stream/?ticket=s3cret&last_event_id=4")?,
            "/api/notifications/stream/?ticket=[redacted]&last_event_id=4"
        );
        assert_eq!(of("/x/?TICKET=a&ticket&page=2")?, "/x/?TICKET=[redacted]&ticket&page=2");
        // a name the query reader decodes to `ticket`
        assert_eq!(of("/x/?%74icket=abc&page=2")?, "/x/?%74icket=[redacted]&page=2");
        assert_eq!(of("/x/?tick%65t=abc")?, "/x/?tick%65t=[redacted]");
        // forms the stream refuses, whose ticket stays good
        assert_eq!(of("/x/?a=1;ticket=s3cret")?, "/x/?a=[redacted]");
        assert_eq!(of("/x/?ticket%3Ds3cret&page=2")?, "/x/?[redacted]&page=2");
        assert_eq!(of("/x/?ticket[]=s3cret")?, "/x/?ticket[]=[redacted]");
        assert_eq!(of("/x/?TICKET%5B%5D=s3cret")?, "/x/?TICKET%5B%5D=[redacted]");
        assert_eq!(of("/api/projects/?page=2")?, "/api/projects/?page=2");
        assert_eq!(of("/api/projects/")?, "/api/projects/");
        Ok(())
    }

    #[actix_web::test]
    async fn blocking_work_runs_inside_the_request_s_span() {
        // spans only exist under a subscriber; a bare registry prints nothing
        let _ = tracing::subscriber::set_global_default(tracing_subscriber::registry());
        let span = tracing::info_span!("HTTP request", request_id = "r-1");
        let outer = span.id();
        assert!(outer.is_some(), "the span was not created");
        let inner = {
            let _entered = span.enter();
            super::block(|| tracing::Span::current().id())
        }
        .await;
        assert_eq!(inner.ok().flatten(), outer);
    }
}

//! [`CurrentTenant`] and [`Authenticated`]: the tenant a request is
//! addressed to, and the member making it.

use std::{future::Future, pin::Pin};

use actix_web::{FromRequest, HttpMessage, HttpRequest, dev::Payload, http::header, web};
use taskforce_application::{Actor, AdmitError, AuthError, ResolveError};
use taskforce_domain::{HostName, Tenant};

use crate::{ApiError, AppState, host::raw_host};

/// The tenant resolved from the request's host. A handler that takes this
/// is a tenant endpoint: on a host that is no tenant's domain it answers
/// `404 tenant_not_found`, on an inactive tenant `403 tenant_inactive`.
#[derive(Debug, Clone)]
pub struct CurrentTenant(pub Tenant);

fn state_of(req: &HttpRequest) -> Result<web::Data<AppState>, ApiError> {
    req.app_data::<web::Data<AppState>>().cloned().ok_or_else(|| ApiError::internal("application state missing"))
}

/// Resolves the tenant of a request (on the blocking pool).
async fn resolve(state: web::Data<AppState>, raw: String) -> Result<Tenant, ApiError> {
    let host = HostName::from_header(&raw).map_err(|_| ApiError::tenant_not_found(&raw))?;
    let directory = state.directory.clone();
    let tenant = crate::block(move || directory.resolve(&host)).await??;
    tracing::Span::current().record("tenant", tenant.slug.as_str());
    Ok(tenant)
}

impl FromRequest for CurrentTenant {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        // a host the middleware refused is answered at once, before any
        // other extractor (a body, say) can answer first
        if let Some(error) = take_host_refusal(req) {
            return Box::pin(std::future::ready(Err(error)));
        }
        let state = state_of(req);
        let raw = state.as_ref().map(|s| raw_host(req, &s.settings.trusted_proxies)).unwrap_or_default();
        Box::pin(async move { Ok(CurrentTenant(resolve(state?, raw).await?)) })
    }
}

/// An authenticated member of the request's tenant. The bearer token must
/// have been issued by this tenant, be an access token, unexpired, of a live
/// session; the role comes from the membership, read for this request.
#[derive(Debug, Clone)]
pub struct Authenticated(pub Actor);

/// `401 not_authenticated`.
pub fn not_authenticated() -> ApiError {
    ApiError::new(
        actix_web::http::StatusCode::UNAUTHORIZED,
        "not_authenticated",
        "Authentication credentials were not provided.",
    )
}

/// `401 token_invalid`.
pub fn token_invalid() -> ApiError {
    ApiError::new(
        actix_web::http::StatusCode::UNAUTHORIZED,
        "token_invalid",
        "Given token not valid for any token type.",
    )
}

fn bearer(req: &HttpRequest) -> Result<String, ApiError> {
    let value = req.headers().get(header::AUTHORIZATION).ok_or_else(not_authenticated)?;
    let text = value.to_str().map_err(|_| not_authenticated())?;
    let (scheme, token) = text.trim().split_once(' ').ok_or_else(not_authenticated)?;
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() || token.contains(' ') {
        return Err(not_authenticated());
    }
    Ok(token.to_owned())
}

/// The admission of a request, done by [`admit_first`] before any
/// extractor runs and taken by [`Authenticated`], or by [`CurrentTenant`]
/// and the handlers of unknown paths and wrong methods when the host itself
/// was refused.
struct Admission(Result<Actor, Refusal>);

/// Why a caller was not admitted; each error is filed by hand when it is
/// made.
enum Refusal {
    /// The host serves no tenant, or an inactive one.
    NoTenant(ApiError),
    /// The host's tenant cannot answer now (being upgraded, or the database
    /// did not answer).
    Host(ApiError),
    /// The host is fine; the caller is not (or the work failed).
    Caller(ApiError),
}

impl From<Refusal> for ApiError {
    fn from(refusal: Refusal) -> Self {
        match refusal {
            Refusal::NoTenant(error) | Refusal::Host(error) | Refusal::Caller(error) => error,
        }
    }
}

/// Takes the middleware's admission out of the request when `wanted` says
/// its refusal is one to answer with; leaves it there otherwise.
fn take_refusal(req: &HttpRequest, wanted: impl Fn(&Refusal) -> bool) -> Option<ApiError> {
    let mut extensions = req.extensions_mut();
    match extensions.remove::<Admission>() {
        Some(Admission(Err(refusal))) if wanted(&refusal) => Some(refusal.into()),
        Some(other) => {
            extensions.insert(other);
            None
        }
        None => None,
    }
}

/// Takes the host's refusal of a request (any kind), which every tenant
/// endpoint answers first, signed in or not.
fn take_host_refusal(req: &HttpRequest) -> Option<ApiError> {
    take_refusal(req, |refusal| matches!(refusal, Refusal::NoTenant(_) | Refusal::Host(_)))
}

/// Takes the refusal of a host that serves no tenant or an inactive one:
/// what answers for an unknown path or a wrong method, as django-tenants
/// did. A tenant being upgraded or a database that did not answer does not
/// turn a `404`/`405` into a `503`.
pub(crate) fn take_no_tenant_refusal(req: &HttpRequest) -> Option<ApiError> {
    take_refusal(req, |refusal| matches!(refusal, Refusal::NoTenant(_)))
}

/// Admits the caller of a request: host, token, session, membership.
async fn admit(
    state: Result<web::Data<AppState>, ApiError>,
    raw: String,
    token: Result<String, ApiError>,
) -> Result<Actor, Refusal> {
    let state = state.map_err(Refusal::Caller)?;
    let host = HostName::from_header(&raw).map_err(|_| Refusal::NoTenant(ApiError::tenant_not_found(&raw)))?;
    // a malformed header is "not authenticated", but only once the host is known to serve
    let (token, malformed) = match token {
        Ok(token) => (Some(token), None),
        Err(error) => (None, Some(error)),
    };
    // the common case answers from this process's memory; the rest may read
    // the store or a shared cache, on the blocking pool
    let in_memory = token.as_deref().and_then(|token| state.auth.admit_from_memory(&state.directory, &host, token));
    let admitted = match in_memory {
        Some(actor) => Ok(actor),
        None => {
            let (auth, directory) = (state.auth.clone(), state.directory.clone());
            crate::block(move || auth.admit(&directory, &host, token.as_deref()))
                .await
                .map_err(|error| Refusal::Caller(error.into()))?
        }
    };
    let actor = match admitted {
        Ok(actor) => actor,
        Err(AdmitError::NotAuthenticated) => return Err(Refusal::Caller(malformed.unwrap_or_else(not_authenticated))),
        Err(AdmitError::Resolve(error @ (ResolveError::UnknownHost(_) | ResolveError::Inactive))) => {
            return Err(Refusal::NoTenant(error.into()));
        }
        Err(AdmitError::Resolve(error)) => return Err(Refusal::Host(error.into())),
        Err(AdmitError::Auth(error)) => return Err(Refusal::Caller(error.into())),
    };
    let span = tracing::Span::current();
    span.record("tenant", actor.tenant.slug.as_str());
    span.record("user", actor.user.0);
    Ok(actor)
}

/// Paths that answer on any host or touch no tenant: no admission.
fn without_admission(path: &str) -> bool {
    let path = path.trim_end_matches('/');
    matches!(path, "/api/health" | "/api/health/ready" | "/api/signup" | "/api/openapi.json")
        || path == "/api/docs"
        || path.starts_with("/api/docs/")
}

/// Middleware: admits the caller before the handler's extractors run, so
/// that a request without a valid token of this tenant is answered `401`
/// (or `404`/`403` for the host) whatever else is wrong with it — a body or
/// query string is never looked at for someone who may not call the
/// endpoint, as in DRF, where authentication comes first.
pub async fn admit_first(
    req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody>,
) -> Result<actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>, actix_web::Error> {
    if !without_admission(req.path()) {
        let state = state_of(req.request());
        let raw = state.as_ref().map(|s| raw_host(req.request(), &s.settings.trusted_proxies)).unwrap_or_default();
        let admitted = admit(state, raw, bearer(req.request())).await;
        req.extensions_mut().insert(Admission(admitted));
    }
    next.call(req).await
}

impl FromRequest for Authenticated {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        // admitted already by the middleware: ready at once, so its answer
        // comes before any other extractor's
        if let Some(Admission(admitted)) = req.extensions_mut().remove::<Admission>() {
            return Box::pin(std::future::ready(admitted.map(Authenticated).map_err(ApiError::from)));
        }
        let state = state_of(req);
        let raw = state.as_ref().map(|s| raw_host(req, &s.settings.trusted_proxies)).unwrap_or_default();
        let token = bearer(req);
        Box::pin(async move { admit(state, raw, token).await.map(Authenticated).map_err(ApiError::from) })
    }
}

impl From<AuthError> for ApiError {
    fn from(error: AuthError) -> Self {
        use actix_web::http::StatusCode;
        match error {
            AuthError::InvalidCredentials => ApiError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_credentials",
                "Unable to log in with the provided credentials.",
            ),
            AuthError::Throttled { retry_after } => ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!("Too many failed attempts. Try again in {retry_after} seconds."),
            )
            .retry_after(retry_after),
            AuthError::TokenInvalid(reason) => {
                tracing::info!(%reason, "token refused");
                token_invalid()
            }
            AuthError::Store(store) => store.into(),
            AuthError::Internal(cause) => ApiError::internal(cause),
        }
    }
}

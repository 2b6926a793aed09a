//! `POST /api/signup/`: a new tenant and its owner, on the platform host.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use taskforce_application::{FieldErrors, ResolveError, SignupInput};
use taskforce_domain::HostName;
use utoipa::ToSchema;

use crate::{
    ApiError, AppState, ErrorBody,
    body::{JsonBody, required, trimmed_password},
    host::{client_ip, raw_host},
};

/// `POST /api/signup/`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct SignupBody {
    /// The organisation's name.
    pub tenant_name: Option<String>,
    /// The tenant's slug: a-z, 0-9, '-', '_', starting with a letter.
    pub slug: Option<String>,
    /// The owner's user name.
    pub username: Option<String>,
    /// The owner's e-mail address.
    pub email: Option<String>,
    /// The owner's password.
    pub password: Option<String>,
    /// The same password again.
    pub password_confirm: Option<String>,
}

impl crate::body::Nullable for SignupBody {}

/// The new tenant, as signup shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct SignupTenant {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Slug.
    pub slug: String,
    /// Plan (`free`).
    pub plan: String,
    /// Host names that lead to it, as `GET /api/tenants/me/` gives them.
    pub domains: Vec<crate::routes::tenants::DomainBody>,
}

/// A new tenant and its signed-in owner.
#[derive(Debug, Serialize, ToSchema)]
pub struct SignedUpBody {
    /// The tenant.
    pub tenant: SignupTenant,
    /// The owner's user id.
    pub user_id: i64,
    /// Access token, valid on the new tenant's hosts.
    pub access_token: String,
    /// Refresh token, valid on the new tenant's hosts.
    pub refresh_token: String,
}

/// Creates a tenant (plan free) with its schema, the domain
/// `<slug>.<platform domain>`, and a new account as its owner; answers only
/// on hosts that are no tenant's, and only when signup is enabled.
#[utoipa::path(post, path = "/api/signup/", tag = "platform", request_body = SignupBody,
    responses(
        (status = 201, body = SignedUpBody),
        (status = 400, description = "Invalid fields or JSON (`validation_failed`, `invalid_json`).", body = ErrorBody),
        (status = 403, description = "Signup is switched off on this platform (`signup_closed`).", body = ErrorBody),
        (status = 404, description = "The host is a tenant's, which offer no signup (`not_found`).", body = ErrorBody),
        (status = 409, description = "The slug, user name or e-mail is taken (`conflict`).", body = ErrorBody),
        (status = 429, description = "Too many signups from this address within the hour (`rate_limited`, with `Retry-After`).", body = ErrorBody)
    ))]
pub async fn signup(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: Result<JsonBody<SignupBody>, ApiError>,
) -> Result<HttpResponse, ApiError> {
    if !state.settings.signup_enabled {
        return Err(ApiError::new(actix_web::http::StatusCode::FORBIDDEN, "signup_closed", "Signup is disabled."));
    }
    // a tenant's own hosts have no signup endpoint; nor has a host that is
    // no host name (two proxy headers naming different hosts, say), which
    // might be one of them
    let host =
        HostName::from_header(&raw_host(&req, &state.settings.trusted_proxies)).map_err(|_| ApiError::not_found())?;
    let directory = state.directory.clone();
    match crate::block(move || directory.resolve(&host)).await? {
        Err(ResolveError::UnknownHost(_)) => {}
        Err(ResolveError::Store(store)) => return Err(store.into()),
        _ => return Err(ApiError::not_found()),
    }
    let JsonBody(body) = body?;
    let mut errors = FieldErrors::new();
    let fields = [
        ("tenant_name", body.tenant_name),
        ("slug", body.slug),
        ("username", body.username),
        ("email", body.email),
        ("password", trimmed_password(body.password)),
        ("password_confirm", trimmed_password(body.password_confirm)),
    ];
    let [tenant_name, slug, username, email, password, password_confirm] =
        fields.map(|(name, value)| required(&mut errors, name, value));
    let (Some(tenant_name), Some(slug), Some(username), Some(email), Some(password), Some(password_confirm)) =
        (tenant_name, slug, username, email, password, password_confirm)
    else {
        return Err(ApiError::validation(&errors));
    };
    let input = SignupInput { tenant_name, slug, username, email, password, password_confirm };
    let client = client_ip(&req, &state.settings.trusted_proxies).map(|ip| ip.to_string());
    let registration = state.registration.clone();
    let done = crate::block(move || registration.signup(&input, client.as_deref())).await??;
    Ok(HttpResponse::Created().json(SignedUpBody {
        tenant: SignupTenant {
            id: done.tenant.id.0,
            name: done.tenant.name.as_str().to_owned(),
            slug: done.tenant.slug.to_string(),
            plan: done.tenant.plan.to_string(),
            domains: done
                .domains
                .iter()
                .map(|d| crate::routes::tenants::DomainBody { domain: d.domain.to_string(), is_primary: d.is_primary })
                .collect(),
        },
        user_id: done.user.id.0,
        access_token: done.tokens.access,
        refresh_token: done.tokens.refresh,
    }))
}

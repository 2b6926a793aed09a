//! `/api/auth/…`: register, login, refresh, logout, me.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use taskforce_application::{FieldErrors, RegisterInput};
use utoipa::ToSchema;

use crate::{
    ApiError, AppState, Authenticated, CurrentTenant, ErrorBody,
    body::{JsonBody, required_text, trimmed_password},
    host::client_ip,
};

/// `POST /api/auth/register/`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct RegisterBody {
    /// 1–150 letters, digits and @.+-_.
    pub username: Option<String>,
    /// E-mail address.
    pub email: Option<String>,
    /// At least 8 characters, not entirely numeric, not common, not like the username.
    pub password: Option<String>,
    /// The same password again.
    pub password_confirm: Option<String>,
    /// An invitation to this tenant (needed when self-signup is off).
    pub invitation_token: Option<String>,
}

/// `null` for the invitation token is no invitation, as its absence is (a
/// client may send the field whether or not it has one).
impl crate::body::Nullable for RegisterBody {
    const NULLABLE: &'static [&'static str] = &["invitation_token"];
}

/// A registered user, signed in.
#[derive(Debug, Serialize, ToSchema)]
pub struct Registered {
    /// The new account's id.
    pub user_id: i64,
    /// Its user name.
    pub username: String,
    /// Its e-mail address.
    pub email: String,
    /// Access token (15 minutes).
    pub access_token: String,
    /// Refresh token (7 days).
    pub refresh_token: String,
}

/// `POST /api/auth/login/`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct LoginBody {
    /// User name or e-mail address.
    pub username: Option<String>,
    /// Password.
    pub password: Option<String>,
}

impl crate::body::Nullable for LoginBody {}

/// A successful login.
#[derive(Debug, Serialize, ToSchema)]
pub struct LoggedIn {
    /// Access token.
    pub access_token: String,
    /// Refresh token.
    pub refresh_token: String,
    /// The user's id.
    pub user_id: i64,
}

/// `POST /api/auth/token/refresh/` and `/api/auth/logout/`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct RefreshBody {
    /// A refresh token.
    pub refresh: Option<String>,
}

impl crate::body::Nullable for RefreshBody {}

/// A new token pair.
#[derive(Debug, Serialize, ToSchema)]
pub struct Refreshed {
    /// New access token.
    pub access: String,
    /// New refresh token (the presented one is spent).
    pub refresh: String,
}

/// The caller.
#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    /// User id.
    pub id: i64,
    /// User name.
    pub username: String,
    /// E-mail address.
    pub email: String,
    /// Role in this tenant.
    #[schema(example = "member")]
    pub role: String,
    /// This tenant.
    pub tenant: MeTenant,
}

/// The tenant in [`Me`].
#[derive(Debug, Serialize, ToSchema)]
pub struct MeTenant {
    /// Id.
    pub id: i64,
    /// Slug.
    pub slug: String,
    /// Name.
    pub name: String,
}

/// Creates an account that is a member of this tenant, and signs it in.
#[utoipa::path(post, path = "/api/auth/register/", tag = "auth", request_body = RegisterBody,
    responses((status = 201, body = Registered), (status = 400, body = ErrorBody), (status = 403, description = "signup_closed or plan_limit_exceeded", body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn register(
    state: web::Data<AppState>,
    CurrentTenant(tenant): CurrentTenant,
    JsonBody(body): JsonBody<RegisterBody>,
) -> Result<HttpResponse, ApiError> {
    let mut errors = FieldErrors::new();
    let username = required_text(&mut errors, "username", body.username);
    let email = required_text(&mut errors, "email", body.email);
    let password = required_text(&mut errors, "password", trimmed_password(body.password));
    let password_confirm = required_text(&mut errors, "password_confirm", trimmed_password(body.password_confirm));
    let (Some(username), Some(email), Some(password), Some(password_confirm)) =
        (username, email, password, password_confirm)
    else {
        return Err(ApiError::validation(&errors));
    };
    let input = RegisterInput { username, email, password, password_confirm, invitation_token: body.invitation_token };
    let registration = state.registration.clone();
    let (user, tokens) = crate::block(move || registration.register(&tenant, &input)).await??;
    Ok(HttpResponse::Created().json(Registered {
        user_id: user.id.0,
        username: user.username.to_string(),
        email: user.email.to_string(),
        access_token: tokens.access,
        refresh_token: tokens.refresh,
    }))
}

/// Logs in with user name (or e-mail) and password. Only active members of
/// this tenant can; failures are throttled per login name and per client.
#[utoipa::path(post, path = "/api/auth/login/", tag = "auth", request_body = LoginBody,
    responses((status = 200, body = LoggedIn), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    CurrentTenant(tenant): CurrentTenant,
    JsonBody(body): JsonBody<LoginBody>,
) -> Result<web::Json<LoggedIn>, ApiError> {
    let mut errors = FieldErrors::new();
    // a blank field is refused before anything is looked up or counted
    let username = required_text(&mut errors, "username", body.username);
    let password = required_text(&mut errors, "password", trimmed_password(body.password));
    let (Some(username), Some(password)) = (username, password) else {
        return Err(ApiError::validation(&errors));
    };
    let client = client_ip(&req, &state.settings.trusted_proxies).map(|ip| ip.to_string());
    let auth = state.auth.clone();
    let tokens = crate::block(move || auth.login(&tenant, &username, &password, client.as_deref())).await??;
    Ok(web::Json(LoggedIn { access_token: tokens.access, refresh_token: tokens.refresh, user_id: tokens.user.0 }))
}

/// Exchanges a refresh token for a new pair. Presenting a spent refresh
/// token again ends its whole session.
#[utoipa::path(post, path = "/api/auth/token/refresh/", tag = "auth", request_body = RefreshBody,
    responses((status = 200, body = Refreshed), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn refresh(
    state: web::Data<AppState>,
    CurrentTenant(tenant): CurrentTenant,
    JsonBody(body): JsonBody<RefreshBody>,
) -> Result<web::Json<Refreshed>, ApiError> {
    let token = body.refresh.ok_or_else(|| ApiError::field("refresh", "This field is required."))?;
    let auth = state.auth.clone();
    let tokens = crate::block(move || auth.refresh(&tenant, &token)).await??;
    Ok(web::Json(Refreshed { access: tokens.access, refresh: tokens.refresh }))
}

/// Ends the session of the given refresh token (the caller's own).
#[utoipa::path(post, path = "/api/auth/logout/", tag = "auth", request_body = RefreshBody, security(("bearer" = [])),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn logout(
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
    JsonBody(body): JsonBody<RefreshBody>,
) -> Result<HttpResponse, ApiError> {
    let token = body.refresh.ok_or_else(|| ApiError::field("refresh", "This field is required."))?;
    let auth = state.auth.clone();
    crate::block(move || auth.logout(&actor, &token)).await??;
    Ok(HttpResponse::NoContent().finish())
}

/// The caller's account and role in this tenant.
#[utoipa::path(get, path = "/api/auth/me/", tag = "auth", security(("bearer" = [])),
    responses((status = 200, body = Me), (status = 401, body = ErrorBody)))]
pub async fn me(state: web::Data<AppState>, Authenticated(actor): Authenticated) -> Result<web::Json<Me>, ApiError> {
    let auth = state.auth.clone();
    let (user, actor) = crate::block(move || auth.me(&actor).map(|user| (user, actor))).await??;
    Ok(web::Json(Me {
        id: user.id.0,
        username: user.username.to_string(),
        email: user.email.to_string(),
        role: actor.role.to_string(),
        tenant: MeTenant {
            id: actor.tenant.id.0,
            slug: actor.tenant.slug.to_string(),
            name: actor.tenant.name.as_str().to_owned(),
        },
    }))
}

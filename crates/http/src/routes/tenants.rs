//! `/api/tenants/…` and `/api/invitations/accept/`: the tenant's own
//! settings, its members and invitations.

use actix_web::{HttpRequest, HttpResponse, http::StatusCode, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use taskforce_application::{Action, FieldErrors, TenantMembers, TenantOverview, parse_email, tenant_name_field};
use taskforce_domain::{Invitation, InvitationId, Member, MembershipId, Role};
use utoipa::ToSchema;

use crate::{
    ApiError, AppState, Authenticated, CurrentTenant, ErrorBody,
    body::{JsonBody, refused_after_object, required, required_text, trimmed_password},
    conditional::{if_match, tagged},
    host::client_ip,
    paging::{PageBody, PageQuery, page_answer},
    query::Query,
    routes::auth::LoggedIn,
};

/// A domain of the tenant.
#[derive(Debug, Serialize, ToSchema)]
pub struct DomainBody {
    /// Host name.
    pub domain: String,
    /// Whether it is the primary one.
    pub is_primary: bool,
}

/// Limits or usage per resource; a `null` limit is unlimited.
#[derive(Debug, Serialize, ToSchema)]
pub struct Amounts {
    /// Projects.
    pub projects: Option<u64>,
    /// Tasks.
    pub tasks: Option<u64>,
    /// Members, pending invitations included.
    pub members: Option<u64>,
}

/// `GET /api/tenants/me/`.
#[derive(Debug, Serialize, ToSchema)]
pub struct TenantBody {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Slug.
    pub slug: String,
    /// Plan.
    pub plan: String,
    /// Whether active.
    pub is_active: bool,
    /// Whether self-registration is open.
    pub allow_signup: bool,
    /// Creation time.
    #[serde(serialize_with = "crate::time::drf")]
    pub created_at: DateTime<Utc>,
    /// Domains.
    pub domains: Vec<DomainBody>,
    /// The plan's limits.
    pub limits: Amounts,
    /// Current usage.
    pub usage: Amounts,
}

fn tenant_body(o: TenantOverview) -> TenantBody {
    TenantBody {
        id: o.tenant.id.0,
        name: o.tenant.name.as_str().to_owned(),
        slug: o.tenant.slug.to_string(),
        plan: o.tenant.plan.to_string(),
        is_active: o.tenant.is_active,
        allow_signup: o.tenant.allow_signup,
        created_at: o.tenant.created_at,
        domains: o
            .domains
            .iter()
            .map(|d| DomainBody { domain: d.domain.to_string(), is_primary: d.is_primary })
            .collect(),
        limits: Amounts {
            projects: o.limits.projects.map(u64::from),
            tasks: o.limits.tasks.map(u64::from),
            members: o.limits.members.map(u64::from),
        },
        usage: Amounts { projects: Some(o.usage.projects), tasks: Some(o.usage.tasks), members: Some(o.members) },
    }
}

/// `PUT`/`PATCH /api/tenants/me/`: only these two fields can change.
#[derive(Debug, Deserialize, ToSchema)]
pub struct TenantSettingsBody {
    /// New name.
    pub name: Option<String>,
    /// Open or close self-registration.
    pub allow_signup: Option<bool>,
}

impl crate::body::Nullable for TenantSettingsBody {}

/// The tenant, its limits and usage.
#[utoipa::path(get, path = "/api/tenants/me/", tag = "tenant", security(("bearer" = [])),
    responses((status = 200, body = TenantBody, headers(("ETag" = String))), (status = 304), (status = 401, body = ErrorBody)))]
pub async fn show(
    req: HttpRequest,
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
) -> Result<HttpResponse, ApiError> {
    let members = state.members.clone();
    let overview = crate::block(move || members.overview(&actor)).await??;
    Ok(tenant_answer(&req, overview))
}

/// The tenant's body with its `ETag` (`304` for a matching `If-None-Match`).
fn tenant_answer(req: &HttpRequest, overview: TenantOverview) -> HttpResponse {
    let etag = TenantMembers::etag(&overview);
    tagged(req, StatusCode::OK, &etag, &tenant_body(overview))
}

async fn update(
    req: HttpRequest,
    state: web::Data<AppState>,
    actor: taskforce_application::Actor,
    body: Result<JsonBody<TenantSettingsBody>, ApiError>,
    full: bool,
) -> Result<HttpResponse, ApiError> {
    actor.may_ever(Action::UpdateTenant)?;
    let JsonBody(body) = body?;
    let mut errors = FieldErrors::new();
    let name = if full { required(&mut errors, "name", body.name) } else { body.name };
    let name = name.and_then(|name| tenant_name_field(&mut errors, "name", &name));
    if !errors.is_empty() {
        return Err(ApiError::validation(&errors));
    }
    let members = state.members.clone();
    let condition = if_match(&req);
    let overview =
        crate::block(move || members.update_settings(&actor, name, body.allow_signup, condition.as_ref())).await??;
    Ok(tenant_answer(&req, overview))
}

/// Replaces the tenant's settings (`name` required); plan, slug and the
/// active flag never change here.
#[utoipa::path(put, path = "/api/tenants/me/", tag = "tenant", request_body = TenantSettingsBody, security(("bearer" = [])),
    responses((status = 200, body = TenantBody, headers(("ETag" = String))), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 412, body = ErrorBody)))]
pub async fn replace(
    req: HttpRequest,
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
    body: Result<JsonBody<TenantSettingsBody>, ApiError>,
) -> Result<HttpResponse, ApiError> {
    update(req, state, actor, body, true).await
}

/// Changes some of the tenant's settings.
#[utoipa::path(patch, path = "/api/tenants/me/", tag = "tenant", request_body = TenantSettingsBody, security(("bearer" = [])),
    responses((status = 200, body = TenantBody, headers(("ETag" = String))), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 412, body = ErrorBody)))]
pub async fn patch(
    req: HttpRequest,
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
    body: Result<JsonBody<TenantSettingsBody>, ApiError>,
) -> Result<HttpResponse, ApiError> {
    update(req, state, actor, body, false).await
}

/// A member.
#[derive(Debug, Serialize, ToSchema)]
pub struct MemberBody {
    /// Membership id.
    pub id: i64,
    /// User id.
    pub user_id: i64,
    /// User name.
    pub username: String,
    /// E-mail address.
    pub email: String,
    /// Role.
    pub role: String,
    /// When they joined.
    #[serde(serialize_with = "crate::time::drf")]
    pub joined_at: DateTime<Utc>,
}

fn member_body(m: Member) -> MemberBody {
    MemberBody {
        id: m.membership.id.0,
        user_id: m.membership.user_id.0,
        username: m.username.to_string(),
        email: m.email.to_string(),
        role: m.membership.role.to_string(),
        joined_at: m.membership.joined_at,
    }
}

/// The tenant's members, by join date.
#[utoipa::path(get, path = "/api/tenants/members/", tag = "tenant", params(PageQuery), security(("bearer" = [])),
    responses((status = 200, body = PageBody<MemberBody>), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn list_members(
    req: HttpRequest,
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
    query: Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = query.request()?;
    let members = state.members.clone();
    page_answer(&req, &state.settings.trusted_proxies, page, move |page| members.list(&actor, page), member_body).await
}

/// `POST /api/tenants/members/`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct InviteBody {
    /// Who to invite.
    pub email: Option<String>,
    /// The role they will have.
    pub role: Option<String>,
}

impl crate::body::Nullable for InviteBody {}

/// A new invitation.
#[derive(Debug, Serialize, ToSchema)]
pub struct InvitationBody {
    /// Id.
    pub id: i64,
    /// Invitee.
    pub email: String,
    /// Role.
    pub role: String,
    /// The secret token (also mailed).
    pub token: String,
    /// Unusable after this.
    #[serde(serialize_with = "crate::time::drf")]
    pub expires_at: DateTime<Utc>,
}

fn parse_role(errors: &mut FieldErrors, role: Option<String>) -> Option<Role> {
    role.and_then(|role| {
        let parsed = role.parse::<Role>();
        if parsed.is_err() {
            errors.add("role", format!("\"{role}\" is not a valid choice."));
        }
        parsed.ok()
    })
}

/// Invites someone; pending invitations count toward the member limit.
#[utoipa::path(post, path = "/api/tenants/members/", tag = "tenant", request_body = InviteBody, security(("bearer" = [])),
    responses((status = 201, body = InvitationBody), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn invite(
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
    body: Result<JsonBody<InviteBody>, ApiError>,
) -> Result<HttpResponse, ApiError> {
    actor.may_ever(Action::ManageMembers)?;
    let JsonBody(body) = body?;
    let mut errors = FieldErrors::new();
    let email = required(&mut errors, "email", body.email).and_then(|e| match parse_email(&e) {
        Ok(email) => Some(email),
        Err(problems) => {
            errors.add("email", problems.to_string().trim_start_matches("email: ").to_owned());
            None
        }
    });
    let role = required(&mut errors, "role", body.role);
    let role = parse_role(&mut errors, role);
    let (Some(email), Some(role)) = (email, role) else {
        return Err(ApiError::validation(&errors));
    };
    let members = state.members.clone();
    let issued = crate::block(move || members.invite(&actor, email, role)).await??;
    Ok(HttpResponse::Created().json(InvitationBody {
        id: issued.invitation.id.0,
        email: issued.invitation.email.to_string(),
        role: issued.invitation.role.to_string(),
        token: issued.token,
        expires_at: issued.invitation.expires_at,
    }))
}

/// A pending invitation as its list shows it: no token.
#[derive(Debug, Serialize, ToSchema)]
pub struct PendingInvitationBody {
    /// Id.
    pub id: i64,
    /// Invitee.
    pub email: String,
    /// The role it offers.
    pub role: String,
    /// The member who sent it.
    pub invited_by: i64,
    /// When it was sent.
    #[serde(serialize_with = "crate::time::drf")]
    pub created_at: DateTime<Utc>,
    /// Unusable after this.
    #[serde(serialize_with = "crate::time::drf")]
    pub expires_at: DateTime<Utc>,
}

fn pending_body(invitation: Invitation) -> PendingInvitationBody {
    PendingInvitationBody {
        id: invitation.id.0,
        email: invitation.email.to_string(),
        role: invitation.role.to_string(),
        invited_by: invitation.invited_by.0,
        created_at: invitation.created_at,
        expires_at: invitation.expires_at,
    }
}

/// The tenant's pending invitations, newest first (owners and admins): each
/// holds a seat of the member limit until it is used, expires or is withdrawn.
#[utoipa::path(get, path = "/api/tenants/invitations/", tag = "tenant", params(PageQuery), security(("bearer" = [])),
    responses((status = 200, body = PageBody<PendingInvitationBody>), (status = 403, body = ErrorBody)))]
pub async fn list_invitations(
    req: HttpRequest,
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
    query: Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    actor.may_ever(Action::ManageMembers)?;
    let page = query.request()?;
    let members = state.members.clone();
    page_answer(
        &req,
        &state.settings.trusted_proxies,
        page,
        move |page| members.invitations(&actor, page),
        pending_body,
    )
    .await
}

/// Withdraws a pending invitation: its token stops working and its seat is
/// free. An admin cannot withdraw an invitation to be an owner.
#[utoipa::path(delete, path = "/api/tenants/invitations/{id}/", tag = "tenant", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Invitation id")),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn withdraw_invitation(
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = InvitationId(id.into_inner());
    let members = state.members.clone();
    crate::block(move || members.withdraw_invitation(&actor, id)).await??;
    Ok(HttpResponse::NoContent().finish())
}

/// `PATCH /api/tenants/members/{id}/`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct RoleBody {
    /// The new role.
    pub role: Option<String>,
}

impl crate::body::Nullable for RoleBody {}

impl RoleBody {
    /// The new role, if the body gives one (a `PATCH` may give none).
    fn role(self) -> Result<Option<Role>, ApiError> {
        let mut errors = FieldErrors::new();
        match self.role {
            None => Ok(None),
            role => parse_role(&mut errors, role).map(Some).ok_or_else(|| ApiError::validation(&errors)),
        }
    }
}

/// Changes a member's role.
#[utoipa::path(patch, path = "/api/tenants/members/{id}/", tag = "tenant", request_body = RoleBody, security(("bearer" = [])),
    params(("id" = i64, Path, description = "Membership id")),
    responses((status = 200, body = MemberBody, headers(("ETag" = String))), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 412, body = ErrorBody)))]
pub async fn change_role(
    req: HttpRequest,
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
    id: web::Path<i64>,
    body: Result<JsonBody<RoleBody>, ApiError>,
) -> Result<HttpResponse, ApiError> {
    actor.may_ever(Action::ManageMembers)?;
    let id = MembershipId(id.into_inner());
    let members = state.members.clone();
    let role = match body.and_then(|JsonBody(body)| body.role()) {
        Ok(role) => role,
        Err(bad) => return Err(refused_after_object(bad, move || members.may_change_role(&actor, id)).await),
    };
    let condition = if_match(&req);
    let member = crate::block(move || match role {
        Some(role) => members.change_role(&actor, id, role, condition.as_ref()),
        None => members.member(&actor, id, condition.as_ref()),
    })
    .await??;
    Ok(tagged(&req, StatusCode::OK, &TenantMembers::member_etag(&member), &member_body(member)))
}

/// Removes a member (or leaves, for one's own membership).
#[utoipa::path(delete, path = "/api/tenants/members/{id}/", tag = "tenant", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Membership id")),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 412, body = ErrorBody)))]
pub async fn remove_member(
    req: HttpRequest,
    state: web::Data<AppState>,
    Authenticated(actor): Authenticated,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = MembershipId(id.into_inner());
    let members = state.members.clone();
    let condition = if_match(&req);
    crate::block(move || members.remove(&actor, id, condition.as_ref())).await??;
    Ok(HttpResponse::NoContent().finish())
}

/// `POST /api/invitations/accept/`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct AcceptBody {
    /// The invitation token.
    pub token: Option<String>,
    /// The existing account's user name or e-mail.
    pub username: Option<String>,
    /// Its password.
    pub password: Option<String>,
}

impl crate::body::Nullable for AcceptBody {}

/// An existing account accepts an invitation; answers like login.
#[utoipa::path(post, path = "/api/invitations/accept/", tag = "auth", request_body = AcceptBody,
    responses((status = 200, body = LoggedIn), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 409, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn accept_invitation(
    req: HttpRequest,
    state: web::Data<AppState>,
    CurrentTenant(tenant): CurrentTenant,
    JsonBody(body): JsonBody<AcceptBody>,
) -> Result<web::Json<LoggedIn>, ApiError> {
    let mut errors = FieldErrors::new();
    let token = required_text(&mut errors, "token", body.token);
    let username = required_text(&mut errors, "username", body.username);
    let password = required_text(&mut errors, "password", trimmed_password(body.password));
    let (Some(token), Some(username), Some(password)) = (token, username, password) else {
        return Err(ApiError::validation(&errors));
    };
    let client = client_ip(&req, &state.settings.trusted_proxies).map(|ip| ip.to_string());
    let registration = state.registration.clone();
    let (user, tokens) =
        crate::block(move || registration.accept_invitation(&tenant, &token, &username, &password, client.as_deref()))
            .await??;
    Ok(web::Json(LoggedIn { access_token: tokens.access, refresh_token: tokens.refresh, user_id: user.id.0 }))
}

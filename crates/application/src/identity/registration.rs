//! Joining: self-registration on a tenant, accepting an invitation, and
//! signing up a new tenant on the platform host.

use taskforce_domain::{
    Email, HostName, Invitation, LimitedResource, NewActivity, NewTenant, NewUser, Notification, NotificationKind,
    Plan, Role, StoreError, StoreExt, TargetType, Tenant, TenantDomain, TenantTx, Unique, User, Verb, record_change,
};

use super::{
    AccountInput, AuthError, Authenticator, Tokens,
    accounts::{check_account, taken_field},
};
use crate::{
    FieldErrors, Notifier, slug_field, tenant_name_field,
    work::{ACTOR, Tidings},
};

/// `POST /api/auth/register/`'s input.
#[derive(Clone, PartialEq, Eq)]
pub struct RegisterInput {
    /// User name.
    pub username: String,
    /// E-mail address.
    pub email: String,
    /// Password.
    pub password: String,
    /// The password again.
    pub password_confirm: String,
    /// An invitation to this tenant, if any.
    pub invitation_token: Option<String>,
}

impl std::fmt::Debug for RegisterInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegisterInput")
            .field("username", &self.username)
            .field("email", &self.email)
            .finish_non_exhaustive()
    }
}

/// Why joining failed. Nothing was stored in any case.
#[derive(Debug, thiserror::Error)]
pub enum JoinError {
    /// The tenant does not take self-registration and no invitation was given.
    #[error("Registration is closed on this tenant.")]
    SignupClosed,
    /// Field-level problems.
    #[error("{0}")]
    Invalid(FieldErrors),
    /// The tenant's plan has no room for another member.
    #[error("The {plan} plan allows {limit} members.")]
    PlanLimit {
        /// The tenant's plan.
        plan: Plan,
        /// The limit reached.
        limit: u32,
    },
    /// The user already belongs to the tenant.
    #[error("You are already a member of this tenant.")]
    AlreadyMember,
    /// The tenant was deactivated while the request was on its way.
    #[error("This tenant is inactive.")]
    TenantInactive,
    /// Authentication failed (accepting as an existing user).
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// `POST /api/signup/`'s input.
#[derive(Clone, PartialEq, Eq)]
pub struct SignupInput {
    /// The new tenant's name.
    pub tenant_name: String,
    /// The new tenant's slug.
    pub slug: String,
    /// The owner's user name.
    pub username: String,
    /// The owner's e-mail address.
    pub email: String,
    /// The owner's password.
    pub password: String,
    /// The password again.
    pub password_confirm: String,
}

impl std::fmt::Debug for SignupInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignupInput")
            .field("slug", &self.slug)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// Why a signup failed. Nothing was created in any case.
#[derive(Debug, thiserror::Error)]
pub enum SignupError {
    /// Field-level problems.
    #[error("{0}")]
    Invalid(FieldErrors),
    /// The slug, user name or e-mail address is taken.
    #[error("{0}")]
    Conflict(FieldErrors),
    /// Too many signups from this client address within the hour.
    #[error("Too many signups from this address. Try again in {retry_after} seconds.")]
    Throttled {
        /// Seconds until signups are accepted again.
        retry_after: u64,
    },
    /// Signing failed.
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A new tenant with its owner signed in.
#[derive(Debug, Clone)]
pub struct SignedUp {
    /// The tenant.
    pub tenant: Tenant,
    /// Its domains.
    pub domains: Vec<TenantDomain>,
    /// The owner.
    pub user: User,
    /// The owner's tokens, valid on the new tenant.
    pub tokens: Tokens,
}

/// The joining use cases.
#[derive(Clone)]
pub struct Registration {
    auth: Authenticator,
    store: std::sync::Arc<dyn taskforce_domain::Store>,
    platform_domain: HostName,
    notifier: Notifier,
}

impl std::fmt::Debug for Registration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registration").field("platform_domain", &self.platform_domain).finish_non_exhaustive()
    }
}

impl Registration {
    /// The use cases; new tenants get `<slug>.<platform_domain>`.
    pub fn new(
        auth: Authenticator,
        store: std::sync::Arc<dyn taskforce_domain::Store>,
        platform_domain: HostName,
    ) -> Self {
        Self { auth, store, platform_domain, notifier: Notifier::default() }
    }

    /// The same use cases, announcing the notifications they write.
    pub fn with_notifier(mut self, notifier: Notifier) -> Self {
        self.notifier = notifier;
        self
    }

    /// Registers a new account as a member of the tenant: open signup gives
    /// the `member` role, an invitation the role it names.
    #[tracing::instrument(skip_all, fields(tenant = %tenant.slug))]
    pub fn register(&self, tenant: &Tenant, input: &RegisterInput) -> Result<(User, Tokens), JoinError> {
        let digest = input
            .invitation_token
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(|t| self.auth.secrets().digest(t));
        if digest.is_none() && !tenant.allow_signup {
            return Err(JoinError::SignupClosed);
        }
        let account = AccountInput {
            username: input.username.clone(),
            email: input.email.clone(),
            password: input.password.clone(),
            is_staff: false,
        };
        let checked = check_account(&account, Some(&input.password_confirm)).map_err(JoinError::Invalid)?;
        // an invitation that cannot be used costs no password hash
        if let Some(digest) = &digest {
            let now = self.auth.clock().now();
            self.store.tenant(tenant, |tx| pending_invitation(tx, digest, tenant, now, "invitation_token"))?;
        }
        let password_hash = self.auth.hasher().hash(&input.password).map_err(|e| AuthError::Internal(e.to_string()))?;
        self.store
            .tenant(tenant, |tx| {
                let locked = tx.tenants().lock(tenant.id)?;
                // as committed once the lock is held, not as the request found
                // it before the password was hashed (tens of milliseconds)
                if !locked.is_active {
                    return Err(JoinError::TenantInactive);
                }
                let now = self.auth.clock().now();
                let invitation = match &digest {
                    Some(digest) => Some(pending_invitation(tx, digest, &locked, now, "invitation_token")?),
                    None if !locked.allow_signup => return Err(JoinError::SignupClosed),
                    None => {
                        room_for_a_member(tx, &locked, now)?;
                        None
                    }
                };
                if let Some(invitation) = &invitation
                    && invitation.email.normalized() != checked.email.normalized()
                {
                    return Err(field("email", "This invitation was sent to another address."));
                }
                let new = NewUser {
                    username: checked.username.clone(),
                    email: checked.email.clone(),
                    password_hash,
                    is_active: true,
                    is_staff: false,
                    registered_themselves: true,
                };
                let user = tx.users().create(&new).map_err(|error| match taken_field(&error) {
                    Some(fields) => JoinError::Invalid(fields),
                    None => error.into(),
                })?;
                let role = invitation.as_ref().map_or(Role::Member, |i| i.role);
                let notes = join(tx, &locked, &user, role, invitation.as_ref(), now)?;
                let tokens = self.auth.open_session(tx, locked.id, user.id)?;
                Ok((user, tokens, notes))
            })
            .map(|(user, tokens, notes)| {
                self.notifier.announce(tenant.id, &notes);
                (user, tokens)
            })
    }

    /// An existing account accepts an invitation to the tenant: it must
    /// authenticate, and the invitation must be addressed to its e-mail.
    #[tracing::instrument(skip_all, fields(tenant = %tenant.slug))]
    pub fn accept_invitation(
        &self,
        tenant: &Tenant,
        token: &str,
        login: &str,
        password: &str,
        client: Option<&str>,
    ) -> Result<(User, Tokens), JoinError> {
        let digest = self.auth.secrets().digest(token.trim());
        // the invitation first: a token that is no pending invitation of this
        // tenant tests no password (and costs no hash)
        let now = self.auth.clock().now();
        self.store.tenant(tenant, |tx| pending_invitation(tx, &digest, tenant, now, "token"))?;
        let user = self.auth.verify_credentials_of_anyone(tenant, login, password, client)?;
        self.store
            .tenant(tenant, |tx| {
                let locked = tx.tenants().lock(tenant.id)?;
                // the tenant and the account as committed once the lock is
                // held: either may have been deactivated while the password
                // was checked
                if !locked.is_active {
                    return Err(JoinError::TenantInactive);
                }
                if !tx.users().get(user.id)?.is_some_and(|now| now.is_active) {
                    return Err(AuthError::InvalidCredentials.into());
                }
                let now = self.auth.clock().now();
                let invitation = pending_invitation(tx, &digest, &locked, now, "token")?;
                if invitation.email.normalized() != user.email.normalized() {
                    return Err(field("token", "This invitation was sent to another address."));
                }
                if tx.memberships().find(locked.id, user.id)?.is_some() {
                    return Err(JoinError::AlreadyMember);
                }
                let notes = join(tx, &locked, &user, invitation.role, Some(&invitation), now)?;
                let tokens = self.auth.open_session(tx, locked.id, user.id)?;
                Ok((user.clone(), tokens, notes))
            })
            .map(|(user, tokens, notes)| {
                self.notifier.announce(tenant.id, &notes);
                (user, tokens)
            })
    }

    /// Creates a tenant (plan `free`) with its schema and the domain
    /// `<slug>.<platform domain>`, a new account as its owner, and signs the
    /// owner in — all in one transaction.
    /// `client` is the caller's address: signups are counted per address
    /// ([`Authenticator::count_signup`]) before anything is checked.
    #[tracing::instrument(skip_all, fields(tenant = %input.slug))]
    pub fn signup(&self, input: &SignupInput, client: Option<&str>) -> Result<SignedUp, SignupError> {
        self.auth.count_signup(client).map_err(|retry_after| SignupError::Throttled { retry_after })?;
        let mut errors = FieldErrors::new();
        let slug = slug_field(&mut errors, "slug", &input.slug);
        let name = tenant_name_field(&mut errors, "tenant_name", &input.tenant_name);
        let account = AccountInput {
            username: input.username.clone(),
            email: input.email.clone(),
            password: input.password.clone(),
            is_staff: false,
        };
        let checked = match check_account(&account, Some(&input.password_confirm)) {
            Ok(checked) => Some(checked),
            Err(problems) => {
                for (field, messages) in problems.fields() {
                    for message in messages {
                        errors.add(field, message.clone());
                    }
                }
                None
            }
        };
        let domain = slug.as_ref().map(|slug| self.platform_domain.subdomain(slug.as_str()));
        let (Some(slug), Some(name), Some(checked), Some(Ok(domain))) = (slug, name, checked, domain) else {
            if errors.is_empty() {
                errors.add("slug", "This slug cannot form a host name.");
            }
            return Err(SignupError::Invalid(errors));
        };
        let password_hash = self.auth.hasher().hash(&input.password).map_err(|e| AuthError::Internal(e.to_string()))?;
        let new = NewTenant { slug, name, plan: Plan::Free, allow_signup: false, domains: vec![domain.clone()] };
        let now = self.auth.clock().now();
        let (tenant, (user, tokens)) = self
            .store
            .provision(&new, |tx, tenant| {
                let owner = NewUser {
                    username: checked.username,
                    email: checked.email,
                    password_hash,
                    is_active: true,
                    is_staff: false,
                    registered_themselves: true,
                };
                let user = tx.users().create(&owner)?;
                join(tx, tenant, &user, Role::Owner, None, now)?;
                let tokens = self.auth.open_session(tx, tenant.id, user.id)?;
                Ok::<_, SignupError>((user, tokens))
            })
            .map_err(|error| match error {
                SignupError::Store(store) => signup_conflict(store),
                other => other,
            })?;
        let domains = vec![TenantDomain { domain, tenant_id: tenant.id, is_primary: true }];
        Ok(SignedUp { tenant, domains, user, tokens })
    }
}

fn field(name: &str, message: &str) -> JoinError {
    let mut errors = FieldErrors::new();
    errors.add(name, message);
    JoinError::Invalid(errors)
}

/// The pending invitation of this tenant with this digest.
fn pending_invitation(
    tx: &mut dyn TenantTx,
    digest: &str,
    tenant: &Tenant,
    now: chrono::DateTime<chrono::Utc>,
    token_field: &str,
) -> Result<Invitation, JoinError> {
    tx.invitations()
        .by_digest(digest)?
        .filter(|invitation| invitation.tenant_id == tenant.id && invitation.is_pending(now))
        .ok_or_else(|| field(token_field, "This invitation is invalid or has expired."))
}

/// Fails when members plus pending invitations already fill the plan.
pub(crate) fn room_for_a_member(
    tx: &mut dyn TenantTx,
    tenant: &Tenant,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), JoinError> {
    let Some(limit) = tenant.plan.limits().of(LimitedResource::Members) else {
        return Ok(());
    };
    let taken = tx.memberships().count(tenant.id, None)? + tx.invitations().count_pending(tenant.id, now)?;
    if taken >= u64::from(limit) {
        return Err(JoinError::PlanLimit { plan: tenant.plan, limit });
    }
    Ok(())
}

/// Adds the membership, uses up the invitation and logs the activity, in
/// the caller's transaction.
fn join(
    tx: &mut dyn TenantTx,
    tenant: &Tenant,
    user: &User,
    role: Role,
    invitation: Option<&Invitation>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<Notification>, StoreError> {
    let membership = tx.memberships().add(tenant.id, user.id, role)?;
    let mut tidings = Tidings::new(user.id, TargetType::Membership, membership.id.0, None, tenant.name.as_str());
    if let Some(invitation) = invitation {
        tx.invitations().accept(invitation.id, user.id, now)?;
        let message = format!("{ACTOR} accepted your invitation to {} as {role}", tenant.name.as_str());
        tidings.tell(Some(invitation.invited_by), NotificationKind::InvitationAccepted, message);
    }
    let mut changes = taskforce_domain::Changes::new();
    record_change(&mut changes, "role", &None::<Role>, &Some(role));
    record_change(&mut changes, "user_id", &None::<i64>, &Some(user.id.0));
    tx.activity().record(&NewActivity {
        actor: user.id,
        verb: Verb::Created,
        target_type: TargetType::Membership,
        target_id: membership.id.0,
        project_id: None,
        changes,
    })?;
    tidings.write(tx, tenant.id)
}

/// Names the field a uniqueness clash during signup is about.
fn signup_conflict(error: StoreError) -> SignupError {
    let mut fields = FieldErrors::new();
    match &error {
        StoreError::Duplicate(rule) => match rule {
            Unique::Slug | Unique::SchemaName | Unique::Schema => {
                fields.add("slug", "A tenant with this slug already exists.")
            }
            // the slug is free, but its host is another tenant's extra domain
            Unique::Domain => fields.add("slug", "The host name of this slug already belongs to another tenant."),
            Unique::Username => fields.add("username", "A user with that username already exists."),
            Unique::Email => fields.add("email", "A user with that email already exists."),
            _ => return SignupError::Store(error),
        },
        _ => return SignupError::Store(error),
    }
    SignupError::Conflict(fields)
}

/// An address as an [`Email`], for callers holding text.
pub fn parse_email(text: &str) -> Result<Email, FieldErrors> {
    Email::parse(text).map_err(|e| {
        let mut fields = FieldErrors::new();
        fields.add("email", e.to_string());
        fields
    })
}

//! A tenant's own settings and members, as its admins manage them through
//! the API.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use taskforce_domain::{
    Changes, Clock, Email, Invitation, InvitationId, Mailer, Member, MembershipId, NewActivity, NewInvitation,
    OutgoingMail, PlanLimits, PlatformTx, Role, Secrets, Store, StoreError, StoreExt, TargetType, Tenant,
    TenantChanges, TenantDomain, TenantName, TenantTx, Usage, Verb, record_change,
};

use crate::{
    AccessCache, Action, Actor, Denied, ETag, FieldErrors, IfMatch, JoinError, Page, PageRequest, Relation,
    identity::room_for_a_member,
    policy::{may_invite, may_manage_member},
};

/// What `GET /api/tenants/me/` shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantOverview {
    /// The tenant.
    pub tenant: Tenant,
    /// Its domains.
    pub domains: Vec<TenantDomain>,
    /// Its plan's limits.
    pub limits: PlanLimits,
    /// Projects and tasks.
    pub usage: Usage,
    /// Members plus pending invitations.
    pub members: u64,
}

/// Why a member-management request failed. Nothing changed in any case.
#[derive(Debug, thiserror::Error)]
pub enum MembersError {
    /// The caller's role does not allow it.
    #[error(transparent)]
    Denied(#[from] Denied),
    /// No such member in this tenant.
    #[error("Not found.")]
    NotFound,
    /// It would leave the tenant without an owner.
    #[error("A tenant must keep at least one owner.")]
    LastOwner,
    /// Field-level problems.
    #[error("{0}")]
    Invalid(FieldErrors),
    /// The plan has no room for another member.
    #[error("The plan allows {limit} members, pending invitations included.")]
    PlanLimit {
        /// The limit reached.
        limit: u32,
    },
    /// `If-Match` names another version than the current one.
    #[error("The object has changed since you read it; fetch it again (see its ETag).")]
    PreconditionFailed,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<JoinError> for MembersError {
    fn from(error: JoinError) -> Self {
        match error {
            JoinError::PlanLimit { limit, .. } => MembersError::PlanLimit { limit },
            JoinError::Invalid(fields) => MembersError::Invalid(fields),
            JoinError::Store(store) => MembersError::Store(store),
            other => MembersError::Store(StoreError::internal(other.to_string())),
        }
    }
}

/// A new invitation and its token (shown once, and mailed).
#[derive(Debug, Clone)]
pub struct IssuedInvitation {
    /// The invitation.
    pub invitation: Invitation,
    /// The secret token.
    pub token: String,
}

/// The tenant-management use cases.
#[derive(Clone)]
pub struct TenantMembers {
    store: Arc<dyn Store>,
    secrets: Arc<dyn Secrets>,
    clock: Arc<dyn Clock>,
    mailer: Arc<dyn Mailer>,
    invitation_ttl: chrono::Duration,
    cache: AccessCache,
}

impl std::fmt::Debug for TenantMembers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TenantMembers").finish_non_exhaustive()
    }
}

impl TenantMembers {
    /// The use cases over their ports.
    pub fn new(
        store: Arc<dyn Store>,
        secrets: Arc<dyn Secrets>,
        clock: Arc<dyn Clock>,
        mailer: Arc<dyn Mailer>,
        invitation_ttl: chrono::Duration,
    ) -> Self {
        Self { store, secrets, clock, mailer, invitation_ttl, cache: AccessCache::default() }
    }

    /// The same use cases, dropping the cached entries their changes affect.
    pub fn with_cache(mut self, cache: AccessCache) -> Self {
        self.cache = cache;
        self
    }

    /// The entity tag of `GET /api/tenants/me/`'s answer: it changes with
    /// anything that answer shows (settings, domains, limits, usage, and
    /// members with pending invitations, which an expiry changes), so a
    /// cached copy is never stale and an `If-Match` on a write holds only
    /// for the state it was read in. FNV-1a over those values, written out:
    /// the same on every server and every build.
    pub fn etag(overview: &TenantOverview) -> ETag {
        let tenant = &overview.tenant;
        let domains: Vec<String> = overview.domains.iter().map(|d| format!("{}:{}", d.domain, d.is_primary)).collect();
        let limits = &overview.limits;
        let shown = format!(
            "{}|{}|{}|{}|{}|{}|{}|{}|{:?}|{:?}|{:?}|{}|{}|{}",
            tenant.id.0,
            tenant.name.as_str(),
            tenant.slug,
            tenant.plan,
            tenant.is_active,
            tenant.allow_signup,
            tenant.created_at.to_rfc3339(),
            domains.join(","),
            limits.projects,
            limits.tasks,
            limits.members,
            overview.usage.projects,
            overview.usage.tasks,
            overview.members,
        );
        let hash = shown
            .bytes()
            .fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3));
        format!("\"tenant-{}-{hash:016x}\"", tenant.id.0)
    }

    /// A membership's entity tag: its role is all that changes.
    pub fn member_etag(member: &Member) -> ETag {
        format!("\"membership-{}-{}\"", member.membership.id.0, member.membership.role)
    }

    /// The tenant with its limits and usage.
    pub fn overview(&self, actor: &Actor) -> Result<TenantOverview, MembersError> {
        let now = self.clock.now();
        self.store.tenant(&actor.tenant, |tx| overview(tx, actor.tenant.id, now))
    }

    /// Changes the name or the signup flag; nothing else can change here.
    #[tracing::instrument(skip_all, fields(tenant = %actor.tenant.slug, user = %actor.user))]
    pub fn update_settings(
        &self,
        actor: &Actor,
        name: Option<TenantName>,
        allow_signup: Option<bool>,
        if_match: Option<&IfMatch>,
    ) -> Result<TenantOverview, MembersError> {
        actor.may(Action::UpdateTenant, Relation::default())?;
        let overview = self.store.tenant(&actor.tenant, |tx| {
            tx.tenants().lock(actor.tenant.id)?;
            // the time, like the role, as it is once the lock is held
            let now = self.clock.now();
            may_now(tx, actor, Action::UpdateTenant)?;
            if let Some(condition) = if_match
                && !condition.matches(&Self::etag(&overview(tx, actor.tenant.id, now)?))
            {
                return Err(MembersError::PreconditionFailed);
            }
            let changes = TenantChanges { name, allow_signup, ..Default::default() };
            tx.tenants().update(actor.tenant.id, &changes)?;
            overview(tx, actor.tenant.id, now)
        })?;
        self.cache.forget_hosts(overview.domains.iter().map(|d| &d.domain));
        Ok(overview)
    }

    /// One page of members.
    pub fn list(&self, actor: &Actor, page: PageRequest) -> Result<Page<Member>, MembersError> {
        actor.may(Action::ListMembers, Relation::default())?;
        let (items, total) = self.store.read(|tx| tx.memberships().page(actor.tenant.id, page.offset(), page.size))?;
        Ok(Page { items, total, request: page })
    }

    /// Invites someone by e-mail with a role; pending invitations count
    /// toward the plan's member limit. The token is mailed after commit.
    #[tracing::instrument(skip_all, fields(tenant = %actor.tenant.slug, user = %actor.user))]
    pub fn invite(&self, actor: &Actor, email: Email, role: Role) -> Result<IssuedInvitation, MembersError> {
        if !may_invite(actor.role, role) {
            return Err(Denied.into());
        }
        let token = self.secrets.random_token();
        let token_digest = self.secrets.digest(&token);
        let invitation = self.store.tenant(&actor.tenant, |tx| {
            let tenant = tx.tenants().lock(actor.tenant.id)?;
            // the time, like the role, as it is once the lock is held: what
            // a withdrawal committed meanwhile ended is no longer pending
            let now = self.clock.now();
            let actor = &as_committed(tx, actor)?;
            if !may_invite(actor.role, role) {
                return Err(Denied.into());
            }
            if let Some((user, _)) = tx.users().by_login(email.as_str())?
                && tx.memberships().find(tenant.id, user.id)?.is_some()
            {
                let mut fields = FieldErrors::new();
                fields.add("email", "This person is already a member.");
                return Err(MembersError::Invalid(fields));
            }
            // asking again replaces the invitation (the old token stops
            // working), so a resent invitation takes no second seat; but
            // only one the actor could have sent (an admin does not end an
            // owner's invitation of an owner: that rolls back)
            let withdrawn = tx.invitations().withdraw_pending(tenant.id, &email, now)?;
            if !withdrawn.iter().all(|offered| may_invite(actor.role, *offered)) {
                return Err(Denied.into());
            }
            room_for_a_member(tx, &tenant, now)?;
            let new = NewInvitation {
                tenant_id: tenant.id,
                email: email.clone(),
                role,
                invited_by: actor.user,
                token_digest: token_digest.clone(),
                expires_at: now + self.invitation_ttl,
            };
            Ok(tx.invitations().create(&new)?)
        })?;
        let mail = OutgoingMail {
            to: email,
            subject: format!("You are invited to {} on TaskForce", actor.tenant.name.as_str()),
            body: format!(
                "You have been invited to join {name} as {role}.\n\n\
                 New to TaskForce? Register on your team's address with this invitation token:\n  {token}\n\
                 (POST /api/auth/register/ with \"invitation_token\").\n\
                 Already have an account? Accept it with POST /api/invitations/accept/.\n\n\
                 The invitation expires at {expires} (UTC).\n",
                name = actor.tenant.name.as_str(),
                expires = invitation.expires_at.format("%Y-%m-%d %H:%M"),
            ),
        };
        if let Err(error) = self.mailer.send(&mail) {
            tracing::error!(%error, invitation = invitation.id.0, "the invitation was stored but its e-mail failed");
        }
        Ok(IssuedInvitation { invitation, token })
    }

    /// One page of the tenant's pending invitations, newest first: what
    /// holds seats of the member limit until it is used, expires or is
    /// withdrawn. Their tokens are not shown again.
    pub fn invitations(&self, actor: &Actor, page: PageRequest) -> Result<Page<Invitation>, MembersError> {
        actor.may(Action::ManageMembers, Relation::default())?;
        let now = self.clock.now();
        let (items, total) =
            self.store.read(|tx| tx.invitations().pending_page(actor.tenant.id, now, page.offset(), page.size))?;
        Ok(Page { items, total, request: page })
    }

    /// Withdraws a pending invitation: its token stops working and its seat
    /// is free at once. Only one the actor could have sent (an admin does not
    /// withdraw an invitation to be an owner).
    #[tracing::instrument(skip_all, fields(tenant = %actor.tenant.slug, user = %actor.user, invitation = %id.0))]
    pub fn withdraw_invitation(&self, actor: &Actor, id: InvitationId) -> Result<(), MembersError> {
        actor.may(Action::ManageMembers, Relation::default())?;
        self.store.platform(|tx| {
            tx.tenants().lock(actor.tenant.id)?;
            let now = self.clock.now();
            let actor = &may_now(tx, actor, Action::ManageMembers)?;
            let invitation = tx.invitations().pending(actor.tenant.id, id, now)?.ok_or(MembersError::NotFound)?;
            if !may_invite(actor.role, invitation.role) {
                return Err(Denied.into());
            }
            Ok(tx.invitations().withdraw(id, now)?)
        })
    }

    /// Whether the membership exists and the actor may change it at all, as
    /// [`TenantMembers::change_role`] would judge before it looks at the new
    /// role: asked when a request's new role cannot be judged, so that a
    /// missing or forbidden membership is reported before the request's own
    /// problems.
    pub fn may_change_role(&self, actor: &Actor, id: MembershipId) -> Result<(), MembersError> {
        actor.may(Action::ManageMembers, Relation::default())?;
        self.store.tenant(&actor.tenant, |tx| managed(tx, actor, id, None).map(drop))
    }

    /// A member the actor may manage, as it is: a `PATCH` that changes
    /// nothing (and still answers `412` to an `If-Match` of another role).
    #[tracing::instrument(skip_all, fields(tenant = %actor.tenant.slug, user = %actor.user))]
    pub fn member(&self, actor: &Actor, id: MembershipId, if_match: Option<&IfMatch>) -> Result<Member, MembersError> {
        actor.may(Action::ManageMembers, Relation::default())?;
        let member = self.store.tenant(&actor.tenant, |tx| managed(tx, actor, id, None))?;
        if !IfMatch::holds(if_match, &Self::member_etag(&member)) {
            return Err(MembersError::PreconditionFailed);
        }
        Ok(member)
    }

    /// Changes a member's role; a tenant always keeps an owner, and admins
    /// never touch owners nor grant owner.
    #[tracing::instrument(skip_all, fields(tenant = %actor.tenant.slug, user = %actor.user))]
    pub fn change_role(
        &self,
        actor: &Actor,
        id: MembershipId,
        role: Role,
        if_match: Option<&IfMatch>,
    ) -> Result<Member, MembersError> {
        actor.may(Action::ManageMembers, Relation::default())?;
        let member = self.store.tenant(&actor.tenant, |tx| {
            tx.tenants().lock(actor.tenant.id)?;
            let actor = &may_now(tx, actor, Action::ManageMembers)?;
            let member = managed(tx, actor, id, Some(role))?;
            if !IfMatch::holds(if_match, &Self::member_etag(&member)) {
                return Err(MembersError::PreconditionFailed);
            }
            let current = member.membership.role;
            if current == Role::Owner
                && role != Role::Owner
                && tx.memberships().count(actor.tenant.id, Some(Role::Owner))? <= 1
            {
                return Err(MembersError::LastOwner);
            }
            if current == role {
                // nothing changes, so nothing is logged
                return Ok(member);
            }
            let updated = tx.memberships().set_role(actor.tenant.id, id, role)?;
            // what they sent and may no longer send ends with the right
            let no_longer: Vec<Role> = Role::ALL.into_iter().filter(|offered| !may_invite(role, *offered)).collect();
            let user = updated.user_id;
            tx.invitations().withdraw_sent_by(actor.tenant.id, user, &no_longer, self.clock.now())?;
            let mut changes = Changes::new();
            record_change(&mut changes, "role", &current, &role);
            log(tx, actor, Verb::Updated, id, changes)?;
            Ok(Member { membership: updated, ..member })
        })?;
        self.cache.forget_member(actor.tenant.id, member.membership.user_id);
        Ok(member)
    }

    /// Removes a member (any member may leave; removing others needs the
    /// right role). The last owner cannot go. Their sessions on the tenant
    /// end with the membership: tokens issued before do not come back if
    /// they are invited again.
    #[tracing::instrument(skip_all, fields(tenant = %actor.tenant.slug, user = %actor.user))]
    pub fn remove(&self, actor: &Actor, id: MembershipId, if_match: Option<&IfMatch>) -> Result<(), MembersError> {
        let removed = self.store.tenant(&actor.tenant, |tx| {
            tx.tenants().lock(actor.tenant.id)?;
            let member = tx.memberships().get(actor.tenant.id, id)?.ok_or(MembersError::NotFound)?;
            let actor = &as_committed(tx, actor)?;
            let current = member.membership.role;
            let leaving = member.membership.user_id == actor.user;
            if !leaving && !may_manage_member(actor.role, current, None) {
                return Err(Denied.into());
            }
            if !IfMatch::holds(if_match, &Self::member_etag(&member)) {
                return Err(MembersError::PreconditionFailed);
            }
            if current == Role::Owner && tx.memberships().count(actor.tenant.id, Some(Role::Owner))? <= 1 {
                return Err(MembersError::LastOwner);
            }
            tx.memberships().remove(actor.tenant.id, id)?;
            // an invitation they sent does not outlive their membership: it
            // would let a removed admin back in under another account
            let inviter = member.membership.user_id;
            tx.invitations().withdraw_sent_by(actor.tenant.id, inviter, &Role::ALL, self.clock.now())?;
            let mut changes = Changes::new();
            record_change(&mut changes, "role", &Some(current), &None::<Role>);
            // as a join names the account, so does a removal
            record_change(&mut changes, "user_id", &Some(member.membership.user_id.0), &None::<i64>);
            log(tx, actor, Verb::Deleted, id, changes)?;
            let user = member.membership.user_id;
            Ok((user, tx.sessions().revoke_all(actor.tenant.id, user, "removed")?))
        })?;
        let (user, sessions) = removed;
        self.cache.forget_member(actor.tenant.id, user);
        self.cache.forget_sessions(actor.tenant.id, &sessions);
        Ok(())
    }
}

/// The actor with their role as committed now, read after the tenant row's
/// lock: a request authenticated before the actor was demoted or removed
/// may have waited on that lock for the demotion to commit, and must not
/// then act on the role it began with (a removed admin's invitation would
/// let them back in). Gone from the tenant: denied.
fn as_committed<T: PlatformTx + ?Sized>(tx: &mut T, actor: &Actor) -> Result<Actor, MembersError> {
    let membership = tx.memberships().find(actor.tenant.id, actor.user)?.ok_or(Denied)?;
    Ok(Actor { role: membership.role, ..actor.clone() })
}

/// [`as_committed`], refused unless that role may do `action` at all.
fn may_now<T: PlatformTx + ?Sized>(tx: &mut T, actor: &Actor, action: Action) -> Result<Actor, MembersError> {
    let actor = as_committed(tx, actor)?;
    actor.may(action, Relation::default())?;
    Ok(actor)
}

/// The membership `id` of the actor's tenant, if the actor's role may change
/// it to `to` (`None`: at all).
fn managed(tx: &mut dyn TenantTx, actor: &Actor, id: MembershipId, to: Option<Role>) -> Result<Member, MembersError> {
    let member = tx.memberships().get(actor.tenant.id, id)?.ok_or(MembersError::NotFound)?;
    if may_manage_member(actor.role, member.membership.role, to) { Ok(member) } else { Err(Denied.into()) }
}

fn overview(
    tx: &mut dyn TenantTx,
    tenant: taskforce_domain::TenantId,
    now: DateTime<Utc>,
) -> Result<TenantOverview, MembersError> {
    let tenant = tx.tenants().get(tenant)?.ok_or(MembersError::NotFound)?;
    let domains = tx.domains().list(Some(tenant.id))?;
    let usage = tx.usage().usage()?;
    let members = tx.memberships().count(tenant.id, None)? + tx.invitations().count_pending(tenant.id, now)?;
    Ok(TenantOverview { limits: tenant.plan.limits(), tenant, domains, usage, members })
}

fn log(tx: &mut dyn TenantTx, actor: &Actor, verb: Verb, id: MembershipId, changes: Changes) -> Result<(), StoreError> {
    tx.activity().record(&NewActivity {
        actor: actor.user,
        verb,
        target_type: TargetType::Membership,
        target_id: id.0,
        project_id: None,
        changes,
    })
}

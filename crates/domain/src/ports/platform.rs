//! Ports over the shared (platform-wide) data: tenants, domains, users and
//! memberships. Each is implemented over one open transaction; [`Store`]
//! hands them out.
//!
//! [`Store`]: super::Store

use chrono::{DateTime, Utc};

use super::StoreError;
use crate::{
    AccessGrant, FamilyId, HostName, Invitation, Member, Membership, MembershipId, NewInvitation, NewUser, Role, Slug,
    Tenant, TenantChanges, TenantDomain, TenantId, User, UserId, Username,
};

/// Reads and changes tenant rows.
pub trait TenantRepository {
    /// The tenant with this id.
    fn get(&mut self, id: TenantId) -> Result<Option<Tenant>, StoreError>;
    /// The tenant with this slug.
    fn by_slug(&mut self, slug: &Slug) -> Result<Option<Tenant>, StoreError>;
    /// The tenant a canonical host name is mapped to.
    fn by_host(&mut self, host: &HostName) -> Result<Option<Tenant>, StoreError>;
    /// Every tenant, by slug.
    fn list(&mut self) -> Result<Vec<Tenant>, StoreError>;
    /// Applies the changes and returns the new state; [`StoreError::NotFound`]
    /// when the tenant is gone.
    fn update(&mut self, id: TenantId, changes: &TenantChanges) -> Result<Tenant, StoreError>;
    /// Locks the tenant's row until the transaction ends and returns it; used
    /// to serialise plan-limit checks.
    fn lock(&mut self, id: TenantId) -> Result<Tenant, StoreError>;
}

/// Reads and changes the host names mapped to tenants.
pub trait DomainRepository {
    /// Maps a host name to a tenant; [`StoreError::Duplicate`]
    /// ([`Unique::Domain`](crate::Unique::Domain)) when it is taken,
    /// ([`Unique::PrimaryDomain`](crate::Unique::PrimaryDomain)) when a
    /// second primary domain is added.
    fn add(&mut self, domain: &TenantDomain) -> Result<(), StoreError>;
    /// Removes a mapping and returns it; [`StoreError::NotFound`] when absent.
    fn remove(&mut self, host: &HostName) -> Result<TenantDomain, StoreError>;
    /// The mapping of one host name.
    fn get(&mut self, host: &HostName) -> Result<Option<TenantDomain>, StoreError>;
    /// The domains of one tenant (primary first), or of all tenants.
    fn list(&mut self, tenant: Option<TenantId>) -> Result<Vec<TenantDomain>, StoreError>;
    /// Clears the primary flag on all of a tenant's domains.
    fn clear_primary(&mut self, tenant: TenantId) -> Result<(), StoreError>;
}

/// Reads and creates accounts.
pub trait UserRepository {
    /// Creates an account; [`StoreError::Duplicate`]
    /// ([`Unique::Username`](crate::Unique::Username) or
    /// [`Unique::Email`](crate::Unique::Email)) when the name or address is
    /// taken (see [`NewUser::login_clash`](crate::NewUser::login_clash)).
    fn create(&mut self, user: &NewUser) -> Result<User, StoreError>;
    /// The account with this id.
    fn get(&mut self, id: UserId) -> Result<Option<User>, StoreError>;
    /// Marks the account as its holder's, proven by an operator: imports
    /// take it for an arriving person of the same user name and address
    /// ([`User::registered_themselves`] becomes false). `None` if no account
    /// has the name.
    fn confirm(&mut self, username: &Username) -> Result<Option<User>, StoreError>;
    /// The account with this user name (case-insensitive).
    fn by_username(&mut self, username: &Username) -> Result<Option<User>, StoreError>;
    /// The account whose user name or e-mail address (both case-insensitive)
    /// is `login`, with its password hash.
    fn by_login(&mut self, login: &str) -> Result<Option<(User, String)>, StoreError>;
    /// Records a successful login.
    fn touch_login(&mut self, id: UserId, at: DateTime<Utc>) -> Result<(), StoreError>;
    /// Replaces the account's password hash `old` by `new` (a stronger hash
    /// of the same password, made at a successful login); `false`, and
    /// nothing changed, when the stored hash is no longer `old`.
    fn replace_password_hash(&mut self, id: UserId, old: &str, new: &str) -> Result<bool, StoreError>;
}

/// Reads and changes who belongs to which tenant, with which role.
pub trait MembershipRepository {
    /// Adds a member; [`StoreError::Duplicate`]
    /// ([`Unique::Membership`](crate::Unique::Membership)) when the user
    /// already belongs to the tenant.
    fn add(&mut self, tenant: TenantId, user: UserId, role: Role) -> Result<Membership, StoreError>;
    /// [`MembershipRepository::add`] with the date the member joined
    /// (an imported tenant keeps its members' dates).
    fn add_joined_at(
        &mut self,
        tenant: TenantId,
        user: UserId,
        role: Role,
        joined_at: DateTime<Utc>,
    ) -> Result<Membership, StoreError>;
    /// The user's membership of the tenant.
    fn find(&mut self, tenant: TenantId, user: UserId) -> Result<Option<Membership>, StoreError>;
    /// [`MembershipRepository::find`], holding the tenant row (as a removal
    /// locks it first) and the membership against its removal until the
    /// transaction ends: a session opened in the same
    /// transaction cannot slip past a removal that races it (the removal
    /// waits, then ends that session too).
    fn hold(&mut self, tenant: TenantId, user: UserId) -> Result<Option<Membership>, StoreError>;
    /// The tenant's members with their accounts, by join date.
    fn list(&mut self, tenant: TenantId) -> Result<Vec<Member>, StoreError>;
    /// One page of the tenant's members (by join date) and the total count.
    fn page(&mut self, tenant: TenantId, offset: u64, limit: u64) -> Result<(Vec<Member>, u64), StoreError>;
    /// One membership of the tenant, with the account.
    fn get(&mut self, tenant: TenantId, id: MembershipId) -> Result<Option<Member>, StoreError>;
    /// Changes a member's role.
    fn set_role(&mut self, tenant: TenantId, id: MembershipId, role: Role) -> Result<Membership, StoreError>;
    /// Removes a membership and returns it.
    fn remove(&mut self, tenant: TenantId, id: MembershipId) -> Result<Membership, StoreError>;
    /// How many members the tenant has, or how many with one role.
    fn count(&mut self, tenant: TenantId, role: Option<Role>) -> Result<u64, StoreError>;
    /// The members of the tenant among these user names (compared without
    /// regard to case): their ids and names.
    fn named(&mut self, tenant: TenantId, usernames: &[String]) -> Result<Vec<(UserId, Username)>, StoreError>;
    /// What the user may do in the tenant with a token of the session
    /// `family`, in one look-up: `None` when not a member.
    fn access(&mut self, tenant: TenantId, user: UserId, family: FamilyId) -> Result<Option<AccessGrant>, StoreError>;
}

/// The state of a login session when locked for a refresh.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionState {
    /// The tenant it was opened on.
    pub tenant: TenantId,
    /// The user.
    pub user: UserId,
    /// Whether it was ended (logout, reuse of a spent token).
    pub revoked: bool,
}

/// What spending a refresh token found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spend {
    /// It was unspent and is spent now.
    Spent,
    /// It had been spent before: a replay.
    AlreadySpent,
    /// No such token in this session.
    Unknown,
}

/// Login sessions (refresh-token families) and their tokens. Only digests of
/// token ids are stored.
pub trait SessionRepository {
    /// Opens a session.
    fn open(&mut self, tenant: TenantId, user: UserId) -> Result<FamilyId, StoreError>;
    /// Records a refresh token of the session.
    fn add_token(&mut self, family: FamilyId, token_digest: &str, expires_at: DateTime<Utc>) -> Result<(), StoreError>;
    /// Locks the session until the transaction ends, so that two refreshes
    /// of one token take turns.
    fn lock(&mut self, family: FamilyId) -> Result<Option<SessionState>, StoreError>;
    /// Marks a refresh token spent.
    fn spend(&mut self, family: FamilyId, token_digest: &str) -> Result<Spend, StoreError>;
    /// Ends the session; every token of it stops working.
    fn revoke(&mut self, family: FamilyId, reason: &str) -> Result<(), StoreError>;
    /// Ends every live session of the user on the tenant (a member removed):
    /// the sessions it ended.
    fn revoke_all(&mut self, tenant: TenantId, user: UserId, reason: &str) -> Result<Vec<FamilyId>, StoreError>;
    /// Records a single-use stream ticket of the session (and forgets
    /// tickets that expired before `now`).
    fn add_ticket(
        &mut self,
        family: FamilyId,
        token_digest: &str,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// Uses up a ticket of this tenant that has not expired at `now`: whose
    /// session it was, once; `None` for an unknown, used, expired or other
    /// tenant's ticket.
    fn take_ticket(
        &mut self,
        tenant: TenantId,
        token_digest: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<(UserId, FamilyId)>, StoreError>;
}

/// Invitations to join tenants.
pub trait InvitationRepository {
    /// Stores an invitation.
    fn create(&mut self, invitation: &NewInvitation) -> Result<Invitation, StoreError>;
    /// The invitation with this token digest, locked until the transaction ends.
    fn by_digest(&mut self, token_digest: &str) -> Result<Option<Invitation>, StoreError>;
    /// Marks it used by a user.
    fn accept(&mut self, id: crate::InvitationId, user: UserId, at: DateTime<Utc>) -> Result<(), StoreError>;
    /// Invitations of the tenant not used and not expired at `now`, but for
    /// those to an address whose account is a member already (it is counted
    /// as a member).
    fn count_pending(&mut self, tenant: TenantId, now: DateTime<Utc>) -> Result<u64, StoreError>;
    /// Ends (`ended_at = now`) the tenant's invitations to `email` (any case)
    /// that are not used and not yet ended, expired ones too (whether one has
    /// expired is one server's clock's view): their tokens stop working.
    /// Returns the roles of those still pending at `now`.
    fn withdraw_pending(
        &mut self,
        tenant: TenantId,
        email: &crate::Email,
        now: DateTime<Utc>,
    ) -> Result<Vec<crate::Role>, StoreError>;
    /// Ends (`ended_at = now`) the tenant's invitations that `inviter` sent
    /// offering one of `roles`, not used and not yet ended, expired ones
    /// too: a removed or demoted member's invitations do not outlive the
    /// right to send them. Returns how many were ended.
    fn withdraw_sent_by(
        &mut self,
        tenant: TenantId,
        inviter: UserId,
        roles: &[crate::Role],
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError>;
    /// One page of the tenant's invitations pending at `now`, newest first,
    /// with their total.
    fn pending_page(
        &mut self,
        tenant: TenantId,
        now: DateTime<Utc>,
        offset: u64,
        limit: u64,
    ) -> Result<(Vec<Invitation>, u64), StoreError>;
    /// The tenant's invitation `id` if it is pending at `now`, locked until
    /// the transaction ends.
    fn pending(
        &mut self,
        tenant: TenantId,
        id: crate::InvitationId,
        now: DateTime<Utc>,
    ) -> Result<Option<Invitation>, StoreError>;
    /// Ends the invitation `id` at `now`: its token stops working.
    fn withdraw(&mut self, id: crate::InvitationId, now: DateTime<Utc>) -> Result<(), StoreError>;
}

/// One transaction over the shared data.
pub trait PlatformTx {
    /// Tenant rows.
    fn tenants(&mut self) -> &mut dyn TenantRepository;
    /// Domain mappings.
    fn domains(&mut self) -> &mut dyn DomainRepository;
    /// Accounts.
    fn users(&mut self) -> &mut dyn UserRepository;
    /// Memberships.
    fn memberships(&mut self) -> &mut dyn MembershipRepository;
    /// Login sessions.
    fn sessions(&mut self) -> &mut dyn SessionRepository;
    /// Invitations.
    fn invitations(&mut self) -> &mut dyn InvitationRepository;
}

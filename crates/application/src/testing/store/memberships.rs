//! [`MembershipRepository`] over the fake's `memberships`: one membership
//! per user and tenant (`memberships_tenant_user_key`).

use chrono::{DateTime, Utc};
use taskforce_domain::{
    AccessGrant, FamilyId, Member, Membership, MembershipId, MembershipRepository, Role, StoreError, TenantId, Unique,
    UserId, Username,
};

use super::tx::FakeTx;

impl FakeTx<'_> {
    /// The membership with its account, as the adapter's join gives it.
    fn with_account(&self, membership: &Membership) -> Result<Member, StoreError> {
        let stored = self
            .state
            .users
            .iter()
            .find(|u| u.user.id == membership.user_id)
            .ok_or_else(|| StoreError::internal(format!("membership {} has no account", membership.id.0)))?;
        Ok(Member {
            membership: membership.clone(),
            username: stored.user.username.clone(),
            email: stored.user.email.clone(),
        })
    }

    fn membership_mut(&mut self, tenant: TenantId, id: MembershipId) -> Result<&mut Membership, StoreError> {
        self.state.memberships.iter_mut().find(|m| m.tenant_id == tenant && m.id == id).ok_or(StoreError::NotFound)
    }
}

impl MembershipRepository for FakeTx<'_> {
    fn add(&mut self, tenant: TenantId, user: UserId, role: Role) -> Result<Membership, StoreError> {
        let now = self.now;
        self.add_joined_at(tenant, user, role, now)
    }

    fn add_joined_at(
        &mut self,
        tenant: TenantId,
        user: UserId,
        role: Role,
        joined_at: DateTime<Utc>,
    ) -> Result<Membership, StoreError> {
        self.tenant_exists(tenant)?;
        self.user_exists(user)?;
        if self.state.memberships.iter().any(|m| m.tenant_id == tenant && m.user_id == user) {
            return Err(StoreError::Duplicate(Unique::Membership));
        }
        let membership =
            Membership { id: MembershipId(self.state.next_id()), tenant_id: tenant, user_id: user, role, joined_at };
        self.state.memberships.push(membership.clone());
        Ok(membership)
    }

    /// The fake's units run one at a time: nothing can race the hold.
    fn hold(&mut self, tenant: TenantId, user: UserId) -> Result<Option<Membership>, StoreError> {
        self.find(tenant, user)
    }

    fn find(&mut self, tenant: TenantId, user: UserId) -> Result<Option<Membership>, StoreError> {
        Ok(self.state.memberships.iter().find(|m| m.tenant_id == tenant && m.user_id == user).cloned())
    }

    fn list(&mut self, tenant: TenantId) -> Result<Vec<Member>, StoreError> {
        self.page(tenant, 0, u64::MAX).map(|(members, _)| members)
    }

    fn page(&mut self, tenant: TenantId, offset: u64, limit: u64) -> Result<(Vec<Member>, u64), StoreError> {
        let mut own: Vec<&Membership> = self.state.memberships.iter().filter(|m| m.tenant_id == tenant).collect();
        own.sort_by_key(|m| (m.joined_at, m.id));
        let total = own.len() as u64;
        let offset = usize::try_from(offset).unwrap_or(usize::MAX);
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        let page = own.into_iter().skip(offset).take(limit).map(|m| self.with_account(m)).collect::<Result<_, _>>()?;
        Ok((page, total))
    }

    fn get(&mut self, tenant: TenantId, id: MembershipId) -> Result<Option<Member>, StoreError> {
        self.state
            .memberships
            .iter()
            .find(|m| m.tenant_id == tenant && m.id == id)
            .map(|m| self.with_account(m))
            .transpose()
    }

    fn set_role(&mut self, tenant: TenantId, id: MembershipId, role: Role) -> Result<Membership, StoreError> {
        let membership = self.membership_mut(tenant, id)?;
        membership.role = role;
        Ok(membership.clone())
    }

    fn remove(&mut self, tenant: TenantId, id: MembershipId) -> Result<Membership, StoreError> {
        let index = self
            .state
            .memberships
            .iter()
            .position(|m| m.tenant_id == tenant && m.id == id)
            .ok_or(StoreError::NotFound)?;
        Ok(self.state.memberships.remove(index))
    }

    fn count(&mut self, tenant: TenantId, role: Option<Role>) -> Result<u64, StoreError> {
        let matching = |m: &&Membership| m.tenant_id == tenant && role.is_none_or(|role| m.role == role);
        Ok(self.state.memberships.iter().filter(matching).count() as u64)
    }

    fn named(&mut self, tenant: TenantId, usernames: &[String]) -> Result<Vec<(UserId, Username)>, StoreError> {
        let wanted: Vec<String> = usernames.iter().map(|name| name.to_lowercase()).collect();
        let members = self.state.memberships.iter().filter(|m| m.tenant_id == tenant);
        let named = members
            .filter_map(|m| self.state.users.iter().find(|u| u.user.id == m.user_id))
            .filter(|u| wanted.contains(&u.user.username.normalized()))
            .map(|u| (u.user.id, u.user.username.clone()))
            .collect();
        Ok(named)
    }

    fn access(&mut self, tenant: TenantId, user: UserId, family: FamilyId) -> Result<Option<AccessGrant>, StoreError> {
        let Some(membership) = self.state.memberships.iter().find(|m| m.tenant_id == tenant && m.user_id == user)
        else {
            return Ok(None);
        };
        let user_active = self.state.users.iter().find(|u| u.user.id == user).is_some_and(|u| u.user.is_active);
        // an unknown session, or another user's or tenant's, counts as ended
        let session = self.state.sessions.iter().find(|s| s.family == family && s.user == user && s.tenant == tenant);
        Ok(Some(AccessGrant {
            role: membership.role,
            user_active,
            session_revoked: session.is_none_or(|s| s.revoked.is_some()),
        }))
    }
}

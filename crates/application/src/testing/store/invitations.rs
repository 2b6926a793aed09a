//! [`InvitationRepository`] over the fake's `invitations`: token digests are
//! unique (`invitations_token_digest_key`).

use chrono::{DateTime, Utc};
use taskforce_domain::{
    Email, Invitation, InvitationId, InvitationRepository, NewInvitation, Role, StoreError, TenantId, Unique, UserId,
};

use super::{state::StoredInvitation, tx::FakeTx};

impl InvitationRepository for FakeTx<'_> {
    fn create(&mut self, new: &NewInvitation) -> Result<Invitation, StoreError> {
        self.tenant_exists(new.tenant_id)?;
        self.user_exists(new.invited_by)?;
        if self.state.invitations.iter().any(|i| i.token_digest == new.token_digest) {
            return Err(StoreError::Duplicate(Unique::Other("invitations_token_digest_key".into())));
        }
        let invitation = Invitation {
            id: InvitationId(self.state.next_id()),
            tenant_id: new.tenant_id,
            email: new.email.clone(),
            role: new.role,
            invited_by: new.invited_by,
            created_at: self.now,
            expires_at: new.expires_at,
            accepted_at: None,
            ended_at: None,
        };
        self.state.invitations.push(StoredInvitation {
            invitation: invitation.clone(),
            token_digest: new.token_digest.clone(),
            accepted_by: None,
        });
        Ok(invitation)
    }

    fn by_digest(&mut self, token_digest: &str) -> Result<Option<Invitation>, StoreError> {
        Ok(self.state.invitations.iter().find(|i| i.token_digest == token_digest).map(|i| i.invitation.clone()))
    }

    fn accept(&mut self, id: InvitationId, user: UserId, at: DateTime<Utc>) -> Result<(), StoreError> {
        if let Some(stored) = self.state.invitations.iter_mut().find(|i| i.invitation.id == id) {
            stored.invitation.accepted_at = Some(at);
            stored.accepted_by = Some(user);
        }
        Ok(())
    }

    fn count_pending(&mut self, tenant: TenantId, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let members: Vec<String> = self
            .state
            .memberships
            .iter()
            .filter(|m| m.tenant_id == tenant)
            .filter_map(|m| self.state.users.iter().find(|u| u.user.id == m.user_id))
            .map(|u| u.user.email.normalized())
            .collect();
        let pending = |i: &&StoredInvitation| {
            i.invitation.tenant_id == tenant
                && i.invitation.is_pending(now)
                && !members.contains(&i.invitation.email.normalized())
        };
        Ok(self.state.invitations.iter().filter(pending).count() as u64)
    }

    fn withdraw_pending(
        &mut self,
        tenant: TenantId,
        email: &Email,
        now: DateTime<Utc>,
    ) -> Result<Vec<Role>, StoreError> {
        let mut pending = Vec::new();
        for stored in self.state.invitations.iter_mut().filter(|i| {
            i.invitation.tenant_id == tenant
                && i.invitation.accepted_at.is_none()
                && i.invitation.ended_at.is_none()
                && i.invitation.email.normalized() == email.normalized()
        }) {
            if stored.invitation.is_pending(now) {
                pending.push(stored.invitation.role);
            }
            stored.invitation.ended_at = Some(now);
        }
        Ok(pending)
    }

    fn withdraw_sent_by(
        &mut self,
        tenant: TenantId,
        inviter: UserId,
        roles: &[Role],
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let mut ended = 0;
        for stored in self.state.invitations.iter_mut().filter(|i| {
            i.invitation.tenant_id == tenant
                && i.invitation.invited_by == inviter
                && roles.contains(&i.invitation.role)
                && i.invitation.accepted_at.is_none()
                && i.invitation.ended_at.is_none()
        }) {
            stored.invitation.ended_at = Some(now);
            ended += 1;
        }
        Ok(ended)
    }

    fn pending_page(
        &mut self,
        tenant: TenantId,
        now: DateTime<Utc>,
        offset: u64,
        limit: u64,
    ) -> Result<(Vec<Invitation>, u64), StoreError> {
        let mut pending: Vec<Invitation> = self
            .state
            .invitations
            .iter()
            .filter(|i| i.invitation.tenant_id == tenant && i.invitation.is_pending(now))
            .map(|i| i.invitation.clone())
            .collect();
        pending.sort_by_key(|i| std::cmp::Reverse((i.created_at, i.id.0)));
        let total = pending.len() as u64;
        let page = pending.into_iter().skip(offset as usize).take(limit as usize).collect();
        Ok((page, total))
    }

    fn pending(
        &mut self,
        tenant: TenantId,
        id: InvitationId,
        now: DateTime<Utc>,
    ) -> Result<Option<Invitation>, StoreError> {
        Ok(self
            .state
            .invitations
            .iter()
            .find(|i| i.invitation.id == id && i.invitation.tenant_id == tenant && i.invitation.is_pending(now))
            .map(|i| i.invitation.clone()))
    }

    fn withdraw(&mut self, id: InvitationId, now: DateTime<Utc>) -> Result<(), StoreError> {
        if let Some(stored) =
            self.state.invitations.iter_mut().find(|i| i.invitation.id == id && i.invitation.ended_at.is_none())
        {
            stored.invitation.ended_at = Some(now);
        }
        Ok(())
    }
}

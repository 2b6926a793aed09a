//! [`SessionRepository`] over the fake's `refresh_families` and
//! `refresh_tokens`.

use chrono::{DateTime, Utc};
use taskforce_domain::{FamilyId, SessionRepository, SessionState, Spend, StoreError, TenantId, Unique, UserId};

use super::{
    state::{StoredRefreshToken, StoredSession},
    tx::FakeTx,
};

impl SessionRepository for FakeTx<'_> {
    fn open(&mut self, tenant: TenantId, user: UserId) -> Result<FamilyId, StoreError> {
        self.tenant_exists(tenant)?;
        self.user_exists(user)?;
        let family = FamilyId(self.state.next_id());
        self.state.sessions.push(StoredSession { family, tenant, user, revoked: None });
        Ok(family)
    }

    fn add_token(&mut self, family: FamilyId, token_digest: &str, expires_at: DateTime<Utc>) -> Result<(), StoreError> {
        if !self.state.sessions.iter().any(|s| s.family == family) {
            return Err(StoreError::internal(format!("foreign key violation: no session {family}")));
        }
        if self.state.refresh_tokens.iter().any(|t| t.digest == token_digest) {
            return Err(StoreError::Duplicate(Unique::Other("refresh_tokens_pkey".into())));
        }
        self.state.refresh_tokens.push(StoredRefreshToken {
            family,
            digest: token_digest.to_owned(),
            expires_at,
            spent: false,
        });
        Ok(())
    }

    fn lock(&mut self, family: FamilyId) -> Result<Option<SessionState>, StoreError> {
        Ok(self.state.sessions.iter().find(|s| s.family == family).map(|s| SessionState {
            tenant: s.tenant,
            user: s.user,
            revoked: s.revoked.is_some(),
        }))
    }

    fn spend(&mut self, family: FamilyId, token_digest: &str) -> Result<Spend, StoreError> {
        let token = self.state.refresh_tokens.iter_mut().find(|t| t.family == family && t.digest == token_digest);
        Ok(match token {
            None => Spend::Unknown,
            Some(token) if token.spent => Spend::AlreadySpent,
            Some(token) => {
                token.spent = true;
                Spend::Spent
            }
        })
    }

    fn revoke(&mut self, family: FamilyId, reason: &str) -> Result<(), StoreError> {
        // the first reason stays, as `WHERE revoked_at IS NULL` keeps it
        if let Some(session) = self.state.sessions.iter_mut().find(|s| s.family == family && s.revoked.is_none()) {
            session.revoked = Some(reason.to_owned());
        }
        Ok(())
    }

    fn revoke_all(&mut self, tenant: TenantId, user: UserId, reason: &str) -> Result<Vec<FamilyId>, StoreError> {
        let mut ended = Vec::new();
        for session in self.state.sessions.iter_mut().filter(|s| s.tenant == tenant && s.user == user) {
            if session.revoked.is_none() {
                session.revoked = Some(reason.to_owned());
                ended.push(session.family);
            }
        }
        Ok(ended)
    }

    fn add_ticket(
        &mut self,
        family: FamilyId,
        token_digest: &str,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        if !self.state.sessions.iter().any(|s| s.family == family) {
            return Err(StoreError::internal(format!("foreign key violation: no session {family}")));
        }
        self.state.tickets.retain(|(_, _, expires)| *expires >= now);
        if self.state.tickets.iter().any(|(digest, _, _)| digest == token_digest) {
            return Err(StoreError::Duplicate(Unique::Other("stream_tickets_pkey".into())));
        }
        self.state.tickets.push((token_digest.to_owned(), family, expires_at));
        Ok(())
    }

    fn take_ticket(
        &mut self,
        tenant: TenantId,
        token_digest: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<(UserId, FamilyId)>, StoreError> {
        let sessions = &self.state.sessions;
        let position = self.state.tickets.iter().position(|(digest, family, expires)| {
            digest == token_digest
                && *expires > now
                && sessions.iter().any(|s| s.family == *family && s.tenant == tenant)
        });
        let Some(position) = position else { return Ok(None) };
        let (_, family, _) = self.state.tickets.remove(position);
        let user = sessions.iter().find(|s| s.family == family).map(|s| s.user).ok_or(StoreError::NotFound)?;
        Ok(Some((user, family)))
    }
}

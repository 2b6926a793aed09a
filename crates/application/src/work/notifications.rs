//! Reading notifications, marking them read, and stream tickets.

use std::{sync::Arc, time::Duration};

use taskforce_domain::{Clock, FamilyId, Notification, Secrets, Store, StoreExt, TenantId, UserId};

use super::WorkError;
use crate::{Actor, Page, PageRequest};

/// How long a stream ticket can be used.
pub const TICKET_TTL: Duration = Duration::from_secs(60);

/// A single-use ticket for `EventSource`, which cannot send headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ticket {
    /// The secret.
    pub ticket: String,
    /// Unusable after this.
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

/// The notification use cases: each member sees only their own.
#[derive(Clone)]
pub struct Notifications {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    secrets: Arc<dyn Secrets>,
}

impl std::fmt::Debug for Notifications {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Notifications").finish_non_exhaustive()
    }
}

impl Notifications {
    /// The use cases.
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, secrets: Arc<dyn Secrets>) -> Self {
        Self { store, clock, secrets }
    }

    /// One page of the caller's notifications, newest first.
    pub fn list(&self, actor: &Actor, unread_only: bool, page: PageRequest) -> Result<Page<Notification>, WorkError> {
        let (items, total) = self
            .store
            .tenant(&actor.tenant, |tx| tx.notifications().page(actor.user, unread_only, page.offset(), page.size))?;
        Ok(Page { items, total, request: page })
    }

    /// The caller's notifications after `after`, oldest first (a stream
    /// catching up).
    pub fn after(&self, actor: &Actor, after: i64, limit: u64) -> Result<Vec<Notification>, WorkError> {
        Ok(self.store.tenant(&actor.tenant, |tx| tx.notifications().after(actor.user, after, limit))?)
    }

    /// The id of the caller's newest notification (0 with none): where a
    /// fresh stream starts.
    pub fn latest_id(&self, actor: &Actor) -> Result<i64, WorkError> {
        let (items, _) = self.store.tenant(&actor.tenant, |tx| tx.notifications().page(actor.user, false, 0, 1))?;
        Ok(items.first().map_or(0, |n| n.id))
    }

    /// Whether the stream's caller may still receive: an active member of
    /// an active tenant with their session alive. Streams ask before each
    /// delivery and at each heartbeat, so a logout, removal or deactivation
    /// ends an open stream too.
    pub fn still_admitted(&self, actor: &Actor) -> Result<bool, WorkError> {
        let (tenant, grant) = self.store.read(|tx| {
            let tenant = tx.tenants().get(actor.tenant.id)?;
            let grant = tx.memberships().access(actor.tenant.id, actor.user, actor.session)?;
            Ok::<_, taskforce_domain::StoreError>((tenant, grant))
        })?;
        let tenant_active = tenant.is_some_and(|t| t.is_active);
        Ok(tenant_active && grant.is_some_and(|g| g.user_active && !g.session_revoked))
    }

    /// Marks one of the caller's notifications read.
    pub fn mark_read(&self, actor: &Actor, id: i64) -> Result<Notification, WorkError> {
        let now = self.clock.now();
        self.store
            .tenant(&actor.tenant, |tx| tx.notifications().mark_read(actor.user, id, now))?
            .ok_or(WorkError::NotFound)
    }

    /// Marks all of the caller's notifications read.
    pub fn mark_all_read(&self, actor: &Actor) -> Result<u64, WorkError> {
        let now = self.clock.now();
        Ok(self.store.tenant(&actor.tenant, |tx| tx.notifications().mark_all_read(actor.user, now))?)
    }

    /// A single-use ticket, valid 60 s, to open the caller's stream. Kept
    /// (as a digest) in PostgreSQL, so it works on any instance, Redis or not.
    pub fn ticket(&self, actor: &Actor) -> Result<Ticket, WorkError> {
        let ticket = self.secrets.random_token();
        let now = self.clock.now();
        let lifetime = chrono::Duration::from_std(TICKET_TTL).unwrap_or_else(|_| chrono::Duration::seconds(60));
        // microseconds, as every other time the API gives
        let expires_at = chrono::SubsecRound::trunc_subsecs(now + lifetime, 6);
        let digest = self.secrets.digest(&ticket);
        self.store.platform(|tx| tx.sessions().add_ticket(actor.session, &digest, expires_at, now))?;
        Ok(Ticket { ticket, expires_at })
    }

    /// Uses up a ticket of this tenant: whose it was, once.
    pub fn redeem(&self, tenant: TenantId, ticket: &str) -> Result<Option<(UserId, FamilyId)>, WorkError> {
        let digest = self.secrets.digest(ticket);
        let now = self.clock.now();
        Ok(self.store.platform(|tx| tx.sessions().take_ticket(tenant, &digest, now))?)
    }
}

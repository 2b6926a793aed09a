//! Writing notifications in the transaction of their cause, and announcing
//! them to every instance after it commits.

use std::{
    collections::{BTreeMap, BTreeSet},
    sync::Arc,
};

use taskforce_domain::{
    Bus, NewNotification, Notification, NotificationKind, StoreError, TargetType, TenantId, TenantTx, UserId, mentions,
};

/// The bus topic notifications are announced on.
pub const NOTIFICATIONS_TOPIC: &str = "notifications";

/// What the bus carries for each new notification.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Announcement {
    /// The tenant.
    pub tenant_id: i64,
    /// The recipient.
    pub recipient_id: i64,
    /// The notification's id (streams send it as the event id).
    pub id: i64,
}

/// A bus that carries nothing: the default until one is given.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoBus;

impl Bus for NoBus {
    fn publish(&self, _: &str, _: &str) {}

    fn subscribe(&self, _: &str, _: taskforce_domain::Handler) {}
}

/// Announces notifications on the bus.
#[derive(Clone)]
pub struct Notifier {
    bus: Arc<dyn Bus>,
}

impl std::fmt::Debug for Notifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Notifier").finish_non_exhaustive()
    }
}

impl Default for Notifier {
    fn default() -> Self {
        Self { bus: Arc::new(NoBus) }
    }
}

impl Notifier {
    /// A notifier announcing on `bus`.
    pub fn new(bus: Arc<dyn Bus>) -> Self {
        Self { bus }
    }

    /// Announces committed notifications to every instance (their streams
    /// then read them from the store).
    pub fn announce(&self, tenant: TenantId, notifications: &[Notification]) {
        for notification in notifications {
            let announcement =
                Announcement { tenant_id: tenant.0, recipient_id: notification.recipient.0, id: notification.id };
            if let Ok(payload) = serde_json::to_string(&announcement) {
                self.bus.publish(NOTIFICATIONS_TOPIC, &payload);
            }
        }
    }
}

/// Who should hear of one change, gathered before writing: at most one
/// notification per recipient (the first reason wins), never the actor.
#[derive(Debug)]
pub(crate) struct Tidings {
    actor: UserId,
    target_type: TargetType,
    target_id: i64,
    project_id: Option<i64>,
    title: String,
    pending: BTreeMap<i64, (NotificationKind, String)>,
    /// Recipients already read as members (those mentioned), whose
    /// membership [`Tidings::write`] need not look up again.
    members: BTreeSet<i64>,
}

impl Tidings {
    pub(crate) fn new(
        actor: UserId,
        target_type: TargetType,
        target_id: i64,
        project_id: Option<i64>,
        title: &str,
    ) -> Self {
        Self {
            actor,
            target_type,
            target_id,
            project_id,
            title: title.to_owned(),
            pending: BTreeMap::new(),
            members: BTreeSet::new(),
        }
    }

    /// Adds a recipient, unless it is the actor or already has a reason.
    pub(crate) fn tell(&mut self, recipient: Option<UserId>, kind: NotificationKind, message: String) {
        if let Some(recipient) = recipient
            && recipient != self.actor
        {
            self.pending.entry(recipient.0).or_insert((kind, message));
        }
    }

    /// Adds the members `text` mentions (not in `already_in`, so an edit only
    /// notifies new mentions). Mentions of non-members notify nobody.
    pub(crate) fn mentioned_in(
        &mut self,
        tx: &mut dyn TenantTx,
        tenant: TenantId,
        text: &str,
        already_in: &str,
    ) -> Result<(), StoreError> {
        let before: std::collections::HashSet<String> = mentions(already_in).into_iter().collect();
        let names: Vec<String> = mentions(text).into_iter().filter(|name| !before.contains(name)).collect();
        if names.is_empty() {
            return Ok(());
        }
        for (user, _) in tx.memberships().named(tenant, &names)? {
            let message = format!("{ACTOR} mentioned you in “{}”", self.title);
            self.tell(Some(user), NotificationKind::Mentioned, message);
            self.members.insert(user.0);
        }
        Ok(())
    }

    /// Writes them in the caller's transaction (looking up the actor's name
    /// only when someone is to be told).
    pub(crate) fn write(mut self, tx: &mut dyn TenantTx, tenant: TenantId) -> Result<Vec<Notification>, StoreError> {
        // only members hear of the tenant's work: a task's creator or
        // assignee who has left is told nothing (and reads nothing of it
        // if they come back)
        let mut leavers = Vec::new();
        for &recipient in self.pending.keys().filter(|r| !self.members.contains(r)) {
            if tx.memberships().find(tenant, UserId(recipient))?.is_none() {
                leavers.push(recipient);
            }
        }
        for leaver in leavers {
            self.pending.remove(&leaver);
        }
        if self.pending.is_empty() {
            return Ok(Vec::new());
        }
        let name = tx.users().get(self.actor)?.map_or_else(|| "Someone".to_owned(), |u| u.username.to_string());
        let new: Vec<NewNotification> = self
            .pending
            .into_iter()
            .map(|(recipient, (kind, message))| NewNotification {
                recipient: UserId(recipient),
                kind,
                actor: self.actor,
                target_type: self.target_type,
                target_id: self.target_id,
                project_id: self.project_id,
                // every message begins with the actor; a title or comment
                // that spells the placeholder further on stays as typed
                message: message.strip_prefix(ACTOR).map_or(message.clone(), |rest| format!("{name}{rest}")),
            })
            .collect();
        tx.notifications().insert(&new)
    }
}

/// Where messages name the actor, at their start; filled in when they are
/// written.
pub(crate) const ACTOR: &str = "\u{1}actor\u{1}";

//! [`NotificationRepository`] over one fake tenant schema: ids increase, so
//! "after" means "newer".

use chrono::{DateTime, Utc};
use taskforce_domain::{NewNotification, Notification, NotificationRepository, StoreError, UserId};

use super::tx::{FakeTenantTx, page_of};

impl NotificationRepository for FakeTenantTx<'_> {
    fn insert(&mut self, new: &[NewNotification]) -> Result<Vec<Notification>, StoreError> {
        let mut stored = Vec::with_capacity(new.len());
        for notification in new {
            let id = self.inner.state.next_id();
            let created_at = self.inner.now;
            let row = Notification {
                id,
                recipient: notification.recipient,
                kind: notification.kind,
                actor: notification.actor,
                target_type: notification.target_type,
                target_id: notification.target_id,
                project_id: notification.project_id,
                message: notification.message.clone(),
                read_at: None,
                created_at,
            };
            self.schema_data()?.notifications.push(row.clone());
            stored.push(row);
        }
        Ok(stored)
    }

    fn page(
        &mut self,
        recipient: UserId,
        unread_only: bool,
        offset: u64,
        limit: u64,
    ) -> Result<(Vec<Notification>, u64), StoreError> {
        let matching = |n: &&Notification| n.recipient == recipient && (!unread_only || n.read_at.is_none());
        let mut rows: Vec<&Notification> = self.schema_data()?.notifications.iter().filter(matching).collect();
        // newest first
        rows.sort_by_key(|n| std::cmp::Reverse(n.id));
        Ok(page_of(&rows, offset, limit))
    }

    fn after(&mut self, recipient: UserId, after: i64, limit: u64) -> Result<Vec<Notification>, StoreError> {
        let mut rows: Vec<Notification> = self
            .schema_data()?
            .notifications
            .iter()
            .filter(|n| n.recipient == recipient && n.id > after)
            .cloned()
            .collect();
        rows.sort_by_key(|n| n.id);
        rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        Ok(rows)
    }

    fn mark_read(&mut self, recipient: UserId, id: i64, at: DateTime<Utc>) -> Result<Option<Notification>, StoreError> {
        let found = self.schema_data()?.notifications.iter_mut().find(|n| n.id == id && n.recipient == recipient);
        Ok(found.map(|n| {
            n.read_at.get_or_insert(at);
            n.clone()
        }))
    }

    fn mark_all_read(&mut self, recipient: UserId, at: DateTime<Utc>) -> Result<u64, StoreError> {
        let mut marked = 0;
        for n in self.schema_data()?.notifications.iter_mut() {
            if n.recipient == recipient && n.read_at.is_none() {
                n.read_at = Some(at);
                marked += 1;
            }
        }
        Ok(marked)
    }
}

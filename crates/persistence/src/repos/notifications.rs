//! [`NotificationRepository`] over the tenant's `notifications` table.

use chrono::{DateTime, Utc};
use diesel::{ExpressionMethods, OptionalExtension, QueryDsl, RunQueryDsl, SelectableHelper, pg::Pg};
use taskforce_domain::{NewNotification, Notification, NotificationRepository, StoreError, UserId};

use super::{PgTenantTx, total};
use crate::{error::store_error, schema::notifications, tenant_rows::NotificationRow};

fn of(recipient: UserId, unread_only: bool) -> notifications::BoxedQuery<'static, Pg> {
    let mut query = notifications::table.filter(notifications::recipient_id.eq(recipient.0)).into_boxed();
    if unread_only {
        query = query.filter(notifications::read_at.is_null());
    }
    query
}

impl NotificationRepository for PgTenantTx<'_> {
    fn insert(&mut self, new: &[NewNotification]) -> Result<Vec<Notification>, StoreError> {
        if new.is_empty() {
            return Ok(Vec::new());
        }
        let rows: Vec<_> = new
            .iter()
            .map(|n| {
                (
                    notifications::recipient_id.eq(n.recipient.0),
                    notifications::kind.eq(n.kind.as_str()),
                    notifications::actor_id.eq(n.actor.0),
                    notifications::target_type.eq(n.target_type.as_str()),
                    notifications::target_id.eq(n.target_id),
                    notifications::project_id.eq(n.project_id),
                    notifications::message.eq(&n.message),
                )
            })
            .collect();
        // one statement whatever the count; identity values follow the rows' order
        let mut stored: Vec<Notification> = diesel::insert_into(notifications::table)
            .values(&rows)
            .returning(NotificationRow::as_returning())
            .get_results(self.inner.conn)
            .map_err(store_error)?
            .into_iter()
            .map(Notification::try_from)
            .collect::<Result<_, _>>()?;
        stored.sort_by_key(|n| n.id);
        Ok(stored)
    }

    fn page(
        &mut self,
        recipient: UserId,
        unread_only: bool,
        offset: u64,
        limit: u64,
    ) -> Result<(Vec<Notification>, u64), StoreError> {
        let count = of(recipient, unread_only).count().single_value();
        let rows: Vec<(NotificationRow, Option<i64>)> = of(recipient, unread_only)
            .select((NotificationRow::as_select(), count))
            .order(notifications::id.desc())
            .offset(i64::try_from(offset).unwrap_or(i64::MAX))
            .limit(i64::try_from(limit).unwrap_or(i64::MAX))
            .load(self.inner.conn)
            .map_err(store_error)?;
        let counted = total(rows.first().and_then(|r| r.1));
        let items = rows.into_iter().map(|(row, _)| Notification::try_from(row)).collect::<Result<Vec<_>, _>>()?;
        Ok((items, counted))
    }

    fn after(&mut self, recipient: UserId, after: i64, limit: u64) -> Result<Vec<Notification>, StoreError> {
        notifications::table
            .filter(notifications::recipient_id.eq(recipient.0))
            .filter(notifications::id.gt(after))
            .order(notifications::id.asc())
            .limit(i64::try_from(limit).unwrap_or(i64::MAX))
            .select(NotificationRow::as_select())
            .load(self.inner.conn)
            .map_err(store_error)?
            .into_iter()
            .map(Notification::try_from)
            .collect()
    }

    fn mark_read(&mut self, recipient: UserId, id: i64, at: DateTime<Utc>) -> Result<Option<Notification>, StoreError> {
        let found: Option<NotificationRow> = notifications::table
            .filter(notifications::id.eq(id))
            .filter(notifications::recipient_id.eq(recipient.0))
            .select(NotificationRow::as_select())
            .for_update()
            .first(self.inner.conn)
            .optional()
            .map_err(store_error)?;
        let Some(row) = found else { return Ok(None) };
        if row.read_at.is_some() {
            return Notification::try_from(row).map(Some);
        }
        diesel::update(notifications::table.find(id))
            .set(notifications::read_at.eq(at))
            .returning(NotificationRow::as_returning())
            .get_result(self.inner.conn)
            .map_err(store_error)
            .and_then(Notification::try_from)
            .map(Some)
    }

    fn mark_all_read(&mut self, recipient: UserId, at: DateTime<Utc>) -> Result<u64, StoreError> {
        diesel::update(
            notifications::table
                .filter(notifications::recipient_id.eq(recipient.0))
                .filter(notifications::read_at.is_null()),
        )
        .set(notifications::read_at.eq(at))
        .execute(self.inner.conn)
        .map(|n| n as u64)
        .map_err(store_error)
    }
}

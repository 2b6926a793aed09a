//! [`ActivityRepository`] over the tenant's `activity` table.

use diesel::{ExpressionMethods, QueryDsl, RunQueryDsl, SelectableHelper, pg::Pg};
use taskforce_domain::{Activity, ActivityFilter, ActivityRepository, NewActivity, StoreError};

use super::{PgTenantTx, total as total_of};
use crate::{error::store_error, schema::activity, tenant_rows::ActivityRow};

impl ActivityRepository for PgTenantTx<'_> {
    fn record(&mut self, entry: &NewActivity) -> Result<(), StoreError> {
        diesel::insert_into(activity::table)
            .values((
                activity::actor_id.eq(entry.actor.0),
                activity::verb.eq(entry.verb.as_str()),
                activity::target_type.eq(entry.target_type.as_str()),
                activity::target_id.eq(entry.target_id),
                activity::project_id.eq(entry.project_id),
                activity::changes.eq(serde_json::Value::Object(entry.changes.clone())),
                // the time of the write, after any lock it waited for: the
                // log's times keep its order (the column's default, now(),
                // is the transaction's start)
                activity::created_at.eq(super::statement_timestamp()),
            ))
            .execute(self.inner.conn)
            .map(|_| ())
            .map_err(store_error)
    }

    fn page(&mut self, filter: &ActivityFilter, offset: u64, limit: u64) -> Result<(Vec<Activity>, u64), StoreError> {
        // the total as a scalar subquery (index-only), not count(*) OVER ():
        // the log grows without bound and pages should not read all of it
        let total = matching(filter).count().single_value();
        let rows: Vec<(ActivityRow, Option<i64>)> = matching(filter)
            .select((ActivityRow::as_select(), total))
            .order(activity::id.desc())
            .offset(i64::try_from(offset).unwrap_or(i64::MAX))
            .limit(i64::try_from(limit).unwrap_or(i64::MAX))
            .load(self.inner.conn)
            .map_err(store_error)?;
        let count = total_of(rows.first().and_then(|r| r.1));
        let items = rows.into_iter().map(|(row, _)| Activity::try_from(row)).collect::<Result<Vec<_>, _>>()?;
        Ok((items, count))
    }
}

/// The log entries that pass the filter.
fn matching(filter: &ActivityFilter) -> activity::BoxedQuery<'static, Pg> {
    let mut query = activity::table.into_boxed();
    if let Some(project) = filter.project {
        query = query.filter(activity::project_id.eq(project));
    }
    if let Some(actor) = filter.actor {
        query = query.filter(activity::actor_id.eq(actor.0));
    }
    if let Some(target_type) = filter.target_type {
        query = query.filter(activity::target_type.eq(target_type.as_str()));
    }
    query
}

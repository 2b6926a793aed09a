//! [`ActivityRepository`] over the tenant's `activity` table.

use diesel::{ExpressionMethods, RunQueryDsl};
use taskforce_domain::{ActivityRepository, NewActivity, StoreError};

use super::PgTenantTx;
use crate::{error::store_error, schema::activity};

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
            ))
            .execute(self.inner.conn)
            .map(|_| ())
            .map_err(store_error)
    }
}

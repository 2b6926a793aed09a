//! [`UsageRepository`] and [`ActivityRepository`] over one fake tenant
//! schema.

use taskforce_domain::{Activity, ActivityRepository, NewActivity, StoreError, Usage, UsageRepository};

use super::tx::FakeTenantTx;

impl UsageRepository for FakeTenantTx<'_> {
    fn usage(&mut self) -> Result<Usage, StoreError> {
        Ok(self.schema_data()?.usage)
    }
}

impl ActivityRepository for FakeTenantTx<'_> {
    fn record(&mut self, activity: &NewActivity) -> Result<(), StoreError> {
        let id = self.inner.state.next_id();
        let created_at = self.inner.now;
        self.schema_data()?.activity.push(Activity {
            id,
            actor: activity.actor,
            verb: activity.verb,
            target_type: activity.target_type,
            target_id: activity.target_id,
            project_id: activity.project_id,
            changes: activity.changes.clone(),
            created_at,
        });
        Ok(())
    }
}

//! [`UsageRepository`] and [`ActivityRepository`] over one fake tenant
//! schema.

use taskforce_domain::{
    Activity, ActivityFilter, ActivityRepository, DumpEvent, NewActivity, StoreError, TenantDataRepository, Usage,
    UsageRepository, UserId,
};

use super::tx::{FakeTenantTx, page_of};

impl UsageRepository for FakeTenantTx<'_> {
    fn usage(&mut self) -> Result<Usage, StoreError> {
        let data = self.schema_data()?;
        Ok(Usage { projects: data.projects.len() as u64, tasks: data.tasks.len() as u64 })
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

    fn page(&mut self, filter: &ActivityFilter, offset: u64, limit: u64) -> Result<(Vec<Activity>, u64), StoreError> {
        let matching = |a: &&Activity| {
            filter.project.is_none_or(|project| a.project_id == Some(project))
                && filter.actor.is_none_or(|actor| a.actor == actor)
                && filter.target_type.is_none_or(|target| a.target_type == target)
        };
        let mut rows: Vec<&Activity> = self.schema_data()?.activity.iter().filter(matching).collect();
        // newest first
        rows.sort_by_key(|a| std::cmp::Reverse(a.id));
        Ok(page_of(&rows, offset, limit))
    }
}

/// Export and import are SQL over a real schema (`row_to_json` through a
/// cursor, `json_populate_recordset`); the fake keeps typed rows and refuses,
/// and `crates/cli/tests/tenant_admin.rs` tests both against PostgreSQL.
impl TenantDataRepository for FakeTenantTx<'_> {
    fn dump_chunks(
        &mut self,
        _: usize,
        _: &mut dyn FnMut(DumpEvent<'_>) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        Err(StoreError::internal("the fake store does not export schemas"))
    }

    fn user_ids(&mut self) -> Result<Vec<UserId>, StoreError> {
        Err(StoreError::internal("the fake store does not export schemas"))
    }

    fn columns(&mut self, _: &str) -> Result<Vec<taskforce_domain::TableColumn>, StoreError> {
        Err(StoreError::internal("the fake store does not import schemas"))
    }

    fn load_rows(&mut self, _: &str, _: &str) -> Result<u64, StoreError> {
        Err(StoreError::internal("the fake store does not import schemas"))
    }

    fn finish_load(&mut self, _: &[(UserId, UserId)], _: bool) -> Result<(), StoreError> {
        Err(StoreError::internal("the fake store does not import schemas"))
    }
}

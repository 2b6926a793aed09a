//! [`UsageRepository`]: what a tenant's plan limits, counted in its schema.

use diesel::{QueryDsl, RunQueryDsl};
use taskforce_domain::{StoreError, Usage, UsageRepository};

use super::PgTenantTx;
use crate::{
    error::store_error,
    schema::{projects, tasks},
};

impl UsageRepository for PgTenantTx<'_> {
    fn usage(&mut self) -> Result<Usage, StoreError> {
        let conn = &mut *self.inner.conn;
        let (projects, tasks): (Option<i64>, Option<i64>) =
            diesel::select((projects::table.count().single_value(), tasks::table.count().single_value()))
                .get_result(conn)
                .map_err(store_error)?;
        let count = |n: Option<i64>| n.and_then(|n| u64::try_from(n).ok()).unwrap_or(0);
        Ok(Usage { projects: count(projects), tasks: count(tasks) })
    }
}

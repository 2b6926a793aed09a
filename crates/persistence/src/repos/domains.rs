//! [`DomainRepository`] over the shared `domains` table.

use diesel::{ExpressionMethods, QueryDsl, RunQueryDsl, SelectableHelper};
use taskforce_domain::{DomainRepository, HostName, StoreError, TenantDomain, TenantId};

use super::{PgTx, optional};
use crate::{error::store_error, rows::DomainRow, schema::domains};

impl DomainRepository for PgTx<'_> {
    fn add(&mut self, domain: &TenantDomain) -> Result<(), StoreError> {
        diesel::insert_into(domains::table)
            .values(DomainRow {
                domain: domain.domain.as_str().to_owned(),
                tenant_id: domain.tenant_id.0,
                is_primary: domain.is_primary,
            })
            .execute(self.conn)
            .map(|_| ())
            .map_err(store_error)
    }

    fn remove(&mut self, host: &HostName) -> Result<TenantDomain, StoreError> {
        diesel::delete(domains::table.find(host.as_str()))
            .returning(DomainRow::as_returning())
            .get_result(self.conn)
            .map_err(store_error)
            .and_then(TenantDomain::try_from)
    }

    fn get(&mut self, host: &HostName) -> Result<Option<TenantDomain>, StoreError> {
        optional(domains::table.find(host.as_str()).select(DomainRow::as_select()).first(self.conn))
            .map_err(store_error)?
            .map(TenantDomain::try_from)
            .transpose()
    }

    fn list(&mut self, tenant: Option<TenantId>) -> Result<Vec<TenantDomain>, StoreError> {
        let mut query = domains::table
            .select(DomainRow::as_select())
            .order((domains::tenant_id, domains::is_primary.desc(), domains::domain))
            .into_boxed();
        if let Some(tenant) = tenant {
            query = query.filter(domains::tenant_id.eq(tenant.0));
        }
        query.load(self.conn).map_err(store_error)?.into_iter().map(TenantDomain::try_from).collect()
    }

    fn clear_primary(&mut self, tenant: TenantId) -> Result<(), StoreError> {
        diesel::update(domains::table.filter(domains::tenant_id.eq(tenant.0)).filter(domains::is_primary))
            .set(domains::is_primary.eq(false))
            .execute(self.conn)
            .map(|_| ())
            .map_err(store_error)
    }
}

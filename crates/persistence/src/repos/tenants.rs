//! [`TenantRepository`] over the shared `tenants` table.

use diesel::{ExpressionMethods, QueryDsl, RunQueryDsl, SelectableHelper};
use taskforce_domain::{HostName, Slug, StoreError, Tenant, TenantChanges, TenantId, TenantRepository};

use super::{PgTx, optional};
use crate::{
    error::store_error,
    rows::TenantRow,
    schema::{domains, tenants},
};

#[derive(diesel::AsChangeset)]
#[diesel(table_name = tenants)]
struct TenantChangeset<'a> {
    name: Option<&'a str>,
    plan: Option<&'a str>,
    is_active: Option<bool>,
    allow_signup: Option<bool>,
}

impl TenantRepository for PgTx<'_> {
    fn get(&mut self, id: TenantId) -> Result<Option<Tenant>, StoreError> {
        optional(tenants::table.find(id.0).select(TenantRow::as_select()).first(self.conn))
            .map_err(store_error)?
            .map(Tenant::try_from)
            .transpose()
    }

    fn by_slug(&mut self, slug: &Slug) -> Result<Option<Tenant>, StoreError> {
        optional(tenants::table.filter(tenants::slug.eq(slug.as_str())).select(TenantRow::as_select()).first(self.conn))
            .map_err(store_error)?
            .map(Tenant::try_from)
            .transpose()
    }

    fn by_host(&mut self, host: &HostName) -> Result<Option<Tenant>, StoreError> {
        optional(
            tenants::table
                .inner_join(domains::table)
                .filter(domains::domain.eq(host.as_str()))
                .select(TenantRow::as_select())
                .first(self.conn),
        )
        .map_err(store_error)?
        .map(Tenant::try_from)
        .transpose()
    }

    fn list(&mut self) -> Result<Vec<Tenant>, StoreError> {
        tenants::table
            .order(tenants::slug)
            .select(TenantRow::as_select())
            .load(self.conn)
            .map_err(store_error)?
            .into_iter()
            .map(Tenant::try_from)
            .collect()
    }

    fn update(&mut self, id: TenantId, changes: &TenantChanges) -> Result<Tenant, StoreError> {
        if changes.is_empty() {
            return self.get(id)?.ok_or(StoreError::NotFound);
        }
        let changeset = TenantChangeset {
            name: changes.name.as_ref().map(|n| n.as_str()),
            plan: changes.plan.map(|p| p.as_str()),
            is_active: changes.is_active,
            allow_signup: changes.allow_signup,
        };
        diesel::update(tenants::table.find(id.0))
            .set(changeset)
            .returning(TenantRow::as_returning())
            .get_result(self.conn)
            .map_err(store_error)
            .and_then(Tenant::try_from)
    }

    fn lock(&mut self, id: TenantId) -> Result<Tenant, StoreError> {
        tenants::table
            .find(id.0)
            .select(TenantRow::as_select())
            .for_update()
            .first(self.conn)
            .map_err(store_error)
            .and_then(Tenant::try_from)
    }
}

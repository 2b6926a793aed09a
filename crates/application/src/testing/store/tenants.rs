//! [`TenantRepository`] over the fake's `tenants`.

use taskforce_domain::{HostName, Slug, StoreError, Tenant, TenantChanges, TenantId, TenantRepository};

use super::tx::FakeTx;

impl TenantRepository for FakeTx<'_> {
    fn get(&mut self, id: TenantId) -> Result<Option<Tenant>, StoreError> {
        Ok(self.state.tenants.iter().find(|t| t.id == id).cloned())
    }

    fn by_slug(&mut self, slug: &Slug) -> Result<Option<Tenant>, StoreError> {
        Ok(self.state.tenants.iter().find(|t| &t.slug == slug).cloned())
    }

    fn by_host(&mut self, host: &HostName) -> Result<Option<Tenant>, StoreError> {
        let Some(domain) = self.state.domains.iter().find(|d| &d.domain == host) else {
            return Ok(None);
        };
        Ok(self.state.tenants.iter().find(|t| t.id == domain.tenant_id).cloned())
    }

    fn list(&mut self) -> Result<Vec<Tenant>, StoreError> {
        let mut tenants = self.state.tenants.clone();
        tenants.sort_by(|a, b| a.slug.cmp(&b.slug));
        Ok(tenants)
    }

    fn update(&mut self, id: TenantId, changes: &TenantChanges) -> Result<Tenant, StoreError> {
        if self.state.tenant_updates_fail {
            return Err(StoreError::Unavailable("the connection was lost".into()));
        }
        let tenant = self.state.tenants.iter_mut().find(|t| t.id == id).ok_or(StoreError::NotFound)?;
        if let Some(name) = &changes.name {
            tenant.name = name.clone();
        }
        if let Some(plan) = changes.plan {
            tenant.plan = plan;
        }
        if let Some(is_active) = changes.is_active {
            tenant.is_active = is_active;
        }
        if let Some(allow_signup) = changes.allow_signup {
            tenant.allow_signup = allow_signup;
        }
        Ok(tenant.clone())
    }

    fn lock(&mut self, id: TenantId) -> Result<Tenant, StoreError> {
        TenantRepository::get(self, id)?.ok_or(StoreError::NotFound)
    }
}

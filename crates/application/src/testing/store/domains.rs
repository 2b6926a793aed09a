//! [`DomainRepository`] over the fake's `domains`, with the schema's two
//! rules: a host name maps to one tenant (`domains_pkey`), a tenant has one
//! primary domain (`domains_one_primary_per_tenant`).

use taskforce_domain::{DomainRepository, HostName, StoreError, TenantDomain, TenantId, Unique};

use super::tx::FakeTx;

impl DomainRepository for FakeTx<'_> {
    fn add(&mut self, domain: &TenantDomain) -> Result<(), StoreError> {
        self.tenant_exists(domain.tenant_id)?;
        let domains = &self.state.domains;
        if domains.iter().any(|d| d.domain == domain.domain) {
            return Err(StoreError::Duplicate(Unique::Domain));
        }
        if domain.is_primary && domains.iter().any(|d| d.tenant_id == domain.tenant_id && d.is_primary) {
            return Err(StoreError::Duplicate(Unique::PrimaryDomain));
        }
        self.state.domains.push(domain.clone());
        Ok(())
    }

    fn remove(&mut self, host: &HostName) -> Result<TenantDomain, StoreError> {
        let index = self.state.domains.iter().position(|d| &d.domain == host).ok_or(StoreError::NotFound)?;
        Ok(self.state.domains.remove(index))
    }

    fn get(&mut self, host: &HostName) -> Result<Option<TenantDomain>, StoreError> {
        Ok(self.state.domains.iter().find(|d| &d.domain == host).cloned())
    }

    fn list(&mut self, tenant: Option<TenantId>) -> Result<Vec<TenantDomain>, StoreError> {
        let mut domains: Vec<_> =
            self.state.domains.iter().filter(|d| tenant.is_none_or(|id| d.tenant_id == id)).cloned().collect();
        // as the adapter orders them: by tenant, primary first, then by name
        domains.sort_by_key(|d| (d.tenant_id, !d.is_primary, d.domain.clone()));
        Ok(domains)
    }

    fn clear_primary(&mut self, tenant: TenantId) -> Result<(), StoreError> {
        for domain in self.state.domains.iter_mut().filter(|d| d.tenant_id == tenant) {
            domain.is_primary = false;
        }
        Ok(())
    }
}

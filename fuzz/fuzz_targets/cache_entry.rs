//! Cache entries: whatever a shared cache hands back, a lookup yields
//! nothing or an entry for the very host, tenant, user and session asked.
#![no_main]

use std::{sync::Arc, time::Duration};

use libfuzzer_sys::fuzz_target;
use taskforce_application::{AccessCache, CacheTtl};
use taskforce_domain::{Cache, CacheHealth, FamilyId, HostName, TenantId, UserId};

struct Planted(String);

impl Cache for Planted {
    fn get_many(&self, keys: &[String]) -> Vec<Option<String>> {
        vec![Some(self.0.clone()); keys.len()]
    }
    fn set(&self, _: &str, _: &str, _: Duration) {}
    fn add(&self, _: &str, _: &str, _: Duration) {}
    fn delete(&self, _: &[String]) {}
    fn invalidate(&self, _: &[String], _: Duration) {}
    fn take(&self, _: &str) -> Option<String> {
        None
    }
    fn health(&self) -> CacheHealth {
        CacheHealth::Ok
    }
}

fuzz_target!(|input: &str| {
    let access = AccessCache::new(Arc::new(Planted(input.to_owned())), CacheTtl::default());
    let Ok(host) = HostName::parse("a.localhost") else { return };
    let found = access.find(&host, Some((TenantId(1), UserId(2), FamilyId(3))));
    if found.tenant.is_some() {
        assert!(input.contains("\"a.localhost\""));
    }
    if found.member.is_some() || found.session_alive {
        assert!(input.contains("\"tenant_id\"") && input.contains("\"user_id\""));
    }
});

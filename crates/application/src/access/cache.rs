//! [`AccessCache`]: what every request looks up — host → tenant, the
//! caller's membership, the caller's session — kept in the [`Cache`] port.
//!
//! Only positive answers are cached. Entries carry their tenant id and are
//! checked against their key on read. Changes made through the use cases
//! [invalidate](Cache::invalidate) the entries they affect, so the next
//! request reads fresh data; readers fill the cache with
//! [`add`](Cache::add), which the invalidation marker refuses for
//! [`INVALIDATION_HOLD`], so a request that read the database just before
//! a change cannot put the old answer back after it.

use std::{
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use taskforce_domain::{
    AccessChange, AccessChangeSink, AccessGrant, Cache, CacheHealth, FamilyId, HostName, Plan, Role, SchemaName, Slug,
    Tenant, TenantId, TenantName, UserId,
};

/// How long an invalidated key refuses refills: far longer than any
/// request takes from its database read to its cache fill.
pub const INVALIDATION_HOLD: Duration = Duration::from_secs(30);

/// Time to live of each kind of entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheTtl {
    /// Host → tenant.
    pub tenant: Duration,
    /// Memberships and sessions.
    pub access: Duration,
}

impl Default for CacheTtl {
    fn default() -> Self {
        Self { tenant: Duration::from_secs(10), access: Duration::from_secs(60) }
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct TenantEntry {
    host: String,
    id: i64,
    slug: String,
    schema_name: String,
    name: String,
    plan: Plan,
    is_active: bool,
    allow_signup: bool,
    schema_version: Option<String>,
    created_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, Deserialize)]
struct MemberEntry {
    tenant_id: i64,
    user_id: i64,
    role: Role,
    user_active: bool,
}

#[derive(Debug, Serialize, Deserialize)]
struct SessionEntry {
    tenant_id: i64,
    family: i64,
    user_id: i64,
}

/// The cache key of a host (global: the tenant is what it finds).
pub fn host_key(host: &HostName) -> String {
    format!("tf:global:host:{host}")
}

/// The cache key of a membership.
pub fn member_key(tenant: TenantId, user: UserId) -> String {
    format!("tf:{tenant}:member:{user}")
}

/// The cache key of a live session.
pub fn session_key(tenant: TenantId, family: FamilyId) -> String {
    format!("tf:{tenant}:session:{family}")
}

/// A cache that keeps nothing: every lookup goes to the database. The
/// default of the use cases until a real cache is given to them.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoCache;

impl Cache for NoCache {
    fn get_many(&self, keys: &[String]) -> Vec<Option<String>> {
        vec![None; keys.len()]
    }

    fn set(&self, _: &str, _: &str, _: Duration) {}

    fn add(&self, _: &str, _: &str, _: Duration) {}

    fn delete(&self, _: &[String]) {}

    fn invalidate(&self, _: &[String], _: Duration) {}

    fn take(&self, _: &str) -> Option<String> {
        None
    }

    fn health(&self) -> CacheHealth {
        CacheHealth::Disabled
    }
}

impl Default for AccessCache {
    fn default() -> Self {
        Self::new(Arc::new(NoCache), CacheTtl::default())
    }
}

/// The cache key marking an ended session.
pub fn revoked_key(tenant: TenantId, family: FamilyId) -> String {
    format!("tf:{tenant}:revoked:{family}")
}

/// Whether this process hears of every change to what it caches (its
/// change feed is live), and how long entries live while it does: the
/// feed drops them when they change, so their time to live is only a
/// backstop. Shared by every [`AccessCache`] over the same in-process cache.
#[derive(Debug)]
pub struct ChangeFeedState {
    heard: Mutex<Heard>,
    clock: Monotonic,
    /// Bumped when everything is dropped: an entry stored across that
    /// moment is dropped again.
    epoch: AtomicU64,
    listening: CacheTtl,
    settle: Duration,
    silence: Duration,
}

/// Where [`ChangeFeedState`] reads the time: `Instant::now`, or a test's
/// hand-moved instant.
struct Monotonic(Arc<dyn Fn() -> Instant + Send + Sync>);

impl std::fmt::Debug for Monotonic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Monotonic")
    }
}

/// When the feed went live, and when it last heard itself.
#[derive(Debug, Default, Clone, Copy)]
struct Heard {
    since: Option<Instant>,
    last: Option<Instant>,
}

impl ChangeFeedState {
    /// How many of the feed's heartbeats may go unheard before entries stop
    /// getting its long times to live: the feed reports a lost heartbeat
    /// itself, this covers a feed too stuck to say so.
    pub const MISSED_HEARTBEATS: u32 = 3;

    /// Entries live `listening` once the feed has been live for
    /// [`INVALIDATION_HOLD`] (a value read before the feed listened has
    /// been stored by then) and only while it has heard itself within the
    /// last [`MISSED_HEARTBEATS`](Self::MISSED_HEARTBEATS) of its
    /// `heartbeat`s; otherwise the cache's own times to live apply.
    pub fn new(listening: CacheTtl, heartbeat: Duration) -> Self {
        Self {
            heard: Mutex::new(Heard::default()),
            clock: Monotonic(Arc::new(Instant::now)),
            epoch: AtomicU64::new(0),
            listening,
            settle: INVALIDATION_HOLD,
            silence: heartbeat.saturating_mul(Self::MISSED_HEARTBEATS),
        }
    }

    /// The same with another settling time (tests).
    #[must_use]
    pub fn settling_for(mut self, settle: Duration) -> Self {
        self.settle = settle;
        self
    }

    /// The same reading the time from `now` (tests move it by hand instead
    /// of sleeping).
    #[must_use]
    pub fn with_clock(mut self, now: impl Fn() -> Instant + Send + Sync + 'static) -> Self {
        self.clock = Monotonic(Arc::new(now));
        self
    }

    fn now(&self) -> Instant {
        (self.clock.0)()
    }

    fn heard(&self) -> std::sync::MutexGuard<'_, Heard> {
        self.heard.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The times to live for an entry stored now, and the epoch to check
    /// after storing it.
    fn ttl(&self, otherwise: CacheTtl) -> (CacheTtl, u64) {
        let epoch = self.epoch.load(Ordering::Acquire);
        let heard = *self.heard();
        let now = self.now();
        let settled = heard.since.is_some_and(|since| now.saturating_duration_since(since) >= self.settle)
            && heard.last.is_some_and(|last| now.saturating_duration_since(last) < self.silence);
        (if settled { self.listening } else { otherwise }, epoch)
    }
}

/// Typed access to the cache for the request path.
#[derive(Clone)]
pub struct AccessCache {
    cache: Arc<dyn Cache>,
    ttl: CacheTtl,
    feed: Option<Arc<ChangeFeedState>>,
}

impl std::fmt::Debug for AccessCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessCache").field("ttl", &self.ttl).field("feed", &self.feed).finish_non_exhaustive()
    }
}

/// What one cache round trip found for a request.
#[derive(Debug, Default)]
pub struct Found {
    /// The host's tenant.
    pub tenant: Option<Tenant>,
    /// The caller's membership (role, account active).
    pub member: Option<(Role, bool)>,
    /// Whether the caller's session is known alive.
    pub session_alive: bool,
}

impl AccessCache {
    /// Typed access over a cache.
    pub fn new(cache: Arc<dyn Cache>, ttl: CacheTtl) -> Self {
        Self { cache, ttl, feed: None }
    }

    /// The same cache told of changes by a feed (in-process caches only):
    /// see [`ChangeFeedState`] and the [`AccessChangeSink`] impl.
    pub fn with_change_feed(mut self, feed: Arc<ChangeFeedState>) -> Self {
        self.feed = Some(feed);
        self
    }

    /// Fills a key from the database with the time to live of its kind; a
    /// fill that straddled the loss of the change feed is taken back (a
    /// miss costs a query, a stale entry would cost correctness).
    fn fill(&self, key: &str, value: &str, kind: fn(CacheTtl) -> Duration) {
        match &self.feed {
            None => self.cache.add(key, value, kind(self.ttl)),
            Some(feed) => {
                let (ttl, epoch) = feed.ttl(self.ttl);
                self.cache.add(key, value, kind(ttl));
                if feed.epoch.load(Ordering::Acquire) != epoch {
                    // everything was dropped meanwhile; so again (markers stay)
                    self.cache.clear_local();
                }
            }
        }
    }

    /// How the cache is doing.
    pub fn health(&self) -> CacheHealth {
        self.cache.health()
    }

    /// Looks up a host and, when given, a caller's membership and session,
    /// in one round trip.
    pub fn find(&self, host: &HostName, caller: Option<(TenantId, UserId, FamilyId)>) -> Found {
        let keys = lookup_keys(host, caller);
        found_in(&self.cache.get_many(&keys), host, caller)
    }

    /// [`find`](Self::find) when the cache answers without I/O (it lives in
    /// this process), `None` when it would have to ask a server.
    pub fn find_in_memory(&self, host: &HostName, caller: Option<(TenantId, UserId, FamilyId)>) -> Option<Found> {
        let keys = lookup_keys(host, caller);
        Some(found_in(&self.cache.get_many_in_memory(&keys)?, host, caller))
    }

    /// Remembers a host's tenant.
    pub fn put_tenant(&self, host: &HostName, tenant: &Tenant) {
        let entry = TenantEntry {
            host: host.to_string(),
            id: tenant.id.0,
            slug: tenant.slug.to_string(),
            schema_name: tenant.schema_name.to_string(),
            name: tenant.name.as_str().to_owned(),
            plan: tenant.plan,
            is_active: tenant.is_active,
            allow_signup: tenant.allow_signup,
            schema_version: tenant.schema_version.clone(),
            created_at: tenant.created_at,
        };
        if let Ok(value) = serde_json::to_string(&entry) {
            self.fill(&host_key(host), &value, |ttl| ttl.tenant);
        }
    }

    /// Remembers a caller's membership and live session.
    pub fn put_access(&self, tenant: TenantId, user: UserId, family: FamilyId, grant: &AccessGrant) {
        let member =
            MemberEntry { tenant_id: tenant.0, user_id: user.0, role: grant.role, user_active: grant.user_active };
        if let Ok(value) = serde_json::to_string(&member) {
            self.fill(&member_key(tenant, user), &value, |ttl| ttl.access);
        }
        if !grant.session_revoked {
            let session = SessionEntry { tenant_id: tenant.0, family: family.0, user_id: user.0 };
            if let Ok(value) = serde_json::to_string(&session) {
                self.fill(&session_key(tenant, family), &value, |ttl| ttl.access);
            }
        }
    }

    /// Forgets hosts (their tenant changed or they moved).
    pub fn forget_hosts<'a>(&self, hosts: impl IntoIterator<Item = &'a HostName>) {
        let keys: Vec<String> = hosts.into_iter().map(host_key).collect();
        if !keys.is_empty() {
            self.cache.invalidate(&keys, INVALIDATION_HOLD);
        }
    }

    /// Forgets a membership (role changed, member removed).
    pub fn forget_member(&self, tenant: TenantId, user: UserId) {
        self.cache.invalidate(&[member_key(tenant, user)], INVALIDATION_HOLD);
    }

    /// Forgets sessions that ended in the store (a member removed): their
    /// live entries go, so the next request asks the store.
    pub fn forget_sessions(&self, tenant: TenantId, families: &[FamilyId]) {
        let keys: Vec<String> = families.iter().map(|&family| session_key(tenant, family)).collect();
        if !keys.is_empty() {
            self.cache.invalidate(&keys, INVALIDATION_HOLD);
        }
    }

    /// Records that a session ended: its live entry goes, and a marker that
    /// lets refreshes of it be refused without the database stays for as
    /// long as its refresh tokens could live. PostgreSQL remains the truth.
    pub fn end_session(&self, tenant: TenantId, family: FamilyId, lifetime: chrono::Duration) {
        self.cache.invalidate(&[session_key(tenant, family)], INVALIDATION_HOLD);
        let ttl = lifetime.to_std().unwrap_or(Duration::from_secs(7 * 24 * 3600));
        self.cache.set(&revoked_key(tenant, family), &format!("{{\"tenant_id\":{tenant},\"family\":{family}}}"), ttl);
    }

    /// Whether a session is known to have ended (a miss proves nothing).
    pub fn is_revoked(&self, tenant: TenantId, family: FamilyId) -> bool {
        self.cache.get_many(&[revoked_key(tenant, family)]).into_iter().flatten().any(|v| {
            serde_json::from_str::<serde_json::Value>(&v)
                .is_ok_and(|e| e["tenant_id"] == tenant.0 && e["family"] == family.0)
        })
    }
}

impl AccessCache {
    /// Drops every entry of this process (markers stay) and takes back
    /// fills racing that.
    fn drop_everything(&self) {
        if let Some(feed) = &self.feed {
            feed.epoch.fetch_add(1, Ordering::AcqRel);
        }
        self.cache.clear_local();
    }
}

impl AccessChangeSink for AccessCache {
    fn feed_live(&self) {
        if let Some(feed) = &self.feed {
            let now = feed.now();
            let mut heard = feed.heard();
            heard.since.get_or_insert(now);
            heard.last = Some(now);
        }
    }

    /// Entries stored while the feed was live may have changed unannounced
    /// since: they all go, and until the feed is back new ones live only
    /// the cache's own times to live.
    fn feed_lost(&self) {
        if let Some(feed) = &self.feed {
            *feed.heard() = Heard::default();
        }
        self.drop_everything();
    }

    fn changed(&self, changes: &[AccessChange]) {
        let mut keys = Vec::with_capacity(changes.len());
        for change in changes {
            match change {
                AccessChange::Host(host) => keys.push(host_key(host)),
                AccessChange::Member(tenant, user) => keys.push(member_key(*tenant, *user)),
                AccessChange::Session(tenant, family) => keys.push(session_key(*tenant, *family)),
                AccessChange::Everything => self.drop_everything(),
            }
        }
        if !keys.is_empty() {
            self.cache.invalidate(&keys, INVALIDATION_HOLD);
        }
    }
}

fn lookup_keys(host: &HostName, caller: Option<(TenantId, UserId, FamilyId)>) -> Vec<String> {
    let mut keys = vec![host_key(host)];
    if let Some((tenant, user, family)) = caller {
        keys.push(member_key(tenant, user));
        keys.push(session_key(tenant, family));
    }
    keys
}

/// What the values of [`lookup_keys`] say, each checked against its key.
fn found_in(values: &[Option<String>], host: &HostName, caller: Option<(TenantId, UserId, FamilyId)>) -> Found {
    let value = |i: usize| values.get(i).and_then(Option::as_deref);
    let mut found = Found { tenant: value(0).and_then(|v| tenant_from(v, host)), ..Found::default() };
    if let Some((tenant, user, family)) = caller {
        found.member = value(1).and_then(|v| {
            let entry: MemberEntry = serde_json::from_str(v).ok()?;
            (entry.tenant_id == tenant.0 && entry.user_id == user.0).then_some((entry.role, entry.user_active))
        });
        found.session_alive = value(2).is_some_and(|v| {
            serde_json::from_str::<SessionEntry>(v)
                .is_ok_and(|e| e.tenant_id == tenant.0 && e.family == family.0 && e.user_id == user.0)
        });
    }
    found
}

fn tenant_from(value: &str, host: &HostName) -> Option<Tenant> {
    let entry: TenantEntry = serde_json::from_str(value).ok()?;
    if entry.host != host.as_str() {
        return None;
    }
    Some(Tenant {
        id: TenantId(entry.id),
        slug: Slug::parse(&entry.slug).ok()?,
        schema_name: SchemaName::parse(&entry.schema_name).ok()?,
        name: TenantName::parse(&entry.name).ok()?,
        plan: entry.plan,
        is_active: entry.is_active,
        allow_signup: entry.allow_signup,
        schema_version: entry.schema_version,
        created_at: entry.created_at,
    })
}

#[cfg(test)]
mod tests {
    //! Mirrored by the `cache_entry` fuzz target: whatever a shared cache
    //! hands back (planted, corrupted, another tenant's), a lookup yields
    //! nothing or an entry that names the very host, tenant, user and session
    //! asked for.

    use std::sync::Mutex;

    use proptest::prelude::*;

    use super::*;

    /// A cache that answers every key with the same planted value.
    #[derive(Debug, Default)]
    struct Planted(Mutex<Option<String>>);

    impl Cache for Planted {
        fn get_many(&self, keys: &[String]) -> Vec<Option<String>> {
            let value = self.0.lock().map(|v| v.clone()).unwrap_or_default();
            vec![value; keys.len()]
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

    fn entry_like() -> impl Strategy<Value = String> {
        prop_oneof![
            any::<String>(),
            "\\{\"(host|id|tenant_id|user_id|family|role|user_active)\": ?(\"[a-z.]{0,12}\"|[0-9]{1,3}|true)\\}",
            (0i64..4, 0i64..4, 0i64..4, "(owner|admin|member|viewer|root)").prop_map(|(t, u, f, role)| format!(
                "{{\"tenant_id\":{t},\"user_id\":{u},\"family\":{f},\"role\":\"{role}\",\"user_active\":true}}"
            )),
            (0i64..4, "(a|b)").prop_map(|(id, slug)| format!(
                "{{\"host\":\"{slug}.localhost\",\"id\":{id},\"slug\":\"{slug}\",\"schema_name\":\"tenant_{slug}\",\"name\":\"T\",\"plan\":\"free\",\"is_active\":true,\"allow_signup\":false,\"schema_version\":null,\"created_at\":\"2026-01-01T00:00:00Z\"}}"
            )),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4096))]

        #[test]
        fn no_cached_value_answers_for_another_host_tenant_user_or_session(planted in entry_like()) {
            let cache = Arc::new(Planted(Mutex::new(Some(planted))));
            let access = AccessCache::new(cache, CacheTtl::default());
            let host = HostName::parse("a.localhost").map_err(|e| TestCaseError::fail(e.to_string()))?;
            let (tenant, user, family) = (TenantId(1), UserId(2), FamilyId(3));

            let found = access.find(&host, Some((tenant, user, family)));

            // only an entry stored for this very host answers (b's never does)
            if let Some(entry) = found.tenant {
                prop_assert_eq!(entry.slug.as_str(), "a");
                prop_assert_eq!(entry.schema_name.as_str(), "tenant_a");
            }
            // a membership or session is used only when the entry names the
            // same tenant and user (and session): the planted JSON can say
            // tenant 1, user 2, family 3 only through the matching generator
            if found.member.is_some() || found.session_alive {
                let value = cache_value(&access);
                prop_assert!(value.contains("\"tenant_id\":1") && value.contains("\"user_id\":2"), "{value}");
            }
            if found.session_alive {
                prop_assert!(cache_value(&access).contains("\"family\":3"));
            }
        }
    }

    fn cache_value(access: &AccessCache) -> String {
        access.cache.get_many(&["k".to_owned()]).into_iter().flatten().next().unwrap_or_default()
    }
}

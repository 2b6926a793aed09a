//! Redis as the shared cache of several server instances: isolation of
//! entries, the key namespace, cross-instance invalidation, and serving
//! correctly and quickly when Redis is refused or frozen.

use std::{sync::Arc, time::Duration};

use reqwest::Method;
use taskforce_application::{AccessCache, CacheTtl, member_key};
use taskforce_cache::{Redis, RedisCache};
use taskforce_domain::{
    AccessGrant, FamilyId, HostName, INVALIDATED, Plan, Role, SchemaName, Slug, Tenant, TenantChanges, TenantId,
    TenantName, UserId,
};
use taskforce_tests::{PASSWORD, TestApp, TestRedis, TestResult, json, spawn_app_with};

/// A server on a Redis of its own; `None` (test skipped) where the machine
/// has no redis-server.
async fn app_with_redis() -> Result<Option<TestApp>, Box<dyn std::error::Error>> {
    redis_app(true).await
}

/// The same, not listening for the database's change notices when
/// `listen` is false (a test of what the server itself deletes, which the
/// notices would repeat), nor where the suite's settings turn it off
/// (behind PgBouncer, which keeps no `LISTEN`); there entries live a second
/// when `short_lives` asks, as the fallback the documentation gives.
async fn redis_app(listen: bool) -> Result<Option<TestApp>, Box<dyn std::error::Error>> {
    redis_app_with(listen, false).await
}

async fn redis_app_with(listen: bool, short_lives: bool) -> Result<Option<TestApp>, Box<dyn std::error::Error>> {
    let Some(redis) = TestRedis::start()? else {
        return Ok(None);
    };
    let url = redis.url();
    let mut app = spawn_app_with(|settings| {
        settings.redis.url = url.into();
        settings.redis.timeout_ms = 50;
        settings.cache.listen &= listen;
        if short_lives && !settings.cache.listen {
            settings.cache.access_ttl_secs = 1;
        }
    })
    .await?;
    app.redis = Some(redis);
    Ok(Some(app))
}

fn redis(app: &TestApp) -> Result<&TestRedis, Box<dyn std::error::Error>> {
    Ok(app.redis.as_ref().ok_or("no redis")?)
}

#[tokio::test]
async fn two_tenants_never_see_each_other_s_cached_entries() -> TestResult {
    let Some(app) = app_with_redis().await? else { return Ok(()) };
    let a = app.create_tenant("alpha", Plan::Basic, false).await?;
    let b = app.create_tenant("beta", Plan::Basic, false).await?;
    app.member("alpha", "ann", Role::Owner).await?;
    app.member("beta", "bob", Role::Owner).await?;
    let (ann, bob) = (app.login("alpha", "ann").await?, app.login("beta", "bob").await?);
    // warm A and B
    assert_eq!(app.get_as("alpha", &ann.access, "/api/auth/me/").send().await?.status().as_u16(), 200);
    assert_eq!(app.get_as("beta", &bob.access, "/api/auth/me/").send().await?.status().as_u16(), 200);
    let keys = redis(&app)?.keys()?;
    let member_a = format!("tf:{}:member:{}", a.id, ann.user_id);
    let member_b = format!("tf:{}:member:{}", b.id, bob.user_id);
    assert!(keys.contains(&member_a) && keys.contains(&member_b), "{keys:?}");
    assert!(redis(&app)?.cli(&["GET", &member_a])?.contains(&format!("\"tenant_id\":{}", a.id)));
    // A's entries never answer for B: A's token on B's host, B's id in A's key space
    let (status, _) = json(app.get_as("beta", &ann.access, "/api/auth/me/").send().await?).await?;
    assert_eq!(status, 401);
    // a viewer of B, whose own valid token reads B's key of her membership
    app.member("beta", "vic", Role::Viewer).await?;
    let vic = app.login("beta", "vic").await?;
    assert_eq!(app.get_as("beta", &vic.access, "/api/auth/me/").send().await?.status().as_u16(), 200);
    let vic_key = format!("tf:{}:member:{}", b.id, vic.user_id);
    assert!(redis(&app)?.keys()?.contains(&vic_key), "the key her requests read");
    assert!(redis(&app)?.cli(&["GET", &vic_key])?.contains("\"role\":\"viewer\""));
    // owner grants planted under that key, one naming tenant A and one naming
    // another user of B, are not trusted: she is answered as the viewer she is
    let rename = serde_json::json!({"name": "Taken over"});
    for (tenant, user) in [(a.id.0, vic.user_id), (b.id.0, bob.user_id)] {
        let planted = format!("{{\"tenant_id\":{tenant},\"user_id\":{user},\"role\":\"owner\",\"user_active\":true}}");
        assert_eq!(redis(&app)?.cli(&["SET", &vic_key, &planted, "EX", "60"])?, "OK");
        let (status, body) =
            json(app.call_as(Method::PATCH, "beta", &vic.access, "/api/tenants/me/").json(&rename).send().await?)
                .await?;
        assert_eq!((status, body["error"]["code"].as_str()), (403, Some("permission_denied")), "{planted}: {body}");
        let (status, me) = json(app.get_as("beta", &vic.access, "/api/auth/me/").send().await?).await?;
        assert_eq!((status, me["role"].as_str()), (200, Some("viewer")), "{planted}: {me}");
    }
    let (_, beta) = json(app.get_as("beta", &bob.access, "/api/tenants/me/").send().await?).await?;
    assert_eq!(beta["name"], "Tenant beta", "{beta}");
    // invalidate A (a role change): A's entry goes, B's survives
    let (_, members) = json(app.get_as("alpha", &ann.access, "/api/tenants/members/").send().await?).await?;
    app.member("alpha", "amy", Role::Member).await?;
    let amy = app.login("alpha", "amy").await?;
    app.get_as("alpha", &amy.access, "/api/auth/me/").send().await?;
    let amy_key = format!("tf:{}:member:{}", a.id, amy.user_id);
    assert!(redis(&app)?.keys()?.contains(&amy_key));
    let (_, all) = json(app.get_as("alpha", &ann.access, "/api/tenants/members/").send().await?).await?;
    let amy_membership = all["results"]
        .as_array()
        .and_then(|r| r.iter().find(|m| m["username"] == "amy"))
        .map(|m| m["id"].clone())
        .ok_or("amy")?;
    let changed = app
        .call_as(Method::PATCH, "alpha", &ann.access, &format!("/api/tenants/members/{amy_membership}/"))
        .json(&serde_json::json!({"role": "viewer"}))
        .send()
        .await?;
    assert_eq!(changed.status().as_u16(), 200);
    // amy's entry is replaced by the invalidation marker; B's survives
    assert_eq!(redis(&app)?.cli(&["GET", &amy_key])?, INVALIDATED);
    let keys = redis(&app)?.keys()?;
    assert!(keys.contains(&member_b), "B's entry survives: {keys:?}");
    assert_eq!(members["count"], 1);
    Ok(())
}

#[tokio::test]
async fn every_key_is_in_a_tenant_namespace_or_a_documented_global_one() -> TestResult {
    let Some(app) = app_with_redis().await? else { return Ok(()) };
    app.create_tenant("acme", Plan::Basic, false).await?;
    app.member("acme", "ann", Role::Owner).await?;
    let session = app.login("acme", "ann").await?;
    // exercise every kind of entry: hosts, members, sessions, revocations, throttling
    app.get_as("acme", &session.access, "/api/projects/").send().await?;
    app.post("acme.localhost", "/api/auth/login/")
        .json(&serde_json::json!({"username": "ann", "password": "wrong-pass-1"}))
        .send()
        .await?;
    app.post("acme.localhost", "/api/auth/login/")
        .json(&serde_json::json!({"username": "nobody", "password": "wrong-pass-1"}))
        .send()
        .await?;
    app.post("acme.localhost", "/api/auth/logout/")
        .bearer_auth(&session.access)
        .json(&serde_json::json!({"refresh": session.refresh}))
        .send()
        .await?;
    let keys = redis(&app)?.keys()?;
    assert!(keys.len() >= 5, "{keys:?}");
    for key in &keys {
        let parts: Vec<&str> = key.splitn(4, ':').collect();
        let tenant_scoped = parts.len() == 4 && parts[0] == "tf" && parts[1].parse::<i64>().is_ok();
        let global = ["tf:global:host:", "tf:global:login-client:", "tf:global:login-account:"]
            .iter()
            .any(|namespace| key.starts_with(namespace));
        assert!(tenant_scoped || global, "{key} is outside the documented namespaces");
        let ttl: i64 = redis(&app)?.cli(&["TTL", key])?.parse()?;
        assert!(ttl > 0, "{key} has no expiry ({ttl})");
    }
    Ok(())
}

#[tokio::test]
async fn a_change_made_through_one_instance_is_enforced_by_another_on_the_next_request() -> TestResult {
    let Some(one) = app_with_redis().await? else { return Ok(()) };
    let two = one.twin().await?;
    one.create_tenant("acme", Plan::Basic, false).await?;
    one.member("acme", "olga", Role::Owner).await?;
    one.member("acme", "adam", Role::Admin).await?;
    one.member("acme", "mia", Role::Member).await?;
    let owner = one.login("acme", "olga").await?;
    let admin = one.login("acme", "adam").await?;
    let member = one.login("acme", "mia").await?;
    // warm instance two's view (it reads the shared entries)
    let rename = serde_json::json!({"name": "Renamed"});
    assert_eq!(
        two.call_as(Method::PATCH, "acme", &admin.access, "/api/tenants/me/")
            .json(&rename)
            .send()
            .await?
            .status()
            .as_u16(),
        200
    );
    assert_eq!(two.get_as("acme", &member.access, "/api/auth/me/").send().await?.status().as_u16(), 200);
    let ids = one.membership_ids("acme", &owner.access).await?;
    // demote through one; two refuses at once
    let demoted = one
        .call_as(Method::PATCH, "acme", &owner.access, &format!("/api/tenants/members/{}/", ids["adam"]))
        .json(&serde_json::json!({"role": "member"}))
        .send()
        .await?;
    assert_eq!(demoted.status().as_u16(), 200);
    assert_eq!(
        two.call_as(Method::PATCH, "acme", &admin.access, "/api/tenants/me/")
            .json(&rename)
            .send()
            .await?
            .status()
            .as_u16(),
        403
    );
    // remove through one; two refuses the token at once
    let removed = one
        .call_as(Method::DELETE, "acme", &owner.access, &format!("/api/tenants/members/{}/", ids["mia"]))
        .send()
        .await?;
    assert_eq!(removed.status().as_u16(), 204);
    assert_eq!(two.get_as("acme", &member.access, "/api/auth/me/").send().await?.status().as_u16(), 401);
    // logout through two; one refuses the session at once, and its refresh token
    let logout = two
        .post("acme.localhost", "/api/auth/logout/")
        .bearer_auth(&owner.access)
        .json(&serde_json::json!({"refresh": owner.refresh}))
        .send()
        .await?;
    assert_eq!(logout.status().as_u16(), 204);
    assert_eq!(one.get_as("acme", &owner.access, "/api/auth/me/").send().await?.status().as_u16(), 401);
    let (status, _) = json(
        one.post("acme.localhost", "/api/auth/token/refresh/")
            .json(&serde_json::json!({"refresh": owner.refresh}))
            .send()
            .await?,
    )
    .await?;
    assert_eq!(status, 401);
    // an operator deactivates the tenant: both instances refuse on the next request
    let admin_tool = one.admin.clone();
    let slug = Slug::parse("acme")?;
    tokio::task::spawn_blocking(move || {
        admin_tool.update(&slug, &TenantChanges { is_active: Some(false), ..Default::default() })
    })
    .await??;
    for instance in [&one, &two] {
        let (status, body) = json(instance.get_as("acme", &admin.access, "/api/auth/me/").send().await?).await?;
        assert_eq!((status, body["error"]["code"].as_str()), (403, Some("tenant_inactive")));
    }
    Ok(())
}

#[tokio::test]
async fn failed_logins_count_across_instances() -> TestResult {
    let Some(one) = app_with_redis().await? else { return Ok(()) };
    let two = one.twin().await?;
    one.create_tenant("acme", Plan::Basic, false).await?;
    one.member("acme", "ann", Role::Member).await?;
    let attempt = |app: &TestApp| {
        app.post("acme.localhost", "/api/auth/login/")
            .json(&serde_json::json!({"username": "ann", "password": "guess-guess-1"}))
            .send()
    };
    for i in 0..5 {
        let app = if i % 2 == 0 { &one } else { &two };
        assert_eq!(attempt(app).await?.status().as_u16(), 401);
    }
    for app in [&one, &two] {
        let response = attempt(app).await?;
        let retry = response.headers().get("retry-after").and_then(|v| v.to_str().ok()).map(str::to_owned);
        let (status, body) = json(response).await?;
        assert_eq!((status, body["error"]["code"].as_str()), (429, Some("rate_limited")), "{body}");
        assert!(retry.and_then(|s| s.parse::<u64>().ok()).is_some_and(|s| s >= 1), "Retry-After");
    }
    Ok(())
}

/// Every attempt is counted in Redis before it is judged; a success clears
/// the account's count and takes its own attempt off the client's.
#[tokio::test]
async fn a_success_takes_its_attempt_back_from_the_shared_counters() -> TestResult {
    let Some(app) = app_with_redis().await? else { return Ok(()) };
    app.create_tenant("acme", Plan::Basic, false).await?;
    let user = app.member("acme", "ann", Role::Member).await?;
    let login = |password: &str| {
        app.post("acme.localhost", "/api/auth/login/")
            .json(&serde_json::json!({"username": "ann", "password": password}))
            .send()
    };
    assert_eq!(login("guess-guess-1").await?.status().as_u16(), 401);
    for _ in 0..2 {
        assert_eq!(login(PASSWORD).await?.status().as_u16(), 200);
    }

    let redis = redis(&app)?;
    assert_eq!(redis.cli(&["GET", "tf:global:login-client:127.0.0.1"])?, "1", "the one failure stays");
    assert_eq!(redis.cli(&["EXISTS", &format!("tf:global:login-account:user:{user}")])?, "0");
    Ok(())
}

/// Requests that must be answered right whatever Redis does. Each has a
/// deadline far above Redis's 50 ms time-out, so a request that waits on a
/// frozen Redis fails the test instead of hanging it; how quickly they are
/// answered is measured by `taskforce-bench cache` (docs/performance.md), not here.
async fn round(app: &TestApp, token: &str) -> TestResult {
    for path in ["/api/auth/me/", "/api/projects/", "/api/tenants/me/"] {
        let answer = tokio::time::timeout(Duration::from_secs(10), app.get_as("acme", token, path).send())
            .await
            .map_err(|_| format!("{path}: no answer within 10 s"))??;
        let (status, body) = json(answer).await?;
        assert_eq!(status, 200, "{path}: {body}");
    }
    Ok(())
}

#[tokio::test]
async fn with_redis_refused_or_frozen_answers_stay_right_and_it_recovers() -> TestResult {
    let Some(mut app) = app_with_redis().await? else { return Ok(()) };
    let acme = app.create_tenant("acme", Plan::Basic, false).await?;
    let [session, adam] = app.signed_in("acme", [("ann", Role::Owner), ("adam", Role::Admin)]).await?;
    round(&app, &session.access).await?;
    // adam's write, as an admin: his grant is in Redis
    let rename = |name: &str| Some(serde_json::json!({"name": name}));
    let settings = "/api/tenants/me/";
    assert_eq!(app.answer(Method::PATCH, "acme", &adam.access, settings, rename("By adam")).await?.0, 200);
    let adam_key = format!("tf:{}:member:{}", acme.id, adam.user_id);
    assert!(redis(&app)?.cli(&["GET", &adam_key])?.contains("\"role\":\"admin\""));
    let adam_membership = app.membership_ids("acme", &session.access).await?["adam"];
    let ready = |app: &TestApp| {
        let request = app.get("localhost", "/api/health/ready/").send();
        async move { json(request.await?).await }
    };
    assert_eq!(ready(&app).await?.1["checks"]["cache"], "ok");

    // adam's admin grant as Redis holds it now
    let stale = redis(&app)?.cli(&["GET", &adam_key])?;
    app.redis.as_mut().ok_or("redis")?.stop()?;
    for _ in 0..5 {
        round(&app, &session.access).await?;
    }
    assert_eq!(ready(&app).await?.1["checks"]["cache"], "degraded");
    // a role change while Redis is away: adam is demoted, and refused at once
    let (status, demoted) = json(
        app.call_as(Method::PATCH, "acme", &session.access, &format!("/api/tenants/members/{adam_membership}/"))
            .json(&serde_json::json!({"role": "member"}))
            .send()
            .await?,
    )
    .await?;
    assert_eq!((status, demoted["role"].as_str()), (200, Some("member")), "{demoted}");
    let (status, body) = app.answer(Method::PATCH, "acme", &adam.access, settings, rename("While away")).await?;
    assert_eq!((status, body["error"]["code"].as_str()), (403, Some("permission_denied")), "{body}");

    app.redis.as_mut().ok_or("redis")?.restart()?;
    // a Redis that comes back with the old grant (one that kept its data would):
    // the deletion the server could not send while Redis was away goes first
    assert_eq!(redis(&app)?.cli(&["SET", &adam_key, &stale, "EX", "60"])?, "OK");
    app.redis.as_ref().ok_or("redis")?.freeze()?;
    for _ in 0..5 {
        round(&app, &session.access).await?;
    }
    assert_eq!(ready(&app).await?.1["checks"]["cache"], "degraded");

    app.redis.as_ref().ok_or("redis")?.thaw()?;
    // the breaker retries after a second; then the cache fills again
    tokio::time::sleep(Duration::from_millis(1200)).await;
    round(&app, &session.access).await?;
    round(&app, &session.access).await?;
    assert_eq!(ready(&app).await?.1["checks"]["cache"], "ok");
    let keys = app.redis.as_ref().ok_or("redis")?.keys()?;
    assert!(keys.iter().any(|k| k.starts_with("tf:global:host:acme.localhost")), "{keys:?}");
    assert!(keys.iter().any(|k| k.contains(":member:")), "{keys:?}");
    // no stale entry survives Redis's return: adam stays refused, and his
    // key holds the invalidation the server kept while Redis was away (sent
    // as the marker it would have been, which keeps refills out for its
    // hold) or, later, his new role
    for _ in 0..2 {
        let (status, body) = app.answer(Method::PATCH, "acme", &adam.access, settings, rename("After")).await?;
        assert_eq!((status, body["error"]["code"].as_str()), (403, Some("permission_denied")), "{body}");
    }
    let held = redis(&app)?.cli(&["GET", &adam_key])?;
    assert!(held.trim() == INVALIDATED || held.contains("\"role\":\"member\""), "{held}");
    let (_, tenant) = json(app.get_as("acme", &session.access, "/api/tenants/me/").send().await?).await?;
    assert_eq!(tenant["name"], "By adam", "{tenant}");
    Ok(())
}

#[tokio::test]
async fn invalidations_missed_while_redis_was_away_are_sent_when_it_returns() -> TestResult {
    let Some(app) = app_with_redis().await? else { return Ok(()) };
    let acme = app.create_tenant("acme", Plan::Basic, false).await?;
    app.member("acme", "olga", Role::Owner).await?;
    let adam_id = app.member("acme", "adam", Role::Admin).await?;
    let owner = app.login("acme", "olga").await?;
    let admin = app.login("acme", "adam").await?;
    let adam_key = format!("tf:{}:member:{adam_id}", acme.id);
    let rename = serde_json::json!({"name": "x"});
    assert_eq!(
        app.call_as(Method::PATCH, "acme", &admin.access, "/api/tenants/me/")
            .json(&rename)
            .send()
            .await?
            .status()
            .as_u16(),
        200
    );
    let (_, list) = json(app.get_as("acme", &owner.access, "/api/tenants/members/").send().await?).await?;
    let adam = list["results"]
        .as_array()
        .and_then(|r| r.iter().find(|m| m["username"] == "adam"))
        .and_then(|m| m["id"].as_i64())
        .ok_or("adam")?;
    // Redis freezes with adam's admin entry in it; he is demoted meanwhile
    let held = redis(&app)?.cli(&["GET", &adam_key])?;
    assert!(held.contains("\"role\":\"admin\""), "the grant to go stale is in Redis: {held}");
    app.redis.as_ref().ok_or("redis")?.freeze()?;
    let demoted = app
        .call_as(Method::PATCH, "acme", &owner.access, &format!("/api/tenants/members/{adam}/"))
        .json(&serde_json::json!({"role": "member"}))
        .send()
        .await?;
    assert_eq!(demoted.status().as_u16(), 200);
    app.redis.as_ref().ok_or("redis")?.thaw()?;
    // the server uses Redis again (its breaker retries after a second); a
    // deadline for the wait, not a speed claim
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let (_, health) = json(app.get("localhost", "/api/health/ready/").send().await?).await?;
        if health["checks"]["cache"] == "ok" {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the cache never came back: {health}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // the invalidation it could not send while Redis was frozen went first,
    // as the marker it would have been (not a deletion, after which a read
    // of the old grant still in flight could fill the key again)
    let held = redis(&app)?.cli(&["GET", &adam_key])?;
    assert_eq!(held.trim(), INVALIDATED, "the stale grant's key holds no marker: {held}");
    // and it does not come back from Redis either
    for _ in 0..3 {
        assert_eq!(
            app.call_as(Method::PATCH, "acme", &admin.access, "/api/tenants/me/")
                .json(&rename)
                .send()
                .await?
                .status()
                .as_u16(),
            403
        );
    }
    let held = redis(&app)?.cli(&["GET", &adam_key])?;
    assert!(held == INVALIDATED || held.contains("\"role\":\"member\""), "{held}");
    Ok(())
}

/// What a request read from the database before a change must not land in
/// the cache after the change invalidated it; untouched keys fill as usual.
#[test]
fn an_answer_read_before_a_change_is_not_cached_after_it() -> TestResult {
    let Some(redis) = TestRedis::start()? else {
        return Ok(());
    };
    let shared = Arc::new(Redis::new(&redis.url(), Duration::from_millis(500), 4)?);
    let cache = AccessCache::new(Arc::new(RedisCache::new(shared)), CacheTtl::default());
    let host = HostName::parse("acme.localhost")?;
    let tenant = Tenant {
        id: TenantId(7),
        slug: Slug::parse("acme")?,
        schema_name: SchemaName::parse("tenant_acme")?,
        name: TenantName::parse("Acme")?,
        plan: Plan::Basic,
        is_active: true,
        allow_signup: false,
        schema_version: None,
        created_at: chrono::Utc::now(),
    };
    let admin = AccessGrant { role: Role::Admin, user_active: true, session_revoked: false };
    let (ann, bob, family) = (UserId(11), UserId(12), FamilyId(13));

    // requests read ann's admin grant and the active tenant; then ann is
    // demoted, her session ends and an operator changes the tenant; then
    // the requests fill the cache with what they read
    cache.forget_member(tenant.id, ann);
    cache.end_session(tenant.id, family, chrono::Duration::days(7));
    cache.forget_hosts([&host]);
    cache.put_access(tenant.id, ann, family, &admin);
    cache.put_tenant(&host, &tenant);
    // bob's entry was never invalidated
    cache.put_access(tenant.id, bob, FamilyId(14), &admin);

    let ann_found = cache.find(&host, Some((tenant.id, ann, family)));
    let bob_found = cache.find(&host, Some((tenant.id, bob, FamilyId(14))));
    assert!(ann_found.tenant.is_none(), "the stale tenant was cached");
    assert_eq!(ann_found.member, None, "the stale grant was cached");
    assert!(!ann_found.session_alive, "the ended session was cached as alive");
    assert!(cache.is_revoked(tenant.id, family));
    assert_eq!(bob_found.member, Some((Role::Admin, true)));
    assert!(bob_found.session_alive);
    let hold: i64 = redis.cli(&["PTTL", &member_key(tenant.id, ann)])?.parse()?;
    assert!(hold > 0 && hold <= 30_000, "the invalidation holds for {hold} ms");
    Ok(())
}

/// After `migrate`, the migrated tenants' host entries are invalidated (they
/// hold the schema version they read); other tenants' entries stay.
#[tokio::test]
async fn migrated_tenants_host_entries_are_invalidated() -> TestResult {
    // without the notices, which would keep a new tenant's host out of the
    // cache for a while (their invalidation holds off refills)
    let Some(app) = redis_app(false).await? else { return Ok(()) };
    app.create_tenant("acme", Plan::Basic, false).await?;
    app.create_tenant("beta", Plan::Basic, false).await?;
    for slug in ["acme", "beta"] {
        // resolving the host caches it, even for a request without a token
        app.get(&format!("{slug}.localhost"), "/api/tenants/me/").send().await?;
    }
    let (acme_key, beta_key) = ("tf:global:host:acme.localhost", "tf:global:host:beta.localhost");
    assert!(redis(&app)?.cli(&["GET", acme_key])?.contains("\"slug\":\"acme\""));

    let admin = app.admin.clone();
    let acme = Slug::parse("acme")?;
    let forgotten = tokio::task::spawn_blocking(move || admin.forget_hosts_of(&[acme])).await??;

    assert_eq!(forgotten, 1);
    assert_eq!(redis(&app)?.cli(&["GET", acme_key])?, INVALIDATED);
    assert!(redis(&app)?.cli(&["GET", beta_key])?.contains("\"slug\":\"beta\""));
    Ok(())
}

/// A count taken back never goes below zero, nor makes a key that was
/// cleared meanwhile: a key reset between an attempt and its taking back
/// (a success of the same account) stays cleared, and the next attempt is
/// one.
#[test]
fn a_count_taken_back_never_goes_below_zero() -> TestResult {
    use taskforce_domain::AttemptCounter as _;
    let Some(redis) = TestRedis::start()? else {
        return Ok(());
    };
    let counter =
        taskforce_cache::RedisAttemptCounter::new(Arc::new(Redis::new(&redis.url(), Duration::from_millis(500), 4)?));
    let key = "tf:global:login-account:user:7";

    assert_eq!(counter.hit(key, 60).0, 1);
    counter.reset(key);
    counter.forgive(key);
    assert_eq!(redis.cli(&["EXISTS", key])?, "0", "the cleared key was made again");
    redis.cli(&["SET", key, "0"])?;
    counter.forgive(key);
    assert_eq!(redis.cli(&["GET", key])?, "0");
    // a key below zero (from an older server) still counts this attempt
    redis.cli(&["SET", key, "-5"])?;
    assert_eq!(counter.hit(key, 60).0, 1);
    redis.cli(&["DEL", key])?;
    assert_eq!((counter.hit(key, 60).0, counter.hit(key, 60).0), (1, 2));
    counter.forgive(key);
    assert_eq!(redis.cli(&["GET", key])?, "1");
    Ok(())
}

/// With Redis too, a change made by hand in SQL reaches the shared entries
/// through the database's change notices: an account deactivated there is
/// refused on its next requests, not after the membership entry's minute.
#[tokio::test]
async fn an_account_deactivated_in_sql_is_refused_without_waiting_for_the_cache() -> TestResult {
    use diesel::RunQueryDsl;
    // behind PgBouncer (no LISTEN) the fallback: the entry's short life
    let Some(app) = redis_app_with(true, true).await? else { return Ok(()) };
    app.create_tenant("acme", Plan::Basic, false).await?;
    app.member("acme", "mia", Role::Member).await?;
    let mia = app.login("acme", "mia").await?;
    // her membership is cached in Redis now
    assert_eq!(app.get_as("acme", &mia.access, "/api/auth/me/").send().await?.status().as_u16(), 200);
    assert!(redis(&app)?.keys()?.iter().any(|k| k.contains("member")), "cached");
    app.on_the_database(|conn| {
        diesel::sql_query("UPDATE public.users SET is_active = false WHERE username = 'mia'").execute(conn)
    })
    .await?;
    // the notice arrives within a fraction of a second; a few seconds at most on a busy machine
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let status = loop {
        let status = app.get_as("acme", &mia.access, "/api/auth/me/").send().await?.status().as_u16();
        if status != 200 || std::time::Instant::now() > deadline {
            break status;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert_eq!(
        status, 401,
        "still admitted 10 s after the change (entries live 60 s, listening: {})",
        app.settings.cache.listen
    );
    Ok(())
}

/// More invalidations missed while Redis was away than are kept (10,000)
/// clear the whole cache when it returns; the login failure counters are
/// no cache entries and stay, as does whatever else the Redis holds.
#[test]
fn too_many_missed_invalidations_clear_the_cache_but_keep_the_login_counters() -> TestResult {
    use taskforce_domain::{AttemptCounter as _, Cache as _};
    let Some(redis) = TestRedis::start()? else {
        return Ok(());
    };
    let shared = Arc::new(Redis::new(&redis.url(), Duration::from_millis(100), 4)?);
    let cache = RedisCache::new(shared.clone());
    let counter = taskforce_cache::RedisAttemptCounter::new(shared.clone());
    let entries = ["tf:1:member:5", "tf:2:host:acme.example.com", "tf:global:user:9"];
    for key in entries {
        cache.set(key, "{\"kept\":true}", Duration::from_secs(600));
    }
    let counters = ["tf:global:login-account:user:7", "tf:global:login-client:127.0.0.1"];
    for key in counters {
        assert_eq!(counter.hit(key, 600).0, 1);
    }
    redis.cli(&["SET", "someone-else:key", "theirs"])?;
    for key in entries {
        assert_eq!(redis.cli(&["EXISTS", key])?, "1", "{key} was not cached");
    }

    redis.freeze()?;
    let missed: Vec<String> = (0..10_001).map(|n| format!("tf:3:task:{n}")).collect();
    cache.delete(&missed);
    redis.thaw()?;
    assert_eq!(shared.settle(), 0, "the kept invalidations were not sent");

    for key in entries {
        assert_eq!(redis.cli(&["EXISTS", key])?, "0", "{key} survived the clearing");
    }
    for key in counters {
        assert_eq!(redis.cli(&["GET", key])?, "1", "{key} was cleared with the cache");
    }
    assert_eq!(redis.cli(&["GET", "someone-else:key"])?, "theirs");
    Ok(())
}

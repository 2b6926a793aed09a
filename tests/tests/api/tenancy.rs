//! Tenant resolution from the Host header (API.md §1).

use std::time::{Duration, Instant};

use diesel::RunQueryDsl;
use secrecy::SecretString;
use taskforce_domain::{Plan, Role, Slug, TenantChanges};
use taskforce_tests::{TestApp, TestResult, json, spawn_app, spawn_app_with};

#[tokio::test]
async fn a_host_that_is_no_tenant_s_domain_gets_tenant_not_found() -> TestResult {
    let app = spawn_app().await?;
    let (status, body) = json(app.get("nobody.example.com", "/api/auth/me/").send().await?).await?;
    assert_eq!(status, 404);
    assert_eq!(
        body,
        serde_json::json!({"error": {"code": "tenant_not_found", "message": "No tenant for hostname 'nobody.example.com'"}})
    );
    // the same for unauthenticated tenant endpoints
    let (status, body) = json(
        app.post("nobody.example.com", "/api/auth/login/")
            .json(&serde_json::json!({"username": "a", "password": "b"}))
            .send()
            .await?,
    )
    .await?;
    assert_eq!((status, body["error"]["code"].as_str()), (404, Some("tenant_not_found")));
    Ok(())
}

#[tokio::test]
async fn hosts_are_canonicalised_and_forwarded_hosts_ignored() -> TestResult {
    let app = spawn_app().await?;
    app.create_tenant("acme", Plan::Free, false).await?;
    app.member("acme", "ann", Role::Owner).await?;
    let session = app.login("acme", "ann").await?;
    for host in ["ACME.localhost", "acme.localhost.", "acme.localhost:8001", "Acme.LocalHost.:443"] {
        let (status, body) = json(app.get(host, "/api/auth/me/").bearer_auth(&session.access).send().await?).await?;
        assert_eq!(status, 200, "{host}: {body}");
        assert_eq!(body["tenant"]["slug"], "acme");
    }
    // X-Forwarded-Host cannot pick a tenant when no proxy is trusted
    let response = app
        .get("nobody.example.com", "/api/auth/me/")
        .header("X-Forwarded-Host", "acme.localhost")
        .header("Forwarded", "host=acme.localhost")
        .bearer_auth(&session.access)
        .send()
        .await?;
    let (status, body) = json(response).await?;
    assert_eq!((status, body["error"]["code"].as_str()), (404, Some("tenant_not_found")));
    Ok(())
}

#[tokio::test]
async fn an_inactive_tenant_answers_tenant_inactive() -> TestResult {
    let app = spawn_app().await?;
    app.create_tenant("sleepy", Plan::Free, true).await?;
    let admin = app.admin.clone();
    let slug = Slug::parse("sleepy")?;
    tokio::task::spawn_blocking(move || {
        admin.update(&slug, &TenantChanges { is_active: Some(false), ..Default::default() })
    })
    .await??;
    let (status, body) = json(
        app.post("sleepy.localhost", "/api/auth/login/")
            .json(&serde_json::json!({"username": "a", "password": "b"}))
            .send()
            .await?,
    )
    .await?;
    assert_eq!(status, 403);
    assert_eq!(body["error"]["code"], "tenant_inactive");
    Ok(())
}

#[tokio::test]
async fn a_failure_inside_the_database_answers_500_internal_and_names_no_cause() -> TestResult {
    let app = spawn_app().await?;
    app.create_tenant("acme", Plan::Free, false).await?;
    app.create_tenant("beta", Plan::Free, false).await?;
    app.member("acme", "olga", Role::Owner).await?;
    app.member("beta", "bea", Role::Owner).await?;
    let olga = app.login("acme", "olga").await?;
    let bea = app.login("beta", "bea").await?;
    // an operator's mistake breaks acme's schema behind the server's back
    app.behind_the_server_s_back("ALTER TABLE tenant_acme.projects RENAME TO projects_moved".to_owned()).await?;
    let (status, body) = json(app.get_as("acme", &olga.access, "/api/projects/").send().await?).await?;
    assert_eq!(
        (status, body),
        (500, serde_json::json!({"error": {"code": "internal", "message": "Internal server error."}})),
        "no table name, SQL or driver text leaves the server"
    );
    // the other tenant is untouched
    let (status, body) = json(app.get_as("beta", &bea.access, "/api/projects/").send().await?).await?;
    assert_eq!((status, &body["count"]), (200, &serde_json::json!(0)), "{body}");
    Ok(())
}

/// Whether the server's change feed has sent its own notice, which it does
/// once it `LISTEN`s.
async fn feed_listens(app: &TestApp) -> Result<bool, Box<dyn std::error::Error>> {
    let listening: i64 = app
        .on_the_database(|conn| {
            diesel::select(diesel::dsl::sql::<diesel::sql_types::BigInt>(
                "(SELECT count(*) FROM pg_stat_activity \
             WHERE application_name = 'taskforce-change-feed' AND query LIKE 'NOTIFY%' \
             AND datname = current_database())",
            ))
            .get_result(conn)
        })
        .await?;
    Ok(listening > 0)
}

/// Asks `path` as the holder of `token` until the answer satisfies `done`
/// (up to 20 s); returns the last answer.
async fn until_answer(
    app: &TestApp,
    token: &str,
    path: &str,
    done: impl Fn(u16, &serde_json::Value) -> bool,
) -> Result<(u16, serde_json::Value), Box<dyn std::error::Error>> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (status, body) = json(app.get_as("acme", token, path).send().await?).await?;
        if done(status, &body) || Instant::now() > deadline {
            return Ok((status, body));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Without Redis the server caches hosts, memberships and sessions in its
/// own memory. A change made with plain SQL — as an operator, tenant-admin
/// or another tool would make it, telling no cache — still reaches its next
/// requests, through the database's change notices, although every entry
/// here would otherwise live an hour: a demotion, a deactivated account, a
/// removed membership, a deactivated tenant. (Behind PgBouncer in
/// transaction mode, where `cache.listen` is off, entries live a second
/// here and the same changes arrive when they expire.)
#[tokio::test]
async fn changes_made_in_the_database_behind_the_server_s_back_reach_its_next_requests() -> TestResult {
    let app = spawn_app_with(|settings| {
        settings.redis.url = SecretString::from(String::new());
        let ttl = if settings.cache.listen { 3600 } else { 1 };
        settings.cache.tenant_ttl_secs = ttl;
        settings.cache.access_ttl_secs = ttl;
        settings.cache.listening_ttl_secs = 3600;
    })
    .await?;
    let acme = app.create_tenant("acme", Plan::Free, false).await?;
    app.member("acme", "olga", Role::Owner).await?;
    let bob = app.member("acme", "bob", Role::Admin).await?;
    let carl = app.member("acme", "carl", Role::Member).await?;
    let (olga, bob_session, carl_session) =
        (app.login("acme", "olga").await?, app.login("acme", "bob").await?, app.login("acme", "carl").await?);
    // the feed listens once its own notice went out on its connection
    if app.settings.cache.listen {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !feed_listens(&app).await? {
            assert!(Instant::now() < deadline, "the server's change feed never listened");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    // every entry cached
    for (session, role) in [(&olga, "owner"), (&bob_session, "admin"), (&carl_session, "member")] {
        let (status, me) = json(app.get_as("acme", &session.access, "/api/auth/me/").send().await?).await?;
        assert_eq!((status, me["role"].as_str()), (200, Some(role)), "{me}");
    }

    app.behind_the_server_s_back(format!("UPDATE public.memberships SET role = 'viewer' WHERE user_id = {bob}"))
        .await?;
    let (status, me) = until_answer(&app, &bob_session.access, "/api/auth/me/", |_, me| me["role"] == "viewer").await?;
    assert_eq!((status, me["role"].as_str()), (200, Some("viewer")), "demoted: {me}");

    app.behind_the_server_s_back(format!("UPDATE public.users SET is_active = false WHERE id = {carl}")).await?;
    let (status, body) = until_answer(&app, &carl_session.access, "/api/projects/", |status, _| status != 200).await?;
    assert_eq!((status, body["error"]["code"].as_str()), (401, Some("token_invalid")), "deactivated: {body}");

    app.behind_the_server_s_back(format!("DELETE FROM public.memberships WHERE user_id = {bob}")).await?;
    let (status, body) = until_answer(&app, &bob_session.access, "/api/projects/", |status, _| status != 200).await?;
    assert_eq!((status, body["error"]["code"].as_str()), (401, Some("token_invalid")), "removed: {body}");

    let (status, _) = json(app.get_as("acme", &olga.access, "/api/projects/").send().await?).await?;
    assert_eq!(status, 200, "the owner, untouched, still gets in");
    app.behind_the_server_s_back(format!("UPDATE public.tenants SET is_active = false WHERE id = {}", acme.id.0))
        .await?;
    let (status, body) = until_answer(&app, &olga.access, "/api/projects/", |status, _| status != 200).await?;
    assert_eq!((status, body["error"]["code"].as_str()), (403, Some("tenant_inactive")), "tenant off: {body}");
    Ok(())
}

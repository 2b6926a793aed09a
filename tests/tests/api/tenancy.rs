//! Tenant resolution from the Host header (API.md §1).

use taskforce_domain::{Plan, Role, Slug, TenantChanges};
use taskforce_tests::{TestResult, json, spawn_app};

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

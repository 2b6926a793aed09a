//! `POST /api/signup/`: tenant, schema, domain, owner and tokens in one step.

use taskforce_domain::Plan;
use taskforce_tests::{TestResult, json, spawn_app, spawn_app_with};

fn signup_body(slug: &str, username: &str) -> serde_json::Value {
    serde_json::json!({
        "tenant_name": format!("{slug} Inc"),
        "slug": slug,
        "username": username,
        "email": format!("{username}@example.com"),
        "password": "Sturdy-passphrase-42",
        "password_confirm": "Sturdy-passphrase-42",
    })
}

#[tokio::test]
async fn signup_creates_a_working_tenant_whose_tokens_work_on_its_host() -> TestResult {
    let app = spawn_app().await?;
    let (status, body) =
        json(app.post("127.0.0.1", "/api/signup/").json(&signup_body("Rocket", "rita")).send().await?).await?;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["tenant"]["slug"], "rocket");
    assert_eq!(body["tenant"]["plan"], "free");
    assert_eq!(body["tenant"]["domains"], serde_json::json!(["rocket.localhost"]));
    let access = body["access_token"].as_str().ok_or("no token")?;
    let (status, me) = json(app.get_as("rocket", access, "/api/auth/me/").send().await?).await?;
    assert_eq!(status, 200, "{me}");
    assert_eq!((me["role"].as_str(), me["username"].as_str()), (Some("owner"), Some("rita")));
    let (status, overview) = json(app.get_as("rocket", access, "/api/tenants/me/").send().await?).await?;
    assert_eq!((status, overview["usage"]["members"].as_u64()), (200, Some(1)));
    Ok(())
}

#[tokio::test]
async fn taken_slugs_and_names_conflict_and_nothing_is_left_behind() -> TestResult {
    let app = spawn_app().await?;
    app.create_tenant("taken", Plan::Free, false).await?;
    let (status, body) =
        json(app.post("127.0.0.1", "/api/signup/").json(&signup_body("taken", "tom")).send().await?).await?;
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("conflict")));
    assert!(body["error"]["fields"]["slug"].is_array());
    // the user of the failed signup was rolled back: the name is still free
    let (status, body) =
        json(app.post("127.0.0.1", "/api/signup/").json(&signup_body("fresh", "tom")).send().await?).await?;
    assert_eq!(status, 201, "{body}");
    // now the name is taken
    let (status, body) =
        json(app.post("127.0.0.1", "/api/signup/").json(&signup_body("other", "tom")).send().await?).await?;
    assert_eq!(
        (status, body["error"]["fields"]["username"][0].as_str()),
        (409, Some("A user with that username already exists."))
    );
    let tenants = app.admin.list()?;
    let slugs: Vec<&str> = tenants.iter().map(|t| t.tenant.slug.as_str()).collect();
    assert_eq!(slugs, vec!["fresh", "taken"]);
    Ok(())
}

#[tokio::test]
async fn bad_slugs_are_field_errors() -> TestResult {
    let app = spawn_app().await?;
    for slug in ["1abc", "admin", "pg_x", "a b", ""] {
        let (status, body) =
            json(app.post("127.0.0.1", "/api/signup/").json(&signup_body(slug, "sam")).send().await?).await?;
        assert_eq!((status, body["error"]["code"].as_str()), (400, Some("validation_failed")), "{slug}: {body}");
        assert!(body["error"]["fields"]["slug"].is_array(), "{slug}: {body}");
    }
    Ok(())
}

#[tokio::test]
async fn signup_is_not_offered_on_tenant_hosts_nor_when_disabled() -> TestResult {
    let app = spawn_app().await?;
    app.create_tenant("acme", Plan::Free, true).await?;
    let (status, _) =
        json(app.post("acme.localhost", "/api/signup/").json(&signup_body("sneaky", "sid")).send().await?).await?;
    assert_eq!(status, 404);
    let closed = spawn_app_with(|settings| settings.tenancy.signup_enabled = false).await?;
    let (status, body) =
        json(closed.post("127.0.0.1", "/api/signup/").json(&signup_body("nope", "nia")).send().await?).await?;
    assert_eq!((status, body["error"]["code"].as_str()), (403, Some("signup_closed")));
    Ok(())
}

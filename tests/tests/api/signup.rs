//! `POST /api/signup/`: tenant, schema, domain, owner and tokens in one step.

use taskforce_domain::{Plan, Slug, StoreExt as _};
use taskforce_tests::{TestResult, answers, json, spawn_app, spawn_app_with};

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
    // the shape `GET /api/tenants/me/` gives: one type for one field name
    assert_eq!(body["tenant"]["domains"], serde_json::json!([{"domain": "rocket.localhost", "is_primary": true}]));
    let access = body["access_token"].as_str().ok_or("no token")?;
    let (status, me) = json(app.get_as("rocket", access, "/api/auth/me/").send().await?).await?;
    assert_eq!(status, 200, "{me}");
    assert_eq!((me["role"].as_str(), me["username"].as_str()), (Some("owner"), Some("rita")));
    let (status, overview) = json(app.get_as("rocket", access, "/api/tenants/me/").send().await?).await?;
    assert_eq!((status, overview["usage"]["members"].as_u64()), (200, Some(1)));
    Ok(())
}

/// Plan, signup flag, active flag and domains are not the signer's to set
/// (docs/api.md: read-only fields are ignored; the new tenant has plan
/// `free`, self-signup off and the one domain `<slug>.<platform domain>`).
#[tokio::test]
async fn signup_ignores_plan_flags_and_domains_in_the_body() -> TestResult {
    let app = spawn_app().await?;
    app.create_tenant("acme", Plan::Free, false).await?;
    let mut body = signup_body("Rocket", "rita");
    body["plan"] = "enterprise".into();
    body["allow_signup"] = true.into();
    body["is_active"] = false.into();
    body["domains"] = serde_json::json!(["acme.localhost", "evil.localhost"]);
    let (status, created) = json(app.post("127.0.0.1", "/api/signup/").json(&body).send().await?).await?;
    assert_eq!(status, 201, "{created}");
    assert_eq!(
        (created["tenant"]["plan"].as_str(), &created["tenant"]["domains"]),
        (Some("free"), &serde_json::json!([{"domain": "rocket.localhost", "is_primary": true}]))
    );
    // as stored
    let rocket = app.admin.show(&Slug::parse("rocket")?)?;
    assert_eq!(
        (rocket.tenant.plan, rocket.tenant.allow_signup, rocket.tenant.is_active),
        (Plan::Free, false, true),
        "{rocket:?}"
    );
    let domains: Vec<(String, bool)> = rocket.domains.iter().map(|d| (d.domain.to_string(), d.is_primary)).collect();
    assert_eq!(domains, vec![("rocket.localhost".to_owned(), true)]);
    let acme = app.admin.show(&Slug::parse("acme")?)?;
    assert_eq!(acme.domains.iter().map(|d| d.domain.to_string()).collect::<Vec<_>>(), vec!["acme.localhost"]);
    // as served: the owner's tenant is active and closed to self-signup, and
    // the names in the body lead nowhere new
    let access = created["access_token"].as_str().ok_or("no token")?;
    let (status, tenant) = json(app.get_as("rocket", access, "/api/tenants/me/").send().await?).await?;
    assert_eq!(status, 200, "{tenant}");
    assert_eq!(
        (tenant["plan"].as_str(), tenant["is_active"].as_bool(), tenant["allow_signup"].as_bool()),
        (Some("free"), Some(true), Some(false))
    );
    let register = serde_json::json!({"username": "walkin", "email": "walkin@example.com",
        "password": "Sturdy-passphrase-42", "password_confirm": "Sturdy-passphrase-42"});
    let (status, refused) =
        json(app.post("rocket.localhost", "/api/auth/register/").json(&register).send().await?).await?;
    assert_eq!((status, refused["error"]["code"].as_str()), (403, Some("signup_closed")), "{refused}");
    let (status, body) = json(app.get_as("acme", access, "/api/auth/me/").send().await?).await?;
    assert_eq!((status, body["error"]["code"].as_str()), (401, Some("token_invalid")), "rita's token on acme: {body}");
    let (status, body) = json(app.get("evil.localhost", "/api/tenants/me/").send().await?).await?;
    assert_eq!((status, body["error"]["code"].as_str()), (404, Some("tenant_not_found")), "{body}");
    Ok(())
}

#[tokio::test]
async fn taken_slugs_and_names_conflict_and_nothing_is_left_behind() -> TestResult {
    let app = spawn_app().await?;
    app.create_tenant("taken", Plan::Free, false).await?;
    let (status, body) =
        json(app.post("127.0.0.1", "/api/signup/").json(&signup_body("taken", "tom")).send().await?).await?;
    assert_eq!(
        body["error"],
        serde_json::json!({"code": "conflict", "message": "A tenant with this slug already exists."}),
        "409 names the clash in its message; fields are for validation errors alone"
    );
    assert_eq!(status, 409);
    // the user of the failed signup was rolled back: the name is still free
    let (status, body) =
        json(app.post("127.0.0.1", "/api/signup/").json(&signup_body("fresh", "tom")).send().await?).await?;
    assert_eq!(status, 201, "{body}");
    // now the name is taken
    let (status, body) =
        json(app.post("127.0.0.1", "/api/signup/").json(&signup_body("other", "tom")).send().await?).await?;
    assert_eq!(
        (status, &body["error"]),
        (409, &serde_json::json!({"code": "conflict", "message": "A user with that username already exists."}))
    );
    // a free slug whose host is another tenant's extra domain: the message says so
    app.admin.add_domain(
        &taskforce_domain::Slug::parse("taken")?,
        &taskforce_domain::HostName::parse("billing.localhost")?,
        false,
    )?;
    let (status, body) =
        json(app.post("127.0.0.1", "/api/signup/").json(&signup_body("billing", "bill")).send().await?).await?;
    assert_eq!(
        (status, &body["error"]),
        (
            409,
            &serde_json::json!({"code": "conflict", "message": "The host name of this slug already belongs to another tenant."})
        )
    );
    let tenants = app.admin.list()?;
    let slugs: Vec<&str> = tenants.iter().map(|t| t.tenant.slug.as_str()).collect();
    assert_eq!(slugs, vec!["fresh", "taken"]);
    Ok(())
}

#[tokio::test]
async fn bad_slugs_are_field_errors() -> TestResult {
    let app = spawn_app().await?;
    // in DRF's sentences (Django's SlugField for the characters)
    let characters = "Enter a valid “slug” consisting of lower-case letters, numbers, underscores or hyphens.";
    for (slug, message) in [
        ("1abc", "Enter a valid “slug” that starts with a lower-case letter."),
        ("admin", "“admin” is reserved; choose another slug."),
        ("pg_x", "“pg_x” is reserved; choose another slug."),
        ("a b", characters),
        ("Acme!", characters),
        ("", "This field may not be blank."),
        (&"a".repeat(51), "Ensure this field has no more than 50 characters."),
    ] {
        let (status, body) =
            json(app.post("127.0.0.1", "/api/signup/").json(&signup_body(slug, "sam")).send().await?).await?;
        assert_eq!((status, body["error"]["code"].as_str()), (400, Some("validation_failed")), "{slug}: {body}");
        assert_eq!(body["error"]["fields"]["slug"][0], message, "{slug}: {body}");
    }
    for (name, message) in [
        (" ", "This field may not be blank."),
        (&"n".repeat(101), "Ensure this field has no more than 100 characters."),
    ] {
        let mut body = signup_body("fine", "sam");
        body["tenant_name"] = name.into();
        let (status, body) = json(app.post("127.0.0.1", "/api/signup/").json(&body).send().await?).await?;
        assert_eq!((status, body["error"]["fields"]["tenant_name"][0].as_str()), (400, Some(message)), "{body}");
    }
    // nothing was made by any of them
    assert!(app.admin.list()?.is_empty(), "a tenant was left behind");
    assert!(app.store.read(|tx| tx.users().by_login("sam"))?.is_none(), "an account was left behind");
    Ok(())
}

/// Eight signups racing for one slug, each by its own person: one tenant,
/// one owner, and the others a clean 409 that leaves no account behind.
#[tokio::test]
async fn simultaneous_signups_for_one_slug_make_one_tenant() -> TestResult {
    let app = spawn_app().await?;
    let requests =
        (0..8).map(|i| app.post("127.0.0.1", "/api/signup/").json(&signup_body("rocket", &format!("rita{i}"))).send());
    let answers = answers(requests).await?;
    // the answers come in the order asked, so the winner's name is its index's
    let won: Vec<String> =
        answers.iter().enumerate().filter(|(_, a)| a.0 == 201).map(|(i, _)| format!("rita{i}")).collect();
    assert_eq!(won.len(), 1, "{answers:?}");
    for (status, body) in answers.iter().filter(|a| a.0 != 201) {
        assert_eq!(
            (*status, &body["error"]),
            (409, &serde_json::json!({"code": "conflict", "message": "A tenant with this slug already exists."})),
        );
    }
    let tenants = app.admin.list()?;
    assert_eq!(tenants.iter().map(|t| t.tenant.slug.as_str()).collect::<Vec<_>>(), ["rocket"]);
    let members = app.admin.members(&Slug::parse("rocket")?)?;
    assert_eq!(members.iter().map(|m| m.username.as_str()).collect::<Vec<_>>(), won);
    for i in 0..8 {
        let name = format!("rita{i}");
        let stored = app.store.read(|tx| tx.users().by_login(&name))?.is_some();
        assert_eq!(stored, won.contains(&name), "{name}: only the winner's account is kept");
    }
    Ok(())
}

#[tokio::test]
async fn signup_is_not_offered_on_tenant_hosts_nor_when_disabled() -> TestResult {
    let app = spawn_app().await?;
    app.create_tenant("acme", Plan::Free, true).await?;
    let (status, body) =
        json(app.post("acme.localhost", "/api/signup/").json(&signup_body("sneaky", "sid")).send().await?).await?;
    assert_eq!((status, body["error"]["code"].as_str()), (404, Some("not_found")), "{body}");
    // nothing was created: no tenant, no account
    let slugs: Vec<String> = app.admin.list()?.iter().map(|t| t.tenant.slug.to_string()).collect();
    assert_eq!(slugs, vec!["acme"]);
    assert!(app.store.read(|tx| tx.users().by_login("sid"))?.is_none(), "the account was created");
    let (status, body) = json(app.get("sneaky.localhost", "/api/tenants/me/").send().await?).await?;
    assert_eq!((status, body["error"]["code"].as_str()), (404, Some("tenant_not_found")), "{body}");
    let closed = spawn_app_with(|settings| settings.tenancy.signup_enabled = false).await?;
    let (status, body) =
        json(closed.post("127.0.0.1", "/api/signup/").json(&signup_body("nope", "nia")).send().await?).await?;
    assert_eq!((status, body["error"]["code"].as_str()), (403, Some("signup_closed")));
    // both refusals come before the body is judged
    let broken = |app: &taskforce_tests::TestApp, host: &str| {
        app.post(host, "/api/signup/").header("content-type", "text/plain").body("{oops").send()
    };
    let (status, body) = json(broken(&closed, "127.0.0.1").await?).await?;
    assert_eq!((status, body["error"]["code"].as_str()), (403, Some("signup_closed")), "{body}");
    let (status, body) = json(broken(&app, "acme.localhost").await?).await?;
    assert_eq!((status, body["error"]["code"].as_str()), (404, Some("not_found")), "{body}");

    // behind a trusted proxy, two forwarded hosts that disagree (one a
    // tenant's) are no platform host either
    let proxied =
        spawn_app_with(|settings| settings.server.trusted_proxies = vec![std::net::IpAddr::from([127, 0, 0, 1])])
            .await?;
    proxied.create_tenant("acme", Plan::Free, true).await?;
    let (status, body) = json(
        proxied
            .post("127.0.0.1", "/api/signup/")
            .header("x-forwarded-host", "acme.localhost")
            .header("forwarded", "for=192.0.2.1;host=127.0.0.1")
            .json(&signup_body("sneaky", "sid"))
            .send()
            .await?,
    )
    .await?;
    assert_eq!((status, body["error"]["code"].as_str()), (404, Some("not_found")), "{body}");
    assert!(proxied.store.read(|tx| tx.users().by_login("sid"))?.is_none(), "the account was created");
    Ok(())
}

/// The spare schemas' oids, by name, and the oid of one tenant schema.
fn schema_oids(app: &taskforce_tests::TestApp) -> Result<Vec<(String, i64)>, Box<dyn std::error::Error>> {
    use diesel::{
        QueryableByName, RunQueryDsl,
        sql_types::{BigInt, Text},
    };
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = Text)]
        name: String,
        #[diesel(sql_type = BigInt)]
        oid: i64,
    }
    let rows: Vec<Row> = diesel::sql_query(
        "SELECT nspname::text AS name, oid::bigint AS oid FROM pg_namespace \
         WHERE nspname LIKE 'tenant\\_\\_spare\\_%' OR nspname = 'tenant_rocket' ORDER BY nspname",
    )
    .load(&mut *app.store.pool().get()?)?;
    Ok(rows.into_iter().map(|r| (r.name, r.oid)).collect())
}

#[tokio::test]
async fn signup_takes_a_spare_schema_that_the_server_then_replaces() -> TestResult {
    let app = spawn_app_with(|s| s.database.spare_schemas = 2).await?;
    let wait_for_spares = || async {
        for _ in 0..600 {
            if app.store.spare_stock()?.ready == 2 {
                return Ok::<_, Box<dyn std::error::Error>>(true);
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        Ok(false)
    };
    assert!(wait_for_spares().await?, "the server makes its spares at start");
    let spares = schema_oids(&app)?;
    assert_eq!(spares.len(), 2, "{spares:?}");

    let (status, body) =
        json(app.post("127.0.0.1", "/api/signup/").json(&signup_body("Rocket", "rita")).send().await?).await?;
    assert_eq!(status, 201, "{body}");
    let now = schema_oids(&app)?;
    let rocket = now.iter().find(|(name, _)| name == "tenant_rocket").ok_or("no tenant_rocket")?.1;
    assert_eq!(rocket, spares[0].1, "tenant_rocket is the first spare, renamed: {spares:?} → {now:?}");

    // the owner's membership and its activity row were written in the renamed schema
    let access = body["access_token"].as_str().ok_or("no token")?;
    let (status, activity) = json(app.get_as("rocket", access, "/api/activity/").send().await?).await?;
    assert_eq!(status, 200, "{activity}");
    assert_eq!(activity["count"], 1, "{activity}");
    assert_eq!(activity["results"][0]["target_type"], "membership", "{activity}");
    let (status, project) = json(
        app.call_as(reqwest::Method::POST, "rocket", access, "/api/projects/")
            .json(&serde_json::json!({"name": "Launch"}))
            .send()
            .await?,
    )
    .await?;
    assert_eq!((status, project["name"].as_str()), (201, Some("Launch")), "{project}");

    assert!(wait_for_spares().await?, "the server replaces the spare it gave away");
    Ok(())
}

/// Each signup makes a schema: one client address may sign up
/// `auth.signups_per_client_per_hour` times an hour, refused or not, then
/// `429 rate_limited` with `Retry-After`, and nothing is made.
#[tokio::test]
async fn one_address_signing_up_past_its_hourly_limit_gets_429_and_makes_nothing() -> TestResult {
    let app = spawn_app_with(|settings| settings.auth.signups_per_client_per_hour = 2).await?;
    let (status, body) =
        json(app.post("127.0.0.1", "/api/signup/").json(&signup_body("first", "ann")).send().await?).await?;
    assert_eq!(status, 201, "{body}");
    // a refused one counts too: the slug is taken
    let (status, body) =
        json(app.post("127.0.0.1", "/api/signup/").json(&signup_body("first", "bob")).send().await?).await?;
    assert_eq!(status, 409, "{body}");
    let response = app.post("127.0.0.1", "/api/signup/").json(&signup_body("third", "cid")).send().await?;
    let retry_after: u64 = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .ok_or("no Retry-After")?;
    assert!((1..=3600).contains(&retry_after), "{retry_after}");
    let (status, body) = json(response).await?;
    assert_eq!((status, body["error"]["code"].as_str()), (429, Some("rate_limited")), "{body}");
    let third = Slug::parse("third")?;
    let made = app.store.read(|tx| tx.tenants().by_slug(&third))?;
    assert!(made.is_none(), "a tenant was made past the limit");
    Ok(())
}

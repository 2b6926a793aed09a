//! Tenant resolution from the Host header (API.md §1).

use std::time::{Duration, Instant};

use diesel::RunQueryDsl;
use reqwest::Method;
use secrecy::SecretString;
use taskforce_domain::{HostName, Plan, Role, Slug, TenantChanges};
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
    // a host with bytes outside ASCII is named too, not left empty
    let odd = reqwest::header::HeaderValue::from_bytes("nobody.example.com\u{e9}".as_bytes())?;
    let request = app.client.get(format!("{}/api/auth/me/", app.address)).header(reqwest::header::HOST, odd);
    let (status, body) = json(request.send().await?).await?;
    assert_eq!((status, body["error"]["code"].as_str()), (404, Some("tenant_not_found")), "{body}");
    assert!(body["error"]["message"].as_str().is_some_and(|m| m.contains("nobody.example.com")), "{body}");
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
    // the host is judged before the body: whatever is wrong with it
    for host in ["sleepy.localhost", "nobody.example.com"] {
        host_comes_before_the_body(&app, host).await?;
    }
    Ok(())
}

/// Every tenant endpoint that takes no token answers for the host first,
/// whatever is wrong with the body, as those that take one do.
async fn host_comes_before_the_body(app: &TestApp, host: &str) -> TestResult {
    let expected = if host == "sleepy.localhost" { (403, "tenant_inactive") } else { (404, "tenant_not_found") };
    let paths = ["/api/auth/login/", "/api/auth/register/", "/api/auth/token/refresh/", "/api/invitations/accept/"];
    let bodies: [(&str, &[u8]); 4] = [
        ("text/plain", b"username=a"),
        ("application/json", b"{not json"),
        ("application/json", b"[]"),
        ("application/json", br#"{"username": 5, "password": "a\u0000b"}"#),
    ];
    for path in paths {
        for (content_type, body) in bodies {
            let response = app
                .post(host, path)
                .header(reqwest::header::CONTENT_TYPE, content_type)
                .body(body.to_vec())
                .send()
                .await?;
            let (status, answer) = json(response).await?;
            assert_eq!(
                (status, answer["error"]["code"].as_str()),
                (expected.0, Some(expected.1)),
                "{host}{path} {content_type} {:?}: {answer}",
                String::from_utf8_lossy(body)
            );
        }
    }
    // a wrong method or an unknown path: the host's answer first, as django-tenants
    for (method, path) in [
        (reqwest::Method::GET, "/api/auth/login/"),
        (reqwest::Method::PUT, "/api/projects/"),
        (reqwest::Method::GET, "/api/no-such-thing/"),
    ] {
        let (status, answer) = json(app.request(method.clone(), host, path).send().await?).await?;
        assert_eq!((status, answer["error"]["code"].as_str()), (expected.0, Some(expected.1)), "{method} {path}");
    }
    // the stream reads its query string (a ticket) only for a host that serves
    let (status, answer) = json(app.get(host, "/api/notifications/stream/?ticket=x&a%00=1").send().await?).await?;
    assert_eq!((status, answer["error"]["code"].as_str()), (expected.0, Some(expected.1)), "stream: {answer}");
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

/// Asks `path` on `host` as the holder of `token` until the answer
/// satisfies `done` (up to 20 s, a deadline for a wait, not a speed claim);
/// returns the last answer.
async fn until_answer(
    app: &TestApp,
    host: &str,
    token: &str,
    path: &str,
    done: impl Fn(u16, &serde_json::Value) -> bool,
) -> Result<(u16, serde_json::Value), Box<dyn std::error::Error>> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (status, body) = json(app.get(host, path).bearer_auth(token).send().await?).await?;
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
    let (status, me) =
        until_answer(&app, "acme.localhost", &bob_session.access, "/api/auth/me/", |_, me| me["role"] == "viewer")
            .await?;
    assert_eq!((status, me["role"].as_str()), (200, Some("viewer")), "demoted: {me}");

    app.behind_the_server_s_back(format!("UPDATE public.users SET is_active = false WHERE id = {carl}")).await?;
    let (status, body) =
        until_answer(&app, "acme.localhost", &carl_session.access, "/api/projects/", |status, _| status != 200).await?;
    assert_eq!((status, body["error"]["code"].as_str()), (401, Some("token_invalid")), "deactivated: {body}");

    app.behind_the_server_s_back(format!("DELETE FROM public.memberships WHERE user_id = {bob}")).await?;
    let (status, body) =
        until_answer(&app, "acme.localhost", &bob_session.access, "/api/projects/", |status, _| status != 200).await?;
    assert_eq!((status, body["error"]["code"].as_str()), (401, Some("token_invalid")), "removed: {body}");

    let (status, _) = json(app.get_as("acme", &olga.access, "/api/projects/").send().await?).await?;
    assert_eq!(status, 200, "the owner, untouched, still gets in");
    app.behind_the_server_s_back(format!("UPDATE public.tenants SET is_active = false WHERE id = {}", acme.id.0))
        .await?;
    let (status, body) =
        until_answer(&app, "acme.localhost", &olga.access, "/api/projects/", |status, _| status != 200).await?;
    assert_eq!((status, body["error"]["code"].as_str()), (403, Some("tenant_inactive")), "tenant off: {body}");
    Ok(())
}

/// A domain taken from a tenant stops serving it, although its host was
/// cached a moment before; given to another tenant, it serves that one, where
/// the first tenant's tokens are worth nothing. Without Redis the server
/// hears of it through the change feed (about 0.1 s), hence the waits.
#[tokio::test]
async fn a_domain_moved_to_another_tenant_serves_only_that_one() -> TestResult {
    let app = spawn_app().await?;
    app.create_tenant("acme", Plan::Basic, false).await?;
    app.create_tenant("globex", Plan::Basic, false).await?;
    let [ann] = app.signed_in("acme", [("ann", Role::Owner)]).await?;
    let [gus] = app.signed_in("globex", [("gus", Role::Owner)]).await?;
    for (slug, session, name) in [("acme", &ann, "Acme plans"), ("globex", &gus, "Globex plans")] {
        let body = Some(serde_json::json!({ "name": name }));
        let (status, project) = app.answer(Method::POST, slug, &session.access, "/api/projects/", body).await?;
        assert_eq!((status, project["id"].as_i64()), (201, Some(1)), "the same id in both schemas: {project}");
    }
    let (admin, shared) = (app.admin.clone(), HostName::parse("work.example.com")?);
    let (acme, globex) = (Slug::parse("acme")?, Slug::parse("globex")?);
    let names = |body: &serde_json::Value| -> Vec<String> {
        body["results"].as_array().into_iter().flatten().filter_map(|p| Some(p["name"].as_str()?.to_owned())).collect()
    };

    let added = (admin.clone(), acme.clone(), shared.clone());
    tokio::task::spawn_blocking(move || added.0.add_domain(&added.1, &added.2, false)).await??;
    let (status, body) =
        until_answer(&app, "work.example.com", &ann.access, "/api/projects/", |status, _| status == 200).await?;
    assert_eq!((status, names(&body)), (200, vec!["Acme plans".to_owned()]), "{body}");

    let removed = (admin.clone(), shared.clone());
    tokio::task::spawn_blocking(move || removed.0.remove_domain(&removed.1)).await??;
    let (status, body) =
        until_answer(&app, "work.example.com", &ann.access, "/api/projects/", |status, _| status != 200).await?;
    assert_eq!(
        body,
        serde_json::json!({"error": {"code": "tenant_not_found", "message": "No tenant for hostname 'work.example.com'"}}),
        "{status}"
    );

    let moved = (admin.clone(), globex.clone(), shared.clone());
    tokio::task::spawn_blocking(move || moved.0.add_domain(&moved.1, &moved.2, false)).await??;
    let (status, body) =
        until_answer(&app, "work.example.com", &gus.access, "/api/projects/", |status, _| status == 200).await?;
    assert_eq!((status, names(&body)), (200, vec!["Globex plans".to_owned()]), "{body}");
    let (status, body) =
        json(app.get("work.example.com", "/api/projects/").bearer_auth(&ann.access).send().await?).await?;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("token_invalid")),
        "acme's token on globex: {body}"
    );
    Ok(())
}

/// Requests of a tenant racing its deletion: each one is answered as the
/// tenant stood when it began (200/201), as a tenant being deleted (503,
/// at once), or as a tenant that is gone (404 `tenant_not_found`, or 401
/// for a token whose membership went with it), never `500` (a table
/// dropped from under a request that had begun); and the deletion is not
/// ended by a deadlock with a report that holds one of the tenant's tables
/// while it waits for another. The timing of the race varies from run to
/// run; no run may answer otherwise.
#[tokio::test]
async fn requests_racing_their_tenant_s_deletion_answer_as_it_stood_or_as_gone_and_the_deletion_succeeds() -> TestResult
{
    let app = std::sync::Arc::new(spawn_app().await?);
    app.create_tenant("doomed", Plan::Enterprise, false).await?;
    app.member("doomed", "olga", Role::Owner).await?;
    let olga = app.login("doomed", "olga").await?;
    let (status, project) = app
        .answer(Method::POST, "doomed", &olga.access, "/api/projects/", Some(serde_json::json!({"name": "P"})))
        .await?;
    assert_eq!(status, 201, "{project}");
    let tasks = format!("/api/projects/{}/tasks/", project["id"]);
    for t in 0..20 {
        let body = serde_json::json!({"title": format!("T{t}"), "status": if t % 2 == 0 { "done" } else { "todo" }});
        assert_eq!(app.answer(Method::POST, "doomed", &olga.access, &tasks, Some(body)).await?.0, 201);
    }
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut clients = Vec::new();
    for client in 0..6 {
        let (app, stop, token, tasks) = (app.clone(), stop.clone(), olga.access.clone(), tasks.clone());
        clients.push(tokio::spawn(async move {
            let mut answers = Vec::new();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let (method, path, body) = match client % 3 {
                    0 => (Method::GET, "/api/reports/summary/".to_owned(), None),
                    1 => (Method::GET, tasks.clone(), None),
                    _ => (Method::POST, "/api/projects/".to_owned(), Some(serde_json::json!({"name": "Racing"}))),
                };
                let (status, answer) =
                    app.answer(method, "doomed", &token, &path, body).await.map_err(|e| e.to_string())?;
                answers.push((status, answer["error"]["code"].as_str().map(str::to_owned)));
            }
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(answers)
        }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (admin, slug) = (app.admin.clone(), Slug::parse("doomed")?);
    let deleted = tokio::task::spawn_blocking(move || admin.delete(&slug)).await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    assert!(deleted.is_ok(), "the deletion failed: {deleted:?}");
    let mut answers = Vec::new();
    for client in clients {
        answers.extend(client.await?.map_err(|e| e.to_string())?);
    }
    let wrong: Vec<_> = answers
        .iter()
        .filter(|(status, code)| {
            !matches!(
                (status, code.as_deref()),
                (200 | 201, None)
                    | (503, Some("unavailable"))
                    | (404, Some("tenant_not_found"))
                    | (401, Some("token_invalid"))
            )
        })
        .collect();
    assert!(wrong.is_empty(), "{} of {} answers were neither: {wrong:?}", wrong.len(), answers.len());
    assert!(answers.iter().any(|(status, _)| *status == 404), "no request came after the deletion");
    Ok(())
}

/// While a deletion of the tenant holds its lock (or waits for it), the
/// tenant's requests are refused at once, `503` with `Retry-After`, rather
/// than each waiting on a pooled connection; once the lock is let go they
/// are answered again.
#[tokio::test]
async fn a_tenant_whose_deletion_holds_its_lock_answers_503_at_once() -> TestResult {
    use diesel::connection::SimpleConnection as _;
    let app = spawn_app().await?;
    let acme = app.create_tenant("acme", Plan::Basic, false).await?;
    app.member("acme", "olga", Role::Owner).await?;
    let olga = app.login("acme", "olga").await?;
    let (held_tx, held_rx) = std::sync::mpsc::channel::<Result<(), String>>();
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let store = app.store.clone();
    let id = acme.id.0;
    let holder = std::thread::spawn(move || {
        let held = store.pool().get().map_err(|e| e.to_string()).and_then(|mut conn| {
            // what `tenant delete` takes first, in the tenant's lock class 'tfte'
            conn.batch_execute(&format!("BEGIN; SELECT pg_advisory_xact_lock(1952871525, {id})"))
                .map_err(|e| e.to_string())?;
            Ok(conn)
        });
        let mut conn = match held {
            Ok(conn) => {
                let _ = held_tx.send(Ok(()));
                conn
            }
            Err(error) => {
                let _ = held_tx.send(Err(error));
                return;
            }
        };
        let _ = release_rx.recv();
        let _ = conn.batch_execute("ROLLBACK");
    });
    tokio::task::spawn_blocking(move || held_rx.recv()).await??.map_err(|e| e.to_string())?;
    let response = app.get_as("acme", &olga.access, "/api/projects/").send().await?;
    let retry_after = response.headers().get("retry-after").cloned();
    let (status, body) = json(response).await?;
    assert_eq!((status, body["error"]["code"].as_str()), (503, Some("unavailable")), "{body}");
    assert!(retry_after.is_some(), "no Retry-After");
    release_tx.send(())?;
    holder.join().map_err(|_| "the lock holder panicked")?;
    let (status, body) = json(app.get_as("acme", &olga.access, "/api/projects/").send().await?).await?;
    assert_eq!(status, 200, "{body}");
    Ok(())
}

/// Values an earlier build stored under rules tightened since (a user
/// name not in NFKC form, a tenant name holding a zero width space) are
/// read as stored: the tenant and its members still answer.
#[tokio::test]
async fn rows_stored_under_earlier_rules_are_still_read() -> TestResult {
    let app = spawn_app().await?;
    app.create_tenant("acme", Plan::Basic, false).await?;
    app.member("acme", "olga", Role::Owner).await?;
    let olga = app.login("acme", "olga").await?;
    app.behind_the_server_s_back(
        "UPDATE public.users SET username = 'ｏｌｇａ' WHERE username = 'olga'; \
         UPDATE public.tenants SET name = 'Acme' || chr(8203) WHERE slug = 'acme'"
            .to_owned(),
    )
    .await?;
    let (status, members) = json(app.get_as("acme", &olga.access, "/api/tenants/members/").send().await?).await?;
    assert_eq!((status, members["results"][0]["username"].as_str()), (200, Some("ｏｌｇａ")), "{members}");
    let (status, me) = json(app.get_as("acme", &olga.access, "/api/tenants/me/").send().await?).await?;
    assert_eq!((status, me["name"].as_str()), (200, Some("Acme\u{200b}")), "{me}");
    Ok(())
}

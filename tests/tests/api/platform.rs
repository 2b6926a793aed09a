//! Platform endpoints and the error format for what no handler answers.

use reqwest::Method;
use taskforce_domain::{Plan, Role};
use taskforce_tests::{TestResult, json, spawn_app, spawn_app_with};

#[tokio::test]
async fn health_answers_the_seed_body_on_any_host_with_or_without_slash() -> TestResult {
    let app = spawn_app().await?;
    for (host, path) in
        [("localhost", "/api/health/"), ("unknown.example", "/api/health"), ("127.0.0.1:9", "/api/health/")]
    {
        let response = app.get(host, path).send().await?;
        assert!(response.headers().contains_key("x-request-id"));
        let (status, body) = json(response).await?;
        assert_eq!(status, 200);
        assert_eq!(body, serde_json::json!({"status": "healthy", "message": "TaskForce API is running"}));
    }
    Ok(())
}

#[tokio::test]
async fn readiness_reports_the_database() -> TestResult {
    let app = spawn_app().await?;
    let (status, body) = json(app.get("localhost", "/api/health/ready/").send().await?).await?;
    assert_eq!(status, 200);
    // the suite runs with no Redis, a private one, or one stopped or frozen
    let cache = match std::env::var("TASKFORCE_TEST_REDIS").unwrap_or_default().as_str() {
        "private" => "ok",
        "stopped" | "frozen" => "degraded",
        _ => "disabled",
    };
    assert_eq!(
        body,
        serde_json::json!({"status": "ready", "checks": {"database": "ok", "cache": cache, "files": "ok"}})
    );
    Ok(())
}

#[tokio::test]
async fn readiness_reports_a_file_store_that_takes_no_writes_and_stays_ready() -> TestResult {
    let root = tempfile::tempdir()?;
    let files = root.path().join("files");
    let app = spawn_app_with(|s| s.storage.root = files.clone()).await?;
    // the store's folder is replaced by a plain file: nothing can be written there
    std::fs::remove_dir_all(&files)?;
    std::fs::write(&files, b"not a folder")?;
    let (status, body) = json(app.get("localhost", "/api/health/ready/").send().await?).await?;
    assert_eq!((status, body["status"].as_str()), (200, Some("ready")), "{body}");
    assert_eq!(
        (body["checks"]["database"].as_str(), body["checks"]["files"].as_str()),
        (Some("ok"), Some("unavailable"))
    );
    Ok(())
}

#[tokio::test]
async fn readiness_is_503_when_the_database_cannot_be_reached() -> TestResult {
    let closed = taskforce_pgcluster::free_port()?;
    let app = spawn_app_with(|settings| {
        settings.database.url = format!("postgres://postgres@127.0.0.1:{closed}/none").into();
        settings.database.auto_migrate = false;
        settings.database.checkout_timeout_ms = 300;
    })
    .await?;
    let (status, body) = json(app.get("localhost", "/api/health/ready/").send().await?).await?;
    assert_eq!(status, 503);
    assert_eq!(body["status"], "unavailable");
    assert_eq!(body["checks"]["database"], "unavailable");
    // liveness does not touch the database
    assert_eq!(app.get("localhost", "/api/health/").send().await?.status().as_u16(), 200);
    Ok(())
}

#[tokio::test]
async fn unknown_routes_and_wrong_methods_answer_in_the_error_format() -> TestResult {
    let app = spawn_app().await?;
    app.create_tenant("acme", Plan::Free, false).await?;
    let (status, body) = json(app.get("acme.localhost", "/api/no-such-thing/").send().await?).await?;
    assert_eq!((status, body), (404, serde_json::json!({"error": {"code": "not_found", "message": "Not found."}})));
    // on a host that serves no tenant, the host's answer comes first
    let (status, body) = json(app.get("localhost", "/api/no-such-thing/").send().await?).await?;
    assert_eq!((status, body["error"]["code"].as_str()), (404, Some("tenant_not_found")), "{body}");

    let response = app.post("localhost", "/api/health/").send().await?;
    assert_eq!(response.headers().get("allow").and_then(|v| v.to_str().ok()), Some("GET, HEAD"));
    let (status, body) = json(response).await?;
    assert_eq!(status, 405);
    assert_eq!(body["error"]["code"], "method_not_allowed");
    Ok(())
}

/// A response header as text.
fn header(response: &reqwest::Response, name: &str) -> Option<String> {
    response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
}

#[tokio::test]
async fn head_answers_what_get_answers_without_the_body() -> TestResult {
    let app = spawn_app().await?;
    app.create_tenant("acme", Plan::Basic, false).await?;
    app.member("acme", "ann", Role::Owner).await?;
    let ann = app.login("acme", "ann").await?;
    let (status, project) = app
        .answer(Method::POST, "acme", &ann.access, "/api/projects/", Some(serde_json::json!({"name": "Roof"})))
        .await?;
    assert_eq!(status, 201, "{project}");
    let one = format!("/api/projects/{}/", project["id"]);

    for (host, path, token) in [
        ("localhost", "/api/health/", None),
        ("acme.localhost", "/api/projects/", Some(ann.access.as_str())),
        ("acme.localhost", one.as_str(), Some(ann.access.as_str())),
        ("acme.localhost", "/api/reports/summary/", Some(ann.access.as_str())),
    ] {
        let with_token = |method| {
            let request = app.request(method, host, path);
            match token {
                Some(token) => request.bearer_auth(token),
                None => request,
            }
        };
        let get = with_token(Method::GET).send().await?;
        let (get_status, get_type, get_tag) = (get.status(), header(&get, "content-type"), header(&get, "etag"));
        let get_body = get.bytes().await?;
        let head = with_token(Method::HEAD).send().await?;
        assert_eq!(head.status(), get_status, "HEAD {host}{path}");
        assert_eq!(header(&head, "content-type"), get_type, "HEAD {host}{path}");
        assert_eq!(header(&head, "etag"), get_tag, "HEAD {host}{path}");
        assert_eq!(header(&head, "content-length"), Some(get_body.len().to_string()), "HEAD {host}{path}");
        assert!(head.bytes().await?.is_empty(), "HEAD {host}{path} sent a body");
    }

    // refusals are the same as well: no token, and the tag already held
    let refused = app.request(Method::HEAD, "acme.localhost", "/api/projects/").send().await?;
    assert_eq!(refused.status(), 401);
    assert_eq!(header(&refused, "www-authenticate").as_deref(), Some("Bearer realm=\"api\""));
    let tag = header(&app.get_as("acme", &ann.access, &one).send().await?, "etag").ok_or("no etag")?;
    let cached = app.call_as(Method::HEAD, "acme", &ann.access, &one).header("if-none-match", &tag).send().await?;
    assert_eq!(cached.status(), 304);

    // the stream and downloads stay GET only, and a plain OPTIONS is no DRF
    // metadata but 405 naming the methods (docs/api.md, Django's clients)
    for (method, path, allowed) in [
        (Method::HEAD, "/api/notifications/stream/", "GET"),
        (Method::HEAD, "/api/attachments/1/download/", "GET"),
        (Method::OPTIONS, "/api/projects/", "GET, HEAD, POST"),
    ] {
        let answer = app.call_as(method.clone(), "acme", &ann.access, path).send().await?;
        assert_eq!(
            (answer.status().as_u16(), header(&answer, "allow").as_deref()),
            (405, Some(allowed)),
            "{method} {path}"
        );
    }
    Ok(())
}

#[tokio::test]
async fn json_bodies_are_declared_utf_8_successes_errors_and_the_document_alike() -> TestResult {
    let app = spawn_app().await?;
    for (method, host, path, status) in [
        (reqwest::Method::GET, "localhost", "/api/health/", 200),
        (reqwest::Method::GET, "localhost", "/api/openapi.json", 200),
        (reqwest::Method::GET, "localhost", "/api/no-such-thing/", 404),
        (reqwest::Method::POST, "localhost", "/api/health/", 405),
        (reqwest::Method::GET, "nobody.example", "/api/projects/", 404),
        (reqwest::Method::POST, "127.0.0.1", "/api/signup/", 400),
    ] {
        let response = app.request(method.clone(), host, path).send().await?;
        // every answer, refusals too, is what its type says (Django's
        // SecurityMiddleware sent this on each response)
        let sniffing = response.headers().get("x-content-type-options").and_then(|v| v.to_str().ok());
        assert_eq!(sniffing, Some("nosniff"), "{method} {host}{path}");
        let declared = response.headers().get("content-type").and_then(|v| v.to_str().ok()).map(str::to_owned);
        assert_eq!(
            (response.status().as_u16(), declared.as_deref()),
            (status, Some("application/json; charset=utf-8")),
            "{method} {host}{path}"
        );
    }
    Ok(())
}

#[tokio::test]
async fn the_openapi_document_and_the_offline_reference_are_served() -> TestResult {
    let app = spawn_app().await?;
    let (status, document) = json(app.get("localhost", "/api/openapi.json").send().await?).await?;
    assert_eq!(status, 200);
    assert!(document["openapi"].as_str().is_some_and(|v| v.starts_with("3.")), "{document}");
    assert!(document["paths"]["/api/health/"]["get"].is_object());
    assert!(document["paths"]["/api/health/ready/"]["get"].is_object());

    let redirect = app.get("localhost", "/api/docs").send().await?;
    assert_eq!(redirect.status().as_u16(), 308);
    let page = app.get("localhost", "/api/docs/").send().await?;
    assert_eq!(page.status().as_u16(), 200);
    let html = page.text().await?;
    assert!(html.contains("swagger-ui"), "{html}");
    // the page's scripts come from this server, not from a CDN
    assert!(!html.contains("https://"), "{html}");
    let script = app.get("localhost", "/api/docs/swagger-ui-bundle.js").send().await?;
    assert_eq!(script.status().as_u16(), 200);
    assert!(script.bytes().await?.len() > 100_000);
    let initializer = app.get("localhost", "/api/docs/swagger-initializer.js").send().await?.text().await?;
    assert!(initializer.contains("/api/openapi.json"), "{initializer}");
    Ok(())
}

#[tokio::test]
async fn cors_answers_listed_origins_and_leaves_others_to_the_browser() -> TestResult {
    let app = spawn_app_with(|settings| settings.server.cors_allowed_origins = vec!["https://app.example.com".into()])
        .await?;
    // (origin, path, method asked for, headers asked for)
    let asking = |origin: &'static str, path: &'static str, method: &'static str, headers: &'static str| {
        app.request(reqwest::Method::OPTIONS, "localhost", path)
            .header("origin", origin)
            .header("access-control-request-method", method)
            .header("access-control-request-headers", headers)
            .send()
    };
    let preflight = |origin| asking(origin, "/api/auth/login/", "POST", "authorization, content-type");

    let listed = preflight("https://app.example.com").await?;
    assert_eq!(listed.status().as_u16(), 200);
    assert_eq!(header(&listed, "access-control-allow-origin").as_deref(), Some("https://app.example.com"));
    let methods = header(&listed, "access-control-allow-methods").unwrap_or_default();
    assert!(methods.contains("POST") && methods.contains("PATCH"), "{methods}");
    let headers = header(&listed, "access-control-allow-headers").unwrap_or_default().to_lowercase();
    assert!(headers.contains("authorization") && headers.contains("content-type"), "{headers}");
    assert_eq!(header(&listed, "access-control-max-age").as_deref(), Some("3600"));
    // what clients of the Django product send (django-cors-headers' defaults)
    let django = "accept, authorization, content-type, user-agent, x-csrftoken, x-requested-with";
    let from_django = asking("https://app.example.com", "/api/projects/", "GET", django).await?;
    assert_eq!(from_django.status().as_u16(), 200);
    let allowed = header(&from_django, "access-control-allow-headers").unwrap_or_default().to_lowercase();
    assert!(django.split(", ").all(|h| allowed.contains(h)), "{allowed}");
    // a HEAD with a token is preflighted too, and allowed like the GET it mirrors
    let head = asking("https://app.example.com", "/api/projects/", "HEAD", "authorization").await?;
    assert_eq!(head.status().as_u16(), 200);
    let methods = header(&head, "access-control-allow-methods").unwrap_or_default();
    assert!(methods.contains("HEAD"), "{methods}");

    let read = app.get("localhost", "/api/health/").header("origin", "https://app.example.com").send().await?;
    assert_eq!(header(&read, "access-control-allow-origin").as_deref(), Some("https://app.example.com"));
    let exposed = header(&read, "access-control-expose-headers").unwrap_or_default().to_lowercase();
    assert!(["etag", "x-request-id", "www-authenticate"].iter().all(|h| exposed.contains(h)), "{exposed}");
    // a listed origin asking for a header that is not allowed is refused in the same format
    let odd = asking("https://app.example.com", "/api/auth/login/", "POST", "x-not-allowed").await?;
    let (status, body) = json(odd).await?;
    assert_eq!((status, &body["error"]["code"]), (403, &serde_json::json!("permission_denied")), "{body}");

    // another origin's request is served without CORS headers: its browser
    // withholds the answer, and same-origin pages and other clients (which
    // may send Origin too) are not refused
    let other = app.get("localhost", "/api/health/").header("origin", "https://evil.example").send().await?;
    assert_eq!((other.status().as_u16(), header(&other, "access-control-allow-origin")), (200, None));
    // its preflight is refused, in the contract's format
    let (status, body) = json(preflight("https://evil.example").await?).await?;
    assert_eq!((status, &body["error"]["code"]), (403, &serde_json::json!("permission_denied")), "{body}");
    Ok(())
}

/// A path id is digits, as Django's `<int:pk>` matched: anything else names
/// no resource (`404`, whatever the method), where a known path with an
/// unknown method is `405`.
#[tokio::test]
async fn a_path_id_that_is_not_digits_names_no_resource() -> TestResult {
    let app = spawn_app().await?;
    app.create_tenant("acme", taskforce_domain::Plan::Basic, false).await?;
    app.member("acme", "olga", taskforce_domain::Role::Owner).await?;
    let olga = app.login("acme", "olga").await?;
    let (_, project) = json(
        app.call_as(reqwest::Method::POST, "acme", &olga.access, "/api/projects/")
            .json(&serde_json::json!({"name": "P"}))
            .send()
            .await?,
    )
    .await?;
    let id = project["id"].as_i64().ok_or("no id")?;
    for (method, path, status) in [
        (reqwest::Method::GET, format!("/api/projects/{id}/"), 200),
        (reqwest::Method::GET, format!("/api/projects/+{id}/"), 404),
        (reqwest::Method::GET, format!("/api/projects/{id}.0/"), 404),
        (reqwest::Method::GET, "/api/projects/99999999999999999999/".to_owned(), 404),
        (reqwest::Method::GET, "/api/tenants/members/abc/".to_owned(), 404),
        (reqwest::Method::GET, "/api/tenants/members/1/".to_owned(), 405),
        (reqwest::Method::POST, format!("/api/projects/+{id}/tasks/"), 404),
    ] {
        let (answered, body) = json(app.call_as(method.clone(), "acme", &olga.access, &path).send().await?).await?;
        assert_eq!(answered, status, "{method} {path}: {body}");
        if status == 404 {
            assert_eq!(body["error"]["code"], "not_found", "{method} {path}: {body}");
        }
    }
    Ok(())
}

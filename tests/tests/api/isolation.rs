//! Two tenants holding the same ids with different contents: through
//! tenant B's host, an id answers B's own row or 404 — never A's — and A's
//! rows stay unchanged.

use reqwest::Method;
use taskforce_domain::{Plan, Role};
use taskforce_tests::{Session, TestApp, TestResult, json};

async fn fill(
    app: &TestApp,
    slug: &str,
    who: &Session,
    label: &str,
    projects: usize,
) -> Result<(), Box<dyn std::error::Error>> {
    for p in 0..projects {
        let (status, project) = json(
            app.call_as(Method::POST, slug, &who.access, "/api/projects/")
                .json(&serde_json::json!({"name": format!("{label} project {p}"), "description": format!("{label} secret")}))
                .send()
                .await?,
        )
        .await?;
        assert_eq!(status, 201, "{project}");
        let (status, task) = json(
            app.call_as(Method::POST, slug, &who.access, &format!("/api/projects/{}/tasks/", project["id"]))
                .json(&serde_json::json!({"title": format!("{label} task {p}")}))
                .send()
                .await?,
        )
        .await?;
        assert_eq!(status, 201, "{task}");
        let (status, _) = json(
            app.call_as(Method::POST, slug, &who.access, &format!("/api/tasks/{}/comments/", task["id"]))
                .json(&serde_json::json!({"body": format!("{label} comment {p}")}))
                .send()
                .await?,
        )
        .await?;
        assert_eq!(status, 201);
    }
    Ok(())
}

#[tokio::test]
async fn tenant_b_never_sees_or_changes_tenant_a_s_rows() -> TestResult {
    let app = taskforce_tests::spawn_app().await?;
    app.create_tenant("alpha", Plan::Enterprise, false).await?;
    app.create_tenant("beta", Plan::Enterprise, false).await?;
    app.member("alpha", "ann", Role::Owner).await?;
    app.member("beta", "bob", Role::Owner).await?;
    let (ann, bob) = (app.login("alpha", "ann").await?, app.login("beta", "bob").await?);
    // same ids in both schemas (1, 2, 3 …); alpha has three, beta one
    fill(&app, "alpha", &ann, "ALPHA", 3).await?;
    fill(&app, "beta", &bob, "BETA", 1).await?;
    // everything of A's that B's requests below aim at: every project, task
    // and comment, each with its body
    let snapshot = |who: Session| {
        let app = &app;
        async move {
            let mut seen = Vec::new();
            for n in 1..=3 {
                for path in [
                    format!("/api/projects/{n}/"),
                    format!("/api/projects/{n}/tasks/"),
                    format!("/api/tasks/{n}/"),
                    format!("/api/tasks/{n}/comments/"),
                ] {
                    let (status, body) = json(app.get_as("alpha", &who.access, &path).send().await?).await?;
                    assert_eq!(status, 200, "{path}: {body}");
                    seen.push((path, body));
                }
            }
            let (_, projects) = json(app.get_as("alpha", &who.access, "/api/projects/").send().await?).await?;
            seen.push(("/api/projects/".to_owned(), projects));
            Ok::<_, Box<dyn std::error::Error>>(seen)
        }
    };
    let before = snapshot(ann.clone()).await?;

    // id 1 exists in both: B's host answers B's row
    let (status, project) = json(app.get_as("beta", &bob.access, "/api/projects/1/").send().await?).await?;
    assert_eq!((status, project["name"].as_str()), (200, Some("BETA project 0")));
    let (status, task) = json(app.get_as("beta", &bob.access, "/api/tasks/1/").send().await?).await?;
    assert_eq!((status, task["title"].as_str()), (200, Some("BETA task 0")));
    let (_, list) = json(app.get_as("beta", &bob.access, "/api/projects/").send().await?).await?;
    assert_eq!(list["count"], 1);
    assert!(!list.to_string().contains("ALPHA"));
    let (_, comments) = json(app.get_as("beta", &bob.access, "/api/tasks/1/comments/").send().await?).await?;
    assert_eq!(comments["results"][0]["body"], "BETA comment 0");

    // ids that only mean something in A: every read, update and delete is 404
    let reads = [
        "/api/projects/2/",
        "/api/projects/3/",
        "/api/tasks/2/",
        "/api/tasks/3/",
        "/api/projects/2/tasks/",
        "/api/tasks/2/comments/",
        "/api/projects/2/activity/",
    ];
    for path in reads {
        let (status, body) = json(app.get_as("beta", &bob.access, path).send().await?).await?;
        assert_eq!((status, body["error"]["code"].as_str()), (404, Some("not_found")), "{path}: {body}");
        assert!(!body.to_string().contains("ALPHA"), "{path}");
    }
    let writes: [(Method, &str, Option<serde_json::Value>); 9] = [
        (Method::PATCH, "/api/projects/2/", Some(serde_json::json!({"name": "pwned"}))),
        (Method::PUT, "/api/projects/3/", Some(serde_json::json!({"name": "pwned"}))),
        (Method::DELETE, "/api/projects/2/", None),
        (Method::PATCH, "/api/tasks/2/", Some(serde_json::json!({"title": "pwned"}))),
        (Method::DELETE, "/api/tasks/3/", None),
        (Method::POST, "/api/projects/2/tasks/", Some(serde_json::json!({"title": "planted"}))),
        (Method::POST, "/api/tasks/2/comments/", Some(serde_json::json!({"body": "planted"}))),
        (Method::PATCH, "/api/comments/2/", Some(serde_json::json!({"body": "pwned"}))),
        (Method::DELETE, "/api/comments/3/", None),
    ];
    for (method, path, body) in writes {
        let (status, answer) = app.answer(method.clone(), "beta", &bob.access, path, body).await?;
        assert_eq!((status, answer["error"]["code"].as_str()), (404, Some("not_found")), "{method} {path}: {answer}");
        assert!(!answer.to_string().contains("ALPHA"), "{method} {path}: {answer}");
    }
    // B's shared id 1 changes B's row only
    let (status, _) = json(
        app.call_as(Method::PATCH, "beta", &bob.access, "/api/projects/1/")
            .json(&serde_json::json!({"name": "BETA renamed"}))
            .send()
            .await?,
    )
    .await?;
    assert_eq!(status, 200);
    // and A's token is worthless on B's host, whatever the id
    let (status, _) = json(app.get_as("beta", &ann.access, "/api/projects/1/").send().await?).await?;
    assert_eq!(status, 401);

    let after = snapshot(ann.clone()).await?;
    assert_eq!(before.len(), 13);
    for ((path, was), (_, is)) in before.iter().zip(&after) {
        assert_eq!(was, is, "tenant A's {path} changed");
        assert!(was.to_string().contains("ALPHA"), "{path}: {was}");
    }
    let (_, a1) = json(app.get_as("alpha", &ann.access, "/api/projects/1/").send().await?).await?;
    assert_eq!(a1["name"], "ALPHA project 0");
    let (_, b_log) = json(app.get_as("beta", &bob.access, "/api/activity/").send().await?).await?;
    assert!(!b_log.to_string().contains("ALPHA"));
    assert_eq!(b_log["count"], 5, "B's log: its 3 creates, 1 rename, and the owner's membership");
    Ok(())
}

/// A tenant deleted and created again under its slug has the same schema
/// name. A server that does not listen for changes (behind PgBouncer in
/// transaction mode) still holds the old tenant for its host and the old
/// owner's session as good, for `cache.tenant_ttl_secs`; the old owner's
/// token must then reach nothing of the new tenant's, for reading or
/// writing: every tenant transaction checks that its tenant still owns
/// its schema.
#[tokio::test]
async fn the_deleted_tenant_s_token_reaches_nothing_of_a_new_tenant_under_its_slug() -> TestResult {
    let app = taskforce_tests::spawn_app_with(|settings| {
        settings.cache.listen = false;
        settings.cache.tenant_ttl_secs = 3600;
        settings.cache.access_ttl_secs = 3600;
    })
    .await?;
    app.create_tenant("victim", Plan::Enterprise, false).await?;
    app.member("victim", "olga", Role::Owner).await?;
    let olga = app.login("victim", "olga").await?;
    // the server now holds victim's host and olga's session
    let (status, body) = json(app.get_as("victim", &olga.access, "/api/projects/").send().await?).await?;
    assert_eq!((status, &body["count"]), (200, &serde_json::json!(0)), "{body}");

    let (admin, slug) = (app.admin.clone(), taskforce_domain::Slug::parse("victim")?);
    tokio::task::spawn_blocking(move || admin.delete(&slug)).await??;
    app.create_tenant("victim", Plan::Enterprise, false).await?;
    let nina = app.member("victim", "nina", Role::Owner).await?;
    app.behind_the_server_s_back(format!(
        "INSERT INTO tenant_victim.projects (name, description, owner_id) VALUES ('Nina''s plans', 'the new tenant''s secret', {nina})"
    ))
    .await?;

    // the tenant check refuses it (404, as the host answers now); a cache that
    // has let go of the old tenant or session refuses the token itself (401):
    // either way nothing of the new tenant's comes back
    let gone = serde_json::json!({"error": {"code": "tenant_not_found", "message": "No tenant for hostname 'victim.localhost'"}});
    let refused = |status: u16, body: &serde_json::Value| {
        (status, body) == (404, &gone) || (status == 401 && body["error"]["code"] == "token_invalid")
    };
    let (status, body) = json(app.get_as("victim", &olga.access, "/api/projects/").send().await?).await?;
    assert!(refused(status, &body), "the old owner listed the new tenant's projects: {status} {body}");
    let (status, body) = json(app.get_as("victim", &olga.access, "/api/projects/1/").send().await?).await?;
    assert!(refused(status, &body), "{status} {body}");
    let writes = [
        (Method::PATCH, "/api/projects/1/", serde_json::json!({"name": "Overwritten"})),
        (Method::POST, "/api/projects/", serde_json::json!({"name": "Planted"})),
        (Method::POST, "/api/projects/1/tasks/", serde_json::json!({"title": "Planted"})),
    ];
    for (method, path, body) in writes {
        let (status, answer) = app.answer(method.clone(), "victim", &olga.access, path, Some(body)).await?;
        assert!(refused(status, &answer), "{method} {path}: {status} {answer}");
    }
    let rows: Vec<(String, String)> = app
        .on_the_database(|conn| {
            use diesel::prelude::*;
            diesel::sql_query("SELECT name, description FROM tenant_victim.projects")
                .load::<NameAndDescription>(conn)
                .map(|rows| rows.into_iter().map(|r| (r.name, r.description)).collect())
        })
        .await?;
    assert_eq!(rows, vec![("Nina's plans".to_owned(), "the new tenant's secret".to_owned())]);
    let tasks: i64 = app
        .on_the_database(|conn| {
            use diesel::prelude::*;
            diesel::select(diesel::dsl::sql::<diesel::sql_types::BigInt>("(SELECT count(*) FROM tenant_victim.tasks)"))
                .get_result(conn)
        })
        .await?;
    assert_eq!(tasks, 0);
    Ok(())
}

#[derive(diesel::QueryableByName)]
struct NameAndDescription {
    #[diesel(sql_type = diesel::sql_types::Text)]
    name: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    description: String,
}

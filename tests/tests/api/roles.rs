//! The role matrix of API.md §5, endpoint by endpoint.

use std::time::Duration;

use reqwest::Method;
use taskforce_domain::{Plan, Role};
use taskforce_tests::{Session, TestApp, TestResult, json, spawn_app};

struct World {
    app: TestApp,
    owner: Session,
    admin: Session,
    member: Session,
    other: Session,
    viewer: Session,
}

/// A tenant where `member` owns a project with a task it created (assigned
/// to `other`) and a comment it wrote.
async fn world() -> Result<(World, i64, i64, i64), Box<dyn std::error::Error>> {
    let app = spawn_app().await?;
    app.create_tenant("acme", Plan::Enterprise, false).await?;
    for (name, role) in [
        ("olga", Role::Owner),
        ("adam", Role::Admin),
        ("mia", Role::Member),
        ("otto", Role::Member),
        ("vic", Role::Viewer),
    ] {
        app.member("acme", name, role).await?;
    }
    let world = World {
        owner: app.login("acme", "olga").await?,
        admin: app.login("acme", "adam").await?,
        member: app.login("acme", "mia").await?,
        other: app.login("acme", "otto").await?,
        viewer: app.login("acme", "vic").await?,
        app,
    };
    let (_, project) = json(
        world
            .app
            .call_as(Method::POST, "acme", &world.member.access, "/api/projects/")
            .json(&serde_json::json!({"name": "Mia's"}))
            .send()
            .await?,
    )
    .await?;
    let pid = project["id"].as_i64().ok_or("project")?;
    let (_, task) = json(
        world
            .app
            .call_as(Method::POST, "acme", &world.member.access, &format!("/api/projects/{pid}/tasks/"))
            .json(&serde_json::json!({"title": "Mia's task", "assignee_id": world.other.user_id}))
            .send()
            .await?,
    )
    .await?;
    let tid = task["id"].as_i64().ok_or("task")?;
    let (_, comment) = json(
        world
            .app
            .call_as(Method::POST, "acme", &world.member.access, &format!("/api/tasks/{tid}/comments/"))
            .json(&serde_json::json!({"body": "Mia's note"}))
            .send()
            .await?,
    )
    .await?;
    let cid = comment["id"].as_i64().ok_or("comment")?;
    Ok((world, pid, tid, cid))
}

async fn status(
    app: &TestApp,
    who: &Session,
    method: Method,
    path: &str,
    body: Option<serde_json::Value>,
) -> Result<u16, Box<dyn std::error::Error>> {
    let (status, answer) = app.answer(method, "acme", &who.access, path, body).await?;
    if status == 403 {
        assert_eq!(answer["error"]["code"], "permission_denied");
    }
    Ok(status)
}

/// `path` as the owner reads it.
async fn read(w: &World, path: &str) -> Result<serde_json::Value, Box<dyn std::error::Error>> {
    let (status, body) = w.app.answer(Method::GET, "acme", &w.owner.access, path, None).await?;
    if status != 200 {
        return Err(format!("GET {path}: {status} {body}").into());
    }
    Ok(body)
}

#[tokio::test]
async fn reads_are_open_to_every_role_and_the_audit_log_to_admins() -> TestResult {
    let (w, pid, tid, _) = world().await?;
    let reads = [
        "/api/projects/".to_owned(),
        format!("/api/projects/{pid}/"),
        format!("/api/projects/{pid}/tasks/"),
        format!("/api/tasks/{tid}/"),
        format!("/api/tasks/{tid}/comments/"),
        format!("/api/projects/{pid}/activity/"),
        "/api/tenants/members/".to_owned(),
    ];
    for who in [&w.owner, &w.admin, &w.member, &w.other, &w.viewer] {
        for path in &reads {
            assert_eq!(status(&w.app, who, Method::GET, path, None).await?, 200, "{path}");
        }
    }
    for (who, expected) in [(&w.owner, 200), (&w.admin, 200), (&w.member, 403), (&w.viewer, 403)] {
        assert_eq!(status(&w.app, who, Method::GET, "/api/activity/", None).await?, expected);
    }
    Ok(())
}

#[tokio::test]
async fn creating_needs_more_than_viewer() -> TestResult {
    let (w, pid, tid, _) = world().await?;
    let creates = [
        ("/api/projects/".to_owned(), serde_json::json!({"name": "x"})),
        (format!("/api/projects/{pid}/tasks/"), serde_json::json!({"title": "x"})),
        (format!("/api/tasks/{tid}/comments/"), serde_json::json!({"body": "x"})),
    ];
    for (path, body) in &creates {
        assert_eq!(status(&w.app, &w.viewer, Method::POST, path, Some(body.clone())).await?, 403, "{path}");
        for who in [&w.owner, &w.admin, &w.other] {
            assert_eq!(status(&w.app, who, Method::POST, path, Some(body.clone())).await?, 201, "{path}");
        }
    }
    Ok(())
}

/// DRF's order for deletes too: a role that may never delete is refused
/// before the object is looked up (403 whether or not it exists), and a
/// role that may gets 404 for one that does not exist.
#[tokio::test]
async fn a_viewer_s_delete_is_refused_before_the_object_is_looked_up() -> TestResult {
    let (w, _, _, _) = world().await?;
    for path in ["/api/projects/999999/", "/api/tasks/999999/", "/api/comments/999999/"] {
        assert_eq!(status(&w.app, &w.viewer, Method::DELETE, path, None).await?, 403, "viewer {path}");
        let (code, body) = w.app.answer(Method::DELETE, "acme", &w.member.access, path, None).await?;
        assert_eq!((code, body["error"]["code"].as_str()), (404, Some("not_found")), "member {path}");
    }
    Ok(())
}

#[tokio::test]
async fn projects_change_by_their_owner_admins_and_owners_only() -> TestResult {
    let (w, pid, _, _) = world().await?;
    let path = format!("/api/projects/{pid}/");
    for who in [&w.other, &w.viewer] {
        assert_eq!(status(&w.app, who, Method::PATCH, &path, Some(serde_json::json!({"name": "no"}))).await?, 403);
        assert_eq!(status(&w.app, who, Method::PUT, &path, Some(serde_json::json!({"name": "no"}))).await?, 403);
        assert_eq!(status(&w.app, who, Method::DELETE, &path, None).await?, 403);
    }
    // the refusals changed nothing
    let project = read(&w, &path).await?;
    assert_eq!((project["name"].as_str(), project["description"].as_str()), (Some("Mia's"), Some("")), "{project}");
    for who in [&w.member, &w.admin, &w.owner] {
        assert_eq!(
            status(&w.app, who, Method::PATCH, &path, Some(serde_json::json!({"description": "yes"}))).await?,
            200
        );
    }
    assert_eq!(status(&w.app, &w.member, Method::DELETE, &path, None).await?, 204);
    Ok(())
}

#[tokio::test]
async fn tasks_change_by_creator_or_assignee_and_go_by_creator() -> TestResult {
    let (w, _, tid, _) = world().await?;
    let path = format!("/api/tasks/{tid}/");
    // `other` is the assignee: may update, may not delete
    assert_eq!(
        status(&w.app, &w.other, Method::PATCH, &path, Some(serde_json::json!({"status": "in_progress"}))).await?,
        200
    );
    assert_eq!(status(&w.app, &w.other, Method::DELETE, &path, None).await?, 403);
    assert_eq!(
        status(&w.app, &w.viewer, Method::PATCH, &path, Some(serde_json::json!({"status": "done"}))).await?,
        403
    );
    assert_eq!(read(&w, &path).await?["status"], "in_progress", "the viewer's refused change stayed out");
    // unassigned, `other` loses the right
    assert_eq!(
        status(&w.app, &w.member, Method::PATCH, &path, Some(serde_json::json!({"assignee_id": null}))).await?,
        200
    );
    assert_eq!(status(&w.app, &w.other, Method::PATCH, &path, Some(serde_json::json!({"status": "done"}))).await?, 403);
    for who in [&w.admin, &w.owner] {
        assert_eq!(
            status(&w.app, who, Method::PATCH, &path, Some(serde_json::json!({"priority": "high"}))).await?,
            200
        );
    }
    assert_eq!(status(&w.app, &w.member, Method::DELETE, &path, None).await?, 204);
    Ok(())
}

#[tokio::test]
async fn comments_are_edited_by_their_author_and_removed_by_author_admin_owner() -> TestResult {
    let (w, _, tid, cid) = world().await?;
    let path = format!("/api/comments/{cid}/");
    for who in [&w.owner, &w.admin, &w.other, &w.viewer] {
        assert_eq!(status(&w.app, who, Method::PATCH, &path, Some(serde_json::json!({"body": "edited"}))).await?, 403);
    }
    let comments = read(&w, &format!("/api/tasks/{tid}/comments/")).await?;
    assert_eq!(comments["results"][0]["body"], "Mia's note", "refused edits changed nothing: {comments}");
    assert_eq!(
        status(&w.app, &w.member, Method::PATCH, &path, Some(serde_json::json!({"body": "edited by me"}))).await?,
        200
    );
    for who in [&w.other, &w.viewer] {
        assert_eq!(status(&w.app, who, Method::DELETE, &path, None).await?, 403);
    }
    assert_eq!(status(&w.app, &w.admin, Method::DELETE, &path, None).await?, 204);
    let (_, again) = json(
        w.app
            .call_as(Method::POST, "acme", &w.member.access, &format!("/api/tasks/{tid}/comments/"))
            .json(&serde_json::json!({"body": "second"}))
            .send()
            .await?,
    )
    .await?;
    assert_eq!(status(&w.app, &w.owner, Method::DELETE, &format!("/api/comments/{}/", again["id"]), None).await?, 204);
    let (_, third) = json(
        w.app
            .call_as(Method::POST, "acme", &w.member.access, &format!("/api/tasks/{tid}/comments/"))
            .json(&serde_json::json!({"body": "third"}))
            .send()
            .await?,
    )
    .await?;
    assert_eq!(status(&w.app, &w.member, Method::DELETE, &format!("/api/comments/{}/", third["id"]), None).await?, 204);
    Ok(())
}

/// A role is judged when a request's headers arrive; a JSON body must then
/// arrive within `server.body_timeout_secs`, or the request is `408` and
/// does nothing. Otherwise a client sending its body a byte at a time would
/// keep its judgement past a removal or a demotion for as long as it liked.
#[tokio::test]
async fn a_body_that_does_not_arrive_in_time_is_408_and_changes_nothing() -> TestResult {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let app = taskforce_tests::spawn_app_with(|settings| settings.server.body_timeout_secs = 1).await?;
    app.create_tenant("acme", Plan::Basic, false).await?;
    app.member("acme", "olga", Role::Owner).await?;
    let olga = app.login("acme", "olga").await?;
    let (status, project) = app
        .answer(Method::POST, "acme", &olga.access, "/api/projects/", Some(serde_json::json!({"name": "P"})))
        .await?;
    assert_eq!(status, 201, "{project}");
    let path = format!("/api/projects/{}/", project["id"]);

    let body = br#"{"name": "Renamed"}"#;
    let head = format!(
        "PATCH {path} HTTP/1.1\r\nHost: acme.localhost\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        olga.access,
        body.len()
    );
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", app.port)).await?;
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(&body[..10]).await?;
    // the rest never comes; the server answers (a deadline for the read,
    // not a speed claim)
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(20), async {
        let mut chunk = [0_u8; 4096];
        loop {
            let n = stream.read(&mut chunk).await?;
            answer.extend_from_slice(&chunk[..n]);
            if n == 0 || String::from_utf8_lossy(&answer).contains("request_timeout") {
                return Ok::<_, std::io::Error>(());
            }
        }
    })
    .await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(read.is_ok(), "no answer: {answer}");
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains(r#""code":"request_timeout""#), "{answer}");

    // a chunked body cut off likewise; the connection is then closed, and
    // what the client sends after the answer is not read as requests
    let head = format!(
        "PATCH {path} HTTP/1.1\r\nHost: acme.localhost\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{{\"nam\r\n",
        olga.access
    );
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", app.port)).await?;
    stream.write_all(head.as_bytes()).await?;
    let mut answer = Vec::new();
    let mut chunk = [0_u8; 4096];
    let timed_out = tokio::time::timeout(Duration::from_secs(20), async {
        while !String::from_utf8_lossy(&answer).contains("request_timeout") {
            let n = stream.read(&mut chunk).await?;
            if n == 0 {
                break;
            }
            answer.extend_from_slice(&chunk[..n]);
        }
        Ok::<_, std::io::Error>(())
    })
    .await;
    assert!(timed_out.is_ok() && String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 408"), "{answer:?}");
    let smuggled = format!(
        "e\r\ne\":\"smuggled\"}}\r\n0\r\n\r\nPATCH {path} HTTP/1.1\r\nHost: acme.localhost\r\n\
         Authorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: 20\r\n\r\n{{\"name\": \"Smuggled\"}}",
        olga.access
    );
    // the server may have closed already: a refused write is the point
    let _ = stream.write_all(smuggled.as_bytes()).await;
    let mut after = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => after.extend_from_slice(&chunk[..n]),
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "the connection stayed open after its 408");
    let after = String::from_utf8_lossy(&after);
    assert!(!after.contains("HTTP/1.1"), "a request after the 408 was answered: {after}");

    let (_, unchanged) = json(app.get_as("acme", &olga.access, &path).send().await?).await?;
    assert_eq!(unchanged["name"], "P", "{unchanged}");
    // a body that arrives in time is read as ever
    let (status, renamed) =
        app.answer(Method::PATCH, "acme", &olga.access, &path, Some(serde_json::json!({"name": "Renamed"}))).await?;
    assert_eq!((status, renamed["name"].as_str()), (200, Some("Renamed")), "{renamed}");
    Ok(())
}

//! Notifications: who is told of what, never of their own action; the
//! list; the live stream across instances, with tickets, heartbeats and
//! resumption.

use std::time::{Duration, Instant};

use reqwest::Method;
use taskforce_domain::{Plan, Role};
use taskforce_tests::{Session, TestApp, TestRedis, TestResult, json, spawn_app, spawn_app_with};

async fn notifications_of(app: &TestApp, who: &Session) -> Result<Vec<serde_json::Value>, Box<dyn std::error::Error>> {
    let (status, body) = json(app.get_as("acme", &who.access, "/api/notifications/").send().await?).await?;
    assert_eq!(status, 200, "{body}");
    Ok(body["results"].as_array().cloned().unwrap_or_default())
}

fn kinds(list: &[serde_json::Value]) -> Vec<&str> {
    list.iter().filter_map(|n| n["kind"].as_str()).collect()
}

async fn post(
    app: &TestApp,
    who: &Session,
    path: &str,
    body: serde_json::Value,
) -> Result<serde_json::Value, Box<dyn std::error::Error>> {
    let (status, answer) = json(app.call_as(Method::POST, "acme", &who.access, path).json(&body).send().await?).await?;
    assert!(status == 201 || status == 200, "{path}: {status} {answer}");
    Ok(answer)
}

async fn patch(
    app: &TestApp,
    who: &Session,
    path: &str,
    body: serde_json::Value,
) -> Result<serde_json::Value, Box<dyn std::error::Error>> {
    let (status, answer) =
        json(app.call_as(Method::PATCH, "acme", &who.access, path).json(&body).send().await?).await?;
    assert_eq!(status, 200, "{path}: {answer}");
    Ok(answer)
}

#[tokio::test]
async fn members_are_told_of_others_actions_and_never_of_their_own() -> TestResult {
    let app = spawn_app().await?;
    app.create_tenant("acme", Plan::Enterprise, false).await?;
    app.create_tenant("other", Plan::Enterprise, false).await?;
    app.member("acme", "olga", Role::Owner).await?;
    app.member("acme", "mia", Role::Member).await?;
    app.member("acme", "max", Role::Member).await?;
    app.member("other", "stranger", Role::Member).await?;
    let (olga, mia, max) =
        (app.login("acme", "olga").await?, app.login("acme", "mia").await?, app.login("acme", "max").await?);
    let project = post(&app, &olga, "/api/projects/", serde_json::json!({"name": "P"})).await?;
    // olga assigns herself: nobody is told
    let own = post(
        &app,
        &olga,
        &format!("/api/projects/{}/tasks/", project["id"]),
        serde_json::json!({"title": "Mine", "assignee_id": olga.user_id}),
    )
    .await?;
    assert!(notifications_of(&app, &olga).await?.is_empty());
    // olga creates a task assigned to mia and mentions max and a stranger of another tenant
    let task = post(
        &app,
        &olga,
        &format!("/api/projects/{}/tasks/", project["id"]),
        serde_json::json!({
        "title": "Brief", "assignee_id": mia.user_id, "description": "cc @max and @stranger and @olga"}),
    )
    .await?;
    let mia_list = notifications_of(&app, &mia).await?;
    assert_eq!(kinds(&mia_list), vec!["task_assigned"]);
    assert_eq!(
        (mia_list[0]["actor_id"].as_i64(), mia_list[0]["target_id"].as_i64()),
        (Some(olga.user_id), task["id"].as_i64())
    );
    assert!(mia_list[0]["message"].as_str().is_some_and(|m| m.contains("olga") && m.contains("Brief")), "{mia_list:?}");
    assert_eq!(kinds(&notifications_of(&app, &max).await?), vec!["mentioned"]);
    assert!(notifications_of(&app, &olga).await?.is_empty(), "no mention of oneself");
    // mia moves it: the creator (olga) hears, mia does not
    patch(&app, &mia, &format!("/api/tasks/{}/", task["id"]), serde_json::json!({"status": "in_progress"})).await?;
    assert_eq!(kinds(&notifications_of(&app, &olga).await?), vec!["task_status_changed"]);
    assert_eq!(kinds(&notifications_of(&app, &mia).await?), vec!["task_assigned"]);
    // max comments: creator and assignee hear; a mention of a non-member notifies nobody
    post(&app, &max, &format!("/api/tasks/{}/comments/", task["id"]), serde_json::json!({"body": "done soon, @ghost"}))
        .await?;
    assert_eq!(kinds(&notifications_of(&app, &olga).await?), vec!["comment_added", "task_status_changed"]);
    assert_eq!(kinds(&notifications_of(&app, &mia).await?), vec!["comment_added", "task_assigned"]);
    assert_eq!(kinds(&notifications_of(&app, &max).await?), vec!["mentioned"]);
    // olga comments on her own task mentioning mia: mia is mentioned (once), olga nothing
    post(&app, &olga, &format!("/api/tasks/{}/comments/", own["id"]), serde_json::json!({"body": "@mia please look"}))
        .await?;
    assert_eq!(kinds(&notifications_of(&app, &mia).await?), vec!["mentioned", "comment_added", "task_assigned"]);
    assert_eq!(notifications_of(&app, &olga).await?.len(), 2);

    // unread, read one, read all
    let (_, unread) = json(app.get_as("acme", &mia.access, "/api/notifications/?unread=true").send().await?).await?;
    assert_eq!(unread["count"], 3);
    let first = unread["results"][0]["id"].as_i64().ok_or("id")?;
    let (status, read) = json(
        app.call_as(Method::POST, "acme", &mia.access, &format!("/api/notifications/{first}/read/")).send().await?,
    )
    .await?;
    assert_eq!((status, read["read_at"].is_string()), (200, true));
    let (status, _) = json(
        app.call_as(Method::POST, "acme", &olga.access, &format!("/api/notifications/{first}/read/")).send().await?,
    )
    .await?;
    assert_eq!(status, 404, "another member's notification is unknown");
    let (_, unread) = json(app.get_as("acme", &mia.access, "/api/notifications/?unread=true").send().await?).await?;
    assert_eq!(unread["count"], 2);
    let all = app.call_as(Method::POST, "acme", &mia.access, "/api/notifications/read-all/").send().await?;
    assert_eq!(all.status().as_u16(), 204);
    let (_, unread) = json(app.get_as("acme", &mia.access, "/api/notifications/?unread=true").send().await?).await?;
    assert_eq!(unread["count"], 0);
    Ok(())
}

#[tokio::test]
async fn accepting_an_invitation_tells_the_inviter() -> TestResult {
    let app = spawn_app().await?;
    app.create_tenant("acme", Plan::Basic, false).await?;
    app.member("acme", "olga", Role::Owner).await?;
    let olga = app.login("acme", "olga").await?;
    let invitation =
        post(&app, &olga, "/api/tenants/members/", serde_json::json!({"email": "neo@example.com", "role": "member"}))
            .await?;
    let register = serde_json::json!({"username": "neo", "email": "neo@example.com", "password": "Sturdy-passphrase-42",
        "password_confirm": "Sturdy-passphrase-42", "invitation_token": invitation["token"]});
    let (status, _) = json(app.post("acme.localhost", "/api/auth/register/").json(&register).send().await?).await?;
    assert_eq!(status, 201);
    let list = notifications_of(&app, &olga).await?;
    assert_eq!(kinds(&list), vec!["invitation_accepted"]);
    assert!(list[0]["message"].as_str().is_some_and(|m| m.contains("neo")));
    Ok(())
}

/// Reads server-sent events from a response until `until` says stop or the
/// deadline passes; returns (event name, id, data) triples and comment lines.
struct Events {
    response: reqwest::Response,
    buffer: String,
    /// The server ended the stream (as opposed to a deadline passing).
    ended: bool,
}

impl Events {
    async fn next(
        &mut self,
        deadline: Instant,
    ) -> Result<Option<(String, String, String)>, Box<dyn std::error::Error>> {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let (mut event, mut id, mut data) = (String::new(), String::new(), String::new());
                for line in block.lines() {
                    if let Some(comment) = line.strip_prefix(':') {
                        event = "comment".into();
                        data = comment.trim().to_owned();
                    } else if let Some(v) = line.strip_prefix("event: ") {
                        event = v.to_owned();
                    } else if let Some(v) = line.strip_prefix("id: ") {
                        id = v.to_owned();
                    } else if let Some(v) = line.strip_prefix("data: ") {
                        data = v.to_owned();
                    }
                }
                return Ok(Some((event, id, data)));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, self.response.chunk()).await {
                Ok(Ok(Some(chunk))) => self.buffer.push_str(&String::from_utf8_lossy(&chunk)),
                Ok(Ok(None)) => {
                    self.ended = true;
                    return Ok(None);
                }
                Err(_) => return Ok(None),
                Ok(Err(error)) => return Err(error.into()),
            }
        }
    }

    /// The next notification event, skipping comments.
    async fn notification(
        &mut self,
        within: Duration,
    ) -> Result<Option<(i64, serde_json::Value)>, Box<dyn std::error::Error>> {
        let deadline = Instant::now() + within;
        while let Some((event, id, data)) = self.next(deadline).await? {
            if event == "notification" {
                return Ok(Some((id.parse()?, serde_json::from_str(&data)?)));
            }
        }
        Ok(None)
    }
}

async fn open(app: &TestApp, who: &Session, last_event_id: Option<i64>) -> Result<Events, Box<dyn std::error::Error>> {
    let mut request = app.get_as("acme", &who.access, "/api/notifications/stream/");
    if let Some(id) = last_event_id {
        request = request.header("Last-Event-ID", id.to_string());
    }
    let response = request.send().await?;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.headers().get("content-type").and_then(|v| v.to_str().ok()), Some("text/event-stream"));
    let mut events = Events { response, buffer: String::new(), ended: false };
    // the stream announces itself once it is subscribed
    let opened = events.next(Instant::now() + Duration::from_secs(5)).await?;
    assert_eq!(opened.map(|e| e.0), Some("comment".to_owned()));
    Ok(events)
}

#[tokio::test]
async fn a_stream_on_one_instance_receives_what_another_instance_caused() -> TestResult {
    let Some(redis) = TestRedis::start()? else {
        return Ok(());
    };
    let url = redis.url();
    let one = spawn_app_with(|settings| settings.redis.url = url.into()).await?;
    let two = one.twin().await?;
    one.create_tenant("acme", Plan::Enterprise, false).await?;
    one.member("acme", "olga", Role::Owner).await?;
    one.member("acme", "mia", Role::Member).await?;
    let (olga, mia) = (one.login("acme", "olga").await?, one.login("acme", "mia").await?);
    let project = post(&one, &olga, "/api/projects/", serde_json::json!({"name": "P"})).await?;
    let mut stream = open(&two, &mia, None).await?;
    let task = post(
        &one,
        &olga,
        &format!("/api/projects/{}/tasks/", project["id"]),
        serde_json::json!({"title": "Live", "assignee_id": mia.user_id}),
    )
    .await?;
    // a deadline for a wait, not a speed claim (the delivery time is measured in `bench notify`)
    let (id, event) = stream.notification(Duration::from_secs(10)).await?.ok_or("no event within 10 s")?;
    assert_eq!((event["kind"].as_str(), event["target_id"].as_i64()), (Some("task_assigned"), task["id"].as_i64()));
    assert_eq!(event["id"].as_i64(), Some(id));
    // olga's own action reaches nobody's stream: nothing more arrives for mia
    post(&one, &olga, &format!("/api/projects/{}/tasks/", project["id"]), serde_json::json!({"title": "Quiet"}))
        .await?;
    assert!(stream.notification(Duration::from_millis(500)).await?.is_none());
    drop(redis);
    Ok(())
}

#[tokio::test]
async fn a_reconnecting_stream_resumes_after_its_last_event_and_tickets_open_it_once() -> TestResult {
    let app = spawn_app_with(|settings| settings.server.sse_heartbeat_secs = 1).await?;
    app.create_tenant("acme", Plan::Enterprise, false).await?;
    app.member("acme", "olga", Role::Owner).await?;
    app.member("acme", "mia", Role::Member).await?;
    let (olga, mia) = (app.login("acme", "olga").await?, app.login("acme", "mia").await?);
    let project = post(&app, &olga, "/api/projects/", serde_json::json!({"name": "P"})).await?;
    let tasks = format!("/api/projects/{}/tasks/", project["id"]);
    let mut stream = open(&app, &mia, None).await?;
    post(&app, &olga, &tasks, serde_json::json!({"title": "one", "assignee_id": mia.user_id})).await?;
    let (first, _) = stream.notification(Duration::from_secs(2)).await?.ok_or("first")?;
    // idle: heartbeats keep coming
    let heartbeat = stream.next(Instant::now() + Duration::from_secs(3)).await?;
    assert_eq!(heartbeat.map(|e| (e.0, e.2)), Some(("comment".to_owned(), "keep-alive".to_owned())));
    drop(stream);
    // while disconnected, two more
    post(&app, &olga, &tasks, serde_json::json!({"title": "two", "assignee_id": mia.user_id})).await?;
    post(&app, &olga, &tasks, serde_json::json!({"title": "three", "assignee_id": mia.user_id})).await?;
    let mut resumed = open(&app, &mia, Some(first)).await?;
    let (second, a) = resumed.notification(Duration::from_secs(2)).await?.ok_or("second")?;
    let (third, b) = resumed.notification(Duration::from_secs(2)).await?.ok_or("third")?;
    assert!(first < second && second < third);
    assert!(
        a["message"].as_str().is_some_and(|m| m.contains("two"))
            && b["message"].as_str().is_some_and(|m| m.contains("three"))
    );
    drop(resumed);

    // a browser's EventSource: a single-use ticket instead of the header
    let (status, ticket) =
        json(app.call_as(Method::POST, "acme", &mia.access, "/api/notifications/ticket/").send().await?).await?;
    assert_eq!(status, 200);
    let url = format!("/api/notifications/stream/?ticket={}", ticket["ticket"].as_str().ok_or("ticket")?);
    let response = app.get("acme.localhost", &url).send().await?;
    assert_eq!(response.status().as_u16(), 200);
    let mut with_ticket = Events { response, buffer: String::new(), ended: false };
    with_ticket.next(Instant::now() + Duration::from_secs(2)).await?;
    post(&app, &olga, &tasks, serde_json::json!({"title": "four", "assignee_id": mia.user_id})).await?;
    assert!(with_ticket.notification(Duration::from_secs(2)).await?.is_some());
    drop(with_ticket);
    let (status, body) = json(app.get("acme.localhost", &url).send().await?).await?;
    assert_eq!((status, body["error"]["code"].as_str()), (401, Some("token_invalid")), "a ticket works once");
    let (status, _) = json(app.get("acme.localhost", "/api/notifications/stream/?ticket=forged").send().await?).await?;
    assert_eq!(status, 401);
    let (status, _) = json(app.get("acme.localhost", "/api/notifications/stream/").send().await?).await?;
    assert_eq!(status, 401);
    Ok(())
}

#[tokio::test]
async fn an_open_stream_ends_when_its_session_ends_or_its_member_is_removed() -> TestResult {
    let app = spawn_app_with(|settings| settings.server.sse_heartbeat_secs = 1).await?;
    app.create_tenant("acme", Plan::Enterprise, false).await?;
    app.member("acme", "olga", Role::Owner).await?;
    app.member("acme", "mia", Role::Member).await?;
    app.member("acme", "max", Role::Member).await?;
    let (olga, mia, max) =
        (app.login("acme", "olga").await?, app.login("acme", "mia").await?, app.login("acme", "max").await?);
    let project = post(&app, &olga, "/api/projects/", serde_json::json!({"name": "P"})).await?;
    let tasks = format!("/api/projects/{}/tasks/", project["id"]);
    let mut mias = open(&app, &mia, None).await?;
    let mut maxs = open(&app, &max, None).await?;

    // mia logs out: her stream closes by the next heartbeat, without her
    // notification; max is removed: his closes too
    let logout = app
        .post("acme.localhost", "/api/auth/logout/")
        .bearer_auth(&mia.access)
        .json(&serde_json::json!({"refresh": mia.refresh}))
        .send()
        .await?;
    assert_eq!(logout.status().as_u16(), 204);
    let (_, members) = json(app.get_as("acme", &olga.access, "/api/tenants/members/").send().await?).await?;
    let max_membership = members["results"]
        .as_array()
        .and_then(|r| r.iter().find(|m| m["username"] == "max"))
        .and_then(|m| m["id"].as_i64())
        .ok_or("max")?;
    let removed = app
        .call_as(Method::DELETE, "acme", &olga.access, &format!("/api/tenants/members/{max_membership}/"))
        .send()
        .await?;
    assert_eq!(removed.status().as_u16(), 204);
    post(&app, &olga, &tasks, serde_json::json!({"title": "after", "assignee_id": mia.user_id})).await?;

    for stream in [&mut mias, &mut maxs] {
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut events = Vec::new();
        while let Some(event) = stream.next(deadline).await? {
            events.push(event);
        }
        // the server ended it, delivering nothing; the deadline passing is a failure
        assert!(stream.ended, "the stream stayed open: {events:?}");
        assert!(events.iter().all(|(kind, _, _)| kind != "notification"), "{events:?}");
    }
    let ended = app.get_as("acme", &mia.access, "/api/notifications/stream/").send().await?;
    assert_eq!(ended.status().as_u16(), 401);
    Ok(())
}

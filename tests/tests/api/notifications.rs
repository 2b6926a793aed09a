//! Notifications: who is told of what, never of their own action; the
//! list; the live stream across instances, with tickets, heartbeats and
//! resumption.

use std::time::{Duration, Instant};

use reqwest::Method;
use taskforce_domain::{Plan, Role};
use taskforce_tests::{Session, TestApp, TestRedis, TestResult, json, spawn_app, spawn_app_with};

async fn notifications_of(app: &TestApp, who: &Session) -> Result<Vec<serde_json::Value>, Box<dyn std::error::Error>> {
    notifications_on(app, "acme", who).await
}

/// The caller's notifications on `<slug>.localhost`, newest first; a list
/// without `results` is an error, not an empty list.
async fn notifications_on(
    app: &TestApp,
    slug: &str,
    who: &Session,
) -> Result<Vec<serde_json::Value>, Box<dyn std::error::Error>> {
    let (status, body) = json(app.get_as(slug, &who.access, "/api/notifications/").send().await?).await?;
    assert_eq!(status, 200, "{body}");
    Ok(body["results"].as_array().cloned().ok_or_else(|| format!("no results in {body}"))?)
}

/// `POST /api/notifications/{id}/read/` on `<slug>.localhost`: its status,
/// and whether it had a body.
async fn mark_read(
    app: &TestApp,
    slug: &str,
    who: &Session,
    id: i64,
) -> Result<(u16, serde_json::Value), Box<dyn std::error::Error>> {
    json(app.call_as(Method::POST, slug, &who.access, &format!("/api/notifications/{id}/read/")).send().await?).await
}

/// How many notifications for `recipient` the tenant's schema holds, read
/// behind the API.
async fn stored_for(app: &TestApp, slug: &str, recipient: i64) -> Result<i64, Box<dyn std::error::Error>> {
    use diesel::{RunQueryDsl, dsl::sql, sql_types::BigInt};
    app.in_tenant(slug, move |conn| {
        diesel::select(sql::<BigInt>(&format!("(SELECT count(*) FROM notifications WHERE recipient_id = {recipient})")))
            .get_result::<i64>(conn)
    })
    .await
}

/// The `read_at` of one of the list's notifications.
fn read_at(list: &[serde_json::Value], id: i64) -> Result<serde_json::Value, Box<dyn std::error::Error>> {
    Ok(list
        .iter()
        .find(|n| n["id"] == id)
        .map(|n| n["read_at"].clone())
        .ok_or_else(|| format!("no {id} in {list:?}"))?)
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
    post_on(app, "acme", who, path, body).await
}

async fn post_on(
    app: &TestApp,
    slug: &str,
    who: &Session,
    path: &str,
    body: serde_json::Value,
) -> Result<serde_json::Value, Box<dyn std::error::Error>> {
    let (status, answer) = json(app.call_as(Method::POST, slug, &who.access, path).json(&body).send().await?).await?;
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
    let [olga, mia, max] =
        app.signed_in("acme", [("olga", Role::Owner), ("mia", Role::Member), ("max", Role::Member)]).await?;
    app.member("other", "stranger", Role::Member).await?;
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
    // the stranger, a member of another tenant only, was told nothing: not
    // on their own tenant, and no row for them in acme's schema either
    let stranger = app.login("other", "stranger").await?;
    assert!(notifications_on(&app, "other", &stranger).await?.is_empty());
    assert_eq!(stored_for(&app, "acme", stranger.user_id).await?, 0);
    assert_eq!(stored_for(&app, "acme", max.user_id).await?, 1, "the count sees what was written");
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
    let unread_of = |who: &Session| {
        let request = app.get_as("acme", &who.access, "/api/notifications/?unread=true").send();
        async move {
            let (status, body) = json(request.await?).await?;
            assert_eq!(status, 200, "{body}");
            Ok::<_, Box<dyn std::error::Error>>(body)
        }
    };
    let unread = unread_of(&mia).await?;
    assert_eq!(unread["count"], 3);
    let first = unread["results"][0]["id"].as_i64().ok_or("id")?;
    let second = unread["results"][1]["id"].as_i64().ok_or("id")?;
    // olga aims at one of mia's unread notifications: unknown to her, and it stays unread
    let (status, body) = mark_read(&app, "acme", &olga, second).await?;
    assert_eq!((status, body["error"]["code"].as_str()), (404, Some("not_found")), "{body}");
    assert_eq!(unread_of(&mia).await?["count"], 3, "another member's read marked nothing");
    assert_eq!(read_at(&notifications_of(&app, &mia).await?, second)?, serde_json::Value::Null);
    // mia reads her first: 204 without a body, and the list shows it read
    assert_eq!(mark_read(&app, "acme", &mia, first).await?, (204, serde_json::Value::Null));
    let list = notifications_of(&app, &mia).await?;
    let first_read_at = read_at(&list, first)?;
    assert!(first_read_at.is_string(), "{list:?}");
    assert_eq!(read_at(&list, second)?, serde_json::Value::Null);
    let unread = unread_of(&mia).await?;
    assert_eq!(unread["count"], 2);
    assert!(unread["results"].as_array().ok_or("results")?.iter().all(|n| n["id"] != first), "{unread}");
    // reading it again, and reading all, keep its first read_at
    assert_eq!(mark_read(&app, "acme", &mia, first).await?.0, 204);
    assert_eq!(read_at(&notifications_of(&app, &mia).await?, first)?, first_read_at);
    let all = app.call_as(Method::POST, "acme", &mia.access, "/api/notifications/read-all/").send().await?;
    assert_eq!(all.status().as_u16(), 204);
    assert_eq!(unread_of(&mia).await?["count"], 0);
    let list = notifications_of(&app, &mia).await?;
    assert_eq!(read_at(&list, first)?, first_read_at, "read-all keeps the first read_at");
    assert!(list.iter().all(|n| n["read_at"].is_string()), "{list:?}");
    // olga's own notifications were not touched by mia's read-all
    assert!(notifications_of(&app, &olga).await?.iter().all(|n| n["read_at"].is_null()));
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

/// Notification ids are per tenant schema: mia, a member of both tenants,
/// has notification 1 in each, with different contents, and 2 in beta only.
/// Each host lists only its own, and reading an id on alpha never marks
/// beta's row of that id.
#[tokio::test]
async fn the_same_notification_ids_in_two_tenants_never_cross() -> TestResult {
    let app = spawn_app().await?;
    app.create_tenant("alpha", Plan::Enterprise, false).await?;
    app.create_tenant("beta", Plan::Enterprise, false).await?;
    app.member("alpha", "ann", Role::Owner).await?;
    app.member("beta", "bob", Role::Owner).await?;
    let mia = app.create_user("mia").await?;
    app.add_member("alpha", "mia", Role::Member).await?;
    app.add_member("beta", "mia", Role::Member).await?;
    let (ann, bob) = (app.login("alpha", "ann").await?, app.login("beta", "bob").await?);
    let (mia_a, mia_b) = (app.login("alpha", "mia").await?, app.login("beta", "mia").await?);
    for (slug, owner, titles) in [("alpha", &ann, &["ALPHA secret"][..]), ("beta", &bob, &["BETA one", "BETA two"][..])]
    {
        let project = post_on(&app, slug, owner, "/api/projects/", serde_json::json!({"name": "P"})).await?;
        for title in titles {
            let task = serde_json::json!({"title": title, "assignee_id": mia});
            post_on(&app, slug, owner, &format!("/api/projects/{}/tasks/", project["id"]), task).await?;
        }
    }
    let ids = |list: &[serde_json::Value]| list.iter().filter_map(|n| n["id"].as_i64()).collect::<Vec<_>>();
    let on_alpha = notifications_on(&app, "alpha", &mia_a).await?;
    let on_beta = notifications_on(&app, "beta", &mia_b).await?;
    let shared = *ids(&on_alpha).first().ok_or("alpha lists nothing")?;
    let beta_only = *ids(&on_beta).first().ok_or("beta lists nothing")?;
    assert_eq!((ids(&on_alpha), ids(&on_beta)), (vec![shared], vec![beta_only, shared]), "the same ids in both");
    assert!(on_alpha[0]["message"].as_str().is_some_and(|m| m.contains("ALPHA secret")), "{on_alpha:?}");
    assert!(!format!("{on_alpha:?}").contains("BETA"), "{on_alpha:?}");
    assert!(on_beta.iter().all(|n| n["message"].as_str().is_some_and(|m| m.contains("BETA"))), "{on_beta:?}");
    assert!(!format!("{on_beta:?}").contains("ALPHA"), "{on_beta:?}");

    // an id that exists only in beta is unknown on alpha, and stays unread in beta
    let (status, body) = mark_read(&app, "alpha", &mia_a, beta_only).await?;
    assert_eq!((status, body["error"]["code"].as_str()), (404, Some("not_found")), "{body}");
    // reading the shared id on alpha marks alpha's row only
    assert_eq!(mark_read(&app, "alpha", &mia_a, shared).await?.0, 204);
    assert!(read_at(&notifications_on(&app, "alpha", &mia_a).await?, shared)?.is_string());
    let on_beta = notifications_on(&app, "beta", &mia_b).await?;
    assert!(on_beta.iter().all(|n| n["read_at"].is_null()), "beta's rows were marked: {on_beta:?}");
    // and so does reading all on alpha
    let all = app.call_as(Method::POST, "alpha", &mia_a.access, "/api/notifications/read-all/").send().await?;
    assert_eq!(all.status().as_u16(), 204);
    let (_, unread) = json(app.get_as("beta", &mia_b.access, "/api/notifications/?unread=true").send().await?).await?;
    assert_eq!(unread["count"], 2, "{unread}");
    // an empty ?unread= is no filter: alpha's read notification is listed too
    let (_, every) = json(app.get_as("alpha", &mia_a.access, "/api/notifications/?unread=").send().await?).await?;
    let (_, unread) = json(app.get_as("alpha", &mia_a.access, "/api/notifications/?unread=1").send().await?).await?;
    assert_eq!((every["count"].as_u64(), unread["count"].as_u64()), (Some(1), Some(0)), "{every}");
    // a filter that cannot be read is judged before the page, as DRF filters first
    let (status, body) =
        json(app.get_as("alpha", &mia_a.access, "/api/notifications/?page=0&unread=maybe").send().await?).await?;
    assert_eq!((status, body["error"]["fields"]["unread"][0].is_string()), (400, true), "{body}");
    // alpha's owner holds no notification at all, whatever the id
    let (status, body) = mark_read(&app, "alpha", &ann, shared).await?;
    assert_eq!((status, body["error"]["code"].as_str()), (404, Some("not_found")), "{body}");
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
    opened(request.send().await?).await
}

/// The stream of a `200` answer, once it announced itself.
async fn opened(response: reqwest::Response) -> Result<Events, Box<dyn std::error::Error>> {
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.headers().get("content-type").and_then(|v| v.to_str().ok()), Some("text/event-stream"));
    let mut events = Events { response, buffer: String::new(), ended: false };
    // the stream announces itself once it is subscribed
    let opened = events.next(Instant::now() + Duration::from_secs(5)).await?;
    assert_eq!(opened.map(|e| e.0), Some("comment".to_owned()));
    Ok(events)
}

/// A member of two tenants with a stream open on each hears on each only
/// that tenant's notifications, although the same user id is behind both;
/// a ticket opens only the stream of the tenant that issued it.
#[tokio::test]
async fn a_member_of_two_tenants_hears_each_tenant_on_its_own_stream() -> TestResult {
    let app = spawn_app().await?;
    app.create_tenant("alpha", Plan::Enterprise, false).await?;
    app.create_tenant("beta", Plan::Enterprise, false).await?;
    let [ann] = app.signed_in("alpha", [("ann", Role::Owner)]).await?;
    let [bob] = app.signed_in("beta", [("bob", Role::Owner)]).await?;
    let mia = app.create_user("mia").await?;
    app.add_member("alpha", "mia", Role::Member).await?;
    app.add_member("beta", "mia", Role::Member).await?;
    let (mia_a, mia_b) = (app.login("alpha", "mia").await?, app.login("beta", "mia").await?);
    let ticket = |slug: &'static str, who: &Session| {
        let request = app.call_as(Method::POST, slug, &who.access, "/api/notifications/ticket/").send();
        async move {
            let (status, body) = json(request.await?).await?;
            match (status, body["ticket"].as_str()) {
                (200, Some(ticket)) => Ok::<_, Box<dyn std::error::Error>>(ticket.to_owned()),
                _ => Err(format!("ticket: {status} {body}").into()),
            }
        }
    };
    // beta's ticket is worth nothing on alpha's host
    let from_beta = ticket("beta", &mia_b).await?;
    let path = |ticket: &str| format!("/api/notifications/stream/?ticket={ticket}");
    let (status, body) = json(app.get("alpha.localhost", &path(&from_beta)).send().await?).await?;
    assert_eq!((status, body["error"]["code"].as_str()), (401, Some("token_invalid")), "{body}");

    let mut on_alpha = opened(app.get_as("alpha", &mia_a.access, "/api/notifications/stream/").send().await?).await?;
    let from_beta = ticket("beta", &mia_b).await?;
    let mut on_beta = opened(app.get("beta.localhost", &path(&from_beta)).send().await?).await?;
    let (app, ann, bob) = (&app, &ann, &bob);
    let task = |slug: &'static str, owner: &'static str, project: i64, title: &'static str| async move {
        let owner = if owner == "ann" { ann } else { bob };
        let body = serde_json::json!({"title": title, "assignee_id": mia});
        post_on(app, slug, owner, &format!("/api/projects/{project}/tasks/"), body).await
    };
    let alpha_project = post_on(app, "alpha", ann, "/api/projects/", serde_json::json!({"name": "A"})).await?;
    let beta_project = post_on(app, "beta", bob, "/api/projects/", serde_json::json!({"name": "B"})).await?;
    let (alpha_project, beta_project) =
        (alpha_project["id"].as_i64().ok_or("alpha project")?, beta_project["id"].as_i64().ok_or("beta project")?);
    // beta first: a leak into alpha's stream would come before alpha's own
    task("beta", "bob", beta_project, "BETA secret").await?;
    task("alpha", "ann", alpha_project, "ALPHA news").await?;
    task("beta", "bob", beta_project, "BETA more").await?;
    task("alpha", "ann", alpha_project, "ALPHA last").await?;
    // deadlines for a wait, not a speed claim
    let message =
        |event: Option<(i64, serde_json::Value)>| event.and_then(|(_, e)| e["message"].as_str().map(str::to_owned));
    // alpha's stream up to its last event, everything between included
    let mut on_alpha_heard: Vec<String> = Vec::new();
    while !on_alpha_heard.last().is_some_and(|m| m.contains("ALPHA last")) {
        let heard = message(on_alpha.notification(Duration::from_secs(10)).await?);
        on_alpha_heard.push(heard.ok_or_else(|| format!("alpha's stream went quiet after {on_alpha_heard:?}"))?);
    }
    assert_eq!(on_alpha_heard.len(), 2, "{on_alpha_heard:?}");
    assert!(on_alpha_heard[0].contains("ALPHA news"), "{on_alpha_heard:?}");
    let beta_first = message(on_beta.notification(Duration::from_secs(10)).await?);
    let beta_second = message(on_beta.notification(Duration::from_secs(10)).await?);
    assert!(beta_first.as_deref().is_some_and(|m| m.contains("BETA secret")), "{beta_first:?}");
    assert!(beta_second.as_deref().is_some_and(|m| m.contains("BETA more")), "{beta_second:?}");
    Ok(())
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
    drop(stream);
    // olga's own action reaches nobody: she assigns a task to herself and
    // mentions herself, and nothing is written for her
    let tasks = format!("/api/projects/{}/tasks/", project["id"]);
    let mut olgas = open(&two, &olga, None).await?;
    let to_olga = serde_json::json!({"assignee_id": olga.user_id, "description": "a note for @olga"});
    let mut own = to_olga.clone();
    own["title"] = "Quiet".into();
    post(&one, &olga, &tasks, own).await?;
    assert!(notifications_of(&one, &olga).await?.is_empty(), "olga was told of her own action");
    // the same action by mia does reach olga, in her list and as the first
    // event of her stream (her own, had it been written, would come first)
    let mut theirs = to_olga;
    theirs["title"] = "Loud".into();
    let loud = post(&one, &mia, &tasks, theirs).await?;
    let list = notifications_of(&one, &olga).await?;
    assert_eq!(kinds(&list), vec!["task_assigned"], "{list:?}");
    assert_eq!((list[0]["actor_id"].as_i64(), list[0]["target_id"].as_i64()), (Some(mia.user_id), loud["id"].as_i64()));
    let (_, event) = olgas.notification(Duration::from_secs(10)).await?.ok_or("no event within 10 s")?;
    assert_eq!((event["actor_id"].as_i64(), event["target_id"].as_i64()), (Some(mia.user_id), loud["id"].as_i64()));
    // and mia, the actor this time, was told nothing more
    assert_eq!(kinds(&notifications_of(&one, &mia).await?), vec!["task_assigned"]);
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
    // a last event past the newest starts fresh rather than waiting for ids to catch up
    let mut ahead = open(&app, &mia, Some(1_000_000)).await?;
    post(&app, &olga, &tasks, serde_json::json!({"title": "after a made-up id", "assignee_id": mia.user_id})).await?;
    let (_, event) = ahead.notification(Duration::from_secs(10)).await?.ok_or("nothing after a made-up id")?;
    assert!(event["message"].as_str().is_some_and(|m| m.contains("after a made-up id")), "{event}");
    drop(ahead);

    // a browser's EventSource: a single-use ticket instead of the header
    let (status, ticket) =
        json(app.call_as(Method::POST, "acme", &mia.access, "/api/notifications/ticket/").send().await?).await?;
    assert_eq!(status, 200);
    // microseconds at most, as every other time the API gives
    let expires = ticket["expires_at"].as_str().ok_or("expires_at")?;
    let fraction = expires.split_once('.').map_or("", |(_, f)| f.trim_end_matches('Z'));
    assert!(fraction.len() <= 6 && chrono::DateTime::parse_from_rfc3339(expires).is_ok(), "{expires}");
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
    let (status, body) =
        json(app.get("acme.localhost", "/api/notifications/stream/?ticket=forged").send().await?).await?;
    assert_eq!((status, body["error"]["code"].as_str()), (401, Some("token_invalid")), "{body}");
    let (status, body) = json(app.get("acme.localhost", "/api/notifications/stream/").send().await?).await?;
    assert_eq!((status, body["error"]["code"].as_str()), (401, Some("not_authenticated")), "{body}");
    // an empty ticket is no ticket: the bearer token admits
    drop(opened(app.get_as("acme", &mia.access, "/api/notifications/stream/?ticket=").send().await?).await?);
    Ok(())
}

/// Ids are taken at insert and seen at commit: a notification that commits
/// after a newer one was streamed still reaches the stream, once.
#[tokio::test]
async fn a_notification_that_commits_after_a_newer_one_still_reaches_the_stream() -> TestResult {
    use diesel::connection::SimpleConnection;
    use secrecy::ExposeSecret;

    let app = spawn_app_with(|settings| settings.server.sse_heartbeat_secs = 1).await?;
    app.create_tenant("acme", Plan::Enterprise, false).await?;
    app.member("acme", "olga", Role::Owner).await?;
    app.member("acme", "mia", Role::Member).await?;
    let (olga, mia) = (app.login("acme", "olga").await?, app.login("acme", "mia").await?);
    let project = post(&app, &olga, "/api/projects/", serde_json::json!({"name": "P"})).await?;
    let tasks = format!("/api/projects/{}/tasks/", project["id"]);
    let mut stream = open(&app, &mia, None).await?;

    // written first, in a transaction that stays open meanwhile
    let url = app.settings.database.url.expose_secret().to_owned();
    let held = format!(
        "BEGIN; SET LOCAL search_path TO tenant_acme; INSERT INTO notifications \
         (recipient_id, kind, actor_id, target_type, target_id, message) \
         VALUES ({}, 'mentioned', {}, 'task', 1, 'held back')",
        mia.user_id, olga.user_id
    );
    let (inserted, commit) = (std::sync::mpsc::channel(), std::sync::mpsc::channel::<()>());
    let writer = std::thread::spawn(move || -> Result<(), String> {
        let mut conn = taskforce_persistence::connect(&taskforce_persistence::PoolSettings::new(&url))
            .map_err(|e| e.to_string())?;
        conn.batch_execute(&held).map_err(|e| e.to_string())?;
        inserted.0.send(()).map_err(|e| e.to_string())?;
        commit.1.recv().map_err(|e| e.to_string())?;
        conn.batch_execute("COMMIT").map_err(|e| e.to_string())
    });
    let waited = tokio::task::spawn_blocking(move || inserted.1.recv_timeout(Duration::from_secs(10))).await?;
    waited.map_err(|_| "the held-back insert did not happen")?;
    // a newer one commits first and is streamed
    post(&app, &olga, &tasks, serde_json::json!({"title": "newer", "assignee_id": mia.user_id})).await?;
    let (newer, event) = stream.notification(Duration::from_secs(5)).await?.ok_or("the newer one")?;
    assert!(event["message"].as_str().is_some_and(|m| m.contains("newer")), "{event}");
    commit.0.send(())?;
    tokio::task::spawn_blocking(move || writer.join()).await?.map_err(|_| "the writer panicked")??;

    let (late, event) =
        stream.notification(Duration::from_secs(5)).await?.ok_or("the one committed late never came")?;
    assert!(late < newer, "{late} {newer}");
    assert_eq!(event["message"], "held back", "{event}");
    // and nothing is sent twice: heartbeats read again below the newest
    assert_eq!(stream.notification(Duration::from_millis(2500)).await?, None);
    Ok(())
}

#[tokio::test]
async fn an_open_stream_ends_when_its_session_ends_or_its_member_is_removed() -> TestResult {
    let app = spawn_app_with(|settings| settings.server.sse_heartbeat_secs = 1).await?;
    app.create_tenant("acme", Plan::Enterprise, false).await?;
    let [olga, mia, max] =
        app.signed_in("acme", [("olga", Role::Owner), ("mia", Role::Member), ("max", Role::Member)]).await?;
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
    let (status, body) = json(app.get_as("acme", &mia.access, "/api/notifications/stream/").send().await?).await?;
    assert_eq!((status, body["error"]["code"].as_str()), (401, Some("token_invalid")), "{body}");
    Ok(())
}

/// A catch-up of thousands of missed notifications is judged again before
/// each batch of 100: a member removed during it is sent what was already on
/// its way, then the stream ends (it used to send every one of them).
#[tokio::test]
async fn a_long_catch_up_ends_when_its_member_is_removed_midway() -> TestResult {
    use diesel::RunQueryDsl as _;
    const MISSED: usize = 6_000;
    let app = spawn_app().await?;
    app.create_tenant("acme", Plan::Enterprise, false).await?;
    let [olga, mia] = app.signed_in("acme", [("olga", Role::Owner), ("mia", Role::Member)]).await?;
    let project = post(&app, &olga, "/api/projects/", serde_json::json!({"name": "P"})).await?;
    let tasks = format!("/api/projects/{}/tasks/", project["id"]);
    post(&app, &olga, &tasks, serde_json::json!({"title": "first", "assignee_id": mia.user_id})).await?;
    // copies of mia's notification, 4 kB each: 24 MB, far more than the
    // socket buffers and the stream's channel hold
    let copied = app
        .in_tenant("acme", move |conn| {
            diesel::sql_query(format!(
                "INSERT INTO notifications (recipient_id, kind, actor_id, target_type, target_id, project_id, message) \
                 SELECT recipient_id, kind, actor_id, target_type, target_id, project_id, repeat('x', 4000) \
                 FROM notifications, generate_series(1, {}) WHERE id = (SELECT min(id) FROM notifications)",
                MISSED - 1
            ))
            .execute(conn)
        })
        .await?;
    assert_eq!(copied, MISSED - 1);

    let mut stream = open(&app, &mia, Some(0)).await?;
    assert!(stream.notification(Duration::from_secs(10)).await?.is_some(), "the catch-up did not start");
    let mia_membership = app.membership_ids("acme", &olga.access).await?["mia"];
    let removed = app
        .call_as(Method::DELETE, "acme", &olga.access, &format!("/api/tenants/members/{mia_membership}/"))
        .send()
        .await?;
    assert_eq!(removed.status().as_u16(), 204);

    let mut received = 1;
    let deadline = Instant::now() + Duration::from_secs(60);
    while let Some((event, _, _)) = stream.next(deadline).await? {
        received += usize::from(event == "notification");
    }
    assert!(stream.ended, "the stream stayed open after {received} notifications");
    // what was on its way: the socket buffers (at most some 10 MiB on
    // Linux loopback, ~2,500 of these) and the stream's channel and batch
    assert!(received <= 2_500, "the removed member was sent {received} of {MISSED} notifications");
    Ok(())
}

//! Projects, tasks, comments and activity through the API (API.md §7–§9).

use reqwest::Method;
use taskforce_domain::{Plan, Role, Slug, TenantChanges};
use taskforce_tests::{Answer, Session, TestApp, TestResult, answers, json, spawn_app};

async fn call(
    app: &TestApp,
    method: Method,
    who: &Session,
    path: &str,
    body: Option<serde_json::Value>,
) -> Result<Answer, Box<dyn std::error::Error>> {
    app.answer(method, "acme", &who.access, path, body).await
}

/// A tenant `acme` on `plan` with an owner `olga` and the other given members.
async fn team(app: &TestApp, plan: Plan, others: &[(&str, Role)]) -> Result<Vec<Session>, Box<dyn std::error::Error>> {
    app.create_tenant("acme", plan, false).await?;
    app.member("acme", "olga", Role::Owner).await?;
    let mut sessions = vec![app.login("acme", "olga").await?];
    for (name, role) in others {
        app.member("acme", name, *role).await?;
        sessions.push(app.login("acme", name).await?);
    }
    Ok(sessions)
}

#[tokio::test]
async fn a_project_and_its_tasks_go_through_their_whole_life() -> TestResult {
    let app = spawn_app().await?;
    let people = team(&app, Plan::Premium, &[("mia", Role::Member)]).await?;
    let (owner, mia) = (&people[0], &people[1]);

    // create: defaults, owner = caller, read-only fields ignored
    let (status, project) = call(
        &app,
        Method::POST,
        mia,
        "/api/projects/",
        Some(
            serde_json::json!({"name": "  Launch  ", "owner_id": 999, "id": 77, "created_at": "2000-01-01T00:00:00Z"}),
        ),
    )
    .await?;
    assert_eq!(status, 201, "{project}");
    assert_eq!(
        (project["name"].as_str(), project["description"].as_str(), project["status"].as_str()),
        (Some("Launch"), Some(""), Some("active"))
    );
    assert_eq!(project["owner_id"].as_i64(), Some(mia.user_id));
    assert_ne!(project["id"], 77);
    let pid = project["id"].as_i64().ok_or("id")?;

    // a task with every field; completed_at follows status done
    let body = serde_json::json!({"title": "Write the brief", "description": "two pages", "priority": "high", "assignee_id": owner.user_id, "due_date": "2030-05-01", "created_by": 1});
    let (status, task) = call(&app, Method::POST, mia, &format!("/api/projects/{pid}/tasks/"), Some(body)).await?;
    assert_eq!(status, 201, "{task}");
    assert_eq!(
        (task["status"].as_str(), task["priority"].as_str(), task["due_date"].as_str()),
        (Some("todo"), Some("high"), Some("2030-05-01"))
    );
    assert_eq!((task["created_by"].as_i64(), task["assignee_id"].as_i64()), (Some(mia.user_id), Some(owner.user_id)));
    assert!(task["completed_at"].is_null());
    let tid = task["id"].as_i64().ok_or("id")?;
    let (status, done) =
        call(&app, Method::PATCH, mia, &format!("/api/tasks/{tid}/"), Some(serde_json::json!({"status": "done"})))
            .await?;
    assert_eq!(status, 200, "{done}");
    assert!(done["completed_at"].is_string());
    let (_, reopened) = call(
        &app,
        Method::PATCH,
        mia,
        &format!("/api/tasks/{tid}/"),
        Some(serde_json::json!({"status": "in_review", "assignee_id": null})),
    )
    .await?;
    assert!(reopened["completed_at"].is_null());
    assert!(reopened["assignee_id"].is_null());

    // comments
    let (status, comment) = call(
        &app,
        Method::POST,
        owner,
        &format!("/api/tasks/{tid}/comments/"),
        Some(serde_json::json!({"body": "Looks good"})),
    )
    .await?;
    assert_eq!((status, comment["author_id"].as_i64()), (201, Some(owner.user_id)));
    let (status, comments) = call(&app, Method::GET, mia, &format!("/api/tasks/{tid}/comments/"), None).await?;
    assert_eq!((status, comments["count"].as_u64()), (200, Some(1)));

    // the activity log tells the story, newest first, with exact changes
    let (status, log) = call(&app, Method::GET, mia, &format!("/api/projects/{pid}/activity/"), None).await?;
    assert_eq!(status, 200);
    let entries = log["results"].as_array().ok_or("results")?;
    let summary: Vec<(String, String)> = entries
        .iter()
        .map(|e| (e["verb"].as_str().unwrap_or("").to_owned(), e["target_type"].as_str().unwrap_or("").to_owned()))
        .collect();
    let expected: Vec<(String, String)> =
        [("created", "comment"), ("updated", "task"), ("updated", "task"), ("created", "task"), ("created", "project")]
            .iter()
            .map(|(v, t)| ((*v).to_owned(), (*t).to_owned()))
            .collect();
    assert_eq!(summary, expected);
    assert_eq!(
        entries[1]["changes"],
        serde_json::json!({"status": ["done", "in_review"], "assignee_id": [owner.user_id, null]})
    );
    assert_eq!(entries[2]["changes"], serde_json::json!({"status": ["todo", "done"]}));
    assert_eq!(entries[4]["changes"]["name"], serde_json::json!([null, "Launch"]));
    assert!(entries.iter().all(|e| e["actor_id"].is_i64() && e["project_id"] == pid));

    // deleting the project removes its tasks and comments; activity keeps the record
    let (status, _) = call(&app, Method::DELETE, mia, &format!("/api/projects/{pid}/"), None).await?;
    assert_eq!(status, 204);
    assert_eq!(call(&app, Method::GET, mia, &format!("/api/tasks/{tid}/"), None).await?.0, 404);
    assert_eq!(call(&app, Method::GET, mia, &format!("/api/tasks/{tid}/comments/"), None).await?.0, 404);
    let (_, audit) = call(&app, Method::GET, owner, &format!("/api/activity/?project={pid}"), None).await?;
    assert_eq!(audit["count"], 6);
    assert_eq!(audit["results"][0]["verb"], "deleted");
    assert_eq!(audit["results"][0]["changes"]["name"], serde_json::json!(["Launch", null]));
    let (_, overview) = call(&app, Method::GET, owner, "/api/tenants/me/", None).await?;
    assert_eq!(overview["usage"]["tasks"], 0);
    // a task made done is completed as it is created, never before
    let (_, project) =
        call(&app, Method::POST, mia, "/api/projects/", Some(serde_json::json!({"name": "Next"}))).await?;
    let (status, born_done) = call(
        &app,
        Method::POST,
        mia,
        &format!("/api/projects/{}/tasks/", project["id"]),
        Some(serde_json::json!({"title": "Already done", "status": "done"})),
    )
    .await?;
    assert_eq!(status, 201, "{born_done}");
    let instant = |field: &str| chrono::DateTime::parse_from_rfc3339(born_done[field].as_str().unwrap_or_default());
    assert_eq!(instant("completed_at")?, instant("created_at")?, "{born_done}");
    assert_eq!(instant("updated_at")?, instant("created_at")?, "{born_done}");
    Ok(())
}

#[tokio::test]
async fn validation_answers_field_by_field_and_unknown_fields_are_ignored() -> TestResult {
    let app = spawn_app().await?;
    let people = team(&app, Plan::Premium, &[]).await?;
    let owner = &people[0];
    let (_, project) =
        call(&app, Method::POST, owner, "/api/projects/", Some(serde_json::json!({"name": "P"}))).await?;
    let pid = project["id"].as_i64().ok_or("id")?;
    let cases = [
        ("/api/projects/", serde_json::json!({"name": ""}), "name"),
        ("/api/projects/", serde_json::json!({"name": "x".repeat(201)}), "name"),
        ("/api/projects/", serde_json::json!({"name": "ok", "status": "deleted"}), "status"),
        ("/api/projects/", serde_json::json!({"description": "no name"}), "name"),
        ("/api/projects/", serde_json::json!({"name": 42}), "name"),
        (&format!("/api/projects/{pid}/tasks/"), serde_json::json!({"title": "t", "status": "doing"}), "status"),
        (&format!("/api/projects/{pid}/tasks/"), serde_json::json!({"title": "t", "priority": "asap"}), "priority"),
        (
            &format!("/api/projects/{pid}/tasks/"),
            serde_json::json!({"title": "t", "due_date": "31/12/2030"}),
            "due_date",
        ),
        (
            &format!("/api/projects/{pid}/tasks/"),
            serde_json::json!({"title": "t", "assignee_id": 424242}),
            "assignee_id",
        ),
        (&format!("/api/projects/{pid}/tasks/"), serde_json::json!({"title": "x".repeat(501)}), "title"),
        (&format!("/api/projects/{pid}/tasks/"), serde_json::json!({"title": "t\u{0000}"}), "title"),
    ];
    for (path, body, field) in cases {
        let (status, answer) = call(&app, Method::POST, owner, path, Some(body.clone())).await?;
        assert_eq!(status, 400, "{body}: {answer}");
        assert_eq!(answer["error"]["code"], "validation_failed");
        assert!(answer["error"]["fields"][field].is_array(), "{field}: {answer}");
    }
    // nothing was written by the refused requests
    let (_, tasks) = call(&app, Method::GET, owner, &format!("/api/projects/{pid}/tasks/"), None).await?;
    assert_eq!(tasks["count"], 0);
    let (_, log) = call(&app, Method::GET, owner, "/api/activity/", None).await?;
    // the owner's membership (set-up) and the project's creation: nothing from the refusals
    assert_eq!(log["count"], 2, "{log}");
    Ok(())
}

#[tokio::test]
async fn twenty_simultaneous_creates_on_a_free_tenant_make_exactly_one_project() -> TestResult {
    let app = spawn_app().await?;
    let people = team(&app, Plan::Free, &[]).await?;
    let owner = &people[0];
    let requests = (0..20).map(|i| {
        app.call_as(Method::POST, "acme", &owner.access, "/api/projects/")
            .json(&serde_json::json!({"name": format!("P{i}")}))
            .send()
    });
    let mut statuses = Vec::new();
    for (status, body) in answers(requests).await? {
        if status == 403 {
            assert_eq!(body["error"]["code"], "plan_limit_exceeded");
            assert_eq!(
                (body["error"]["resource"].as_str(), body["error"]["limit"].as_u64()),
                (Some("projects"), Some(1))
            );
        }
        statuses.push(status);
    }
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 403).count(), 19, "{statuses:?}");
    let (_, list) = call(&app, Method::GET, owner, "/api/projects/", None).await?;
    assert_eq!(list["count"], 1);
    let (_, log) = call(&app, Method::GET, owner, "/api/activity/?target_type=project", None).await?;
    assert_eq!(log["count"], 1, "refused creates leave no activity");
    Ok(())
}

#[tokio::test]
async fn the_eleventh_task_on_free_is_refused_until_the_plan_changes() -> TestResult {
    let app = spawn_app().await?;
    let people = team(&app, Plan::Free, &[]).await?;
    let owner = &people[0];
    let (_, project) =
        call(&app, Method::POST, owner, "/api/projects/", Some(serde_json::json!({"name": "P"}))).await?;
    let path = format!("/api/projects/{}/tasks/", project["id"]);
    for i in 0..10 {
        assert_eq!(
            call(&app, Method::POST, owner, &path, Some(serde_json::json!({"title": format!("t{i}")}))).await?.0,
            201
        );
    }
    let (status, body) = call(&app, Method::POST, owner, &path, Some(serde_json::json!({"title": "eleventh"}))).await?;
    assert_eq!(status, 403);
    assert_eq!(
        body["error"],
        serde_json::json!({"code": "plan_limit_exceeded", "message": "Your plan allows at most 10 tasks.", "limit": 10, "resource": "tasks"})
    );
    // an operator upgrades the plan with tenant-admin: the next request may go on
    let admin = app.admin.clone();
    let slug = Slug::parse("acme")?;
    tokio::task::spawn_blocking(move || {
        admin.update(&slug, &TenantChanges { plan: Some(Plan::Basic), ..Default::default() })
    })
    .await??;
    assert_eq!(call(&app, Method::POST, owner, &path, Some(serde_json::json!({"title": "eleventh"}))).await?.0, 201);
    let (_, overview) = call(&app, Method::GET, owner, "/api/tenants/me/", None).await?;
    assert_eq!(
        (overview["plan"].as_str(), overview["usage"]["tasks"].as_u64(), overview["limits"]["tasks"].as_u64()),
        (Some("basic"), Some(11), Some(50))
    );
    Ok(())
}

#[tokio::test]
async fn pagination_edges_follow_drf() -> TestResult {
    let app = spawn_app().await?;
    let people = team(&app, Plan::Enterprise, &[]).await?;
    let owner = &people[0];
    for i in 0..25 {
        call(&app, Method::POST, owner, "/api/projects/", Some(serde_json::json!({"name": format!("P{i:02}")})))
            .await?;
    }
    let (status, first) = call(&app, Method::GET, owner, "/api/projects/", None).await?;
    assert_eq!((status, first["count"].as_u64()), (200, Some(25)));
    assert_eq!(first["results"].as_array().map(Vec::len), Some(20));
    assert_eq!(first["results"][0]["name"], "P24", "newest first");
    assert_eq!(first["next"], "http://acme.localhost/api/projects/?page=2");
    assert!(first["previous"].is_null());
    let (_, second) = call(&app, Method::GET, owner, "/api/projects/?page=2", None).await?;
    assert_eq!(second["results"].as_array().map(Vec::len), Some(5));
    assert!(second["next"].is_null());
    assert_eq!(second["previous"], "http://acme.localhost/api/projects/");
    let (_, big) = call(&app, Method::GET, owner, "/api/projects/?page_size=100000&status=active", None).await?;
    assert_eq!(big["results"].as_array().map(Vec::len), Some(25));
    // a size past 64 bits is still a positive integer, capped (not the default 20)
    let (status, huge) = call(&app, Method::GET, owner, "/api/projects/?page_size=99999999999999999999", None).await?;
    assert_eq!((status, huge["results"].as_array().map(Vec::len)), (200, Some(25)), "{huge}");
    let (_, small) = call(&app, Method::GET, owner, "/api/projects/?page_size=10&page=2&search=P", None).await?;
    assert_eq!(small["next"], "http://acme.localhost/api/projects/?page_size=10&search=P&page=3");
    // the page number is read by Python's int() as in DRF: %2B2 is "+2", and a raw
    // "+" in a query string is a space, so "+2+" is " 2 "
    for page in ["%2B2", "+2+"] {
        let (status, body) = call(&app, Method::GET, owner, &format!("/api/projects/?page={page}"), None).await?;
        assert_eq!((status, body["results"][0]["name"].as_str()), (200, Some("P04")), "page={page}: {body}");
    }
    for page in ["0", "-1", "abc", "3", "9999999999999999999999", "LAST", "+", "%20last"] {
        let (status, body) = call(&app, Method::GET, owner, &format!("/api/projects/?page={page}"), None).await?;
        assert_eq!((status, body["error"]["message"].as_str()), (404, Some("Invalid page.")), "page={page}");
    }
    // DRF's page=last: the last page, with links as for its number
    let (status, last) = call(&app, Method::GET, owner, "/api/projects/?page=last&page_size=10&search=P", None).await?;
    let names: Vec<&str> =
        last["results"].as_array().ok_or("results")?.iter().filter_map(|p| p["name"].as_str()).collect();
    assert_eq!((status, names), (200, vec!["P04", "P03", "P02", "P01", "P00"]), "{last}");
    assert!(last["next"].is_null(), "{last}");
    assert_eq!(last["previous"], "http://acme.localhost/api/projects/?page_size=10&search=P&page=2");
    let (status, only) = call(&app, Method::GET, owner, "/api/projects/?page=last&page_size=100", None).await?;
    assert_eq!((status, only["results"].as_array().map(Vec::len)), (200, Some(25)));
    let (status, none) =
        call(&app, Method::GET, owner, "/api/projects/?page=last&search=nothing-matches", None).await?;
    assert_eq!((status, none["count"].as_u64(), none["results"].as_array().map(Vec::len)), (200, Some(0), Some(0)));
    Ok(())
}

#[tokio::test]
async fn task_filters_and_ordering_work_and_bad_values_are_400() -> TestResult {
    let app = spawn_app().await?;
    let people = team(&app, Plan::Enterprise, &[("mia", Role::Member)]).await?;
    let (owner, mia) = (&people[0], &people[1]);
    let (_, project) =
        call(&app, Method::POST, owner, "/api/projects/", Some(serde_json::json!({"name": "P"}))).await?;
    let path = format!("/api/projects/{}/tasks/", project["id"]);
    let specs = [
        ("Alpha report", "low", "todo", Some("2020-01-10"), Some(mia.user_id)),
        ("Beta budget", "urgent", "done", Some("2020-01-05"), None),
        ("Gamma", "medium", "in_progress", Some("2099-01-01"), Some(mia.user_id)),
        ("Delta 100% done_ish", "high", "todo", None, None),
    ];
    for (title, priority, status, due, assignee) in specs {
        let body = serde_json::json!({"title": title, "priority": priority, "status": status, "due_date": due, "assignee_id": assignee});
        assert_eq!(call(&app, Method::POST, owner, &path, Some(body)).await?.0, 201);
    }
    let titles = |answer: &Answer| -> Vec<String> {
        answer.1["results"]
            .as_array()
            .map(|r| r.iter().filter_map(|t| t["title"].as_str().map(str::to_owned)).collect())
            .unwrap_or_default()
    };
    let query = |q: &str| {
        let url = format!("{path}?{q}");
        let app = &app;
        async move { call(app, Method::GET, mia, &url, None).await }
    };
    assert_eq!(titles(&query("status=todo&ordering=created_at").await?), vec!["Alpha report", "Delta 100% done_ish"]);
    assert_eq!(titles(&query("priority=urgent").await?), vec!["Beta budget"]);
    assert_eq!(
        titles(&query(&format!("assignee={}&ordering=created_at", mia.user_id)).await?),
        vec!["Alpha report", "Gamma"]
    );
    assert_eq!(titles(&query("due_before=2020-01-08").await?), vec!["Beta budget"]);
    assert_eq!(titles(&query("overdue=true").await?), vec!["Alpha report"]);
    assert_eq!(titles(&query("search=REPORT").await?), vec!["Alpha report"]);
    assert_eq!(titles(&query("search=100%25").await?), vec!["Delta 100% done_ish"], "% is literal");
    assert_eq!(titles(&query("search=_").await?), vec!["Delta 100% done_ish"], "_ is literal");
    // DRF's search terms: every term somewhere, in any order; commas split
    // too; a quoted phrase stays whole
    assert_eq!(titles(&query("search=budget%20BETA").await?), vec!["Beta budget"]);
    assert_eq!(titles(&query("search=report,alpha").await?), vec!["Alpha report"]);
    assert_eq!(titles(&query("search=%22budget%20beta%22").await?), Vec::<String>::new());
    assert_eq!(titles(&query("search=%22beta%20budget%22").await?), vec!["Beta budget"]);
    assert_eq!(titles(&query("search=alpha%20gamma").await?), Vec::<String>::new(), "both terms, not either");
    assert_eq!(titles(&query("search=report,Report,REPORT,alpha").await?), vec!["Alpha report"], "repeats count once");
    let (status, body) = query("search=a%20b%20c%20d%20e%20f%20g%20h%20i%20j%20k").await?;
    assert_eq!(
        (status, body["error"]["fields"]["search"][0].as_str()),
        (400, Some("Ensure the search has no more than 10 terms.")),
        "{body}"
    );
    // an empty filter is no filter, as django-filter has it
    assert_eq!(
        titles(&query("status=&priority=&assignee=&due_before=&overdue=&search=&ordering=&page=").await?),
        vec!["Delta 100% done_ish", "Gamma", "Beta budget", "Alpha report"]
    );
    assert_eq!(titles(&query("status=&priority=urgent").await?), vec!["Beta budget"]);
    assert_eq!(titles(&query("status=%20&overdue=%20&priority=urgent").await?), vec!["Beta budget"], "blank too");
    assert_eq!(
        titles(&query("ordering=%20-priority%20").await?),
        vec!["Beta budget", "Delta 100% done_ish", "Gamma", "Alpha report"],
        "ordering is trimmed"
    );
    assert_eq!(
        titles(&query("ordering=-priority").await?),
        vec!["Beta budget", "Delta 100% done_ish", "Gamma", "Alpha report"]
    );
    assert_eq!(
        titles(&query("ordering=due_date").await?),
        vec!["Beta budget", "Alpha report", "Gamma", "Delta 100% done_ish"]
    );
    for bad in [
        "status=doing",
        "priority=9",
        "assignee=abc",
        "due_before=tomorrow",
        "overdue=maybe",
        "ordering=title",
        "ordering=-secret",
    ] {
        let (status, body) = query(bad).await?;
        assert_eq!((status, body["error"]["code"].as_str()), (400, Some("validation_failed")), "{bad}: {body}");
    }
    // empty is no filter in a query string, but in a body an empty choice is
    // a bad value, as DRF's ChoiceField has it
    let (_, listed) = query("search=Gamma").await?;
    let gamma = format!("/api/tasks/{}/", listed["results"][0]["id"]);
    for (method, target, body) in [
        (Method::PATCH, gamma.as_str(), serde_json::json!({"status": ""})),
        (Method::PUT, gamma.as_str(), serde_json::json!({"title": "Gamma", "priority": ""})),
        (Method::POST, path.as_str(), serde_json::json!({"title": "Epsilon", "status": ""})),
    ] {
        let (status, answer) = call(&app, Method::clone(&method), owner, target, Some(body.clone())).await?;
        let field = if body.get("priority").is_some() { "priority" } else { "status" };
        assert_eq!(
            (status, answer["error"]["fields"][field][0].as_str()),
            (400, Some("\"\" is not a valid choice.")),
            "{method} {body}: {answer}"
        );
    }
    assert_eq!(titles(&query("search=Gamma").await?), vec!["Gamma"]);
    let (_, gamma) = call(&app, Method::GET, owner, &gamma, None).await?;
    assert_eq!((gamma["status"].as_str(), gamma["priority"].as_str()), (Some("in_progress"), Some("medium")));
    Ok(())
}

#[tokio::test]
async fn etags_make_updates_conditional_and_reads_cacheable() -> TestResult {
    let app = spawn_app().await?;
    let people = team(&app, Plan::Premium, &[]).await?;
    let owner = &people[0];
    let created = app
        .call_as(Method::POST, "acme", &owner.access, "/api/projects/")
        .json(&serde_json::json!({"name": "P"}))
        .send()
        .await?;
    let etag = created.headers().get("etag").and_then(|v| v.to_str().ok()).ok_or("no etag")?.to_owned();
    let (_, project) = json(created).await?;
    let url = format!("/api/projects/{}/", project["id"]);
    let cached = app.get_as("acme", &owner.access, &url).header("if-none-match", &etag).send().await?;
    assert_eq!(cached.status().as_u16(), 304);
    // two PATCHes with one ETag: exactly one wins, the other changes nothing
    let patch = |name: &'static str| {
        app.call_as(Method::PATCH, "acme", &owner.access, &url)
            .header("if-match", &etag)
            .json(&serde_json::json!({"name": name}))
            .send()
    };
    let (a, b) = tokio::join!(patch("First"), patch("Second"));
    let mut outcomes = vec![json(a?).await?, json(b?).await?];
    outcomes.sort_by_key(|o| o.0);
    assert_eq!((outcomes[0].0, outcomes[1].0), (200, 412), "{outcomes:?}");
    assert_eq!(outcomes[1].1["error"]["code"], "precondition_failed");
    let (_, now) = json(app.get_as("acme", &owner.access, &url).send().await?).await?;
    assert_eq!(now["name"], outcomes[0].1["name"]);
    let (_, log) = json(app.get_as("acme", &owner.access, "/api/activity/?target_type=project").send().await?).await?;
    assert_eq!(log["count"], 2, "one create and one update");
    // a stale tag on DELETE is refused too
    let stale = app.call_as(Method::DELETE, "acme", &owner.access, &url).header("if-match", &etag).send().await?;
    assert_eq!(stale.status().as_u16(), 412);
    Ok(())
}

/// An `If-Match` the server cannot read as text, or spread over several
/// header lines, still makes the write conditional: bytes that are no tag
/// match nothing (`412`, nothing changed), and the lines form one list.
#[tokio::test]
async fn an_if_match_that_is_not_text_or_spans_lines_still_guards_the_write() -> TestResult {
    let app = spawn_app().await?;
    let people = team(&app, Plan::Premium, &[]).await?;
    let owner = &people[0];
    let (_, project) =
        call(&app, Method::POST, owner, "/api/projects/", Some(serde_json::json!({"name": "P"}))).await?;
    let url = format!("/api/projects/{}/", project["id"]);
    let current = format!("\"project-{}-v1\"", project["id"]);
    let not_text = [b"\xe9".as_slice(), b"\xff\xfe", b"\"project-1-v1\xe9\""];
    for bytes in not_text {
        let value = reqwest::header::HeaderValue::from_bytes(bytes)?;
        let patched = app
            .call_as(Method::PATCH, "acme", &owner.access, &url)
            .header("if-match", value.clone())
            .json(&serde_json::json!({"name": "Changed"}));
        let (status, body) = json(patched.send().await?).await?;
        assert_eq!((status, body["error"]["code"].as_str()), (412, Some("precondition_failed")), "{bytes:?}: {body}");
        let deleted = app.call_as(Method::DELETE, "acme", &owner.access, &url).header("if-match", value);
        assert_eq!(deleted.send().await?.status().as_u16(), 412, "{bytes:?}");
    }
    let (status, now) = call(&app, Method::GET, owner, &url, None).await?;
    assert_eq!((status, now["name"].as_str(), &now["updated_at"]), (200, Some("P"), &project["updated_at"]));
    // two lines, neither current: refused; one of them current: let through
    let lines = |second: &str| {
        app.call_as(Method::PATCH, "acme", &owner.access, &url)
            .header("if-match", "\"project-0-v9\"")
            .header("if-match", second)
            .json(&serde_json::json!({"name": "Changed"}))
            .send()
    };
    assert_eq!(lines("\"project-0-v8\"").await?.status().as_u16(), 412);
    let (status, body) = json(lines(&current).await?).await?;
    assert_eq!((status, body["name"].as_str()), (200, Some("Changed")), "{body}");
    Ok(())
}

#[tokio::test]
async fn ten_simultaneous_task_creates_with_one_task_left_on_free_make_exactly_one() -> TestResult {
    let app = spawn_app().await?;
    let people = team(&app, Plan::Free, &[]).await?;
    let owner = &people[0];
    let (_, project) =
        call(&app, Method::POST, owner, "/api/projects/", Some(serde_json::json!({"name": "P"}))).await?;
    let path = format!("/api/projects/{}/tasks/", project["id"]);
    for i in 0..9 {
        let body = serde_json::json!({"title": format!("t{i}")});
        assert_eq!(call(&app, Method::POST, owner, &path, Some(body)).await?.0, 201);
    }
    let requests = (0..10).map(|i| {
        app.call_as(Method::POST, "acme", &owner.access, &path)
            .json(&serde_json::json!({"title": format!("race {i}")}))
            .send()
    });
    let answers = answers(requests).await?;
    let statuses: Vec<u16> = answers.iter().map(|a| a.0).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 1, "{statuses:?}");
    assert!(
        answers.iter().filter(|a| a.0 != 201).all(|a| a.0 == 403 && a.1["error"]["code"] == "plan_limit_exceeded"),
        "{answers:?}"
    );
    let winner = answers.iter().find(|a| a.0 == 201).map(|a| a.1["title"].clone()).ok_or("no winner")?;
    let (_, tasks) = call(&app, Method::GET, owner, &format!("{path}?page_size=100"), None).await?;
    assert_eq!(tasks["count"], 10);
    let races: Vec<&serde_json::Value> = tasks["results"]
        .as_array()
        .ok_or("results")?
        .iter()
        .filter(|t| t["title"].as_str().is_some_and(|t| t.starts_with("race")))
        .map(|t| &t["title"])
        .collect();
    assert_eq!(races, [&winner], "only the winner's task is stored");
    let (_, overview) = call(&app, Method::GET, owner, "/api/tenants/me/", None).await?;
    assert_eq!(overview["usage"]["tasks"], 10);
    let (_, log) = call(&app, Method::GET, owner, "/api/activity/?target_type=task", None).await?;
    assert_eq!(log["count"], 10, "refused creates leave no activity");
    Ok(())
}

#[tokio::test]
async fn two_task_updates_with_one_etag_let_exactly_one_through() -> TestResult {
    let app = spawn_app().await?;
    let people = team(&app, Plan::Premium, &[]).await?;
    let owner = &people[0];
    let (_, project) =
        call(&app, Method::POST, owner, "/api/projects/", Some(serde_json::json!({"name": "P"}))).await?;
    let created = app
        .call_as(Method::POST, "acme", &owner.access, &format!("/api/projects/{}/tasks/", project["id"]))
        .json(&serde_json::json!({"title": "T"}))
        .send()
        .await?;
    let etag = created.headers().get("etag").and_then(|v| v.to_str().ok()).ok_or("no etag")?.to_owned();
    let (_, task) = json(created).await?;
    let url = format!("/api/tasks/{}/", task["id"]);
    let patch = |title: &'static str, status: &'static str| {
        app.call_as(Method::PATCH, "acme", &owner.access, &url)
            .header("if-match", &etag)
            .json(&serde_json::json!({"title": title, "status": status}))
            .send()
    };
    let (a, b) = tokio::join!(patch("First", "done"), patch("Second", "in_review"));
    let mut outcomes = vec![json(a?).await?, json(b?).await?];
    outcomes.sort_by_key(|o| o.0);
    assert_eq!((outcomes[0].0, outcomes[1].0), (200, 412), "{outcomes:?}");
    assert_eq!(outcomes[1].1["error"]["code"], "precondition_failed");
    let (_, now) = call(&app, Method::GET, owner, &url, None).await?;
    assert_eq!((&now["title"], &now["status"]), (&outcomes[0].1["title"], &outcomes[0].1["status"]), "{now}");
    let (_, log) = call(&app, Method::GET, owner, "/api/activity/?target_type=task", None).await?;
    assert_eq!(log["count"], 2, "one create and one update: {log}");
    Ok(())
}

/// The answer to `request` sent while another transaction holds `sql`
/// uncommitted in `acme`'s schema; the change commits once the request waits
/// on a row it locked. A request that never waits on one within 30 s is a
/// failure: the race was not run.
async fn answer_while_held(
    app: &TestApp,
    sql: String,
    request: reqwest::RequestBuilder,
) -> Result<Answer, Box<dyn std::error::Error>> {
    use diesel::{RunQueryDsl, connection::SimpleConnection, sql_types::BigInt};
    #[derive(diesel::QueryableByName)]
    struct Waiting {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let (locked, is_locked) = tokio::sync::oneshot::channel();
    let (release, released) = std::sync::mpsc::channel::<()>();
    let holder = app.in_tenant("acme", move |conn| {
        conn.batch_execute(&sql)?;
        let _ = locked.send(());
        let _ = released.recv();
        Ok(())
    });
    let asker = async {
        is_locked.await?;
        let watch = async {
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
            loop {
                let waiting = app
                    .on_the_database(|conn| {
                        // a row lock: waiting for the holder's transaction
                        diesel::sql_query(
                            "SELECT count(*) AS n FROM pg_stat_activity \
                             WHERE wait_event_type = 'Lock' AND wait_event IN ('transactionid', 'tuple') \
                             AND datname = current_database()",
                        )
                        .get_result::<Waiting>(conn)
                    })
                    .await?;
                if waiting.n > 0 {
                    break;
                }
                if std::time::Instant::now() > deadline {
                    release.send(())?;
                    return Err("the request never waited on the held row".into());
                }
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            release.send(())?;
            Ok::<_, Box<dyn std::error::Error>>(())
        };
        let (answer, watched) = tokio::join!(request.send(), watch);
        watched?;
        json(answer?).await
    };
    let (held, answer) = tokio::join!(holder, asker);
    held?;
    answer
}

/// A task or comment created while its parent is being deleted answers
/// `404` once the deletion commits (the parent it names is gone), not `500`,
/// and nothing is created.
#[tokio::test]
async fn a_create_under_a_parent_deleted_meanwhile_is_not_found() -> TestResult {
    let app = spawn_app().await?;
    let people = team(&app, Plan::Premium, &[]).await?;
    let owner = &people[0];
    let (_, doomed) =
        call(&app, Method::POST, owner, "/api/projects/", Some(serde_json::json!({"name": "Doomed"}))).await?;
    let (_, kept) =
        call(&app, Method::POST, owner, "/api/projects/", Some(serde_json::json!({"name": "Kept"}))).await?;
    let (_, task) = call(
        &app,
        Method::POST,
        owner,
        &format!("/api/projects/{}/tasks/", kept["id"]),
        Some(serde_json::json!({"title": "Doomed task"})),
    )
    .await?;
    for (sql, path, body) in [
        (
            format!("DELETE FROM projects WHERE id = {}", doomed["id"]),
            format!("/api/projects/{}/tasks/", doomed["id"]),
            serde_json::json!({"title": "Orphan"}),
        ),
        (
            format!("DELETE FROM tasks WHERE id = {}", task["id"]),
            format!("/api/tasks/{}/comments/", task["id"]),
            serde_json::json!({"body": "Orphan"}),
        ),
    ] {
        let create = app.call_as(Method::POST, "acme", &owner.access, &path).json(&body);
        let (status, answer) = answer_while_held(&app, sql, create).await?;
        assert_eq!(status, 404, "{path}: {answer}");
        assert_eq!(answer["error"]["code"], "not_found", "{path}: {answer}");
    }
    let orphans = app
        .in_tenant("acme", |conn| {
            use diesel::{RunQueryDsl, sql_types::BigInt};
            diesel::dsl::sql::<BigInt>(
                "SELECT (SELECT count(*) FROM tasks WHERE title = 'Orphan') + (SELECT count(*) FROM comments WHERE body = 'Orphan')",
            )
            .get_result::<i64>(conn)
        })
        .await?;
    assert_eq!(orphans, 0);
    Ok(())
}

/// A `DELETE` whose `If-Match` was current when it arrived, while another
/// transaction held an uncommitted change of the row, answers `412` once that
/// change commits, and deletes nothing: the delete reads the row locked, so
/// it judges the version it would delete (reading it unlocked, it judged the
/// old one and then deleted the new one unseen).
#[tokio::test]
async fn a_delete_that_waited_for_a_concurrent_write_judges_its_if_match_against_it() -> TestResult {
    let app = spawn_app().await?;
    let people = team(&app, Plan::Premium, &[]).await?;
    let owner = &people[0];
    // each created row with the ETag its creation answered
    let create = |path: String, body: serde_json::Value| {
        let request = app.call_as(Method::POST, "acme", &owner.access, &path).json(&body).send();
        async move {
            let created = request.await?;
            let etag = created.headers().get("etag").and_then(|v| v.to_str().ok()).ok_or("no etag")?.to_owned();
            let (status, row) = json(created).await?;
            assert_eq!(status, 201, "{row}");
            Ok::<_, Box<dyn std::error::Error>>((row, etag))
        }
    };
    let project = create("/api/projects/".into(), serde_json::json!({"name": "P"})).await?;
    let task = create(format!("/api/projects/{}/tasks/", project.0["id"]), serde_json::json!({"title": "T"})).await?;
    let comment = create(format!("/api/tasks/{}/comments/", task.0["id"]), serde_json::json!({"body": "C"})).await?;
    let comments = format!("/api/tasks/{}/comments/", task.0["id"]);
    for (table, column, (row, etag), url, read_back) in [
        ("comments", "body", &comment, format!("/api/comments/{}/", comment.0["id"]), comments.clone()),
        ("tasks", "title", &task, format!("/api/tasks/{}/", task.0["id"]), format!("/api/tasks/{}/", task.0["id"])),
        (
            "projects",
            "name",
            &project,
            format!("/api/projects/{}/", project.0["id"]),
            format!("/api/projects/{}/", project.0["id"]),
        ),
    ] {
        let id = &row["id"];
        // another transaction changes the row and holds it uncommitted
        let sql = format!("UPDATE {table} SET {column} = 'Changed', version = version + 1 WHERE id = {id}");
        let delete = app.call_as(Method::DELETE, "acme", &owner.access, &url).header("if-match", etag);
        let (status, body) = answer_while_held(&app, sql, delete).await?;
        assert_eq!(status, 412, "{table}: {body}");
        assert_eq!(body["error"]["code"], "precondition_failed", "{table}: {body}");
        let (status, now) = call(&app, Method::GET, owner, &read_back, None).await?;
        assert_eq!(status, 200, "{table}: {now}");
        // the comments' list holds it, or the row is read itself
        let now = now["results"].as_array().and_then(|all| all.iter().find(|c| &c["id"] == id)).unwrap_or(&now);
        assert_eq!(now[column], "Changed", "{table}: the row was deleted: {now}");
    }
    Ok(())
}

/// API.md §8: read-only fields never change through the API, whatever an
/// update's body says; the stored rows are read back.
#[tokio::test]
async fn updates_ignore_read_only_fields() -> TestResult {
    let app = spawn_app().await?;
    let people = team(&app, Plan::Premium, &[("mia", Role::Member), ("otto", Role::Member)]).await?;
    let (mia, otto) = (&people[1], &people[2]);
    let (_, project) =
        call(&app, Method::POST, mia, "/api/projects/", Some(serde_json::json!({"name": "Mine"}))).await?;
    let (_, other) =
        call(&app, Method::POST, otto, "/api/projects/", Some(serde_json::json!({"name": "Otto's"}))).await?;
    let project_url = format!("/api/projects/{}/", project["id"]);
    let sneaky = serde_json::json!({
        "name": "Renamed", "id": 999, "owner_id": otto.user_id, "created_at": "2000-01-01T00:00:00Z",
        "updated_at": "2000-01-01T00:00:00Z", "version": 42
    });
    let (status, patched) = call(&app, Method::PATCH, mia, &project_url, Some(sneaky)).await?;
    assert_eq!(status, 200, "{patched}");
    let (_, stored) = call(&app, Method::GET, mia, &project_url, None).await?;
    assert_eq!(stored["name"], "Renamed");
    assert_eq!((&stored["id"], stored["owner_id"].as_i64()), (&project["id"], Some(mia.user_id)), "{stored}");
    assert_eq!(stored["created_at"], project["created_at"]);
    assert_ne!(stored["updated_at"], "2000-01-01T00:00:00Z");

    // a task assigned to otto: he may update it, but not make it his or move it
    let (_, task) = call(
        &app,
        Method::POST,
        mia,
        &format!("/api/projects/{}/tasks/", project["id"]),
        Some(serde_json::json!({"title": "T", "assignee_id": otto.user_id})),
    )
    .await?;
    let task_url = format!("/api/tasks/{}/", task["id"]);
    let sneaky = serde_json::json!({
        "title": "Retitled", "created_by": otto.user_id, "project_id": other["id"], "id": 999,
        "created_at": "2000-01-01T00:00:00Z", "completed_at": "2000-01-01T00:00:00Z"
    });
    let (status, patched) = call(&app, Method::PATCH, otto, &task_url, Some(sneaky)).await?;
    assert_eq!(status, 200, "{patched}");
    let (_, stored) = call(&app, Method::GET, otto, &task_url, None).await?;
    assert_eq!(stored["title"], "Retitled");
    assert_eq!(
        (&stored["id"], &stored["project_id"], stored["created_by"].as_i64()),
        (&task["id"], &project["id"], Some(mia.user_id)),
        "{stored}"
    );
    assert_eq!((&stored["created_at"], &stored["completed_at"]), (&task["created_at"], &serde_json::Value::Null));
    let (_, others_tasks) =
        call(&app, Method::GET, otto, &format!("/api/projects/{}/tasks/", other["id"]), None).await?;
    assert_eq!(others_tasks["count"], 0, "nothing moved into otto's project");

    // a comment written by otto as if by mia, then edited to claim it again
    let comments_url = format!("/api/tasks/{}/comments/", task["id"]);
    let (status, comment) = call(
        &app,
        Method::POST,
        otto,
        &comments_url,
        Some(serde_json::json!({"body": "hi", "author_id": mia.user_id, "task_id": 999, "id": 999})),
    )
    .await?;
    assert_eq!(status, 201, "{comment}");
    assert_eq!((comment["author_id"].as_i64(), &comment["task_id"]), (Some(otto.user_id), &task["id"]), "{comment}");
    assert_ne!(comment["id"], 999);
    let comment_url = format!("/api/comments/{}/", comment["id"]);
    let (status, _) = call(
        &app,
        Method::PATCH,
        otto,
        &comment_url,
        Some(serde_json::json!({"body": "edited", "author_id": mia.user_id, "task_id": 999})),
    )
    .await?;
    assert_eq!(status, 200);
    let (_, listed) = call(&app, Method::GET, otto, &comments_url, None).await?;
    assert_eq!(listed["count"], 1);
    let stored = &listed["results"][0];
    assert_eq!(
        (stored["body"].as_str(), stored["author_id"].as_i64(), &stored["task_id"]),
        (Some("edited"), Some(otto.user_id), &task["id"]),
        "{stored}"
    );
    // and mia, not its author, still may not edit it
    let (status, _) =
        call(&app, Method::PATCH, mia, &comment_url, Some(serde_json::json!({"body": "mine now"}))).await?;
    assert_eq!(status, 403);
    Ok(())
}

/// Inputs found by probing the running server, each of which once gave a
/// `500`, a wrong answer or a value the contract refuses: a NUL in a filter
/// or a login name, a repeated query key (DRF takes the last value), and
/// dates chrono alone reads but DRF does not (a `page_size` past 64 bits is
/// in `pagination_edges_follow_drf`).
#[tokio::test]
async fn odd_filters_names_and_dates_are_answered_in_the_contract_s_terms() -> TestResult {
    let app = spawn_app().await?;
    let people = team(&app, Plan::Premium, &[]).await?;
    let owner = &people[0];
    for name in ["Older", "Newer"] {
        call(&app, Method::POST, owner, "/api/projects/", Some(serde_json::json!({"name": name}))).await?;
    }
    let (_, projects) = call(&app, Method::GET, owner, "/api/projects/", None).await?;
    let older = projects["results"][1]["id"].clone();
    let tasks = format!("/api/projects/{older}/tasks/");
    let (_, task) = call(&app, Method::POST, owner, &tasks, Some(serde_json::json!({"title": "T"}))).await?;

    for (path, field) in [
        ("/api/projects/?search=%00".to_owned(), "search"),
        (format!("{tasks}?search=a%00b"), "search"),
        ("/api/projects/?status=active&st%00atus=x".to_owned(), "status"),
    ] {
        let (status, body) = call(&app, Method::GET, owner, &path, None).await?;
        assert_eq!(
            (status, body["error"]["fields"][field][0].as_str()),
            (400, Some("Null characters are not allowed.")),
            "{path}: {body}"
        );
    }
    let login = serde_json::json!({"username": "ol\u{0}ga", "password": taskforce_tests::PASSWORD});
    let (status, body) = json(app.post("acme.localhost", "/api/auth/login/").json(&login).send().await?).await?;
    assert_eq!(
        (status, body["error"]["fields"]["username"][0].as_str()),
        (400, Some("Null characters are not allowed.")),
        "{body}"
    );

    // the last of a repeated key wins, as in DRF
    let (status, page) = call(&app, Method::GET, owner, "/api/projects/?page_size=1&page=1&page=2", None).await?;
    assert_eq!(
        (status, &page["results"][0]["name"], &page["count"]),
        (200, &serde_json::json!("Older"), &serde_json::json!(2))
    );

    let task_path = format!("/api/tasks/{}/", task["id"]);
    for due in ["+10000-01-01", "-0001-01-01", "0000-01-01"] {
        let (status, body) =
            call(&app, Method::PATCH, owner, &task_path, Some(serde_json::json!({"due_date": due}))).await?;
        assert_eq!(
            (status, body["error"]["fields"]["due_date"][0].as_str()),
            (400, Some("Date has wrong format. Use one of these formats instead: YYYY-MM-DD.")),
            "{due}: {body}"
        );
        let (status, body) = call(&app, Method::GET, owner, &format!("{tasks}?due_before={due}"), None).await?;
        assert_eq!((status, body["error"]["code"].as_str()), (400, Some("validation_failed")), "{due}: {body}");
    }
    let (_, now) = call(&app, Method::GET, owner, &task_path, None).await?;
    assert_eq!((&now["due_date"], &now["updated_at"]), (&serde_json::Value::Null, &task["updated_at"]));
    Ok(())
}

/// The audit log's `actor` filter takes the two ids that name no account of
/// this database: `0`, the operator, and `-1`, a former member of a tenant
/// brought over from another database; other non-positive ids are refused.
#[tokio::test]
async fn the_audit_log_filters_by_the_operator_and_by_an_unknown_account() -> TestResult {
    use diesel::connection::SimpleConnection;
    let app = spawn_app().await?;
    let people = team(&app, Plan::Premium, &[]).await?;
    let owner = &people[0];
    call(&app, Method::POST, owner, "/api/projects/", Some(serde_json::json!({"name": "Mine"}))).await?;
    app.in_tenant("acme", |conn| {
        conn.batch_execute(
            "INSERT INTO activity (actor_id, verb, target_type, target_id) VALUES \
             (-1, 'created', 'task', 41), (-1, 'updated', 'task', 41), (0, 'created', 'project', 7)",
        )
    })
    .await?;
    // the operator also added olga (a membership row of actor 0)
    for (actor, expected) in [("-1", vec![41, 41]), ("0", vec![7, 1]), (&*owner.user_id.to_string(), vec![1])] {
        let (status, log) = call(&app, Method::GET, owner, &format!("/api/activity/?actor={actor}"), None).await?;
        assert_eq!(status, 200, "{actor}: {log}");
        let targets: Vec<i64> =
            log["results"].as_array().into_iter().flatten().filter_map(|r| r["target_id"].as_i64()).collect();
        assert_eq!(targets, expected, "{actor}: {log}");
        assert!(log["results"].as_array().into_iter().flatten().all(|r| r["actor_id"].as_i64() == actor.parse().ok()));
    }
    let (status, body) = call(&app, Method::GET, owner, "/api/activity/?actor=-2", None).await?;
    assert_eq!(
        (status, body["error"]["fields"]["actor"][0].as_str()),
        (400, Some("Ensure this value is greater than or equal to -1."))
    );
    let (status, body) = call(&app, Method::GET, owner, "/api/activity/?actor=x&project=0", None).await?;
    assert_eq!(
        (status, body["error"]["fields"]["actor"][0].as_str(), body["error"]["fields"]["project"][0].as_str()),
        (400, Some("A valid integer is required."), Some("Ensure this value is greater than or equal to 1."))
    );
    Ok(())
}

/// A `PATCH` gives what it changes, as DRF's partial update: without the
/// comment's text or the member's role it changes nothing and answers the
/// object as it is (a blank text is still refused, and a viewer still may
/// not manage members).
#[tokio::test]
async fn a_patch_without_fields_changes_nothing_on_comments_and_members() -> TestResult {
    let app = spawn_app().await?;
    let sessions = team(&app, Plan::Basic, &[("mia", Role::Member), ("vic", Role::Viewer)]).await?;
    let (owner, mia, vic) = (&sessions[0], &sessions[1], &sessions[2]);
    let (_, project) =
        call(&app, Method::POST, owner, "/api/projects/", Some(serde_json::json!({"name": "P"}))).await?;
    let tasks = format!("/api/projects/{}/tasks/", project["id"]);
    let (_, task) = call(&app, Method::POST, owner, &tasks, Some(serde_json::json!({"title": "T"}))).await?;
    let comments = format!("/api/tasks/{}/comments/", task["id"]);
    let (status, comment) =
        call(&app, Method::POST, mia, &comments, Some(serde_json::json!({"body": "first"}))).await?;
    assert_eq!(status, 201);
    let path = format!("/api/comments/{}/", comment["id"]);

    let (status, same) = call(&app, Method::PATCH, mia, &path, Some(serde_json::json!({}))).await?;
    assert_eq!((status, &same), (200, &comment));
    let (status, body) = call(&app, Method::PATCH, mia, &path, Some(serde_json::json!({"body": " "}))).await?;
    assert_eq!((status, body["error"]["fields"]["body"][0].as_str()), (400, Some("This field may not be blank.")));
    let (status, _) = call(&app, Method::PATCH, vic, &path, Some(serde_json::json!({}))).await?;
    assert_eq!(status, 403, "not the author");
    let (status, edited) = call(&app, Method::PATCH, mia, &path, Some(serde_json::json!({"body": "second"}))).await?;
    assert_eq!((status, edited["body"].as_str()), (200, Some("second")));

    // null is a value DRF refuses where a field may not be null, not an
    // absent field: nothing changes (the task's assignee and due date take it)
    let project_path = format!("/api/projects/{}/", project["id"]);
    let (status, body) = call(
        &app,
        Method::PATCH,
        owner,
        &project_path,
        Some(serde_json::json!({"description": null, "status": null, "name": "Q", "unknown": null})),
    )
    .await?;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        body["error"]["fields"],
        serde_json::json!({"description": ["This field may not be null."], "status": ["This field may not be null."]})
    );
    let (_, unchanged) = call(&app, Method::GET, owner, &project_path, None).await?;
    assert_eq!(unchanged["name"], "P");
    let task_path = format!("/api/tasks/{}/", task["id"]);
    let (status, cleared) =
        call(&app, Method::PATCH, owner, &task_path, Some(serde_json::json!({"assignee_id": null, "due_date": null})))
            .await?;
    assert_eq!((status, cleared["due_date"].is_null()), (200, true), "{cleared}");
    let (status, body) = call(&app, Method::PATCH, mia, &path, Some(serde_json::json!({"body": null}))).await?;
    assert_eq!((status, body["error"]["fields"]["body"][0].as_str()), (400, Some("This field may not be null.")));

    let ids = app.membership_ids("acme", &owner.access).await?;
    let member = format!("/api/tenants/members/{}/", ids["mia"]);
    let (status, unchanged) = call(&app, Method::PATCH, owner, &member, Some(serde_json::json!({}))).await?;
    assert_eq!(
        (status, unchanged["role"].as_str(), unchanged["username"].as_str()),
        (200, Some("member"), Some("mia"))
    );
    let (status, body) = call(&app, Method::PATCH, vic, &member, Some(serde_json::json!({}))).await?;
    assert_eq!((status, body["error"]["code"].as_str()), (403, Some("permission_denied")));
    let (status, body) = call(&app, Method::PATCH, owner, &member, Some(serde_json::json!({"role": "boss"}))).await?;
    assert_eq!((status, body["error"]["fields"]["role"][0].as_str()), (400, Some("\"boss\" is not a valid choice.")));
    let (status, log) = call(&app, Method::GET, owner, "/api/activity/?target_type=membership", None).await?;
    assert_eq!(status, 200);
    let changed = log["results"].as_array().into_iter().flatten().filter(|e| e["verb"] == "updated").count();
    assert_eq!(changed, 0, "nothing logged: {log}");
    Ok(())
}

/// A body is read as its `Content-Encoding` says or refused: gzip and
/// deflate are decoded, an unknown coding or a list of them is `415`
/// (reading the bytes as plain would read another body than a proxy that
/// honours the header), and a body that is not the coding it claims is
/// `400 invalid_json` in a sentence, not a decoder's debug output.
#[tokio::test]
async fn a_body_is_read_as_its_content_encoding_says_or_refused() -> TestResult {
    use std::io::Write as _;
    let app = spawn_app().await?;
    let sessions = team(&app, Plan::Basic, &[]).await?;
    let owner = &sessions[0];
    let plain = br#"{"name": "Zipped"}"#.to_vec();
    let gzipped = {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(&plain)?;
        encoder.finish()?
    };
    let send = |coding: &'static str, body: Vec<u8>| {
        app.call_as(Method::POST, "acme", &owner.access, "/api/projects/")
            .header("content-type", "application/json")
            .header("content-encoding", coding)
            .body(body)
            .send()
    };
    let (status, project) = json(send("gzip", gzipped.clone()).await?).await?;
    assert_eq!((status, project["name"].as_str()), (201, Some("Zipped")));
    for (coding, body) in
        [("foo", plain.clone()), ("br", plain.clone()), ("gzip, gzip", gzipped.clone()), ("x-gzip", gzipped.clone())]
    {
        let (status, answer) = json(send(coding, body).await?).await?;
        assert_eq!((status, answer["error"]["code"].as_str()), (415, Some("unsupported_media_type")), "{coding}");
        assert!(answer["error"]["message"].as_str().is_some_and(|m| m.contains(coding)), "{coding}: {answer}");
    }
    for coding in ["deflate", "gzip"] {
        let (status, answer) = json(send(coding, plain.clone()).await?).await?;
        assert_eq!((status, answer["error"]["code"].as_str()), (400, Some("invalid_json")), "{coding}");
        assert_eq!(
            answer["error"]["message"].as_str(),
            Some(&*format!("The body could not be read: it is not {coding} data, as its Content-Encoding says.")),
        );
    }
    // no body at all is `{}`, whatever its coding says
    let empty = app
        .call_as(Method::PATCH, "acme", &owner.access, &format!("/api/projects/{}/", project["id"]))
        .header("content-type", "application/json")
        .header("content-encoding", "gzip")
        .header("content-length", "0")
        .send()
        .await?;
    assert_eq!(empty.status().as_u16(), 200);
    // two Content-Types are refused whatever their order, as two codings are
    for types in [["application/json", "text/plain"], ["text/plain", "application/json"]] {
        let twice = app
            .call_as(Method::POST, "acme", &owner.access, "/api/projects/")
            .header("content-type", types[0])
            .header("content-type", types[1])
            .body(r#"{"name": "Twice"}"#)
            .send()
            .await?;
        let (status, answer) = json(twice).await?;
        assert_eq!((status, answer["error"]["code"].as_str()), (415, Some("unsupported_media_type")), "{types:?}");
    }
    let (status, list) = json(app.get_as("acme", &owner.access, "/api/projects/").send().await?).await?;
    assert_eq!((status, list["count"].as_u64()), (200, Some(1)), "only the gzip one was made: {list}");
    Ok(())
}

//! Reports checked against counts computed here, from data planted with
//! known dates; correct with no data; the chart is well-formed SVG.

use chrono::{Datelike, Duration, NaiveDate, Utc};
use diesel::connection::SimpleConnection;
use taskforce_domain::{Plan, Role};
use taskforce_tests::{TestApp, TestResult, json, spawn_app};

/// A task as planted: project, status, priority, assignee, created and
/// completed (days ago), due (days from today).
struct Planted {
    project: i64,
    status: &'static str,
    priority: &'static str,
    assignee: Option<i64>,
    created_days_ago: i64,
    completed_days_ago: Option<i64>,
    due_in_days: Option<i64>,
}

async fn plant(app: &TestApp, owner: i64, tasks: &[Planted]) -> TestResult {
    plant_in(app, "acme", owner, 2, tasks).await
}

/// Plants projects 1..=`projects` and the tasks in a tenant's schema.
async fn plant_in(app: &TestApp, slug: &str, owner: i64, projects: i64, tasks: &[Planted]) -> TestResult {
    let mut sql = String::new();
    for id in 1..=projects {
        sql.push_str(&format!(
            "INSERT INTO projects (id, name, owner_id) OVERRIDING SYSTEM VALUE VALUES ({id}, 'P{id}', {owner});"
        ));
    }
    for t in tasks {
        let assignee = t.assignee.map_or("NULL".to_owned(), |a| a.to_string());
        let completed = t.completed_days_ago.map_or("NULL".to_owned(), |d| format!("now() - interval '{d} days'"));
        let due = t.due_in_days.map_or("NULL".to_owned(), |d| format!("(now() AT TIME ZONE 'UTC')::date + {d}"));
        sql.push_str(&format!(
            "INSERT INTO tasks (project_id, title, status, priority, assignee_id, created_by, created_at, completed_at, due_date)
             VALUES ({}, 't', '{}', '{}', {assignee}, {owner}, now() - interval '{} days', {completed}, {due});",
            t.project, t.status, t.priority, t.created_days_ago
        ));
    }
    app.in_tenant(slug, move |conn| conn.batch_execute(&sql)).await
}

fn monday(date: NaiveDate) -> NaiveDate {
    date - Duration::days(i64::from(date.weekday().num_days_from_monday()))
}

#[tokio::test]
async fn reports_match_counts_computed_independently() -> TestResult {
    let app = spawn_app().await?;
    app.create_tenant("acme", Plan::Enterprise, false).await?;
    let owner = app.member("acme", "olga", Role::Owner).await?;
    let mia = app.member("acme", "mia", Role::Member).await?;
    app.member("acme", "vic", Role::Viewer).await?;
    let session = app.login("acme", "olga").await?;
    let tasks = [
        Planted {
            project: 1,
            status: "todo",
            priority: "low",
            assignee: Some(mia),
            created_days_ago: 1,
            completed_days_ago: None,
            due_in_days: Some(-2),
        },
        Planted {
            project: 1,
            status: "todo",
            priority: "high",
            assignee: None,
            created_days_ago: 3,
            completed_days_ago: None,
            due_in_days: Some(3),
        },
        Planted {
            project: 1,
            status: "in_progress",
            priority: "urgent",
            assignee: Some(mia),
            created_days_ago: 10,
            completed_days_ago: None,
            due_in_days: Some(0),
        },
        Planted {
            project: 1,
            status: "done",
            priority: "medium",
            assignee: Some(mia),
            created_days_ago: 20,
            completed_days_ago: Some(2),
            due_in_days: Some(-5),
        },
        Planted {
            project: 2,
            status: "done",
            priority: "medium",
            assignee: Some(owner),
            created_days_ago: 40,
            completed_days_ago: Some(35),
            due_in_days: None,
        },
        Planted {
            project: 2,
            status: "in_review",
            priority: "high",
            assignee: None,
            created_days_ago: 100,
            completed_days_ago: None,
            due_in_days: Some(10),
        },
        // the edges of "the next 7 days": the sixth day after today is in, the seventh is not
        Planted { project: 2, due_in_days: Some(6), ..task("todo", "low", Some(owner)) },
        Planted { project: 2, due_in_days: Some(7), ..task("todo", "low", Some(owner)) },
        Planted {
            project: 2,
            status: "done",
            priority: "low",
            assignee: None,
            created_days_ago: 5,
            completed_days_ago: Some(1),
            due_in_days: Some(-1),
        },
    ];
    plant(&app, owner, &tasks).await?;
    let today = Utc::now().date_naive();

    // summary, computed here from the planted rows
    let open = |t: &&Planted| t.status != "done";
    let expected_overdue = tasks.iter().filter(open).filter(|t| t.due_in_days.is_some_and(|d| d < 0)).count();
    let expected_soon =
        tasks.iter().filter(open).filter(|t| t.due_in_days.is_some_and(|d| (0..7).contains(&d))).count();
    let expected_unassigned = tasks.iter().filter(open).filter(|t| t.assignee.is_none()).count();
    let (status, summary) = json(app.get_as("acme", &session.access, "/api/reports/summary/").send().await?).await?;
    assert_eq!(status, 200, "{summary}");
    assert_eq!(summary["projects"], 2);
    assert_eq!(summary["members"], 3);
    assert_eq!(summary["tasks"]["total"], tasks.len());
    for status in ["todo", "in_progress", "in_review", "done"] {
        assert_eq!(
            summary["tasks"]["by_status"][status],
            tasks.iter().filter(|t| t.status == status).count(),
            "{status}"
        );
    }
    for priority in ["low", "medium", "high", "urgent"] {
        assert_eq!(
            summary["tasks"]["by_priority"][priority],
            tasks.iter().filter(|t| t.priority == priority).count(),
            "{priority}"
        );
    }
    assert_eq!(summary["tasks"]["overdue"], expected_overdue);
    assert_eq!(summary["tasks"]["due_next_7_days"], expected_soon);
    assert_eq!(expected_soon, 3, "due today, in 3 days and in 6 days; not in 7 or 10");
    assert_eq!(summary["tasks"]["unassigned"], expected_unassigned);
    let (_, one) = json(app.get_as("acme", &session.access, "/api/reports/summary/?project=1").send().await?).await?;
    assert_eq!((one["projects"].as_u64(), one["tasks"]["total"].as_u64()), (Some(1), Some(4)));
    // an empty ?project= is no filter (the whole tenant), an empty ?format= JSON
    let (status, all) =
        json(app.get_as("acme", &session.access, "/api/reports/summary/?project=").send().await?).await?;
    assert_eq!((status, &all), (200, &summary), "{all}");
    let throughput = |query: &'static str| {
        let request = app.get_as("acme", &session.access, &format!("/api/reports/throughput/?weeks=8{query}")).send();
        async move { json(request.await?).await }
    };
    let (plain, blank) = (throughput("").await?, throughput("&format=&project=").await?);
    assert_eq!((blank.0, &blank.1), (200, &plain.1), "{blank:?}");

    // throughput: 8 weeks, oldest first, each task counted in its UTC week
    let (status, weeks) =
        json(app.get_as("acme", &session.access, "/api/reports/throughput/?weeks=8").send().await?).await?;
    assert_eq!(status, 200, "{weeks}");
    let weeks = weeks.as_array().ok_or("not a list")?;
    assert_eq!(weeks.len(), 8);
    let this_monday = monday(today);
    for (i, week) in weeks.iter().enumerate() {
        let start = this_monday - Duration::weeks(7 - i as i64);
        assert_eq!(week["week_start"], start.format("%Y-%m-%d").to_string());
        let in_week = |days_ago: i64| {
            let day = today - Duration::days(days_ago);
            day >= start && day < start + Duration::days(7)
        };
        assert_eq!(week["created"], tasks.iter().filter(|t| in_week(t.created_days_ago)).count(), "created in {start}");
        assert_eq!(
            week["completed"],
            tasks.iter().filter(|t| t.completed_days_ago.is_some_and(in_week)).count(),
            "completed in {start}"
        );
    }

    // workload per member, in join order
    let (_, workload) = json(app.get_as("acme", &session.access, "/api/reports/workload/").send().await?).await?;
    let rows = workload.as_array().ok_or("not a list")?;
    assert_eq!(
        rows.iter().map(|r| r["username"].as_str().unwrap_or("")).collect::<Vec<_>>(),
        vec!["olga", "mia", "vic"]
    );
    for row in rows {
        let user = row["user_id"].as_i64();
        let mine: Vec<&Planted> = tasks.iter().filter(|t| t.assignee == user).collect();
        assert_eq!(row["open"], mine.iter().filter(|t| t.status != "done").count());
        assert_eq!(
            row["overdue"],
            mine.iter().filter(|t| t.status != "done" && t.due_in_days.is_some_and(|d| d < 0)).count()
        );
        assert_eq!(
            row["completed_last_30_days"],
            mine.iter().filter(|t| t.status == "done" && t.completed_days_ago.is_some_and(|d| d < 30)).count()
        );
    }

    // cycle time of project 1's one done task: 20 - 2 = 18 days
    let (_, cycle) =
        json(app.get_as("acme", &session.access, "/api/reports/cycle-time/?project=1").send().await?).await?;
    assert_eq!(cycle["completed"], 1);
    let median = cycle["median_hours"].as_f64().ok_or("no median")?;
    assert!((median - 18.0 * 24.0).abs() < 0.01, "{median}");
    let (_, all) = json(app.get_as("acme", &session.access, "/api/reports/cycle-time/").send().await?).await?;
    let mut hours: Vec<f64> =
        tasks.iter().filter_map(|t| t.completed_days_ago.map(|c| (t.created_days_ago - c) as f64 * 24.0)).collect();
    hours.sort_by(f64::total_cmp);
    assert_eq!(all["completed"], hours.len());
    assert!((all["median_hours"].as_f64().ok_or("median")? - hours[1]).abs() < 0.01, "{all}");
    // the 85th percentile, interpolated between the second and third of three
    assert_eq!(hours.len(), 3);
    let p85 = hours[1] + 0.7 * (hours[2] - hours[1]);
    assert!((all["p85_hours"].as_f64().ok_or("p85")? - p85).abs() < 0.01, "{all}: expected {p85}");
    Ok(())
}

#[tokio::test]
async fn reports_are_right_with_no_data_and_refuse_bad_input() -> TestResult {
    let app = spawn_app().await?;
    app.create_tenant("acme", Plan::Free, false).await?;
    app.member("acme", "olga", Role::Owner).await?;
    let session = app.login("acme", "olga").await?;
    let (status, summary) = json(app.get_as("acme", &session.access, "/api/reports/summary/").send().await?).await?;
    assert_eq!(status, 200);
    assert_eq!(
        summary,
        serde_json::json!({"projects": 0, "members": 1, "tasks": {"total": 0, "overdue": 0, "due_next_7_days": 0, "unassigned": 0,
            "by_status": {"todo": 0, "in_progress": 0, "in_review": 0, "done": 0},
            "by_priority": {"low": 0, "medium": 0, "high": 0, "urgent": 0}}})
    );
    let (_, weeks) = json(app.get_as("acme", &session.access, "/api/reports/throughput/").send().await?).await?;
    let weeks = weeks.as_array().ok_or("not a list")?;
    assert_eq!(weeks.len(), 12);
    assert!(weeks.iter().all(|w| w["created"] == 0 && w["completed"] == 0));
    // a form that sends every field, blank ones too: a blank is no filter
    let (status, blank) =
        json(app.get_as("acme", &session.access, "/api/reports/throughput/?weeks=&project=&format=").send().await?)
            .await?;
    assert_eq!(status, 200, "{blank}");
    assert_eq!(blank.as_array().map(Vec::len), Some(12), "{blank}");
    let (_, cycle) = json(app.get_as("acme", &session.access, "/api/reports/cycle-time/").send().await?).await?;
    assert_eq!(cycle, serde_json::json!({"completed": 0, "median_hours": null, "p85_hours": null}));
    for bad in [
        "/api/reports/throughput/?weeks=0",
        "/api/reports/throughput/?weeks=105",
        "/api/reports/throughput/?weeks=x",
        "/api/reports/throughput/?format=pdf",
        "/api/reports/summary/?project=abc",
    ] {
        let (status, body) = json(app.get_as("acme", &session.access, bad).send().await?).await?;
        assert_eq!((status, body["error"]["code"].as_str()), (400, Some("validation_failed")), "{bad}");
    }
    let (status, body) =
        json(app.get_as("acme", &session.access, "/api/reports/summary/?project=999").send().await?).await?;
    assert_eq!((status, body["error"]["code"].as_str()), (404, Some("not_found")), "{body}");
    // every field's problem in one answer
    let all_wrong = "/api/reports/throughput/?weeks=-1&format=pdf&project=x";
    let (status, body) = json(app.get_as("acme", &session.access, all_wrong).send().await?).await?;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        (
            body["error"]["fields"]["weeks"][0].as_str(),
            body["error"]["fields"]["format"][0].as_str(),
            body["error"]["fields"]["project"][0].is_string()
        ),
        (Some("Ensure this value is between 1 and 104."), Some("\"pdf\" is not a valid choice."), true),
        "{body}"
    );
    // DRF's integer reading: `12.0` is 12; a blank format is no filter
    let (status, weeks) =
        json(app.get_as("acme", &session.access, "/api/reports/throughput/?weeks=3.0&format=%20").send().await?)
            .await?;
    assert_eq!((status, weeks.as_array().map(Vec::len)), (200, Some(3)), "{weeks}");
    Ok(())
}

#[tokio::test]
async fn the_throughput_chart_is_well_formed_svg_with_one_group_per_week_and_csv_matches() -> TestResult {
    let app = spawn_app().await?;
    app.create_tenant("acme", Plan::Enterprise, false).await?;
    let owner = app.member("acme", "olga", Role::Owner).await?;
    let session = app.login("acme", "olga").await?;
    plant(
        &app,
        owner,
        &[Planted {
            project: 1,
            status: "done",
            priority: "low",
            assignee: None,
            created_days_ago: 9,
            completed_days_ago: Some(1),
            due_in_days: None,
        }],
    )
    .await?;
    let response = app.get_as("acme", &session.access, "/api/reports/throughput/?weeks=6&format=svg").send().await?;
    let header = |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    assert_eq!(header("content-type").as_deref(), Some("image/svg+xml; charset=utf-8"));
    // opened on its own it is a document: nothing runs, nothing is sniffed
    assert_eq!(header("x-content-type-options").as_deref(), Some("nosniff"));
    assert!(header("content-security-policy").is_some_and(|csp| csp.starts_with("default-src 'none'")));
    let svg = response.text().await?;
    let document = roxmltree::Document::parse(&svg)?;
    assert_eq!(document.root_element().tag_name().name(), "svg");
    let groups: Vec<_> = document.descendants().filter(|n| n.attribute("class") == Some("week")).collect();
    assert_eq!(groups.len(), 6);
    let (status, weeks) =
        json(app.get_as("acme", &session.access, "/api/reports/throughput/?weeks=6").send().await?).await?;
    assert_eq!(status, 200, "{weeks}");
    let weeks = weeks.as_array().ok_or("list")?;
    assert_eq!((groups.len(), weeks.len()), (6, 6));
    for (group, week) in groups.iter().zip(weeks) {
        assert_eq!(group.attribute("data-week"), week["week_start"].as_str());
        assert_eq!(group.children().filter(|n| n.tag_name().name() == "rect").count(), 2);
    }
    let csv =
        app.get_as("acme", &session.access, "/api/reports/throughput/?weeks=6&format=csv").send().await?.text().await?;
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "week_start,created,completed");
    assert_eq!(lines.len(), 7);
    let total_created: u64 = lines[1..].iter().filter_map(|l| l.split(',').nth(1)?.parse::<u64>().ok()).sum();
    let total_completed: u64 = lines[1..].iter().filter_map(|l| l.split(',').nth(2)?.parse::<u64>().ok()).sum();
    assert_eq!((total_created, total_completed), (1, 1));
    Ok(())
}

/// `GET /api/reports/summary/` as computed here from planted tasks.
fn expected_summary(projects: usize, members: usize, tasks: &[Planted]) -> serde_json::Value {
    let count = |keep: &dyn Fn(&Planted) -> bool| tasks.iter().filter(|t| keep(t)).count();
    let open = |t: &Planted| t.status != "done";
    serde_json::json!({
        "projects": projects,
        "members": members,
        "tasks": {
            "total": tasks.len(),
            "by_status": {
                "todo": count(&|t| t.status == "todo"),
                "in_progress": count(&|t| t.status == "in_progress"),
                "in_review": count(&|t| t.status == "in_review"),
                "done": count(&|t| t.status == "done"),
            },
            "by_priority": {
                "low": count(&|t| t.priority == "low"),
                "medium": count(&|t| t.priority == "medium"),
                "high": count(&|t| t.priority == "high"),
                "urgent": count(&|t| t.priority == "urgent"),
            },
            "overdue": count(&|t| open(t) && t.due_in_days.is_some_and(|d| d < 0)),
            "due_next_7_days": count(&|t| open(t) && t.due_in_days.is_some_and(|d| (0..7).contains(&d))),
            "unassigned": count(&|t| open(t) && t.assignee.is_none()),
        },
    })
}

/// A task of project 1 with a status and an assignee, nothing else set.
fn task(status: &'static str, priority: &'static str, assignee: Option<i64>) -> Planted {
    Planted {
        project: 1,
        status,
        priority,
        assignee,
        created_days_ago: 3,
        completed_days_ago: (status == "done").then_some(1),
        due_in_days: None,
    }
}

/// Two tenants with the same project and task ids and different contents:
/// each one's reports count its own rows and members, never the other's.
#[tokio::test]
async fn each_tenant_s_reports_count_only_its_own_rows() -> TestResult {
    let app = spawn_app().await?;
    app.create_tenant("alpha", Plan::Enterprise, false).await?;
    app.create_tenant("beta", Plan::Enterprise, false).await?;
    let ann = app.member("alpha", "ann", Role::Owner).await?;
    let amy = app.member("alpha", "amy", Role::Member).await?;
    let bob = app.member("beta", "bob", Role::Owner).await?;
    let bea = app.member("beta", "bea", Role::Member).await?;
    app.member("beta", "ben", Role::Viewer).await?;
    let alpha_tasks = [task("todo", "low", Some(amy)), task("done", "high", Some(amy))];
    let mut beta_tasks = vec![
        task("in_progress", "urgent", Some(bea)),
        task("in_progress", "urgent", Some(bea)),
        task("in_review", "medium", Some(bob)),
        task("todo", "medium", None),
        task("done", "low", Some(bob)),
        task("done", "high", Some(bea)),
    ];
    (beta_tasks[4].project, beta_tasks[5].project) = (3, 2);
    plant_in(&app, "alpha", ann, 1, &alpha_tasks).await?;
    plant_in(&app, "beta", bob, 3, &beta_tasks).await?;
    let (alpha, beta) = (app.login("alpha", "ann").await?, app.login("beta", "ben").await?);
    let expected =
        [("alpha", &alpha, expected_summary(1, 2, &alpha_tasks)), ("beta", &beta, expected_summary(3, 3, &beta_tasks))];
    assert_ne!(expected[0].2, expected[1].2);
    for (slug, session, summary) in &expected {
        let (status, body) = json(app.get_as(slug, &session.access, "/api/reports/summary/").send().await?).await?;
        assert_eq!((status, &body), (200, summary), "{slug}");
        // project 1 exists in both, with different tasks
        let (status, one) =
            json(app.get_as(slug, &session.access, "/api/reports/summary/?project=1").send().await?).await?;
        let in_one = if *slug == "alpha" { 2 } else { 4 };
        assert_eq!((status, one["tasks"]["total"].as_u64()), (200, Some(in_one)), "{slug}: {one}");
    }
    // project 3 is beta's alone
    let (status, body) =
        json(app.get_as("alpha", &alpha.access, "/api/reports/summary/?project=3").send().await?).await?;
    assert_eq!((status, body["error"]["code"].as_str()), (404, Some("not_found")), "{body}");

    // workload: each tenant's own members, with their own open tasks
    let workload = |slug: &'static str, token: &str| {
        let request = app.get_as(slug, token, "/api/reports/workload/").send();
        async move {
            let (status, body) = json(request.await?).await?;
            assert_eq!(status, 200, "{slug}: {body}");
            let rows = body.as_array().ok_or("not a list")?;
            Ok::<_, Box<dyn std::error::Error>>(
                rows.iter().map(|r| serde_json::json!([r["username"], r["open"]])).collect::<Vec<_>>(),
            )
        }
    };
    let alpha_rows = serde_json::json!([["ann", 0], ["amy", 1]]);
    let beta_rows = serde_json::json!([["bob", 1], ["bea", 2], ["ben", 0]]);
    assert_eq!(serde_json::Value::from(workload("alpha", &alpha.access).await?), alpha_rows);
    assert_eq!(serde_json::Value::from(workload("beta", &beta.access).await?), beta_rows);
    // cycle time: one done task in alpha, two in beta
    for ((slug, session, _), done) in expected.iter().zip([1, 2]) {
        let (status, cycle) = json(app.get_as(slug, &session.access, "/api/reports/cycle-time/").send().await?).await?;
        assert_eq!((status, cycle["completed"].as_u64()), (200, Some(done)), "{slug}: {cycle}");
    }
    Ok(())
}

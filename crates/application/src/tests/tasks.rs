//! [`Tasks`](crate::Tasks): the tenant-wide plan limit, the role matrix,
//! assignees, `completed_at`, `If-Match`, activity, cascades and the list's
//! filters and orderings.

use chrono::{Duration, NaiveDate};
use serde_json::json;
use taskforce_domain::{
    CommentBody, LimitedResource, Plan, Priority, ProjectId, Role, SearchTerms, TargetType, Task, TaskFilter, TaskId,
    TaskOrdering, TaskStatus, TaskTitle, Usage, Verb,
};

use super::crew::{Crew, change_plan, changes, crew, project, task, work_log};
use crate::{
    IfMatch, PageRequest, TaskPatch, Tasks, WorkError,
    testing::{TestResult, World, refused},
};

fn retitled(title: &str) -> TestResult<TaskPatch> {
    Ok(TaskPatch { title: Some(TaskTitle::parse(title)?), ..TaskPatch::default() })
}

fn status(status: TaskStatus) -> TaskPatch {
    TaskPatch { status: Some(status), ..TaskPatch::default() }
}

fn date(text: &str) -> TestResult<NaiveDate> {
    Ok(text.parse()?)
}

/// The crew with one project of olga's.
fn with_project(world: &World, plan: Plan) -> TestResult<(Crew, ProjectId)> {
    let crew = crew(world, plan)?;
    let project = world.projects().create(&crew.olga, &project("Apollo")?)?;
    Ok((crew, project.id))
}

#[test]
fn the_free_plan_allows_ten_tasks_until_the_plan_changes() -> TestResult {
    let world = World::new();
    let (crew, apollo) = with_project(&world, Plan::Free)?;
    let tasks = world.tasks();
    for n in 1..=10 {
        tasks.create(&crew.mia, apollo, &task(&format!("Step {n}"))?)?;
    }

    let error = refused(tasks.create(&crew.olga, apollo, &task("Step 11")?))?;

    assert!(matches!(error, WorkError::PlanLimit { resource: LimitedResource::Tasks, limit: 10 }), "{error:?}");
    assert_eq!(world.store.snapshot().tasks(&crew.tenant.schema_name).len(), 10);
    let task_rows = work_log(&world, &crew.tenant).iter().filter(|a| a.target_type == TargetType::Task).count();
    assert_eq!(task_rows, 10, "the refused create left an activity row");

    change_plan(&world, &crew.tenant, Plan::Basic)?;
    let eleventh = tasks.create(&crew.olga, apollo, &task("Step 11")?)?;
    assert_eq!(eleventh.title.as_str(), "Step 11");
    assert_eq!(world.members().overview(&crew.olga)?.usage, Usage { projects: 1, tasks: 11 });
    Ok(())
}

#[test]
fn the_task_limit_counts_every_project_of_the_tenant() -> TestResult {
    let world = World::new();
    let (crew, apollo) = with_project(&world, Plan::Basic)?;
    let tasks = world.tasks();
    for n in 1..=50 {
        tasks.create(&crew.olga, apollo, &task(&format!("Step {n}"))?)?;
    }
    let gemini = world.projects().create(&crew.olga, &project("Gemini")?)?;

    let error = refused(tasks.create(&crew.olga, gemini.id, &task("First of Gemini")?))?;

    assert!(matches!(error, WorkError::PlanLimit { resource: LimitedResource::Tasks, limit: 50 }), "{error:?}");
    // deleting one makes room
    let first = tasks.list(&crew.olga, apollo, &TaskFilter::default(), PageRequest::default())?.items[0].id;
    tasks.delete(&crew.olga, first, None)?;
    tasks.create(&crew.olga, gemini.id, &task("First of Gemini")?)?;
    Ok(())
}

#[test]
fn a_task_is_created_in_a_known_project_only() -> TestResult {
    let world = World::new();
    let (crew, apollo) = with_project(&world, Plan::Basic)?;
    let before = work_log(&world, &crew.tenant);

    let unknown = refused(world.tasks().create(&crew.olga, ProjectId(apollo.0 + 1000), &task("Lost")?))?;
    let listed = refused(world.tasks().list(
        &crew.olga,
        ProjectId(apollo.0 + 1000),
        &TaskFilter::default(),
        PageRequest::default(),
    ))?;

    assert!(matches!(unknown, WorkError::NotFound), "{unknown:?}");
    assert!(matches!(listed, WorkError::NotFound), "{listed:?}");
    assert!(world.store.snapshot().tasks(&crew.tenant.schema_name).is_empty());
    assert_eq!(work_log(&world, &crew.tenant), before);
    Ok(())
}

#[test]
fn create_logs_every_field_and_delete_logs_them_back_to_null() -> TestResult {
    let world = World::new();
    let (crew, apollo) = with_project(&world, Plan::Basic)?;
    let mut fields = task("Launch")?;
    fields.description = taskforce_domain::Description::parse("Count down")?;
    fields.priority = Priority::Urgent;
    fields.assignee_id = Some(crew.max.user);
    fields.due_date = Some(date("2026-03-10")?);

    let created = world.tasks().create(&crew.mia, apollo, &fields)?;
    let deleted = world.tasks().delete(&crew.mia, created.id, None)?;

    assert_eq!((created.project_id, created.created_by, created.version), (apollo, crew.mia.user, 1));
    assert_eq!((created.created_at, created.completed_at), (world.now(), None));
    assert_eq!(deleted, created);
    let log = work_log(&world, &crew.tenant);
    let [_, create, delete] = &log[..] else { return Err(format!("{log:?}").into()) };
    let max = crew.max.user.0;
    assert_eq!(
        (create.verb, create.actor, create.target_type, create.target_id, create.project_id),
        (Verb::Created, crew.mia.user, TargetType::Task, created.id.0, Some(apollo.0))
    );
    assert_eq!(
        changes(create),
        json!({
            "title": [null, "Launch"], "description": [null, "Count down"], "status": [null, "todo"],
            "priority": [null, "urgent"], "assignee_id": [null, max], "due_date": [null, "2026-03-10"],
        })
    );
    assert_eq!((delete.verb, delete.target_id, delete.project_id), (Verb::Deleted, created.id.0, Some(apollo.0)));
    assert_eq!(
        changes(delete),
        json!({
            "title": ["Launch", null], "description": ["Count down", null], "status": ["todo", null],
            "priority": ["urgent", null], "assignee_id": [max, null], "due_date": ["2026-03-10", null],
        })
    );
    assert!(world.store.snapshot().tasks(&crew.tenant.schema_name).is_empty());
    Ok(())
}

#[test]
fn a_member_updates_as_creator_or_assignee_and_deletes_as_creator() -> TestResult {
    let world = World::new();
    let (crew, apollo) = with_project(&world, Plan::Basic)?;
    let tasks = world.tasks();
    let mut assigned = task("Assigned to mia")?;
    assigned.assignee_id = Some(crew.mia.user);
    let assigned = tasks.create(&crew.olga, apollo, &assigned)?;
    let olgas = tasks.create(&crew.olga, apollo, &task("Olga's")?)?;
    let mias = tasks.create(&crew.mia, apollo, &task("Mia's")?)?;
    let logged = work_log(&world, &crew.tenant).len();

    let refusals = [
        refused(tasks.delete(&crew.mia, assigned.id, None))?,
        refused(tasks.update(&crew.mia, olgas.id, &retitled("Taken")?, None))?,
        refused(tasks.delete(&crew.mia, olgas.id, None))?,
        refused(tasks.update(&crew.max, mias.id, &retitled("Taken")?, None))?,
        refused(tasks.delete(&crew.max, mias.id, None))?,
        refused(tasks.update(&crew.vic, olgas.id, &retitled("Taken")?, None))?,
        refused(tasks.delete(&crew.vic, olgas.id, None))?,
        refused(tasks.create(&crew.vic, apollo, &task("Vic's")?))?,
    ];

    for error in &refusals {
        assert!(matches!(error, WorkError::Denied(_)), "{error:?}");
    }
    assert_eq!(world.store.snapshot().tasks(&crew.tenant.schema_name), [assigned.clone(), olgas.clone(), mias.clone()]);
    assert_eq!(work_log(&world, &crew.tenant).len(), logged, "refusals left activity rows");
    // a viewer reads
    assert_eq!(tasks.get(&crew.vic, olgas.id)?, olgas);
    assert_eq!(tasks.list(&crew.vic, apollo, &TaskFilter::default(), PageRequest::default())?.total, 3);

    // what they may do
    assert_eq!(tasks.update(&crew.mia, assigned.id, &status(TaskStatus::InProgress), None)?.version, 2);
    assert_eq!(tasks.update(&crew.mia, mias.id, &retitled("Mia's, renamed")?, None)?.version, 2);
    tasks.delete(&crew.mia, mias.id, None)?;
    assert_eq!(tasks.update(&crew.adam, olgas.id, &retitled("Adam's edit")?, None)?.version, 2);
    tasks.delete(&crew.adam, olgas.id, None)?;
    tasks.delete(&crew.olga, assigned.id, None)?;
    assert!(world.store.snapshot().tasks(&crew.tenant.schema_name).is_empty());
    Ok(())
}

#[test]
fn the_assignee_must_be_a_member_of_the_tenant() -> TestResult {
    let world = World::new();
    let (crew, apollo) = with_project(&world, Plan::Basic)?;
    let outsider = world.user("otto")?;
    let globex = world.tenant("globex", Plan::Basic)?;
    let stranger = world.member(&globex, "gus", Role::Member)?;
    let tasks = world.tasks();
    let existing = tasks.create(&crew.olga, apollo, &task("Launch")?)?;
    let before = (world.store.snapshot().tasks(&crew.tenant.schema_name).to_vec(), work_log(&world, &crew.tenant));

    let mut errors = Vec::new();
    for user in [outsider.id, stranger.user_id] {
        let mut fields = task("Assigned away")?;
        fields.assignee_id = Some(user);
        errors.push(refused(tasks.create(&crew.olga, apollo, &fields))?);
        let patch = TaskPatch { assignee_id: Some(Some(user)), ..TaskPatch::default() };
        errors.push(refused(tasks.update(&crew.olga, existing.id, &patch, None))?);
    }

    for error in &errors {
        let WorkError::Invalid(fields) = error else { return Err(format!("{error:?}").into()) };
        assert_eq!(fields.fields().keys().collect::<Vec<_>>(), ["assignee_id"]);
    }
    let after = (world.store.snapshot().tasks(&crew.tenant.schema_name).to_vec(), work_log(&world, &crew.tenant));
    assert_eq!(after, before, "a refused assignee changed something");

    let patch = TaskPatch { assignee_id: Some(Some(crew.vic.user)), ..TaskPatch::default() };
    assert_eq!(tasks.update(&crew.olga, existing.id, &patch, None)?.assignee_id, Some(crew.vic.user));
    let cleared = TaskPatch { assignee_id: Some(None), ..TaskPatch::default() };
    assert_eq!(tasks.update(&crew.olga, existing.id, &cleared, None)?.assignee_id, None);
    Ok(())
}

#[test]
fn completed_at_is_set_when_done_kept_while_done_and_cleared_when_reopened() -> TestResult {
    let world = World::new();
    let (crew, apollo) = with_project(&world, Plan::Basic)?;
    let (t1, t2, t3) =
        (world.now() + Duration::hours(1), world.now() + Duration::hours(2), world.now() + Duration::hours(3));
    let created = world.tasks().create(&crew.olga, apollo, &task("Launch")?)?;

    let done = world.tasks_at(t1).update(&crew.olga, created.id, &status(TaskStatus::Done), None)?;
    let still_done = world.tasks_at(t2).update(&crew.olga, created.id, &retitled("Launched")?, None)?;
    let done_again = world.tasks_at(t2).update(&crew.olga, created.id, &status(TaskStatus::Done), None)?;
    let reopened = world.tasks_at(t2).update(&crew.olga, created.id, &status(TaskStatus::InReview), None)?;
    let redone = world.tasks_at(t3).update(&crew.olga, created.id, &status(TaskStatus::Done), None)?;

    assert_eq!(created.completed_at, None);
    assert_eq!((done.status, done.completed_at), (TaskStatus::Done, Some(t1)));
    assert_eq!((still_done.version, still_done.completed_at), (3, Some(t1)));
    assert_eq!(done_again, still_done, "a no-op changed the task");
    assert_eq!((reopened.status, reopened.completed_at), (TaskStatus::InReview, None));
    assert_eq!(redone.completed_at, Some(t3));
    // created done
    let mut fields = task("Already done")?;
    fields.status = TaskStatus::Done;
    assert_eq!(world.tasks_at(t3).create(&crew.olga, apollo, &fields)?.completed_at, Some(t3));
    Ok(())
}

#[test]
fn an_update_logs_what_changed_and_a_no_op_writes_nothing() -> TestResult {
    let world = World::new();
    let (crew, apollo) = with_project(&world, Plan::Basic)?;
    let tasks = world.tasks();
    let created = tasks.create(&crew.olga, apollo, &task("Launch")?)?;
    world.store.advance(Duration::minutes(5));

    let patch = TaskPatch {
        title: Some(TaskTitle::parse("Launch")?),
        status: Some(TaskStatus::InProgress),
        assignee_id: Some(Some(crew.mia.user)),
        due_date: Some(Some(date("2026-03-10")?)),
        ..TaskPatch::default()
    };
    let updated = tasks.update(&crew.olga, created.id, &patch, None)?;
    let same = tasks.update(&crew.olga, created.id, &patch, None)?;
    let empty = tasks.update(&crew.mia, created.id, &TaskPatch::default(), None)?;

    assert_eq!((updated.version, updated.updated_at), (2, created.created_at + Duration::minutes(5)));
    assert_eq!(same, updated);
    assert_eq!(empty, updated);
    assert_eq!(tasks.get(&crew.olga, created.id)?, updated);
    let log = work_log(&world, &crew.tenant);
    assert_eq!(log.len(), 3, "{log:?}");
    assert_eq!((log[2].verb, log[2].actor, log[2].target_id), (Verb::Updated, crew.olga.user, created.id.0));
    assert_eq!(
        changes(&log[2]),
        json!({
            "status": ["todo", "in_progress"], "assignee_id": [null, crew.mia.user.0],
            "due_date": [null, "2026-03-10"],
        })
    );
    Ok(())
}

#[test]
fn if_match_guards_updates_and_deletes() -> TestResult {
    let world = World::new();
    let (crew, apollo) = with_project(&world, Plan::Basic)?;
    let tasks = world.tasks();
    let v1 = tasks.create(&crew.olga, apollo, &task("Launch")?)?;
    let stale = IfMatch::parse(&Tasks::etag(&v1));
    let v2 = tasks.update(&crew.olga, v1.id, &retitled("Launch 2")?, Some(&stale))?;
    let logged = work_log(&world, &crew.tenant).len();

    let update = refused(tasks.update(&crew.olga, v1.id, &retitled("Launch 3")?, Some(&stale)))?;
    let delete = refused(tasks.delete(&crew.olga, v1.id, Some(&stale)))?;

    for error in [update, delete] {
        assert!(matches!(error, WorkError::PreconditionFailed), "{error:?}");
    }
    assert_eq!(tasks.get(&crew.olga, v1.id)?, v2);
    assert_eq!(work_log(&world, &crew.tenant).len(), logged);

    let v3 = tasks.update(&crew.olga, v1.id, &retitled("Launch 3")?, Some(&IfMatch::parse(&Tasks::etag(&v2))))?;
    assert_eq!((v3.title.as_str(), v3.version), ("Launch 3", 3));
    let v4 = tasks.update(&crew.olga, v1.id, &retitled("Launch 4")?, Some(&IfMatch::Any))?;
    tasks.delete(&crew.olga, v1.id, Some(&IfMatch::parse(&Tasks::etag(&v4))))?;
    assert!(matches!(refused(tasks.get(&crew.olga, v1.id))?, WorkError::NotFound));
    Ok(())
}

#[test]
fn deleting_a_task_removes_its_comments_only() -> TestResult {
    let world = World::new();
    let (crew, apollo) = with_project(&world, Plan::Basic)?;
    let (tasks, comments) = (world.tasks(), world.comments());
    let launch = tasks.create(&crew.olga, apollo, &task("Launch")?)?;
    let land = tasks.create(&crew.olga, apollo, &task("Land")?)?;
    comments.create(&crew.mia, launch.id, &CommentBody::parse("Go")?)?;
    comments.create(&crew.max, launch.id, &CommentBody::parse("Go!")?)?;
    let kept = comments.create(&crew.mia, land.id, &CommentBody::parse("Eagle")?)?;
    let logged = work_log(&world, &crew.tenant).len();

    tasks.delete(&crew.olga, launch.id, None)?;

    let state = world.store.snapshot();
    assert_eq!(state.tasks(&crew.tenant.schema_name), [land]);
    assert_eq!(state.comments(&crew.tenant.schema_name), [kept]);
    assert_eq!(work_log(&world, &crew.tenant).len(), logged + 1, "the delete took activity rows with it");
    let error = refused(comments.list(&crew.olga, launch.id, PageRequest::default()))?;
    assert!(matches!(error, WorkError::NotFound), "{error:?}");
    Ok(())
}

/// Five tasks of one project, created a minute apart, and one elsewhere.
struct Board {
    crew: Crew,
    apollo: ProjectId,
    /// todo, high, assigned to mia, due 2026-02-20 (overdue), "Fuel the ROCKET"
    fuel: Task,
    /// done, low, assigned to mia, due 2026-02-25 (past, but done)
    checklist: Task,
    /// in progress, urgent, unassigned, no due date, description "rocket science"
    engines: Task,
    /// todo, medium, assigned to max, due 2026-03-05
    launch: Task,
    /// in review, high, unassigned, due 2026-03-01 (today: not overdue)
    review: Task,
}

fn board(world: &World) -> TestResult<Board> {
    let (crew, apollo) = with_project(world, Plan::Basic)?;
    let tasks = world.tasks();
    let make = |title: &str,
                status: TaskStatus,
                priority: Priority,
                assignee: Option<&crate::Actor>,
                due: Option<&str>,
                description: &str|
     -> TestResult<Task> {
        world.store.advance(Duration::minutes(1));
        let mut fields = task(title)?;
        fields.status = status;
        fields.priority = priority;
        fields.assignee_id = assignee.map(|a| a.user);
        fields.due_date = due.map(date).transpose()?;
        fields.description = taskforce_domain::Description::parse(description)?;
        Ok(tasks.create(&crew.olga, apollo, &fields)?)
    };
    let fuel = make("Fuel the ROCKET", TaskStatus::Todo, Priority::High, Some(&crew.mia), Some("2026-02-20"), "")?;
    let checklist = make("Checklist", TaskStatus::Done, Priority::Low, Some(&crew.mia), Some("2026-02-25"), "")?;
    let engines = make("Engines", TaskStatus::InProgress, Priority::Urgent, None, None, "rocket science")?;
    let launch = make("Launch", TaskStatus::Todo, Priority::Medium, Some(&crew.max), Some("2026-03-05"), "")?;
    let review = make("Review", TaskStatus::InReview, Priority::High, None, Some("2026-03-01"), "")?;
    let gemini = world.projects().create(&crew.olga, &project("Gemini")?)?;
    make_elsewhere(world, &crew, gemini.id)?;
    Ok(Board { crew, apollo, fuel, checklist, engines, launch, review })
}

/// A task of another project that matches every filter.
fn make_elsewhere(world: &World, crew: &Crew, project: ProjectId) -> TestResult {
    let mut fields = task("Rocket elsewhere")?;
    fields.priority = Priority::High;
    fields.assignee_id = Some(crew.mia.user);
    fields.due_date = Some(date("2026-01-01")?);
    world.tasks().create(&crew.olga, project, &fields)?;
    Ok(())
}

fn listed(world: &World, board: &Board, filter: &TaskFilter) -> TestResult<(Vec<TaskId>, u64)> {
    let page = world.tasks().list(&board.crew.vic, board.apollo, filter, PageRequest::default())?;
    Ok((page.items.iter().map(|t| t.id).collect(), page.total))
}

#[test]
fn the_list_filters_by_status_priority_assignee_dates_and_text() -> TestResult {
    let world = World::new();
    let b = board(&world)?;
    let all = TaskFilter::default();
    let today = world.tasks().today();
    assert_eq!(today, date("2026-03-01")?);

    let cases = [
        (TaskFilter { status: Some(TaskStatus::Todo), ..all.clone() }, vec![b.launch.id, b.fuel.id]),
        (TaskFilter { priority: Some(Priority::High), ..all.clone() }, vec![b.review.id, b.fuel.id]),
        (TaskFilter { assignee: Some(b.crew.mia.user), ..all.clone() }, vec![b.checklist.id, b.fuel.id]),
        (TaskFilter { due_before: Some(date("2026-03-01")?), ..all.clone() }, vec![b.checklist.id, b.fuel.id]),
        (TaskFilter { overdue_as_of: Some(today), ..all.clone() }, vec![b.fuel.id]),
        (TaskFilter { search: SearchTerms::parse("rocket")?, ..all.clone() }, vec![b.engines.id, b.fuel.id]),
        (TaskFilter { search: SearchTerms::parse("%")?, ..all.clone() }, vec![]),
        (
            TaskFilter { status: Some(TaskStatus::Todo), assignee: Some(b.crew.mia.user), ..all.clone() },
            vec![b.fuel.id],
        ),
        (all.clone(), vec![b.review.id, b.launch.id, b.engines.id, b.checklist.id, b.fuel.id]),
    ];

    for (filter, expected) in cases {
        let total = expected.len() as u64;
        assert_eq!(listed(&world, &b, &filter)?, (expected, total), "{filter:?}");
    }
    Ok(())
}

#[test]
fn the_list_orders_by_any_field_with_the_id_breaking_ties() -> TestResult {
    let world = World::new();
    let b = board(&world)?;
    let tasks = world.tasks();
    // medium and due like launch, created at the same instant as review
    let mut twin = task("Twin")?;
    twin.due_date = Some(date("2026-03-05")?);
    let twin = tasks.create(&b.crew.olga, b.apollo, &twin)?;
    // touching the oldest task makes it the most recently updated
    world.store.advance(Duration::minutes(1));
    tasks.update(&b.crew.olga, b.fuel.id, &retitled("Fuel the rocket")?, None)?;
    let ordered = |ordering: &str| -> TestResult<Vec<TaskId>> {
        let filter = TaskFilter { ordering: ordering.parse::<TaskOrdering>()?, ..TaskFilter::default() };
        Ok(listed(&world, &b, &filter)?.0)
    };
    let (fuel, checklist, engines, launch, review) =
        (b.fuel.id, b.checklist.id, b.engines.id, b.launch.id, b.review.id);

    assert_eq!(ordered("-created_at")?, [twin.id, review, launch, engines, checklist, fuel]);
    assert_eq!(ordered("created_at")?, [fuel, checklist, engines, launch, review, twin.id]);
    assert_eq!(ordered("-updated_at")?, [fuel, twin.id, review, launch, engines, checklist]);
    assert_eq!(ordered("updated_at")?, [checklist, engines, launch, review, twin.id, fuel]);
    assert_eq!(ordered("priority")?, [checklist, launch, twin.id, fuel, review, engines]);
    assert_eq!(ordered("-priority")?, [engines, review, fuel, twin.id, launch, checklist]);
    assert_eq!(ordered("due_date")?, [fuel, checklist, review, launch, twin.id, engines]);
    assert_eq!(ordered("-due_date")?, [twin.id, launch, review, checklist, fuel, engines]);
    Ok(())
}

#[test]
fn the_list_is_paged_with_the_total_of_all_pages() -> TestResult {
    let world = World::new();
    let b = board(&world)?;
    let page = |number| world.tasks().list(&b.crew.olga, b.apollo, &TaskFilter::default(), PageRequest::new(number, 2));

    let (first, third) = (page(1)?, page(3)?);

    assert_eq!(
        (first.items.iter().map(|t| t.id).collect::<Vec<_>>(), first.total),
        (vec![b.review.id, b.launch.id], 5)
    );
    assert!(first.has_next() && !first.has_previous());
    assert!(!third.has_next() && third.has_previous());
    assert_eq!((third.items, third.total), (vec![b.fuel], 5));
    Ok(())
}

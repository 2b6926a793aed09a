//! [`Projects`](crate::Projects): plan limits, the role matrix, `If-Match`,
//! the activity each change writes and the cascade of a delete.

use chrono::Duration;
use serde_json::json;
use taskforce_domain::{
    CommentBody, LimitedResource, NewActivity, Plan, ProjectFilter, ProjectId, ProjectName, ProjectStatus, SearchTerms,
    StoreError, StoreExt, TargetType, Usage, Verb,
};

use super::crew::{change_plan, changes, crew, project, task, work_log};
use crate::{
    IfMatch, PageRequest, ProjectPatch, Projects, WorkError,
    testing::{TestResult, World, refused},
};

fn renamed(name: &str) -> TestResult<ProjectPatch> {
    Ok(ProjectPatch { name: Some(ProjectName::parse(name)?), ..ProjectPatch::default() })
}

#[test]
fn the_free_plan_allows_one_project_until_the_plan_changes() -> TestResult {
    let world = World::new();
    let crew = crew(&world, Plan::Free)?;
    let projects = world.projects();
    projects.create(&crew.olga, &project("Apollo")?)?;

    let error = refused(projects.create(&crew.mia, &project("Gemini")?))?;

    assert!(matches!(error, WorkError::PlanLimit { resource: LimitedResource::Projects, limit: 1 }), "{error:?}");
    let state = world.store.snapshot();
    let names: Vec<_> = state.projects(&crew.tenant.schema_name).iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["Apollo"]);
    assert_eq!(work_log(&world, &crew.tenant).len(), 1, "the refused create left an activity row");

    // the plan is read from the tenant row, not from the caller's snapshot
    change_plan(&world, &crew.tenant, Plan::Basic)?;
    assert_eq!(crew.mia.tenant.plan, Plan::Free);
    let gemini = projects.create(&crew.mia, &project("Gemini")?)?;
    assert_eq!(gemini.name.as_str(), "Gemini");
    assert_eq!(world.members().overview(&crew.olga)?.usage, Usage { projects: 2, tasks: 0 });
    Ok(())
}

#[test]
fn a_new_project_belongs_to_its_creator_and_logs_every_field() -> TestResult {
    let world = World::new();
    let crew = crew(&world, Plan::Basic)?;

    let created = world.projects().create(&crew.mia, &project("Apollo")?)?;

    assert_eq!((created.owner_id, created.version, created.status), (crew.mia.user, 1, ProjectStatus::Active));
    assert_eq!((created.created_at, created.updated_at), (world.now(), world.now()));
    assert_eq!(Projects::etag(&created), format!("\"project-{}-v1\"", created.id));
    let log = work_log(&world, &crew.tenant);
    assert_eq!(log.len(), 1);
    let entry = &log[0];
    assert_eq!(
        (entry.actor, entry.verb, entry.target_type, entry.target_id, entry.project_id),
        (crew.mia.user, Verb::Created, TargetType::Project, created.id.0, Some(created.id.0))
    );
    assert_eq!(
        changes(entry),
        json!({"name": [null, "Apollo"], "description": [null, ""], "status": [null, "active"]})
    );
    Ok(())
}

#[test]
fn a_viewer_reads_projects_but_creates_none() -> TestResult {
    let world = World::new();
    let crew = crew(&world, Plan::Basic)?;
    let projects = world.projects();
    let apollo = projects.create(&crew.olga, &project("Apollo")?)?;

    let listed = projects.list(&crew.vic, &ProjectFilter::default(), PageRequest::default())?;
    let read = projects.get(&crew.vic, apollo.id)?;
    let error = refused(projects.create(&crew.vic, &project("Gemini")?))?;

    assert_eq!((listed.items, listed.total), (vec![apollo.clone()], 1));
    assert_eq!(read, apollo);
    assert!(matches!(error, WorkError::Denied(_)), "{error:?}");
    assert_eq!(world.store.snapshot().projects(&crew.tenant.schema_name).len(), 1);
    assert_eq!(work_log(&world, &crew.tenant).len(), 1);
    Ok(())
}

#[test]
fn a_member_updates_and_deletes_only_own_projects() -> TestResult {
    let world = World::new();
    let crew = crew(&world, Plan::Basic)?;
    let projects = world.projects();
    let olgas = projects.create(&crew.olga, &project("Olga's")?)?;
    let mias = projects.create(&crew.mia, &project("Mia's")?)?;

    let refusals = [
        refused(projects.update(&crew.mia, olgas.id, &renamed("Mine now")?, None))?,
        refused(projects.delete(&crew.mia, olgas.id, None))?,
        refused(projects.update(&crew.max, mias.id, &renamed("Max's")?, None))?,
        refused(projects.delete(&crew.max, mias.id, None))?,
        refused(projects.update(&crew.vic, olgas.id, &renamed("Vic's")?, None))?,
        refused(projects.delete(&crew.vic, olgas.id, None))?,
    ];

    for error in &refusals {
        assert!(matches!(error, WorkError::Denied(_)), "{error:?}");
    }
    assert_eq!(projects.get(&crew.olga, olgas.id)?, olgas);
    assert_eq!(projects.get(&crew.olga, mias.id)?, mias);
    assert_eq!(work_log(&world, &crew.tenant).len(), 2, "refusals left activity rows");

    // the owner of a project, an admin and an owner may
    assert_eq!(projects.update(&crew.mia, mias.id, &renamed("Mia's own")?, None)?.name.as_str(), "Mia's own");
    assert_eq!(projects.update(&crew.adam, olgas.id, &renamed("Adam's edit")?, None)?.version, 2);
    projects.delete(&crew.mia, mias.id, None)?;
    projects.delete(&crew.adam, olgas.id, None)?;
    let again = projects.create(&crew.mia, &project("Third")?)?;
    projects.delete(&crew.olga, again.id, None)?;
    assert!(world.store.snapshot().projects(&crew.tenant.schema_name).is_empty());
    Ok(())
}

#[test]
fn if_match_guards_updates_and_deletes() -> TestResult {
    let world = World::new();
    let crew = crew(&world, Plan::Basic)?;
    let projects = world.projects();
    let v1 = projects.create(&crew.olga, &project("Apollo")?)?;
    let stale = IfMatch::parse(&Projects::etag(&v1));
    let v2 = projects.update(&crew.olga, v1.id, &renamed("Apollo 2")?, Some(&stale))?;

    let update = refused(projects.update(&crew.olga, v1.id, &renamed("Apollo 3")?, Some(&stale)))?;
    let delete = refused(projects.delete(&crew.olga, v1.id, Some(&stale)))?;
    let weak = refused(projects.update(
        &crew.olga,
        v1.id,
        &renamed("Weak")?,
        Some(&IfMatch::parse(&format!("W/{}", Projects::etag(&v2)))),
    ))?;

    for error in [update, delete, weak] {
        assert!(matches!(error, WorkError::PreconditionFailed), "{error:?}");
    }
    assert_eq!(projects.get(&crew.olga, v1.id)?, v2);
    assert_eq!(work_log(&world, &crew.tenant).len(), 2);

    let current = IfMatch::parse(&format!("\"other\", {}", Projects::etag(&v2)));
    let v3 = projects.update(&crew.olga, v1.id, &renamed("Apollo 3")?, Some(&current))?;
    assert_eq!((v3.name.as_str(), v3.version), ("Apollo 3", 3));
    let v4 = projects.update(&crew.olga, v1.id, &renamed("Apollo 4")?, Some(&IfMatch::Any))?;
    assert_eq!(v4.version, 4);
    projects.delete(&crew.olga, v1.id, Some(&IfMatch::parse(&Projects::etag(&v4))))?;
    assert!(matches!(refused(projects.get(&crew.olga, v1.id))?, WorkError::NotFound));
    Ok(())
}

#[test]
fn an_update_logs_what_changed_and_a_no_op_writes_nothing() -> TestResult {
    let world = World::new();
    let crew = crew(&world, Plan::Basic)?;
    let projects = world.projects();
    let created = projects.create(&crew.mia, &project("Apollo")?)?;
    world.store.advance(Duration::hours(1));

    let patch = ProjectPatch {
        name: Some(ProjectName::parse("Apollo 11")?),
        description: Some(taskforce_domain::Description::default()),
        status: Some(ProjectStatus::Archived),
    };
    let updated = projects.update(&crew.mia, created.id, &patch, None)?;

    assert_eq!((updated.version, updated.created_at), (2, created.created_at));
    assert_eq!(updated.updated_at, created.created_at + Duration::hours(1));
    let log = work_log(&world, &crew.tenant);
    assert_eq!(log.len(), 2);
    assert_eq!((log[1].verb, log[1].actor, log[1].target_id), (Verb::Updated, crew.mia.user, created.id.0));
    assert_eq!(changes(&log[1]), json!({"name": ["Apollo", "Apollo 11"], "status": ["active", "archived"]}));

    world.store.advance(Duration::hours(1));
    let same = projects.update(&crew.mia, created.id, &patch, None)?;
    let empty = projects.update(&crew.mia, created.id, &ProjectPatch::default(), None)?;
    assert_eq!(same, updated);
    assert_eq!(empty, updated);
    assert_eq!(projects.get(&crew.mia, created.id)?, updated);
    assert_eq!(work_log(&world, &crew.tenant).len(), 2, "a no-op wrote activity");
    Ok(())
}

#[test]
fn deleting_a_project_removes_its_tasks_and_comments_but_keeps_activity() -> TestResult {
    let world = World::new();
    let crew = crew(&world, Plan::Basic)?;
    let (projects, tasks, comments) = (world.projects(), world.tasks(), world.comments());
    let apollo = projects.create(&crew.olga, &project("Apollo")?)?;
    let gemini = projects.create(&crew.olga, &project("Gemini")?)?;
    let launch = tasks.create(&crew.olga, apollo.id, &task("Launch")?)?;
    tasks.create(&crew.olga, apollo.id, &task("Land")?)?;
    let dock = tasks.create(&crew.olga, gemini.id, &task("Dock")?)?;
    comments.create(&crew.mia, launch.id, &CommentBody::parse("Go for launch")?)?;
    let kept = comments.create(&crew.mia, dock.id, &CommentBody::parse("Docked")?)?;
    let before = work_log(&world, &crew.tenant);

    let deleted = projects.delete(&crew.olga, apollo.id, None)?;

    assert_eq!(deleted, apollo);
    let state = world.store.snapshot();
    let schema = &crew.tenant.schema_name;
    assert_eq!(state.projects(schema), std::slice::from_ref(&gemini));
    assert_eq!(state.tasks(schema), std::slice::from_ref(&dock));
    assert_eq!(state.comments(schema), [kept]);
    let log = work_log(&world, &crew.tenant);
    assert_eq!(log[..before.len()], before[..], "the delete took activity rows with it");
    assert_eq!(log.len(), before.len() + 1);
    let entry = &log[before.len()];
    assert_eq!((entry.verb, entry.target_id, entry.project_id), (Verb::Deleted, apollo.id.0, Some(apollo.id.0)));
    assert_eq!(
        changes(entry),
        json!({"name": ["Apollo", null], "description": ["", null], "status": ["active", null]})
    );
    assert_eq!(world.members().overview(&crew.olga)?.usage, Usage { projects: 1, tasks: 1 });
    for error in [
        refused(projects.get(&crew.olga, apollo.id))?,
        refused(tasks.get(&crew.olga, launch.id))?,
        refused(projects.delete(&crew.olga, apollo.id, None))?,
    ] {
        assert!(matches!(error, WorkError::NotFound), "{error:?}");
    }
    Ok(())
}

#[test]
fn the_list_is_newest_first_filtered_and_paged() -> TestResult {
    let world = World::new();
    let crew = crew(&world, Plan::Basic)?;
    let projects = world.projects();
    let mut apollo = project("Apollo")?;
    apollo.description = taskforce_domain::Description::parse("To the MOON and back")?;
    let apollo = projects.create(&crew.olga, &apollo)?;
    world.store.advance(Duration::minutes(1));
    let gemini = projects.create(&crew.olga, &project("Gemini")?)?;
    // same instant: the later id comes first
    let mercury = projects.create(&crew.olga, &project("Mercury moonshot")?)?;
    world.store.advance(Duration::minutes(1));
    let skylab = projects.create(&crew.olga, &project("Skylab")?)?;
    let archive = ProjectPatch { status: Some(ProjectStatus::Archived), ..ProjectPatch::default() };
    let skylab = projects.update(&crew.olga, skylab.id, &archive, None)?;
    let ids = |items: &[taskforce_domain::Project]| items.iter().map(|p| p.id).collect::<Vec<ProjectId>>();

    let all = projects.list(&crew.vic, &ProjectFilter::default(), PageRequest::default())?;
    let second = projects.list(&crew.vic, &ProjectFilter::default(), PageRequest::new(2, 3))?;
    let active = ProjectFilter { status: Some(ProjectStatus::Active), ..ProjectFilter::default() };
    let active = projects.list(&crew.vic, &active, PageRequest::default())?;
    let moon = ProjectFilter { search: SearchTerms::parse("moon")?, ..ProjectFilter::default() };
    let moon = projects.list(&crew.vic, &moon, PageRequest::default())?;
    let archived_moon = ProjectFilter { status: Some(ProjectStatus::Archived), search: SearchTerms::parse("MOON")? };
    let archived_moon = projects.list(&crew.vic, &archived_moon, PageRequest::default())?;

    assert_eq!((ids(&all.items), all.total), (vec![skylab.id, mercury.id, gemini.id, apollo.id], 4));
    assert_eq!((ids(&second.items), second.total), (vec![apollo.id], 4));
    assert_eq!((ids(&active.items), active.total), (vec![mercury.id, gemini.id, apollo.id], 3));
    assert_eq!((ids(&moon.items), moon.total), (vec![mercury.id, apollo.id], 2));
    assert_eq!((archived_moon.items.len(), archived_moon.total), (0, 0));
    Ok(())
}

#[test]
fn projects_of_another_tenant_are_unknown() -> TestResult {
    let world = World::new();
    let crew = crew(&world, Plan::Basic)?;
    let globex = world.tenant("globex", Plan::Basic)?;
    world.member(&globex, "gus", taskforce_domain::Role::Owner)?;
    let gus = world.sign_in(&globex, "gus")?;
    let apollo = world.projects().create(&crew.olga, &project("Apollo")?)?;

    let read = refused(world.projects().get(&gus, apollo.id))?;
    let update = refused(world.projects().update(&gus, apollo.id, &renamed("Mine")?, None))?;
    let delete = refused(world.projects().delete(&gus, apollo.id, None))?;
    let listed = world.projects().list(&gus, &ProjectFilter::default(), PageRequest::default())?;

    for error in [read, update, delete] {
        assert!(matches!(error, WorkError::NotFound), "{error:?}");
    }
    assert_eq!(listed.total, 0);
    assert_eq!(world.projects().get(&crew.olga, apollo.id)?, apollo);
    Ok(())
}

#[test]
fn a_failed_unit_of_work_leaves_no_project_task_comment_or_activity() -> TestResult {
    let world = World::new();
    let crew = crew(&world, Plan::Basic)?;
    let before = world.store.snapshot();
    let (fields, task_fields, body) = (project("Apollo")?, task("Launch")?, CommentBody::parse("Go")?);

    let outcome: Result<(), StoreError> = world.store.tenant(&crew.tenant, |tx| {
        let project = tx.projects().insert(crew.olga.user, &fields)?;
        let task = tx.tasks().insert(project.id, crew.olga.user, &task_fields, None)?;
        tx.comments().insert(task.id, crew.olga.user, &body)?;
        tx.activity().record(&NewActivity {
            actor: crew.olga.user,
            verb: Verb::Created,
            target_type: TargetType::Project,
            target_id: project.id.0,
            project_id: Some(project.id.0),
            changes: taskforce_domain::Changes::new(),
        })?;
        Err(StoreError::Aborted)
    });

    assert!(matches!(outcome, Err(StoreError::Aborted)), "{outcome:?}");
    let after = world.store.snapshot();
    let schema = &crew.tenant.schema_name;
    assert!(after.projects(schema).is_empty() && after.tasks(schema).is_empty() && after.comments(schema).is_empty());
    assert_eq!(after.activity(schema), before.activity(schema));
    Ok(())
}

//! [`ActivityLog`](crate::ActivityLog): a project's activity for every
//! member, the tenant-wide log for admins and owners, with its filters.

use taskforce_domain::{Activity, ActivityFilter, CommentBody, Plan, Project, ProjectId, TargetType, UserId, Verb};

use super::crew::{Crew, crew, project, task};
use crate::{
    PageRequest, TaskPatch, WorkError,
    testing::{TestResult, World, refused},
};

/// Two projects with a task and a comment each, written by several hands,
/// on top of the five membership rows the operator wrote.
struct History {
    crew: Crew,
    apollo: Project,
    gemini: Project,
}

fn history(world: &World) -> TestResult<History> {
    let crew = crew(world, Plan::Basic)?;
    let (projects, tasks, comments) = (world.projects(), world.tasks(), world.comments());
    let apollo = projects.create(&crew.olga, &project("Apollo")?)?;
    let gemini = projects.create(&crew.mia, &project("Gemini")?)?;
    let launch = tasks.create(&crew.mia, apollo.id, &task("Launch")?)?;
    let dock = tasks.create(&crew.max, gemini.id, &task("Dock")?)?;
    comments.create(&crew.max, launch.id, &CommentBody::parse("Go")?)?;
    comments.create(&crew.mia, dock.id, &CommentBody::parse("Docked")?)?;
    let assign = TaskPatch { assignee_id: Some(Some(crew.mia.user)), ..TaskPatch::default() };
    tasks.update(&crew.adam, launch.id, &assign, None)?;
    Ok(History { crew, apollo, gemini })
}

/// The stored log, newest first, narrowed as `keep` says.
fn expected(world: &World, crew: &Crew, keep: impl Fn(&Activity) -> bool) -> Vec<Activity> {
    let state = world.store.snapshot();
    state.activity(&crew.tenant.schema_name).iter().rev().filter(|a| keep(a)).cloned().collect()
}

#[test]
fn the_tenant_wide_log_is_for_admins_and_owners_newest_first() -> TestResult {
    let world = World::new();
    let h = history(&world)?;
    let log = world.activity();
    let all = ActivityFilter::default();

    for caller in [&h.crew.mia, &h.crew.max, &h.crew.vic] {
        let error = refused(log.tenant_wide(caller, &all, PageRequest::default()))?;
        assert!(matches!(error, WorkError::Denied(_)), "{}: {error:?}", caller.role);
    }
    let by_owner = log.tenant_wide(&h.crew.olga, &all, PageRequest::default())?;
    let by_admin = log.tenant_wide(&h.crew.adam, &all, PageRequest::default())?;

    let everything = expected(&world, &h.crew, |_| true);
    // 5 memberships, 2 projects, 2 tasks, 2 comments, 1 update
    assert_eq!(everything.len(), 12);
    assert_eq!((by_owner.items.clone(), by_owner.total), (everything, 12));
    assert_eq!(by_admin.items, by_owner.items);
    assert!(by_owner.items.windows(2).all(|pair| pair[0].id > pair[1].id));
    assert_eq!(by_owner.items[0].verb, Verb::Updated);
    Ok(())
}

#[test]
fn the_tenant_wide_log_filters_by_actor_target_type_and_project() -> TestResult {
    let world = World::new();
    let h = history(&world)?;
    let log = world.activity();
    let apollo = h.apollo.id.0;
    let cases = [
        ActivityFilter { actor: Some(h.crew.mia.user), ..ActivityFilter::default() },
        ActivityFilter { actor: Some(UserId::OPERATOR), ..ActivityFilter::default() },
        ActivityFilter { target_type: Some(TargetType::Task), ..ActivityFilter::default() },
        ActivityFilter { target_type: Some(TargetType::Membership), ..ActivityFilter::default() },
        ActivityFilter { project: Some(apollo), ..ActivityFilter::default() },
        ActivityFilter { project: Some(apollo), actor: Some(h.crew.max.user), target_type: Some(TargetType::Comment) },
        ActivityFilter { project: Some(apollo), actor: Some(h.crew.vic.user), ..ActivityFilter::default() },
    ];
    let sizes = [3, 5, 3, 5, 4, 1, 0];

    for (filter, size) in cases.iter().zip(sizes) {
        let page = log.tenant_wide(&h.crew.adam, filter, PageRequest::default())?;
        let wanted = expected(&world, &h.crew, |a| {
            filter.actor.is_none_or(|actor| a.actor == actor)
                && filter.target_type.is_none_or(|target| a.target_type == target)
                && filter.project.is_none_or(|project| a.project_id == Some(project))
        });
        assert_eq!((page.items, page.total), (wanted, size), "{filter:?}");
    }

    let second = log.tenant_wide(&h.crew.olga, &ActivityFilter::default(), PageRequest::new(2, 5))?;
    let ids: Vec<_> = second.items.iter().map(|a| a.id).collect();
    let wanted: Vec<_> = expected(&world, &h.crew, |_| true)[5..10].iter().map(|a| a.id).collect();
    assert_eq!((ids, second.total), (wanted, 12));
    Ok(())
}

#[test]
fn a_project_s_activity_is_for_every_member() -> TestResult {
    let world = World::new();
    let h = history(&world)?;
    let apollo = h.apollo.id.0;

    let seen_by_viewer = world.activity().of_project(&h.crew.vic, h.apollo.id, PageRequest::default())?;
    let paged = world.activity().of_project(&h.crew.mia, h.apollo.id, PageRequest::new(2, 3))?;

    let wanted = expected(&world, &h.crew, |a| a.project_id == Some(apollo));
    let kinds: Vec<_> = wanted.iter().map(|a| (a.verb, a.target_type)).collect();
    assert_eq!(
        kinds,
        [
            (Verb::Updated, TargetType::Task),
            (Verb::Created, TargetType::Comment),
            (Verb::Created, TargetType::Task),
            (Verb::Created, TargetType::Project),
        ]
    );
    assert_eq!((seen_by_viewer.items, seen_by_viewer.total), (wanted.clone(), 4));
    assert_eq!((paged.items, paged.total), (wanted[3..].to_vec(), 4));
    Ok(())
}

#[test]
fn a_deleted_project_s_activity_stays_in_the_tenant_wide_log_only() -> TestResult {
    let world = World::new();
    let h = history(&world)?;
    let unknown =
        refused(world.activity().of_project(&h.crew.olga, ProjectId(h.gemini.id.0 + 1000), PageRequest::default()))?;
    assert!(matches!(unknown, WorkError::NotFound), "{unknown:?}");

    world.projects().delete(&h.crew.mia, h.gemini.id, None)?;

    let gone = refused(world.activity().of_project(&h.crew.olga, h.gemini.id, PageRequest::default()))?;
    assert!(matches!(gone, WorkError::NotFound), "{gone:?}");
    let filter = ActivityFilter { project: Some(h.gemini.id.0), ..ActivityFilter::default() };
    let kept = world.activity().tenant_wide(&h.crew.olga, &filter, PageRequest::default())?;
    let kinds: Vec<_> = kept.items.iter().map(|a| (a.verb, a.target_type, a.actor)).collect();
    assert_eq!(
        kinds,
        [
            (Verb::Deleted, TargetType::Project, h.crew.mia.user),
            (Verb::Created, TargetType::Comment, h.crew.mia.user),
            (Verb::Created, TargetType::Task, h.crew.max.user),
            (Verb::Created, TargetType::Project, h.crew.mia.user),
        ]
    );
    assert_eq!(kept.total, 4);
    Ok(())
}

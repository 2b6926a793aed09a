//! [`Comments`](crate::Comments): who writes, edits and deletes them,
//! `If-Match`, activity and the list's order.

use chrono::Duration;
use serde_json::json;
use taskforce_domain::{Comment, CommentBody, CommentId, Plan, TargetType, Task, TaskId, Verb};

use super::crew::{Crew, changes, crew, project, task, work_log};
use crate::{
    CommentPatch, Comments, IfMatch, PageRequest, WorkError,
    testing::{TestResult, World, refused},
};

/// The crew with a task of olga's in a project of hers.
fn with_task(world: &World) -> TestResult<(Crew, Task)> {
    let crew = crew(world, Plan::Basic)?;
    let project = world.projects().create(&crew.olga, &project("Apollo")?)?;
    let task = world.tasks().create(&crew.olga, project.id, &task("Launch")?)?;
    Ok((crew, task))
}

fn body(text: &str) -> TestResult<CommentBody> {
    Ok(CommentBody::parse(text)?)
}

fn patch(text: &str) -> TestResult<CommentPatch> {
    Ok(CommentPatch { body: Some(body(text)?) })
}

fn stored(world: &World, crew: &Crew) -> Vec<Comment> {
    world.store.snapshot().comments(&crew.tenant.schema_name).to_vec()
}

#[test]
fn a_comment_is_written_by_its_author_and_logged_with_its_task() -> TestResult {
    let world = World::new();
    let (crew, launch) = with_task(&world)?;

    let written = world.comments().create(&crew.mia, launch.id, &body("Go for launch")?)?;

    assert_eq!((written.task_id, written.author_id, written.version), (launch.id, crew.mia.user, 1));
    assert_eq!((written.created_at, written.updated_at), (world.now(), world.now()));
    assert_eq!(Comments::etag(&written), format!("\"comment-{}-v1\"", written.id));
    assert_eq!(stored(&world, &crew), std::slice::from_ref(&written));
    let log = work_log(&world, &crew.tenant);
    let entry = log.last().ok_or("no activity")?;
    assert_eq!(
        (entry.actor, entry.verb, entry.target_type, entry.target_id, entry.project_id),
        (crew.mia.user, Verb::Created, TargetType::Comment, written.id.0, Some(launch.project_id.0))
    );
    assert_eq!(changes(entry), json!({"body": [null, "Go for launch"], "task_id": [null, launch.id.0]}));
    Ok(())
}

#[test]
fn a_viewer_reads_comments_but_writes_none_and_unknown_tasks_take_none() -> TestResult {
    let world = World::new();
    let (crew, launch) = with_task(&world)?;
    let comments = world.comments();
    let written = comments.create(&crew.olga, launch.id, &body("First")?)?;
    let logged = work_log(&world, &crew.tenant);

    let listed = comments.list(&crew.vic, launch.id, PageRequest::default())?;
    let denied = refused(comments.create(&crew.vic, launch.id, &body("Second")?))?;
    let unknown = refused(comments.create(&crew.olga, TaskId(launch.id.0 + 1000), &body("Lost")?))?;

    assert_eq!((listed.items, listed.total), (vec![written.clone()], 1));
    assert!(matches!(denied, WorkError::Denied(_)), "{denied:?}");
    assert!(matches!(unknown, WorkError::NotFound), "{unknown:?}");
    assert_eq!(stored(&world, &crew), [written]);
    assert_eq!(work_log(&world, &crew.tenant), logged);
    Ok(())
}

#[test]
fn only_the_author_edits_a_comment() -> TestResult {
    let world = World::new();
    let (crew, launch) = with_task(&world)?;
    let comments = world.comments();
    let written = comments.create(&crew.mia, launch.id, &body("Go")?)?;
    let logged = work_log(&world, &crew.tenant).len();

    for other in [&crew.olga, &crew.adam, &crew.max, &crew.vic] {
        let error = refused(comments.update(other, written.id, &patch("Not yours")?, None))?;
        assert!(matches!(error, WorkError::Denied(_)), "{}: {error:?}", other.role);
    }
    assert_eq!(stored(&world, &crew), std::slice::from_ref(&written));
    assert_eq!(work_log(&world, &crew.tenant).len(), logged);

    world.store.advance(Duration::minutes(3));
    let edited = comments.update(&crew.mia, written.id, &patch("Go for launch")?, None)?;
    assert_eq!((edited.body.as_str(), edited.version), ("Go for launch", 2));
    assert_eq!((edited.created_at, edited.updated_at), (written.created_at, written.created_at + Duration::minutes(3)));
    let log = work_log(&world, &crew.tenant);
    let entry = log.last().ok_or("no activity")?;
    assert_eq!((entry.verb, entry.actor, entry.target_id), (Verb::Updated, crew.mia.user, written.id.0));
    assert_eq!(entry.project_id, Some(launch.project_id.0));
    assert_eq!(changes(entry), json!({"body": ["Go", "Go for launch"]}));

    // the same text again changes nothing
    assert_eq!(comments.update(&crew.mia, written.id, &patch("Go for launch")?, None)?, edited);
    assert_eq!(stored(&world, &crew), [edited]);
    assert_eq!(work_log(&world, &crew.tenant).len(), logged + 1);
    Ok(())
}

#[test]
fn the_author_an_admin_or_an_owner_deletes_a_comment() -> TestResult {
    let world = World::new();
    let (crew, launch) = with_task(&world)?;
    let comments = world.comments();
    let by_mia = |text: &str| -> TestResult<Comment> { Ok(comments.create(&crew.mia, launch.id, &body(text)?)?) };
    let (first, second, third) = (by_mia("One")?, by_mia("Two")?, by_mia("Three")?);
    let logged = work_log(&world, &crew.tenant).len();

    for other in [&crew.max, &crew.vic] {
        let error = refused(comments.delete(other, first.id, None))?;
        assert!(matches!(error, WorkError::Denied(_)), "{}: {error:?}", other.role);
    }
    assert_eq!(stored(&world, &crew), [first.clone(), second.clone(), third.clone()]);
    assert_eq!(work_log(&world, &crew.tenant).len(), logged);

    comments.delete(&crew.mia, first.id, None)?;
    comments.delete(&crew.adam, second.id, None)?;
    comments.delete(&crew.olga, third.id, None)?;

    assert!(stored(&world, &crew).is_empty());
    let log = work_log(&world, &crew.tenant);
    let deletes: Vec<_> = log[logged..].iter().map(|a| (a.verb, a.actor, a.target_id, changes(a))).collect();
    assert_eq!(
        deletes,
        [
            (Verb::Deleted, crew.mia.user, first.id.0, json!({"body": ["One", null], "task_id": [launch.id.0, null]})),
            (
                Verb::Deleted,
                crew.adam.user,
                second.id.0,
                json!({"body": ["Two", null], "task_id": [launch.id.0, null]})
            ),
            (
                Verb::Deleted,
                crew.olga.user,
                third.id.0,
                json!({"body": ["Three", null], "task_id": [launch.id.0, null]})
            ),
        ]
    );
    assert!(log[logged..].iter().all(|a| a.project_id == Some(launch.project_id.0)));
    let gone = refused(comments.delete(&crew.olga, first.id, None))?;
    assert!(matches!(gone, WorkError::NotFound), "{gone:?}");
    Ok(())
}

#[test]
fn if_match_guards_edits_and_deletes() -> TestResult {
    let world = World::new();
    let (crew, launch) = with_task(&world)?;
    let comments = world.comments();
    let v1 = comments.create(&crew.mia, launch.id, &body("Go")?)?;
    let stale = IfMatch::parse(&Comments::etag(&v1));
    let v2 = comments.update(&crew.mia, v1.id, &patch("Go!")?, Some(&stale))?;
    let logged = work_log(&world, &crew.tenant).len();

    let edit = refused(comments.update(&crew.mia, v1.id, &patch("Go!!")?, Some(&stale)))?;
    let delete = refused(comments.delete(&crew.mia, v1.id, Some(&stale)))?;

    for error in [edit, delete] {
        assert!(matches!(error, WorkError::PreconditionFailed), "{error:?}");
    }
    assert_eq!(stored(&world, &crew), std::slice::from_ref(&v2));
    assert_eq!(work_log(&world, &crew.tenant).len(), logged);

    let v3 = comments.update(&crew.mia, v1.id, &patch("Go!!")?, Some(&IfMatch::parse(&Comments::etag(&v2))))?;
    let v4 = comments.update(&crew.mia, v1.id, &patch("Go!!!")?, Some(&IfMatch::Any))?;
    assert_eq!((v3.version, v4.version, v4.body.as_str()), (3, 4, "Go!!!"));
    comments.delete(&crew.adam, v1.id, Some(&IfMatch::parse(&Comments::etag(&v4))))?;
    assert!(stored(&world, &crew).is_empty());
    Ok(())
}

#[test]
fn a_task_s_comments_are_listed_oldest_first_and_paged() -> TestResult {
    let world = World::new();
    let (crew, launch) = with_task(&world)?;
    let comments = world.comments();
    let other = world.tasks().create(&crew.olga, launch.project_id, &task("Land")?)?;
    let first = comments.create(&crew.mia, launch.id, &body("One")?)?;
    comments.create(&crew.mia, other.id, &body("Elsewhere")?)?;
    world.store.advance(Duration::minutes(1));
    let second = comments.create(&crew.max, launch.id, &body("Two")?)?;
    // the same instant: the lower id first
    let third = comments.create(&crew.olga, launch.id, &body("Three")?)?;
    // an edit does not move a comment
    comments.update(&crew.mia, first.id, &patch("One, edited")?, None)?;
    let ids = |items: &[Comment]| items.iter().map(|c| c.id).collect::<Vec<CommentId>>();

    let all = comments.list(&crew.vic, launch.id, PageRequest::default())?;
    let second_page = comments.list(&crew.vic, launch.id, PageRequest::new(2, 2))?;

    assert_eq!((ids(&all.items), all.total), (vec![first.id, second.id, third.id], 3));
    assert_eq!((ids(&second_page.items), second_page.total), (vec![third.id], 3));
    let unknown = refused(comments.list(&crew.vic, TaskId(launch.id.0 + 1000), PageRequest::default()))?;
    assert!(matches!(unknown, WorkError::NotFound), "{unknown:?}");
    Ok(())
}

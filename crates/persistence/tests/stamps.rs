//! `updated_at` against real PostgreSQL: a write is stamped with the time it
//! is made, not the time its transaction began, so that of two writes of one
//! row the later never carries the earlier time (a request that waited for
//! the row's lock began before the write it waited for).

mod support;

use std::sync::mpsc;

use support::{TestResult, provision, store};
use taskforce_domain::{
    ActivityFilter, Changes, CommentBody, NewActivity, Priority, ProjectFields, ProjectName, ProjectStatus, StoreError,
    StoreExt, TargetType, TaskFields, TaskStatus, TaskTitle, UserId, Verb,
};

#[test]
fn a_write_in_a_transaction_begun_before_another_s_commit_is_stamped_after_it() -> TestResult {
    let (_db, store) = store(2)?;
    let acme = provision(&store, "acme")?;
    let tenant = &acme;
    let project_fields = ProjectFields {
        name: ProjectName::parse("P")?,
        description: taskforce_domain::Description::default(),
        status: ProjectStatus::Active,
    };
    let task_fields = TaskFields {
        title: TaskTitle::parse("T")?,
        description: taskforce_domain::Description::default(),
        status: TaskStatus::Todo,
        priority: Priority::Medium,
        assignee_id: None,
        due_date: None,
    };
    let (project, task, comment) = store.tenant(tenant, |tx| {
        let project = tx.projects().insert(UserId(1), &project_fields)?;
        let task = tx.tasks().insert(project.id, UserId(1), &task_fields, None)?;
        let comment = tx.comments().insert(task.id, UserId(1), &CommentBody::parse("c")?)?;
        Ok::<_, Box<dyn std::error::Error>>((project, task, comment))
    })?;

    let (began, go) = (mpsc::channel(), mpsc::channel::<()>());
    let (began_tx, began_rx) = began;
    let (go_tx, go_rx) = go;
    let entry = |actor| NewActivity {
        actor: UserId(actor),
        verb: Verb::Updated,
        target_type: TargetType::Task,
        target_id: task.id.0,
        project_id: Some(project.id.0),
        changes: Changes::new(),
    };
    let (first_body, later_body) = (CommentBody::parse("first")?, CommentBody::parse("later")?);
    let renamed = ProjectFields { name: ProjectName::parse("Later")?, ..project_fields.clone() };
    let retitled = TaskFields { title: TaskTitle::parse("Later")?, ..task_fields.clone() };
    let later = std::thread::scope(|scope| {
        let (store, renamed, retitled, later_body) = (&store, &renamed, &retitled, &later_body);
        let late = scope.spawn(move || {
            store.tenant(tenant, |tx| {
                // the transaction has begun (`now()` is fixed); the other
                // writes commit before this one writes
                tx.projects().get(project.id)?;
                began_tx.send(()).map_err(StoreError::internal)?;
                go_rx.recv().map_err(StoreError::internal)?;
                let p = tx.projects().update(project.id, project.version + 1, renamed)?;
                let t = tx.tasks().update(task.id, task.version + 1, retitled, None)?;
                let c = tx.comments().update(comment.id, comment.version + 1, later_body)?;
                tx.activity().record(&entry(2))?;
                Ok::<_, StoreError>((p, t, c))
            })
        });
        let first = began_rx.recv().map_err(StoreError::internal).and_then(|()| {
            store.tenant(tenant, |tx| {
                let p = tx.projects().update(project.id, project.version, &project_fields)?;
                let t = tx.tasks().update(task.id, task.version, &task_fields, None)?;
                let c = tx.comments().update(comment.id, comment.version, &first_body)?;
                tx.activity().record(&entry(1))?;
                Ok::<_, StoreError>((p, t, c))
            })
        });
        let _ = go_tx.send(());
        let late = late.join().map_err(|_| StoreError::internal("the late writer panicked"))?;
        Ok::<_, StoreError>((first?, late?))
    })?;

    let ((p1, t1, c1), (p2, t2, c2)) = later;
    let stamps = |p: Option<_>, t: Option<_>, c: Option<_>| -> Result<_, &str> {
        let (p, t, c): (taskforce_domain::Project, taskforce_domain::Task, taskforce_domain::Comment) =
            (p.ok_or("project gone")?, t.ok_or("task gone")?, c.ok_or("comment gone")?);
        Ok([p.updated_at, t.updated_at, c.updated_at])
    };
    let (first, second) = (stamps(p1, t1, c1)?, stamps(p2, t2, c2)?);
    for (what, (first, second)) in ["project", "task", "comment"].iter().zip(first.iter().zip(&second)) {
        assert!(second > first, "the later {what} write is stamped {second}, before the earlier one's {first}");
    }
    // the audit log: the later entry (actor 2) has the later id and time
    let (log, _) = store.tenant(tenant, |tx| tx.activity().page(&ActivityFilter::default(), 0, 10))?;
    let by = |actor| log.iter().find(|a| a.actor == UserId(actor)).map(|a| (a.id, a.created_at)).ok_or("no entry");
    let (first, later) = (by(1)?, by(2)?);
    assert!(later.0 > first.0 && later.1 > first.1, "{first:?} then {later:?}");
    Ok(())
}

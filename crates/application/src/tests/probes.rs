//! The checks the HTTP layer asks before it answers a body it cannot judge
//! ([`Projects::may_change`](crate::Projects::may_change) and its kin) judge
//! each caller and object as the write itself does: a no-op write (which
//! still checks the object and the role, and changes nothing) gives the same
//! verdict for every member of the crew, on objects they own, objects of
//! others and ids that do not exist.

use taskforce_domain::{CommentBody, CommentId, MembershipId, Plan, ProjectId, TaskId};

use super::crew::{crew, project, task};
use crate::{CommentPatch, MembersError, ProjectPatch, TaskPatch, WorkError, testing::TestResult, testing::World};

/// A write's outcome, by kind.
#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    Allowed,
    Denied,
    NotFound,
}

fn work<T>(outcome: Result<T, WorkError>) -> TestResult<Verdict> {
    verdict(outcome, |error| match error {
        WorkError::Denied(_) => Some(Verdict::Denied),
        WorkError::NotFound => Some(Verdict::NotFound),
        _ => None,
    })
}

fn members<T>(outcome: Result<T, MembersError>) -> TestResult<Verdict> {
    verdict(outcome, |error| match error {
        MembersError::Denied(_) => Some(Verdict::Denied),
        MembersError::NotFound => Some(Verdict::NotFound),
        _ => None,
    })
}

/// `Allowed`, or the refusal's kind when `kind` names it.
fn verdict<T, E: std::fmt::Debug>(outcome: Result<T, E>, kind: impl Fn(&E) -> Option<Verdict>) -> TestResult<Verdict> {
    match outcome {
        Ok(_) => Ok(Verdict::Allowed),
        Err(error) => kind(&error).ok_or_else(|| format!("neither allowed, denied nor missing: {error:?}").into()),
    }
}

#[test]
fn each_probe_judges_every_caller_and_object_as_its_write_does() -> TestResult {
    let world = World::new();
    let crew = crew(&world, Plan::Basic)?;
    let everyone = [&crew.olga, &crew.adam, &crew.mia, &crew.max, &crew.vic];
    let (projects, tasks, comments, team) = (world.projects(), world.tasks(), world.comments(), world.members());

    let olgas = projects.create(&crew.olga, &project("Olga's")?)?;
    let mias = projects.create(&crew.mia, &project("Mia's")?)?;
    let mut for_max = task("Max's job")?;
    for_max.assignee_id = Some(crew.max.user);
    let task_ids = [
        tasks.create(&crew.olga, olgas.id, &task("Olga's job")?)?.id,
        tasks.create(&crew.mia, olgas.id, &for_max)?.id,
        TaskId(987_654),
    ];
    let said = CommentBody::parse("Said once")?;
    let comment_ids = [comments.create(&crew.mia, task_ids[0], &said)?.id, CommentId(987_654)];
    let mut membership_ids: Vec<MembershipId> =
        world.admin().members(&crew.tenant.slug)?.iter().map(|m| m.membership.id).collect();
    membership_ids.push(MembershipId(987_654));

    let mut verdicts = Vec::new();
    for actor in everyone {
        for id in [olgas.id, mias.id, ProjectId(987_654)] {
            let probe = work(projects.may_change(actor, id))?;
            assert_eq!(probe, work(projects.update(actor, id, &ProjectPatch::default(), None))?, "{id:?}");
            verdicts.push(probe);
        }
        for id in task_ids {
            let probe = work(tasks.may_update(actor, id))?;
            assert_eq!(probe, work(tasks.update(actor, id, &TaskPatch::default(), None))?, "{id:?}");
            verdicts.push(probe);
        }
        for id in comment_ids {
            let probe = work(comments.may_edit(actor, id))?;
            let unchanged = CommentPatch { body: Some(said.clone()) };
            assert_eq!(probe, work(comments.update(actor, id, &unchanged, None))?, "{id:?}");
            verdicts.push(probe);
        }
        for &id in &membership_ids {
            let probe = members(team.may_change_role(actor, id))?;
            let current = world.admin().members(&crew.tenant.slug)?.into_iter().find(|m| m.membership.id == id);
            let role = current.map_or(taskforce_domain::Role::Member, |m| m.membership.role);
            assert_eq!(probe, members(team.change_role(actor, id, role, None))?, "{id:?}");
            verdicts.push(probe);
        }
    }
    // the crew met every kind of verdict, so the comparison above had each to compare
    for kind in [Verdict::Allowed, Verdict::Denied, Verdict::NotFound] {
        assert!(verdicts.contains(&kind), "no {kind:?} among {verdicts:?}");
    }
    // and the probes wrote nothing: the no-op writes left no activity either
    assert_eq!(super::crew::work_log(&world, &crew.tenant).len(), 5, "two projects, two tasks, one comment");
    Ok(())
}

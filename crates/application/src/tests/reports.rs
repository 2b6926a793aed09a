//! [`Reports`](crate::Reports): the counts they give for a known set of
//! tasks, their scope, and the bounds of their parameters. The world's
//! clock stands at Sunday 2026-03-01 12:00 UTC.

use chrono::{Duration, NaiveDate};
use taskforce_domain::{Plan, Priority, ProjectId, TaskFields, TaskStatus};

use super::crew::{Crew, crew, project, task};
use crate::{
    TaskPatch, WorkError,
    testing::{TestResult, World, refused},
};

fn date(text: &str) -> TestResult<NaiveDate> {
    Ok(text.parse()?)
}

/// Two projects: Apollo with five tasks of known state, Gemini with one.
fn board(world: &World) -> TestResult<(Crew, ProjectId, ProjectId)> {
    let crew = crew(world, Plan::Basic)?;
    let apollo = world.projects().create(&crew.olga, &project("Apollo")?)?;
    let gemini = world.projects().create(&crew.olga, &project("Gemini")?)?;
    let tasks = world.tasks();
    let overdue = TaskFields {
        due_date: Some(date("2026-02-27")?),
        assignee_id: Some(crew.mia.user),
        priority: Priority::High,
        ..task("Overdue")?
    };
    let due_soon = TaskFields {
        due_date: Some(date("2026-03-07")?),
        assignee_id: Some(crew.mia.user),
        status: TaskStatus::InProgress,
        ..task("Due Saturday")?
    };
    let due_later = TaskFields { due_date: Some(date("2026-03-08")?), priority: Priority::Urgent, ..task("Later")? };
    tasks.create(&crew.olga, apollo.id, &overdue)?;
    tasks.create(&crew.olga, apollo.id, &due_soon)?;
    tasks.create(&crew.olga, apollo.id, &due_later)?;
    // done ten hours and forty hours after creation; done tasks are never overdue
    for (title, hours) in [("Done fast", 10), ("Done slowly", 40)] {
        let fields = TaskFields {
            assignee_id: Some(crew.max.user),
            due_date: Some(date("2026-02-01")?),
            priority: Priority::Low,
            ..task(title)?
        };
        let created = tasks.create(&crew.olga, apollo.id, &fields)?;
        let done = TaskPatch { status: Some(TaskStatus::Done), ..TaskPatch::default() };
        world.tasks_at(world.now() + Duration::hours(hours)).update(&crew.olga, created.id, &done, None)?;
    }
    tasks.create(&crew.olga, gemini.id, &task("Elsewhere")?)?;
    Ok((crew, apollo.id, gemini.id))
}

#[test]
fn the_summary_counts_by_status_priority_and_due_state() -> TestResult {
    let world = World::new();
    let (crew, apollo, _) = board(&world)?;

    let whole = world.reports().summary(&crew.vic, None)?;
    let narrowed = world.reports().summary(&crew.vic, Some(apollo))?;

    assert_eq!((whole.projects, whole.tasks, whole.members), (2, 6, 5));
    assert_eq!(whole.unassigned, 2, "Later and Elsewhere; done tasks do not count");
    assert_eq!((narrowed.projects, narrowed.tasks, narrowed.unassigned), (1, 5, 1));
    let statuses: Vec<(&str, u64)> = narrowed.by_status.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    assert_eq!(statuses, [("done", 2), ("in_progress", 1), ("in_review", 0), ("todo", 2)]);
    let priorities: Vec<(&str, u64)> = narrowed.by_priority.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    assert_eq!(priorities, [("high", 1), ("low", 2), ("medium", 1), ("urgent", 1)]);
    // due Feb 27 is overdue; Mar 7 is within today + 7 days, Mar 8 is not
    assert_eq!((narrowed.overdue, narrowed.due_next_7_days), (1, 1));
    Ok(())
}

#[test]
fn an_unknown_project_is_not_found_in_every_report() -> TestResult {
    let world = World::new();
    let (crew, _, gemini) = board(&world)?;
    let unknown = Some(ProjectId(gemini.0 + 1000));
    let reports = world.reports();

    for outcome in [
        refused(reports.summary(&crew.olga, unknown).map(|_| ()))?,
        refused(reports.throughput(&crew.olga, 4, unknown).map(|_| ()))?,
        refused(reports.cycle_time(&crew.olga, unknown).map(|_| ()))?,
    ] {
        assert!(matches!(outcome, WorkError::NotFound), "{outcome:?}");
    }
    Ok(())
}

#[test]
fn throughput_covers_whole_weeks_oldest_first_and_bounds_its_length() -> TestResult {
    let world = World::new();
    let (crew, apollo, _) = board(&world)?;
    let reports = world.reports();

    let weeks = reports.throughput(&crew.mia, 3, None)?;
    let apollo_only = reports.throughput(&crew.mia, 1, Some(apollo))?;

    let starts: Vec<NaiveDate> = weeks.iter().map(|w| w.week_start).collect();
    assert_eq!(starts, [date("2026-02-09")?, date("2026-02-16")?, date("2026-02-23")?], "Mondays");
    // everything was created on Sunday Mar 1 at noon, in the week of Feb 23;
    // the task done 10 h later still counts there, the one done 40 h later
    // falls in the next week
    let counts: Vec<(u64, u64)> = weeks.iter().map(|w| (w.created, w.completed)).collect();
    assert_eq!(counts, [(0, 0), (0, 0), (6, 1)]);
    assert_eq!(apollo_only.iter().map(|w| w.created).collect::<Vec<_>>(), [5]);
    for bad in [0, 105] {
        let refusal = refused(reports.throughput(&crew.mia, bad, None))?;
        assert!(matches!(&refusal, WorkError::Invalid(fields) if fields.to_string().contains("weeks")), "{refusal:?}");
    }
    Ok(())
}

#[test]
fn workload_lists_every_member_in_joining_order() -> TestResult {
    let world = World::new();
    let (crew, _, _) = board(&world)?;

    let workload = world.reports().workload(&crew.adam)?;

    let rows: Vec<(&str, u64, u64, u64)> =
        workload.iter().map(|w| (w.username.as_str(), w.open, w.overdue, w.completed_last_30_days)).collect();
    assert_eq!(rows, [("olga", 0, 0, 0), ("adam", 0, 0, 0), ("mia", 2, 1, 0), ("max", 0, 0, 2), ("vic", 0, 0, 0)]);
    assert_eq!(workload[2].user_id, crew.mia.user);
    Ok(())
}

#[test]
fn cycle_time_interpolates_between_completed_tasks() -> TestResult {
    let world = World::new();
    let (crew, _, gemini) = board(&world)?;

    let cycle = world.reports().cycle_time(&crew.vic, None)?;
    let none_done = world.reports().cycle_time(&crew.vic, Some(gemini))?;

    // 10 h and 40 h: the median is 25 h, the 85th percentile 10 + 0.85 × 30
    assert_eq!(cycle.completed, 2);
    assert_eq!(cycle.median_hours, Some(25.0));
    assert!(cycle.p85_hours.is_some_and(|h| (h - 35.5).abs() < 1e-9), "{cycle:?}");
    assert_eq!((none_done.completed, none_done.median_hours, none_done.p85_hours), (0, None, None));
    Ok(())
}

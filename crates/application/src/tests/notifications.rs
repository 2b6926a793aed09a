//! Notifications: who is told of a change (never the actor, once per
//! change), that they are written with their cause and announced after it,
//! and that each member reads and marks only their own.

use chrono::Duration;
use taskforce_domain::{CommentBody, NotificationKind, Plan, TargetType, TaskStatus, UserId};

use super::crew::{Crew, crew, project, task};
use crate::{
    Actor, Announcement, CommentPatch, NOTIFICATIONS_TOPIC, PageRequest, TaskPatch, WorkError,
    testing::{TestResult, World, refused},
};

/// `(recipient, kind, message)` of every stored notification, oldest first.
fn told(world: &World, crew: &Crew) -> Vec<(UserId, NotificationKind, String)> {
    let state = world.store.snapshot();
    let stored = state.notifications(&crew.tenant.schema_name);
    stored.iter().map(|n| (n.recipient, n.kind, n.message.clone())).collect()
}

/// The announcements on the bus, decoded.
fn announced(world: &World) -> TestResult<Vec<Announcement>> {
    let mut decoded = Vec::new();
    for (topic, payload) in world.bus.published() {
        assert_eq!(topic, NOTIFICATIONS_TOPIC);
        decoded.push(serde_json::from_str(&payload)?);
    }
    Ok(decoded)
}

fn assigned_to(who: &Actor, title: &str) -> TestResult<taskforce_domain::TaskFields> {
    Ok(taskforce_domain::TaskFields { assignee_id: Some(who.user), ..task(title)? })
}

#[test]
fn an_assignment_tells_the_assignee_and_is_announced_with_its_id() -> TestResult {
    let world = World::new();
    let crew = crew(&world, Plan::Basic)?;
    let apollo = world.projects().create(&crew.olga, &project("Apollo")?)?;

    let launch = world.tasks().create(&crew.olga, apollo.id, &assigned_to(&crew.mia, "Launch")?)?;

    assert_eq!(
        told(&world, &crew),
        [(crew.mia.user, NotificationKind::TaskAssigned, "olga assigned you “Launch”".into())]
    );
    let state = world.store.snapshot();
    let stored = &state.notifications(&crew.tenant.schema_name)[0];
    assert_eq!(
        (stored.actor, stored.target_type, stored.target_id, stored.project_id, stored.read_at),
        (crew.olga.user, TargetType::Task, launch.id.0, Some(apollo.id.0), None)
    );
    let expected = Announcement { tenant_id: crew.tenant.id.0, recipient_id: crew.mia.user.0, id: stored.id };
    assert_eq!(announced(&world)?, [expected]);
    Ok(())
}

#[test]
fn a_title_that_spells_the_actor_placeholder_is_kept_as_typed() -> TestResult {
    let world = World::new();
    let crew = crew(&world, Plan::Basic)?;
    let apollo = world.projects().create(&crew.olga, &project("Apollo")?)?;

    world.tasks().create(&crew.olga, apollo.id, &assigned_to(&crew.mia, "\u{1}actor\u{1} approved")?)?;

    assert_eq!(
        told(&world, &crew),
        [(crew.mia.user, NotificationKind::TaskAssigned, "olga assigned you “\u{1}actor\u{1} approved”".into())]
    );
    Ok(())
}

#[test]
fn nobody_is_told_of_their_own_action() -> TestResult {
    let world = World::new();
    let crew = crew(&world, Plan::Basic)?;
    let apollo = world.projects().create(&crew.mia, &project("Apollo")?)?;
    let mut fields = assigned_to(&crew.mia, "Self-assigned")?;
    fields.description = taskforce_domain::Description::parse("note to self, @mia")?;

    let own = world.tasks().create(&crew.mia, apollo.id, &fields)?;
    let done = TaskPatch { status: Some(TaskStatus::Done), ..TaskPatch::default() };
    world.tasks().update(&crew.mia, own.id, &done, None)?;
    world.comments().create(&crew.mia, own.id, &CommentBody::parse("@mia remember")?)?;

    assert_eq!(told(&world, &crew), []);
    assert_eq!(announced(&world)?, []);
    Ok(())
}

#[test]
fn a_status_change_tells_creator_and_assignee_once_each() -> TestResult {
    let world = World::new();
    let crew = crew(&world, Plan::Basic)?;
    let apollo = world.projects().create(&crew.olga, &project("Apollo")?)?;
    let launch = world.tasks().create(&crew.olga, apollo.id, &task("Launch")?)?;

    // max assigns it to mia and moves it in one change: mia hears of the
    // assignment only, olga (the creator) of the move
    let patch = TaskPatch {
        assignee_id: Some(Some(crew.mia.user)),
        status: Some(TaskStatus::InReview),
        ..TaskPatch::default()
    };
    world.tasks().update(&crew.adam, launch.id, &patch, None)?;

    assert_eq!(
        told(&world, &crew),
        [
            (crew.olga.user, NotificationKind::TaskStatusChanged, "adam moved “Launch” to in review".into()),
            (crew.mia.user, NotificationKind::TaskAssigned, "adam assigned you “Launch”".into()),
        ]
    );
    assert_eq!(announced(&world)?.len(), 2);
    Ok(())
}

#[test]
fn comments_tell_creator_assignee_and_the_members_they_newly_mention() -> TestResult {
    let world = World::new();
    let crew = crew(&world, Plan::Basic)?;
    let apollo = world.projects().create(&crew.olga, &project("Apollo")?)?;
    let launch = world.tasks().create(&crew.olga, apollo.id, &assigned_to(&crew.mia, "Launch")?)?;
    let before = told(&world, &crew).len();

    let comment =
        world.comments().create(&crew.max, launch.id, &CommentBody::parse("@ADAM, @nobody and @olga: go?")?)?;
    let after_create = told(&world, &crew)[before..].to_vec();
    let patch = CommentPatch { body: Some(CommentBody::parse("@adam, @olga and @vic: go?")?) };
    world.comments().update(&crew.max, comment.id, &patch, None)?;
    let after_edit = told(&world, &crew)[before + after_create.len()..].to_vec();

    let commented = "max commented on “Launch”".to_owned();
    let mentioned = "max mentioned you in “Launch”".to_owned();
    assert_eq!(
        after_create,
        [
            (crew.olga.user, NotificationKind::Mentioned, mentioned.clone()),
            (crew.adam.user, NotificationKind::Mentioned, mentioned.clone()),
            (crew.mia.user, NotificationKind::CommentAdded, commented),
        ]
    );
    // the edit adds @vic; adam and olga were mentioned already
    assert_eq!(after_edit, [(crew.vic.user, NotificationKind::Mentioned, mentioned)]);
    Ok(())
}

#[test]
fn a_refused_change_tells_nobody() -> TestResult {
    let world = World::new();
    let crew = crew(&world, Plan::Free)?;
    let apollo = world.projects().create(&crew.olga, &project("Apollo")?)?;
    for n in 0..10 {
        world.tasks().create(&crew.olga, apollo.id, &task(&format!("Task {n}"))?)?;
    }
    let announced_before = announced(&world)?.len();

    let over_limit = refused(world.tasks().create(&crew.olga, apollo.id, &assigned_to(&crew.mia, "One too many")?))?;
    let viewer =
        refused(world.comments().create(&crew.vic, taskforce_domain::TaskId(1), &CommentBody::parse("@olga")?))?;

    assert!(matches!(over_limit, WorkError::PlanLimit { .. }), "{over_limit:?}");
    assert!(matches!(viewer, WorkError::Denied(_)), "{viewer:?}");
    assert_eq!(told(&world, &crew), []);
    assert_eq!(announced(&world)?.len(), announced_before);
    Ok(())
}

/// mia with three notifications from olga's assignments: ids ascending.
fn three_for_mia(world: &World) -> TestResult<(Crew, Vec<i64>)> {
    let crew = crew(world, Plan::Basic)?;
    let apollo = world.projects().create(&crew.olga, &project("Apollo")?)?;
    for title in ["One", "Two", "Three"] {
        world.tasks().create(&crew.olga, apollo.id, &assigned_to(&crew.mia, title)?)?;
    }
    world.tasks().create(&crew.olga, apollo.id, &assigned_to(&crew.max, "For max")?)?;
    let ids = world.store.snapshot().notifications(&crew.tenant.schema_name).iter().map(|n| n.id).collect();
    Ok((crew, ids))
}

#[test]
fn each_member_lists_and_marks_only_their_own() -> TestResult {
    let world = World::new();
    let (crew, ids) = three_for_mia(&world)?;
    let notifications = world.notifications();

    let mias = notifications.list(&crew.mia, false, PageRequest::default())?;
    let maxs = notifications.list(&crew.max, false, PageRequest::default())?;
    let foreign = refused(notifications.mark_read(&crew.max, ids[0]))?;

    assert_eq!(mias.items.iter().map(|n| n.id).collect::<Vec<_>>(), [ids[2], ids[1], ids[0]], "newest first");
    assert_eq!((mias.total, maxs.total), (3, 1));
    assert_eq!(maxs.items[0].id, ids[3]);
    assert!(matches!(foreign, WorkError::NotFound), "{foreign:?}");
    assert!(world.store.snapshot().notifications(&crew.tenant.schema_name).iter().all(|n| n.read_at.is_none()));
    assert_eq!(notifications.latest_id(&crew.mia)?, ids[2]);
    assert_eq!(notifications.latest_id(&crew.vic)?, 0);
    Ok(())
}

#[test]
fn marking_read_keeps_the_first_time_and_the_unread_filter_follows() -> TestResult {
    let world = World::new();
    let (crew, ids) = three_for_mia(&world)?;
    let notifications = world.notifications();

    let first = notifications.mark_read(&crew.mia, ids[0])?;
    let again = notifications.mark_read(&crew.mia, ids[0])?;
    let unread = notifications.list(&crew.mia, true, PageRequest::default())?;
    let marked = notifications.mark_all_read(&crew.mia)?;
    let none_left = notifications.list(&crew.mia, true, PageRequest::default())?;

    assert_eq!((first.read_at, again.read_at), (Some(world.now()), Some(world.now())));
    assert_eq!(unread.items.iter().map(|n| n.id).collect::<Vec<_>>(), [ids[2], ids[1]]);
    assert_eq!(marked, 2);
    assert_eq!(none_left.total, 0);
    let state = world.store.snapshot();
    let maxs = state.notifications(&crew.tenant.schema_name).iter().find(|n| n.id == ids[3]).ok_or("max's")?;
    assert_eq!(maxs.read_at, None, "max's notification stays unread");
    Ok(())
}

#[test]
fn a_stream_catches_up_after_the_last_id_it_saw_oldest_first() -> TestResult {
    let world = World::new();
    let (crew, ids) = three_for_mia(&world)?;

    let missed = world.notifications().after(&crew.mia, ids[0], 10)?;
    let limited = world.notifications().after(&crew.mia, 0, 2)?;

    assert_eq!(missed.iter().map(|n| n.id).collect::<Vec<_>>(), [ids[1], ids[2]]);
    assert_eq!(limited.iter().map(|n| n.id).collect::<Vec<_>>(), [ids[0], ids[1]]);
    // the world's clock stands still: every notification carries its instant
    assert!(missed.iter().chain(&limited).all(|n| n.created_at == world.now()), "{missed:?}");
    Ok(())
}

#[test]
fn a_ticket_opens_its_callers_stream_once_in_its_tenant_within_a_minute() -> TestResult {
    let world = World::new();
    let crew = crew(&world, Plan::Basic)?;
    let other = world.tenant("other", Plan::Basic)?;
    let notifications = world.notifications();

    let first = notifications.ticket(&crew.mia)?;
    let elsewhere = notifications.redeem(other.id, &first.ticket)?;
    let redeemed = notifications.redeem(crew.tenant.id, &first.ticket)?;
    let again = notifications.redeem(crew.tenant.id, &first.ticket)?;
    let second = notifications.ticket(&crew.mia)?;
    let late = world.notifications_at(world.now() + Duration::seconds(61)).redeem(crew.tenant.id, &second.ticket)?;
    let forged = notifications.redeem(crew.tenant.id, "not-a-ticket")?;

    assert_eq!(first.expires_at, world.now() + Duration::seconds(60));
    assert_eq!(elsewhere, None, "another tenant's host");
    assert_eq!(redeemed, Some((crew.mia.user, crew.mia.session)));
    assert_eq!(again, None, "single use");
    assert_eq!(late, None, "expired");
    assert_eq!(forged, None);
    Ok(())
}

#[test]
fn a_creator_or_assignee_who_has_left_is_told_nothing() -> TestResult {
    let world = World::new();
    let crew = crew(&world, Plan::Basic)?;
    let apollo = world.projects().create(&crew.olga, &project("Apollo")?)?;
    // mia made it, max was given it
    let launch = world.tasks().create(&crew.mia, apollo.id, &assigned_to(&crew.max, "Launch")?)?;
    let moved = |status| TaskPatch { status: Some(status), ..TaskPatch::default() };
    world.tasks().update(&crew.olga, launch.id, &moved(TaskStatus::InProgress), None)?;
    let while_members = told(&world, &crew).len();
    assert_eq!(while_members, 3, "the assignment, then the move to both: {:?}", told(&world, &crew));

    for who in [&crew.mia, &crew.max] {
        let members = world.admin().members(&crew.tenant.slug)?;
        let own = members.iter().find(|m| m.membership.user_id == who.user).ok_or("a membership")?;
        world.members().remove(who, own.membership.id, None)?;
    }
    let secret =
        TaskPatch { title: Some(taskforce_domain::TaskTitle::parse("Secret plan")?), ..moved(TaskStatus::InReview) };
    world.tasks().update(&crew.olga, launch.id, &secret, None)?;
    world.comments().create(&crew.adam, launch.id, &CommentBody::parse("Nearly there")?)?;

    let after = told(&world, &crew);
    assert_eq!(after.len(), while_members, "someone who left was told: {after:?}");
    assert!(after.iter().all(|(_, _, message)| !message.contains("Secret plan")), "{after:?}");
    Ok(())
}

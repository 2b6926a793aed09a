//! What the tests of projects, tasks, comments and activity start from: a
//! tenant with a signed-in member of each role, and builders for fields.

use serde_json::Value;
use taskforce_domain::{
    Activity, Plan, Priority, ProjectFields, ProjectName, ProjectStatus, Role, TargetType, TaskFields, TaskStatus,
    TaskTitle, Tenant, TenantChanges,
};

use crate::{
    Actor,
    testing::{TestResult, World},
};

/// `acme` with the owner `olga`, the admin `adam`, the members `mia` and
/// `max` and the viewer `vic`, each signed in.
pub(super) struct Crew {
    pub tenant: Tenant,
    pub olga: Actor,
    pub adam: Actor,
    pub mia: Actor,
    pub max: Actor,
    pub vic: Actor,
}

/// The crew of `acme` on `plan` (operators add members whatever the plan).
pub(super) fn crew(world: &World, plan: Plan) -> TestResult<Crew> {
    let tenant = world.tenant("acme", plan)?;
    let mut signed_in = Vec::new();
    for (name, role) in [
        ("olga", Role::Owner),
        ("adam", Role::Admin),
        ("mia", Role::Member),
        ("max", Role::Member),
        ("vic", Role::Viewer),
    ] {
        world.member(&tenant, name, role)?;
        signed_in.push(world.sign_in(&tenant, name)?);
    }
    let [olga, adam, mia, max, vic] = <[Actor; 5]>::try_from(signed_in).map_err(|_| "five members")?;
    Ok(Crew { tenant, olga, adam, mia, max, vic })
}

/// Puts the tenant on another plan, as an operator does.
pub(super) fn change_plan(world: &World, tenant: &Tenant, plan: Plan) -> TestResult {
    world.admin().update(&tenant.slug, &TenantChanges { plan: Some(plan), ..TenantChanges::default() })?;
    Ok(())
}

/// An active project without a description.
pub(super) fn project(name: &str) -> TestResult<ProjectFields> {
    Ok(ProjectFields {
        name: ProjectName::parse(name)?,
        description: taskforce_domain::Description::default(),
        status: ProjectStatus::Active,
    })
}

/// A task as created with only a title: to do, medium, unassigned, no due date.
pub(super) fn task(title: &str) -> TestResult<TaskFields> {
    Ok(TaskFields {
        title: TaskTitle::parse(title)?,
        description: taskforce_domain::Description::default(),
        status: TaskStatus::Todo,
        priority: Priority::Medium,
        assignee_id: None,
        due_date: None,
    })
}

/// The tenant's activity about projects, tasks and comments, oldest first
/// (without the membership rows the builders' operator wrote).
pub(super) fn work_log(world: &World, tenant: &Tenant) -> Vec<Activity> {
    let state = world.store.snapshot();
    state.activity(&tenant.schema_name).iter().filter(|a| a.target_type != TargetType::Membership).cloned().collect()
}

/// An activity's `changes` as JSON, to compare with `json!({...})`.
pub(super) fn changes(activity: &Activity) -> Value {
    Value::Object(activity.changes.clone())
}

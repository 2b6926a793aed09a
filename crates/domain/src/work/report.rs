//! Reports over a tenant's work, computed in its schema. Dates and weeks
//! are UTC; weeks start on Monday.

use std::collections::BTreeMap;

use chrono::NaiveDate;

use crate::{ProjectId, UserId, Username};

/// `GET /api/reports/summary/`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Summary {
    /// Projects (1 or 0 when narrowed to one project).
    pub projects: u64,
    /// Tasks in all (or the one) project.
    pub tasks: u64,
    /// Tasks per status (every status present, zeros included).
    pub by_status: BTreeMap<String, u64>,
    /// Tasks per priority (every priority present, zeros included).
    pub by_priority: BTreeMap<String, u64>,
    /// Not done and due before today.
    pub overdue: u64,
    /// Not done and due today or in the six days after (seven days in all).
    pub due_next_7_days: u64,
    /// Not done and assigned to nobody.
    pub unassigned: u64,
    /// Members of the tenant.
    pub members: u64,
}

/// Tasks created and completed in one week.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WeekThroughput {
    /// The Monday the week starts on (UTC).
    pub week_start: NaiveDate,
    /// Tasks created that week.
    pub created: u64,
    /// Tasks completed that week.
    pub completed: u64,
}

/// One member's load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workload {
    /// The member.
    pub user_id: UserId,
    /// Their user name.
    pub username: Username,
    /// Tasks assigned and not done.
    pub open: u64,
    /// Of those, past their due date.
    pub overdue: u64,
    /// Tasks assigned to them completed in the last 30 days.
    pub completed_last_30_days: u64,
}

/// Creation-to-done times of completed tasks.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CycleTime {
    /// Completed tasks considered.
    pub completed: u64,
    /// Median hours from creation to completion; `None` with no task.
    pub median_hours: Option<f64>,
    /// 85th percentile, in hours.
    pub p85_hours: Option<f64>,
}

/// What the reports are about: the whole tenant or one project.
pub type ReportScope = Option<ProjectId>;

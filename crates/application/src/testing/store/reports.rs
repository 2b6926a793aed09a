//! [`ReportRepository`] over one fake tenant schema: the same counts the
//! adapter's SQL computes, by iterating. Weeks start on Monday, dates are
//! UTC.

use std::collections::BTreeMap;

use chrono::{Datelike, Days, NaiveDate};
use taskforce_domain::{
    CycleTime, Priority, ReportRepository, ReportScope, StoreError, Summary, Task, TaskStatus, TenantId,
    WeekThroughput, Workload,
};

use super::tx::FakeTenantTx;

/// The Monday of the week `day` is in.
fn week_of(day: NaiveDate) -> NaiveDate {
    day - Days::new(u64::from(day.weekday().num_days_from_monday()))
}

/// `percentile_cont`: linear interpolation between the closest ranks.
fn percentile(sorted: &[f64], fraction: f64) -> Option<f64> {
    let last = sorted.len().checked_sub(1)?;
    let rank = fraction * last as f64;
    let low = rank.floor() as usize;
    let high = (low + 1).min(last);
    let weight = rank - low as f64;
    Some(sorted[low] + (sorted[high] - sorted[low]) * weight)
}

fn open(task: &Task) -> bool {
    task.status != TaskStatus::Done
}

impl FakeTenantTx<'_> {
    fn scoped(&mut self, scope: ReportScope) -> Result<Vec<Task>, StoreError> {
        let tasks = &self.schema_data()?.tasks;
        Ok(tasks.iter().filter(|t| scope.is_none_or(|p| t.project_id == p)).cloned().collect())
    }
}

impl ReportRepository for FakeTenantTx<'_> {
    fn summary(&mut self, tenant: TenantId, scope: ReportScope, today: NaiveDate) -> Result<Summary, StoreError> {
        let tasks = self.scoped(scope)?;
        let projects = self.schema_data()?.projects.iter().filter(|p| scope.is_none_or(|id| p.id == id)).count();
        let members = self.inner.state.memberships.iter().filter(|m| m.tenant_id == tenant).count();
        let count = |keep: &dyn Fn(&Task) -> bool| tasks.iter().filter(|t| keep(t)).count() as u64;
        let week_ahead = today + Days::new(7);
        Ok(Summary {
            projects: projects as u64,
            tasks: tasks.len() as u64,
            by_status: TaskStatus::ALL
                .iter()
                .map(|s| (s.as_str().to_owned(), count(&|t| t.status == *s)))
                .collect::<BTreeMap<_, _>>(),
            by_priority: Priority::ALL
                .iter()
                .map(|p| (p.as_str().to_owned(), count(&|t| t.priority == *p)))
                .collect::<BTreeMap<_, _>>(),
            overdue: count(&|t| open(t) && t.due_date.is_some_and(|d| d < today)),
            due_next_7_days: count(&|t| open(t) && t.due_date.is_some_and(|d| d >= today && d < week_ahead)),
            unassigned: count(&|t| open(t) && t.assignee_id.is_none()),
            members: members as u64,
        })
    }

    fn throughput(
        &mut self,
        scope: ReportScope,
        weeks: u32,
        today: NaiveDate,
    ) -> Result<Vec<WeekThroughput>, StoreError> {
        let tasks = self.scoped(scope)?;
        let last = week_of(today);
        let first = last - Days::new(7 * u64::from(weeks.saturating_sub(1)));
        let mut rows: BTreeMap<NaiveDate, WeekThroughput> = (0..weeks)
            .map(|i| first + Days::new(7 * u64::from(i)))
            .map(|week_start| (week_start, WeekThroughput { week_start, created: 0, completed: 0 }))
            .collect();
        for task in &tasks {
            if let Some(row) = rows.get_mut(&week_of(task.created_at.date_naive())) {
                row.created += 1;
            }
            if let Some(done) = task.completed_at
                && let Some(row) = rows.get_mut(&week_of(done.date_naive()))
            {
                row.completed += 1;
            }
        }
        Ok(rows.into_values().collect())
    }

    fn workload(&mut self, tenant: TenantId, today: NaiveDate) -> Result<Vec<Workload>, StoreError> {
        let tasks = self.scoped(None)?;
        let month_ago = today - Days::new(30);
        let mut members: Vec<_> = self.inner.state.memberships.iter().filter(|m| m.tenant_id == tenant).collect();
        members.sort_by_key(|m| (m.joined_at, m.id));
        members
            .into_iter()
            .map(|m| {
                let account = self.inner.state.users.iter().find(|u| u.user.id == m.user_id);
                let username = account.map(|u| u.user.username.clone()).ok_or(StoreError::NotFound)?;
                let theirs = |keep: &dyn Fn(&Task) -> bool| {
                    tasks.iter().filter(|t| t.assignee_id == Some(m.user_id) && keep(t)).count() as u64
                };
                Ok(Workload {
                    user_id: m.user_id,
                    username,
                    open: theirs(&open),
                    overdue: theirs(&|t| open(t) && t.due_date.is_some_and(|d| d < today)),
                    completed_last_30_days: theirs(&|t| {
                        !open(t) && t.completed_at.is_some_and(|at| at.date_naive() >= month_ago)
                    }),
                })
            })
            .collect()
    }

    fn cycle_time(&mut self, scope: ReportScope) -> Result<CycleTime, StoreError> {
        let mut hours: Vec<f64> = self
            .scoped(scope)?
            .iter()
            .filter(|t| !open(t))
            .filter_map(|t| t.completed_at.map(|done| (done - t.created_at).num_seconds() as f64 / 3600.0))
            .collect();
        hours.sort_by(f64::total_cmp);
        Ok(CycleTime {
            completed: hours.len() as u64,
            median_hours: percentile(&hours, 0.5),
            p85_hours: percentile(&hours, 0.85),
        })
    }
}

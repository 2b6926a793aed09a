//! [`ReportRepository`]: reports as SQL over the tenant's schema. Weeks
//! start on Monday and every date boundary is midnight UTC.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use diesel::{
    QueryableByName, RunQueryDsl,
    sql_types::{BigInt, Date, Double, Integer, Nullable, Text},
};
use taskforce_domain::{
    CycleTime, Priority, ReportRepository, ReportScope, StoreError, Summary, TaskStatus, TenantId, UserId, Username,
    WeekThroughput, Workload,
};

use super::PgTenantTx;
use crate::error::store_error;

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

#[derive(QueryableByName)]
struct SummaryRow {
    #[diesel(sql_type = BigInt)]
    projects: i64,
    #[diesel(sql_type = BigInt)]
    tasks: i64,
    #[diesel(sql_type = BigInt)]
    todo: i64,
    #[diesel(sql_type = BigInt)]
    in_progress: i64,
    #[diesel(sql_type = BigInt)]
    in_review: i64,
    #[diesel(sql_type = BigInt)]
    done: i64,
    #[diesel(sql_type = BigInt)]
    low: i64,
    #[diesel(sql_type = BigInt)]
    medium: i64,
    #[diesel(sql_type = BigInt)]
    high: i64,
    #[diesel(sql_type = BigInt)]
    urgent: i64,
    #[diesel(sql_type = BigInt)]
    overdue: i64,
    #[diesel(sql_type = BigInt)]
    due_next_7_days: i64,
    #[diesel(sql_type = BigInt)]
    unassigned: i64,
    #[diesel(sql_type = BigInt)]
    members: i64,
}

#[derive(QueryableByName)]
struct WeekRow {
    #[diesel(sql_type = Date)]
    week_start: NaiveDate,
    #[diesel(sql_type = BigInt)]
    created: i64,
    #[diesel(sql_type = BigInt)]
    completed: i64,
}

#[derive(QueryableByName)]
struct WorkloadRow {
    #[diesel(sql_type = BigInt)]
    user_id: i64,
    #[diesel(sql_type = Text)]
    username: String,
    #[diesel(sql_type = BigInt)]
    open: i64,
    #[diesel(sql_type = BigInt)]
    overdue: i64,
    #[diesel(sql_type = BigInt)]
    completed_last_30_days: i64,
}

#[derive(QueryableByName)]
struct CycleRow {
    #[diesel(sql_type = BigInt)]
    completed: i64,
    #[diesel(sql_type = Nullable<Double>)]
    median_hours: Option<f64>,
    #[diesel(sql_type = Nullable<Double>)]
    p85_hours: Option<f64>,
}

impl ReportRepository for PgTenantTx<'_> {
    fn summary(&mut self, tenant: TenantId, scope: ReportScope, today: NaiveDate) -> Result<Summary, StoreError> {
        let row: SummaryRow = diesel::sql_query(
            "SELECT (SELECT count(*) FROM projects WHERE $1::bigint IS NULL OR id = $1) AS projects,
                    count(*) AS tasks,
                    count(*) FILTER (WHERE status = 'todo') AS todo,
                    count(*) FILTER (WHERE status = 'in_progress') AS in_progress,
                    count(*) FILTER (WHERE status = 'in_review') AS in_review,
                    count(*) FILTER (WHERE status = 'done') AS done,
                    count(*) FILTER (WHERE priority = 'low') AS low,
                    count(*) FILTER (WHERE priority = 'medium') AS medium,
                    count(*) FILTER (WHERE priority = 'high') AS high,
                    count(*) FILTER (WHERE priority = 'urgent') AS urgent,
                    count(*) FILTER (WHERE status <> 'done' AND due_date < $2) AS overdue,
                    count(*) FILTER (WHERE status <> 'done' AND due_date >= $2 AND due_date < $2 + 7) AS due_next_7_days,
                    count(*) FILTER (WHERE status <> 'done' AND assignee_id IS NULL) AS unassigned,
                    (SELECT count(*) FROM public.memberships WHERE tenant_id = $3) AS members
               FROM tasks
              WHERE $1::bigint IS NULL OR project_id = $1",
        )
        .bind::<Nullable<BigInt>, _>(scope.map(|p| p.0))
        .bind::<Date, _>(today)
        .bind::<BigInt, _>(tenant.0)
        .get_result(self.inner.conn)
        .map_err(store_error)?;
        let by_status = TaskStatus::ALL
            .iter()
            .zip([row.todo, row.in_progress, row.in_review, row.done])
            .map(|(status, n)| (status.as_str().to_owned(), count(n)))
            .collect::<BTreeMap<_, _>>();
        let by_priority = Priority::ALL
            .iter()
            .zip([row.low, row.medium, row.high, row.urgent])
            .map(|(priority, n)| (priority.as_str().to_owned(), count(n)))
            .collect::<BTreeMap<_, _>>();
        Ok(Summary {
            projects: count(row.projects),
            tasks: count(row.tasks),
            by_status,
            by_priority,
            overdue: count(row.overdue),
            due_next_7_days: count(row.due_next_7_days),
            unassigned: count(row.unassigned),
            members: count(row.members),
        })
    }

    fn throughput(
        &mut self,
        scope: ReportScope,
        weeks: u32,
        today: NaiveDate,
    ) -> Result<Vec<WeekThroughput>, StoreError> {
        let rows: Vec<WeekRow> = diesel::sql_query(
            "WITH weeks AS (
                 SELECT week::date AS week_start
                   FROM generate_series(date_trunc('week', $2::timestamp) - ($3 - 1) * interval '1 week',
                                        date_trunc('week', $2::timestamp), interval '1 week') AS week
             ),
             bounds AS (SELECT min(week_start) AS first FROM weeks),
             created AS (
                 SELECT date_trunc('week', t.created_at AT TIME ZONE 'UTC')::date AS week_start, count(*) AS n
                   FROM tasks t, bounds
                  WHERE ($1::bigint IS NULL OR t.project_id = $1)
                    AND t.created_at >= bounds.first::timestamp AT TIME ZONE 'UTC'
                  GROUP BY 1
             ),
             completed AS (
                 SELECT date_trunc('week', t.completed_at AT TIME ZONE 'UTC')::date AS week_start, count(*) AS n
                   FROM tasks t, bounds
                  WHERE ($1::bigint IS NULL OR t.project_id = $1)
                    AND t.completed_at >= bounds.first::timestamp AT TIME ZONE 'UTC'
                  GROUP BY 1
             )
             SELECT w.week_start, coalesce(c.n, 0) AS created, coalesce(d.n, 0) AS completed
               FROM weeks w
               LEFT JOIN created c ON c.week_start = w.week_start
               LEFT JOIN completed d ON d.week_start = w.week_start
              ORDER BY w.week_start",
        )
        .bind::<Nullable<BigInt>, _>(scope.map(|p| p.0))
        .bind::<Date, _>(today)
        .bind::<Integer, _>(i32::try_from(weeks).unwrap_or(i32::MAX))
        .load(self.inner.conn)
        .map_err(store_error)?;
        Ok(rows
            .into_iter()
            .map(|r| WeekThroughput {
                week_start: r.week_start,
                created: count(r.created),
                completed: count(r.completed),
            })
            .collect())
    }

    fn workload(&mut self, tenant: TenantId, today: NaiveDate) -> Result<Vec<Workload>, StoreError> {
        let rows: Vec<WorkloadRow> = diesel::sql_query(
            "SELECT m.user_id, u.username::text AS username,
                    count(t.id) FILTER (WHERE t.status <> 'done') AS open,
                    count(t.id) FILTER (WHERE t.status <> 'done' AND t.due_date < $2) AS overdue,
                    count(t.id) FILTER (WHERE t.status = 'done'
                        AND t.completed_at >= ($2 - 30)::timestamp AT TIME ZONE 'UTC') AS completed_last_30_days
               FROM public.memberships m
               JOIN public.users u ON u.id = m.user_id
               LEFT JOIN tasks t ON t.assignee_id = m.user_id
              WHERE m.tenant_id = $1
              GROUP BY m.id, m.user_id, u.username, m.joined_at
              ORDER BY m.joined_at, m.id",
        )
        .bind::<BigInt, _>(tenant.0)
        .bind::<Date, _>(today)
        .load(self.inner.conn)
        .map_err(store_error)?;
        rows.into_iter()
            .map(|r| {
                Ok(Workload {
                    user_id: UserId(r.user_id),
                    username: Username::from_stored(&r.username).map_err(StoreError::internal)?,
                    open: count(r.open),
                    overdue: count(r.overdue),
                    completed_last_30_days: count(r.completed_last_30_days),
                })
            })
            .collect()
    }

    fn cycle_time(&mut self, scope: ReportScope) -> Result<CycleTime, StoreError> {
        let row: CycleRow = diesel::sql_query(
            "SELECT count(*) AS completed,
                    percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM completed_at - created_at) / 3600)::float8 AS median_hours,
                    percentile_cont(0.85) WITHIN GROUP (ORDER BY extract(epoch FROM completed_at - created_at) / 3600)::float8 AS p85_hours
               FROM tasks
              WHERE status = 'done' AND completed_at IS NOT NULL
                AND ($1::bigint IS NULL OR project_id = $1)",
        )
        .bind::<Nullable<BigInt>, _>(scope.map(|p| p.0))
        .get_result(self.inner.conn)
        .map_err(store_error)?;
        Ok(CycleTime { completed: count(row.completed), median_hours: row.median_hours, p85_hours: row.p85_hours })
    }
}

//! [`TaskRepository`] over the tenant's `tasks` table.

use chrono::{DateTime, Utc};
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{BigInt, Date, Nullable, Text, Timestamptz};
use diesel::{
    BoolExpressionMethods, ExpressionMethods, OptionalExtension, PgSortExpressionMethods, PgTextExpressionMethods,
    QueryDsl, QueryResult, RunQueryDsl, SelectableHelper,
};
use taskforce_domain::{
    ProjectId, StoreError, Task, TaskFields, TaskFilter, TaskId, TaskOrderField, TaskRepository, TaskStatus, UserId,
};

use super::{PgTenantTx, like_pattern, total as total_of};
use crate::{
    error::store_error,
    schema::tasks,
    tenant_rows::{TaskRow, TaskValues},
};

fn values(fields: &TaskFields, completed_at: Option<DateTime<Utc>>) -> TaskValues<'_> {
    TaskValues {
        title: fields.title.as_str(),
        description: fields.description.as_str(),
        status: fields.status.as_str(),
        priority: fields.priority.as_str(),
        assignee_id: fields.assignee_id.map(|u| u.0),
        due_date: fields.due_date,
        completed_at,
    }
}

/// A project's tasks that pass the filter (no ordering, no paging).
fn matching(project: ProjectId, filter: &TaskFilter) -> tasks::BoxedQuery<'static, Pg> {
    let mut query = tasks::table.filter(tasks::project_id.eq(project.0)).into_boxed();
    if let Some(status) = filter.status {
        query = query.filter(tasks::status.eq(status.as_str()));
    }
    if let Some(priority) = filter.priority {
        query = query.filter(tasks::priority.eq(priority.as_str()));
    }
    if let Some(assignee) = filter.assignee {
        query = query.filter(tasks::assignee_id.eq(assignee.0));
    }
    if let Some(before) = filter.due_before {
        query = query.filter(tasks::due_date.lt(before));
    }
    if let Some(today) = filter.overdue_as_of {
        query = query.filter(tasks::due_date.lt(today)).filter(tasks::status.ne(TaskStatus::Done.as_str()));
    }
    for term in filter.search.terms() {
        let pattern = like_pattern(term);
        query = query.filter(tasks::title.ilike(pattern.clone()).or(tasks::description.ilike(pattern)));
    }
    query
}

impl TaskRepository for PgTenantTx<'_> {
    fn insert(
        &mut self,
        project: ProjectId,
        created_by: UserId,
        fields: &TaskFields,
        completed_at: Option<DateTime<Utc>>,
    ) -> Result<Task, StoreError> {
        let values =
            (values(fields, completed_at), tasks::project_id.eq(project.0), tasks::created_by.eq(created_by.0));
        // a task made done is completed the instant it is created: its
        // creation takes the completion's time rather than the database's
        // clock, which would put it after its completion (two statements,
        // each a static query that the statement cache keeps)
        let row = match completed_at {
            Some(at) => diesel::insert_into(tasks::table)
                .values((values, tasks::created_at.eq(at), tasks::updated_at.eq(at)))
                .returning(TaskRow::as_returning())
                .get_result(self.inner.conn),
            None => diesel::insert_into(tasks::table)
                .values(values)
                .returning(TaskRow::as_returning())
                .get_result(self.inner.conn),
        };
        row.map_err(store_error).and_then(Task::try_from)
    }

    fn get(&mut self, id: TaskId) -> Result<Option<Task>, StoreError> {
        tasks::table
            .find(id.0)
            .select(TaskRow::as_select())
            .first(self.inner.conn)
            .optional()
            .map_err(store_error)?
            .map(Task::try_from)
            .transpose()
    }

    fn lock(&mut self, id: TaskId) -> Result<Option<Task>, StoreError> {
        tasks::table
            .find(id.0)
            .select(TaskRow::as_select())
            .for_update()
            .first(self.inner.conn)
            .optional()
            .map_err(store_error)?
            .map(Task::try_from)
            .transpose()
    }

    fn lock_of_project(&mut self, project: ProjectId) -> Result<(), StoreError> {
        tasks::table
            .filter(tasks::project_id.eq(project.0))
            .order(tasks::id)
            .select(tasks::id)
            .for_update()
            .load::<i64>(self.inner.conn)
            .map(drop)
            .map_err(store_error)
    }

    fn page(
        &mut self,
        project: ProjectId,
        filter: &TaskFilter,
        offset: u64,
        limit: u64,
    ) -> Result<(Vec<Task>, u64), StoreError> {
        // the total is a scalar subquery with the same filters: PostgreSQL
        // counts it from the index alone (index-only scan) in the same
        // statement, instead of fetching every matching row as
        // count(*) OVER () would
        let total = matching(project, filter).count().single_value();
        let query = matching(project, filter).select((TaskRow::as_select(), total));
        let query = match (filter.ordering.field, filter.ordering.descending) {
            (TaskOrderField::CreatedAt, false) => query.order((tasks::created_at.asc(), tasks::id.asc())),
            (TaskOrderField::CreatedAt, true) => query.order((tasks::created_at.desc(), tasks::id.desc())),
            (TaskOrderField::UpdatedAt, false) => query.order((tasks::updated_at.asc(), tasks::id.asc())),
            (TaskOrderField::UpdatedAt, true) => query.order((tasks::updated_at.desc(), tasks::id.desc())),
            (TaskOrderField::Priority, false) => query.order((tasks::priority_rank.asc(), tasks::id.asc())),
            (TaskOrderField::Priority, true) => query.order((tasks::priority_rank.desc(), tasks::id.desc())),
            (TaskOrderField::DueDate, false) => query.order((tasks::due_date.asc().nulls_last(), tasks::id.asc())),
            (TaskOrderField::DueDate, true) => query.order((tasks::due_date.desc().nulls_last(), tasks::id.desc())),
        };
        let rows: Vec<(TaskRow, Option<i64>)> = query
            .offset(i64::try_from(offset).unwrap_or(i64::MAX))
            .limit(i64::try_from(limit).unwrap_or(i64::MAX))
            .load(self.inner.conn)
            .map_err(store_error)?;
        let count = total_of(rows.first().and_then(|r| r.1));
        let items = rows.into_iter().map(|(row, _)| Task::try_from(row)).collect::<Result<Vec<_>, _>>()?;
        Ok((items, count))
    }

    fn update(
        &mut self,
        id: TaskId,
        version: i64,
        fields: &TaskFields,
        completed_at: Option<DateTime<Utc>>,
    ) -> Result<Option<Task>, StoreError> {
        TaskUpdate { id: id.0, version, values: values(fields, completed_at) }
            .get_result::<TaskRow>(self.inner.conn)
            .optional()
            .map_err(store_error)?
            .map(Task::try_from)
            .transpose()
    }

    fn delete(&mut self, id: TaskId) -> Result<bool, StoreError> {
        diesel::delete(tasks::table.find(id.0)).execute(self.inner.conn).map(|n| n > 0).map_err(store_error)
    }
}

/// `UPDATE tasks SET … WHERE id = … AND version = … RETURNING …`, written
/// out: diesel never caches an `UPDATE` it builds (its `SET` list may vary
/// from call to call), and an uncached statement costs a prepare round trip
/// and a parse on every request. This one's SQL never varies, so it is
/// prepared once per connection.
struct TaskUpdate<'a> {
    id: i64,
    version: i64,
    values: TaskValues<'a>,
}

impl QueryId for TaskUpdate<'_> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl Query for TaskUpdate<'_> {
    type SqlType = (
        BigInt,
        BigInt,
        Text,
        Text,
        Text,
        Text,
        Nullable<BigInt>,
        Nullable<Date>,
        BigInt,
        Timestamptz,
        Timestamptz,
        Nullable<Timestamptz>,
        BigInt,
    );
}

impl<Conn> RunQueryDsl<Conn> for TaskUpdate<'_> {}

impl QueryFragment<Pg> for TaskUpdate<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        let v = &self.values;
        out.push_sql("UPDATE tasks SET title = ");
        out.push_bind_param::<Text, _>(&v.title)?;
        out.push_sql(", description = ");
        out.push_bind_param::<Text, _>(&v.description)?;
        out.push_sql(", status = ");
        out.push_bind_param::<Text, _>(&v.status)?;
        out.push_sql(", priority = ");
        out.push_bind_param::<Text, _>(&v.priority)?;
        out.push_sql(", assignee_id = ");
        out.push_bind_param::<Nullable<BigInt>, _>(&v.assignee_id)?;
        out.push_sql(", due_date = ");
        out.push_bind_param::<Nullable<Date>, _>(&v.due_date)?;
        out.push_sql(", completed_at = ");
        out.push_bind_param::<Nullable<Timestamptz>, _>(&v.completed_at)?;
        out.push_sql(", version = version + 1, updated_at = statement_timestamp() WHERE id = ");
        out.push_bind_param::<BigInt, _>(&self.id)?;
        out.push_sql(" AND version = ");
        out.push_bind_param::<BigInt, _>(&self.version)?;
        out.push_sql(
            " RETURNING id, project_id, title, description, status, priority, assignee_id, due_date, \
             created_by, created_at, updated_at, completed_at, version",
        );
        Ok(())
    }
}

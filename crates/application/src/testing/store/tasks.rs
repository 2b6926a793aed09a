//! [`TaskRepository`] over the fake's `tasks`: each belongs to a project that
//! exists (`tasks_project_id_fkey`); deleting one takes its comments with it
//! (`ON DELETE CASCADE`).

use std::cmp::Ordering;

use chrono::{DateTime, Utc};
use taskforce_domain::{
    ProjectId, StoreError, Task, TaskFields, TaskFilter, TaskId, TaskOrderField, TaskOrdering, TaskRepository,
    TaskStatus, UserId,
};

use super::tx::{FakeTenantTx, page_of};

/// Whether a task passes the filter, as the adapter's `WHERE` has it: a task
/// without a due date is neither due before a date nor overdue.
fn matches(task: &Task, filter: &TaskFilter) -> bool {
    filter.status.is_none_or(|status| task.status == status)
        && filter.priority.is_none_or(|priority| task.priority == priority)
        && filter.assignee.is_none_or(|assignee| task.assignee_id == Some(assignee))
        && filter.due_before.is_none_or(|before| task.due_date.is_some_and(|due| due < before))
        && filter
            .overdue_as_of
            .is_none_or(|today| task.due_date.is_some_and(|due| due < today) && task.status != TaskStatus::Done)
        && filter.search.matches(&[task.title.as_str(), task.description.as_str()])
}

/// The adapter's `ORDER BY`: the field, then the id, both in the asked
/// direction; tasks without a due date come last either way.
fn order(ordering: TaskOrdering, a: &Task, b: &Task) -> Ordering {
    let (nulls, by_field) = match ordering.field {
        TaskOrderField::CreatedAt => (Ordering::Equal, a.created_at.cmp(&b.created_at)),
        TaskOrderField::UpdatedAt => (Ordering::Equal, a.updated_at.cmp(&b.updated_at)),
        TaskOrderField::Priority => (Ordering::Equal, a.priority.cmp(&b.priority)),
        TaskOrderField::DueDate => (a.due_date.is_none().cmp(&b.due_date.is_none()), a.due_date.cmp(&b.due_date)),
    };
    let directed = by_field.then(a.id.cmp(&b.id));
    nulls.then(if ordering.descending { directed.reverse() } else { directed })
}

impl TaskRepository for FakeTenantTx<'_> {
    fn insert(
        &mut self,
        project: ProjectId,
        created_by: UserId,
        fields: &TaskFields,
        completed_at: Option<DateTime<Utc>>,
    ) -> Result<Task, StoreError> {
        let id = TaskId(self.inner.state.next_id());
        let now = self.inner.now;
        let data = self.schema_data()?;
        if !data.projects.iter().any(|p| p.id == project) {
            return Err(StoreError::internal(format!("foreign key violation: no project {project}")));
        }
        let task = Task {
            id,
            project_id: project,
            title: fields.title.clone(),
            description: fields.description.clone(),
            status: fields.status,
            priority: fields.priority,
            assignee_id: fields.assignee_id,
            due_date: fields.due_date,
            created_by,
            created_at: now,
            updated_at: now,
            completed_at,
            version: 1,
        };
        data.tasks.push(task.clone());
        Ok(task)
    }

    fn get(&mut self, id: TaskId) -> Result<Option<Task>, StoreError> {
        Ok(self.schema_data()?.tasks.iter().find(|t| t.id == id).cloned())
    }

    fn lock(&mut self, id: TaskId) -> Result<Option<Task>, StoreError> {
        // one unit of work at a time: nothing else can change it meanwhile
        self.get(id)
    }

    fn lock_of_project(&mut self, _project: ProjectId) -> Result<(), StoreError> {
        // one unit of work at a time: nothing else can add to them meanwhile
        Ok(())
    }

    fn page(
        &mut self,
        project: ProjectId,
        filter: &TaskFilter,
        offset: u64,
        limit: u64,
    ) -> Result<(Vec<Task>, u64), StoreError> {
        let mut rows: Vec<&Task> =
            self.schema_data()?.tasks.iter().filter(|t| t.project_id == project && matches(t, filter)).collect();
        rows.sort_by(|a, b| order(filter.ordering, a, b));
        Ok(page_of(&rows, offset, limit))
    }

    fn update(
        &mut self,
        id: TaskId,
        version: i64,
        fields: &TaskFields,
        completed_at: Option<DateTime<Utc>>,
    ) -> Result<Option<Task>, StoreError> {
        let now = self.inner.now;
        let Some(task) = self.schema_data()?.tasks.iter_mut().find(|t| t.id == id && t.version == version) else {
            return Ok(None);
        };
        task.title = fields.title.clone();
        task.description = fields.description.clone();
        task.status = fields.status;
        task.priority = fields.priority;
        task.assignee_id = fields.assignee_id;
        task.due_date = fields.due_date;
        task.completed_at = completed_at;
        task.version += 1;
        task.updated_at = now;
        Ok(Some(task.clone()))
    }

    fn delete(&mut self, id: TaskId) -> Result<bool, StoreError> {
        let data = self.schema_data()?;
        let before = data.tasks.len();
        data.tasks.retain(|t| t.id != id);
        if data.tasks.len() == before {
            return Ok(false);
        }
        data.comments.retain(|c| c.task_id != id);
        data.attachments.retain(|a| a.task_id != id);
        Ok(true)
    }
}

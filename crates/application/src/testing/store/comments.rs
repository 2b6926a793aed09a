//! [`CommentRepository`] over the fake's `comments`: each belongs to a task
//! that exists (`comments_task_id_fkey`).

use taskforce_domain::{Comment, CommentBody, CommentId, CommentRepository, StoreError, TaskId, UserId};

use super::tx::{FakeTenantTx, page_of};

impl CommentRepository for FakeTenantTx<'_> {
    fn insert(&mut self, task: TaskId, author: UserId, body: &CommentBody) -> Result<Comment, StoreError> {
        let id = CommentId(self.inner.state.next_id());
        let now = self.inner.now;
        let data = self.schema_data()?;
        if !data.tasks.iter().any(|t| t.id == task) {
            return Err(StoreError::internal(format!("foreign key violation: no task {task}")));
        }
        let comment = Comment {
            id,
            task_id: task,
            author_id: author,
            body: body.clone(),
            created_at: now,
            updated_at: now,
            version: 1,
        };
        data.comments.push(comment.clone());
        Ok(comment)
    }

    fn get(&mut self, id: CommentId) -> Result<Option<Comment>, StoreError> {
        Ok(self.schema_data()?.comments.iter().find(|c| c.id == id).cloned())
    }

    fn lock(&mut self, id: CommentId) -> Result<Option<Comment>, StoreError> {
        // one unit of work at a time: nothing else can change it meanwhile
        self.get(id)
    }

    fn page(&mut self, task: TaskId, offset: u64, limit: u64) -> Result<(Vec<Comment>, u64), StoreError> {
        let mut rows: Vec<&Comment> = self.schema_data()?.comments.iter().filter(|c| c.task_id == task).collect();
        // oldest first
        rows.sort_by_key(|c| (c.created_at, c.id));
        Ok(page_of(&rows, offset, limit))
    }

    fn update(&mut self, id: CommentId, version: i64, body: &CommentBody) -> Result<Option<Comment>, StoreError> {
        let now = self.inner.now;
        let Some(comment) = self.schema_data()?.comments.iter_mut().find(|c| c.id == id && c.version == version) else {
            return Ok(None);
        };
        comment.body = body.clone();
        comment.version += 1;
        comment.updated_at = now;
        Ok(Some(comment.clone()))
    }

    fn delete(&mut self, id: CommentId) -> Result<bool, StoreError> {
        let comments = &mut self.schema_data()?.comments;
        let before = comments.len();
        comments.retain(|c| c.id != id);
        Ok(comments.len() < before)
    }
}

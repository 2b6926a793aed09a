//! [`CommentRepository`] over the tenant's `comments` table.

use diesel::{ExpressionMethods, OptionalExtension, QueryDsl, RunQueryDsl, SelectableHelper};
use taskforce_domain::{Comment, CommentBody, CommentId, CommentRepository, StoreError, TaskId, UserId};

use super::{PgTenantTx, count_over, total};
use crate::{error::store_error, schema::comments, tenant_rows::CommentRow};

impl CommentRepository for PgTenantTx<'_> {
    fn insert(&mut self, task: TaskId, author: UserId, body: &CommentBody) -> Result<Comment, StoreError> {
        diesel::insert_into(comments::table)
            .values((comments::task_id.eq(task.0), comments::author_id.eq(author.0), comments::body.eq(body.as_str())))
            .returning(CommentRow::as_returning())
            .get_result(self.inner.conn)
            .map_err(store_error)
            .and_then(Comment::try_from)
    }

    fn get(&mut self, id: CommentId) -> Result<Option<Comment>, StoreError> {
        comments::table
            .find(id.0)
            .select(CommentRow::as_select())
            .first(self.inner.conn)
            .optional()
            .map_err(store_error)?
            .map(Comment::try_from)
            .transpose()
    }

    fn lock(&mut self, id: CommentId) -> Result<Option<Comment>, StoreError> {
        comments::table
            .find(id.0)
            .select(CommentRow::as_select())
            .for_update()
            .first(self.inner.conn)
            .optional()
            .map_err(store_error)?
            .map(Comment::try_from)
            .transpose()
    }

    fn page(&mut self, task: TaskId, offset: u64, limit: u64) -> Result<(Vec<Comment>, u64), StoreError> {
        let rows: Vec<(CommentRow, i64)> = comments::table
            .select((CommentRow::as_select(), count_over()))
            .filter(comments::task_id.eq(task.0))
            .order((comments::created_at.asc(), comments::id.asc()))
            .offset(i64::try_from(offset).unwrap_or(i64::MAX))
            .limit(i64::try_from(limit).unwrap_or(i64::MAX))
            .load(self.inner.conn)
            .map_err(store_error)?;
        let count = total(rows.first().map(|r| r.1));
        let items = rows.into_iter().map(|(row, _)| Comment::try_from(row)).collect::<Result<Vec<_>, _>>()?;
        Ok((items, count))
    }

    fn update(&mut self, id: CommentId, version: i64, body: &CommentBody) -> Result<Option<Comment>, StoreError> {
        diesel::update(comments::table.filter(comments::id.eq(id.0)).filter(comments::version.eq(version)))
            .set((
                comments::body.eq(body.as_str()),
                comments::version.eq(comments::version + 1),
                comments::updated_at.eq(super::statement_timestamp()),
            ))
            .returning(CommentRow::as_returning())
            .get_result(self.inner.conn)
            .optional()
            .map_err(store_error)?
            .map(Comment::try_from)
            .transpose()
    }

    fn delete(&mut self, id: CommentId) -> Result<bool, StoreError> {
        diesel::delete(comments::table.find(id.0)).execute(self.inner.conn).map(|n| n > 0).map_err(store_error)
    }
}

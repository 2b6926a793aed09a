//! [`AttachmentRepository`] over the tenant's `attachments` table.

use diesel::{ExpressionMethods, OptionalExtension, QueryDsl, RunQueryDsl, SelectableHelper};
use taskforce_domain::{
    Attachment, AttachmentId, AttachmentRepository, NewAttachment, ProjectId, StorageKey, StoreError, TaskId,
};

use super::{PgTenantTx, count_over, total};
use crate::{
    error::store_error,
    schema::{attachments, tasks},
    tenant_rows::AttachmentRow,
};

fn keys(stored: Vec<String>) -> Result<Vec<StorageKey>, StoreError> {
    stored
        .into_iter()
        .map(|key| {
            StorageKey::parse(&key).ok_or_else(|| StoreError::internal(format!("stored key {key:?} is invalid")))
        })
        .collect()
}

impl AttachmentRepository for PgTenantTx<'_> {
    fn insert(&mut self, new: &NewAttachment) -> Result<Attachment, StoreError> {
        diesel::insert_into(attachments::table)
            .values((
                attachments::task_id.eq(new.task_id.0),
                attachments::filename.eq(new.filename.as_str()),
                attachments::content_type.eq(new.content_type.as_str()),
                attachments::size.eq(i64::try_from(new.size).map_err(StoreError::internal)?),
                attachments::storage_key.eq(new.storage_key.as_str()),
                attachments::uploaded_by.eq(new.uploaded_by.0),
            ))
            .returning(AttachmentRow::as_returning())
            .get_result(self.inner.conn)
            .map_err(store_error)
            .and_then(Attachment::try_from)
    }

    fn get(&mut self, id: AttachmentId) -> Result<Option<Attachment>, StoreError> {
        attachments::table
            .find(id.0)
            .select(AttachmentRow::as_select())
            .first(self.inner.conn)
            .optional()
            .map_err(store_error)?
            .map(Attachment::try_from)
            .transpose()
    }

    fn page(&mut self, task: TaskId, offset: u64, limit: u64) -> Result<(Vec<Attachment>, u64), StoreError> {
        let rows: Vec<(AttachmentRow, i64)> = attachments::table
            .select((AttachmentRow::as_select(), count_over()))
            .filter(attachments::task_id.eq(task.0))
            .order(attachments::id.asc())
            .offset(i64::try_from(offset).unwrap_or(i64::MAX))
            .limit(i64::try_from(limit).unwrap_or(i64::MAX))
            .load(self.inner.conn)
            .map_err(store_error)?;
        let count = total(rows.first().map(|r| r.1));
        let items = rows.into_iter().map(|(row, _)| Attachment::try_from(row)).collect::<Result<Vec<_>, _>>()?;
        Ok((items, count))
    }

    fn delete(&mut self, id: AttachmentId) -> Result<bool, StoreError> {
        diesel::delete(attachments::table.find(id.0)).execute(self.inner.conn).map(|n| n > 0).map_err(store_error)
    }

    fn keys_of_task(&mut self, task: TaskId) -> Result<Vec<StorageKey>, StoreError> {
        let stored: Vec<String> = attachments::table
            .filter(attachments::task_id.eq(task.0))
            .select(attachments::storage_key)
            .load(self.inner.conn)
            .map_err(store_error)?;
        keys(stored)
    }

    fn keys_of_project(&mut self, project: ProjectId) -> Result<Vec<StorageKey>, StoreError> {
        let stored: Vec<String> = attachments::table
            .inner_join(tasks::table)
            .filter(tasks::project_id.eq(project.0))
            .select(attachments::storage_key)
            .load(self.inner.conn)
            .map_err(store_error)?;
        keys(stored)
    }
}

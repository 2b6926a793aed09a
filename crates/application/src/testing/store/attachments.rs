//! [`AttachmentRepository`] over one fake tenant schema: each belongs to a
//! task that exists (`attachments_task_id_fkey`), keys are unique
//! (`attachments_storage_key_key`).

use taskforce_domain::{
    Attachment, AttachmentId, AttachmentRepository, NewAttachment, ProjectId, StorageKey, StoreError, TaskId, Unique,
};

use super::tx::{FakeTenantTx, page_of};

impl AttachmentRepository for FakeTenantTx<'_> {
    fn insert(&mut self, new: &NewAttachment) -> Result<Attachment, StoreError> {
        let id = AttachmentId(self.inner.state.next_id());
        let created_at = self.inner.now;
        let data = self.schema_data()?;
        if !data.tasks.iter().any(|t| t.id == new.task_id) {
            return Err(StoreError::internal(format!("foreign key violation: no task {}", new.task_id)));
        }
        if data.attachments.iter().any(|a| a.storage_key == new.storage_key) {
            return Err(StoreError::Duplicate(Unique::Other("attachments_storage_key_key".into())));
        }
        let attachment = Attachment {
            id,
            task_id: new.task_id,
            filename: new.filename.clone(),
            content_type: new.content_type.clone(),
            size: new.size,
            storage_key: new.storage_key.clone(),
            uploaded_by: new.uploaded_by,
            created_at,
        };
        data.attachments.push(attachment.clone());
        Ok(attachment)
    }

    fn get(&mut self, id: AttachmentId) -> Result<Option<Attachment>, StoreError> {
        Ok(self.schema_data()?.attachments.iter().find(|a| a.id == id).cloned())
    }

    fn page(&mut self, task: TaskId, offset: u64, limit: u64) -> Result<(Vec<Attachment>, u64), StoreError> {
        let mut rows: Vec<&Attachment> = self.schema_data()?.attachments.iter().filter(|a| a.task_id == task).collect();
        rows.sort_by_key(|a| a.id);
        Ok(page_of(&rows, offset, limit))
    }

    fn delete(&mut self, id: AttachmentId) -> Result<bool, StoreError> {
        let attachments = &mut self.schema_data()?.attachments;
        let before = attachments.len();
        attachments.retain(|a| a.id != id);
        Ok(attachments.len() < before)
    }

    fn keys_of_task(&mut self, task: TaskId) -> Result<Vec<StorageKey>, StoreError> {
        let data = self.schema_data()?;
        Ok(data.attachments.iter().filter(|a| a.task_id == task).map(|a| a.storage_key.clone()).collect())
    }

    fn keys_of_project(&mut self, project: ProjectId) -> Result<Vec<StorageKey>, StoreError> {
        let data = self.schema_data()?;
        let tasks: Vec<TaskId> = data.tasks.iter().filter(|t| t.project_id == project).map(|t| t.id).collect();
        Ok(data.attachments.iter().filter(|a| tasks.contains(&a.task_id)).map(|a| a.storage_key.clone()).collect())
    }
}

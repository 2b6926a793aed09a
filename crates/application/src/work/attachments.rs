//! Attachments: files on tasks. The bytes go to the [`FileStore`] first,
//! then the metadata and its activity row are written in one transaction;
//! if that fails, the bytes are removed again. Deleting removes the record
//! first and the bytes after the commit, so a failure leaves at worst an
//! unreferenced file, never a record without bytes.

use std::{io::Read, sync::Arc};

use taskforce_domain::{
    Attachment, AttachmentId, Changes, ContentType, FileError, FileName, FileStore, NewActivity, NewAttachment,
    SchemaName, StorageKey, Store, StoreExt, StoredFile, TargetType, TaskId, TenantTx, Verb, record_change,
};

use super::WorkError;
use crate::{Action, Actor, Denied, IfMatch, Page, PageRequest, Relation, etag};

/// A file store that keeps nothing: uploads are refused and deletions have
/// nothing to do. The default of the use cases until a store is given.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoFiles;

impl FileStore for NoFiles {
    fn put(&self, _: &SchemaName, _: &mut dyn Read, _: u64) -> Result<StoredFile, FileError> {
        Err(FileError::Io("no file store is configured".into()))
    }

    fn open(&self, _: &SchemaName, _: &StorageKey) -> Result<Box<dyn Read + Send>, FileError> {
        Err(FileError::NotFound)
    }

    fn delete(&self, _: &SchemaName, _: &[StorageKey]) -> Result<(), FileError> {
        Ok(())
    }

    fn delete_area(&self, _: &SchemaName) -> Result<(), FileError> {
        Ok(())
    }

    fn check(&self) -> Result<(), FileError> {
        Ok(())
    }
}

/// Removes files whose records are gone (committed). A failure leaves
/// unreferenced bytes, which is logged: nothing refers to them any more.
pub(crate) fn discard(files: &dyn FileStore, area: &SchemaName, keys: &[StorageKey]) {
    if keys.is_empty() {
        return;
    }
    if let Err(error) = files.delete(area, keys) {
        tracing::warn!(schema = %area, files = keys.len(), %error, "could not delete the files of deleted attachments");
    }
}

fn log(tx: &mut dyn TenantTx, actor: &Actor, verb: Verb, attachment: &Attachment) -> Result<(), WorkError> {
    let project = tx.tasks().get(attachment.task_id)?.map(|t| t.project_id.0);
    let mut changes = Changes::new();
    let (filename, size, task) = (attachment.filename.as_str(), attachment.size, attachment.task_id.0);
    match verb {
        Verb::Deleted => {
            record_change(&mut changes, "filename", &Some(filename), &None::<&str>);
            record_change(&mut changes, "size", &Some(size), &None::<u64>);
            record_change(&mut changes, "task_id", &Some(task), &None::<i64>);
        }
        _ => {
            record_change(&mut changes, "filename", &None::<&str>, &Some(filename));
            record_change(&mut changes, "content_type", &None::<&str>, &Some(attachment.content_type.as_str()));
            record_change(&mut changes, "size", &None::<u64>, &Some(size));
            record_change(&mut changes, "task_id", &None::<i64>, &Some(task));
        }
    }
    tx.activity().record(&NewActivity {
        actor: actor.user,
        verb,
        target_type: TargetType::Attachment,
        target_id: attachment.id.0,
        project_id: project,
        changes,
    })?;
    Ok(())
}

/// The attachment use cases.
#[derive(Clone)]
pub struct Attachments {
    store: Arc<dyn Store>,
    files: Arc<dyn FileStore>,
    max_upload_bytes: u64,
}

impl std::fmt::Debug for Attachments {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Attachments").field("max_upload_bytes", &self.max_upload_bytes).finish_non_exhaustive()
    }
}

impl Attachments {
    /// An attachment's entity tag: attachments never change, so one version.
    pub fn etag(attachment: &Attachment) -> String {
        etag("attachment", attachment.id.0, 1)
    }

    /// The use cases over a store and a file store, accepting files of up
    /// to `max_upload_bytes`.
    pub fn new(store: Arc<dyn Store>, files: Arc<dyn FileStore>, max_upload_bytes: u64) -> Self {
        Self { store, files, max_upload_bytes }
    }

    /// The largest file accepted, in bytes.
    pub fn max_upload_bytes(&self) -> u64 {
        self.max_upload_bytes
    }

    /// Whether the caller may attach a file to the task: checked before an
    /// upload is read, so a refused one costs no transfer.
    pub fn may_upload(&self, actor: &Actor, task: TaskId) -> Result<(), WorkError> {
        actor.may(Action::CreateContent, Relation::default())?;
        self.store.tenant(&actor.tenant, |tx| tx.tasks().get(task)?.map(|_| ()).ok_or(WorkError::NotFound))
    }

    /// Stores `content` (read to its end, at most the limit) as a file of
    /// the task, named after the client's `filename` made safe.
    #[tracing::instrument(skip_all, fields(tenant = %actor.tenant.slug, user = %actor.user, task = %task))]
    pub fn upload(
        &self,
        actor: &Actor,
        task: TaskId,
        filename: &str,
        content_type: Option<&str>,
        content: &mut dyn Read,
    ) -> Result<Attachment, WorkError> {
        self.may_upload(actor, task)?;
        let area = &actor.tenant.schema_name;
        let stored = match self.files.put(area, content, self.max_upload_bytes) {
            Ok(stored) => stored,
            // the store's area went with its tenant, deleted while the
            // bytes arrived: said so, not as the store's failure
            Err(FileError::Io(cause)) => {
                let standing = self.store.read(|tx| tx.tenants().get(actor.tenant.id));
                return Err(match standing {
                    Ok(Some(tenant)) if tenant.is_active => FileError::Io(cause).into(),
                    Ok(_) => WorkError::TenantInactive,
                    Err(error) => error.into(),
                });
            }
            Err(other) => return Err(other.into()),
        };
        if stored.size == 0 {
            // refused like the API this one replaces; nothing is recorded
            discard(self.files.as_ref(), area, &[stored.key]);
            return Err(WorkError::field("file", "The submitted file is empty."));
        }
        let new = NewAttachment {
            task_id: task,
            filename: FileName::sanitize(filename),
            content_type: ContentType::from_client(content_type),
            size: stored.size,
            storage_key: stored.key.clone(),
            uploaded_by: actor.user,
        };
        let recorded = self.store.tenant(&actor.tenant, |tx| {
            // the bytes took as long as the client took to send them: the
            // tenant and the caller are judged again as they stand now (a
            // tenant deactivated, a member removed or demoted, an account
            // deactivated or a session ended meanwhile records nothing)
            if !tx.tenants().get(actor.tenant.id)?.is_some_and(|tenant| tenant.is_active) {
                return Err(WorkError::TenantInactive);
            }
            // held (FOR KEY SHARE) until the commit: a removal racing this
            // waits for the record, then takes it into account
            if tx.memberships().hold(actor.tenant.id, actor.user)?.is_none() {
                return Err(Denied.into());
            }
            let standing = tx.memberships().access(actor.tenant.id, actor.user, actor.session)?;
            match standing {
                Some(grant) if grant.user_active && !grant.session_revoked => {
                    Actor { role: grant.role, ..actor.clone() }.may(Action::CreateContent, Relation::default())?;
                }
                _ => return Err(Denied.into()),
            }
            // the task may have gone while the bytes were arriving
            tx.tasks().get(task)?.ok_or(WorkError::NotFound)?;
            let attachment = tx.attachments().insert(&new).map_err(WorkError::parent_gone)?;
            log(tx, actor, Verb::Created, &attachment)?;
            Ok(attachment)
        });
        if recorded.is_err() {
            discard(self.files.as_ref(), area, &[stored.key]);
        }
        recorded
    }

    /// One page of a task's attachments, oldest first.
    pub fn list(&self, actor: &Actor, task: TaskId, page: PageRequest) -> Result<Page<Attachment>, WorkError> {
        actor.may(Action::ReadContent, Relation::default())?;
        let (items, total) = self.store.tenant(&actor.tenant, |tx| {
            let found = tx.attachments().page(task, page.offset(), page.size)?;
            if found.0.is_empty() {
                tx.tasks().get(task)?.ok_or(WorkError::NotFound)?;
            }
            Ok::<_, WorkError>(found)
        })?;
        Ok(Page { items, total, request: page })
    }

    /// One attachment's metadata.
    pub fn get(&self, actor: &Actor, id: AttachmentId) -> Result<Attachment, WorkError> {
        actor.may(Action::ReadContent, Relation::default())?;
        self.store.tenant(&actor.tenant, |tx| tx.attachments().get(id)?.ok_or(WorkError::NotFound))
    }

    /// An attachment's metadata and its bytes, to stream.
    pub fn open(&self, actor: &Actor, id: AttachmentId) -> Result<(Attachment, Box<dyn Read + Send>), WorkError> {
        let attachment = self.get(actor, id)?;
        let bytes = self.files.open(&actor.tenant.schema_name, &attachment.storage_key)?;
        Ok((attachment, bytes))
    }

    /// Deletes an attachment: its uploader, an admin or an owner. The bytes
    /// go once the record is gone.
    #[tracing::instrument(skip_all, fields(tenant = %actor.tenant.slug, user = %actor.user, attachment = %id))]
    pub fn delete(&self, actor: &Actor, id: AttachmentId, if_match: Option<&IfMatch>) -> Result<Attachment, WorkError> {
        let area = &actor.tenant.schema_name;
        let deleted = self.store.tenant(&actor.tenant, |tx| {
            let current = tx.attachments().get(id)?.ok_or(WorkError::NotFound)?;
            let relation = Relation { author: current.uploaded_by == actor.user, ..Default::default() };
            actor.may(Action::DeleteAttachment, relation)?;
            if !IfMatch::holds(if_match, &Self::etag(&current)) {
                return Err(WorkError::PreconditionFailed);
            }
            log(tx, actor, Verb::Deleted, &current)?;
            if !tx.attachments().delete(id)? {
                return Err(WorkError::NotFound);
            }
            Ok(current)
        })?;
        discard(self.files.as_ref(), area, std::slice::from_ref(&deleted.storage_key));
        Ok(deleted)
    }
}

//! [`State`]: everything the fake store holds, as plain data that a unit of
//! work can copy (to roll back) and a test can read.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use taskforce_domain::{
    Activity, Attachment, Comment, FamilyId, Invitation, Membership, Notification, Project, SchemaName, Task, Tenant,
    TenantDomain, TenantId, User, UserId,
};

/// The shared tables and the tenant schemas.
#[derive(Debug, Clone, Default)]
pub struct State {
    /// `tenants`.
    pub tenants: Vec<Tenant>,
    /// `domains`.
    pub domains: Vec<TenantDomain>,
    /// `users`, with their password hashes.
    pub users: Vec<StoredUser>,
    /// `memberships`.
    pub memberships: Vec<Membership>,
    /// `refresh_families`.
    pub sessions: Vec<StoredSession>,
    /// `refresh_tokens`.
    pub refresh_tokens: Vec<StoredRefreshToken>,
    /// `invitations`, with their token digests.
    pub invitations: Vec<StoredInvitation>,
    /// `stream_tickets`: digest, session, expiry.
    pub tickets: Vec<(String, FamilyId, DateTime<Utc>)>,
    /// The tenant schemas that exist.
    pub schemas: BTreeMap<SchemaName, SchemaData>,
    /// A fault to inject: replacing a password hash fails as a lost
    /// connection would, while every other write still succeeds.
    pub hash_updates_fail: bool,
    /// A fault to inject: changing a tenant row fails as a lost connection
    /// would.
    pub tenant_updates_fail: bool,
    last_id: i64,
}

/// A `users` row.
#[derive(Debug, Clone)]
pub struct StoredUser {
    /// The account.
    pub user: User,
    /// Its password hash.
    pub password_hash: String,
}

/// A `refresh_families` row.
#[derive(Debug, Clone)]
pub struct StoredSession {
    /// Id.
    pub family: FamilyId,
    /// The tenant it was opened on.
    pub tenant: TenantId,
    /// The user.
    pub user: UserId,
    /// Why it was ended, once it is.
    pub revoked: Option<String>,
}

/// A `refresh_tokens` row.
#[derive(Debug, Clone)]
pub struct StoredRefreshToken {
    /// The session.
    pub family: FamilyId,
    /// Digest of the token id (the key).
    pub digest: String,
    /// Expiry.
    pub expires_at: DateTime<Utc>,
    /// Whether it was exchanged already.
    pub spent: bool,
}

/// An `invitations` row.
#[derive(Debug, Clone)]
pub struct StoredInvitation {
    /// The invitation.
    pub invitation: Invitation,
    /// Digest of its token.
    pub token_digest: String,
    /// Who used it.
    pub accepted_by: Option<UserId>,
}

/// The tables of one tenant schema.
#[derive(Debug, Clone, Default)]
pub struct SchemaData {
    /// `projects`.
    pub projects: Vec<Project>,
    /// `tasks` (`project_id` references `projects` with `ON DELETE CASCADE`).
    pub tasks: Vec<Task>,
    /// `comments` (`task_id` references `tasks` with `ON DELETE CASCADE`).
    pub comments: Vec<Comment>,
    /// `activity`: no foreign keys, it outlives what it records.
    pub activity: Vec<Activity>,
    /// `notifications`: no foreign keys either.
    pub notifications: Vec<Notification>,
    /// `attachments` (`task_id` references `tasks` with `ON DELETE CASCADE`).
    pub attachments: Vec<Attachment>,
}

impl State {
    /// The next id. Every table draws from this one sequence, so an id used
    /// in the wrong table (a user id as a membership id) finds nothing.
    pub(super) fn next_id(&mut self) -> i64 {
        self.last_id += 1;
        self.last_id
    }

    /// The account with this user name, compared as the store does.
    pub fn user_named(&self, username: &str) -> Option<&StoredUser> {
        self.users.iter().find(|stored| stored.user.username.normalized() == username.to_lowercase())
    }

    /// The activity log of a tenant schema (empty when there is none).
    pub fn activity(&self, schema: &SchemaName) -> &[Activity] {
        self.schemas.get(schema).map_or(&[], |data| data.activity.as_slice())
    }

    /// The projects of a tenant schema (empty when there is none).
    pub fn projects(&self, schema: &SchemaName) -> &[Project] {
        self.schemas.get(schema).map_or(&[], |data| data.projects.as_slice())
    }

    /// The tasks of a tenant schema (empty when there is none).
    pub fn tasks(&self, schema: &SchemaName) -> &[Task] {
        self.schemas.get(schema).map_or(&[], |data| data.tasks.as_slice())
    }

    /// The attachments of a tenant schema (empty when there is none).
    pub fn attachments(&self, schema: &SchemaName) -> &[Attachment] {
        self.schemas.get(schema).map_or(&[], |data| data.attachments.as_slice())
    }

    /// The notifications of a tenant schema (empty when there is none).
    pub fn notifications(&self, schema: &SchemaName) -> &[Notification] {
        self.schemas.get(schema).map_or(&[], |data| data.notifications.as_slice())
    }

    /// The comments of a tenant schema (empty when there is none).
    pub fn comments(&self, schema: &SchemaName) -> &[Comment] {
        self.schemas.get(schema).map_or(&[], |data| data.comments.as_slice())
    }
}

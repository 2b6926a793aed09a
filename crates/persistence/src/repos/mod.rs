//! Repository implementations over one open transaction.

mod activity;
mod attachments;
mod comments;
mod domains;
mod invitations;
mod memberships;
mod notifications;
mod projects;
mod reports;
mod sessions;
mod tasks;
mod tenant_data;
mod tenants;
mod usage;
mod users;

use diesel::{PgConnection, expression::ValidGrouping, query_builder::QueryId};
use taskforce_domain::{
    ActivityRepository, AttachmentRepository, CommentRepository, DomainRepository, InvitationRepository,
    MembershipRepository, NotificationRepository, PlatformTx, ProjectRepository, ReportRepository, SessionRepository,
    TaskRepository, TenantDataRepository, TenantRepository, TenantTx, UsageRepository, UserRepository,
};

diesel::define_sql_function! {
    /// When the current statement began. An update's `updated_at`: the
    /// transaction's start (`now()`) comes before any wait for the row's
    /// lock, so of two writers of one row the later could stamp the
    /// earlier time.
    fn statement_timestamp() -> diesel::sql_types::Timestamptz;
}

/// The repositories of one transaction: a borrowed connection that is inside
/// a transaction for as long as this value lives.
pub(crate) struct PgTx<'c> {
    pub(crate) conn: &'c mut PgConnection,
}

impl PlatformTx for PgTx<'_> {
    fn tenants(&mut self) -> &mut dyn TenantRepository {
        self
    }

    fn domains(&mut self) -> &mut dyn DomainRepository {
        self
    }

    fn users(&mut self) -> &mut dyn UserRepository {
        self
    }

    fn memberships(&mut self) -> &mut dyn MembershipRepository {
        self
    }

    fn sessions(&mut self) -> &mut dyn SessionRepository {
        self
    }

    fn invitations(&mut self) -> &mut dyn InvitationRepository {
        self
    }
}

/// The same connection inside a tenant scope: the tenant's tables resolve.
pub(crate) struct PgTenantTx<'c> {
    pub(crate) inner: PgTx<'c>,
}

impl PlatformTx for PgTenantTx<'_> {
    fn tenants(&mut self) -> &mut dyn TenantRepository {
        &mut self.inner
    }

    fn domains(&mut self) -> &mut dyn DomainRepository {
        &mut self.inner
    }

    fn users(&mut self) -> &mut dyn UserRepository {
        &mut self.inner
    }

    fn memberships(&mut self) -> &mut dyn MembershipRepository {
        &mut self.inner
    }

    fn sessions(&mut self) -> &mut dyn SessionRepository {
        &mut self.inner
    }

    fn invitations(&mut self) -> &mut dyn InvitationRepository {
        &mut self.inner
    }
}

impl TenantTx for PgTenantTx<'_> {
    fn usage(&mut self) -> &mut dyn UsageRepository {
        self
    }

    fn activity(&mut self) -> &mut dyn ActivityRepository {
        self
    }

    fn projects(&mut self) -> &mut dyn ProjectRepository {
        self
    }

    fn tasks(&mut self) -> &mut dyn TaskRepository {
        self
    }

    fn comments(&mut self) -> &mut dyn CommentRepository {
        self
    }

    fn attachments(&mut self) -> &mut dyn AttachmentRepository {
        self
    }

    fn data(&mut self) -> &mut dyn TenantDataRepository {
        self
    }

    fn reports(&mut self) -> &mut dyn ReportRepository {
        self
    }

    fn notifications(&mut self) -> &mut dyn NotificationRepository {
        self
    }
}

/// `count(*) OVER ()`: the number of rows the query matches, on every row of
/// the page, so a page and its total cost one round trip.
pub(crate) fn count_over() -> CountOver {
    CountOver
}

/// `count(*) OVER ()`. A type of its own rather than an SQL literal: diesel
/// never caches a statement holding a literal, and a page query that is not
/// cached costs a round trip more (prepare, then execute) and a parse.
#[derive(Debug, Clone, Copy, QueryId, ValidGrouping)]
pub(crate) struct CountOver;

impl diesel::Expression for CountOver {
    type SqlType = diesel::sql_types::BigInt;
}

impl<QS> diesel::AppearsOnTable<QS> for CountOver {}

impl<QS> diesel::SelectableExpression<QS> for CountOver {}

impl diesel::query_builder::QueryFragment<diesel::pg::Pg> for CountOver {
    fn walk_ast<'b>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, diesel::pg::Pg>,
    ) -> diesel::QueryResult<()> {
        out.push_sql("count(*) OVER ()");
        Ok(())
    }
}

/// The total carried by a page's first row. An empty page carries none and
/// counts 0: either the list is empty, or the page lies past its end, which
/// the API answers with 404 whatever the total.
pub(crate) fn total(first: Option<i64>) -> u64 {
    first.and_then(|n| u64::try_from(n).ok()).unwrap_or(0)
}

/// `%text%` for ILIKE, with the pattern characters of `text` escaped.
pub(crate) fn like_pattern(text: &str) -> String {
    let escaped = text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    format!("%{escaped}%")
}

/// `Ok(None)` for diesel's `NotFound`.
pub(crate) fn optional<T>(result: diesel::QueryResult<T>) -> diesel::QueryResult<Option<T>> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(diesel::result::Error::NotFound) => Ok(None),
        Err(error) => Err(error),
    }
}

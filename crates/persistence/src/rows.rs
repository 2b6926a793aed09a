//! Row structs of the shared tables: the storage shape, converted explicitly
//! to and from the domain's types.

use chrono::{DateTime, Utc};
use diesel::{Insertable, Queryable, Selectable};
use taskforce_domain::{
    Email, HostName, Membership, MembershipId, Role, SchemaName, Slug, StoreError, Tenant, TenantDomain, TenantId,
    TenantName, User, UserId, Username,
};

use crate::schema::{domains, memberships, tenants, users};

/// A stored value that no longer passes the domain's rules: the row was
/// written by something other than this code.
pub(crate) fn corrupt(what: &str, error: impl std::fmt::Display) -> StoreError {
    StoreError::internal(format!("stored {what} is invalid: {error}"))
}

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = tenants, check_for_backend(diesel::pg::Pg))]
pub(crate) struct TenantRow {
    pub id: i64,
    pub slug: String,
    pub schema_name: String,
    pub name: String,
    pub plan: String,
    pub is_active: bool,
    pub allow_signup: bool,
    pub schema_version: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl TryFrom<TenantRow> for Tenant {
    type Error = StoreError;

    fn try_from(row: TenantRow) -> Result<Self, Self::Error> {
        Ok(Tenant {
            id: TenantId(row.id),
            slug: Slug::from_stored(&row.slug).map_err(|e| corrupt("slug", e))?,
            schema_name: SchemaName::parse(&row.schema_name).map_err(|e| corrupt("schema name", e))?,
            name: TenantName::from_stored(&row.name).map_err(|e| corrupt("tenant name", e))?,
            plan: row.plan.parse().map_err(|e| corrupt("plan", e))?,
            is_active: row.is_active,
            allow_signup: row.allow_signup,
            schema_version: row.schema_version,
            created_at: row.created_at,
        })
    }
}

#[derive(Debug, Insertable)]
#[diesel(table_name = tenants)]
pub(crate) struct NewTenantRow<'a> {
    pub slug: &'a str,
    pub schema_name: &'a str,
    pub name: &'a str,
    pub plan: &'a str,
    pub allow_signup: bool,
}

#[derive(Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = domains, check_for_backend(diesel::pg::Pg))]
pub(crate) struct DomainRow {
    pub domain: String,
    pub tenant_id: i64,
    pub is_primary: bool,
}

impl TryFrom<DomainRow> for TenantDomain {
    type Error = StoreError;

    fn try_from(row: DomainRow) -> Result<Self, Self::Error> {
        Ok(TenantDomain {
            domain: HostName::parse(&row.domain).map_err(|e| corrupt("domain", e))?,
            tenant_id: TenantId(row.tenant_id),
            is_primary: row.is_primary,
        })
    }
}

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = users, check_for_backend(diesel::pg::Pg))]
pub(crate) struct UserRow {
    pub id: i64,
    pub username: String,
    pub email: String,
    pub is_active: bool,
    pub is_staff: bool,
    pub date_joined: DateTime<Utc>,
    pub last_login: Option<DateTime<Utc>>,
    pub registered_themselves: bool,
}

impl TryFrom<UserRow> for User {
    type Error = StoreError;

    fn try_from(row: UserRow) -> Result<Self, Self::Error> {
        Ok(User {
            id: UserId(row.id),
            username: Username::from_stored(&row.username).map_err(|e| corrupt("username", e))?,
            email: Email::from_stored(&row.email).map_err(|e| corrupt("email", e))?,
            is_active: row.is_active,
            is_staff: row.is_staff,
            date_joined: row.date_joined,
            last_login: row.last_login,
            registered_themselves: row.registered_themselves,
        })
    }
}

#[derive(Debug, Insertable)]
#[diesel(table_name = users)]
pub(crate) struct NewUserRow<'a> {
    pub username: &'a str,
    pub email: &'a str,
    pub password_hash: &'a str,
    pub is_active: bool,
    pub is_staff: bool,
    pub registered_themselves: bool,
}

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = memberships, check_for_backend(diesel::pg::Pg))]
pub(crate) struct MembershipRow {
    pub id: i64,
    pub tenant_id: i64,
    pub user_id: i64,
    pub role: String,
    pub joined_at: DateTime<Utc>,
}

impl TryFrom<MembershipRow> for Membership {
    type Error = StoreError;

    fn try_from(row: MembershipRow) -> Result<Self, Self::Error> {
        Ok(Membership {
            id: MembershipId(row.id),
            tenant_id: TenantId(row.tenant_id),
            user_id: UserId(row.user_id),
            role: row.role.parse::<Role>().map_err(|e| corrupt("role", e))?,
            joined_at: row.joined_at,
        })
    }
}

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = crate::schema::invitations, check_for_backend(diesel::pg::Pg))]
pub(crate) struct InvitationRow {
    pub id: i64,
    pub tenant_id: i64,
    pub email: String,
    pub role: String,
    pub invited_by: i64,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub accepted_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
}

impl TryFrom<InvitationRow> for taskforce_domain::Invitation {
    type Error = StoreError;

    fn try_from(row: InvitationRow) -> Result<Self, Self::Error> {
        Ok(taskforce_domain::Invitation {
            id: taskforce_domain::InvitationId(row.id),
            tenant_id: TenantId(row.tenant_id),
            email: Email::from_stored(&row.email).map_err(|e| corrupt("email", e))?,
            role: row.role.parse::<Role>().map_err(|e| corrupt("role", e))?,
            invited_by: UserId(row.invited_by),
            created_at: row.created_at,
            expires_at: row.expires_at,
            accepted_at: row.accepted_at,
            ended_at: row.ended_at,
        })
    }
}

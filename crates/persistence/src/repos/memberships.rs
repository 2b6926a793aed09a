//! [`MembershipRepository`] over the shared `memberships` table.

use chrono::{DateTime, Utc};
use diesel::{
    BoolExpressionMethods, ExpressionMethods, JoinOnDsl, NullableExpressionMethods, OptionalExtension, QueryDsl,
    RunQueryDsl, SelectableHelper,
};
use taskforce_domain::{
    AccessGrant, Email, FamilyId, Member, Membership, MembershipId, MembershipRepository, Role, StoreError, TenantId,
    UserId, Username,
};

use super::{PgTx, count_over, optional, users::lower};
use crate::{
    error::store_error,
    rows::MembershipRow,
    schema::{memberships, refresh_families, tenants, users},
};

impl MembershipRepository for PgTx<'_> {
    fn add(&mut self, tenant: TenantId, user: UserId, role: Role) -> Result<Membership, StoreError> {
        self.insert_membership(tenant, user, role, None)
    }

    fn add_joined_at(
        &mut self,
        tenant: TenantId,
        user: UserId,
        role: Role,
        joined_at: DateTime<Utc>,
    ) -> Result<Membership, StoreError> {
        self.insert_membership(tenant, user, role, Some(joined_at))
    }

    fn hold(&mut self, tenant: TenantId, user: UserId) -> Result<Option<Membership>, StoreError> {
        // the tenant row first, as a removal locks it first: the session this
        // transaction opens references it, and taking that lock later, behind a
        // removal that holds the row and waits for the membership, deadlocked
        optional(tenants::table.find(tenant.0).select(tenants::id).for_key_share().first::<i64>(self.conn))
            .map_err(store_error)?;
        // FOR KEY SHARE: a DELETE waits for it, a role change does not
        optional(
            memberships::table
                .filter(memberships::tenant_id.eq(tenant.0))
                .filter(memberships::user_id.eq(user.0))
                .select(MembershipRow::as_select())
                .for_key_share()
                .first(self.conn),
        )
        .map_err(store_error)?
        .map(Membership::try_from)
        .transpose()
    }

    fn find(&mut self, tenant: TenantId, user: UserId) -> Result<Option<Membership>, StoreError> {
        optional(
            memberships::table
                .filter(memberships::tenant_id.eq(tenant.0))
                .filter(memberships::user_id.eq(user.0))
                .select(MembershipRow::as_select())
                .first(self.conn),
        )
        .map_err(store_error)?
        .map(Membership::try_from)
        .transpose()
    }

    fn list(&mut self, tenant: TenantId) -> Result<Vec<Member>, StoreError> {
        self.page(tenant, 0, i64::MAX as u64).map(|(members, _)| members)
    }

    fn page(&mut self, tenant: TenantId, offset: u64, limit: u64) -> Result<(Vec<Member>, u64), StoreError> {
        let rows: Vec<(MembershipRow, String, String, i64)> = memberships::table
            .inner_join(users::table)
            .filter(memberships::tenant_id.eq(tenant.0))
            .order((memberships::joined_at, memberships::id))
            .select((MembershipRow::as_select(), users::username, users::email, count_over()))
            .offset(i64::try_from(offset).unwrap_or(i64::MAX))
            .limit(i64::try_from(limit).unwrap_or(i64::MAX))
            .load(self.conn)
            .map_err(store_error)?;
        let total = match rows.first() {
            Some(row) => u64::try_from(row.3).unwrap_or(0),
            // past the last page the window has no row to count on
            None if offset > 0 => self.count(tenant, None)?,
            None => 0,
        };
        let members = rows
            .into_iter()
            .map(|(row, username, email, _): (MembershipRow, String, String, i64)| member(row, &username, &email))
            .collect::<Result<Vec<_>, _>>()?;
        Ok((members, total))
    }

    fn get(&mut self, tenant: TenantId, id: MembershipId) -> Result<Option<Member>, StoreError> {
        let row: Option<(MembershipRow, String, String)> = memberships::table
            .inner_join(users::table)
            .filter(memberships::tenant_id.eq(tenant.0))
            .filter(memberships::id.eq(id.0))
            .select((MembershipRow::as_select(), users::username, users::email))
            .first(self.conn)
            .optional()
            .map_err(store_error)?;
        row.map(|(row, username, email)| member(row, &username, &email)).transpose()
    }

    fn set_role(&mut self, tenant: TenantId, id: MembershipId, role: Role) -> Result<Membership, StoreError> {
        diesel::update(memberships::table.filter(memberships::tenant_id.eq(tenant.0)).filter(memberships::id.eq(id.0)))
            .set(memberships::role.eq(role.as_str()))
            .returning(MembershipRow::as_returning())
            .get_result(self.conn)
            .map_err(store_error)
            .and_then(Membership::try_from)
    }

    fn remove(&mut self, tenant: TenantId, id: MembershipId) -> Result<Membership, StoreError> {
        diesel::delete(memberships::table.filter(memberships::tenant_id.eq(tenant.0)).filter(memberships::id.eq(id.0)))
            .returning(MembershipRow::as_returning())
            .get_result(self.conn)
            .map_err(store_error)
            .and_then(Membership::try_from)
    }

    fn count(&mut self, tenant: TenantId, role: Option<Role>) -> Result<u64, StoreError> {
        let mut query = memberships::table.filter(memberships::tenant_id.eq(tenant.0)).into_boxed();
        if let Some(role) = role {
            query = query.filter(memberships::role.eq(role.as_str()));
        }
        let count: i64 = query.count().get_result(self.conn).map_err(store_error)?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

    fn named(&mut self, tenant: TenantId, usernames: &[String]) -> Result<Vec<(UserId, Username)>, StoreError> {
        if usernames.is_empty() {
            return Ok(Vec::new());
        }
        let lowered: Vec<String> = usernames.iter().map(|u| u.to_lowercase()).collect();
        let rows: Vec<(i64, String)> = memberships::table
            .inner_join(users::table)
            .filter(memberships::tenant_id.eq(tenant.0))
            .filter(lower(users::username).eq_any(&lowered))
            .select((users::id, users::username))
            .load(self.conn)
            .map_err(store_error)?;
        rows.into_iter()
            .map(|(id, name): (i64, String)| {
                Ok((UserId(id), Username::from_stored(&name).map_err(StoreError::internal)?))
            })
            .collect()
    }

    fn access(&mut self, tenant: TenantId, user: UserId, family: FamilyId) -> Result<Option<AccessGrant>, StoreError> {
        let row: Option<AccessRow> = memberships::table
            .inner_join(users::table)
            .left_join(
                refresh_families::table.on(refresh_families::id
                    .eq(family.0)
                    .and(refresh_families::user_id.eq(memberships::user_id))
                    .and(refresh_families::tenant_id.eq(memberships::tenant_id))),
            )
            .filter(memberships::tenant_id.eq(tenant.0))
            .filter(memberships::user_id.eq(user.0))
            .select((
                memberships::role,
                users::is_active,
                refresh_families::id.nullable(),
                refresh_families::revoked_at.nullable(),
            ))
            .first(self.conn)
            .optional()
            .map_err(store_error)?;
        row.map(|(role, user_active, session, revoked_at)| {
            Ok(AccessGrant {
                role: role.parse::<Role>().map_err(StoreError::internal)?,
                user_active,
                // an unknown session (or another user's) counts as ended
                session_revoked: session.is_none() || revoked_at.is_some(),
            })
        })
        .transpose()
    }
}

/// Role, account active, session id (if the session is this user's on this
/// tenant), session revocation time.
type AccessRow = (String, bool, Option<i64>, Option<chrono::DateTime<chrono::Utc>>);

fn member(row: MembershipRow, username: &str, email: &str) -> Result<Member, StoreError> {
    Ok(Member {
        membership: Membership::try_from(row)?,
        username: Username::from_stored(username).map_err(StoreError::internal)?,
        email: Email::from_stored(email).map_err(StoreError::internal)?,
    })
}

impl PgTx<'_> {
    /// A new membership; `joined_at` is the column's default (now) when not given.
    fn insert_membership(
        &mut self,
        tenant: TenantId,
        user: UserId,
        role: Role,
        joined_at: Option<DateTime<Utc>>,
    ) -> Result<Membership, StoreError> {
        diesel::insert_into(memberships::table)
            .values((
                memberships::tenant_id.eq(tenant.0),
                memberships::user_id.eq(user.0),
                memberships::role.eq(role.as_str()),
                joined_at.map(|at| memberships::joined_at.eq(at)),
            ))
            .returning(MembershipRow::as_returning())
            .get_result(self.conn)
            .map_err(store_error)
            .and_then(Membership::try_from)
    }
}

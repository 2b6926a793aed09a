//! [`MembershipRepository`] over the shared `memberships` table.

use diesel::{ExpressionMethods, QueryDsl, RunQueryDsl, SelectableHelper};
use taskforce_domain::{Email, Member, Membership, MembershipRepository, Role, StoreError, TenantId, UserId, Username};

use super::{PgTx, optional};
use crate::{
    error::store_error,
    rows::MembershipRow,
    schema::{memberships, users},
};

impl MembershipRepository for PgTx<'_> {
    fn add(&mut self, tenant: TenantId, user: UserId, role: Role) -> Result<Membership, StoreError> {
        diesel::insert_into(memberships::table)
            .values((
                memberships::tenant_id.eq(tenant.0),
                memberships::user_id.eq(user.0),
                memberships::role.eq(role.as_str()),
            ))
            .returning(MembershipRow::as_returning())
            .get_result(self.conn)
            .map_err(store_error)
            .and_then(Membership::try_from)
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
        let rows: Vec<(MembershipRow, String, String)> = memberships::table
            .inner_join(users::table)
            .filter(memberships::tenant_id.eq(tenant.0))
            .order((memberships::joined_at, memberships::id))
            .select((MembershipRow::as_select(), users::username, users::email))
            .load(self.conn)
            .map_err(store_error)?;
        rows.into_iter()
            .map(|(row, username, email)| {
                Ok(Member {
                    membership: Membership::try_from(row)?,
                    username: Username::parse(&username).map_err(StoreError::internal)?,
                    email: Email::parse(&email).map_err(StoreError::internal)?,
                })
            })
            .collect()
    }
}

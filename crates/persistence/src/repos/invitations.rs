//! [`InvitationRepository`] over the shared `invitations` table.

use chrono::{DateTime, Utc};
use diesel::{
    ExpressionMethods, OptionalExtension, QueryDsl, RunQueryDsl, SelectableHelper,
    dsl::{exists, not},
};
use taskforce_domain::{
    Email, Invitation, InvitationId, InvitationRepository, NewInvitation, Role, StoreError, TenantId, UserId,
};

use super::{PgTx, users::lower};
use crate::{
    error::store_error,
    rows::{InvitationRow, corrupt},
    schema::{invitations, memberships, users},
};

impl InvitationRepository for PgTx<'_> {
    fn create(&mut self, new: &NewInvitation) -> Result<Invitation, StoreError> {
        diesel::insert_into(invitations::table)
            .values((
                invitations::tenant_id.eq(new.tenant_id.0),
                invitations::email.eq(new.email.as_str()),
                invitations::role.eq(new.role.as_str()),
                invitations::token_digest.eq(&new.token_digest),
                invitations::invited_by.eq(new.invited_by.0),
                invitations::expires_at.eq(new.expires_at),
            ))
            .returning(InvitationRow::as_returning())
            .get_result(self.conn)
            .map_err(store_error)
            .and_then(Invitation::try_from)
    }

    fn by_digest(&mut self, token_digest: &str) -> Result<Option<Invitation>, StoreError> {
        invitations::table
            .filter(invitations::token_digest.eq(token_digest))
            .select(InvitationRow::as_select())
            .for_update()
            .first(self.conn)
            .optional()
            .map_err(store_error)?
            .map(Invitation::try_from)
            .transpose()
    }

    fn accept(&mut self, id: InvitationId, user: UserId, at: DateTime<Utc>) -> Result<(), StoreError> {
        diesel::update(invitations::table.find(id.0))
            .set((invitations::accepted_at.eq(at), invitations::accepted_by.eq(user.0)))
            .execute(self.conn)
            .map(|_| ())
            .map_err(store_error)
    }

    fn count_pending(&mut self, tenant: TenantId, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let addressee_is_member = memberships::table
            .inner_join(users::table)
            .filter(memberships::tenant_id.eq(invitations::tenant_id))
            .filter(lower(users::email).eq(lower(invitations::email)));
        let count: i64 = invitations::table
            .filter(invitations::tenant_id.eq(tenant.0))
            .filter(invitations::accepted_at.is_null())
            .filter(invitations::expires_at.gt(now))
            .filter(not(exists(addressee_is_member)))
            .count()
            .get_result(self.conn)
            .map_err(store_error)?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

    fn withdraw_pending(
        &mut self,
        tenant: TenantId,
        email: &Email,
        now: DateTime<Utc>,
    ) -> Result<Vec<Role>, StoreError> {
        let roles: Vec<String> = diesel::update(
            invitations::table
                .filter(invitations::tenant_id.eq(tenant.0))
                .filter(lower(invitations::email).eq(email.normalized()))
                .filter(invitations::accepted_at.is_null())
                .filter(invitations::expires_at.gt(now)),
        )
        .set(invitations::expires_at.eq(now))
        .returning(invitations::role)
        .get_results(self.conn)
        .map_err(store_error)?;
        roles.iter().map(|role| role.parse::<Role>().map_err(|e| corrupt("role", e))).collect()
    }
}

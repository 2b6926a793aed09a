//! [`InvitationRepository`] over the shared `invitations` table.

use chrono::{DateTime, Utc};
use diesel::{
    ExpressionMethods, OptionalExtension, QueryDsl, RunQueryDsl, SelectableHelper,
    dsl::{exists, not},
};
use taskforce_domain::{
    Email, Invitation, InvitationId, InvitationRepository, NewInvitation, Role, StoreError, TenantId, UserId,
};

use super::{PgTx, count_over, users::lower};
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
            .filter(invitations::ended_at.is_null())
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
        // expired ones too: whether one has expired is this server's clock's
        // view, and another server's may differ
        let ended: Vec<(String, DateTime<Utc>)> = diesel::update(
            invitations::table
                .filter(invitations::tenant_id.eq(tenant.0))
                .filter(lower(invitations::email).eq(email.normalized()))
                .filter(invitations::accepted_at.is_null())
                .filter(invitations::ended_at.is_null()),
        )
        .set(invitations::ended_at.eq(now))
        .returning((invitations::role, invitations::expires_at))
        .get_results(self.conn)
        .map_err(store_error)?;
        ended
            .iter()
            .filter(|(_, expires_at)| *expires_at > now)
            .map(|(role, _)| role.parse::<Role>().map_err(|e| corrupt("role", e)))
            .collect()
    }

    fn withdraw_sent_by(
        &mut self,
        tenant: TenantId,
        inviter: UserId,
        roles: &[Role],
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let roles: Vec<&str> = roles.iter().map(|role| role.as_str()).collect();
        let ended = diesel::update(
            invitations::table
                .filter(invitations::tenant_id.eq(tenant.0))
                .filter(invitations::invited_by.eq(inviter.0))
                .filter(invitations::role.eq_any(roles))
                .filter(invitations::accepted_at.is_null())
                .filter(invitations::ended_at.is_null()),
        )
        .set(invitations::ended_at.eq(now))
        .execute(self.conn)
        .map_err(store_error)?;
        Ok(u64::try_from(ended).unwrap_or(0))
    }

    fn pending_page(
        &mut self,
        tenant: TenantId,
        now: DateTime<Utc>,
        offset: u64,
        limit: u64,
    ) -> Result<(Vec<Invitation>, u64), StoreError> {
        let pending = invitations::table
            .filter(invitations::tenant_id.eq(tenant.0))
            .filter(invitations::accepted_at.is_null())
            .filter(invitations::ended_at.is_null())
            .filter(invitations::expires_at.gt(now));
        let rows: Vec<(InvitationRow, i64)> = pending
            .order((invitations::created_at.desc(), invitations::id.desc()))
            .select((InvitationRow::as_select(), count_over()))
            .offset(i64::try_from(offset).unwrap_or(i64::MAX))
            .limit(i64::try_from(limit).unwrap_or(i64::MAX))
            .load(self.conn)
            .map_err(store_error)?;
        let total = match rows.first() {
            Some((_, total)) => u64::try_from(*total).unwrap_or(0),
            // past the last page the window has no row to count on
            None if offset > 0 => {
                u64::try_from(pending.count().get_result::<i64>(self.conn).map_err(store_error)?).unwrap_or(0)
            }
            None => 0,
        };
        let items = rows.into_iter().map(|(row, _)| Invitation::try_from(row)).collect::<Result<Vec<_>, _>>()?;
        Ok((items, total))
    }

    fn pending(
        &mut self,
        tenant: TenantId,
        id: InvitationId,
        now: DateTime<Utc>,
    ) -> Result<Option<Invitation>, StoreError> {
        invitations::table
            .filter(invitations::id.eq(id.0))
            .filter(invitations::tenant_id.eq(tenant.0))
            .filter(invitations::accepted_at.is_null())
            .filter(invitations::ended_at.is_null())
            .filter(invitations::expires_at.gt(now))
            .select(InvitationRow::as_select())
            .for_update()
            .first(self.conn)
            .optional()
            .map_err(store_error)?
            .map(Invitation::try_from)
            .transpose()
    }

    fn withdraw(&mut self, id: InvitationId, now: DateTime<Utc>) -> Result<(), StoreError> {
        diesel::update(invitations::table.find(id.0).filter(invitations::ended_at.is_null()))
            .set(invitations::ended_at.eq(now))
            .execute(self.conn)
            .map(drop)
            .map_err(store_error)
    }
}

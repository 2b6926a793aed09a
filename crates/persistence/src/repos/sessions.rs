//! [`SessionRepository`] over `refresh_families` and `refresh_tokens`.

use chrono::{DateTime, Utc};
use diesel::{ExpressionMethods, OptionalExtension, QueryDsl, RunQueryDsl, dsl::now};
use taskforce_domain::{FamilyId, SessionRepository, SessionState, Spend, StoreError, TenantId, UserId};

use super::PgTx;
use crate::{
    error::store_error,
    schema::{refresh_families, refresh_tokens, stream_tickets},
};

impl SessionRepository for PgTx<'_> {
    fn open(&mut self, tenant: TenantId, user: UserId) -> Result<FamilyId, StoreError> {
        diesel::insert_into(refresh_families::table)
            .values((refresh_families::tenant_id.eq(tenant.0), refresh_families::user_id.eq(user.0)))
            .returning(refresh_families::id)
            .get_result(self.conn)
            .map(FamilyId)
            .map_err(store_error)
    }

    fn add_token(&mut self, family: FamilyId, token_digest: &str, expires_at: DateTime<Utc>) -> Result<(), StoreError> {
        diesel::insert_into(refresh_tokens::table)
            .values((
                refresh_tokens::token_digest.eq(token_digest),
                refresh_tokens::family_id.eq(family.0),
                refresh_tokens::expires_at.eq(expires_at),
            ))
            .execute(self.conn)
            .map(|_| ())
            .map_err(store_error)
    }

    fn lock(&mut self, family: FamilyId) -> Result<Option<SessionState>, StoreError> {
        let row: Option<(i64, i64, Option<DateTime<Utc>>)> = refresh_families::table
            .find(family.0)
            .select((refresh_families::tenant_id, refresh_families::user_id, refresh_families::revoked_at))
            .for_update()
            .first(self.conn)
            .optional()
            .map_err(store_error)?;
        Ok(row.map(|(tenant, user, revoked_at)| SessionState {
            tenant: TenantId(tenant),
            user: UserId(user),
            revoked: revoked_at.is_some(),
        }))
    }

    fn spend(&mut self, family: FamilyId, token_digest: &str) -> Result<Spend, StoreError> {
        let spent = diesel::update(
            refresh_tokens::table
                .filter(refresh_tokens::token_digest.eq(token_digest))
                .filter(refresh_tokens::family_id.eq(family.0))
                .filter(refresh_tokens::spent_at.is_null()),
        )
        .set(refresh_tokens::spent_at.eq(now))
        .execute(self.conn)
        .map_err(store_error)?;
        if spent == 1 {
            return Ok(Spend::Spent);
        }
        let known: i64 = refresh_tokens::table
            .filter(refresh_tokens::token_digest.eq(token_digest))
            .filter(refresh_tokens::family_id.eq(family.0))
            .count()
            .get_result(self.conn)
            .map_err(store_error)?;
        Ok(if known > 0 { Spend::AlreadySpent } else { Spend::Unknown })
    }

    fn revoke(&mut self, family: FamilyId, reason: &str) -> Result<(), StoreError> {
        diesel::update(refresh_families::table.find(family.0).filter(refresh_families::revoked_at.is_null()))
            .set((refresh_families::revoked_at.eq(now), refresh_families::revoked_reason.eq(reason)))
            .execute(self.conn)
            .map(|_| ())
            .map_err(store_error)
    }

    fn revoke_all(&mut self, tenant: TenantId, user: UserId, reason: &str) -> Result<Vec<FamilyId>, StoreError> {
        diesel::update(
            refresh_families::table
                .filter(refresh_families::tenant_id.eq(tenant.0))
                .filter(refresh_families::user_id.eq(user.0))
                .filter(refresh_families::revoked_at.is_null()),
        )
        .set((refresh_families::revoked_at.eq(now), refresh_families::revoked_reason.eq(reason)))
        .returning(refresh_families::id)
        .get_results::<i64>(self.conn)
        .map(|ids| ids.into_iter().map(FamilyId).collect())
        .map_err(store_error)
    }

    fn add_ticket(
        &mut self,
        family: FamilyId,
        token_digest: &str,
        expires_at: DateTime<Utc>,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        diesel::delete(stream_tickets::table.filter(stream_tickets::expires_at.lt(at)))
            .execute(self.conn)
            .map_err(store_error)?;
        diesel::insert_into(stream_tickets::table)
            .values((
                stream_tickets::token_digest.eq(token_digest),
                stream_tickets::family_id.eq(family.0),
                stream_tickets::expires_at.eq(expires_at),
            ))
            .execute(self.conn)
            .map(|_| ())
            .map_err(store_error)
    }

    fn take_ticket(
        &mut self,
        tenant: TenantId,
        token_digest: &str,
        at: DateTime<Utc>,
    ) -> Result<Option<(UserId, FamilyId)>, StoreError> {
        // deleting is taking: of two concurrent takers, one gets the row
        let family: Option<i64> = diesel::delete(
            stream_tickets::table
                .filter(stream_tickets::token_digest.eq(token_digest))
                .filter(stream_tickets::expires_at.gt(at))
                .filter(
                    stream_tickets::family_id.eq_any(
                        refresh_families::table
                            .filter(refresh_families::tenant_id.eq(tenant.0))
                            .select(refresh_families::id),
                    ),
                ),
        )
        .returning(stream_tickets::family_id)
        .get_result(self.conn)
        .optional()
        .map_err(store_error)?;
        let Some(family) = family else { return Ok(None) };
        let user: i64 = refresh_families::table
            .find(family)
            .select(refresh_families::user_id)
            .first(self.conn)
            .map_err(store_error)?;
        Ok(Some((UserId(user), FamilyId(family))))
    }
}

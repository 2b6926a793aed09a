//! Pending invitations against real PostgreSQL: which count toward a
//! tenant's seats, and withdrawing those to one address, with the same
//! rules the application's in-memory fake follows (any case, the expiry
//! instant itself no longer pending, members' addresses not counted).

mod support;

use chrono::{DateTime, Duration, Utc};
use support::{TestResult, provision, store};
use taskforce_domain::{
    Email, NewInvitation, NewUser, PlatformTx, Role, StoreError, StoreExt, TenantId, UserId, Username,
};

fn account(tx: &mut dyn PlatformTx, name: &str) -> Result<UserId, StoreError> {
    let new = NewUser {
        username: Username::parse(name).map_err(StoreError::internal)?,
        email: Email::parse(&format!("{name}@example.com")).map_err(StoreError::internal)?,
        password_hash: "x".into(),
        is_active: true,
        is_staff: false,
        registered_themselves: false,
    };
    Ok(tx.users().create(&new)?.id)
}

fn invite(
    tx: &mut dyn PlatformTx,
    tenant: TenantId,
    by: UserId,
    email: &str,
    role: Role,
    expires_at: DateTime<Utc>,
) -> Result<taskforce_domain::Invitation, StoreError> {
    tx.invitations().create(&NewInvitation {
        tenant_id: tenant,
        email: Email::parse(email).map_err(StoreError::internal)?,
        role,
        invited_by: by,
        // unique per invitation, within the column's 64 characters
        token_digest: format!("{:x}", expires_at.timestamp_micros()) + &email.to_lowercase() + role.as_str(),
        expires_at,
    })
}

#[test]
fn pending_invitations_count_and_are_withdrawn_by_address_in_any_case() -> TestResult {
    let (_db, store) = store(2)?;
    let (acme, beta) = (provision(&store, "acme")?, provision(&store, "beta")?);
    let now = Utc::now();
    let (hour, two_hours) = (now + Duration::hours(1), now + Duration::hours(2));
    store.platform(|tx| -> Result<(), StoreError> {
        let olga = account(tx, "olga")?;
        let mia = account(tx, "mia")?;
        tx.memberships().add(acme.id, olga, Role::Owner)?;
        tx.memberships().add(acme.id, mia, Role::Member)?;
        invite(tx, acme.id, olga, "Carol@Example.com", Role::Viewer, hour)?;
        invite(tx, acme.id, olga, "carol@example.com", Role::Admin, two_hours)?;
        // a member's address: the member already holds the seat
        invite(tx, acme.id, olga, "MIA@example.com", Role::Admin, hour)?;
        // expiring at this very instant: no longer pending
        invite(tx, acme.id, olga, "dan@example.com", Role::Member, now)?;
        let used = invite(tx, acme.id, olga, "erin@example.com", Role::Member, hour)?;
        tx.invitations().accept(used.id, mia, now)?;
        // another tenant's invitation to the same address
        invite(tx, beta.id, olga, "carol@example.com", Role::Member, hour)?;
        Ok(())
    })?;
    let pending = |tenant: TenantId| store.read(|tx| tx.invitations().count_pending(tenant, now));
    assert_eq!((pending(acme.id)?, pending(beta.id)?), (2, 1));

    let carol = Email::parse("CAROL@example.com")?;
    let mut withdrawn = store.platform(|tx| tx.invitations().withdraw_pending(acme.id, &carol, now))?;
    withdrawn.sort_by_key(|role| role.as_str());
    assert_eq!(withdrawn, [Role::Admin, Role::Viewer]);
    assert_eq!((pending(acme.id)?, pending(beta.id)?), (0, 1), "beta's invitation is its own");
    let again = store.platform(|tx| tx.invitations().withdraw_pending(acme.id, &carol, now))?;
    assert!(again.is_empty(), "{again:?}");
    // the member's and the used invitations were not touched
    let mia = Email::parse("mia@example.com")?;
    assert_eq!(store.platform(|tx| tx.invitations().withdraw_pending(acme.id, &mia, now))?, [Role::Admin]);
    let erin = Email::parse("erin@example.com")?;
    assert!(store.platform(|tx| tx.invitations().withdraw_pending(acme.id, &erin, now))?.is_empty());
    Ok(())
}

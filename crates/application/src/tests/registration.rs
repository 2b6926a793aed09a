//! [`Registration`]: registering on a tenant (open signup or invitation),
//! accepting an invitation, and signing up a new tenant.

use taskforce_domain::{Email, Plan, Role, TenantChanges, TenantDomain};

use std::sync::Arc;

use chrono::Duration;

use crate::{
    JoinError, RegisterInput, SignupError, SignupInput,
    testing::{ManualClock, MeanwhileHasher, PASSWORD, PLATFORM_DOMAIN, TestResult, World, refused},
};

fn register_input(username: &str, email: &str, invitation: Option<&str>) -> RegisterInput {
    RegisterInput {
        username: username.to_owned(),
        email: email.to_owned(),
        password: PASSWORD.to_owned(),
        password_confirm: PASSWORD.to_owned(),
        invitation_token: invitation.map(str::to_owned),
    }
}

fn signup_input(slug: &str, username: &str) -> SignupInput {
    SignupInput {
        tenant_name: "Globex Corporation".to_owned(),
        slug: slug.to_owned(),
        username: username.to_owned(),
        email: format!("{username}@example.com"),
        password: PASSWORD.to_owned(),
        password_confirm: PASSWORD.to_owned(),
    }
}

fn open_signup(world: &World, tenant: &taskforce_domain::Tenant) -> TestResult<taskforce_domain::Tenant> {
    let changes = TenantChanges { allow_signup: Some(true), ..Default::default() };
    Ok(world.admin().update(&tenant.slug, &changes)?)
}

fn field_error_on(error: &JoinError, field: &str) -> bool {
    matches!(error, JoinError::Invalid(fields) if fields.fields().contains_key(field))
}

#[test]
fn register_is_closed_without_open_signup_or_an_invitation() -> TestResult {
    let world = World::new();
    let acme = world.tenant("acme", Plan::Basic)?;

    let error = refused(world.registration()?.register(&acme, &register_input("ada", "ada@example.com", Some("  "))))?;

    assert!(matches!(error, JoinError::SignupClosed), "{error:?}");
    assert!(world.store.snapshot().users.is_empty());
    Ok(())
}

#[test]
fn open_signup_makes_a_member_who_is_signed_in() -> TestResult {
    let world = World::new();
    let acme = open_signup(&world, &world.tenant("acme", Plan::Basic)?)?;

    let (user, tokens) = world.registration()?.register(&acme, &register_input("ada", "ada@example.com", None))?;

    let actor = world.auth()?.authenticate(acme.clone(), &tokens.access)?;
    assert_eq!((actor.user, actor.role), (user.id, Role::Member));
    let state = world.store.snapshot();
    assert_eq!(state.user_named("ada").map(|u| u.password_hash.as_str()), Some(format!("hashed:{PASSWORD}").as_str()));
    let log = state.activity(&acme.schema_name);
    assert_eq!(
        log.last().map(|a| (a.actor, a.changes["role"].clone())),
        Some((user.id, serde_json::json!([null, "member"])))
    );
    Ok(())
}

#[test]
fn an_invitation_gives_its_role_and_is_used_once() -> TestResult {
    let world = World::new();
    let acme = world.tenant("acme", Plan::Basic)?;
    world.member(&acme, "olga", Role::Owner)?;
    let owner = world.sign_in(&acme, "olga")?;
    let issued = world.members().invite(&owner, Email::parse("carol@example.com")?, Role::Admin)?;
    let registration = world.registration()?;

    let (carol, tokens) =
        registration.register(&acme, &register_input("carol", "Carol@Example.com", Some(&issued.token)))?;
    let again =
        refused(registration.register(&acme, &register_input("dave", "carol@example.com", Some(&issued.token))))?;

    assert_eq!(world.auth()?.authenticate(acme.clone(), &tokens.access)?.role, Role::Admin);
    assert!(field_error_on(&again, "invitation_token"), "{again:?}");
    let state = world.store.snapshot();
    assert!(state.user_named("dave").is_none(), "the refused registration left no account");
    let invitation = state.invitations.first().ok_or("no invitation")?;
    assert_eq!((invitation.invitation.accepted_at, invitation.accepted_by), (Some(world.now()), Some(carol.id)));
    Ok(())
}

#[test]
fn an_invitation_for_another_address_is_a_field_error_and_stays_pending() -> TestResult {
    let world = World::new();
    let acme = world.tenant("acme", Plan::Basic)?;
    world.member(&acme, "olga", Role::Owner)?;
    let owner = world.sign_in(&acme, "olga")?;
    let issued = world.members().invite(&owner, Email::parse("carol@example.com")?, Role::Member)?;

    let error = refused(
        world.registration()?.register(&acme, &register_input("mallory", "mallory@example.com", Some(&issued.token))),
    )?;

    assert!(field_error_on(&error, "email"), "{error:?}");
    let state = world.store.snapshot();
    assert!(state.user_named("mallory").is_none());
    assert!(state.invitations.iter().all(|i| i.invitation.is_pending(world.now())));
    Ok(())
}

#[test]
fn an_invitation_of_another_tenant_is_no_invitation_here() -> TestResult {
    let world = World::new();
    let acme = world.tenant("acme", Plan::Basic)?;
    let globex = world.tenant("globex", Plan::Basic)?;
    world.member(&globex, "gus", Role::Owner)?;
    let gus = world.sign_in(&globex, "gus")?;
    let issued = world.members().invite(&gus, Email::parse("carol@example.com")?, Role::Admin)?;

    let error = refused(
        world.registration()?.register(&acme, &register_input("carol", "carol@example.com", Some(&issued.token))),
    )?;

    assert!(field_error_on(&error, "invitation_token"), "{error:?}");
    let state = world.store.snapshot();
    assert!(state.user_named("carol").is_none());
    assert!(state.memberships.iter().all(|m| m.tenant_id != acme.id));
    Ok(())
}

#[test]
fn pending_invitations_count_toward_the_member_limit() -> TestResult {
    let world = World::new();
    let acme = open_signup(&world, &world.tenant("acme", Plan::Free)?)?; // 3 members
    world.member(&acme, "olga", Role::Owner)?;
    world.member(&acme, "ada", Role::Member)?;
    let owner = world.sign_in(&acme, "olga")?;
    world.members().invite(&owner, Email::parse("carol@example.com")?, Role::Member)?;

    let error = refused(world.registration()?.register(&acme, &register_input("dave", "dave@example.com", None)))?;

    assert!(matches!(error, JoinError::PlanLimit { plan: Plan::Free, limit: 3 }), "{error:?}");
    assert!(world.store.snapshot().user_named("dave").is_none());
    Ok(())
}

#[test]
fn an_existing_account_accepts_an_invitation_once() -> TestResult {
    let world = World::new();
    let acme = world.tenant("acme", Plan::Basic)?;
    world.member(&acme, "olga", Role::Owner)?;
    world.user("bob")?;
    let owner = world.sign_in(&acme, "olga")?;
    let issued = world.members().invite(&owner, Email::parse("bob@example.com")?, Role::Viewer)?;
    let registration = world.registration()?;

    let (bob, tokens) = registration.accept_invitation(&acme, &issued.token, "bob", PASSWORD, None)?;
    let again = refused(registration.accept_invitation(&acme, &issued.token, "bob", PASSWORD, None))?;

    let actor = world.auth()?.authenticate(acme, &tokens.access)?;
    assert_eq!((actor.user, actor.role), (bob.id, Role::Viewer));
    assert!(field_error_on(&again, "token"), "{again:?}");
    Ok(())
}

/// A registration whose clock moves on while the password is hashed, and
/// the request that `meanwhile` stands for ends an invitation (or the tenant,
/// or the account) then, a second later.
/// Only the first hash or verification after the registration is built
/// counts (building one hashes a dummy password).
fn racing_registration(world: &World, meanwhile: impl Fn() + Send + Sync + 'static) -> TestResult<crate::Registration> {
    use std::sync::atomic::{AtomicBool, Ordering};
    let clock = Arc::new(ManualClock::new(world.now()));
    let later = world.now() + Duration::seconds(2);
    let (moved, armed) = (clock.clone(), Arc::new(AtomicBool::new(false)));
    let trigger = armed.clone();
    let hasher = MeanwhileHasher::new(move || {
        if trigger.swap(false, Ordering::SeqCst) {
            meanwhile();
            moved.set(later);
        }
    });
    let registration = world.registration_on(Arc::new(hasher), clock)?;
    armed.store(true, Ordering::SeqCst);
    Ok(registration)
}

/// The invitation as stored: who used it, and when it was ended.
fn stored_invitation(
    world: &World,
) -> TestResult<(Option<taskforce_domain::UserId>, Option<chrono::DateTime<chrono::Utc>>)> {
    let state = world.store.snapshot();
    let stored = state.invitations.first().ok_or("no invitation")?;
    Ok((stored.accepted_by, stored.invitation.ended_at))
}

/// An invitation withdrawn while its invitee's password is being hashed
/// (tens of milliseconds with argon2) no longer admits them: the check after
/// the hash is made at the time it is made, not the time the request came.
#[test]
fn an_invitation_withdrawn_while_the_password_hashes_admits_no_one() -> TestResult {
    let world = World::new();
    let acme = world.tenant("acme", Plan::Basic)?;
    world.member(&acme, "olga", Role::Owner)?;
    let owner = world.sign_in(&acme, "olga")?;
    let issued = world.members().invite(&owner, Email::parse("mia@example.com")?, Role::Admin)?;
    let ended_at = world.now() + Duration::seconds(1);
    let (id, members) = (issued.invitation.id, world.members_at(ended_at));
    let registration = racing_registration(&world, move || {
        members.withdraw_invitation(&owner, id).expect("the withdrawal succeeds");
    })?;

    let error = refused(registration.register(&acme, &register_input("mia", "mia@example.com", Some(&issued.token))))?;

    assert!(field_error_on(&error, "invitation_token"), "{error:?}");
    assert!(world.store.snapshot().user_named("mia").is_none(), "no account was made");
    assert_eq!(stored_invitation(&world)?, (None, Some(ended_at)), "withdrawn, and not used");
    Ok(())
}

/// A tenant deactivated while the password hashes takes no new member, and
/// an account deactivated while its password is checked joins nothing: both
/// are read again once the tenant is locked.
#[test]
fn a_tenant_or_account_deactivated_while_the_password_is_checked_joins_nothing() -> TestResult {
    let world = World::new();
    let acme = open_signup(&world, &world.tenant("acme", Plan::Basic)?)?;
    world.member(&acme, "olga", Role::Owner)?;
    let bob = world.user("bob")?;
    let owner = world.sign_in(&acme, "olga")?;
    let issued = world.members().invite(&owner, Email::parse("bob@example.com")?, Role::Member)?;

    let (admin, slug) = (world.admin(), acme.slug.clone());
    let registration = racing_registration(&world, move || {
        let off = TenantChanges { is_active: Some(false), ..Default::default() };
        admin.update(&slug, &off).expect("the tenant is deactivated");
    })?;
    let error = refused(registration.register(&acme, &register_input("ada", "ada@example.com", None)))?;
    assert!(matches!(error, JoinError::TenantInactive), "{error:?}");
    assert!(world.store.snapshot().user_named("ada").is_none(), "no account was made");
    let on = TenantChanges { is_active: Some(true), ..Default::default() };
    world.admin().update(&acme.slug, &on)?;

    let store = world.store.clone();
    let registration = racing_registration(&world, move || {
        store.edit(|state| {
            if let Some(stored) = state.users.iter_mut().find(|u| u.user.id == bob.id) {
                stored.user.is_active = false;
            }
        });
    })?;
    let error = refused(registration.accept_invitation(&acme, &issued.token, "bob", PASSWORD, None))?;
    assert!(matches!(error, JoinError::Auth(crate::AuthError::InvalidCredentials)), "{error:?}");
    let state = world.store.snapshot();
    assert!(state.memberships.iter().all(|m| m.user_id != bob.id), "bob did not join");
    assert_eq!(stored_invitation(&world)?, (None, None), "the invitation stays unused");
    Ok(())
}

/// An end is a state, not a time: a server whose clock runs behind the one
/// that withdrew the invitation (a second here) does not find it pending.
#[test]
fn an_invitation_withdrawn_on_a_server_whose_clock_runs_ahead_is_ended_everywhere() -> TestResult {
    let world = World::new();
    let acme = world.tenant("acme", Plan::Basic)?;
    world.member(&acme, "olga", Role::Owner)?;
    let owner = world.sign_in(&acme, "olga")?;
    let issued = world.members().invite(&owner, Email::parse("mia@example.com")?, Role::Admin)?;
    let ahead = world.now() + Duration::seconds(1);
    world.members_at(ahead).withdraw_invitation(&owner, issued.invitation.id)?;

    let error =
        refused(world.registration()?.register(&acme, &register_input("mia", "mia@example.com", Some(&issued.token))))?;

    assert!(field_error_on(&error, "invitation_token"), "{error:?}");
    assert_eq!(stored_invitation(&world)?, (None, Some(ahead)));
    assert_eq!(world.members().invitations(&owner, crate::PageRequest::default())?.total, 0, "not listed as pending");
    Ok(())
}

/// The same for an existing account accepting, and for an invitation of an
/// owner ended by its sender's demotion while the password was checked.
#[test]
fn an_invitation_ended_by_its_sender_s_demotion_while_the_password_is_checked_admits_no_one() -> TestResult {
    let world = World::new();
    let acme = world.tenant("acme", Plan::Basic)?;
    world.member(&acme, "olga", Role::Owner)?;
    let otto_membership = world.member(&acme, "otto", Role::Owner)?.id;
    world.user("bob")?;
    let olga = world.sign_in(&acme, "olga")?;
    let otto = world.sign_in(&acme, "otto")?;
    let issued = world.members().invite(&otto, Email::parse("bob@example.com")?, Role::Owner)?;
    let ended_at = world.now() + Duration::seconds(1);
    let members = world.members_at(ended_at);
    let registration = racing_registration(&world, move || {
        members.change_role(&olga, otto_membership, Role::Admin, None).expect("the demotion succeeds");
    })?;

    let error = refused(registration.accept_invitation(&acme, &issued.token, "bob", PASSWORD, None))?;

    assert!(field_error_on(&error, "token"), "{error:?}");
    let state = world.store.snapshot();
    let bob = state.user_named("bob").ok_or("no bob")?.user.id;
    assert!(state.memberships.iter().all(|m| m.user_id != bob), "bob did not join");
    assert_eq!(stored_invitation(&world)?, (None, Some(ended_at)), "ended by the demotion, and not used");
    Ok(())
}

#[test]
fn signup_creates_the_tenant_its_domain_and_a_signed_in_owner() -> TestResult {
    let world = World::new();

    let signed_up = world.registration()?.signup(&signup_input("Globex", "hank"), None)?;

    let tenant = &signed_up.tenant;
    assert_eq!((tenant.slug.as_str(), tenant.plan, tenant.allow_signup), ("globex", Plan::Free, false));
    assert_eq!(
        signed_up.domains,
        [TenantDomain {
            domain: taskforce_domain::HostName::parse(&format!("globex.{PLATFORM_DOMAIN}"))?,
            tenant_id: tenant.id,
            is_primary: true
        }]
    );
    let actor = world.auth()?.authenticate(tenant.clone(), &signed_up.tokens.access)?;
    assert_eq!((actor.user, actor.role), (signed_up.user.id, Role::Owner));
    let state = world.store.snapshot();
    assert_eq!(state.domains.len(), 1);
    assert_eq!(state.activity(&tenant.schema_name).len(), 1, "the owner's joining is logged");
    Ok(())
}

#[test]
fn signup_of_a_taken_slug_is_a_conflict_and_leaves_no_account() -> TestResult {
    let world = World::new();
    world.tenant("globex", Plan::Basic)?;

    let error = refused(world.registration()?.signup(&signup_input("globex", "hank"), None))?;

    assert!(matches!(&error, SignupError::Conflict(fields) if fields.fields().contains_key("slug")), "{error:?}");
    let state = world.store.snapshot();
    assert!(state.user_named("hank").is_none());
    assert!(state.sessions.is_empty());
    Ok(())
}

#[test]
fn signup_with_a_taken_username_is_a_conflict_and_rolls_the_tenant_back() -> TestResult {
    let world = World::new();
    world.user("hank")?;

    let error = refused(world.registration()?.signup(
        &SignupInput { email: "someone.else@example.com".to_owned(), ..signup_input("globex", "HANK") },
        None,
    ))?;

    assert!(matches!(&error, SignupError::Conflict(fields) if fields.fields().contains_key("username")), "{error:?}");
    let state = world.store.snapshot();
    assert!(state.tenants.is_empty(), "no tenant row");
    assert!(state.domains.is_empty(), "no domain");
    assert!(state.schemas.is_empty(), "no schema");
    assert_eq!(state.users.len(), 1, "only the earlier account");
    Ok(())
}

/// Signups are counted per client address: past the hour's limit the next
/// is refused before anything is checked or made, with the seconds until
/// the window ends; another address, and a caller with none known, go on.
#[test]
fn signups_past_the_hourly_limit_of_one_address_are_refused_and_make_nothing() -> TestResult {
    let world = World::new();
    let limit = world.config.max_signups_per_client_per_hour;
    assert!(limit >= 1, "the default limits signups");
    let registration = world.registration()?;
    let client = Some("203.0.113.9");
    for n in 0..limit {
        registration.signup(&signup_input(&format!("globex{n}"), &format!("hank{n}")), client)?;
    }
    let error = refused(registration.signup(&signup_input("onemore", "ivy"), client))?;
    assert!(matches!(error, SignupError::Throttled { retry_after } if (1..=3600).contains(&retry_after)), "{error:?}");
    assert!(!world.store.snapshot().tenants.iter().any(|t| t.slug.as_str() == "onemore"), "a tenant was made");
    // a refusal counts for nothing more: still refused, still nothing made
    assert!(matches!(
        refused(registration.signup(&signup_input("onemore", "ivy"), client))?,
        SignupError::Throttled { .. }
    ));
    // the same /64 is the same subscriber
    let v6 = |host: u32| format!("2001:db8:1:2::{host:x}");
    for n in 0..limit {
        registration.signup(&signup_input(&format!("six{n}"), &format!("six{n}")), Some(&v6(n + 1)))?;
    }
    assert!(matches!(
        refused(registration.signup(&signup_input("sixmore", "sixmore"), Some(&v6(999))))?,
        SignupError::Throttled { .. }
    ));
    registration.signup(&signup_input("elsewhere", "jo"), Some("198.51.100.7"))?;
    registration.signup(&signup_input("unknown", "kim"), None)?;
    Ok(())
}

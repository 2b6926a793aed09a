//! [`Authenticator`]: logging in, throttling, refresh rotation and replay,
//! and authenticating each request against the current membership.

use std::{
    sync::{Arc, Mutex, PoisonError},
    time::{Duration, Instant},
};

use taskforce_domain::{
    AccessChange, AccessChangeSink, Cache, CacheHealth, HashError, HostName, PasswordHasher, Plan, Role, Tenant,
    TokenCodec, TokenHint, Username,
};

use crate::{
    AccessCache, AdmitError, AuthError, Authenticator, CacheTtl, ChangeFeedState, ResolveError, TenantDirectory,
    host_key, member_key, session_key,
    testing::{
        FAKE_SCHEMA_VERSION, FakeCache, FakeCodec, FakeHasher, OLD_PREFIX, PASSWORD, TestResult, World, refused,
    },
};

/// `acme` with the member `ada`.
fn acme_with_ada(world: &World) -> TestResult<Tenant> {
    let acme = world.tenant("acme", Plan::Basic)?;
    world.member(&acme, "ada", Role::Member)?;
    Ok(acme)
}

/// The change feed's heartbeat in these tests (the server's is 5 s).
const HEARTBEAT: Duration = Duration::from_secs(5);

/// The times to live entries get while a change feed is live, in these
/// tests: longer than the default short ones, and told apart from them.
const LONG: CacheTtl = CacheTtl { tenant: Duration::from_secs(600), access: Duration::from_secs(900) };

/// A change feed with [`HEARTBEAT`] that counts as settled at once.
fn settled_feed() -> ChangeFeedState {
    ChangeFeedState::new(LONG, HEARTBEAT).settling_for(Duration::ZERO)
}

/// A cache over `cache` with the default short times to live, told of
/// changes by `feed`.
fn with_feed(cache: Arc<dyn Cache>, feed: ChangeFeedState) -> AccessCache {
    AccessCache::new(cache, CacheTtl::default()).with_change_feed(Arc::new(feed))
}

/// The three keys an admission fills: host, membership, session.
fn keys_of(host: &HostName, hint: &TokenHint) -> [String; 3] {
    [host_key(host), member_key(hint.tenant, hint.user), session_key(hint.tenant, hint.family)]
}

/// `ada` logged in at `acme`, with an authenticator and a directory over `cache`.
struct AdaAtAcme {
    directory: TenantDirectory,
    auth: Authenticator,
    host: HostName,
    access: String,
    /// The cache keys her access token chooses.
    hint: TokenHint,
}

fn ada_at_acme(world: &World, acme: &Tenant, cache: &AccessCache) -> TestResult<AdaAtAcme> {
    let directory = TenantDirectory::new(Arc::new(world.store.clone()), FAKE_SCHEMA_VERSION).with_cache(cache.clone());
    let auth = world.auth()?.with_cache(cache.clone());
    let access = auth.login(acme, "ada", PASSWORD, None)?.access;
    let hint = FakeCodec::new(world.clock).hint(&access).ok_or("no hint")?;
    Ok(AdaAtAcme { directory, auth, host: HostName::parse("acme.localhost")?, access, hint })
}

#[test]
fn login_takes_the_username_or_the_email_address_in_any_case() -> TestResult {
    let world = World::new();
    let acme = acme_with_ada(&world)?;
    let auth = world.auth()?;
    let ada = world.store.snapshot().user_named("ada").map(|u| u.user.id).ok_or("ada is missing")?;

    let by_name = auth.login(&acme, "ada", PASSWORD, None)?;
    let by_email = auth.login(&acme, " ADA@Example.com ", PASSWORD, Some("10.0.0.1"))?;

    assert_eq!((by_name.user, by_email.user), (ada, ada));
    assert_ne!(by_name.refresh, by_email.refresh, "each login opens its own session");
    for tokens in [&by_name, &by_email] {
        let actor = auth.authenticate(acme.clone(), &tokens.access)?;
        assert_eq!((actor.user, actor.role), (ada, Role::Member));
    }
    let state = world.store.snapshot();
    assert_eq!(state.sessions.len(), 2);
    assert_eq!(state.user_named("ada").and_then(|u| u.user.last_login), Some(world.now()));
    Ok(())
}

#[test]
fn a_hash_of_another_kind_is_replaced_at_the_first_successful_login_only() -> TestResult {
    let world = World::new();
    let acme = acme_with_ada(&world)?;
    world.user("bob")?; // an account, but no member of acme
    let old = format!("{OLD_PREFIX}{PASSWORD}");
    world.store.edit(|state| {
        for stored in state.users.iter_mut().filter(|u| matches!(u.user.username.as_str(), "ada" | "bob")) {
            stored.password_hash.clone_from(&old);
        }
    });
    let auth = world.auth()?;
    let hash_of_ada = || world.store.snapshot().user_named("ada").map(|u| u.password_hash.clone());

    // the right password of an account that is no member: refused, nothing upgraded
    refused(auth.login(&acme, "bob", PASSWORD, None))?;
    assert_eq!(world.store.snapshot().user_named("bob").map(|u| u.password_hash.clone()), Some(old.clone()));

    let error = refused(auth.login(&acme, "ada", "wrong-password", None))?;
    assert!(matches!(error, AuthError::InvalidCredentials), "{error:?}");
    assert_eq!(hash_of_ada(), Some(old.clone()), "a failed login changes nothing");

    auth.login(&acme, "ada", PASSWORD, None)?;
    let upgraded = hash_of_ada().ok_or("ada is missing")?;
    assert_eq!(upgraded, format!("hashed:{PASSWORD}"), "the old hash is replaced by the hasher's own");
    auth.login(&acme, "ada", PASSWORD, None)?;
    assert_eq!(hash_of_ada(), Some(upgraded), "the password still logs in, and the new hash stays");
    Ok(())
}

#[test]
fn a_login_whose_hash_upgrade_cannot_be_stored_still_succeeds_and_keeps_the_old_hash() -> TestResult {
    let world = World::new();
    let acme = acme_with_ada(&world)?;
    let old = format!("{OLD_PREFIX}{PASSWORD}");
    world.store.edit(|state| {
        for stored in state.users.iter_mut().filter(|u| u.user.username.as_str() == "ada") {
            stored.password_hash.clone_from(&old);
        }
        state.hash_updates_fail = true;
    });
    let auth = world.auth()?;

    let tokens = auth.login(&acme, "ada", PASSWORD, None)?;

    let ada = world.store.snapshot().user_named("ada").map(|u| u.user.id).ok_or("ada is missing")?;
    assert_eq!(auth.authenticate(acme.clone(), &tokens.access)?.user, ada, "the login went through");
    let state = world.store.snapshot();
    assert_eq!(state.user_named("ada").map(|u| u.password_hash.clone()), Some(old), "the old hash stays");
    assert_eq!(state.sessions.len(), 1, "the session was opened");

    world.store.edit(|state| state.hash_updates_fail = false);
    auth.login(&acme, "ada", PASSWORD, None)?;
    let upgraded = world.store.snapshot().user_named("ada").map(|u| u.password_hash.clone());
    assert_eq!(upgraded, Some(format!("hashed:{PASSWORD}")), "the next login upgrades it");
    Ok(())
}

#[test]
fn unknown_user_wrong_password_non_member_and_inactive_account_look_the_same() -> TestResult {
    let world = World::new();
    let acme = acme_with_ada(&world)?;
    world.user("bob")?; // an account, but no member of acme
    world.member(&acme, "cleo", Role::Member)?;
    world.store.edit(|state| {
        for stored in state.users.iter_mut().filter(|u| u.user.username.as_str() == "cleo") {
            stored.user.is_active = false;
        }
    });
    let auth = world.auth()?;

    for (login, password) in [("nobody", PASSWORD), ("ada", "wrong-password"), ("bob", PASSWORD), ("cleo", PASSWORD)] {
        let error = refused(auth.login(&acme, login, password, None))?;
        assert!(matches!(error, AuthError::InvalidCredentials), "{login}: {error:?}");
        assert_eq!(error.to_string(), "Unable to log in with the provided credentials.");
    }
    assert!(world.store.snapshot().sessions.is_empty(), "no session was opened");
    Ok(())
}

/// A [`FakeHasher`] that notes each hash it is asked to verify.
#[derive(Default)]
struct Witness {
    verified: Mutex<Vec<String>>,
}

impl PasswordHasher for Witness {
    fn hash(&self, password: &str) -> Result<String, HashError> {
        FakeHasher.hash(password)
    }

    fn verify(&self, password: &str, hash: &str) -> Result<bool, HashError> {
        self.verified.lock().unwrap_or_else(PoisonError::into_inner).push(hash.to_owned());
        FakeHasher.verify(password, hash)
    }

    fn needs_rehash(&self, hash: &str) -> bool {
        FakeHasher.needs_rehash(hash)
    }

    fn recognizes(&self, hash: &str) -> bool {
        FakeHasher.recognizes(hash)
    }
}

/// An unknown name costs a password verification as a known one does (the
/// time an attacker would measure), against a hash no account holds, so no
/// password can pass it.
#[test]
fn an_unknown_user_s_password_is_verified_against_a_dummy_hash() -> TestResult {
    let world = World::new();
    let acme = acme_with_ada(&world)?;
    let witness = Arc::new(Witness::default());
    let auth = world.auth_with(witness.clone())?;
    let stored: Vec<String> = world.store.snapshot().users.iter().map(|u| u.password_hash.clone()).collect();
    for (login, password) in [("ada", "wrong-password"), ("nobody", "wrong-password"), ("nobody", PASSWORD)] {
        let before = witness.verified.lock().unwrap_or_else(PoisonError::into_inner).len();
        assert!(refused(auth.login(&acme, login, password, None)).is_ok(), "{login}");
        let verified = witness.verified.lock().unwrap_or_else(PoisonError::into_inner).clone();
        assert_eq!(verified.len(), before + 1, "{login}: one verification per attempt");
        let hash = verified.last().ok_or("nothing verified")?;
        assert_eq!(stored.contains(hash), login == "ada", "{login} was checked against {hash:?}");
    }
    Ok(())
}

#[test]
fn after_too_many_failures_even_the_right_password_is_throttled() -> TestResult {
    let world = World::new();
    let acme = acme_with_ada(&world)?;
    world.member(&acme, "bob", Role::Member)?;
    let auth = world.auth()?;
    let limit = world.config.max_failures_per_login;

    for _ in 0..limit {
        let error = refused(auth.login(&acme, "ada", "wrong-password", None))?;
        assert!(matches!(error, AuthError::InvalidCredentials), "{error:?}");
    }
    let error = refused(auth.login(&acme, "ADA", PASSWORD, None))?;

    assert!(
        matches!(error, AuthError::Throttled { retry_after } if retry_after == world.config.failure_window_secs),
        "{error:?}"
    );
    assert!(auth.login(&acme, "bob", PASSWORD, None).is_ok(), "the limit is per login name");
    Ok(())
}

#[test]
fn too_many_failures_from_one_client_address_throttle_every_login_name() -> TestResult {
    let world = World::new();
    let acme = acme_with_ada(&world)?;
    let auth = world.auth()?;
    let client = Some("203.0.113.9");

    for attempt in 0..world.config.max_failures_per_client {
        refused(auth.login(&acme, &format!("guess{attempt}"), "wrong-password", client))?;
    }
    let error = refused(auth.login(&acme, "ada", PASSWORD, client))?;

    assert!(matches!(error, AuthError::Throttled { .. }), "{error:?}");
    assert!(auth.login(&acme, "ada", PASSWORD, Some("198.51.100.7")).is_ok(), "other addresses are not held up");
    // a throttled client's attempts add no key for the names it tries:
    // a flood of them cannot fill the counter and crowd others' failures out
    let error = refused(auth.login(&acme, "nobody-by-this-name", "x", client))?;
    assert!(matches!(error, AuthError::Throttled { .. }), "{error:?}");
    assert!(!world.attempts.has("tf:global:login-account:name:nobody-by-this-name"));
    assert!(world.attempts.has("tf:global:login-account:name:guess0"), "the key names are as this test expects");
    Ok(())
}

#[test]
fn an_account_s_failures_count_on_every_tenant_s_host() -> TestResult {
    let world = World::new();
    let acme = acme_with_ada(&world)?;
    let globex = world.tenant("globex", Plan::Basic)?;
    world.admin().add_member(&globex.slug, &Username::parse("ada")?, Role::Member)?;
    let auth = world.auth()?;

    // guesses spread over tenants (one of them the guesser's own) add up
    for n in 0..world.config.max_failures_per_login {
        let tenant = if n % 2 == 0 { &acme } else { &globex };
        refused(auth.login(tenant, "ada", "wrong-password", None))?;
    }
    let error = refused(auth.login(&globex, "ada", PASSWORD, None))?;

    assert!(matches!(error, AuthError::Throttled { .. }), "{error:?}");
    Ok(())
}

#[test]
fn a_login_name_shaped_like_an_account_key_counts_apart_from_that_account() -> TestResult {
    let world = World::new();
    let acme = acme_with_ada(&world)?;
    let ada = world
        .store
        .snapshot()
        .users
        .iter()
        .find(|u| u.user.username.as_str() == "ada")
        .map(|u| u.user.id)
        .ok_or("ada")?;
    let auth = world.auth()?;

    for _ in 0..world.config.max_failures_per_login {
        refused(auth.login(&acme, &format!("user:{}", ada.0), "wrong-password", None))?;
    }

    assert!(auth.login(&acme, "ada", PASSWORD, None).is_ok(), "ada's own counter is untouched");
    Ok(())
}

#[test]
fn ipv6_clients_count_by_their_64_bit_prefix() -> TestResult {
    let world = World::new();
    let acme = acme_with_ada(&world)?;
    let auth = world.auth()?;

    for n in 0..world.config.max_failures_per_client {
        let client = format!("2001:db8:1:2::{:x}", n + 1);
        refused(auth.login(&acme, &format!("guess{n}"), "wrong-password", Some(&client)))?;
    }
    let error = refused(auth.login(&acme, "ada", PASSWORD, Some("2001:db8:1:2:ffff:ffff:ffff:fffe")))?;

    assert!(matches!(error, AuthError::Throttled { .. }), "{error:?}");
    assert!(auth.login(&acme, "ada", PASSWORD, Some("2001:db8:1:3::1")).is_ok(), "the next /64 is someone else");
    Ok(())
}

#[test]
fn a_client_s_successful_logins_do_not_use_up_its_failures() -> TestResult {
    let world = World::new();
    let acme = acme_with_ada(&world)?;
    let auth = world.auth()?;
    let client = Some("203.0.113.9");
    let limit = world.config.max_failures_per_client;

    for attempt in 1..limit {
        refused(auth.login(&acme, &format!("guess{attempt}"), "wrong-password", client))?;
    }
    for _ in 0..3 {
        auth.login(&acme, "ada", PASSWORD, client)?;
    }
    let last = refused(auth.login(&acme, "guess", "wrong-password", client))?;
    assert!(matches!(last, AuthError::InvalidCredentials), "failure {limit} is still allowed: {last:?}");
    let error = refused(auth.login(&acme, "ada", PASSWORD, client))?;

    assert!(matches!(error, AuthError::Throttled { .. }), "{error:?}");
    Ok(())
}

#[test]
fn a_successful_login_clears_the_failures() -> TestResult {
    let world = World::new();
    let acme = acme_with_ada(&world)?;
    let auth = world.auth()?;
    let limit = world.config.max_failures_per_login;

    for _ in 1..limit {
        refused(auth.login(&acme, "ada", "wrong-password", None))?;
    }
    auth.login(&acme, "ada", PASSWORD, None)?;
    for _ in 1..limit {
        refused(auth.login(&acme, "ada", "wrong-password", None))?;
    }

    assert!(auth.login(&acme, "ada", PASSWORD, None).is_ok(), "the count started again after the success");
    Ok(())
}

#[test]
fn refresh_rotates_the_pair_and_spends_the_presented_token() -> TestResult {
    let world = World::new();
    let acme = acme_with_ada(&world)?;
    let auth = world.auth()?;
    let first = auth.login(&acme, "ada", PASSWORD, None)?;

    let second = auth.refresh(&acme, &first.refresh)?;
    let third = auth.refresh(&acme, &second.refresh)?;

    assert_eq!(second.user, first.user);
    assert_ne!(second.refresh, first.refresh);
    assert_ne!(second.access, first.access);
    assert_eq!(
        auth.authenticate(acme.clone(), &third.access)?.session,
        auth.authenticate(acme, &first.access)?.session
    );
    let state = world.store.snapshot();
    assert_eq!(state.refresh_tokens.iter().map(|t| t.spent).collect::<Vec<_>>(), [true, true, false]);
    assert!(state.refresh_tokens.iter().all(|t| t.expires_at == world.now() + world.config.refresh_ttl));
    assert!(state.sessions.iter().all(|s| s.revoked.is_none()));
    Ok(())
}

#[test]
fn a_replayed_refresh_token_ends_its_session_and_the_end_is_kept() -> TestResult {
    let world = World::new();
    let acme = acme_with_ada(&world)?;
    let auth = world.auth()?;
    let first = auth.login(&acme, "ada", PASSWORD, None)?;
    let other_login = auth.login(&acme, "ada", PASSWORD, None)?;
    let second = auth.refresh(&acme, &first.refresh)?;

    let replay = refused(auth.refresh(&acme, &first.refresh))?;

    assert!(matches!(&replay, AuthError::TokenInvalid(why) if why.contains("reused")), "{replay:?}");
    // the revocation was committed although the call failed
    let family = auth.authenticate(acme.clone(), &other_login.access)?.session;
    let state = world.store.snapshot();
    let revoked: Vec<_> = state.sessions.iter().filter_map(|s| s.revoked.as_deref().map(|r| (s.family, r))).collect();
    assert_eq!(revoked.len(), 1);
    assert_eq!(revoked[0].1, "reuse");
    assert_ne!(revoked[0].0, family, "only the replayed session ends");
    // every token of that session is dead, the other login lives on
    let descendant = refused(auth.refresh(&acme, &second.refresh))?;
    assert!(matches!(descendant, AuthError::TokenInvalid(_)), "{descendant:?}");
    let access = refused(auth.authenticate(acme.clone(), &second.access))?;
    assert!(matches!(access, AuthError::TokenInvalid(_)), "{access:?}");
    assert!(auth.refresh(&acme, &other_login.refresh).is_ok());
    Ok(())
}

#[test]
fn refresh_takes_only_a_refresh_token_of_this_tenant() -> TestResult {
    let world = World::new();
    let acme = acme_with_ada(&world)?;
    let globex = world.tenant("globex", Plan::Basic)?;
    let auth = world.auth()?;
    let tokens = auth.login(&acme, "ada", PASSWORD, None)?;

    let access_as_refresh = refused(auth.refresh(&acme, &tokens.access))?;
    let other_tenant = refused(auth.refresh(&globex, &tokens.refresh))?;
    let refresh_as_access = refused(auth.authenticate(acme.clone(), &tokens.refresh))?;

    for error in [access_as_refresh, other_tenant, refresh_as_access] {
        assert!(matches!(error, AuthError::TokenInvalid(_)), "{error:?}");
    }
    assert!(world.store.snapshot().refresh_tokens.iter().all(|t| !t.spent), "nothing was spent");
    assert!(auth.refresh(&acme, &tokens.refresh).is_ok());
    Ok(())
}

#[test]
fn logout_ends_the_session() -> TestResult {
    let world = World::new();
    let acme = acme_with_ada(&world)?;
    let auth = world.auth()?;
    let tokens = auth.login(&acme, "ada", PASSWORD, None)?;
    let actor = auth.authenticate(acme.clone(), &tokens.access)?;

    auth.logout(&actor, &tokens.refresh)?;

    let refresh = refused(auth.refresh(&acme, &tokens.refresh))?;
    let access = refused(auth.authenticate(acme, &tokens.access))?;
    assert!(matches!(refresh, AuthError::TokenInvalid(_)), "{refresh:?}");
    assert!(matches!(access, AuthError::TokenInvalid(_)), "{access:?}");
    Ok(())
}

#[test]
fn authenticate_reads_the_current_role_and_refuses_a_removed_member() -> TestResult {
    let world = World::new();
    let acme = world.tenant("acme", Plan::Basic)?;
    world.member(&acme, "olga", Role::Owner)?;
    let ada = world.member(&acme, "ada", Role::Member)?;
    let auth = world.auth()?;
    let tokens = auth.login(&acme, "ada", PASSWORD, None)?;
    let owner = world.sign_in(&acme, "olga")?;
    let members = world.members();

    members.change_role(&owner, ada.id, Role::Viewer, None)?;
    assert_eq!(auth.authenticate(acme.clone(), &tokens.access)?.role, Role::Viewer, "demoted at once");

    members.remove(&owner, ada.id, None)?;
    let access = refused(auth.authenticate(acme.clone(), &tokens.access))?;
    let refresh = refused(auth.refresh(&acme, &tokens.refresh))?;

    assert!(matches!(access, AuthError::TokenInvalid(_)), "{access:?}");
    assert!(matches!(refresh, AuthError::TokenInvalid(_)), "{refresh:?}");
    Ok(())
}

#[test]
fn authenticate_refuses_an_inactive_account_and_another_tenant_s_token() -> TestResult {
    let world = World::new();
    let acme = acme_with_ada(&world)?;
    let globex = world.tenant("globex", Plan::Basic)?;
    let auth = world.auth()?;
    let tokens = auth.login(&acme, "ada", PASSWORD, None)?;

    let elsewhere = refused(auth.authenticate(globex, &tokens.access))?;
    world.store.edit(|state| state.users.iter_mut().for_each(|u| u.user.is_active = false));
    let inactive = refused(auth.authenticate(acme, &tokens.access))?;

    assert!(matches!(elsewhere, AuthError::TokenInvalid(_)), "{elsewhere:?}");
    assert!(matches!(inactive, AuthError::TokenInvalid(_)), "{inactive:?}");
    Ok(())
}

/// Admission from the cache alone (no I/O) answers only when everything it
/// needs is cached and right, with the same actor as admission through the
/// store; everything else is left to that admission, which refuses it.
#[test]
fn admission_from_memory_needs_the_whole_answer_cached_and_agrees_with_the_store() -> TestResult {
    let world = World::new();
    let acme = acme_with_ada(&world)?;
    let bravo = world.tenant("bravo", Plan::Basic)?;
    world.admin().add_member(&bravo.slug, &Username::parse("ada")?, Role::Admin)?;
    let cache = AccessCache::new(Arc::new(FakeCache::default()), CacheTtl::default());
    let store = Arc::new(world.store.clone());
    let directory = TenantDirectory::new(store, FAKE_SCHEMA_VERSION).with_cache(cache.clone());
    let auth = world.auth()?.with_cache(cache);
    let (acme_host, bravo_host) = (HostName::parse("acme.localhost")?, HostName::parse("bravo.localhost")?);
    let at_acme = auth.login(&acme, "ada", PASSWORD, None)?;
    let at_bravo = auth.login(&bravo, "ada", PASSWORD, None)?;

    assert_eq!(auth.admit_from_memory(&directory, &acme_host, &at_acme.access), None, "nothing cached yet");
    let admitted = auth.admit(&directory, &acme_host, Some(at_acme.access.as_str()))?;
    assert_eq!((admitted.tenant.id, admitted.user, admitted.role), (acme.id, at_acme.user, Role::Member));
    assert_eq!(auth.admit_from_memory(&directory, &acme_host, &at_acme.access), Some(admitted.clone()));
    auth.admit(&directory, &bravo_host, Some(at_bravo.access.as_str()))?;
    let at_bravo_by_memory = auth.admit_from_memory(&directory, &bravo_host, &at_bravo.access).ok_or("bravo")?;
    assert_eq!((at_bravo_by_memory.tenant.id, at_bravo_by_memory.role), (bravo.id, Role::Admin));

    // everything is cached for both tenants, yet these are not admitted
    let altered = format!("{}x", at_acme.access);
    for (host, token, what) in [
        (&acme_host, &at_bravo.access, "the other tenant's token"),
        (&bravo_host, &at_acme.access, "the other tenant's token, the other way"),
        (&acme_host, &at_acme.refresh, "a refresh token"),
        (&acme_host, &altered, "a token altered after issue"),
    ] {
        assert_eq!(auth.admit_from_memory(&directory, host, token), None, "{what}");
        assert!(auth.admit(&directory, host, Some(token.as_str())).is_err(), "{what}");
    }

    // a session that ended is no longer in the cache: the store refuses it
    auth.logout(&admitted, &at_acme.refresh)?;
    assert_eq!(auth.admit_from_memory(&directory, &acme_host, &at_acme.access), None);
    let error = refused(auth.admit(&directory, &acme_host, Some(at_acme.access.as_str())))?;
    assert!(matches!(error, AdmitError::Auth(AuthError::TokenInvalid(_))), "{error:?}");

    // without a cache in this process's memory (none here; Redis in production) it never answers
    let uncached = world.auth()?;
    let without = TenantDirectory::new(Arc::new(world.store.clone()), FAKE_SCHEMA_VERSION);
    uncached.admit(&without, &bravo_host, Some(at_bravo.access.as_str()))?;
    assert_eq!(uncached.admit_from_memory(&without, &bravo_host, &at_bravo.access), None);
    Ok(())
}

/// What the cache holds but `admit` would refuse is refused from memory
/// too: a schema behind this build, an account made inactive, a tenant made
/// inactive — each with every other entry cached, so that only that check
/// stands between the request and admission.
#[test]
fn admission_from_memory_refuses_a_schema_behind_an_inactive_account_and_an_inactive_tenant() -> TestResult {
    let world = World::new();
    let acme = acme_with_ada(&world)?;
    let fake = Arc::new(FakeCache::default());
    let cache = AccessCache::new(fake.clone(), CacheTtl::default());
    let AdaAtAcme { directory, auth, host, access, hint } = ada_at_acme(&world, &acme, &cache)?;
    let token = access.as_str();
    let set_ada_active = |active: bool| {
        world.store.edit(|state| {
            for stored in state.users.iter_mut().filter(|u| u.user.username.as_str() == "ada") {
                stored.user.is_active = active;
            }
        });
    };
    auth.admit(&directory, &host, Some(token))?;
    assert!(auth.admit_from_memory(&directory, &host, token).is_some(), "all cached");

    // a build that needs a newer schema than the tenant's
    let newer = TenantDirectory::new(Arc::new(world.store.clone()), "zzz").with_cache(cache.clone());
    assert_eq!(auth.admit_from_memory(&newer, &host, token), None);
    let error = refused(auth.admit(&newer, &host, Some(token)))?;
    assert!(matches!(error, AdmitError::Resolve(ResolveError::SchemaNotReady)), "{error:?}");

    // an account made inactive, read and cached as such
    fake.delete(&[member_key(acme.id, hint.user)]);
    set_ada_active(false);
    let error = refused(auth.admit(&directory, &host, Some(token)))?;
    assert!(matches!(error, AdmitError::Auth(AuthError::TokenInvalid(_))), "{error:?}");
    let found = cache.find(&host, Some((hint.tenant, hint.user, hint.family)));
    assert_eq!((found.member, found.session_alive), (Some((Role::Member, false)), true));
    assert_eq!(auth.admit_from_memory(&directory, &host, token), None);

    // active again; then the tenant made inactive, read and cached as such
    fake.delete(&[member_key(acme.id, hint.user)]);
    set_ada_active(true);
    auth.admit(&directory, &host, Some(token))?;
    fake.delete(&[host_key(&host)]);
    world.store.edit(|state| {
        for tenant in state.tenants.iter_mut().filter(|t| t.id == acme.id) {
            tenant.is_active = false;
        }
    });
    let error = refused(auth.admit(&directory, &host, Some(token)))?;
    assert!(matches!(error, AdmitError::Resolve(ResolveError::Inactive)), "{error:?}");
    let found = cache.find(&host, Some((hint.tenant, hint.user, hint.family)));
    assert_eq!(found.tenant.map(|t| t.is_active), Some(false));
    assert!(found.member.is_some() && found.session_alive, "membership and session are still cached");
    assert_eq!(auth.admit_from_memory(&directory, &host, token), None);
    Ok(())
}

/// A cache told of changes by the database's feed: an entry the feed names
/// is read again on the next request, even though nothing in this process
/// changed it; entries live the feed's long times to live only while it is
/// live and settled; losing it drops every entry, and new ones live the
/// short times again.
#[test]
fn each_kind_of_change_notice_drops_its_own_key_and_no_other() -> TestResult {
    let world = World::new();
    let acme = acme_with_ada(&world)?;
    let fake = Arc::new(FakeCache::default());
    let long = LONG;
    let cache = with_feed(fake.clone(), settled_feed());
    let AdaAtAcme { directory, auth, host, access, hint } = ada_at_acme(&world, &acme, &cache)?;
    let keys = keys_of(&host, &hint);
    let ttls = || keys.iter().map(|key| fake.ttl_of(key)).collect::<Vec<_>>();
    cache.feed_live();
    auth.admit(&directory, &host, Some(access.as_str()))?;
    assert_eq!(ttls(), [Some(long.tenant), Some(long.access), Some(long.access)]);

    cache.changed(&[AccessChange::Session(acme.id, hint.family)]);
    assert_eq!(ttls(), [Some(long.tenant), Some(long.access), None], "the session alone");
    cache.changed(&[AccessChange::Host(host.clone())]);
    assert_eq!(ttls(), [None, Some(long.access), None], "then the host alone");
    cache.changed(&[AccessChange::Member(acme.id, hint.user)]);
    assert_eq!(ttls(), [None, None, None], "then the membership");
    Ok(())
}

/// A feed that stops being heard without saying it is lost (stuck, cut
/// off unawares): after three of its heartbeats in silence, new entries get
/// the short times to live again; hearing it again gives them the long ones.
#[test]
fn entries_stop_living_long_once_the_feed_has_been_silent_for_three_heartbeats() -> TestResult {
    let world = World::new();
    let acme = acme_with_ada(&world)?;
    let fake = Arc::new(FakeCache::default());
    let (short, long) = (CacheTtl::default(), LONG);
    // the feed's time, moved by hand
    let start = Instant::now();
    let elapsed = Arc::new(Mutex::new(Duration::ZERO));
    let clock = elapsed.clone();
    let feed = settled_feed().with_clock(move || start + *clock.lock().unwrap_or_else(PoisonError::into_inner));
    let cache = with_feed(fake.clone(), feed);
    let pass = |time: Duration| *elapsed.lock().unwrap_or_else(PoisonError::into_inner) += time;
    let AdaAtAcme { directory, auth, host, access, hint } = ada_at_acme(&world, &acme, &cache)?;
    let keys = keys_of(&host, &hint);
    let ttls_after_admission = || -> TestResult<Vec<Option<Duration>>> {
        fake.delete(&keys);
        auth.admit(&directory, &host, Some(access.as_str()))?;
        Ok(keys.iter().map(|key| fake.ttl_of(key)).collect())
    };

    cache.feed_live();
    assert_eq!(ttls_after_admission()?, [Some(long.tenant), Some(long.access), Some(long.access)], "just heard");
    pass(HEARTBEAT * ChangeFeedState::MISSED_HEARTBEATS - Duration::from_millis(1));
    assert_eq!(ttls_after_admission()?, [Some(long.tenant), Some(long.access), Some(long.access)], "not silent yet");
    pass(Duration::from_millis(1));
    assert_eq!(ttls_after_admission()?, [Some(short.tenant), Some(short.access), Some(short.access)], "silent");
    cache.feed_live();
    assert_eq!(ttls_after_admission()?, [Some(long.tenant), Some(long.access), Some(long.access)], "heard again");
    Ok(())
}

/// A cache whose first fill lands just after the feed is lost: the value
/// was read while the feed was live, so it may miss a change the feed
/// would have announced.
#[derive(Debug, Default)]
struct LostDuringFill {
    inner: FakeCache,
    access: std::sync::OnceLock<AccessCache>,
    done: std::sync::atomic::AtomicBool,
}

impl Cache for LostDuringFill {
    fn get_many(&self, keys: &[String]) -> Vec<Option<String>> {
        self.inner.get_many(keys)
    }
    fn set(&self, key: &str, value: &str, ttl: Duration) {
        self.inner.set(key, value, ttl);
    }
    fn add(&self, key: &str, value: &str, ttl: Duration) {
        if !self.done.swap(true, std::sync::atomic::Ordering::AcqRel)
            && let Some(access) = self.access.get()
        {
            access.feed_lost();
        }
        self.inner.add(key, value, ttl);
    }
    fn delete(&self, keys: &[String]) {
        self.inner.delete(keys);
    }
    fn invalidate(&self, keys: &[String], hold: Duration) {
        self.inner.invalidate(keys, hold);
    }
    fn take(&self, key: &str) -> Option<String> {
        self.inner.take(key)
    }
    fn health(&self) -> CacheHealth {
        self.inner.health()
    }
    fn clear_local(&self) {
        self.inner.clear_local();
    }
}

#[test]
fn an_entry_whose_fill_straddles_the_loss_of_the_feed_is_taken_back() -> TestResult {
    let world = World::new();
    let acme = acme_with_ada(&world)?;
    let racing = Arc::new(LostDuringFill::default());
    let cache = with_feed(racing.clone(), settled_feed());
    racing.access.set(cache.clone()).map_err(|_| "set twice")?;
    let AdaAtAcme { directory, auth, host, access, hint } = ada_at_acme(&world, &acme, &cache)?;
    let keys = keys_of(&host, &hint);
    cache.feed_live();

    auth.admit(&directory, &host, Some(access.as_str()))?;

    assert!(racing.done.load(std::sync::atomic::Ordering::Acquire), "the loss was staged during a fill");
    let ttls: Vec<_> = keys.iter().map(|key| racing.inner.ttl_of(key)).collect();
    assert_eq!(ttls[0], None, "the host, filled across the loss, is gone: {ttls:?}");
    let short = CacheTtl::default();
    assert_eq!(&ttls[1..], [Some(short.access), Some(short.access)], "later fills: the short times to live");
    Ok(())
}

#[test]
fn a_change_feed_drops_what_it_names_and_lengthens_entries_only_while_it_is_heard() -> TestResult {
    let world = World::new();
    let acme = acme_with_ada(&world)?;
    let fake = Arc::new(FakeCache::default());
    let (short, long) = (CacheTtl::default(), LONG);
    let cache = with_feed(fake.clone(), settled_feed());
    let AdaAtAcme { directory, auth, host, access, hint } = ada_at_acme(&world, &acme, &cache)?;
    let token = access.as_str();
    let keys = keys_of(&host, &hint);
    let ttls = || keys.iter().map(|key| fake.ttl_of(key)).collect::<Vec<_>>();
    let demote_ada = |role: Role| {
        // as tenant-admin or SQL would: nothing in this process hears of it
        world.store.edit(|state| {
            for membership in state.memberships.iter_mut().filter(|m| m.tenant_id == acme.id && m.user_id == hint.user)
            {
                membership.role = role;
            }
        });
    };

    auth.admit(&directory, &host, Some(token))?;
    assert_eq!(ttls(), [Some(short.tenant), Some(short.access), Some(short.access)], "no feed yet");

    cache.feed_live();
    fake.delete(&keys);
    assert_eq!(auth.admit(&directory, &host, Some(token))?.role, Role::Member);
    assert_eq!(ttls(), [Some(long.tenant), Some(long.access), Some(long.access)], "the feed is live");

    demote_ada(Role::Viewer);
    assert_eq!(auth.admit(&directory, &host, Some(token))?.role, Role::Member, "cached, not yet told");
    cache.changed(&[AccessChange::Member(acme.id, hint.user)]);
    assert_eq!(auth.admit(&directory, &host, Some(token))?.role, Role::Viewer, "told: read again");
    let found = cache.find(&host, Some((hint.tenant, hint.user, hint.family)));
    assert!(found.tenant.is_some() && found.session_alive, "what the feed did not name stays");
    cache.changed(&[AccessChange::Everything]);
    let found = cache.find(&host, Some((hint.tenant, hint.user, hint.family)));
    assert!(found.tenant.is_none() && !found.session_alive, "a truncation drops everything: {found:?}");
    auth.admit(&directory, &host, Some(token))?;

    cache.feed_lost();
    let found = cache.find(&host, Some((hint.tenant, hint.user, hint.family)));
    assert!(found.tenant.is_none() && found.member.is_none() && !found.session_alive, "all dropped: {found:?}");
    demote_ada(Role::Admin);
    assert_eq!(auth.admit(&directory, &host, Some(token))?.role, Role::Admin, "read from the store");
    assert_eq!(fake.ttl_of(&keys[1]), None, "the key the feed named still refuses refills");
    assert_eq!(
        (fake.ttl_of(&keys[0]), fake.ttl_of(&keys[2])),
        (Some(short.tenant), Some(short.access)),
        "no feed: short again"
    );

    // live but not yet settled: a value read before the feed listened may still land
    let settling = AccessCache::new(fake.clone(), short)
        .with_change_feed(Arc::new(ChangeFeedState::new(long, HEARTBEAT).settling_for(Duration::from_secs(3600))));
    settling.feed_live();
    fake.delete(&keys);
    let directory = directory.with_cache(settling.clone());
    world.auth()?.with_cache(settling).admit(&directory, &host, Some(token))?;
    assert_eq!(fake.ttl_of(&keys[0]), Some(short.tenant), "not settled");
    Ok(())
}

/// What is typed at login is read in the form names are kept in (NFKC), as
/// Django's login form read it: a name typed in full-width letters logs in
/// as the name it stands for.
#[test]
fn a_login_name_typed_in_full_width_letters_is_the_name_it_stands_for() -> TestResult {
    let world = World::new();
    let acme = acme_with_ada(&world)?;
    let auth = world.auth()?;
    assert!(auth.login(&acme, " ａｄａ ", PASSWORD, None).is_ok());
    assert!(auth.login(&acme, "ａｄａ@example.com", PASSWORD, None).is_ok());
    Ok(())
}

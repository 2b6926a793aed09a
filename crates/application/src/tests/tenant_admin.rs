//! [`TenantAdmin`]: the operators' commands over tenants, domains and members.

use taskforce_domain::{
    HostName, NewTenant, Plan, Role, Slug, TargetType, TenantChanges, TenantName, UserId, Username,
};

use crate::{
    CreateTenantError, TenantAdmin, TenantAdminError,
    testing::{FAKE_SCHEMA_VERSION, TestResult, World, refused},
};

fn host(name: &str) -> TestResult<HostName> {
    Ok(HostName::parse(name)?)
}

fn new_tenant(slug: &str, domains: &[&str]) -> TestResult<NewTenant> {
    Ok(NewTenant {
        slug: Slug::parse(slug)?,
        name: TenantName::parse(slug)?,
        plan: Plan::Free,
        allow_signup: false,
        domains: domains.iter().map(|d| host(d)).collect::<Result<_, _>>()?,
    })
}

/// The tenant's domains as `(name, is_primary)`, primary first.
fn domains_of(admin: &TenantAdmin, slug: &str) -> TestResult<Vec<(String, bool)>> {
    let details = admin.show(&Slug::parse(slug)?)?;
    Ok(details.domains.into_iter().map(|d| (d.domain.to_string(), d.is_primary)).collect())
}

fn owned(domains: &[(&str, bool)]) -> Vec<(String, bool)> {
    domains.iter().map(|(name, primary)| ((*name).to_owned(), *primary)).collect()
}

#[test]
fn create_maps_every_domain_with_the_first_primary_and_a_migrated_schema() -> TestResult {
    let world = World::new();
    let tenant = world.admin().create(&new_tenant("acme", &["acme.localhost", "acme.example.com"])?)?;

    assert_eq!(tenant.schema_name.as_str(), "tenant_acme");
    assert_eq!(tenant.schema_version.as_deref(), Some(FAKE_SCHEMA_VERSION));
    assert!(tenant.is_active);
    assert_eq!(domains_of(&world.admin(), "acme")?, owned(&[("acme.localhost", true), ("acme.example.com", false)]));
    assert!(world.store.snapshot().schemas.contains_key(&tenant.schema_name));
    Ok(())
}

#[test]
fn create_refuses_a_domain_listed_twice_and_creates_nothing() -> TestResult {
    let world = World::new();

    let error = refused(world.admin().create(&new_tenant("acme", &["acme.localhost", "ACME.localhost."])?))?;

    assert!(matches!(&error, CreateTenantError::DuplicateDomain(d) if d.as_str() == "acme.localhost"), "{error:?}");
    let state = world.store.snapshot();
    assert!(state.tenants.is_empty() && state.domains.is_empty() && state.schemas.is_empty());
    Ok(())
}

#[test]
fn create_refuses_a_domain_of_another_tenant_naming_it() -> TestResult {
    let world = World::new();
    world.tenant("acme", Plan::Free)?;

    let error = refused(world.admin().create(&new_tenant("globex", &["globex.localhost", "acme.localhost"])?))?;

    assert!(
        matches!(&error, CreateTenantError::DomainTaken(d, owner) if d.as_str() == "acme.localhost" && owner == "acme"),
        "{error:?}"
    );
    assert_eq!(error.to_string(), "the domain 'acme.localhost' already belongs to the tenant 'acme'");
    let state = world.store.snapshot();
    assert_eq!(state.tenants.len(), 1, "globex was not created");
    assert!(state.domains.iter().all(|d| d.domain.as_str() != "globex.localhost"));
    assert_eq!(domains_of(&world.admin(), "acme")?, owned(&[("acme.localhost", true)]));
    Ok(())
}

#[test]
fn create_refuses_a_taken_slug_and_a_slug_with_the_same_schema() -> TestResult {
    let world = World::new();
    world.tenant("a-b", Plan::Free)?;

    let taken = refused(world.admin().create(&new_tenant("a-b", &["other.example.com"])?))?;
    let clash = refused(world.admin().create(&new_tenant("a_b", &["third.example.com"])?))?;

    assert!(matches!(&taken, CreateTenantError::SlugTaken(s) if s.as_str() == "a-b"), "{taken:?}");
    assert!(matches!(&clash, CreateTenantError::SchemaClash { schema, .. } if schema == "tenant_a_b"), "{clash:?}");
    let state = world.store.snapshot();
    assert_eq!(state.tenants.len(), 1);
    assert_eq!(state.domains.len(), 1, "the refused tenants' domains were rolled back");
    Ok(())
}

#[test]
fn add_domain_with_primary_moves_the_primary_flag() -> TestResult {
    let world = World::new();
    let acme = world.tenant("acme", Plan::Free)?;
    let admin = world.admin();

    admin.add_domain(&acme.slug, &host("tasks.acme.com")?, false)?;
    assert_eq!(domains_of(&admin, "acme")?, owned(&[("acme.localhost", true), ("tasks.acme.com", false)]));

    let added = admin.add_domain(&acme.slug, &host("www.acme.com")?, true)?;

    assert!(added.is_primary);
    assert_eq!(
        domains_of(&admin, "acme")?,
        owned(&[("www.acme.com", true), ("acme.localhost", false), ("tasks.acme.com", false)])
    );
    Ok(())
}

#[test]
fn add_domain_refuses_a_domain_of_another_tenant_naming_its_owner() -> TestResult {
    let world = World::new();
    world.tenant("acme", Plan::Free)?;
    let globex = world.tenant("globex", Plan::Free)?;

    let error = refused(world.admin().add_domain(&globex.slug, &host("acme.localhost")?, true))?;

    assert!(
        matches!(&error, TenantAdminError::DomainTaken(d, owner) if d.as_str() == "acme.localhost" && owner == "acme"),
        "{error:?}"
    );
    assert_eq!(domains_of(&world.admin(), "globex")?, owned(&[("globex.localhost", true)]), "primary kept");
    Ok(())
}

#[test]
fn removing_the_primary_domain_promotes_the_next_by_name() -> TestResult {
    let world = World::new();
    let acme = world.tenant("acme", Plan::Free)?;
    let admin = world.admin();
    admin.add_domain(&acme.slug, &host("zeta.acme.com")?, false)?;
    admin.add_domain(&acme.slug, &host("beta.acme.com")?, false)?;

    let removed = admin.remove_domain(&host("acme.localhost")?)?;

    assert!(removed.is_primary);
    assert_eq!(domains_of(&admin, "acme")?, owned(&[("beta.acme.com", true), ("zeta.acme.com", false)]));
    Ok(())
}

#[test]
fn removing_a_secondary_domain_keeps_the_primary_and_an_unknown_one_is_unknown() -> TestResult {
    let world = World::new();
    let acme = world.tenant("acme", Plan::Free)?;
    let admin = world.admin();
    admin.add_domain(&acme.slug, &host("beta.acme.com")?, false)?;

    admin.remove_domain(&host("beta.acme.com")?)?;
    let error = refused(admin.remove_domain(&host("beta.acme.com")?))?;

    assert!(matches!(&error, TenantAdminError::UnknownDomain(d) if d.as_str() == "beta.acme.com"), "{error:?}");
    assert_eq!(domains_of(&admin, "acme")?, owned(&[("acme.localhost", true)]));
    Ok(())
}

#[test]
fn ensure_dev_tenant_is_idempotent_and_turns_signup_on() -> TestResult {
    let world = World::new();
    let admin = world.admin();
    let (slug, name) = (Slug::parse("dev")?, TenantName::parse("Development")?);
    let domains = [host("dev.localhost")?, host("127.0.0.1")?];

    let first = admin.ensure_dev_tenant(&slug, &name, &domains)?;
    let second = admin.ensure_dev_tenant(&slug, &name, &domains)?;

    assert!(first.tenant.allow_signup && first.tenant.is_active);
    assert_eq!(domains_of(&admin, "dev")?, owned(&[("dev.localhost", true), ("127.0.0.1", false)]));
    assert_eq!(second, first, "a second run changes nothing");
    assert_eq!(world.store.snapshot().tenants.len(), 1);

    // an operator closed signup and deactivated it; the next run reopens both
    admin.update(&slug, &TenantChanges { allow_signup: Some(false), is_active: Some(false), ..Default::default() })?;
    let third = admin.ensure_dev_tenant(&slug, &name, &domains)?;

    assert!(third.tenant.allow_signup && third.tenant.is_active);
    assert_eq!(third.domains, first.domains);
    Ok(())
}

#[test]
fn ensure_dev_tenant_leaves_another_tenant_s_domain_where_it_is() -> TestResult {
    let world = World::new();
    world.tenant("acme", Plan::Free)?;
    let admin = world.admin();

    admin.ensure_dev_tenant(
        &Slug::parse("dev")?,
        &TenantName::parse("Dev")?,
        &[host("dev.localhost")?, host("acme.localhost")?],
    )?;

    assert_eq!(domains_of(&admin, "dev")?, owned(&[("dev.localhost", true)]));
    assert_eq!(domains_of(&admin, "acme")?, owned(&[("acme.localhost", true)]));
    Ok(())
}

#[test]
fn add_member_twice_is_already_member_and_changes_nothing() -> TestResult {
    let world = World::new();
    let acme = world.tenant("acme", Plan::Free)?;
    let ada = world.user("ada")?;
    let admin = world.admin();
    let username = Username::parse("ada")?;

    let membership = admin.add_member(&acme.slug, &username, Role::Member)?.membership;
    let error = refused(admin.add_member(&acme.slug, &Username::parse("ADA")?, Role::Admin))?;

    assert!(matches!(&error, TenantAdminError::AlreadyMember(u, t) if u == "ADA" && t == "acme"), "{error:?}");
    assert_eq!((membership.user_id, membership.role), (ada.id, Role::Member));
    let members = admin.members(&acme.slug)?;
    assert_eq!(members.len(), 1);
    assert_eq!(members[0].membership.role, Role::Member, "the second call changed nothing");
    let state = world.store.snapshot();
    let log = state.activity(&acme.schema_name);
    assert_eq!(log.len(), 1, "one activity row, for the first call only");
    assert_eq!(
        (log[0].actor, log[0].target_type, log[0].target_id),
        (UserId::OPERATOR, TargetType::Membership, membership.id.0)
    );
    assert_eq!(log[0].changes["role"], serde_json::json!([null, "member"]));
    Ok(())
}

#[test]
fn add_member_of_an_unknown_user_or_tenant_is_refused() -> TestResult {
    let world = World::new();
    let acme = world.tenant("acme", Plan::Free)?;
    world.user("ada")?;
    let admin = world.admin();

    let no_user = refused(admin.add_member(&acme.slug, &Username::parse("nobody")?, Role::Member))?;
    let no_tenant = refused(admin.add_member(&Slug::parse("nowhere")?, &Username::parse("ada")?, Role::Member))?;

    assert!(matches!(&no_user, TenantAdminError::UnknownUser(u) if u == "nobody"), "{no_user:?}");
    assert!(matches!(&no_tenant, TenantAdminError::UnknownTenant(t) if t == "nowhere"), "{no_tenant:?}");
    assert!(world.store.snapshot().memberships.is_empty());
    Ok(())
}

#[test]
fn delete_removes_the_tenant_with_its_domains_schema_and_members() -> TestResult {
    let world = World::new();
    let acme = world.tenant("acme", Plan::Free)?;
    let globex = world.tenant("globex", Plan::Free)?;
    world.member(&acme, "ada", Role::Owner)?;
    world.member(&globex, "bob", Role::Owner)?;

    let deleted = world.admin().delete(&acme.slug)?;

    assert_eq!((deleted.tenant.id, deleted.schema_dropped), (acme.id, true));
    let state = world.store.snapshot();
    assert_eq!(state.tenants.iter().map(|t| t.slug.as_str()).collect::<Vec<_>>(), ["globex"]);
    assert!(state.domains.iter().all(|d| d.tenant_id == globex.id));
    assert!(state.memberships.iter().all(|m| m.tenant_id == globex.id));
    assert!(!state.schemas.contains_key(&acme.schema_name));
    assert!(state.user_named("ada").is_some(), "accounts are global and stay");
    let again = refused(world.admin().delete(&acme.slug))?;
    assert!(matches!(again, TenantAdminError::UnknownTenant(_)), "{again:?}");
    Ok(())
}

/// A Django import onto `platform_domain`, with accounts logging in through
/// the fake hasher.
fn to<'a>(platform_domain: &'a HostName, members_of: Option<&'a Slug>) -> crate::LegacyTarget<'a> {
    crate::LegacyTarget { platform_domain, members_of, hasher: &crate::testing::FakeHasher }
}

/// A Django tenant that was switched off there.
fn inactive_legacy(slug: &str) -> taskforce_domain::LegacyTenant {
    taskforce_domain::LegacyTenant {
        slug: slug.into(),
        name: "Sleepy".into(),
        plan: "free".into(),
        is_active: false,
        domains: vec![format!("{slug}.example.com")],
    }
}

#[test]
fn an_inactive_django_tenant_is_never_here_active() -> TestResult {
    let world = World::new();
    let admin = world.admin();
    let platform = |tenants| taskforce_domain::LegacyPlatform { tenants, accounts: Vec::new() };
    let localhost = host("localhost")?;

    // switching it off fails: the tenant is not left behind, active
    world.store.edit(|state| state.tenant_updates_fail = true);
    let report = admin.import_legacy(&platform(vec![inactive_legacy("sleepy")]), &to(&localhost, None), &mut |_| {})?;
    assert!(matches!(&report[0].outcome, crate::LegacyOutcome::Refused(_)), "{report:?}");
    assert!(world.store.snapshot().tenants.is_empty(), "a tenant was left behind");

    // and when it works, the tenant comes over switched off, from the start
    world.store.edit(|state| state.tenant_updates_fail = false);
    let report = admin.import_legacy(&platform(vec![inactive_legacy("sleepy")]), &to(&localhost, None), &mut |_| {})?;
    assert_eq!(report[0].outcome, crate::LegacyOutcome::Imported);
    let tenants = world.store.snapshot().tenants;
    assert_eq!(tenants.iter().map(|t| (t.slug.as_str(), t.is_active)).collect::<Vec<_>>(), [("sleepy", false)]);
    Ok(())
}

#[test]
fn a_django_tenant_may_not_bring_another_slug_s_platform_address() -> TestResult {
    let world = World::new();
    let grab = taskforce_domain::LegacyTenant {
        domains: vec!["grab.example.com".into(), "nobody.localhost".into()],
        is_active: true,
        ..inactive_legacy("grab")
    };
    let platform = taskforce_domain::LegacyPlatform { tenants: vec![grab], accounts: Vec::new() };

    let report = world.admin().import_legacy(&platform, &to(&host("localhost")?, None), &mut |_| {})?;

    assert!(
        matches!(&report[0].outcome, crate::LegacyOutcome::Refused(why)
            if why == "domain 'nobody.localhost': this platform's address for the slug 'nobody'"),
        "{report:?}"
    );
    assert!(world.store.snapshot().tenants.is_empty());
    Ok(())
}

/// A Django owner with a usable password.
fn legacy_ada() -> taskforce_domain::LegacyAccount {
    taskforce_domain::LegacyAccount {
        username: "ada".into(),
        email: "ada@example.com".into(),
        password_hash: "pbkdf2_sha256$1000$salt$digest".into(),
        role: "owner".into(),
        is_active: true,
        is_staff: false,
    }
}

#[test]
fn an_unknown_members_of_tenant_is_refused_before_any_account_is_made() -> TestResult {
    let world = World::new();
    let account = legacy_ada();
    let platform = taskforce_domain::LegacyPlatform { tenants: Vec::new(), accounts: vec![account] };
    let nowhere = Slug::parse("nowhere")?;
    let error = refused(world.admin().import_legacy(&platform, &to(&host("localhost")?, Some(&nowhere)), &mut |_| {}))?;
    assert!(matches!(&error, TenantAdminError::UnknownTenant(slug) if slug == "nowhere"), "{error:?}");
    assert!(world.store.snapshot().users.is_empty(), "an account was made");
    Ok(())
}

/// A `--members-of` tenant that comes from Django but cannot be made: the
/// report keeps the tenant's reason and says of each account why it was
/// not brought over (an error here hid the tenant's reason).
#[test]
fn a_members_of_tenant_that_could_not_be_imported_leaves_every_account_refused_with_its_reason() -> TestResult {
    let world = World::new();
    let broken = taskforce_domain::LegacyTenant {
        domains: vec!["nobody.localhost".into()],
        is_active: true,
        ..inactive_legacy("oldco")
    };
    let account = legacy_ada();
    let platform = taskforce_domain::LegacyPlatform { tenants: vec![broken], accounts: vec![account] };
    let oldco = Slug::parse("oldco")?;
    let report = world.admin().import_legacy(&platform, &to(&host("localhost")?, Some(&oldco)), &mut |_| {})?;
    assert!(
        matches!(&report[0].outcome, crate::LegacyOutcome::Refused(why) if why.contains("nobody.localhost")),
        "{report:?}"
    );
    assert!(
        matches!(&report[1].outcome, crate::LegacyOutcome::Refused(why) if why.contains("'oldco', was not imported")),
        "{report:?}"
    );
    assert!(world.store.snapshot().users.is_empty(), "an account was made");
    Ok(())
}

#[test]
fn a_django_account_comes_over_only_with_a_hash_its_hasher_reads() -> TestResult {
    let world = World::new();
    let account = |username: &str, password_hash: &str| taskforce_domain::LegacyAccount {
        username: username.into(),
        email: format!("{username}@example.com"),
        password_hash: password_hash.into(),
        role: "user".into(),
        is_active: true,
        is_staff: false,
    };
    let accounts = vec![account("ada", "hashed:pw"), account("bob", "md5$salt$digest"), account("cy", "!unusable")];
    let platform = taskforce_domain::LegacyPlatform { tenants: Vec::new(), accounts };

    let report = world.admin().import_legacy(&platform, &to(&host("localhost")?, None), &mut |_| {})?;

    assert_eq!(report[0].outcome, crate::LegacyOutcome::Imported);
    assert!(
        matches!(&report[1].outcome, crate::LegacyOutcome::Refused(why) if why.contains("Django's \"md5\"")),
        "{report:?}"
    );
    assert!(matches!(&report[2].outcome, crate::LegacyOutcome::Skipped(_)), "{report:?}");
    let users = world.store.snapshot().users;
    assert_eq!(users.iter().map(|u| u.user.username.as_str()).collect::<Vec<_>>(), ["ada"]);
    Ok(())
}

/// Someone who registered a Django user's name and address here first (the
/// address is typed, never proven) is not taken for that user: no role,
/// and the report says why. An account an operator made, or one imported
/// before, is.
#[test]
fn an_account_that_registered_itself_with_a_django_user_s_name_is_not_that_user() -> TestResult {
    let world = World::new();
    let acme = world.tenant("acme", Plan::Basic)?;
    let legacy = |username: &str, password_hash: &str| taskforce_domain::LegacyAccount {
        username: username.into(),
        email: format!("{username}@example.com"),
        password_hash: password_hash.into(),
        role: "owner".into(),
        is_active: true,
        is_staff: false,
    };
    // the squatter signs up a tenant of their own with the victim's name and address
    world.registration()?.signup(
        &crate::SignupInput {
            tenant_name: "Squat".into(),
            slug: "squat".into(),
            username: "victim".into(),
            email: "victim@example.com".into(),
            password: crate::testing::PASSWORD.into(),
            password_confirm: crate::testing::PASSWORD.into(),
        },
        None,
    )?;
    // an operator made this one
    world.user("olga")?;
    let platform = taskforce_domain::LegacyPlatform {
        tenants: Vec::new(),
        accounts: vec![legacy("victim", "hashed:django-pw"), legacy("olga", "hashed:other-pw")],
    };

    let report = world.admin().import_legacy(&platform, &to(&host("localhost")?, Some(&acme.slug)), &mut |_| {})?;

    assert!(
        matches!(&report[0].outcome, crate::LegacyOutcome::Refused(why) if why.contains("registered itself")),
        "{report:?}"
    );
    assert!(matches!(&report[1].outcome, crate::LegacyOutcome::Skipped(_)), "{report:?}");
    let state = world.store.snapshot();
    let members: Vec<(&str, Role)> = state
        .memberships
        .iter()
        .filter(|m| m.tenant_id == acme.id)
        .filter_map(|m| state.users.iter().find(|u| u.user.id == m.user_id).map(|u| (u.user.username.as_str(), m.role)))
        .collect();
    assert_eq!(members, [("olga", Role::Owner)], "the squatter got no role in acme");
    Ok(())
}

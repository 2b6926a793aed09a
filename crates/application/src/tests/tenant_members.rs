//! [`TenantMembers`]: role changes, removals and invitations, as a tenant's
//! owners and admins make them.

use taskforce_domain::{Email, Membership, Plan, Role, TargetType, Tenant, Verb};

use crate::{
    MembersError,
    testing::{TestResult, World, refused},
};

/// `acme` on the basic plan with the owner `olga`, the admin `adam` and the
/// member `mia`.
struct Team {
    tenant: Tenant,
    olga: Membership,
    adam: Membership,
    mia: Membership,
}

fn team(world: &World) -> TestResult<Team> {
    let tenant = world.tenant("acme", Plan::Basic)?;
    Ok(Team {
        olga: world.member(&tenant, "olga", Role::Owner)?,
        adam: world.member(&tenant, "adam", Role::Admin)?,
        mia: world.member(&tenant, "mia", Role::Member)?,
        tenant,
    })
}

/// The role each membership has now, by user name.
fn roles(world: &World, tenant: &Tenant) -> TestResult<Vec<(String, Role)>> {
    let members = world.admin().members(&tenant.slug)?;
    Ok(members.into_iter().map(|m| (m.username.to_string(), m.membership.role)).collect())
}

fn expected(roles: &[(&str, Role)]) -> Vec<(String, Role)> {
    roles.iter().map(|(name, role)| ((*name).to_owned(), *role)).collect()
}

#[test]
fn an_admin_can_neither_touch_an_owner_nor_grant_owner() -> TestResult {
    let world = World::new();
    let team = team(&world)?;
    let adam = world.sign_in(&team.tenant, "adam")?;
    let members = world.members();

    let demote_owner = refused(members.change_role(&adam, team.olga.id, Role::Member, None))?;
    let grant_owner = refused(members.change_role(&adam, team.mia.id, Role::Owner, None))?;
    let remove_owner = refused(members.remove(&adam, team.olga.id, None))?;

    for error in [demote_owner, grant_owner, remove_owner] {
        assert!(matches!(error, MembersError::Denied(_)), "{error:?}");
    }
    assert_eq!(
        roles(&world, &team.tenant)?,
        expected(&[("olga", Role::Owner), ("adam", Role::Admin), ("mia", Role::Member)])
    );
    // what admins may do
    let promoted = members.change_role(&adam, team.mia.id, Role::Admin, None)?;
    assert_eq!((promoted.username.as_str(), promoted.membership.role), ("mia", Role::Admin));
    Ok(())
}

#[test]
fn the_last_owner_can_be_neither_demoted_nor_removed() -> TestResult {
    let world = World::new();
    let team = team(&world)?;
    let olga = world.sign_in(&team.tenant, "olga")?;
    let members = world.members();

    let demoted = refused(members.change_role(&olga, team.olga.id, Role::Admin, None))?;
    let removed = refused(members.remove(&olga, team.olga.id, None))?;

    assert!(matches!(demoted, MembersError::LastOwner), "{demoted:?}");
    assert!(matches!(removed, MembersError::LastOwner), "{removed:?}");
    assert_eq!(roles(&world, &team.tenant)?[0], ("olga".to_owned(), Role::Owner));

    // with a second owner, the first may step down
    members.change_role(&olga, team.adam.id, Role::Owner, None)?;
    members.change_role(&olga, team.olga.id, Role::Admin, None)?;
    assert_eq!(
        roles(&world, &team.tenant)?,
        expected(&[("olga", Role::Admin), ("adam", Role::Owner), ("mia", Role::Member)])
    );
    Ok(())
}

#[test]
fn a_member_can_leave_but_not_remove_others() -> TestResult {
    let world = World::new();
    let team = team(&world)?;
    let mia = world.sign_in(&team.tenant, "mia")?;
    let members = world.members();

    let error = refused(members.remove(&mia, team.adam.id, None))?;
    members.remove(&mia, team.mia.id, None)?;

    assert!(matches!(error, MembersError::Denied(_)), "{error:?}");
    assert_eq!(roles(&world, &team.tenant)?, expected(&[("olga", Role::Owner), ("adam", Role::Admin)]));
    let gone = refused(members.remove(&mia, team.mia.id, None))?;
    assert!(matches!(gone, MembersError::NotFound), "{gone:?}");
    Ok(())
}

#[test]
fn a_member_of_another_tenant_is_not_found() -> TestResult {
    let world = World::new();
    let team = team(&world)?;
    let globex = world.tenant("globex", Plan::Basic)?;
    let stranger = world.member(&globex, "sam", Role::Member)?;
    let olga = world.sign_in(&team.tenant, "olga")?;

    let error = refused(world.members().change_role(&olga, stranger.id, Role::Viewer, None))?;

    assert!(matches!(error, MembersError::NotFound), "{error:?}");
    assert_eq!(roles(&world, &globex)?, expected(&[("sam", Role::Member)]));
    Ok(())
}

#[test]
fn role_changes_and_removals_are_logged_with_old_and_new_role() -> TestResult {
    let world = World::new();
    let team = team(&world)?;
    let olga = world.sign_in(&team.tenant, "olga")?;
    let members = world.members();
    let logged_before = world.store.snapshot().activity(&team.tenant.schema_name).len();

    members.change_role(&olga, team.mia.id, Role::Admin, None)?;
    members.remove(&olga, team.mia.id, None)?;

    let state = world.store.snapshot();
    let log = &state.activity(&team.tenant.schema_name)[logged_before..];
    let summary: Vec<_> = log.iter().map(|a| (a.actor, a.verb, a.target_type, a.target_id)).collect();
    assert_eq!(
        summary,
        [
            (olga.user, Verb::Updated, TargetType::Membership, team.mia.id.0),
            (olga.user, Verb::Deleted, TargetType::Membership, team.mia.id.0),
        ]
    );
    assert_eq!(serde_json::Value::Object(log[0].changes.clone()), serde_json::json!({"role": ["member", "admin"]}));
    assert_eq!(
        serde_json::Value::Object(log[1].changes.clone()),
        serde_json::json!({"role": ["admin", null], "user_id": [team.mia.user_id.0, null]})
    );
    Ok(())
}

#[test]
fn a_refused_change_is_not_logged() -> TestResult {
    let world = World::new();
    let team = team(&world)?;
    let olga = world.sign_in(&team.tenant, "olga")?;
    let logged_before = world.store.snapshot().activity(&team.tenant.schema_name).len();

    refused(world.members().remove(&olga, team.olga.id, None))?;

    assert_eq!(world.store.snapshot().activity(&team.tenant.schema_name).len(), logged_before);
    Ok(())
}

#[test]
fn an_invitation_is_stored_as_a_digest_and_its_token_mailed() -> TestResult {
    let world = World::new();
    let team = team(&world)?;
    let olga = world.sign_in(&team.tenant, "olga")?;

    let issued = world.members().invite(&olga, Email::parse("carol@example.com")?, Role::Viewer)?;

    assert_eq!((issued.invitation.role, issued.invitation.invited_by), (Role::Viewer, olga.user));
    assert_eq!(issued.invitation.expires_at, world.now() + world.config.invitation_ttl);
    let state = world.store.snapshot();
    let stored = state.invitations.first().ok_or("no invitation")?;
    assert_eq!(stored.token_digest, format!("d:{}", issued.token), "only the digest is stored");
    let mails = world.mailer.sent();
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].to.as_str(), "carol@example.com");
    assert!(mails[0].body.contains(&issued.token), "{}", mails[0].body);
    Ok(())
}

/// The ids of the invitations pending now.
fn pending_invitations(world: &World) -> Vec<taskforce_domain::InvitationId> {
    let state = world.store.snapshot();
    state.invitations.iter().filter(|i| i.invitation.is_pending(world.now())).map(|i| i.invitation.id).collect()
}

/// `tiny` on the free plan (3 seats) with its owner `olga`, signed in.
fn tiny(world: &World) -> TestResult<(Tenant, crate::Actor)> {
    let tenant = world.tenant("tiny", Plan::Free)?;
    world.member(&tenant, "olga", Role::Owner)?;
    let olga = world.sign_in(&tenant, "olga")?;
    Ok((tenant, olga))
}

/// On the free plan (3 seats) with two members: the same address invited
/// again (in any case) replaces its invitation rather than asking for a
/// second seat, and the first invitation stops being pending.
#[test]
fn inviting_an_address_again_replaces_its_pending_invitation() -> TestResult {
    let world = World::new();
    let (tenant, olga) = tiny(&world)?;
    world.member(&tenant, "mia", Role::Member)?;
    let members = world.members();

    let first = members.invite(&olga, Email::parse("carol@example.com")?, Role::Viewer)?;
    let again = members.invite(&olga, Email::parse("Carol@example.com")?, Role::Member)?;
    let refused = refused(members.invite(&olga, Email::parse("dan@example.com")?, Role::Member))?;

    assert!(matches!(refused, MembersError::PlanLimit { .. }), "the tenant is full: {refused:?}");
    let pending = pending_invitations(&world);
    assert_eq!(pending, [again.invitation.id], "the first ({:?}) was withdrawn", first.invitation.id);
    Ok(())
}

/// On the free plan (3 seats): an invitation to someone who then joins
/// another way stops taking a seat of its own, so the seat they left is free.
#[test]
fn an_invitation_to_someone_who_joined_otherwise_takes_no_seat() -> TestResult {
    let world = World::new();
    let (tenant, olga) = tiny(&world)?;
    let members = world.members();
    members.invite(&olga, Email::parse("carol@example.com")?, Role::Member)?;
    world.member(&tenant, "carol", Role::Viewer)?;

    members.invite(&olga, Email::parse("dan@example.com")?, Role::Member)?;
    let refused = refused(members.invite(&olga, Email::parse("erin@example.com")?, Role::Member))?;

    assert!(matches!(refused, MembersError::PlanLimit { .. }), "olga, carol and dan's invitation: {refused:?}");
    Ok(())
}

/// An admin may invite members but not owners, so resending to an address
/// an owner invited as owner would end an invitation the admin could not
/// have sent: refused, and the owner's invitation stays pending.
#[test]
fn an_admin_cannot_replace_an_owner_s_invitation_of_an_owner() -> TestResult {
    let world = World::new();
    let team = team(&world)?;
    let (olga, adam) = (world.sign_in(&team.tenant, "olga")?, world.sign_in(&team.tenant, "adam")?);
    let members = world.members();
    let boss = members.invite(&olga, Email::parse("boss@example.com")?, Role::Owner)?;

    let refused = refused(members.invite(&adam, Email::parse("BOSS@example.com")?, Role::Member))?;

    assert!(matches!(refused, MembersError::Denied(_)), "{refused:?}");
    let pending = pending_invitations(&world);
    assert_eq!(pending, [boss.invitation.id]);
    // the owner may replace it
    let again = members.invite(&olga, Email::parse("boss@example.com")?, Role::Admin)?;
    assert_eq!(again.invitation.role, Role::Admin);
    Ok(())
}

#[test]
fn an_invitation_stands_when_its_mail_fails() -> TestResult {
    let world = World::new();
    let team = team(&world)?;
    let olga = world.sign_in(&team.tenant, "olga")?;
    world.mailer.break_down();

    let issued = world.members().invite(&olga, Email::parse("carol@example.com")?, Role::Member)?;

    assert!(world.mailer.sent().is_empty());
    assert_eq!(world.store.snapshot().invitations.first().map(|i| i.invitation.id), Some(issued.invitation.id));
    Ok(())
}

#[test]
fn inviting_is_for_owners_and_admins_and_only_owners_invite_owners() -> TestResult {
    let world = World::new();
    let team = team(&world)?;
    let members = world.members();
    let carol = Email::parse("carol@example.com")?;

    let by_member = refused(members.invite(&world.sign_in(&team.tenant, "mia")?, carol.clone(), Role::Viewer))?;
    let owner_by_admin = refused(members.invite(&world.sign_in(&team.tenant, "adam")?, carol.clone(), Role::Owner))?;
    members.invite(&world.sign_in(&team.tenant, "olga")?, carol, Role::Owner)?;

    for error in [by_member, owner_by_admin] {
        assert!(matches!(error, MembersError::Denied(_)), "{error:?}");
    }
    assert_eq!(world.store.snapshot().invitations.len(), 1);
    Ok(())
}

#[test]
fn inviting_a_member_is_a_field_error() -> TestResult {
    let world = World::new();
    let team = team(&world)?;
    let olga = world.sign_in(&team.tenant, "olga")?;

    let error = refused(world.members().invite(&olga, Email::parse("MIA@example.com")?, Role::Admin))?;

    assert!(matches!(&error, MembersError::Invalid(fields) if fields.fields().contains_key("email")), "{error:?}");
    assert!(world.store.snapshot().invitations.is_empty());
    assert!(world.mailer.sent().is_empty());
    Ok(())
}

#[test]
fn inviting_past_the_plan_limit_is_plan_limit() -> TestResult {
    let world = World::new();
    let tenant = world.tenant("acme", Plan::Free)?; // 3 members, pending invitations included
    world.member(&tenant, "olga", Role::Owner)?;
    world.member(&tenant, "ada", Role::Member)?;
    let olga = world.sign_in(&tenant, "olga")?;
    let members = world.members();
    members.invite(&olga, Email::parse("carol@example.com")?, Role::Member)?;

    let error = refused(members.invite(&olga, Email::parse("dave@example.com")?, Role::Member))?;

    assert!(matches!(error, MembersError::PlanLimit { limit: 3 }), "{error:?}");
    assert_eq!(world.store.snapshot().invitations.len(), 1, "nothing stored for the refused one");
    assert_eq!(world.mailer.sent().len(), 1, "and nothing mailed");
    assert_eq!(members.overview(&olga)?.members, 3, "two members and one pending invitation");
    Ok(())
}

#[test]
fn a_removal_ends_the_member_s_sessions_there_and_drops_them_from_the_cache() -> TestResult {
    use std::sync::Arc;

    use taskforce_domain::{AccessGrant, HostName, StoreExt};

    use crate::{AccessCache, CacheTtl, testing::FakeCache};

    let world = World::new();
    let team = team(&world)?;
    let globex = world.tenant("globex", Plan::Basic)?;
    world.admin().add_member(&globex.slug, &taskforce_domain::Username::parse("mia")?, Role::Member)?;
    let (olga, mia, mia_elsewhere) =
        (world.sign_in(&team.tenant, "olga")?, world.sign_in(&team.tenant, "mia")?, world.sign_in(&globex, "mia")?);
    // both of mia's sessions known alive to the cache, as admission leaves them
    let cache = AccessCache::new(Arc::new(FakeCache::default()), CacheTtl::default());
    let grant = AccessGrant { role: Role::Member, user_active: true, session_revoked: false };
    for actor in [&mia, &mia_elsewhere] {
        cache.put_access(actor.tenant.id, actor.user, actor.session, &grant);
    }
    let alive = |actor: &crate::Actor| -> TestResult<bool> {
        let host = HostName::parse(&format!("{}.localhost", actor.tenant.slug))?;
        Ok(cache.find(&host, Some((actor.tenant.id, actor.user, actor.session))).session_alive)
    };
    assert!(alive(&mia)? && alive(&mia_elsewhere)?);

    world.members().with_cache(cache.clone()).remove(&olga, team.mia.id, None)?;

    let revoked = |actor: &crate::Actor| -> TestResult<bool> {
        let state = world.store.platform(|tx| tx.sessions().lock(actor.session))?;
        Ok(state.ok_or("no session")?.revoked)
    };
    assert!(revoked(&mia)? && !alive(&mia)?, "acme's session ended, in the store and in the cache");
    assert!(!revoked(&mia_elsewhere)? && alive(&mia_elsewhere)?, "globex's session goes on");
    assert!(!revoked(&olga)?, "the remover's own session goes on");
    Ok(())
}

/// A request authenticated while its admin still was one acts on the role
/// committed when it takes the tenant's lock, not on the one it began with:
/// the demotion or removal it waited for wins (a removed admin's invitation
/// would let them back in under an account of their own).
#[test]
fn an_admin_demoted_or_removed_meanwhile_acts_with_the_role_committed_now() -> TestResult {
    let world = World::new();
    let team = team(&world)?;
    let olga = world.sign_in(&team.tenant, "olga")?;
    let adam = world.sign_in(&team.tenant, "adam")?;
    let members = world.members();
    let invited = members.invite(&olga, Email::parse("carol@example.com")?, Role::Member)?;

    // adam's request was authenticated as an admin; olga demotes him first
    members.change_role(&olga, team.adam.id, Role::Member, None)?;
    let attempts = [
        refused(members.invite(&adam, Email::parse("crony@example.com")?, Role::Admin)).map(drop),
        refused(members.change_role(&adam, team.mia.id, Role::Admin, None)).map(drop),
        refused(members.remove(&adam, team.mia.id, None)).map(drop),
        refused(members.withdraw_invitation(&adam, invited.invitation.id)).map(drop),
        refused(members.update_settings(&adam, Some(taskforce_domain::TenantName::parse("Mine")?), Some(true), None))
            .map(drop),
    ];
    assert!(attempts.iter().all(Result::is_ok), "every one refused: {attempts:?}");
    assert_eq!(
        roles(&world, &team.tenant)?,
        expected(&[("olga", Role::Owner), ("adam", Role::Member), ("mia", Role::Member)])
    );
    assert_eq!(pending_invitations(&world), [invited.invitation.id], "none made, none withdrawn");
    assert_eq!(members.overview(&olga)?.tenant.name, team.tenant.name, "the name is not changed");

    // removed after being made admin again: refused too, though the stale
    // actor's role would allow it
    members.change_role(&olga, team.adam.id, Role::Admin, None)?;
    let adam = world.sign_in(&team.tenant, "adam")?;
    members.remove(&olga, team.adam.id, None)?;
    let error = refused(members.invite(&adam, Email::parse("crony@example.com")?, Role::Member))?;
    assert!(matches!(error, MembersError::Denied(_)), "{error:?}");
    assert_eq!(pending_invitations(&world), [invited.invitation.id]);
    Ok(())
}

//! The tenant's settings, members, roles and invitations, as attacks and as
//! use.

use reqwest::Method;
use taskforce_domain::{Plan, Role, StoreExt as _, TenantId, UserId};
use taskforce_tests::{PASSWORD, TestApp, TestResult, answers, json, register_body, spawn_app};

/// How many invitations the platform holds, of every tenant, pending or not.
async fn invitations(app: &TestApp) -> Result<i64, Box<dyn std::error::Error>> {
    use diesel::{RunQueryDsl, dsl::sql, sql_types::BigInt};
    app.on_the_database(|conn| {
        diesel::select(sql::<BigInt>("(SELECT count(*) FROM public.invitations)")).get_result(conn)
    })
    .await
}

/// Inviting with `token` on acme is `403 permission_denied`: no mail goes
/// out and no invitation is stored.
async fn invitation_refused(app: &TestApp, token: &str, invite: serde_json::Value, who: &str) -> TestResult {
    let (status, body) = app.answer(Method::POST, "acme", token, "/api/tenants/members/", Some(invite)).await?;
    assert_eq!((status, body["error"]["code"].as_str()), (403, Some("permission_denied")), "{who}: {body}");
    assert!(app.mails()?.is_empty(), "{who}: the refused invitation was mailed");
    assert_eq!(invitations(app).await?, 0, "{who}: the refused invitation was stored");
    Ok(())
}

/// Invites `email` to acme as `role` with `token`; the invitation's token.
async fn invited(app: &TestApp, token: &str, email: &str, role: &str) -> Result<String, Box<dyn std::error::Error>> {
    let invite = serde_json::json!({"email": email, "role": role});
    let (status, body) = app.answer(Method::POST, "acme", token, "/api/tenants/members/", Some(invite)).await?;
    match (status, body["token"].as_str()) {
        (201, Some(token)) => Ok(token.to_owned()),
        _ => Err(format!("invitation of {email}: {status} {body}").into()),
    }
}

/// A new account's registration body, with an invitation token.
fn invited_register_body(username: &str, token: &serde_json::Value) -> serde_json::Value {
    let mut body = register_body(username);
    body["invitation_token"] = token.clone();
    body
}

#[tokio::test]
async fn tenant_settings_change_only_name_and_signup_whatever_the_body_says() -> TestResult {
    let app = spawn_app().await?;
    app.create_tenant("acme", Plan::Free, false).await?;
    app.member("acme", "olga", Role::Owner).await?;
    let owner = app.login("acme", "olga").await?;
    let (status, before) = json(app.get_as("acme", &owner.access, "/api/tenants/me/").send().await?).await?;
    assert_eq!(status, 200);
    assert_eq!(before["limits"], serde_json::json!({"projects": 1, "tasks": 10, "members": 3}));
    assert_eq!(before["usage"], serde_json::json!({"projects": 0, "tasks": 0, "members": 1}));
    assert_eq!(before["domains"], serde_json::json!([{"domain": "acme.localhost", "is_primary": true}]));
    let attack = serde_json::json!({"name": "Acme Ltd", "allow_signup": true, "plan": "enterprise", "slug": "evil", "is_active": false, "id": 999, "tenant_id": 999});
    let (status, after) =
        json(app.call_as(Method::PATCH, "acme", &owner.access, "/api/tenants/me/").json(&attack).send().await?).await?;
    assert_eq!(status, 200, "{after}");
    assert_eq!((after["name"].as_str(), after["allow_signup"].as_bool()), (Some("Acme Ltd"), Some(true)));
    assert_eq!(
        (after["plan"].as_str(), after["slug"].as_str(), after["is_active"].as_bool(), &after["id"]),
        (Some("free"), Some("acme"), Some(true), &before["id"])
    );
    // PUT needs the name
    let (status, body) = json(
        app.call_as(Method::PUT, "acme", &owner.access, "/api/tenants/me/")
            .json(&serde_json::json!({"allow_signup": false}))
            .send()
            .await?,
    )
    .await?;
    assert_eq!((status, body["error"]["fields"]["name"][0].as_str()), (400, Some("This field is required.")));
    Ok(())
}

#[tokio::test]
async fn members_cannot_change_settings_or_members() -> TestResult {
    let app = spawn_app().await?;
    app.create_tenant("acme", Plan::Basic, false).await?;
    app.member("acme", "olga", Role::Owner).await?;
    app.member("acme", "mia", Role::Member).await?;
    app.member("acme", "vic", Role::Viewer).await?;
    for user in ["mia", "vic"] {
        let session = app.login("acme", user).await?;
        let (status, body) = json(
            app.call_as(Method::PATCH, "acme", &session.access, "/api/tenants/me/")
                .json(&serde_json::json!({"name": "Mine"}))
                .send()
                .await?,
        )
        .await?;
        assert_eq!((status, body["error"]["code"].as_str()), (403, Some("permission_denied")), "{user}");
        let invite = serde_json::json!({"email": "x@example.com", "role": "member"});
        invitation_refused(&app, &session.access, invite, user).await?;
        // but they may list members
        let (status, list) = json(app.get_as("acme", &session.access, "/api/tenants/members/").send().await?).await?;
        assert_eq!(status, 200);
        assert_eq!(list["count"], 3);
        let names: Vec<&str> =
            list["results"].as_array().ok_or("no results")?.iter().filter_map(|m| m["username"].as_str()).collect();
        assert_eq!(names, vec!["olga", "mia", "vic"]);
        assert!(!list.to_string().contains("argon2"));
    }
    Ok(())
}

#[tokio::test]
async fn a_removed_member_and_a_demoted_admin_lose_their_rights_on_the_next_request() -> TestResult {
    let app = spawn_app().await?;
    app.create_tenant("acme", Plan::Basic, false).await?;
    app.member("acme", "olga", Role::Owner).await?;
    app.member("acme", "adam", Role::Admin).await?;
    app.member("acme", "mia", Role::Member).await?;
    let owner = app.login("acme", "olga").await?;
    let admin = app.login("acme", "adam").await?;
    let member = app.login("acme", "mia").await?;
    let ids = app.membership_ids("acme", &owner.access).await?;
    let (adam, mia) = (ids["adam"], ids["mia"]);

    // the admin can change settings now …
    let rename = serde_json::json!({"name": "By Adam"});
    assert_eq!(
        app.call_as(Method::PATCH, "acme", &admin.access, "/api/tenants/me/")
            .json(&rename)
            .send()
            .await?
            .status()
            .as_u16(),
        200
    );
    // … is demoted by the owner …
    let (status, changed) = json(
        app.call_as(Method::PATCH, "acme", &owner.access, &format!("/api/tenants/members/{adam}/"))
            .json(&serde_json::json!({"role": "member"}))
            .send()
            .await?,
    )
    .await?;
    assert_eq!((status, changed["role"].as_str()), (200, Some("member")));
    // … and is refused at once, with the same unexpired token
    let (status, body) =
        json(app.call_as(Method::PATCH, "acme", &admin.access, "/api/tenants/me/").json(&rename).send().await?).await?;
    assert_eq!((status, body["error"]["code"].as_str()), (403, Some("permission_denied")));

    // a removed member's token stops working on the next request
    assert_eq!(app.get_as("acme", &member.access, "/api/auth/me/").send().await?.status().as_u16(), 200);
    let removed =
        app.call_as(Method::DELETE, "acme", &owner.access, &format!("/api/tenants/members/{mia}/")).send().await?;
    assert_eq!(removed.status().as_u16(), 204);
    let (status, body) = json(app.get_as("acme", &member.access, "/api/auth/me/").send().await?).await?;
    assert_eq!((status, body["error"]["code"].as_str()), (401, Some("token_invalid")));
    let refresh_of = |session: &taskforce_tests::Session| {
        app.post("acme.localhost", "/api/auth/token/refresh/")
            .json(&serde_json::json!({"refresh": session.refresh}))
            .send()
    };
    let (status, _) = json(refresh_of(&member).await?).await?;
    assert_eq!(status, 401);

    // added back, she needs a new login: the tokens of before the removal
    // stay dead, access and refresh alike (a leaked one does not come back)
    app.add_member("acme", "mia", Role::Member).await?;
    let (status, body) = json(app.get_as("acme", &member.access, "/api/auth/me/").send().await?).await?;
    assert_eq!((status, body["error"]["code"].as_str()), (401, Some("token_invalid")), "{body}");
    let (status, body) = json(refresh_of(&member).await?).await?;
    assert_eq!((status, body["error"]["code"].as_str()), (401, Some("token_invalid")), "{body}");
    let again = app.login("acme", "mia").await?;
    let (status, me) = json(app.get_as("acme", &again.access, "/api/auth/me/").send().await?).await?;
    assert_eq!((status, me["username"].as_str()), (200, Some("mia")));
    Ok(())
}

#[tokio::test]
async fn a_removal_ends_the_member_s_sessions_on_that_tenant_only() -> TestResult {
    let app = spawn_app().await?;
    for slug in ["acme", "globex"] {
        app.create_tenant(slug, Plan::Basic, false).await?;
    }
    app.member("acme", "olga", Role::Owner).await?;
    app.member("acme", "mia", Role::Member).await?;
    app.add_member("globex", "mia", Role::Member).await?;
    let owner = app.login("acme", "olga").await?;
    let (on_acme, on_globex) = (app.login("acme", "mia").await?, app.login("globex", "mia").await?);
    let mia = app.membership_ids("acme", &owner.access).await?["mia"];
    let removed =
        app.call_as(Method::DELETE, "acme", &owner.access, &format!("/api/tenants/members/{mia}/")).send().await?;
    assert_eq!(removed.status().as_u16(), 204);

    // what the store holds: acme's session ended as a removal, globex's lives
    let ended: Vec<(String, Option<String>)> = app
        .on_the_database(|conn| {
            use diesel::{RunQueryDsl, sql_query};
            #[derive(diesel::QueryableByName)]
            struct Row {
                #[diesel(sql_type = diesel::sql_types::Text)]
                slug: String,
                #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
                reason: Option<String>,
            }
            sql_query(
                "SELECT t.slug, f.revoked_reason::text AS reason FROM public.refresh_families f
                   JOIN public.tenants t ON t.id = f.tenant_id JOIN public.users u ON u.id = f.user_id
                  WHERE u.username = 'mia' ORDER BY t.slug",
            )
            .load::<Row>(conn)
            .map(|rows| rows.into_iter().map(|r| (r.slug, r.reason)).collect())
        })
        .await?;
    assert_eq!(ended, [("acme".to_owned(), Some("removed".to_owned())), ("globex".to_owned(), None)]);
    let (status, _) = json(app.get_as("acme", &on_acme.access, "/api/auth/me/").send().await?).await?;
    assert_eq!(status, 401);
    let (status, me) = json(app.get_as("globex", &on_globex.access, "/api/auth/me/").send().await?).await?;
    assert_eq!((status, me["username"].as_str()), (200, Some("mia")));
    let (status, _) = json(
        app.post("globex.localhost", "/api/auth/token/refresh/")
            .json(&serde_json::json!({"refresh": on_globex.refresh}))
            .send()
            .await?,
    )
    .await?;
    assert_eq!(status, 200, "the other tenant's session goes on");
    Ok(())
}

#[tokio::test]
async fn admins_never_touch_owners_and_the_last_owner_stays() -> TestResult {
    let app = spawn_app().await?;
    app.create_tenant("acme", Plan::Basic, false).await?;
    app.member("acme", "olga", Role::Owner).await?;
    app.member("acme", "adam", Role::Admin).await?;
    app.member("acme", "mia", Role::Member).await?;
    let owner = app.login("acme", "olga").await?;
    let admin = app.login("acme", "adam").await?;
    let ids = app.membership_ids("acme", &owner.access).await?;
    let (olga, mia) = (ids["olga"], ids["mia"]);

    let attempts =
        [(Method::PATCH, olga, Some("member")), (Method::DELETE, olga, None), (Method::PATCH, mia, Some("owner"))];
    for (method, id, role) in attempts {
        let mut request = app.call_as(method.clone(), "acme", &admin.access, &format!("/api/tenants/members/{id}/"));
        if let Some(role) = role {
            request = request.json(&serde_json::json!({"role": role}));
        }
        let (status, body) = json(request.send().await?).await?;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (403, Some("permission_denied")),
            "{method} {id} {role:?}"
        );
    }
    // the refusals changed no role
    let (_, members) = json(app.get_as("acme", &owner.access, "/api/tenants/members/").send().await?).await?;
    let roles: std::collections::BTreeMap<&str, &str> = members["results"]
        .as_array()
        .ok_or("results")?
        .iter()
        .filter_map(|m| Some((m["username"].as_str()?, m["role"].as_str()?)))
        .collect();
    assert_eq!(roles, [("adam", "admin"), ("mia", "member"), ("olga", "owner")].into(), "{members}");
    let invite = serde_json::json!({"email": "boss@example.com", "role": "owner"});
    invitation_refused(&app, &admin.access, invite, "an admin inviting an owner").await?;
    let (_, overview) = json(app.get_as("acme", &owner.access, "/api/tenants/me/").send().await?).await?;
    assert_eq!(overview["usage"]["members"], 3, "members plus pending invitations: {overview}");
    // the last owner can neither leave nor be demoted
    let (status, body) = json(
        app.call_as(Method::PATCH, "acme", &owner.access, &format!("/api/tenants/members/{olga}/"))
            .json(&serde_json::json!({"role": "admin"}))
            .send()
            .await?,
    )
    .await?;
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("conflict")));
    let (status, body) = json(
        app.call_as(Method::DELETE, "acme", &owner.access, &format!("/api/tenants/members/{olga}/")).send().await?,
    )
    .await?;
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("conflict")), "the last owner leaving");
    let (_, me) = json(app.get_as("acme", &owner.access, "/api/auth/me/").send().await?).await?;
    assert_eq!(me["role"], "owner");
    // a bad role is a field error, an unknown member 404
    let (status, body) = json(
        app.call_as(Method::PATCH, "acme", &owner.access, &format!("/api/tenants/members/{mia}/"))
            .json(&serde_json::json!({"role": "god"}))
            .send()
            .await?,
    )
    .await?;
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("validation_failed")));
    let (status, body) = json(
        app.call_as(Method::PATCH, "acme", &owner.access, "/api/tenants/members/999999/")
            .json(&serde_json::json!({"role": "viewer"}))
            .send()
            .await?,
    )
    .await?;
    assert_eq!((status, body["error"]["code"].as_str()), (404, Some("not_found")));
    Ok(())
}

#[tokio::test]
async fn invitations_are_mailed_accepted_and_count_toward_the_member_limit() -> TestResult {
    let app = spawn_app().await?;
    app.create_tenant("acme", Plan::Free, false).await?;
    app.member("acme", "olga", Role::Owner).await?;
    app.create_user("existing").await?;
    let owner = app.login("acme", "olga").await?;
    let invite = |email: &str, role: &str| {
        app.call_as(Method::POST, "acme", &owner.access, "/api/tenants/members/")
            .json(&serde_json::json!({"email": email, "role": role}))
            .send()
    };
    // free plan: 3 members, pending invitations included
    let (status, first) = json(invite("new@example.com", "viewer").await?).await?;
    assert_eq!(status, 201, "{first}");
    assert_eq!((first["email"].as_str(), first["role"].as_str()), (Some("new@example.com"), Some("viewer")));
    let token = first["token"].as_str().ok_or("no token")?.to_owned();
    let (status, second) = json(invite("existing@example.com", "admin").await?).await?;
    assert_eq!(status, 201);
    let (status, third) = json(invite("third@example.com", "member").await?).await?;
    assert_eq!(status, 403, "{third}");
    assert_eq!(third["error"]["code"], "plan_limit_exceeded");
    assert_eq!((third["error"]["resource"].as_str(), third["error"]["limit"].as_u64()), (Some("members"), Some(3)));

    // the token was mailed
    let mails = app.mails()?;
    assert_eq!(mails.len(), 2);
    assert!(mails.iter().any(|m| m.contains("To: new@example.com") && m.contains(&token)));

    // a new user registers with it on a closed tenant, and gets its role
    let register = serde_json::json!({"username": "newbie", "email": "new@example.com", "password": "Sturdy-passphrase-42", "password_confirm": "Sturdy-passphrase-42", "invitation_token": token});
    let (status, created) =
        json(app.post("acme.localhost", "/api/auth/register/").json(&register).send().await?).await?;
    assert_eq!(status, 201, "{created}");
    let (_, me) =
        json(app.get_as("acme", created["access_token"].as_str().ok_or("token")?, "/api/auth/me/").send().await?)
            .await?;
    assert_eq!(me["role"], "viewer");
    // the token is single use
    let mut again = register.clone();
    again["username"] = "newbie2".into();
    let (status, body) = json(app.post("acme.localhost", "/api/auth/register/").json(&again).send().await?).await?;
    assert_eq!(
        (status, body["error"]["fields"]["invitation_token"][0].as_str()),
        (400, Some("This invitation is invalid or has expired."))
    );

    // an existing account accepts its invitation with its credentials
    let accept = serde_json::json!({"token": second["token"], "username": "existing", "password": PASSWORD});
    let (status, accepted) =
        json(app.post("acme.localhost", "/api/invitations/accept/").json(&accept).send().await?).await?;
    assert_eq!(status, 200, "{accepted}");
    let (_, me) =
        json(app.get_as("acme", accepted["access_token"].as_str().ok_or("token")?, "/api/auth/me/").send().await?)
            .await?;
    assert_eq!((me["username"].as_str(), me["role"].as_str()), (Some("existing"), Some("admin")));
    let (_, overview) = json(app.get_as("acme", &owner.access, "/api/tenants/me/").send().await?).await?;
    assert_eq!(overview["usage"]["members"], 3);
    Ok(())
}

/// An invitation is for the address it was sent to, and is spent once
/// however many race for it: another person's account cannot accept it, a
/// registration under another address cannot use it, and of eight
/// simultaneous accepts (or registrations) exactly one gets in.
#[tokio::test]
async fn an_invitation_serves_its_addressee_once_whoever_races_for_it() -> TestResult {
    let app = spawn_app().await?;
    app.create_tenant("acme", Plan::Basic, false).await?;
    let [owner] = app.signed_in("acme", [("olga", Role::Owner)]).await?;
    app.create_user("existing").await?;
    app.create_user("stranger").await?;
    let (app, owner) = (&app, &owner);
    let invite = |email: &'static str| invited(app, &owner.access, email, "admin");
    let accept = |token: &str, username: &str| {
        app.post("acme.localhost", "/api/invitations/accept/")
            .json(&serde_json::json!({"token": token, "username": username, "password": PASSWORD}))
            .send()
    };
    let register = |token: &str, username: &str, email: &str| {
        app.post("acme.localhost", "/api/auth/register/")
            .json(&serde_json::json!({"username": username, "email": email, "password": "Sturdy-passphrase-42",
                "password_confirm": "Sturdy-passphrase-42", "invitation_token": token}))
            .send()
    };
    let other_address = Some("This invitation was sent to another address.");

    let token = invite("existing@example.com").await?;
    let (status, body) = json(accept(&token, "stranger").await?).await?;
    assert_eq!((status, body["error"]["fields"]["token"][0].as_str()), (400, other_address), "{body}");
    let (status, body) = json(register(&token, "newcomer", "newcomer@example.com").await?).await?;
    assert_eq!((status, body["error"]["fields"]["email"][0].as_str()), (400, other_address), "{body}");
    assert!(app.store.read(|tx| tx.users().by_login("newcomer"))?.is_none(), "the refused registration stored nobody");
    let members = app.membership_ids("acme", &owner.access).await?;
    assert_eq!(members.keys().map(String::as_str).collect::<std::collections::BTreeSet<_>>(), ["olga"].into());

    // the refusals left it usable by its addressee, once, however many race
    // (as many as an account's login limit lets in at once)
    let accepted = answers((0..5).map(|_| accept(&token, "existing"))).await?;
    assert_eq!(accepted.iter().filter(|a| a.0 == 200).count(), 1, "{accepted:?}");
    for (status, body) in accepted.iter().filter(|a| a.0 != 200) {
        assert_eq!(
            (*status, body["error"]["fields"]["token"][0].as_str()),
            (400, Some("This invitation is invalid or has expired.")),
            "{body}"
        );
    }
    let fresh = invite("fresh@example.com").await?;
    let registered = answers((0..8).map(|i| register(&fresh, &format!("fresh{i}"), "fresh@example.com"))).await?;
    let won: Vec<&str> = registered.iter().filter(|a| a.0 == 201).filter_map(|a| a.1["username"].as_str()).collect();
    assert_eq!(won.len(), 1, "{registered:?}");
    assert!(registered.iter().all(|a| a.0 == 201 || a.0 == 400), "{registered:?}");
    let members = app.membership_ids("acme", &owner.access).await?;
    let mut expected = std::collections::BTreeSet::from(["existing", "olga"]);
    expected.extend(won.iter().copied());
    assert_eq!(members.keys().map(String::as_str).collect::<std::collections::BTreeSet<_>>(), expected);
    let (_, overview) = json(app.get_as("acme", &owner.access, "/api/tenants/me/").send().await?).await?;
    assert_eq!(overview["usage"]["members"], 3, "no invitation is left pending: {overview}");
    Ok(())
}

#[tokio::test]
async fn an_invitation_of_one_tenant_is_worthless_on_another() -> TestResult {
    let app = spawn_app().await?;
    app.create_tenant("alpha", Plan::Basic, false).await?;
    let beta = app.create_tenant("beta", Plan::Basic, false).await?;
    app.member("alpha", "olga", Role::Owner).await?;
    let owner = app.login("alpha", "olga").await?;
    let (_, invitation) = json(
        app.call_as(Method::POST, "alpha", &owner.access, "/api/tenants/members/")
            .json(&serde_json::json!({"email": "eve@example.com", "role": "admin"}))
            .send()
            .await?,
    )
    .await?;
    let register = serde_json::json!({"username": "eve", "email": "eve@example.com", "password": "Sturdy-passphrase-42", "password_confirm": "Sturdy-passphrase-42", "invitation_token": invitation["token"]});
    let (status, body) = json(app.post("beta.localhost", "/api/auth/register/").json(&register).send().await?).await?;
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("validation_failed")));

    // an existing account accepting alpha's invitation on beta's host
    let existing = UserId(app.create_user("existing").await?);
    let (status, invitation) = json(
        app.call_as(Method::POST, "alpha", &owner.access, "/api/tenants/members/")
            .json(&serde_json::json!({"email": "existing@example.com", "role": "admin"}))
            .send()
            .await?,
    )
    .await?;
    assert_eq!(status, 201, "{invitation}");
    let accept = serde_json::json!({"token": invitation["token"], "username": "existing", "password": PASSWORD});
    let (status, body) =
        json(app.post("beta.localhost", "/api/invitations/accept/").json(&accept).send().await?).await?;
    assert_eq!(
        (status, body["error"]["code"].as_str(), body["error"]["fields"]["token"][0].as_str()),
        (400, Some("validation_failed"), Some("This invitation is invalid or has expired.")),
        "{body}"
    );
    assert!(app.store.read(|tx| tx.memberships().find(beta.id, existing))?.is_none(), "existing joined beta");
    let login = serde_json::json!({"username": "existing", "password": PASSWORD});
    let (status, body) = json(app.post("beta.localhost", "/api/auth/login/").json(&login).send().await?).await?;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("invalid_credentials")),
        "existing on beta: {body}"
    );
    // the invitation was not used up: on alpha's host it works, with its role
    let (status, accepted) =
        json(app.post("alpha.localhost", "/api/invitations/accept/").json(&accept).send().await?).await?;
    assert_eq!(status, 200, "{accepted}");
    let (_, me) =
        json(app.get_as("alpha", accepted["access_token"].as_str().ok_or("token")?, "/api/auth/me/").send().await?)
            .await?;
    assert_eq!((me["username"].as_str(), me["role"].as_str()), (Some("existing"), Some("admin")));
    Ok(())
}

/// An invitation past its expiry is refused at registration (on
/// `invitation_token`) and on acceptance (on `token`, the field of that
/// body), and nobody joins. There is no clock to move: the expiry is set
/// in the past in the database.
#[tokio::test]
async fn an_expired_invitation_is_refused_on_register_and_on_accept() -> TestResult {
    let app = spawn_app().await?;
    let acme = app.create_tenant("acme", Plan::Basic, false).await?;
    app.member("acme", "olga", Role::Owner).await?;
    let existing = UserId(app.create_user("existing").await?);
    let owner = app.login("acme", "olga").await?;
    let mut tokens = Vec::new();
    for (email, role) in [("newbie@example.com", "member"), ("existing@example.com", "admin")] {
        let (status, invitation) = app
            .answer(
                Method::POST,
                "acme",
                &owner.access,
                "/api/tenants/members/",
                Some(serde_json::json!({"email": email, "role": role})),
            )
            .await?;
        assert_eq!(status, 201, "{invitation}");
        tokens.push(invitation["token"].clone());
    }
    let expire = |conn: &mut diesel::PgConnection| {
        use diesel::RunQueryDsl;
        diesel::sql_query("UPDATE public.invitations SET expires_at = now() - interval '1 minute'").execute(conn)
    };
    assert_eq!(app.on_the_database(expire).await?, 2);
    let message = Some("This invitation is invalid or has expired.");

    let (status, body) = json(
        app.post("acme.localhost", "/api/auth/register/")
            .json(&invited_register_body("newbie", &tokens[0]))
            .send()
            .await?,
    )
    .await?;
    assert_eq!(
        (status, body["error"]["code"].as_str(), body["error"]["fields"]["invitation_token"][0].as_str()),
        (400, Some("validation_failed"), message),
        "{body}"
    );
    assert!(app.store.read(|tx| tx.users().by_login("newbie"))?.is_none(), "the account was created");

    let accept = serde_json::json!({"token": tokens[1], "username": "existing", "password": PASSWORD});
    let (status, body) =
        json(app.post("acme.localhost", "/api/invitations/accept/").json(&accept).send().await?).await?;
    assert_eq!(
        (status, body["error"]["code"].as_str(), body["error"]["fields"]["token"][0].as_str()),
        (400, Some("validation_failed"), message),
        "{body}"
    );
    assert!(app.store.read(|tx| tx.memberships().find(acme.id, existing))?.is_none(), "existing joined");
    let names: Vec<String> = app.membership_ids("acme", &owner.access).await?.into_keys().collect();
    assert_eq!(names, vec!["olga"]);
    // expired invitations hold no place either
    let (_, overview) = json(app.get_as("acme", &owner.access, "/api/tenants/me/").send().await?).await?;
    assert_eq!(overview["usage"]["members"], 1, "{overview}");
    Ok(())
}

/// A role in the body of registration or acceptance is ignored: the new
/// member gets the invitation's role.
#[tokio::test]
async fn a_role_in_the_body_of_register_or_accept_is_ignored() -> TestResult {
    let app = spawn_app().await?;
    app.create_tenant("acme", Plan::Basic, false).await?;
    app.member("acme", "olga", Role::Owner).await?;
    app.create_user("existing").await?;
    let owner = app.login("acme", "olga").await?;
    let mut tokens = Vec::new();
    for (email, role) in [("newbie@example.com", "viewer"), ("existing@example.com", "member")] {
        let body = Some(serde_json::json!({"email": email, "role": role}));
        let (status, invitation) =
            app.answer(Method::POST, "acme", &owner.access, "/api/tenants/members/", body).await?;
        assert_eq!(status, 201, "{invitation}");
        tokens.push(invitation["token"].clone());
    }
    let mut register = invited_register_body("newbie", &tokens[0]);
    register["role"] = "owner".into();
    let (status, created) =
        json(app.post("acme.localhost", "/api/auth/register/").json(&register).send().await?).await?;
    assert_eq!(status, 201, "{created}");
    let accept = serde_json::json!({"token": tokens[1], "username": "existing", "password": PASSWORD, "role": "owner"});
    let (status, accepted) =
        json(app.post("acme.localhost", "/api/invitations/accept/").json(&accept).send().await?).await?;
    assert_eq!(status, 200, "{accepted}");
    for (answer, role) in [(&created, "viewer"), (&accepted, "member")] {
        let token = answer["access_token"].as_str().ok_or("token")?;
        let (status, me) = json(app.get_as("acme", token, "/api/auth/me/").send().await?).await?;
        assert_eq!((status, me["role"].as_str()), (200, Some(role)), "{me}");
    }
    let (_, list) = json(app.get_as("acme", &owner.access, "/api/tenants/members/").send().await?).await?;
    let roles: Vec<(&str, &str)> = list["results"]
        .as_array()
        .ok_or("results")?
        .iter()
        .filter_map(|m| Some((m["username"].as_str()?, m["role"].as_str()?)))
        .collect();
    assert_eq!(roles, vec![("olga", "owner"), ("newbie", "viewer"), ("existing", "member")]);
    Ok(())
}

/// `user_id` and `tenant_id` in a role change's body are ignored: the
/// membership keeps its member and its tenant.
#[tokio::test]
async fn a_role_change_never_moves_the_membership() -> TestResult {
    let app = spawn_app().await?;
    let alpha = app.create_tenant("alpha", Plan::Basic, false).await?;
    let beta = app.create_tenant("beta", Plan::Basic, false).await?;
    app.member("alpha", "ann", Role::Owner).await?;
    let amy = UserId(app.member("alpha", "amy", Role::Member).await?);
    let bob = UserId(app.member("beta", "bob", Role::Owner).await?);
    let (ann, bob_session) = (app.login("alpha", "ann").await?, app.login("beta", "bob").await?);
    let ids = app.membership_ids("alpha", &ann.access).await?;
    let beta_before = json(app.get_as("beta", &bob_session.access, "/api/tenants/members/").send().await?).await?;
    let attack = serde_json::json!({"role": "viewer", "user_id": bob.0, "tenant_id": beta.id.0, "id": ids["ann"]});
    let path = format!("/api/tenants/members/{}/", ids["amy"]);
    let (status, changed) = app.answer(Method::PATCH, "alpha", &ann.access, &path, Some(attack)).await?;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(
        (changed["id"].as_i64(), changed["user_id"].as_i64(), changed["username"].as_str(), changed["role"].as_str()),
        (Some(ids["amy"]), Some(amy.0), Some("amy"), Some("viewer"))
    );
    // as stored: amy is a viewer of alpha, and of nothing else; bob is untouched
    let found = |tenant: TenantId, user: UserId| {
        app.store.read(|tx| tx.memberships().find(tenant, user)).map(|m| m.map(|m| (m.id.0, m.role)))
    };
    assert_eq!(found(alpha.id, amy)?, Some((ids["amy"], Role::Viewer)));
    assert_eq!((found(beta.id, amy)?, found(alpha.id, bob)?), (None, None));
    assert_eq!(found(beta.id, bob)?.map(|m| m.1), Some(Role::Owner));
    assert_eq!(app.membership_ids("alpha", &ann.access).await?, ids, "alpha's memberships keep their ids");
    let beta_after = json(app.get_as("beta", &bob_session.access, "/api/tenants/members/").send().await?).await?;
    assert_eq!(beta_after, beta_before);
    Ok(())
}

/// Pending invitations count toward the member limit, and ten owners'
/// clicks at once cannot pass it: the tenant row is locked first.
#[tokio::test]
async fn ten_simultaneous_invitations_on_a_free_tenant_fill_it_exactly() -> TestResult {
    let app = spawn_app().await?;
    app.create_tenant("acme", Plan::Free, false).await?;
    app.member("acme", "olga", Role::Owner).await?;
    let owner = app.login("acme", "olga").await?;
    let requests = (0..10).map(|i| {
        app.call_as(Method::POST, "acme", &owner.access, "/api/tenants/members/")
            .json(&serde_json::json!({"email": format!("guest{i}@example.com"), "role": "member"}))
            .send()
    });
    let answers = answers(requests).await?;
    let invited: Vec<&str> = answers.iter().filter(|a| a.0 == 201).filter_map(|a| a.1["email"].as_str()).collect();
    assert_eq!(invited.len(), 2, "{answers:?}");
    assert!(
        answers.iter().filter(|a| a.0 != 201).all(|a| a.0 == 403
            && a.1["error"]["code"] == "plan_limit_exceeded"
            && a.1["error"]["resource"] == "members"),
        "{answers:?}"
    );
    let (_, overview) = json(app.get_as("acme", &owner.access, "/api/tenants/me/").send().await?).await?;
    assert_eq!((overview["usage"]["members"].as_u64(), overview["limits"]["members"].as_u64()), (Some(3), Some(3)));
    // only the two accepted invitations were mailed, each to its own address
    let mails = app.mails()?;
    assert_eq!(mails.len(), 2, "{mails:?}");
    for email in invited {
        assert!(mails.iter().any(|m| m.contains(&format!("To: {email}"))), "{email}");
    }
    Ok(())
}

/// Inviting an address again replaces its pending invitation (the first
/// token stops working) instead of taking a second seat, and an invitation
/// to someone who joined another way takes none either.
#[tokio::test]
async fn a_resent_invitation_replaces_the_first_and_takes_no_second_seat() -> TestResult {
    let app = spawn_app().await?;
    app.create_tenant("acme", Plan::Free, false).await?;
    let [owner] = app.signed_in("acme", [("olga", Role::Owner)]).await?;
    let (app, owner) = (&app, &owner);
    let invite = |email: &'static str, role: &'static str| invited(app, &owner.access, email, role);
    let seats = || async {
        let (_, overview) = json(app.get_as("acme", &owner.access, "/api/tenants/me/").send().await?).await?;
        overview["usage"]["members"].as_u64().ok_or_else(|| Box::<dyn std::error::Error>::from(overview.to_string()))
    };
    let first = invite("new@example.com", "viewer").await?;
    let second = invite("NEW@example.com", "member").await?;
    assert_eq!(seats().await?, 2, "the owner and one invitation");
    let third = invite("other@example.com", "member").await?;
    assert_eq!(seats().await?, 3);
    let mut register = register_body("newbie");
    register["email"] = "new@example.com".into();
    register["invitation_token"] = first.into();
    let (status, body) = json(app.post("acme.localhost", "/api/auth/register/").json(&register).send().await?).await?;
    assert_eq!(
        (status, body["error"]["fields"]["invitation_token"][0].as_str()),
        (400, Some("This invitation is invalid or has expired.")),
        "the replaced token: {body}"
    );
    register["invitation_token"] = second.into();
    let (status, body) = json(app.post("acme.localhost", "/api/auth/register/").json(&register).send().await?).await?;
    assert_eq!(status, 201, "{body}");
    let (_, me) =
        json(app.get_as("acme", body["access_token"].as_str().ok_or("token")?, "/api/auth/me/").send().await?).await?;
    assert_eq!(me["role"], "member", "the second invitation's role");
    // other@ joins another way: its invitation no longer takes a seat, and
    // the tenant (full at 3) counts three, not four
    app.member("acme", "other", Role::Viewer).await?;
    assert_eq!(seats().await?, 3);
    let accept = serde_json::json!({"token": third, "username": "other", "password": PASSWORD});
    let (status, body) =
        json(app.post("acme.localhost", "/api/invitations/accept/").json(&accept).send().await?).await?;
    assert_eq!((status, body["error"]["message"].as_str()), (409, Some("You are already a member of this tenant.")));
    assert_eq!(seats().await?, 3);
    Ok(())
}

/// Two owners demoting each other at once: the tenant row is locked first,
/// so one succeeds and the tenant keeps exactly one owner.
#[tokio::test]
async fn two_owners_demoting_each_other_at_once_leave_exactly_one_owner() -> TestResult {
    let app = spawn_app().await?;
    app.create_tenant("acme", Plan::Basic, false).await?;
    app.member("acme", "olga", Role::Owner).await?;
    app.member("acme", "otto", Role::Owner).await?;
    let (olga, otto) = (app.login("acme", "olga").await?, app.login("acme", "otto").await?);
    let ids = app.membership_ids("acme", &olga.access).await?;
    let (olga_id, otto_id) = (ids["olga"], ids["otto"]);
    let demote = |token: &str, id: i64| {
        app.call_as(Method::PATCH, "acme", token, &format!("/api/tenants/members/{id}/"))
            .json(&serde_json::json!({"role": "admin"}))
            .send()
    };
    let (a, b) = tokio::join!(demote(&olga.access, otto_id), demote(&otto.access, olga_id));
    let mut answers = vec![json(a?).await?, json(b?).await?];
    answers.sort_by_key(|a| a.0);
    assert_eq!(answers[0].0, 200, "{answers:?}");
    assert!(
        matches!(
            (answers[1].0, answers[1].1["error"]["code"].as_str()),
            (403, Some("permission_denied")) | (409, Some("conflict"))
        ),
        "{answers:?}"
    );
    // both are still members (one an admin now), and every member may list them
    let (status, after) = json(app.get_as("acme", &olga.access, "/api/tenants/members/").send().await?).await?;
    assert_eq!(status, 200, "{after}");
    let roles: Vec<&str> =
        after["results"].as_array().ok_or("results")?.iter().filter_map(|m| m["role"].as_str()).collect();
    assert_eq!(roles.iter().filter(|r| **r == "owner").count(), 1, "{after}");
    assert_eq!(roles.iter().filter(|r| **r == "admin").count(), 1, "{after}");
    Ok(())
}

/// Memberships of every tenant share one table, so their ids are unique
/// across tenants: an owner of beta naming alpha's membership ids on beta's
/// host finds nothing, changes nothing and removes nothing.
#[tokio::test]
async fn another_tenant_s_membership_ids_answer_404_and_stay_unchanged() -> TestResult {
    let app = spawn_app().await?;
    app.create_tenant("alpha", Plan::Basic, false).await?;
    app.create_tenant("beta", Plan::Basic, false).await?;
    app.member("alpha", "ann", Role::Owner).await?;
    app.member("alpha", "amy", Role::Member).await?;
    app.member("beta", "bob", Role::Owner).await?;
    let (ann, bob) = (app.login("alpha", "ann").await?, app.login("beta", "bob").await?);
    let alpha_members = || async {
        let (status, list) = json(app.get_as("alpha", &ann.access, "/api/tenants/members/").send().await?).await?;
        assert_eq!(status, 200, "{list}");
        Ok::<_, Box<dyn std::error::Error>>(list)
    };
    let before = alpha_members().await?;
    let ids: Vec<i64> =
        before["results"].as_array().ok_or("results")?.iter().filter_map(|m| m["id"].as_i64()).collect();
    assert_eq!(ids.len(), 2, "{before}");
    for id in ids {
        let path = format!("/api/tenants/members/{id}/");
        for (method, body) in [(Method::PATCH, Some(serde_json::json!({"role": "viewer"}))), (Method::DELETE, None)] {
            let (status, answer) = app.answer(method.clone(), "beta", &bob.access, &path, body).await?;
            assert_eq!(
                (status, answer["error"]["code"].as_str()),
                (404, Some("not_found")),
                "{method} {path}: {answer}"
            );
            assert!(!answer.to_string().contains("amy") && !answer.to_string().contains("ann"), "{answer}");
        }
    }
    assert_eq!(alpha_members().await?, before, "alpha's members are unchanged");
    let (_, beta_members) = json(app.get_as("beta", &bob.access, "/api/tenants/members/").send().await?).await?;
    assert_eq!(beta_members["count"], 1, "{beta_members}");
    Ok(())
}

/// Registers `username` on acme with an invitation token: its status and the
/// `invitation_token` problem, if any.
async fn register_invited(
    app: &TestApp,
    username: &str,
    token: &str,
) -> Result<(u16, Option<String>), Box<dyn std::error::Error>> {
    let body = invited_register_body(username, &serde_json::json!(token));
    let (status, answer) = json(app.post("acme.localhost", "/api/auth/register/").json(&body).send().await?).await?;
    Ok((status, answer["error"]["fields"]["invitation_token"][0].as_str().map(str::to_owned)))
}

/// An invitation does not outlive its sender's right to send it: an admin
/// about to be removed could otherwise invite an account of their own as
/// admin and come back through it. Removal ends all they sent; a demotion
/// ends what the new role may not offer (an owner made admin keeps their
/// invitations of admins, loses those of owners).
#[tokio::test]
async fn an_invitation_ends_with_its_sender_s_right_to_send_it() -> TestResult {
    let app = spawn_app().await?;
    app.create_tenant("acme", Plan::Premium, false).await?;
    app.member("acme", "olga", Role::Owner).await?;
    app.member("acme", "otto", Role::Owner).await?;
    app.member("acme", "adam", Role::Admin).await?;
    app.member("acme", "ada", Role::Admin).await?;
    let owner = app.login("acme", "olga").await?;
    let (otto, adam, ada) =
        (app.login("acme", "otto").await?, app.login("acme", "adam").await?, app.login("acme", "ada").await?);
    let backdoor = invited(&app, &adam.access, "adam-alt@example.com", "admin").await?;
    let helper = invited(&app, &adam.access, "helper@example.com", "member").await?;
    let by_ada = invited(&app, &ada.access, "ada-friend@example.com", "member").await?;
    let boss = invited(&app, &otto.access, "boss@example.com", "owner").await?;
    let deputy = invited(&app, &otto.access, "deputy@example.com", "admin").await?;
    let seats = |body: serde_json::Value| body["usage"]["members"].as_i64();
    let (_, overview) = json(app.get_as("acme", &owner.access, "/api/tenants/me/").send().await?).await?;
    assert_eq!(seats(overview), Some(4 + 5));

    let ids = app.membership_ids("acme", &owner.access).await?;
    let change = |id: i64, role: &str| {
        app.call_as(Method::PATCH, "acme", &owner.access, &format!("/api/tenants/members/{id}/"))
            .json(&serde_json::json!({"role": role}))
            .send()
    };
    // adam removed: both of his end
    let removed = app.call_as(Method::DELETE, "acme", &owner.access, &format!("/api/tenants/members/{}/", ids["adam"]));
    assert_eq!(removed.send().await?.status().as_u16(), 204);
    // otto made admin: his invitation of an owner ends, that of an admin stays
    assert_eq!(change(ids["otto"], "admin").await?.status().as_u16(), 200);
    // ada made a member, who invites no one: hers ends
    assert_eq!(change(ids["ada"], "member").await?.status().as_u16(), 200);

    let gone = Some("This invitation is invalid or has expired.".to_owned());
    for (username, token) in [("adamalt", &backdoor), ("helper", &helper), ("friend", &by_ada), ("boss", &boss)] {
        assert_eq!(register_invited(&app, username, token).await?, (400, gone.clone()), "{username}");
    }
    assert_eq!(register_invited(&app, "deputy", &deputy).await?, (201, None));
    let names = app.membership_ids("acme", &owner.access).await?;
    assert!(!names.contains_key("adamalt") && names.contains_key("deputy"), "{names:?}");
    // the ended ones hold no seat: olga, otto, ada and the deputy
    let (_, overview) = json(app.get_as("acme", &owner.access, "/api/tenants/me/").send().await?).await?;
    assert_eq!(seats(overview), Some(4));
    Ok(())
}

/// Owners and admins see the pending invitations (never their tokens) and
/// may withdraw one, which frees its seat at once; an admin may not
/// withdraw an invitation to be an owner, a member sees none, and another
/// tenant's invitation is not found.
#[tokio::test]
async fn pending_invitations_are_listed_without_tokens_and_can_be_withdrawn() -> TestResult {
    let app = spawn_app().await?;
    app.create_tenant("acme", Plan::Free, false).await?;
    app.create_tenant("beta", Plan::Free, false).await?;
    app.member("acme", "olga", Role::Owner).await?;
    app.member("acme", "adam", Role::Admin).await?;
    app.member("beta", "bob", Role::Owner).await?;
    let (owner, admin) = (app.login("acme", "olga").await?, app.login("acme", "adam").await?);
    let beta_owner = app.login("beta", "bob").await?;
    let boss = invited(&app, &owner.access, "boss@example.com", "owner").await?;
    // the free plan's third and last seat
    let (status, full) = app
        .answer(
            Method::POST,
            "acme",
            &admin.access,
            "/api/tenants/members/",
            Some(serde_json::json!({"email": "mia@example.com", "role": "member"})),
        )
        .await?;
    assert_eq!((status, full["error"]["code"].as_str()), (403, Some("plan_limit_exceeded")), "{full}");

    let (status, listed) = json(app.get_as("acme", &admin.access, "/api/tenants/invitations/").send().await?).await?;
    assert_eq!((status, listed["count"].as_i64()), (200, Some(1)), "{listed}");
    let item = &listed["results"][0];
    assert_eq!((item["email"].as_str(), item["role"].as_str()), (Some("boss@example.com"), Some("owner")));
    assert!(item.get("token").is_none() && !listed.to_string().contains(&boss), "a token is shown: {listed}");
    let url = format!("/api/tenants/invitations/{}/", item["id"]);
    let delete = |token: &str, slug: &str| app.call_as(Method::DELETE, slug, token, &url).send();

    // an admin may not end an owner's invitation of an owner; nor may another tenant
    let (status, body) = json(delete(&admin.access, "acme").await?).await?;
    assert_eq!((status, body["error"]["code"].as_str()), (403, Some("permission_denied")), "{body}");
    let (status, body) = json(delete(&beta_owner.access, "beta").await?).await?;
    assert_eq!((status, body["error"]["code"].as_str()), (404, Some("not_found")), "{body}");
    // the owner may; then it is gone, its token dead and its seat free
    assert_eq!(delete(&owner.access, "acme").await?.status().as_u16(), 204);
    let (status, _) = json(delete(&owner.access, "acme").await?).await?;
    assert_eq!(status, 404);
    let gone = Some("This invitation is invalid or has expired.".to_owned());
    assert_eq!(register_invited(&app, "boss", &boss).await?, (400, gone));
    let (_, listed) = json(app.get_as("acme", &admin.access, "/api/tenants/invitations/").send().await?).await?;
    assert_eq!(listed["count"], 0, "{listed}");
    let mia = invited(&app, &admin.access, "mia@example.com", "member").await?;
    assert!(!mia.is_empty());

    // a member sees none of it
    app.member("acme", "max", Role::Member).await?;
    let member = app.login("acme", "max").await?;
    let (status, body) = json(app.get_as("acme", &member.access, "/api/tenants/invitations/").send().await?).await?;
    assert_eq!((status, body["error"]["code"].as_str()), (403, Some("permission_denied")), "{body}");
    Ok(())
}

/// An admin's requests racing their own demotion: whatever waited for the
/// demotion to commit is judged by the role committed then, so no
/// invitation of theirs stays pending (a member may send none) and no
/// promotion of theirs lands after the demotion.
#[tokio::test]
async fn an_admin_s_requests_racing_their_demotion_act_on_the_role_committed_first() -> TestResult {
    use diesel::{RunQueryDsl, dsl::sql, sql_types::BigInt};
    let app = spawn_app().await?;
    app.create_tenant("acme", Plan::Enterprise, false).await?;
    let adam_id = {
        app.member("acme", "olga", Role::Owner).await?;
        app.member("acme", "adam", Role::Admin).await?
    };
    for i in 0..6 {
        app.member("acme", &format!("m{i}"), Role::Member).await?;
    }
    let owner = app.login("acme", "olga").await?;
    let admin = app.login("acme", "adam").await?;
    let ids = app.membership_ids("acme", &owner.access).await?;

    let demotion = app
        .call_as(Method::PATCH, "acme", &owner.access, &format!("/api/tenants/members/{}/", ids["adam"]))
        .json(&serde_json::json!({"role": "member"}))
        .send();
    let invitations = (0..8).map(|i| {
        app.call_as(Method::POST, "acme", &admin.access, "/api/tenants/members/")
            .json(&serde_json::json!({"email": format!("crony{i}@example.com"), "role": "admin"}))
            .send()
    });
    let promotions = (0..6).map(|i| {
        app.call_as(Method::PATCH, "acme", &admin.access, &format!("/api/tenants/members/{}/", ids[&format!("m{i}")]))
            .json(&serde_json::json!({"role": "admin"}))
            .send()
    });
    let (demoted, invited, promoted) = tokio::join!(demotion, answers(invitations), answers(promotions));
    assert_eq!(demoted?.status().as_u16(), 200);
    let (invited, promoted) = (invited?, promoted?);
    for (status, body) in invited.iter().chain(&promoted) {
        assert!(*status == 200 || *status == 201 || *status == 403 || *status == 401, "{status} {body}");
    }

    let pending = app
        .on_the_database(move |conn| {
            diesel::select(sql::<BigInt>(&format!(
                "(SELECT count(*) FROM public.invitations
                   WHERE invited_by = {adam_id} AND accepted_at IS NULL AND ended_at IS NULL
                     AND expires_at > now())"
            )))
            .get_result::<i64>(conn)
        })
        .await?;
    assert_eq!(pending, 0, "an invitation of the demoted admin is pending: {invited:?}");
    let late = app
        .on_the_database(move |conn| {
            diesel::select(sql::<BigInt>(&format!(
                "(SELECT count(*) FROM tenant_acme.activity a
                   WHERE a.actor_id = {adam_id} AND a.target_type = 'membership'
                     AND a.id > (SELECT max(d.id) FROM tenant_acme.activity d
                                  WHERE d.target_type = 'membership' AND d.changes -> 'role' ->> 1 = 'member'
                                    AND d.actor_id <> {adam_id}))"
            )))
            .get_result::<i64>(conn)
        })
        .await?;
    assert_eq!(late, 0, "a promotion by the demoted admin landed after the demotion: {promoted:?}");
    Ok(())
}

/// The tenant's settings and a membership carry ETags like every single
/// object (API.md §8): `If-None-Match` answers `304`, and a write whose
/// `If-Match` names another version is `412` and changes nothing.
#[tokio::test]
async fn the_tenant_and_its_members_are_conditional_like_every_object() -> TestResult {
    let app = spawn_app().await?;
    app.create_tenant("acme", Plan::Basic, false).await?;
    app.member("acme", "olga", Role::Owner).await?;
    app.member("acme", "mia", Role::Member).await?;
    let owner = app.login("acme", "olga").await?;
    let ids = app.membership_ids("acme", &owner.access).await?;
    let etag_of = |response: &reqwest::Response| -> Result<String, Box<dyn std::error::Error>> {
        Ok(response.headers().get("etag").ok_or("no ETag")?.to_str()?.to_owned())
    };

    let first = app.get_as("acme", &owner.access, "/api/tenants/me/").send().await?;
    let tag = etag_of(&first)?;
    let cached = app.get_as("acme", &owner.access, "/api/tenants/me/").header("if-none-match", &tag).send().await?;
    assert_eq!(cached.status().as_u16(), 304);
    // anything the answer shows changes the tag, a new project too
    let (status, _) = app
        .answer(Method::POST, "acme", &owner.access, "/api/projects/", Some(serde_json::json!({"name": "P"})))
        .await?;
    assert_eq!(status, 201);
    let now = app.get_as("acme", &owner.access, "/api/tenants/me/").send().await?;
    let current = etag_of(&now)?;
    assert_ne!(current, tag);
    let rename = |tag: &str| {
        app.call_as(Method::PATCH, "acme", &owner.access, "/api/tenants/me/")
            .header("if-match", tag)
            .json(&serde_json::json!({"name": "Renamed"}))
            .send()
    };
    let (status, body) = json(rename(&tag).await?).await?;
    assert_eq!((status, body["error"]["code"].as_str()), (412, Some("precondition_failed")));
    let (_, unchanged) = json(app.get_as("acme", &owner.access, "/api/tenants/me/").send().await?).await?;
    assert_ne!(unchanged["name"], "Renamed");
    let renamed = rename(&current).await?;
    let renamed_tag = etag_of(&renamed)?;
    let (status, body) = json(renamed).await?;
    assert_eq!((status, body["name"].as_str()), (200, Some("Renamed")));
    assert_ne!(renamed_tag, current);

    // a membership: its role is its version
    let member = format!("/api/tenants/members/{}/", ids["mia"]);
    let promote = |tag: &str| {
        app.call_as(Method::PATCH, "acme", &owner.access, &member)
            .header("if-match", tag)
            .json(&serde_json::json!({"role": "admin"}))
            .send()
    };
    let looked = app.call_as(Method::PATCH, "acme", &owner.access, &member).json(&serde_json::json!({})).send().await?;
    let as_member = etag_of(&looked)?;
    let (status, body) = json(promote("\"membership-1-owner\"").await?).await?;
    assert_eq!((status, body["error"]["code"].as_str()), (412, Some("precondition_failed")));
    let promoted = promote(&as_member).await?;
    let as_admin = etag_of(&promoted)?;
    let (status, body) = json(promoted).await?;
    assert_eq!((status, body["role"].as_str()), (200, Some("admin")));
    assert_ne!(as_admin, as_member);
    let (status, body) = json(promote(&as_member).await?).await?;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (412, Some("precondition_failed")),
        "the tag went with the role"
    );
    let remove = |tag: &str| app.call_as(Method::DELETE, "acme", &owner.access, &member).header("if-match", tag).send();
    let (status, _) = json(remove(&as_member).await?).await?;
    assert_eq!(status, 412);
    assert!(app.membership_ids("acme", &owner.access).await?.contains_key("mia"), "still a member");
    assert_eq!(remove(&as_admin).await?.status().as_u16(), 204);
    Ok(())
}

/// The addresses the Django product took (its `EmailValidator`) are taken
/// for invitations, mailed, and registered with: an internationalised
/// domain, an address literal, a quoted local part (with an escaped space);
/// what it refused (a space unescaped) is refused.
#[tokio::test]
async fn invitations_take_the_addresses_the_django_product_took() -> TestResult {
    let app = spawn_app().await?;
    app.create_tenant("acme", Plan::Enterprise, false).await?;
    app.member("acme", "olga", Role::Owner).await?;
    let owner = app.login("acme", "olga").await?;
    let addresses = ["Anna@Exämple.COM", "ops@[192.0.2.1]", "\"j.doe\"@example.com", "\"john\\ doe\"@example.com"];
    let mut tokens = Vec::new();
    for email in addresses {
        tokens.push(invited(&app, &owner.access, email, "member").await?);
    }
    let mails = app.mails()?;
    assert_eq!(mails.len(), addresses.len());
    for (email, token) in addresses.iter().zip(&tokens) {
        // stored with the domain lower-cased, as Django's normalize_email does
        let (local, domain) = email.rsplit_once('@').ok_or("no @")?;
        let stored = format!("{local}@{}", domain.to_lowercase());
        assert!(mails.iter().any(|m| m.contains(token.as_str())), "no mail with the token for {email}");
        let mut body = invited_register_body(
            &format!("invitee{}", tokens.iter().position(|t| t == token).unwrap_or(0)),
            &serde_json::json!(token),
        );
        body["email"] = serde_json::json!(stored);
        let (status, created) =
            json(app.post("acme.localhost", "/api/auth/register/").json(&body).send().await?).await?;
        assert_eq!(status, 201, "{email}: {created}");
        let (_, me) =
            json(app.get_as("acme", created["access_token"].as_str().ok_or("token")?, "/api/auth/me/").send().await?)
                .await?;
        assert_eq!(me["email"].as_str(), Some(stored.as_str()), "{me}");
    }
    let refused = serde_json::json!({"email": "\"john doe\"@example.com", "role": "member"});
    let (status, body) =
        app.answer(Method::POST, "acme", &owner.access, "/api/tenants/members/", Some(refused)).await?;
    assert_eq!((status, body["error"]["fields"]["email"][0].as_str()), (400, Some("Enter a valid email address.")));
    Ok(())
}

//! Tokens under attack: other tenants, wrong kinds, forgeries, expiry,
//! refresh replay and races, logout.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{Duration, Utc};
use taskforce_auth::JwtCodec;
use taskforce_domain::{FamilyId, Plan, Role, TenantId, TokenClaims, TokenCodec, TokenKind, UserId};
use taskforce_tests::{TEST_JWT_SECRET, TestApp, TestResult, answers, json, spawn_app};

async fn status_of_me(
    app: &TestApp,
    slug: &str,
    token: &str,
) -> Result<(u16, serde_json::Value), Box<dyn std::error::Error>> {
    json(app.get_as(slug, token, "/api/auth/me/").send().await?).await
}

fn assert_token_invalid((status, body): (u16, serde_json::Value)) {
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"]["code"], "token_invalid", "{body}");
}

#[tokio::test]
async fn a_token_of_tenant_a_is_refused_on_tenant_b_even_for_a_member_of_both() -> TestResult {
    let app = spawn_app().await?;
    app.create_tenant("alpha", Plan::Basic, false).await?;
    app.create_tenant("beta", Plan::Basic, false).await?;
    app.member("alpha", "both", Role::Owner).await?;
    app.add_member("beta", "both", Role::Owner).await?;
    let alpha = app.login("alpha", "both").await?;
    let beta = app.login("beta", "both").await?;
    assert_eq!(status_of_me(&app, "alpha", &alpha.access).await?.0, 200);
    assert_token_invalid(status_of_me(&app, "beta", &alpha.access).await?);
    assert_token_invalid(status_of_me(&app, "alpha", &beta.access).await?);
    // and refresh tokens too
    let (status, body) = json(
        app.post("beta.localhost", "/api/auth/token/refresh/")
            .json(&serde_json::json!({"refresh": alpha.refresh}))
            .send()
            .await?,
    )
    .await?;
    assert_eq!((status, body["error"]["code"].as_str()), (401, Some("token_invalid")));
    Ok(())
}

/// The same account in two tenants: its valid alpha token writes nothing on
/// beta's host, whatever it asks; beta's state is read back unchanged.
#[tokio::test]
async fn a_member_of_both_tenants_writes_nothing_into_one_with_the_other_s_token() -> TestResult {
    let app = spawn_app().await?;
    app.create_tenant("alpha", Plan::Basic, false).await?;
    app.create_tenant("beta", Plan::Basic, false).await?;
    app.member("alpha", "both", Role::Owner).await?;
    app.add_member("beta", "both", Role::Owner).await?;
    let (alpha, beta) = (app.login("alpha", "both").await?, app.login("beta", "both").await?);
    let post = |path, body| app.answer(reqwest::Method::POST, "beta", &beta.access, path, Some(body));
    let (status, project) = post("/api/projects/", serde_json::json!({"name": "B"})).await?;
    assert_eq!(status, 201, "{project}");
    let (status, task) = post("/api/projects/1/tasks/", serde_json::json!({"title": "T"})).await?;
    assert_eq!(status, 201, "{task}");
    let beta_state = || async {
        let mut seen = Vec::new();
        for path in [
            "/api/projects/",
            "/api/projects/1/",
            "/api/tasks/1/",
            "/api/tenants/me/",
            "/api/tenants/members/",
            "/api/activity/",
        ] {
            let (status, body) = json(app.get_as("beta", &beta.access, path).send().await?).await?;
            assert_eq!(status, 200, "{path}: {body}");
            seen.push(body);
        }
        Ok::<_, Box<dyn std::error::Error>>(seen)
    };
    let before = beta_state().await?;

    let attacks: [(reqwest::Method, &str, Option<serde_json::Value>); 7] = [
        (reqwest::Method::POST, "/api/projects/", Some(serde_json::json!({"name": "planted"}))),
        (reqwest::Method::PATCH, "/api/projects/1/", Some(serde_json::json!({"name": "pwned"}))),
        (reqwest::Method::DELETE, "/api/tasks/1/", None),
        (reqwest::Method::POST, "/api/tasks/1/comments/", Some(serde_json::json!({"body": "planted"}))),
        (
            reqwest::Method::POST,
            "/api/tenants/members/",
            Some(serde_json::json!({"email": "x@example.com", "role": "admin"})),
        ),
        (reqwest::Method::PATCH, "/api/tenants/me/", Some(serde_json::json!({"name": "pwned", "allow_signup": true}))),
        (reqwest::Method::POST, "/api/auth/logout/", Some(serde_json::json!({"refresh": beta.refresh}))),
    ];
    for (method, path, body) in attacks {
        let answer = app.answer(method.clone(), "beta", &alpha.access, path, body).await?;
        assert_eq!(answer.0, 401, "{method} {path}: {}", answer.1);
        assert_eq!(answer.1["error"]["code"], "token_invalid", "{method} {path}");
    }
    assert_eq!(beta_state().await?, before, "beta is unchanged");
    assert!(app.mails()?.is_empty(), "no invitation went out");
    // beta's own session survived the logout attempt
    assert_eq!(status_of_me(&app, "beta", &beta.access).await?.0, 200);
    Ok(())
}

#[tokio::test]
async fn access_and_refresh_tokens_are_not_interchangeable() -> TestResult {
    let app = spawn_app().await?;
    app.create_tenant("acme", Plan::Basic, false).await?;
    app.member("acme", "ann", Role::Member).await?;
    let session = app.login("acme", "ann").await?;
    assert_token_invalid(status_of_me(&app, "acme", &session.refresh).await?);
    let (status, body) = json(
        app.post("acme.localhost", "/api/auth/token/refresh/")
            .json(&serde_json::json!({"refresh": session.access}))
            .send()
            .await?,
    )
    .await?;
    assert_eq!((status, body["error"]["code"].as_str()), (401, Some("token_invalid")));
    Ok(())
}

#[tokio::test]
async fn forged_tampered_and_expired_tokens_are_refused() -> TestResult {
    let app = spawn_app().await?;
    let acme = app.create_tenant("acme", Plan::Basic, false).await?;
    let user = app.member("acme", "ann", Role::Owner).await?;
    let session = app.login("acme", "ann").await?;
    let parts: Vec<&str> = session.access.split('.').collect();
    let payload: serde_json::Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1])?)?;
    let family = payload["fam"].as_i64().ok_or("no fam")?;

    let none = format!("{}.{}.", URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#), parts[1]);
    let mut signature = URL_SAFE_NO_PAD.decode(parts[2])?;
    signature[5] ^= 0x01;
    let flipped = format!("{}.{}.{}", parts[0], parts[1], URL_SAFE_NO_PAD.encode(&signature));
    let claims = |kind, expires: Duration| TokenClaims {
        user: UserId(user),
        tenant: acme.id,
        kind,
        family: FamilyId(family),
        token_id: "forged".into(),
        issued_at: Utc::now() - Duration::minutes(20),
        expires_at: Utc::now() + expires,
    };
    let wrong_key = JwtCodec::new(b"some-other-secret-of-enough-length!!", "taskforce")
        .encode(&claims(TokenKind::Access, Duration::minutes(5)))?;
    let expired = JwtCodec::new(TEST_JWT_SECRET.as_bytes(), "taskforce")
        .encode(&claims(TokenKind::Access, Duration::seconds(-3)))?;
    let forge = |payload: serde_json::Value| -> Result<String, Box<dyn std::error::Error>> {
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
        let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&payload)?);
        let signing_input = format!("{header}.{body}");
        let codec_signature = hmac_sha256(TEST_JWT_SECRET.as_bytes(), signing_input.as_bytes());
        Ok(format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(codec_signature)))
    };
    let far = Utc::now().timestamp() + 600;
    let aud = format!("tenant:{}", acme.id.0);
    let string_exp = forge(
        serde_json::json!({"sub": user.to_string(), "aud": aud, "iss": "taskforce", "exp": far.to_string(), "iat": 0, "jti": "x", "typ": "access", "fam": family}),
    )?;
    let no_aud = forge(
        serde_json::json!({"sub": user.to_string(), "iss": "taskforce", "exp": far, "iat": 0, "jti": "x", "typ": "access", "fam": family}),
    )?;
    let well_formed = forge(
        serde_json::json!({"sub": user.to_string(), "aud": aud, "iss": "taskforce", "exp": far, "iat": 0, "jti": "x", "typ": "access", "fam": family}),
    )?;
    // the well-formed claims with one of them taken away or changed
    let with = |change: &dyn Fn(&mut serde_json::Value)| {
        let mut claims = serde_json::json!({"sub": user.to_string(), "aud": aud, "iss": "taskforce", "exp": far, "iat": 0, "jti": "x", "typ": "access", "fam": family});
        change(&mut claims);
        forge(claims)
    };
    let no_exp = with(&|c| drop(c.as_object_mut().map(|o| o.remove("exp"))))?;
    let no_sub = with(&|c| drop(c.as_object_mut().map(|o| o.remove("sub"))))?;
    let no_iss = with(&|c| drop(c.as_object_mut().map(|o| o.remove("iss"))))?;
    let other_iss = with(&|c| c["iss"] = "someone-else".into())?;
    let other_aud = with(&|c| c["aud"] = format!("tenant:{}", acme.id.0 + 1).into())?;
    let no_typ = with(&|c| drop(c.as_object_mut().map(|o| o.remove("typ"))))?;
    // the same claims under another algorithm, correctly signed for it
    let hs512 = {
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS512","typ":"JWT"}"#);
        let signing_input = format!("{header}.{}", well_formed.split('.').nth(1).ok_or("payload")?);
        let signature = hmac::<sha2::Sha512, 128>(TEST_JWT_SECRET.as_bytes(), signing_input.as_bytes());
        format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature))
    };
    // the control: a correctly signed token with the same claims is accepted,
    // so each refusal below is about the one thing changed
    assert_eq!(status_of_me(&app, "acme", &well_formed).await?.0, 200);
    for (name, token) in [
        ("alg none", none),
        ("flipped bit", flipped),
        ("wrong key", wrong_key),
        ("expired", expired),
        ("exp as string", string_exp),
        ("no aud", no_aud),
        ("no exp", no_exp),
        ("no sub", no_sub),
        ("no iss", no_iss),
        ("another issuer", other_iss),
        ("another tenant's audience", other_aud),
        ("no token type", no_typ),
        ("HS512", hs512),
    ] {
        let answer = status_of_me(&app, "acme", &token).await?;
        assert_eq!(answer.0, 401, "{name}: {}", answer.1);
        assert_eq!(answer.1["error"]["code"], "token_invalid", "{name}");
    }
    // and the header must be a bearer token at all
    for header in ["Token abc", "Bearer", "Basic YTpi", ""] {
        let (status, body) =
            json(app.get("acme.localhost", "/api/auth/me/").header("authorization", header).send().await?).await?;
        assert_eq!((status, body["error"]["code"].as_str()), (401, Some("not_authenticated")), "{header:?}");
    }
    let (status, body) = json(app.get("acme.localhost", "/api/auth/me/").send().await?).await?;
    assert_eq!((status, body["error"]["code"].as_str()), (401, Some("not_authenticated")));
    Ok(())
}

/// HMAC-SHA256, for forging tokens with chosen claims.
fn hmac_sha256(key: &[u8], message: &[u8]) -> Vec<u8> {
    hmac::<sha2::Sha256, 64>(key, message)
}

/// HMAC (RFC 2104) over a hash whose block is `BLOCK` bytes.
fn hmac<D: sha2::Digest, const BLOCK: usize>(key: &[u8], message: &[u8]) -> Vec<u8> {
    let mut block = [0_u8; BLOCK];
    block[..key.len().min(BLOCK)].copy_from_slice(&key[..key.len().min(BLOCK)]);
    let inner_key: Vec<u8> = block.iter().map(|b| b ^ 0x36).collect();
    let outer_key: Vec<u8> = block.iter().map(|b| b ^ 0x5c).collect();
    let inner = D::new().chain_update(&inner_key).chain_update(message).finalize();
    D::new().chain_update(&outer_key).chain_update(inner).finalize().to_vec()
}

/// A refresh token past its expiry is refused, and refusing it spends
/// nothing: the session's live refresh token still works.
#[tokio::test]
async fn an_expired_refresh_token_is_refused_and_spends_nothing() -> TestResult {
    let app = spawn_app().await?;
    let acme = app.create_tenant("acme", Plan::Basic, false).await?;
    let user = app.member("acme", "ann", Role::Member).await?;
    let session = app.login("acme", "ann").await?;
    let payload: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(session.refresh.split('.').nth(1).ok_or("payload")?)?)?;
    let expired = JwtCodec::new(TEST_JWT_SECRET.as_bytes(), "taskforce").encode(&TokenClaims {
        user: UserId(user),
        tenant: acme.id,
        kind: TokenKind::Refresh,
        family: FamilyId(payload["fam"].as_i64().ok_or("no fam")?),
        token_id: payload["jti"].as_str().ok_or("no jti")?.to_owned(),
        issued_at: Utc::now() - Duration::days(8),
        expires_at: Utc::now() - Duration::seconds(3),
    })?;
    let refresh = |token: &str| {
        app.post("acme.localhost", "/api/auth/token/refresh/").json(&serde_json::json!({"refresh": token})).send()
    };
    let (status, body) = json(refresh(&expired).await?).await?;
    assert_eq!((status, body["error"]["code"].as_str()), (401, Some("token_invalid")), "{body}");
    // not a replay: the session lives on, its own refresh token rotates once
    let (status, rotated) = json(refresh(&session.refresh).await?).await?;
    assert_eq!(status, 200, "{rotated}");
    assert_eq!(status_of_me(&app, "acme", rotated["access"].as_str().ok_or("access")?).await?.0, 200);
    Ok(())
}

#[tokio::test]
async fn a_replayed_refresh_token_ends_the_whole_session() -> TestResult {
    let app = spawn_app().await?;
    app.create_tenant("acme", Plan::Basic, false).await?;
    app.member("acme", "ann", Role::Member).await?;
    let first = app.login("acme", "ann").await?;
    let refresh = |token: String| {
        app.post("acme.localhost", "/api/auth/token/refresh/").json(&serde_json::json!({"refresh": token})).send()
    };
    let (status, second) = json(refresh(first.refresh.clone()).await?).await?;
    assert_eq!(status, 200, "{second}");
    let (new_access, new_refresh) = (
        second["access"].as_str().ok_or("no access")?.to_owned(),
        second["refresh"].as_str().ok_or("no refresh")?.to_owned(),
    );
    assert_eq!(status_of_me(&app, "acme", &new_access).await?.0, 200);
    // the spent token again: refused, and it revokes everything descended from the login
    let (status, body) = json(refresh(first.refresh.clone()).await?).await?;
    assert_eq!((status, body["error"]["code"].as_str()), (401, Some("token_invalid")));
    let (status, _) = json(refresh(new_refresh).await?).await?;
    assert_eq!(status, 401);
    assert_token_invalid(status_of_me(&app, "acme", &new_access).await?);
    assert_token_invalid(status_of_me(&app, "acme", &first.access).await?);
    // another login is a new session and works
    let fresh = app.login("acme", "ann").await?;
    assert_eq!(status_of_me(&app, "acme", &fresh.access).await?.0, 200);
    Ok(())
}

#[tokio::test]
async fn two_parallel_refreshes_of_one_token_have_exactly_one_winner() -> TestResult {
    let app = spawn_app().await?;
    app.create_tenant("acme", Plan::Basic, false).await?;
    app.member("acme", "ann", Role::Member).await?;
    let session = app.login("acme", "ann").await?;
    let body = serde_json::json!({"refresh": session.refresh});
    let requests = (0..2).map(|_| app.post("acme.localhost", "/api/auth/token/refresh/").json(&body).send());
    let mut answers = answers(requests).await?;
    answers.sort_by_key(|a| a.0);
    assert_eq!((answers[0].0, answers[1].0), (200, 401), "{answers:?}");
    assert_eq!(answers[1].1["error"]["code"], "token_invalid");
    // the loser looked like a replay, so the session is over (security.md):
    // the winner's new pair and the login's access token are dead too
    let (winner_access, winner_refresh) = (
        answers[0].1["access"].as_str().ok_or("access")?.to_owned(),
        answers[0].1["refresh"].as_str().ok_or("refresh")?.to_owned(),
    );
    assert_token_invalid(status_of_me(&app, "acme", &winner_access).await?);
    assert_token_invalid(status_of_me(&app, "acme", &session.access).await?);
    assert_token_invalid(
        json(
            app.post("acme.localhost", "/api/auth/token/refresh/")
                .json(&serde_json::json!({"refresh": winner_refresh}))
                .send()
                .await?,
        )
        .await?,
    );
    Ok(())
}

#[tokio::test]
async fn logout_ends_the_session_of_its_refresh_token() -> TestResult {
    let app = spawn_app().await?;
    app.create_tenant("acme", Plan::Basic, false).await?;
    app.member("acme", "ann", Role::Member).await?;
    app.member("acme", "bob", Role::Member).await?;
    let ann = app.login("acme", "ann").await?;
    let other_session = app.login("acme", "ann").await?;
    let bob = app.login("acme", "bob").await?;
    // someone else's refresh token cannot be used to log them out
    let response = app
        .post("acme.localhost", "/api/auth/logout/")
        .bearer_auth(&ann.access)
        .json(&serde_json::json!({"refresh": bob.refresh}))
        .send()
        .await?;
    assert_token_invalid(json(response).await?);
    assert_eq!(status_of_me(&app, "acme", &bob.access).await?.0, 200);
    let response = app
        .post("acme.localhost", "/api/auth/logout/")
        .bearer_auth(&ann.access)
        .json(&serde_json::json!({"refresh": ann.refresh}))
        .send()
        .await?;
    assert_eq!(response.status().as_u16(), 204);
    let refreshed = json(
        app.post("acme.localhost", "/api/auth/token/refresh/")
            .json(&serde_json::json!({"refresh": ann.refresh}))
            .send()
            .await?,
    )
    .await?;
    assert_token_invalid(refreshed);
    assert_token_invalid(status_of_me(&app, "acme", &ann.access).await?);
    // the user's other session is untouched
    assert_eq!(status_of_me(&app, "acme", &other_session.access).await?.0, 200);
    Ok(())
}

#[tokio::test]
async fn a_validly_signed_token_of_a_session_that_never_existed_is_refused() -> TestResult {
    let app = spawn_app().await?;
    let acme = app.create_tenant("acme", Plan::Basic, false).await?;
    let user = app.member("acme", "ann", Role::Owner).await?;
    let forged = JwtCodec::new(TEST_JWT_SECRET.as_bytes(), "taskforce").encode(&TokenClaims {
        user: UserId(user),
        tenant: TenantId(acme.id.0),
        kind: TokenKind::Access,
        family: FamilyId(999_999),
        token_id: "x".into(),
        issued_at: Utc::now(),
        expires_at: Utc::now() + Duration::minutes(5),
    })?;
    // a validly signed token whose session never existed is refused
    assert_token_invalid(status_of_me(&app, "acme", &forged).await?);
    Ok(())
}

/// Authentication comes first: a caller who may not call the endpoint is
/// answered 401 whatever is wrong with the body or the query string, so
/// those are never looked at on their behalf.
#[tokio::test]
async fn a_refused_token_is_answered_401_before_the_body_or_query_is_judged() -> TestResult {
    let app = spawn_app().await?;
    app.create_tenant("alpha", Plan::Basic, false).await?;
    app.create_tenant("beta", Plan::Basic, false).await?;
    app.member("alpha", "ann", Role::Owner).await?;
    let ann = app.login("alpha", "ann").await?;
    let on_beta = |method: reqwest::Method, path: &str| app.call_as(method, "beta", &ann.access, path);

    let cases = [
        on_beta(reqwest::Method::POST, "/api/projects/").header("content-type", "text/plain").body("not json"),
        on_beta(reqwest::Method::POST, "/api/projects/").header("content-type", "application/json").body("{oops"),
        on_beta(reqwest::Method::GET, "/api/projects/?page=abc&page_size=-1&status=nonsense"),
        on_beta(reqwest::Method::GET, "/api/activity/?actor=x&target_type=y"),
        app.get("beta.localhost", "/api/projects/?status=nonsense"),
        // a query string that cannot be read holds no ticket: not authenticated
        app.get("alpha.localhost", "/api/notifications/stream/?ticket=x&a%00=1"),
        on_beta(reqwest::Method::GET, "/api/notifications/stream/?a%00=1"),
    ];
    for request in cases {
        let (status, body) = json(request.send().await?).await?;
        assert_eq!(status, 401, "{body}");
        assert!(matches!(body["error"]["code"].as_str(), Some("token_invalid" | "not_authenticated")), "{body}");
    }
    // with the right token the same query is judged: 400 on the bad filter
    let (status, body) = json(app.get_as("alpha", &ann.access, "/api/projects/?status=nonsense").send().await?).await?;
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("validation_failed")), "{body}");
    let (status, body) =
        json(app.get_as("alpha", &ann.access, "/api/notifications/stream/?a%00=1").send().await?).await?;
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("validation_failed")), "stream: {body}");

    // a member removed behind the servers' backs, on a second server that has
    // cached nothing: admission reads the database, and its answer still
    // comes before the body's
    app.member("alpha", "mia", Role::Member).await?;
    let mia = app.login("alpha", "mia").await?;
    app.behind_the_server_s_back(format!("DELETE FROM public.memberships WHERE user_id = {}", mia.user_id)).await?;
    let cold = app.twin().await?;
    let (status, body) = json(
        cold.call_as(reqwest::Method::POST, "alpha", &mia.access, "/api/projects/")
            .header("content-type", "text/plain")
            .body("not json")
            .send()
            .await?,
    )
    .await?;
    assert_eq!((status, body["error"]["code"].as_str()), (401, Some("token_invalid")), "{body}");
    Ok(())
}

/// Like DRF's view-level permissions: a role that may never do what the
/// endpoint does is refused before its body or filters are judged, and one
/// that may gets the body's verdict.
#[tokio::test]
async fn a_role_that_may_never_write_is_refused_before_its_body_is_judged() -> TestResult {
    use reqwest::Method;
    let app = spawn_app().await?;
    app.create_tenant("acme", Plan::Basic, false).await?;
    let [olga, mia, vic] =
        app.signed_in("acme", [("olga", Role::Owner), ("mia", Role::Member), ("vic", Role::Viewer)]).await?;
    let (status, project) = app
        .answer(Method::POST, "acme", &olga.access, "/api/projects/", Some(serde_json::json!({"name": "Roof"})))
        .await?;
    assert_eq!(status, 201, "{project}");
    let (status, task) = app
        .answer(
            Method::POST,
            "acme",
            &olga.access,
            &format!("/api/projects/{}/tasks/", project["id"]),
            Some(serde_json::json!({"title": "Tiles"})),
        )
        .await?;
    assert_eq!(status, 201, "{task}");
    let project_path = format!("/api/projects/{}/", project["id"]);
    let tasks_path = format!("/api/projects/{}/tasks/", project["id"]);
    let task_path = format!("/api/tasks/{}/", task["id"]);
    let comments_path = format!("/api/tasks/{}/comments/", task["id"]);

    // (method, path, who is refused, who may call it and gets the body's 400)
    let writes = [
        (Method::POST, "/api/projects/", &vic, &mia),
        (Method::PATCH, project_path.as_str(), &vic, &olga),
        (Method::PUT, project_path.as_str(), &vic, &olga),
        (Method::POST, tasks_path.as_str(), &vic, &mia),
        (Method::PATCH, task_path.as_str(), &vic, &olga),
        (Method::POST, comments_path.as_str(), &vic, &mia),
        (Method::PATCH, "/api/tenants/me/", &mia, &olga),
        (Method::POST, "/api/tenants/members/", &mia, &olga),
    ];
    for (method, path, refused, allowed) in writes {
        let bad_bodies = [
            ("application/json", "{oops", 400, "invalid_json"),
            ("text/plain", "hi", 415, "unsupported_media_type"),
            ("application/json", "[1]", 400, "invalid_json"),
        ];
        for (content_type, body, judged, code) in bad_bodies {
            let send = |who: &taskforce_tests::Session| {
                app.call_as(method.clone(), "acme", &who.access, path)
                    .header("content-type", content_type)
                    .body(body)
                    .send()
            };
            let (status, answer) = json(send(refused).await?).await?;
            assert_eq!(
                (status, answer["error"]["code"].as_str()),
                (403, Some("permission_denied")),
                "{method} {path} with {content_type} {body}: {answer}"
            );
            let (status, answer) = json(send(allowed).await?).await?;
            assert_eq!((status, answer["error"]["code"].as_str()), (judged, Some(code)), "{method} {path}: {answer}");
        }
    }
    // the audit log's filters are not judged for a member
    let (status, answer) = json(app.get_as("acme", &mia.access, "/api/activity/?actor=x").send().await?).await?;
    assert_eq!((status, answer["error"]["code"].as_str()), (403, Some("permission_denied")), "{answer}");
    let (status, answer) = json(app.get_as("acme", &olga.access, "/api/activity/?actor=x").send().await?).await?;
    assert_eq!((status, answer["error"]["code"].as_str()), (400, Some("validation_failed")), "{answer}");
    // nothing was written by any of it
    let (_, projects) = json(app.get_as("acme", &olga.access, "/api/projects/").send().await?).await?;
    assert_eq!(projects["count"], 1, "{projects}");
    let (_, me) = json(app.get_as("acme", &olga.access, "/api/tenants/me/").send().await?).await?;
    assert_eq!(me["name"], "Tenant acme", "{me}");
    Ok(())
}

/// Like DRF's `get_object()` with object permissions, which a view runs
/// before it reads the body: a write to an object that does not exist is
/// `404`, and one the caller may not make to this object `403`, whatever is
/// wrong with the body; a caller who may make it gets the body's verdict.
#[tokio::test]
async fn a_missing_or_forbidden_object_is_answered_before_a_bad_body() -> TestResult {
    use reqwest::Method;
    let app = spawn_app().await?;
    app.create_tenant("acme", Plan::Basic, false).await?;
    let [olga, ada, mia] =
        app.signed_in("acme", [("olga", Role::Owner), ("ada", Role::Admin), ("mia", Role::Member)]).await?;
    let created = |who: &taskforce_tests::Session, path: String, body: serde_json::Value| {
        let token = who.access.clone();
        let app = &app;
        async move {
            let (status, made) = app.answer(Method::POST, "acme", &token, &path, Some(body)).await?;
            assert_eq!(status, 201, "{path}: {made}");
            Ok::<_, Box<dyn std::error::Error>>(made)
        }
    };
    let olgas = created(&olga, "/api/projects/".into(), serde_json::json!({"name": "Roof"})).await?;
    let mias = created(&mia, "/api/projects/".into(), serde_json::json!({"name": "Shed"})).await?;
    let task =
        created(&olga, format!("/api/projects/{}/tasks/", olgas["id"]), serde_json::json!({"title": "Tiles"})).await?;
    let comment =
        created(&olga, format!("/api/tasks/{}/comments/", task["id"]), serde_json::json!({"body": "Red ones"})).await?;
    let (_, members) = json(app.get_as("acme", &olga.access, "/api/tenants/members/").send().await?).await?;
    let ids = app.membership_ids("acme", &olga.access).await?;
    let (olga_membership, mia_membership) = (ids["olga"], ids["mia"]);
    let missing = 987_654_321;
    // membership ids are shared by every tenant: another tenant's is missing here
    app.create_tenant("beta", Plan::Basic, false).await?;
    let [bob] = app.signed_in("beta", [("bob", Role::Member)]).await?;
    let (_, beta_members) = json(app.get_as("beta", &bob.access, "/api/tenants/members/").send().await?).await?;
    let beta_membership = app.membership_ids("beta", &bob.access).await?["bob"];

    // (method, path, caller, the status and code before any body is judged)
    let writes = [
        (Method::PATCH, format!("/api/projects/{missing}/"), &olga, 404, "not_found"),
        (Method::PUT, format!("/api/projects/{}/", olgas["id"]), &mia, 403, "permission_denied"),
        (Method::PATCH, format!("/api/projects/{}/", olgas["id"]), &mia, 403, "permission_denied"),
        (Method::POST, format!("/api/projects/{missing}/tasks/"), &mia, 404, "not_found"),
        (Method::PATCH, format!("/api/tasks/{missing}/"), &olga, 404, "not_found"),
        (Method::PUT, format!("/api/tasks/{}/", task["id"]), &mia, 403, "permission_denied"),
        (Method::PATCH, format!("/api/tasks/{}/", task["id"]), &mia, 403, "permission_denied"),
        (Method::POST, format!("/api/tasks/{missing}/comments/"), &mia, 404, "not_found"),
        (Method::PATCH, format!("/api/comments/{missing}/"), &mia, 404, "not_found"),
        (Method::PATCH, format!("/api/comments/{}/", comment["id"]), &ada, 403, "permission_denied"),
        (Method::PATCH, format!("/api/tenants/members/{missing}/"), &olga, 404, "not_found"),
        (Method::PATCH, format!("/api/tenants/members/{olga_membership}/"), &ada, 403, "permission_denied"),
        (Method::PATCH, format!("/api/tenants/members/{beta_membership}/"), &olga, 404, "not_found"),
    ];
    let bad_bodies = [
        ("application/json", "{oops"),
        ("text/plain", "hi"),
        ("application/json", r#"{"name": 5, "title": 5, "body": 5, "role": 5}"#),
        ("application/json", r#"{"name": "", "title": "", "body": "", "role": "king"}"#),
    ];
    for (method, path, who, status, code) in &writes {
        for (content_type, body) in bad_bodies {
            let sent =
                app.call_as(method.clone(), "acme", &who.access, path).header("content-type", content_type).body(body);
            let (answered, answer) = json(sent.send().await?).await?;
            assert_eq!(
                (answered, answer["error"]["code"].as_str()),
                (*status, Some(*code)),
                "{method} {path} with {content_type} {body}: {answer}"
            );
        }
    }

    // the same bad bodies from a caller who may make each write are judged
    let judged = [
        (Method::PATCH, format!("/api/projects/{}/", mias["id"]), &mia),
        (Method::POST, format!("/api/projects/{}/tasks/", olgas["id"]), &mia),
        (Method::PATCH, format!("/api/tasks/{}/", task["id"]), &olga),
        (Method::POST, format!("/api/tasks/{}/comments/", task["id"]), &mia),
        (Method::PATCH, format!("/api/comments/{}/", comment["id"]), &olga),
        (Method::PATCH, format!("/api/tenants/members/{mia_membership}/"), &ada),
    ];
    let verdicts = [
        (400, "invalid_json"),
        (415, "unsupported_media_type"),
        (400, "validation_failed"),
        (400, "validation_failed"),
    ];
    for (method, path, who) in &judged {
        for ((content_type, body), (status, code)) in bad_bodies.iter().zip(verdicts) {
            let sent = app
                .call_as(method.clone(), "acme", &who.access, path)
                .header("content-type", *content_type)
                .body(*body);
            let (answered, answer) = json(sent.send().await?).await?;
            assert_eq!((answered, answer["error"]["code"].as_str()), (status, Some(code)), "{method} {path}: {answer}");
        }
    }

    // nothing changed
    let (_, project) =
        json(app.get_as("acme", &olga.access, &format!("/api/projects/{}/", olgas["id"])).send().await?).await?;
    assert_eq!((project["name"].as_str(), &project["updated_at"]), (Some("Roof"), &olgas["updated_at"]), "{project}");
    let (_, projects) = json(app.get_as("acme", &olga.access, "/api/projects/").send().await?).await?;
    assert_eq!(projects["count"], 2, "{projects}");
    let (_, tasks) =
        json(app.get_as("acme", &olga.access, &format!("/api/projects/{}/tasks/", olgas["id"])).send().await?).await?;
    assert_eq!(tasks["count"], 1, "{tasks}");
    let (_, comments) =
        json(app.get_as("acme", &olga.access, &format!("/api/tasks/{}/comments/", task["id"])).send().await?).await?;
    assert_eq!(
        (comments["count"].as_u64(), comments["results"][0]["body"].as_str()),
        (Some(1), Some("Red ones")),
        "{comments}"
    );
    let (_, after) = json(app.get_as("acme", &olga.access, "/api/tenants/members/").send().await?).await?;
    assert_eq!(after, members, "no role changed");
    let (_, beta_after) = json(app.get_as("beta", &bob.access, "/api/tenants/members/").send().await?).await?;
    assert_eq!(beta_after, beta_members, "nothing changed in the other tenant");
    Ok(())
}

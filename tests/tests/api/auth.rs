//! Registration, login, throttling, and the error format of bad bodies.

use reqwest::StatusCode;
use taskforce_domain::{Plan, Role, StoreExt as _, UserId};
use taskforce_tests::{Answer, PASSWORD, TestApp, TestResult, answers, json, register_body, spawn_app, spawn_app_with};

#[tokio::test]
async fn registration_on_an_open_tenant_makes_a_member_and_signs_in() -> TestResult {
    let app = spawn_app().await?;
    app.create_tenant("open", Plan::Basic, true).await?;
    let mut body = register_body("newbie");
    // mass assignment: a role in the body changes nothing
    body["role"] = "owner".into();
    body["is_staff"] = true.into();
    let (status, created) = json(app.post("open.localhost", "/api/auth/register/").json(&body).send().await?).await?;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["username"], "newbie");
    assert_eq!(created["email"], "newbie@example.com");
    assert!(created["user_id"].as_i64().is_some());
    let access = created["access_token"].as_str().ok_or("no access token")?;
    assert!(created["refresh_token"].as_str().is_some_and(|t| t.len() > 20));
    assert!(!created.to_string().contains("argon2"));
    let (status, me) = json(app.get_as("open", access, "/api/auth/me/").send().await?).await?;
    assert_eq!(status, 200);
    assert_eq!(me["role"], "member");
    assert_eq!(me["tenant"]["slug"], "open");
    // the stored account is no staff member, whatever the body said
    let (stored, _) = app.store.read(|tx| tx.users().by_login("newbie"))?.ok_or("newbie was not stored")?;
    assert_eq!((Some(stored.id.0), stored.is_staff), (created["user_id"].as_i64(), false));
    Ok(())
}

#[tokio::test]
async fn registration_on_a_closed_tenant_is_refused_and_stores_nothing() -> TestResult {
    let app = spawn_app().await?;
    app.create_tenant("closed", Plan::Basic, false).await?;
    let (status, body) =
        json(app.post("closed.localhost", "/api/auth/register/").json(&register_body("intruder")).send().await?)
            .await?;
    assert_eq!((status, body["error"]["code"].as_str()), (403, Some("signup_closed")));
    let login = app
        .post("closed.localhost", "/api/auth/login/")
        .json(&serde_json::json!({"username": "intruder", "password": "Sturdy-passphrase-42"}))
        .send()
        .await?;
    assert_eq!(login.status(), StatusCode::UNAUTHORIZED);
    // no account was made either (a member-less one would also fail to log in)
    assert!(app.store.read(|tx| tx.users().by_login("intruder"))?.is_none(), "an account was stored");
    Ok(())
}

/// Open signup on a free tenant (3 members) with its owner alone: ten
/// registrations at once make exactly two members, and the refused ones
/// leave no account behind (their names stay free).
#[tokio::test]
async fn ten_simultaneous_registrations_on_a_free_open_tenant_make_exactly_two_members() -> TestResult {
    let app = spawn_app().await?;
    app.create_tenant("open", Plan::Free, true).await?;
    app.member("open", "olga", Role::Owner).await?;
    let requests = (0..10).map(|i| {
        app.post("open.localhost", "/api/auth/register/").json(&register_body(&format!("newcomer{i}"))).send()
    });
    let answers = answers(requests).await?;
    let joined: Vec<String> =
        answers.iter().filter(|a| a.0 == 201).filter_map(|a| a.1["username"].as_str().map(str::to_owned)).collect();
    assert_eq!(joined.len(), 2, "{answers:?}");
    assert!(
        answers.iter().filter(|a| a.0 != 201).all(|a| a.0 == 403 && a.1["error"]["code"] == "plan_limit_exceeded"),
        "{answers:?}"
    );
    let owner = app.login("open", "olga").await?;
    let (_, members) = json(app.get_as("open", &owner.access, "/api/tenants/members/").send().await?).await?;
    let mut names: Vec<&str> =
        members["results"].as_array().ok_or("results")?.iter().filter_map(|m| m["username"].as_str()).collect();
    names.sort_unstable();
    let mut expected: Vec<&str> = joined.iter().map(String::as_str).chain(["olga"]).collect();
    expected.sort_unstable();
    assert_eq!(names, expected);
    // a refused name was not kept: it registers on another open tenant
    let refused = (0..10).map(|i| format!("newcomer{i}")).find(|n| !joined.contains(n)).ok_or("none refused")?;
    app.create_tenant("other", Plan::Basic, true).await?;
    let (status, body) =
        json(app.post("other.localhost", "/api/auth/register/").json(&register_body(&refused)).send().await?).await?;
    assert_eq!(status, 201, "{refused}: {body}");
    Ok(())
}

#[tokio::test]
async fn password_and_field_rules_answer_field_by_field() -> TestResult {
    let app = spawn_app().await?;
    app.create_tenant("open", Plan::Basic, true).await?;
    let cases = [
        (
            serde_json::json!({"username": "bob", "email": "bob@example.com", "password": "short", "password_confirm": "short"}),
            "password",
            "This password is too short. It must contain at least 8 characters.",
        ),
        (
            serde_json::json!({"username": "bob", "email": "bob@example.com", "password": "7741920385", "password_confirm": "7741920385"}),
            "password",
            "This password is entirely numeric.",
        ),
        (
            serde_json::json!({"username": "bob", "email": "bob@example.com", "password": "password123", "password_confirm": "password123"}),
            "password",
            "This password is too common.",
        ),
        (
            serde_json::json!({"username": "bobbybrown", "email": "x@example.com", "password": "bobbybrown1", "password_confirm": "bobbybrown1"}),
            "password",
            "The password is too similar to the username.",
        ),
        (
            serde_json::json!({"username": "bob", "email": "bob@example.com", "password": "Sturdy-passphrase-42", "password_confirm": "Other-passphrase-42"}),
            "password_confirm",
            "The two password fields didn't match.",
        ),
        (
            serde_json::json!({"username": "bob smith", "email": "bob@example.com", "password": "Sturdy-passphrase-42", "password_confirm": "Sturdy-passphrase-42"}),
            "username",
            "Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters.",
        ),
        (
            serde_json::json!({"username": "bob", "email": "not-an-address", "password": "Sturdy-passphrase-42", "password_confirm": "Sturdy-passphrase-42"}),
            "email",
            "Enter a valid email address.",
        ),
        (
            serde_json::json!({"username": "bob", "password": "Sturdy-passphrase-42", "password_confirm": "Sturdy-passphrase-42"}),
            "email",
            "This field is required.",
        ),
        (
            serde_json::json!({"username": 5, "email": "bob@example.com", "password": "Sturdy-passphrase-42", "password_confirm": "Sturdy-passphrase-42"}),
            "username",
            "",
        ),
    ];
    for (body, field, message) in cases {
        let (status, answer) =
            json(app.post("open.localhost", "/api/auth/register/").json(&body).send().await?).await?;
        assert_eq!(status, 400, "{body}: {answer}");
        assert_eq!(answer["error"]["code"], "validation_failed", "{answer}");
        let messages = answer["error"]["fields"][field].as_array().ok_or_else(|| format!("no {field} in {answer}"))?;
        if !message.is_empty() {
            assert!(messages.iter().any(|m| m == message), "{field}: {answer}");
        }
    }
    // taken names are field errors too, whatever their case
    let (status, _) =
        json(app.post("open.localhost", "/api/auth/register/").json(&register_body("carol")).send().await?).await?;
    assert_eq!(status, 201);
    let mut again = register_body("CAROL");
    again["email"] = "other@example.com".into();
    let (status, answer) = json(app.post("open.localhost", "/api/auth/register/").json(&again).send().await?).await?;
    assert_eq!(
        (status, answer["error"]["fields"]["username"][0].as_str()),
        (400, Some("A user with that username already exists."))
    );
    // spaces around a name are trimmed, as DRF's CharField trims them: the
    // name is taken already, and the trimmed one is stored
    let mut padded = register_body("carol");
    padded["username"] = " carol\t".into();
    padded["email"] = "padded@example.com".into();
    let (status, answer) = json(app.post("open.localhost", "/api/auth/register/").json(&padded).send().await?).await?;
    assert_eq!(
        (status, answer["error"]["fields"]["username"][0].as_str()),
        (400, Some("A user with that username already exists.")),
        "{answer}"
    );
    let mut padded = register_body("erin");
    padded["username"] = "  erin ".into();
    let (status, answer) = json(app.post("open.localhost", "/api/auth/register/").json(&padded).send().await?).await?;
    assert_eq!((status, answer["username"].as_str()), (201, Some("erin")), "{answer}");
    let mut same_mail = register_body("dave");
    same_mail["email"] = "CAROL@EXAMPLE.COM".into();
    let (status, answer) =
        json(app.post("open.localhost", "/api/auth/register/").json(&same_mail).send().await?).await?;
    assert_eq!(
        (status, answer["error"]["fields"]["email"][0].as_str()),
        (400, Some("A user with that email already exists."))
    );
    // a look-alike of a taken name (full-width letters) is that name, as
    // Django's normalize_username (NFKC) made it: taken too; a new one is
    // kept in its plain form
    let mut look_alike = register_body("fred");
    look_alike["username"] = "ｃａｒｏｌ".into();
    let (status, answer) =
        json(app.post("open.localhost", "/api/auth/register/").json(&look_alike).send().await?).await?;
    assert_eq!(
        (status, answer["error"]["fields"]["username"][0].as_str()),
        (400, Some("A user with that username already exists.")),
        "{answer}"
    );
    look_alike["username"] = "Ｆｒｅｄ".into();
    let (status, answer) =
        json(app.post("open.localhost", "/api/auth/register/").json(&look_alike).send().await?).await?;
    assert_eq!((status, answer["username"].as_str()), (201, Some("Fred")), "{answer}");
    // an address whose domain is another spelling of a taken one's is taken
    let mut same_mailbox = register_body("gina");
    same_mailbox["email"] = "carol@ＥＸＡＭＰＬＥ.com".into();
    let (status, answer) =
        json(app.post("open.localhost", "/api/auth/register/").json(&same_mailbox).send().await?).await?;
    assert_eq!(
        (status, answer["error"]["fields"]["email"][0].as_str()),
        (400, Some("A user with that email already exists.")),
        "{answer}"
    );
    Ok(())
}

#[tokio::test]
async fn login_answers_the_same_for_every_kind_of_failure() -> TestResult {
    let app = spawn_app().await?;
    app.create_tenant("acme", Plan::Basic, false).await?;
    app.create_tenant("other", Plan::Basic, false).await?;
    app.member("acme", "ann", Role::Member).await?;
    app.member("other", "olaf", Role::Member).await?;
    // by user name and by e-mail, any case
    assert!(app.login("acme", "ann").await?.user_id > 0);
    let by_mail = app
        .post("acme.localhost", "/api/auth/login/")
        .json(&serde_json::json!({"username": "ANN@example.com", "password": PASSWORD}))
        .send()
        .await?;
    assert_eq!(by_mail.status(), StatusCode::OK);
    let expected = serde_json::json!({"error": {"code": "invalid_credentials", "message": "Unable to log in with the provided credentials."}});
    for (username, password) in [("nobody", PASSWORD), ("ann", "wrong-password-1"), ("olaf", PASSWORD)] {
        let (status, body) = json(
            app.post("acme.localhost", "/api/auth/login/")
                .json(&serde_json::json!({"username": username, "password": password}))
                .send()
                .await?,
        )
        .await?;
        assert_eq!((status, &body), (401, &expected), "{username}");
    }
    Ok(())
}

/// The per-client limit counts the TCP peer: from a peer that is no trusted
/// proxy, `X-Forwarded-For` (and a new name each time) resets nothing; behind
/// a trusted proxy each forwarded client has a count of its own.
#[tokio::test]
async fn the_client_limit_counts_the_peer_unless_a_trusted_proxy_forwards() -> TestResult {
    for trusted in [false, true] {
        let app = spawn_app_with(|settings| {
            if trusted {
                settings.server.trusted_proxies = vec![std::net::IpAddr::from([127, 0, 0, 1])];
            }
        })
        .await?;
        app.create_tenant("acme", Plan::Basic, false).await?;
        let limit = app.settings.auth.login_max_failures_per_client;
        let attempt = |name: String, forwarded: String| {
            app.post("acme.localhost", "/api/auth/login/")
                .header("X-Forwarded-For", forwarded)
                .json(&serde_json::json!({"username": name, "password": "guess-guess-1"}))
                .send()
        };
        // one failure from each of `limit` forwarded addresses, each on its own name
        for n in 0..limit {
            let (status, body) = json(attempt(format!("nobody{n}"), format!("203.0.113.{n}")).await?).await?;
            assert_eq!((status, body["error"]["code"].as_str()), (401, Some("invalid_credentials")), "{n}");
        }
        let (status, body) = json(attempt("newcomer".into(), "198.51.100.9".into()).await?).await?;
        let expected = if trusted { (401, "invalid_credentials") } else { (429, "rate_limited") };
        assert_eq!((status, body["error"]["code"].as_str()), (expected.0, Some(expected.1)), "trusted: {trusted}");
        if trusted {
            // the forwarded client 198.51.100.9 has its own count: one more
            // failure than the limit allows, and only it waits
            for n in 1..limit {
                let (status, _) = json(attempt(format!("again{n}"), "198.51.100.9".into()).await?).await?;
                assert_eq!(status, 401, "failure {n} of 198.51.100.9");
            }
            let (status, body) = json(attempt("last".into(), "198.51.100.9".into()).await?).await?;
            assert_eq!((status, body["error"]["code"].as_str()), (429, Some("rate_limited")));
            // a client-written address left of the proxy's entry is not the client
            let (status, body) = json(attempt("other".into(), "198.51.100.9, 203.0.113.200".into()).await?).await?;
            assert_eq!((status, body["error"]["code"].as_str()), (401, Some("invalid_credentials")));
        }
    }
    Ok(())
}

#[tokio::test]
async fn brute_force_is_throttled_with_retry_after_and_forwarded_for_does_not_reset_it() -> TestResult {
    let app = spawn_app().await?;
    app.create_tenant("acme", Plan::Basic, false).await?;
    app.member("acme", "ann", Role::Member).await?;
    let attempt = |forwarded: Option<&str>| {
        let mut request = app
            .post("acme.localhost", "/api/auth/login/")
            .json(&serde_json::json!({"username": "ann", "password": "guess-guess-1"}));
        if let Some(address) = forwarded {
            request = request.header("X-Forwarded-For", address);
        }
        request.send()
    };
    for _ in 0..5 {
        assert_eq!(attempt(None).await?.status(), StatusCode::UNAUTHORIZED);
    }
    for forwarded in [None, Some("203.0.113.7"), Some("198.51.100.1, 203.0.113.9")] {
        let response = attempt(forwarded).await?;
        let retry =
            response.headers().get("retry-after").and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
        let (status, body) = json(response).await?;
        assert_eq!((status, body["error"]["code"].as_str()), (429, Some("rate_limited")), "{forwarded:?}");
        assert!(retry.is_some_and(|s| (1..=900).contains(&s)), "{retry:?}");
    }
    // even the right password waits
    let right = app
        .post("acme.localhost", "/api/auth/login/")
        .json(&serde_json::json!({"username": "ann", "password": PASSWORD}))
        .send()
        .await?;
    assert_eq!(right.status(), StatusCode::TOO_MANY_REQUESTS);
    Ok(())
}

/// The answer to a login on `acme.localhost`.
async fn login_answer(app: &TestApp, username: &str, password: &str) -> Result<Answer, Box<dyn std::error::Error>> {
    let sent = app
        .post("acme.localhost", "/api/auth/login/")
        .json(&serde_json::json!({"username": username, "password": password}))
        .send()
        .await?;
    json(sent).await
}

/// Guesses sent all at once: each is counted before its password is
/// checked, so no more than the limit get an answer about the password.
#[tokio::test]
async fn a_burst_of_simultaneous_guesses_gets_no_more_answers_than_the_limit() -> TestResult {
    let app = spawn_app().await?;
    app.create_tenant("acme", Plan::Basic, false).await?;
    app.member("acme", "ann", Role::Member).await?;
    let limit = app.settings.auth.login_max_failures;
    let guess = |n: u32| {
        app.post("acme.localhost", "/api/auth/login/")
            .json(&serde_json::json!({"username": "ann", "password": format!("guess-guess-{n}")}))
            .send()
    };
    let burst = answers((0..limit * 3).map(guess)).await?;
    let judged = burst.iter().filter(|(status, _)| *status == 401).count();
    let throttled =
        burst.iter().filter(|(status, body)| *status == 429 && body["error"]["code"] == "rate_limited").count();
    assert_eq!((judged, throttled), (limit as usize, 2 * limit as usize), "{burst:?}");
    // the right password waits for the window too
    let (status, body) = login_answer(&app, "ann", PASSWORD).await?;
    assert_eq!((status, body["error"]["code"].as_str()), (429, Some("rate_limited")), "{body}");
    Ok(())
}

/// `POST /api/invitations/accept/` on a tenant an attacker made is no way
/// to test someone's password: a token that is no pending invitation there
/// is refused before any password is looked at, and counts nothing.
#[tokio::test]
async fn accepting_without_an_invitation_tests_no_password() -> TestResult {
    let app = spawn_app().await?;
    app.create_tenant("acme", Plan::Basic, false).await?;
    app.create_tenant("evil", Plan::Basic, false).await?;
    app.member("acme", "ann", Role::Member).await?;
    let accept = |password: &str| {
        app.post("evil.localhost", "/api/invitations/accept/")
            .json(&serde_json::json!({"token": "made-up", "username": "ann", "password": password}))
            .send()
    };
    let limit = app.settings.auth.login_max_failures;
    let mut seen = Vec::new();
    for n in 0..=limit {
        let password = if n == limit { PASSWORD.to_owned() } else { format!("guess-guess-{n}") };
        seen.push(json(accept(&password).await?).await?);
    }
    for (status, body) in &seen {
        assert_eq!(
            (*status, body["error"]["fields"]["token"][0].as_str()),
            (400, Some("This invitation is invalid or has expired.")),
            "{body}"
        );
    }
    let (status, body) = login_answer(&app, "ann", PASSWORD).await?;
    assert_eq!(status, 200, "nothing was counted against ann: {body}");
    Ok(())
}

#[tokio::test]
async fn bad_bodies_answer_in_the_error_format() -> TestResult {
    let app = spawn_app().await?;
    app.create_tenant("acme", Plan::Basic, false).await?;
    let url = "/api/auth/login/";
    let (status, body) = json(
        app.post("acme.localhost", url)
            .header("content-type", "application/json")
            .body("{\"username\": ")
            .send()
            .await?,
    )
    .await?;
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("invalid_json")));
    let (status, body) =
        json(app.post("acme.localhost", url).header("content-type", "application/json").body("[1, 2]").send().await?)
            .await?;
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("invalid_json")));
    let (status, body) =
        json(app.post("acme.localhost", url).header("content-type", "text/plain").body("username=a").send().await?)
            .await?;
    assert_eq!((status, body["error"]["code"].as_str()), (415, Some("unsupported_media_type")));
    // no body at all, whatever its declared type, reads as `{}` (as DRF
    // reads it): each required field is named
    for content_type in [None, Some("application/json"), Some("text/plain")] {
        let mut request = app.post("acme.localhost", url);
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        let (status, body) = json(request.send().await?).await?;
        assert_eq!((status, body["error"]["code"].as_str()), (400, Some("validation_failed")), "{content_type:?}");
        assert_eq!(body["error"]["fields"]["username"][0], "This field is required.", "{body}");
        assert_eq!(body["error"]["fields"]["password"][0], "This field is required.", "{body}");
    }
    // just over 1 MiB is refused; just under is read (and judged on its content)
    let over = format!("{{\"username\": \"{}\"}}", "a".repeat((1 << 20) + 10));
    let (status, body) =
        json(app.post("acme.localhost", url).header("content-type", "application/json").body(over).send().await?)
            .await?;
    assert_eq!((status, body["error"]["code"].as_str()), (413, Some("payload_too_large")));
    let under = format!("{{\"username\": \"{}\"}}", "a".repeat(600_000));
    let (status, body) =
        json(app.post("acme.localhost", url).header("content-type", "application/json").body(under).send().await?)
            .await?;
    assert_eq!((status, body["error"]["fields"]["password"][0].as_str()), (400, Some("This field is required.")));
    let huge = format!("{{\"username\": \"{}\"}}", "a".repeat(1 << 21));
    let (status, body) =
        json(app.post("acme.localhost", url).header("content-type", "application/json").body(huge).send().await?)
            .await?;
    assert_eq!((status, body["error"]["code"].as_str()), (413, Some("payload_too_large")));
    let (status, body) =
        json(app.post("acme.localhost", url).json(&serde_json::json!({"username": "a"})).send().await?).await?;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["fields"]["password"][0], "This field is required.");
    // blank fields are refused as DRF refuses them, before any account is
    // looked up: they cost no attempt of the limit
    app.member("acme", "bea", Role::Member).await?;
    for _ in 0..app.settings.auth.login_max_failures + 1 {
        for blank in [
            serde_json::json!({"username": "bea", "password": "   "}),
            serde_json::json!({"username": " ", "password": PASSWORD}),
        ] {
            let (status, body) = json(app.post("acme.localhost", url).json(&blank).send().await?).await?;
            let field = if blank["username"] == "bea" { "password" } else { "username" };
            assert_eq!(
                (status, body["error"]["fields"][field][0].as_str()),
                (400, Some("This field may not be blank.")),
                "{blank}: {body}"
            );
        }
    }
    let (status, body) = login_answer(&app, "bea", PASSWORD).await?;
    assert_eq!(status, 200, "{body}");
    let register = serde_json::json!({"username": "newbie", "email": "", "password": "Sturdy-passphrase-42",
        "password_confirm": " "});
    let (status, body) = json(app.post("acme.localhost", "/api/auth/register/").json(&register).send().await?).await?;
    assert_eq!(
        (status, &body["error"]["fields"]["email"][0], &body["error"]["fields"]["password_confirm"][0]),
        (400, &serde_json::json!("This field may not be blank."), &serde_json::json!("This field may not be blank.")),
        "{body}"
    );
    Ok(())
}

#[tokio::test]
async fn an_account_brought_over_with_its_django_hash_logs_in_and_the_hash_becomes_argon2id() -> TestResult {
    let app = spawn_app().await?;
    app.create_tenant("acme", Plan::Free, false).await?;
    let dora = UserId(app.member("acme", "dora", Role::Member).await?);
    // made by Django 5.2: PBKDF2PasswordHasher().encode("Django-era-passphrase-7", "pepperpot", 20000)
    let django = "pbkdf2_sha256$20000$pepperpot$YSjUJKuVjsBg/nzaLdINdOLc5a4sskowvgP7aRRtrkA=";
    let stored = || -> Result<String, Box<dyn std::error::Error>> {
        let found = app.store.read(|tx| tx.users().by_login("dora"))?;
        Ok(found.map(|(_, hash)| hash).ok_or("dora is missing")?)
    };
    let argon2 = stored()?;
    assert!(app.store.platform(|tx| tx.users().replace_password_hash(dora, &argon2, django))?);
    assert!(!app.store.platform(|tx| tx.users().replace_password_hash(dora, &argon2, "other"))?, "old is gone");
    let login = |password: &'static str| {
        app.post("acme.localhost", "/api/auth/login/")
            .json(&serde_json::json!({"username": "dora", "password": password}))
            .send()
    };

    let (status, body) = json(login("Django-era-passphrase-8").await?).await?;
    assert_eq!((status, &body["error"]["code"]), (401, &serde_json::json!("invalid_credentials")));
    assert_eq!(stored()?, django, "a failed login leaves the hash");

    let (status, body) = json(login("Django-era-passphrase-7").await?).await?;
    assert_eq!((status, body["user_id"].as_i64()), (200, Some(dora.0)), "{body}");
    let (status, me) =
        json(app.get_as("acme", body["access_token"].as_str().unwrap_or_default(), "/api/auth/me/").send().await?)
            .await?;
    assert_eq!((status, &me["username"]), (200, &serde_json::json!("dora")), "{me}");
    let upgraded = stored()?;
    assert!(upgraded.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{upgraded}");

    let (status, _) = json(login("Django-era-passphrase-7").await?).await?;
    assert_eq!((status, stored()?), (200, upgraded), "the same password logs in, and the new hash stays");
    Ok(())
}

#[tokio::test]
async fn every_401_carries_a_bearer_challenge_naming_a_bad_token() -> TestResult {
    let app = spawn_app().await?;
    app.create_tenant("acme", Plan::Free, false).await?;
    app.member("acme", "ann", Role::Member).await?;
    let challenge = |response: &reqwest::Response| {
        let header = response.headers().get("www-authenticate").and_then(|v| v.to_str().ok()).map(str::to_owned);
        (response.status().as_u16(), header)
    };
    let plain = Some(r#"Bearer realm="api""#.to_owned());
    let bad_token = Some(r#"Bearer realm="api", error="invalid_token""#.to_owned());

    let no_header = app.get("acme.localhost", "/api/auth/me/").send().await?;
    assert_eq!(challenge(&no_header), (401, plain.clone()));
    let forged = app.get_as("acme", "eyJhbGciOiJIUzI1NiJ9.e30.c2lnbmF0dXJl", "/api/auth/me/").send().await?;
    assert_eq!(challenge(&forged), (401, bad_token));
    let wrong_password = app
        .post("acme.localhost", "/api/auth/login/")
        .json(&serde_json::json!({"username": "ann", "password": "wrong-password-1"}))
        .send()
        .await?;
    assert_eq!(challenge(&wrong_password), (401, plain));
    // answers that are not 401 carry none
    let ok = app.get_as("acme", &app.login("acme", "ann").await?.access, "/api/auth/me/").send().await?;
    assert_eq!(challenge(&ok), (200, None));
    Ok(())
}

/// Login takes a user name or an e-mail address, so neither may be another
/// account's other one: a newcomer named after a member's address would
/// take over that member's login by address (found by a black-box probe).
/// Refused at registration, either way round and in any case, and racing
/// registrations that would clash cannot both pass.
#[tokio::test]
async fn a_user_name_may_not_be_another_account_s_address_nor_the_reverse() -> TestResult {
    let app = spawn_app().await?;
    app.create_tenant("open", Plan::Basic, true).await?;
    app.member("open", "ada", Role::Admin).await?;
    let register = |username: &str, email: &str| {
        let mut body = register_body(username);
        body["email"] = email.into();
        app.post("open.localhost", "/api/auth/register/").json(&body).send()
    };
    let (status, body) = json(register("ADA@example.com", "squat@example.net").await?).await?;
    assert_eq!(
        (status, body["error"]["fields"]["username"][0].as_str()),
        (400, Some("A user with that username already exists.")),
        "{body}"
    );
    // an account whose user name is an address keeps it from others' addresses
    let (status, body) = json(register("mail@corp.example", "mail.owner@example.com").await?).await?;
    assert_eq!(status, 201, "{body}");
    let (status, body) = json(register("someone", "Mail@Corp.example").await?).await?;
    assert_eq!(
        (status, body["error"]["fields"]["email"][0].as_str()),
        (400, Some("A user with that email already exists.")),
        "{body}"
    );
    // one's own address as one's user name is fine
    let (status, body) = json(register("me@home.example", "me@home.example").await?).await?;
    assert_eq!(status, 201, "{body}");

    // two newcomers at once, each naming themselves after the other's address
    let (a, b) = tokio::join!(register("x@one.example", "y@two.example"), register("y@two.example", "x@one.example"));
    let mut statuses = vec![a?.status().as_u16(), b?.status().as_u16()];
    statuses.sort_unstable();
    assert_eq!(statuses, [201, 400]);
    // either name finds the one account the winner made (as its user name or its address)
    let mut stored: Vec<i64> = Vec::new();
    for login in ["x@one.example", "y@two.example"] {
        stored.extend(app.store.read(|tx| tx.users().by_login(login))?.map(|(user, _)| user.id.0));
    }
    stored.dedup();
    assert_eq!(stored.len(), 1, "exactly one of the two accounts was stored: {stored:?}");

    // ada still logs in by her address, as herself
    let login = serde_json::json!({"username": "ADA@EXAMPLE.COM", "password": PASSWORD});
    let (status, tokens) = json(app.post("open.localhost", "/api/auth/login/").json(&login).send().await?).await?;
    assert_eq!(status, 200, "{tokens}");
    let token = tokens["access_token"].as_str().ok_or("no token")?;
    let (_, me) = json(app.get_as("open", token, "/api/auth/me/").send().await?).await?;
    assert_eq!(me["username"], "ada", "{me}");
    // the refused registrations stored nothing that logs in
    for refused in ["squat@example.net", "someone"] {
        let login = serde_json::json!({"username": refused, "password": "Sturdy-passphrase-42"});
        let (status, body) = json(app.post("open.localhost", "/api/auth/login/").json(&login).send().await?).await?;
        assert_eq!((status, body["error"]["code"].as_str()), (401, Some("invalid_credentials")), "{refused}: {body}");
        // nor anything at all (an account with no membership fails to log in too)
        assert!(app.store.read(|tx| tx.users().by_login(refused))?.is_none(), "{refused} was stored");
    }
    Ok(())
}

/// Passwords are read without the white space around them, as DRF's
/// `CharField` and simplejwt's `PasswordField` read them: what a user typed
/// on the Django product (whose hashes are brought over) logs in here too.
#[tokio::test]
async fn a_password_is_read_without_the_white_space_around_it() -> TestResult {
    let app = spawn_app().await?;
    app.create_tenant("open", taskforce_domain::Plan::Basic, true).await?;
    let mut body = register_body("padded");
    body["password"] = "  Sturdy-passphrase-42 ".into();
    body["password_confirm"] = "Sturdy-passphrase-42\t".into();
    let (status, created) = json(app.post("open.localhost", "/api/auth/register/").json(&body).send().await?).await?;
    assert_eq!(status, 201, "{created}");
    for typed in ["Sturdy-passphrase-42", " Sturdy-passphrase-42 ", "\tSturdy-passphrase-42\n"] {
        let login = serde_json::json!({"username": "padded", "password": typed});
        let (status, answer) = json(app.post("open.localhost", "/api/auth/login/").json(&login).send().await?).await?;
        assert_eq!(status, 200, "{typed:?}: {answer}");
    }
    // inside the password a space counts
    let login = serde_json::json!({"username": "padded", "password": "Sturdy- passphrase-42"});
    let (status, _) = json(app.post("open.localhost", "/api/auth/login/").json(&login).send().await?).await?;
    assert_eq!(status, 401);
    Ok(())
}

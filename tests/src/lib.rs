//! Test support for the black-box suite: [`spawn_app`] starts the real
//! server on a free port against a database of its own, and [`TestApp`]
//! talks to it over HTTP with whatever `Host` header a test needs.

pub mod files;
mod redis;
mod s3;

use std::{path::PathBuf, sync::Arc};

pub use redis::{TestRedis, redis_server};
pub use s3::{BUCKET, TestS3, moto_server};

use secrecy::{ExposeSecret, SecretString};
use taskforce_application::{AccountInput, Accounts, TenantAdmin};
use taskforce_auth::{Argon2Hasher, HashCost};
use taskforce_cli::{Application, Environment, Settings};
use taskforce_domain::{HostName, NewTenant, Plan, Role, Slug, Store, Tenant, TenantName, Username};
use taskforce_persistence::{PgStore, PoolSettings, TenantMigrator, build_pool};
use taskforce_pgcluster::TestDatabase;

/// Any test's result.
pub type TestResult = Result<(), Box<dyn std::error::Error>>;

/// A running server with its own database.
#[derive(Debug)]
pub struct TestApp {
    /// `http://127.0.0.1:<port>`.
    pub address: String,
    /// The bound port.
    pub port: u16,
    /// An HTTP client that does not follow redirects.
    pub client: reqwest::Client,
    /// Use cases over the same database, for setting up tenants.
    pub admin: TenantAdmin,
    /// The store over the same database, for checks behind the API.
    pub store: Arc<PgStore>,
    /// Account creation over the same database.
    pub accounts: Accounts,
    /// Where the server's file mailer writes `.eml` files.
    pub mail_dir: tempfile::TempDir,
    /// The local file store's root (shared with a twin).
    pub files_dir: Arc<tempfile::TempDir>,
    /// The private Redis the server uses, when it uses one.
    pub redis: Option<TestRedis>,
    /// The settings it runs with (a twin runs with the same).
    pub settings: Settings,
    handle: actix_web::dev::ServerHandle,
    // dropped last: the database outlives the server's connections
    db: Arc<TestDatabase>,
}

/// The repository's `config/` folder.
pub fn config_dir() -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../config").display().to_string()
}

/// Test settings for a database URL: any free port, one worker per core,
/// migrations at start, no development tenant, and no Redis (each test that
/// wants one starts its own: test databases would collide in a shared one).
pub fn settings_for(url: &str) -> Result<Settings, Box<dyn std::error::Error>> {
    let mut settings = Settings::load_for(Environment::Test, &config_dir())?;
    settings.database.url = SecretString::from(url.to_owned());
    settings.redis.url = SecretString::from(String::new());
    settings.server.host = "127.0.0.1".into();
    settings.server.port = 0;
    settings.server.shutdown_timeout_secs = 5;
    settings.tenancy.ensure_dev_tenant = false;
    Ok(settings)
}

/// Starts the server against a fresh database.
pub async fn spawn_app() -> Result<TestApp, Box<dyn std::error::Error>> {
    spawn_app_with(|_| {}).await
}

/// How the suite runs its servers, from `TASKFORCE_TEST_REDIS`: unset or
/// `off` for the in-process cache; `private` for a Redis of each server's
/// own; `stopped` and `frozen` for one that is then killed or SIGSTOPped
/// before the test starts (the server must answer correctly without it).
fn redis_mode() -> String {
    std::env::var("TASKFORCE_TEST_REDIS").unwrap_or_default()
}

/// Starts the server against a fresh database, after `adjust` has changed
/// the test settings.
pub async fn spawn_app_with(adjust: impl FnOnce(&mut Settings)) -> Result<TestApp, Box<dyn std::error::Error>> {
    let db = tokio::task::spawn_blocking(TestDatabase::create).await??;
    let mail_dir = tempfile::tempdir()?;
    let files_dir = Arc::new(tempfile::tempdir()?);
    let mut settings = settings_for(db.url())?;
    settings.mail.transport = "file".into();
    settings.mail.file_dir = mail_dir.path().to_path_buf();
    settings.storage.root = files_dir.path().to_path_buf();
    let mode = redis_mode();
    let mut redis = match mode.as_str() {
        "" | "off" => None,
        "private" | "stopped" | "frozen" => {
            Some(TestRedis::start()?.ok_or("TASKFORCE_TEST_REDIS is set but redis-server is not installed")?)
        }
        other => return Err(format!("TASKFORCE_TEST_REDIS={other:?}: expected off, private, stopped or frozen").into()),
    };
    if let Some(redis) = &redis {
        settings.redis.url = SecretString::from(redis.url());
    }
    adjust(&mut settings);
    let db = Arc::new(db);
    let mut app = start(settings, db, mail_dir, files_dir).await?;
    match (mode.as_str(), redis.as_mut()) {
        ("stopped", Some(redis)) => redis.stop()?,
        ("frozen", Some(redis)) => redis.freeze()?,
        _ => {}
    }
    app.redis = redis;
    Ok(app)
}

/// Builds and starts a server for these settings and database.
async fn start(
    settings: Settings,
    db: Arc<TestDatabase>,
    mail_dir: tempfile::TempDir,
    files_dir: Arc<tempfile::TempDir>,
) -> Result<TestApp, Box<dyn std::error::Error>> {
    let app = Application::build(&settings).await?;
    let port = app.port();
    let handle = app.handle();
    tokio::spawn(app.run_until_stopped());
    // the server's own database (a test may point it elsewhere than `db`)
    let mut pool_settings = PoolSettings::new(settings.database.url.expose_secret());
    pool_settings.max_size = 4;
    // behind PgBouncer in transaction mode prepared statements are off
    pool_settings.statement_cache = settings.database.statement_cache;
    let store = Arc::new(
        PgStore::new(build_pool(&pool_settings)?, TenantMigrator::embedded()?)
            .with_fresh_provisioning_connections(pool_settings.clone()),
    );
    let dyn_store: Arc<dyn Store> = store.clone();
    let hasher = Arc::new(Argon2Hasher::new(HashCost::OWASP_MINIMUM)?);
    // operators' changes drop the shared cache entries, as tenant-admin's do
    let cache = taskforce_cli::services::Shared::for_operator(&settings)?.access_cache(&settings);
    Ok(TestApp {
        accounts: Accounts::new(dyn_store.clone(), hasher),
        mail_dir,
        files_dir,
        redis: None,
        address: format!("http://127.0.0.1:{port}"),
        port,
        // actix-web closes a keep-alive connection after 5 idle seconds; a
        // client that reuses one just then gets a reset instead of an answer,
        // so the tests' client retires idle connections well before that
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .pool_idle_timeout(std::time::Duration::from_secs(2))
            .build()?,
        admin: TenantAdmin::new(dyn_store)
            .with_cache(cache)
            .with_files(taskforce_cli::services::file_store(&settings.storage)?),
        store,
        settings,
        handle,
        db,
    })
}

impl TestApp {
    /// A second server instance on the same database (and Redis, if any),
    /// as behind a load balancer.
    pub async fn twin(&self) -> Result<TestApp, Box<dyn std::error::Error>> {
        start(self.settings.clone(), self.db.clone(), tempfile::tempdir()?, self.files_dir.clone()).await
    }

    /// A request to `path` with the given `Host` header.
    pub fn request(&self, method: reqwest::Method, host: &str, path: &str) -> reqwest::RequestBuilder {
        self.client.request(method, format!("{}{path}", self.address)).header(reqwest::header::HOST, host)
    }

    /// `GET path` on `host`.
    pub fn get(&self, host: &str, path: &str) -> reqwest::RequestBuilder {
        self.request(reqwest::Method::GET, host, path)
    }

    /// `POST path` on `host`.
    pub fn post(&self, host: &str, path: &str) -> reqwest::RequestBuilder {
        self.request(reqwest::Method::POST, host, path)
    }

    /// Creates a tenant with the domain `<slug>.localhost` (blocking work on
    /// the blocking pool).
    pub async fn create_tenant(
        &self,
        slug: &str,
        plan: Plan,
        allow_signup: bool,
    ) -> Result<Tenant, Box<dyn std::error::Error>> {
        let admin = self.admin.clone();
        let new = NewTenant {
            slug: Slug::parse(slug)?,
            name: TenantName::parse(&format!("Tenant {slug}"))?,
            plan,
            allow_signup,
            domains: vec![HostName::parse(&format!("{slug}.localhost"))?],
        };
        Ok(tokio::task::spawn_blocking(move || admin.create(&new)).await??)
    }

    /// Creates an account with [`PASSWORD`]; returns its id.
    pub async fn create_user(&self, username: &str) -> Result<i64, Box<dyn std::error::Error>> {
        let accounts = self.accounts.clone();
        let input = AccountInput {
            username: username.to_owned(),
            email: format!("{username}@example.com"),
            password: PASSWORD.to_owned(),
            is_staff: false,
        };
        Ok(tokio::task::spawn_blocking(move || accounts.create(&input)).await??.id.0)
    }

    /// Gives an account a role in a tenant.
    pub async fn add_member(&self, slug: &str, username: &str, role: Role) -> Result<(), Box<dyn std::error::Error>> {
        let admin = self.admin.clone();
        let (slug, username) = (Slug::parse(slug)?, Username::parse(username)?);
        tokio::task::spawn_blocking(move || admin.add_member(&slug, &username, role)).await??;
        Ok(())
    }

    /// Creates an account and makes it a member of the tenant; returns its id.
    pub async fn member(&self, slug: &str, username: &str, role: Role) -> Result<i64, Box<dyn std::error::Error>> {
        let id = self.create_user(username).await?;
        self.add_member(slug, username, role).await?;
        Ok(id)
    }

    /// Makes each of `members` a member of the tenant with its role, then
    /// logs each in; the sessions come in the same order.
    pub async fn signed_in<const N: usize>(
        &self,
        slug: &str,
        members: [(&str, Role); N],
    ) -> Result<[Session; N], Box<dyn std::error::Error>> {
        for (username, role) in members {
            self.member(slug, username, role).await?;
        }
        let mut sessions = Vec::with_capacity(N);
        for (username, _) in members {
            sessions.push(self.login(slug, username).await?);
        }
        sessions.try_into().map_err(|_| "one session per member".into())
    }

    /// Logs in on `<slug>.localhost`; returns the token pair.
    pub async fn login(&self, slug: &str, username: &str) -> Result<Session, Box<dyn std::error::Error>> {
        let response = self
            .post(&format!("{slug}.localhost"), "/api/auth/login/")
            .json(&serde_json::json!({"username": username, "password": PASSWORD}))
            .send()
            .await?;
        let (status, body) = json(response).await?;
        if status != 200 {
            return Err(format!("login of {username} on {slug} answered {status}: {body}").into());
        }
        Ok(Session {
            access: body["access_token"].as_str().unwrap_or_default().to_owned(),
            refresh: body["refresh_token"].as_str().unwrap_or_default().to_owned(),
            user_id: body["user_id"].as_i64().unwrap_or_default(),
        })
    }

    /// `GET path` on `<slug>.localhost` with a bearer token.
    pub fn get_as(&self, slug: &str, token: &str, path: &str) -> reqwest::RequestBuilder {
        self.get(&format!("{slug}.localhost"), path).bearer_auth(token)
    }

    /// A request with a method on `<slug>.localhost` with a bearer token.
    pub fn call_as(&self, method: reqwest::Method, slug: &str, token: &str, path: &str) -> reqwest::RequestBuilder {
        self.request(method, &format!("{slug}.localhost"), path).bearer_auth(token)
    }

    /// [`call_as`](Self::call_as) with an optional JSON body, sent, and its
    /// answer read.
    pub async fn answer(
        &self,
        method: reqwest::Method,
        slug: &str,
        token: &str,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> Result<Answer, Box<dyn std::error::Error>> {
        let mut request = self.call_as(method, slug, token, path);
        if let Some(body) = body {
            request = request.json(&body);
        }
        json(request.send().await?).await
    }

    /// The membership id of each member of `slug` by username, as its
    /// members list shows them to `token`'s holder.
    pub async fn membership_ids(
        &self,
        slug: &str,
        token: &str,
    ) -> Result<std::collections::HashMap<String, i64>, Box<dyn std::error::Error>> {
        let (status, list) = json(self.get_as(slug, token, "/api/tenants/members/").send().await?).await?;
        if status != 200 {
            return Err(format!("members list: {status} {list}").into());
        }
        Ok(list["results"]
            .as_array()
            .ok_or("no results")?
            .iter()
            .filter_map(|m| Some((m["username"].as_str()?.to_owned(), m["id"].as_i64()?)))
            .collect())
    }

    /// Runs `work` on a connection to the server's database (the shared
    /// schema's path), on the blocking pool: checks behind the API.
    pub async fn on_the_database<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut diesel::PgConnection) -> diesel::QueryResult<T> + Send + 'static,
    ) -> Result<T, Box<dyn std::error::Error>> {
        let store = self.store.clone();
        let done = tokio::task::spawn_blocking(move || -> Result<T, String> {
            let mut conn = store.pool().get().map_err(|e| e.to_string())?;
            work(&mut conn).map_err(|e| e.to_string())
        });
        Ok(done.await??)
    }

    /// Runs `work` inside the tenant scope of `slug`'s schema (one
    /// transaction, `search_path` that schema alone), on the blocking pool.
    pub async fn in_tenant<T: Send + 'static>(
        &self,
        slug: &str,
        work: impl FnOnce(&mut diesel::PgConnection) -> diesel::QueryResult<T> + Send + 'static,
    ) -> Result<T, Box<dyn std::error::Error>> {
        let schema = Slug::parse(slug)?.schema_name();
        let store = self.store.clone();
        let done = tokio::task::spawn_blocking(move || {
            store.in_tenant_scope(&schema, |conn| work(conn).map_err(taskforce_domain::StoreError::internal))
        });
        Ok(done.await??)
    }

    /// Runs SQL on the server's database as an operator would: no cache told.
    pub async fn behind_the_server_s_back(&self, sql: impl Into<String>) -> Result<(), Box<dyn std::error::Error>> {
        use diesel::connection::SimpleConnection;
        let sql = sql.into();
        self.on_the_database(move |conn| conn.batch_execute(&sql)).await
    }

    /// The `.eml` files the server wrote, oldest first.
    pub fn mails(&self) -> Result<Vec<String>, Box<dyn std::error::Error>> {
        let mut entries: Vec<_> = std::fs::read_dir(self.mail_dir.path())?.collect::<Result<_, _>>()?;
        entries.sort_by_key(|e| e.metadata().and_then(|m| m.modified()).ok());
        Ok(entries.iter().filter_map(|e| std::fs::read_to_string(e.path()).ok()).collect())
    }

    /// The database's name, for diagnostics.
    pub fn database_name(&self) -> &str {
        self.db.name()
    }

    /// Stops the server gracefully.
    pub async fn stop(&self) {
        self.handle.stop(true).await;
    }
}

/// The password [`TestApp::create_user`] gives every account.
pub const PASSWORD: &str = "correct-horse-battery-9";

/// A new account's `POST /api/auth/register/` body (its password
/// `Sturdy-passphrase-42`).
pub fn register_body(username: &str) -> serde_json::Value {
    serde_json::json!({
        "username": username,
        "email": format!("{username}@example.com"),
        "password": "Sturdy-passphrase-42",
        "password_confirm": "Sturdy-passphrase-42",
    })
}

/// A signed-in user's tokens.
#[derive(Debug, Clone)]
pub struct Session {
    /// Access token.
    pub access: String,
    /// Refresh token.
    pub refresh: String,
    /// User id.
    pub user_id: i64,
}

/// The JWT secret of the test configuration (the development default), for
/// tests that forge tokens.
pub const TEST_JWT_SECRET: &str = "insecure-development-secret-change-me";

/// A response's status and JSON body.
pub type Answer = (u16, serde_json::Value);

/// The JSON body of a response, and its status.
pub async fn json(response: reqwest::Response) -> Result<Answer, Box<dyn std::error::Error>> {
    let status = response.status().as_u16();
    let text = response.text().await?;
    let body = if text.is_empty() {
        serde_json::Value::Null
    } else {
        serde_json::from_str(&text).map_err(|e| format!("{e}: {text}"))?
    };
    Ok((status, body))
}

/// Says why a test skips itself for lack of a tool, or fails when
/// `TASKFORCE_TEST_TOOLS=required` (CI): see
/// [`taskforce_pgcluster::skip_unless_required`].
pub fn skip_unless_required(why: &str) -> TestResult {
    Ok(taskforce_pgcluster::skip_unless_required(why)?)
}

/// Sends requests made at once and reads every answer, in order.
pub async fn answers<F>(requests: impl IntoIterator<Item = F>) -> Result<Vec<Answer>, Box<dyn std::error::Error>>
where
    F: std::future::Future<Output = reqwest::Result<reqwest::Response>>,
{
    let mut answers = Vec::new();
    for response in futures_util::future::join_all(requests).await {
        answers.push(json(response?).await?);
    }
    Ok(answers)
}

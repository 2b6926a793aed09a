//! [`World`]: the fakes wired into the use cases, and builders for what a
//! test starts from (tenants, accounts, members, signed-in callers).

use std::{error::Error, fmt::Debug, sync::Arc};

use chrono::{DateTime, Duration, Utc};
use taskforce_domain::{
    Clock, FixedClock, HostName, Membership, NewTenant, PasswordHasher, Plan, Role, Slug, Store, Tenant, TenantName,
    User, Username,
};

use super::{FakeAttempts, FakeBus, FakeCodec, FakeFiles, FakeHasher, FakeMailer, FakeSecrets, FakeStore};
use crate::{
    AccountInput, Accounts, ActivityLog, Actor, Attachments, AuthConfig, AuthPorts, Authenticator, Comments,
    Notifications, Notifier, Projects, Registration, Reports, Tasks, TenantAdmin, TenantMembers,
};

/// What tests return: any error fails the test with its message.
pub type TestResult<T = ()> = Result<T, Box<dyn Error>>;

/// The password of every account the builders create.
pub const PASSWORD: &str = "correct-horse-battery-staple";

/// The platform domain: the tenant `acme` answers on `acme.localhost`.
pub const PLATFORM_DOMAIN: &str = "localhost";

/// The error of an outcome that should have failed; an `Ok` fails the test.
pub fn refused<T: Debug, E>(outcome: Result<T, E>) -> TestResult<E> {
    match outcome {
        Ok(value) => Err(format!("expected a refusal, got Ok({value:?})").into()),
        Err(error) => Ok(error),
    }
}

/// One set of fakes, shared by every use case built from it.
#[derive(Debug)]
pub struct World {
    /// The time, stopped.
    pub clock: FixedClock,
    /// Storage.
    pub store: FakeStore,
    /// Failed-login counters.
    pub attempts: Arc<FakeAttempts>,
    /// Outgoing mail.
    pub mailer: Arc<FakeMailer>,
    /// Lifetimes and throttling limits (the defaults).
    pub config: AuthConfig,
    /// What the use cases announce to other instances.
    pub bus: Arc<FakeBus>,
    /// Attachments' bytes.
    pub files: Arc<FakeFiles>,
    secrets: Arc<FakeSecrets>,
}

impl World {
    /// Empty storage at 2026-03-01T12:00:00Z.
    pub fn new() -> Self {
        let clock = FixedClock(DateTime::UNIX_EPOCH + Duration::seconds(1_772_366_400));
        Self {
            clock,
            store: FakeStore::new(clock),
            attempts: Arc::default(),
            mailer: Arc::default(),
            config: AuthConfig::default(),
            bus: Arc::default(),
            files: Arc::default(),
            secrets: Arc::default(),
        }
    }

    /// The stopped time.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.0
    }

    fn store_port(&self) -> Arc<dyn Store> {
        Arc::new(self.store.clone())
    }

    /// The operators' use cases.
    pub fn admin(&self) -> TenantAdmin {
        TenantAdmin::new(self.store_port()).with_files(self.files.clone())
    }

    /// The account use cases.
    pub fn accounts(&self) -> Accounts {
        Accounts::new(self.store_port(), Arc::new(FakeHasher))
    }

    /// Authentication.
    pub fn auth(&self) -> TestResult<Authenticator> {
        self.auth_with(Arc::new(FakeHasher))
    }

    /// Authentication with another password hasher.
    pub fn auth_with(&self, hasher: Arc<dyn PasswordHasher>) -> TestResult<Authenticator> {
        self.auth_on(hasher, Arc::new(self.clock))
    }

    /// Authentication with another password hasher and clock (tokens are
    /// still stamped with the world's time).
    pub fn auth_on(&self, hasher: Arc<dyn PasswordHasher>, clock: Arc<dyn Clock>) -> TestResult<Authenticator> {
        let ports = AuthPorts {
            store: self.store_port(),
            hasher,
            codec: Arc::new(FakeCodec::new(self.clock)),
            secrets: self.secrets.clone(),
            clock,
            attempts: self.attempts.clone(),
        };
        Ok(Authenticator::new(ports, self.config.clone())?)
    }

    /// Joining tenants and signing up new ones.
    pub fn registration(&self) -> TestResult<Registration> {
        self.registration_on(Arc::new(FakeHasher), Arc::new(self.clock))
    }

    /// Joining, with another password hasher and clock.
    pub fn registration_on(&self, hasher: Arc<dyn PasswordHasher>, clock: Arc<dyn Clock>) -> TestResult<Registration> {
        Ok(Registration::new(self.auth_on(hasher, clock)?, self.store_port(), HostName::parse(PLATFORM_DOMAIN)?))
    }

    /// A tenant's own settings and members.
    pub fn members(&self) -> TenantMembers {
        self.members_at(self.now())
    }

    /// The same, with a clock stopped at `now` (when an invitation it ends
    /// is recorded as ended).
    pub fn members_at(&self, now: DateTime<Utc>) -> TenantMembers {
        TenantMembers::new(
            self.store_port(),
            self.secrets.clone(),
            Arc::new(FixedClock(now)),
            self.mailer.clone(),
            self.config.invitation_ttl,
        )
    }

    /// Projects.
    pub fn projects(&self) -> Projects {
        Projects::new(self.store_port()).with_files(self.files.clone())
    }

    /// Tasks, on the world's clock.
    pub fn tasks(&self) -> Tasks {
        self.tasks_at(self.now())
    }

    /// Tasks, with a clock stopped at `now` (what `completed_at` is set to).
    pub fn tasks_at(&self, now: DateTime<Utc>) -> Tasks {
        Tasks::new(self.store_port(), Arc::new(FixedClock(now)))
            .with_notifier(self.notifier())
            .with_files(self.files.clone())
    }

    /// Comments.
    pub fn comments(&self) -> Comments {
        Comments::new(self.store_port()).with_notifier(self.notifier())
    }

    fn notifier(&self) -> Notifier {
        Notifier::new(self.bus.clone())
    }

    /// Attachments of at most 1,000 bytes.
    pub fn attachments(&self) -> Attachments {
        Attachments::new(self.store_port(), self.files.clone(), 1000)
    }

    /// Reports, on the world's clock.
    pub fn reports(&self) -> Reports {
        Reports::new(self.store_port(), Arc::new(self.clock))
    }

    /// Notifications.
    pub fn notifications(&self) -> Notifications {
        self.notifications_at(self.now())
    }

    /// Notifications, with a clock stopped at `now` (when tickets expire).
    pub fn notifications_at(&self, now: DateTime<Utc>) -> Notifications {
        Notifications::new(self.store_port(), Arc::new(FixedClock(now)), self.secrets.clone())
    }

    /// The activity log.
    pub fn activity(&self) -> ActivityLog {
        ActivityLog::new(self.store_port())
    }

    /// A tenant on `plan` with the domain `<slug>.localhost`, signup closed.
    pub fn tenant(&self, slug: &str, plan: Plan) -> TestResult<Tenant> {
        let slug = Slug::parse(slug)?;
        let domain = HostName::parse(PLATFORM_DOMAIN)?.subdomain(slug.as_str())?;
        let name = TenantName::parse(&slug.as_str().to_uppercase())?;
        Ok(self.admin().create(&NewTenant { slug, name, plan, allow_signup: false, domains: vec![domain] })?)
    }

    /// An account `<username>` with the address `<username>@example.com`
    /// and the password [`PASSWORD`].
    pub fn user(&self, username: &str) -> TestResult<User> {
        Ok(self.accounts().create(&AccountInput {
            username: username.to_owned(),
            email: format!("{username}@example.com"),
            password: PASSWORD.to_owned(),
            is_staff: false,
        })?)
    }

    /// A new account that an operator adds to the tenant with a role.
    pub fn member(&self, tenant: &Tenant, username: &str, role: Role) -> TestResult<Membership> {
        self.user(username)?;
        Ok(self.admin().add_member(&tenant.slug, &Username::parse(username)?, role)?.membership)
    }

    /// The member as a request of theirs is authenticated: logged in with
    /// [`PASSWORD`], their access token checked.
    pub fn sign_in(&self, tenant: &Tenant, username: &str) -> TestResult<Actor> {
        let auth = self.auth()?;
        let tokens = auth.login(tenant, username, PASSWORD, None)?;
        Ok(auth.authenticate(tenant.clone(), &tokens.access)?)
    }
}

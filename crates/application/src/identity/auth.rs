//! Logging in, refreshing, logging out, and authenticating each request.

use std::sync::Arc;

use chrono::Duration;
use taskforce_domain::{
    AttemptCounter, Clock, FamilyId, HostName, PasswordHasher, PlatformTx, Role, Secrets, Spend, Store, StoreError,
    StoreExt, Tenant, TenantId, TokenClaims, TokenCodec, TokenError, TokenHint, TokenKind, User, UserId,
};

use crate::{AccessCache, ResolveError, TenantDirectory, access::Actor};

/// Lifetimes and throttling limits.
#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// Access-token lifetime.
    pub access_ttl: Duration,
    /// Refresh-token lifetime.
    pub refresh_ttl: Duration,
    /// Invitation lifetime.
    pub invitation_ttl: Duration,
    /// Failed logins allowed per (tenant, login name) within the window.
    pub max_failures_per_login: u32,
    /// Failed logins allowed per client address within the window.
    pub max_failures_per_client: u32,
    /// The throttling window, in seconds.
    pub failure_window_secs: u64,
    /// Tenant signups allowed per client address within an hour; 0 for no
    /// limit.
    pub max_signups_per_client_per_hour: u32,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            access_ttl: Duration::minutes(15),
            refresh_ttl: Duration::days(7),
            invitation_ttl: Duration::days(7),
            max_failures_per_login: 5,
            max_failures_per_client: 20,
            failure_window_secs: 900,
            max_signups_per_client_per_hour: 10,
        }
    }
}

/// A new pair of tokens for a user.
#[derive(Clone, PartialEq, Eq)]
pub struct Tokens {
    /// The user they are for.
    pub user: UserId,
    /// Access token.
    pub access: String,
    /// Refresh token.
    pub refresh: String,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens").field("user", &self.user).finish_non_exhaustive()
    }
}

/// Why authentication failed.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Unknown user, wrong password, not a member, inactive account: one
    /// answer for all, so none can be told apart.
    #[error("Unable to log in with the provided credentials.")]
    InvalidCredentials,
    /// Too many failures for this login name or client address.
    #[error("Too many failed attempts. Try again in {retry_after} seconds.")]
    Throttled {
        /// Seconds until attempts are accepted again.
        retry_after: u64,
    },
    /// The token is forged, expired, of the wrong kind or tenant, revoked,
    /// or its holder is no longer an active member.
    #[error("Token is invalid or expired.")]
    TokenInvalid(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Hashing or signing failed.
    #[error("{0}")]
    Internal(String),
}

impl From<TokenError> for AuthError {
    fn from(error: TokenError) -> Self {
        match error {
            TokenError::Signing(message) => AuthError::Internal(message),
            other => AuthError::TokenInvalid(other.to_string()),
        }
    }
}

/// What outlives a failed refresh: a replayed token ends its session, and
/// that must be committed even though the caller gets an error.
enum RefreshOutcome {
    Renewed(Tokens),
    Replayed,
}

/// The authentication use cases.
#[derive(Clone)]
pub struct Authenticator {
    store: Arc<dyn Store>,
    hasher: Arc<dyn PasswordHasher>,
    codec: Arc<dyn TokenCodec>,
    secrets: Arc<dyn Secrets>,
    clock: Arc<dyn Clock>,
    attempts: Arc<dyn AttemptCounter>,
    cache: AccessCache,
    config: AuthConfig,
    dummy_hash: Arc<str>,
}

/// Why a request to a tenant endpoint was not admitted.
#[derive(Debug, thiserror::Error)]
pub enum AdmitError {
    /// The host leads to no servable tenant.
    #[error(transparent)]
    Resolve(#[from] ResolveError),
    /// No bearer token was sent.
    #[error("Authentication credentials were not provided.")]
    NotAuthenticated,
    /// The token or the caller's standing was refused.
    #[error(transparent)]
    Auth(#[from] AuthError),
}

impl From<StoreError> for AdmitError {
    fn from(error: StoreError) -> Self {
        AdmitError::Auth(AuthError::Store(error))
    }
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator").field("config", &self.config).finish_non_exhaustive()
    }
}

/// The adapters authentication needs.
#[derive(Clone)]
pub struct AuthPorts {
    /// Storage.
    pub store: Arc<dyn Store>,
    /// Password hashing.
    pub hasher: Arc<dyn PasswordHasher>,
    /// Token signing.
    pub codec: Arc<dyn TokenCodec>,
    /// Random tokens and digests.
    pub secrets: Arc<dyn Secrets>,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// Failed-login counters.
    pub attempts: Arc<dyn AttemptCounter>,
}

impl std::fmt::Debug for AuthPorts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthPorts").finish_non_exhaustive()
    }
}

impl Authenticator {
    /// The use cases over their ports. Hashes a dummy password once, so that
    /// logins of unknown users cost the same as real ones.
    pub fn new(ports: AuthPorts, config: AuthConfig) -> Result<Self, AuthError> {
        let dummy_hash = ports
            .hasher
            .hash("not a real password, only here for timing")
            .map_err(|e| AuthError::Internal(e.to_string()))?;
        Ok(Self {
            store: ports.store,
            hasher: ports.hasher,
            codec: ports.codec,
            secrets: ports.secrets,
            clock: ports.clock,
            attempts: ports.attempts,
            cache: AccessCache::default(),
            config,
            dummy_hash: dummy_hash.into(),
        })
    }

    /// The same use cases, remembering memberships and sessions in `cache`.
    pub fn with_cache(mut self, cache: AccessCache) -> Self {
        self.cache = cache;
        self
    }

    /// The configuration.
    pub fn config(&self) -> &AuthConfig {
        &self.config
    }

    pub(crate) fn hasher(&self) -> &dyn PasswordHasher {
        self.hasher.as_ref()
    }

    pub(crate) fn secrets(&self) -> &dyn Secrets {
        self.secrets.as_ref()
    }

    pub(crate) fn clock(&self) -> &dyn Clock {
        self.clock.as_ref()
    }

    /// Per account across all tenants (an account and its password are the
    /// platform's, not a tenant's): a documented global key. `account` is
    /// `user:<id>`, or `name:<login name>` for a name no account has.
    fn account_key(account: &str) -> String {
        format!("tf:global:login-account:{account}")
    }

    /// Per client address across all tenants: a documented global key. An
    /// IPv6 client counts by its /64, the block one subscriber gets.
    /// `counter` is what is counted: `login-client` or `signup-client`.
    fn client_key(counter: &str, client: &str) -> String {
        match client.parse::<std::net::IpAddr>() {
            Ok(std::net::IpAddr::V6(v6)) if v6.to_ipv4_mapped().is_none() => {
                let network = u128::from(v6) & !((1_u128 << 64) - 1);
                format!("tf:global:{counter}:{}/64", std::net::Ipv6Addr::from(network))
            }
            _ => format!("tf:global:{counter}:{client}"),
        }
    }

    /// Counts this attempt on every key before it is judged; refuses it
    /// when that passes a key's limit. Counting first, in one atomic step
    /// with the read, is what keeps a burst of attempts sent at once from
    /// all passing a check none of them had been counted in yet. A refused
    /// attempt is taken back again: the counts are the failures and the
    /// attempts still being judged, so a login refused only because others
    /// were under way gets in once they have succeeded. The client's keys
    /// are counted before the account's: a client over its limit adds no
    /// key for the names it tries (a throttled client sending names by the
    /// hundred thousand would otherwise fill the counter, whose oldest
    /// windows make room, and so wipe other accounts' failures).
    fn count_attempt(&self, keys: &[(String, u32)]) -> Result<(), AuthError> {
        for (n, (key, limit)) in keys.iter().enumerate().rev() {
            let (count, remaining) = self.attempts.hit(key, self.config.failure_window_secs);
            if count > *limit {
                for (counted, _) in &keys[n..] {
                    self.attempts.forgive(counted);
                }
                return Err(AuthError::Throttled { retry_after: remaining.max(1) });
            }
        }
        Ok(())
    }

    /// Counts a tenant signup from `client` (an address; `None` is not
    /// counted), refused past [`AuthConfig::max_signups_per_client_per_hour`]
    /// with the seconds until the hour's window ends. Every attempt counts,
    /// refused or not: a signup makes a schema, and one refused for a taken
    /// slug has hashed a password, so a client sending them without end
    /// would grow the database or spend the server's CPU. An IPv6 client
    /// counts by its /64, as for logins.
    pub fn count_signup(&self, client: Option<&str>) -> Result<(), u64> {
        let limit = self.config.max_signups_per_client_per_hour;
        let Some(client) = client.filter(|_| limit > 0) else { return Ok(()) };
        let key = Self::client_key("signup-client", client);
        let (count, remaining) = self.attempts.hit(&key, 3600);
        if count > limit {
            // refused attempts are not counted on: the window's count stays
            // at its limit
            self.attempts.forgive(&key);
            return Err(remaining.max(1));
        }
        Ok(())
    }

    /// A success: the account's failures are forgotten, and the client's
    /// count loses this attempt again.
    fn count_success(&self, keys: &[(String, u32)]) {
        if let Some(((account, _), clients)) = keys.split_first() {
            self.attempts.reset(account);
            for (client, _) in clients {
                self.attempts.forgive(client);
            }
        }
    }

    /// Checks a password for a login name (user name or e-mail) and that
    /// the account is an active member of the tenant. Throttled per account
    /// (across tenants) and per client address.
    pub fn verify_credentials(
        &self,
        tenant: &Tenant,
        login: &str,
        password: &str,
        client: Option<&str>,
    ) -> Result<User, AuthError> {
        self.verify(tenant, login, password, client, true)
    }

    /// Like [`Self::verify_credentials`] without requiring membership (to
    /// accept an invitation).
    pub fn verify_credentials_of_anyone(
        &self,
        tenant: &Tenant,
        login: &str,
        password: &str,
        client: Option<&str>,
    ) -> Result<User, AuthError> {
        self.verify(tenant, login, password, client, false)
    }

    fn verify(
        &self,
        tenant: &Tenant,
        login: &str,
        password: &str,
        client: Option<&str>,
        require_membership: bool,
    ) -> Result<User, AuthError> {
        let login = taskforce_domain::login_form(login);
        let found = self.store.read(|tx| tx.users().by_login(&login))?;
        // one counter per account, whether it is named by user name or
        // e-mail, and whichever tenant's host is asked
        let account = found
            .as_ref()
            .map_or_else(|| format!("name:{}", login.to_lowercase()), |(user, _)| format!("user:{}", user.id));
        let mut keys = vec![(Self::account_key(&account), self.config.max_failures_per_login)];
        if let Some(client) = client {
            keys.push((Self::client_key("login-client", client), self.config.max_failures_per_client));
        }
        self.count_attempt(&keys)?;
        let hash = found.as_ref().map_or(&*self.dummy_hash, |(_, hash)| hash.as_str());
        let password_ok = self.hasher.verify(password, hash).unwrap_or(false);
        let stale_hash = (password_ok && self.hasher.needs_rehash(hash)).then(|| hash.to_owned());
        let user = match found {
            Some((user, _)) if password_ok && user.is_active => user,
            // counted already, as every attempt is
            _ => return Err(AuthError::InvalidCredentials),
        };
        let member =
            if require_membership { self.store.read(|tx| tx.memberships().find(tenant.id, user.id))? } else { None };
        if require_membership && member.is_none() {
            return Err(AuthError::InvalidCredentials);
        }
        self.count_success(&keys);
        if let Some(old) = stale_hash {
            self.rehash(user.id, &old, password);
        }
        Ok(user)
    }

    /// Replaces a hash that verified but is not this hasher's current kind
    /// (an imported Django hash, older argon2 costs) by a fresh one, unless
    /// the stored hash changed meanwhile. A failure leaves the old hash,
    /// which still verifies: the login goes on.
    fn rehash(&self, user: UserId, old: &str, password: &str) {
        let stored = self.hasher.hash(password).map_err(|error| error.to_string()).and_then(|new| {
            self.store
                .platform(|tx| tx.users().replace_password_hash(user, old, &new))
                .map_err(|error| error.to_string())
        });
        match stored {
            Ok(true) => tracing::info!(user = user.0, "password hash upgraded at login"),
            Ok(false) => tracing::info!(user = user.0, "password hash changed meanwhile; left as it is"),
            Err(error) => tracing::warn!(user = user.0, %error, "password hash not upgraded; the old one stays"),
        }
    }

    /// Logs in: a new session and its first pair of tokens.
    #[tracing::instrument(skip_all, fields(tenant = %tenant.slug))]
    pub fn login(
        &self,
        tenant: &Tenant,
        login: &str,
        password: &str,
        client: Option<&str>,
    ) -> Result<Tokens, AuthError> {
        let user = self.verify_credentials(tenant, login, password, client)?;
        let now = self.clock.now();
        self.store.platform(|tx| {
            // removed since the check above, or being removed: no session
            if tx.memberships().hold(tenant.id, user.id)?.is_none() {
                return Err(AuthError::InvalidCredentials);
            }
            tx.users().touch_login(user.id, now)?;
            self.open_session(tx, tenant.id, user.id)
        })
    }

    /// Opens a session inside a transaction and issues its first tokens.
    pub(crate) fn open_session(
        &self,
        tx: &mut dyn PlatformTx,
        tenant: TenantId,
        user: UserId,
    ) -> Result<Tokens, AuthError> {
        let family = tx.sessions().open(tenant, user)?;
        self.issue(tx, tenant, user, family)
    }

    fn issue(
        &self,
        tx: &mut dyn PlatformTx,
        tenant: TenantId,
        user: UserId,
        family: FamilyId,
    ) -> Result<Tokens, AuthError> {
        let now = self.clock.now();
        let refresh_id = self.secrets.random_token();
        let refresh_expires = now + self.config.refresh_ttl;
        tx.sessions().add_token(family, &self.secrets.digest(&refresh_id), refresh_expires)?;
        let refresh = self.codec.encode(&TokenClaims {
            user,
            tenant,
            kind: TokenKind::Refresh,
            family,
            token_id: refresh_id,
            issued_at: now,
            expires_at: refresh_expires,
        })?;
        let access = self.codec.encode(&TokenClaims {
            user,
            tenant,
            kind: TokenKind::Access,
            family,
            token_id: self.secrets.random_token(),
            issued_at: now,
            expires_at: now + self.config.access_ttl,
        })?;
        Ok(Tokens { user, access, refresh })
    }

    /// Exchanges a refresh token for a new pair; the presented one is spent.
    /// Presenting a spent token again ends its whole session.
    #[tracing::instrument(skip_all, fields(tenant = %tenant.slug))]
    pub fn refresh(&self, tenant: &Tenant, refresh: &str) -> Result<Tokens, AuthError> {
        let claims = self.codec.decode(refresh, TokenKind::Refresh, tenant.id)?;
        // fast path: a session known to be ended is refused without the database
        if self.cache.is_revoked(tenant.id, claims.family) {
            return Err(AuthError::TokenInvalid("session ended".into()));
        }
        let digest = self.secrets.digest(&claims.token_id);
        let outcome = self.store.platform(|tx| {
            let session = tx.sessions().lock(claims.family)?;
            let valid = session.is_some_and(|s| !s.revoked && s.user == claims.user && s.tenant == tenant.id);
            if !valid {
                return Err(AuthError::TokenInvalid("session ended".into()));
            }
            match tx.sessions().spend(claims.family, &digest)? {
                Spend::Spent => {}
                Spend::AlreadySpent => {
                    tx.sessions().revoke(claims.family, "reuse")?;
                    return Ok(RefreshOutcome::Replayed);
                }
                Spend::Unknown => return Err(AuthError::TokenInvalid("unknown token".into())),
            }
            let grant = tx.memberships().access(tenant.id, claims.user, claims.family)?;
            if !grant.is_some_and(|g| g.user_active && !g.session_revoked) {
                return Err(AuthError::TokenInvalid("no longer a member".into()));
            }
            self.issue(tx, tenant.id, claims.user, claims.family).map(RefreshOutcome::Renewed)
        })?;
        match outcome {
            RefreshOutcome::Renewed(tokens) => Ok(tokens),
            RefreshOutcome::Replayed => {
                self.cache.end_session(tenant.id, claims.family, self.config.refresh_ttl);
                tracing::warn!(session = %claims.family, user = %claims.user, "spent refresh token presented again; session revoked");
                Err(AuthError::TokenInvalid("refresh token reused".into()))
            }
        }
    }

    /// Ends the session a refresh token belongs to (the caller's own).
    #[tracing::instrument(skip_all, fields(tenant = %actor.tenant.slug, user = %actor.user))]
    pub fn logout(&self, actor: &Actor, refresh: &str) -> Result<(), AuthError> {
        let claims = self.codec.decode(refresh, TokenKind::Refresh, actor.tenant.id)?;
        if claims.user != actor.user {
            return Err(AuthError::TokenInvalid("another user's token".into()));
        }
        self.store.platform(|tx| Ok::<_, AuthError>(tx.sessions().revoke(claims.family, "logout")?))?;
        self.cache.end_session(actor.tenant.id, claims.family, self.config.refresh_ttl);
        Ok(())
    }

    /// Admits a request to a tenant endpoint: the host's tenant must serve,
    /// the bearer token be a valid access token of that tenant and of a live
    /// session, and its holder an active member. Host, membership and
    /// session are looked up in the cache in one round trip; what is missing
    /// comes from the store (one query) and is cached. The role is never
    /// taken from the token.
    pub fn admit(
        &self,
        directory: &TenantDirectory,
        host: &HostName,
        token: Option<&str>,
    ) -> Result<Actor, AdmitError> {
        let hint = token.and_then(|t| self.codec.hint(t));
        let found = self.cache.find(host, hint.map(|h| (h.tenant, h.user, h.family)));
        let tenant = directory.servable(host, found.tenant)?;
        let token = token.ok_or(AdmitError::NotAuthenticated)?;
        let claims = self.codec.decode(token, TokenKind::Access, tenant.id).map_err(AuthError::from)?;
        let cached = cached_standing(found.member, found.session_alive, hint, tenant.id, &claims);
        self.standing(tenant, claims.user, claims.family, cached)
    }

    /// [`admit`](Self::admit) for the common case that needs no I/O: the
    /// cache lives in this process and holds the host, the membership and
    /// the session. Checks the same things in the same way; `None` when
    /// anything is missing or wrong, and the caller then runs `admit` on a
    /// blocking thread, which reads what is missing or gives the error.
    pub fn admit_from_memory(&self, directory: &TenantDirectory, host: &HostName, token: &str) -> Option<Actor> {
        let hint = self.codec.hint(token)?;
        let found = self.cache.find_in_memory(host, Some((hint.tenant, hint.user, hint.family)))?;
        let cached_tenant = found.tenant?;
        let tenant = directory.servable(host, Some(cached_tenant)).ok()?;
        let claims = self.codec.decode(token, TokenKind::Access, tenant.id).ok()?;
        let cached = cached_standing(found.member, found.session_alive, Some(hint), tenant.id, &claims)?;
        self.standing(tenant, claims.user, claims.family, Some(cached)).ok()
    }

    /// Admits the holder of a session (a redeemed stream ticket names one)
    /// to the host's tenant, checking membership and session as `admit` does.
    pub fn admit_session(
        &self,
        directory: &TenantDirectory,
        host: &HostName,
        user: UserId,
        family: FamilyId,
    ) -> Result<Actor, AdmitError> {
        let tenant = directory.resolve(host)?;
        self.standing(tenant, user, family, None)
    }

    /// The caller's role if they are an active member with a live session:
    /// from the cache when given, else from the store (then cached).
    fn standing(
        &self,
        tenant: Tenant,
        user: UserId,
        family: FamilyId,
        cached: Option<(Role, bool)>,
    ) -> Result<Actor, AdmitError> {
        let (role, user_active, session_alive) = match cached {
            Some((role, active)) => (role, active, true),
            None => {
                let grant = self
                    .store
                    .read(|tx| tx.memberships().access(tenant.id, user, family))?
                    .ok_or_else(|| AuthError::TokenInvalid("not a member".into()))?;
                self.cache.put_access(tenant.id, user, family, &grant);
                (grant.role, grant.user_active, !grant.session_revoked)
            }
        };
        if !user_active || !session_alive {
            return Err(AuthError::TokenInvalid("session ended or account inactive".into()).into());
        }
        Ok(Actor { tenant, user, role, session: family })
    }

    /// Authenticates a request: the access token must be valid for this
    /// tenant and its session alive, and the caller an active member; the
    /// role is read now, so removals and demotions act at once.
    pub fn authenticate(&self, tenant: Tenant, access: &str) -> Result<Actor, AuthError> {
        let claims = self.codec.decode(access, TokenKind::Access, tenant.id)?;
        let grant = self
            .store
            .read(|tx| tx.memberships().access(tenant.id, claims.user, claims.family))?
            .ok_or_else(|| AuthError::TokenInvalid("not a member".into()))?;
        if !grant.user_active || grant.session_revoked {
            return Err(AuthError::TokenInvalid("session ended or account inactive".into()));
        }
        Ok(Actor { tenant, user: claims.user, role: grant.role, session: claims.family })
    }

    /// The caller's account.
    pub fn me(&self, actor: &Actor) -> Result<User, AuthError> {
        self.store.read(|tx| tx.users().get(actor.user))?.ok_or_else(|| AuthError::TokenInvalid("account gone".into()))
    }
}

/// The cached membership (role, account active), used only when the keys
/// the unverified hint chose are those of the verified claims and the
/// session is cached alive.
fn cached_standing(
    member: Option<(Role, bool)>,
    session_alive: bool,
    hint: Option<TokenHint>,
    tenant: TenantId,
    claims: &TokenClaims,
) -> Option<(Role, bool)> {
    let hinted = hint.is_some_and(|h| h.tenant == tenant && h.user == claims.user && h.family == claims.family);
    member.filter(|_| hinted && session_alive)
}

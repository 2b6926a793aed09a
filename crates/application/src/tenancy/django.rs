//! Bringing the Django product's tenants and accounts over
//! (`tenant-admin import-django`).
//!
//! Each tenant and each account is its own unit: one that cannot come over
//! (a value this product refuses, a domain or e-mail address taken) is
//! reported and the rest go on, and what is already here (the same slug, the
//! same user name) is left alone, so the import can be run again after a
//! fix. Accounts keep their Django password hashes, which the hasher
//! verifies and replaces with its own at the first login. Django's tenant
//! schemas hold no data (its project tables never shipped), so each tenant
//! gets a new, empty schema.

use taskforce_domain::{
    Email, HostName, LegacyAccount, LegacyPlatform, LegacyTenant, NewTenant, NewUser, PasswordHasher, Plan, Role, Slug,
    StoreExt, Tenant, TenantChanges, TenantName, Username,
};

use super::{
    CreateTenantError, TenantAdmin, TenantAdminError,
    arrivals::{self, Arrival},
};

/// What became of one tenant or account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LegacyOutcome {
    /// Created here.
    Imported,
    /// Left alone, with the reason: already here, or nothing to bring (an
    /// inactive account).
    Skipped(String),
    /// Not brought over, with the reason: a value this product refuses, or a
    /// clash with what is here.
    Refused(String),
}

impl LegacyOutcome {
    /// Its name in reports (`imported`, `skipped`, `refused`) and its reason.
    pub fn parts(&self) -> (&'static str, Option<&str>) {
        match self {
            Self::Imported => ("imported", None),
            Self::Skipped(why) => ("skipped", Some(why)),
            Self::Refused(why) => ("refused", Some(why)),
        }
    }
}

/// One tenant's or account's line of the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegacyItem {
    /// `tenant` or `account`.
    pub kind: &'static str,
    /// Its slug or user name, as Django had it.
    pub name: String,
    /// What happened.
    pub outcome: LegacyOutcome,
}

/// The role a Django `core_user.role` gets as a member (`owner` and
/// `admin` keep theirs, `staff` and `user` become `member`, whatever their
/// case); any other value becomes `member` too, and the operator is told.
fn legacy_role(role: &str, username: &Username) -> Role {
    match role.trim().to_ascii_lowercase().as_str() {
        "owner" => Role::Owner,
        "admin" => Role::Admin,
        "staff" | "user" => Role::Member,
        _ => {
            tracing::warn!(user = %username, role, "a Django role that is none of owner, admin, staff, user: made member");
            Role::Member
        }
    }
}

/// Where a Django import goes.
#[derive(Clone, Copy)]
pub struct LegacyTarget<'a> {
    /// Each tenant also gets `<slug>.<platform_domain>`.
    pub platform_domain: &'a HostName,
    /// The tenant every account becomes a member of, if any.
    pub members_of: Option<&'a Slug>,
    /// What the accounts will log in with: an account comes over only with
    /// a hash this hasher [recognizes](PasswordHasher::recognizes).
    pub hasher: &'a dyn PasswordHasher,
}

impl std::fmt::Debug for LegacyTarget<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LegacyTarget")
            .field("platform_domain", &self.platform_domain)
            .field("members_of", &self.members_of)
            .finish_non_exhaustive()
    }
}

impl TenantAdmin {
    /// Creates the Django tenants (with `<slug>.<platform_domain>` besides
    /// their own domains) and accounts this database lacks, telling `each`
    /// as every one is done. With `members_of`, every account imported or
    /// found here as the same person becomes a member of that tenant with
    /// its Django role: Django's roles were platform-wide, so without it the
    /// accounts belong to no tenant until an operator adds them.
    pub fn import_legacy(
        &self,
        data: &LegacyPlatform,
        to: &LegacyTarget<'_>,
        each: &mut dyn FnMut(&LegacyItem),
    ) -> Result<Vec<LegacyItem>, TenantAdminError> {
        let LegacyTarget { platform_domain, members_of, hasher } = *to;
        let mut report = Vec::with_capacity(data.tenants.len() + data.accounts.len());
        let mut done = |item: LegacyItem| {
            each(&item);
            report.push(item);
        };
        // a tenant to join that is neither here nor coming from Django is
        // refused before anything is made
        if let Some(slug) = members_of {
            let coming = data.tenants.iter().any(|t| Slug::parse(&t.slug).is_ok_and(|s| &s == slug));
            if !coming && self.store.read(|tx| tx.tenants().by_slug(slug))?.is_none() {
                return Err(TenantAdminError::UnknownTenant(slug.to_string()));
            }
        }
        for tenant in &data.tenants {
            let outcome = self.import_legacy_tenant(tenant, platform_domain)?;
            done(LegacyItem { kind: "tenant", name: tenant.slug.clone(), outcome });
        }
        // and when one coming from Django could not be made, no account is
        // brought over: each is reported refused, after the tenant's own
        // refusal (the report says why; an error here would have hidden it)
        let members_of = match members_of {
            Some(slug) => Some(self.store.read(|tx| tx.tenants().by_slug(slug))?.ok_or_else(|| {
                format!("the tenant to join, '{slug}', was not imported (see its line); no account is brought over without it")
            })),
            None => None,
        };
        for account in &data.accounts {
            let outcome = match &members_of {
                Some(Err(why)) => LegacyOutcome::Refused(why.clone()),
                Some(Ok(tenant)) => self.import_legacy_account(account, Some(tenant), hasher)?,
                None => self.import_legacy_account(account, None, hasher)?,
            };
            done(LegacyItem { kind: "account", name: account.username.clone(), outcome });
        }
        Ok(report)
    }

    fn import_legacy_tenant(
        &self,
        legacy: &LegacyTenant,
        platform_domain: &HostName,
    ) -> Result<LegacyOutcome, TenantAdminError> {
        let checked = (|| {
            let slug = Slug::parse(&legacy.slug).map_err(|e| format!("slug: {e}"))?;
            let name = TenantName::parse(&legacy.name).map_err(|e| format!("name: {e}"))?;
            let plan: Plan = legacy.plan.parse().map_err(|e| format!("plan: {e}"))?;
            let mut domains = Vec::with_capacity(legacy.domains.len() + 1);
            for domain in &legacy.domains {
                let host = HostName::parse(domain).map_err(|e| format!("domain '{domain}': {e}"))?;
                // it would keep that slug from ever being made here
                if let Some(other) = host.platform_slug(platform_domain).filter(|other| *other != slug.as_str()) {
                    return Err(format!("domain '{domain}': this platform's address for the slug '{other}'"));
                }
                domains.push(host);
            }
            let own = platform_domain.subdomain(slug.as_str()).map_err(|e| format!("slug: {e}"))?;
            if !domains.contains(&own) {
                domains.push(own);
            }
            Ok::<_, String>(NewTenant { slug, name, plan, allow_signup: false, domains })
        })();
        let new = match checked {
            Ok(new) => new,
            Err(reason) => return Ok(LegacyOutcome::Refused(reason)),
        };
        // an inactive tenant is switched off in the unit that creates it: it is
        // never served, and a failure leaves no tenant behind
        let created = self.create_then(&new, |tx, tenant| {
            if !legacy.is_active {
                tx.tenants()
                    .update(tenant.id, &TenantChanges { is_active: Some(false), ..TenantChanges::default() })?;
            }
            Ok(())
        });
        Ok(match created {
            Ok(_) => LegacyOutcome::Imported,
            Err(CreateTenantError::SlugTaken(_)) => {
                LegacyOutcome::Skipped("a tenant with this slug is here already".into())
            }
            Err(error) => LegacyOutcome::Refused(error.to_string()),
        })
    }

    fn import_legacy_account(
        &self,
        legacy: &LegacyAccount,
        members_of: Option<&Tenant>,
        hasher: &dyn PasswordHasher,
    ) -> Result<LegacyOutcome, TenantAdminError> {
        let username = match Username::parse(&legacy.username) {
            Ok(username) => username,
            Err(error) => return Ok(LegacyOutcome::Refused(format!("user name: {error}"))),
        };
        if !legacy.is_active {
            return Ok(LegacyOutcome::Skipped("inactive in Django: it could not log in there either".into()));
        }
        let email = match Email::parse(&legacy.email) {
            Ok(email) => email,
            Err(_) if legacy.email.trim().is_empty() => {
                return Ok(LegacyOutcome::Refused("no e-mail address, which every account here needs".into()));
            }
            Err(error) => return Ok(LegacyOutcome::Refused(format!("e-mail address: {error}"))),
        };
        let here =
            self.store.read(|tx| arrivals::account_here(tx.users(), &username, &email, Some(&legacy.password_hash)));
        let outcome = match here {
            Err(Arrival::Clash(clash)) => return Ok(LegacyOutcome::Refused(format!("{clash}, so it gets nothing"))),
            Err(Arrival::Store(error)) => return Err(error.into()),
            Ok(Some(_)) => LegacyOutcome::Skipped("this account is here already".into()),
            Ok(None) => {
                if let Some(reason) = unusable_hash(&legacy.password_hash, hasher) {
                    return Ok(reason);
                }
                let new = NewUser {
                    username: username.clone(),
                    email,
                    password_hash: legacy.password_hash.clone(),
                    // inactive Django accounts are skipped above
                    is_active: true,
                    is_staff: legacy.is_staff,
                    registered_themselves: false,
                };
                match self.store.platform(|tx| arrivals::create_account(tx.users(), &new)) {
                    Ok(_) => LegacyOutcome::Imported,
                    Err(Arrival::Clash(clash)) => return Ok(LegacyOutcome::Refused(clash.to_string())),
                    Err(Arrival::Store(error)) => return Err(error.into()),
                }
            }
        };
        if let Some(tenant) = members_of {
            match self.add_member_to(tenant, &username, legacy_role(&legacy.role, &username)) {
                Ok(_) | Err(TenantAdminError::AlreadyMember(..)) => {}
                Err(other) => return Err(other),
            }
        }
        Ok(outcome)
    }
}

/// Why a Django password hash cannot come over, if it cannot: `!…` marks
/// an account without a usable password (single sign-on, or disabled), and
/// a hash the hasher cannot read would leave an account that never logs in.
fn unusable_hash(hash: &str, hasher: &dyn PasswordHasher) -> Option<LegacyOutcome> {
    if hash.starts_with('!') || hash.is_empty() {
        return Some(LegacyOutcome::Skipped("no usable password in Django: it could not log in with one".into()));
    }
    if hasher.recognizes(hash) {
        return None;
    }
    let kind = hash.split('$').next().unwrap_or_default();
    if kind == "pbkdf2_sha256" || kind.starts_with("argon2") {
        return Some(LegacyOutcome::Refused(format!(
            "its {kind} password hash is malformed or beyond the costs this server verifies (docs/security.md): let \
             the person log in on Django once after lowering its cost there, or create the account anew"
        )));
    }
    Some(LegacyOutcome::Refused(format!(
        "its password hash is Django's {kind:?}, which this server cannot verify (it verifies pbkdf2_sha256 \
         and argon2 hashes within their cost limits): switch Django to one of those and let the person log in \
         there once, or create the account anew"
    )))
}

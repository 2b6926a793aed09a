//! Operator use cases over tenants, their domains and members (what
//! `tenant-admin` does).

use std::sync::Arc;

use crate::{AccessCache, NoFiles};

use taskforce_domain::{
    Changes, FileStore, HostName, LimitedResource, Member, NewActivity, NewTenant, PlatformTx, Role, Slug, Store,
    StoreError, StoreExt, TargetType, Tenant, TenantChanges, TenantDomain, TenantId, TenantName, TenantTx, Unique,
    UserId, Username, Verb, record_change,
};

/// Why a tenant could not be created. Nothing was created in any case.
#[derive(Debug, thiserror::Error)]
pub enum CreateTenantError {
    /// A tenant already has this slug.
    #[error("a tenant with the slug '{0}' already exists")]
    SlugTaken(Slug),
    /// Another tenant's slug maps to the same schema name (`a-b` and `a_b`).
    #[error("the slug '{slug}' maps to the schema '{schema}', which another tenant already uses")]
    SchemaClash {
        /// The slug asked for.
        slug: Slug,
        /// The schema name both slugs map to.
        schema: String,
    },
    /// A domain is mapped to another tenant already (named when it was
    /// read; empty when a race was lost to it).
    #[error("the domain '{0}' already belongs to {owner}", owner = taken_by(.1))]
    DomainTaken(HostName, String),
    /// The same domain was given twice.
    #[error("the domain '{0}' is listed twice")]
    DuplicateDomain(HostName),
    /// A schema of that name exists without a tenant row (made by hand or
    /// left by a restore); it is never adopted.
    #[error(
        "the schema '{0}' already exists without a tenant; drop it or inspect it and drop it (DROP SCHEMA ... CASCADE) if it holds nothing to keep"
    )]
    OrphanSchema(String),
    /// The store failed; the reason is inside.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why an operator command on an existing tenant, domain or member failed.
/// Nothing was changed in any case.
#[derive(Debug, thiserror::Error)]
pub enum TenantAdminError {
    /// No tenant has this slug.
    #[error("no tenant with the slug '{0}'")]
    UnknownTenant(String),
    /// No tenant has this domain.
    #[error("no tenant has the domain '{0}'")]
    UnknownDomain(HostName),
    /// The domain belongs to a tenant already (this one or another).
    #[error("the domain '{0}' already belongs to the tenant '{1}'")]
    DomainTaken(HostName, String),
    /// No account has this user name.
    #[error("no user named '{0}'")]
    UnknownUser(String),
    /// The user already belongs to the tenant.
    #[error("'{0}' is already a member of '{1}'")]
    AlreadyMember(String, String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Writing an export failed (the store's work was rolled back).
    #[error(transparent)]
    Write(std::io::Error),
}

/// A tenant with its domains.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantDetails {
    /// The tenant.
    pub tenant: Tenant,
    /// Its domains, primary first.
    pub domains: Vec<TenantDomain>,
}

/// What [`TenantAdmin::delete`] removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeletedTenant {
    /// The tenant as it was.
    pub tenant: Tenant,
    /// Whether its schema was there to drop (`false`: dropped by hand before).
    pub schema_dropped: bool,
}

/// A domain with the slug of its tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainListing {
    /// The mapping.
    pub domain: TenantDomain,
    /// The tenant's slug.
    pub slug: Slug,
}

/// The operators' use cases.
#[derive(Clone)]
pub struct TenantAdmin {
    pub(super) store: Arc<dyn Store>,
    cache: AccessCache,
    files: Arc<dyn FileStore>,
}

impl std::fmt::Debug for TenantAdmin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TenantAdmin").finish_non_exhaustive()
    }
}

impl TenantAdmin {
    /// The use cases over a store.
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self { store, cache: AccessCache::default(), files: Arc::new(NoFiles) }
    }

    /// The same use cases, removing deleted tenants' files from `files`.
    pub fn with_files(mut self, files: Arc<dyn FileStore>) -> Self {
        self.files = files;
        self
    }

    /// The same use cases, dropping the cached hosts their changes affect
    /// (with a shared cache, on every server at once).
    pub fn with_cache(mut self, cache: AccessCache) -> Self {
        self.cache = cache;
        self
    }

    /// Creates a tenant: row, domains (the first primary) and migrated
    /// schema, as one unit.
    #[tracing::instrument(skip_all, fields(tenant = %new.slug))]
    pub fn create(&self, new: &NewTenant) -> Result<Tenant, CreateTenantError> {
        self.create_then(new, |_, _| Ok(()))
    }

    /// [`create`](Self::create), running `then` in the same unit once the
    /// schema is built: the tenant exists with what `then` did, or not at all.
    pub(crate) fn create_then(
        &self,
        new: &NewTenant,
        then: impl FnOnce(&mut dyn TenantTx, &Tenant) -> Result<(), StoreError>,
    ) -> Result<Tenant, CreateTenantError> {
        self.check_new(new)?;
        self.store.provision(new, then).map(|(tenant, ())| tenant).map_err(|error| creation_error(error, new))
    }

    /// Every tenant with its domains, by slug.
    pub fn list(&self) -> Result<Vec<TenantDetails>, StoreError> {
        self.store.platform(|tx| {
            let tenants = tx.tenants().list()?;
            let mut domains = tx.domains().list(None)?;
            Ok(tenants
                .into_iter()
                .map(|tenant| {
                    let (own, rest): (Vec<_>, Vec<_>) = domains.drain(..).partition(|d| d.tenant_id == tenant.id);
                    domains = rest;
                    TenantDetails { tenant, domains: own }
                })
                .collect())
        })
    }

    /// One tenant with its domains.
    pub fn show(&self, slug: &Slug) -> Result<TenantDetails, TenantAdminError> {
        self.store.platform(|tx| {
            let tenant =
                tx.tenants().by_slug(slug)?.ok_or_else(|| TenantAdminError::UnknownTenant(slug.to_string()))?;
            let domains = tx.domains().list(Some(tenant.id))?;
            Ok(TenantDetails { tenant, domains })
        })
    }

    /// What the tenant holds beyond its plan's limits, as (resource, held,
    /// limit): after a change to a cheaper plan nothing is removed, but
    /// creating more is refused until it is under. Members are counted
    /// without pending invitations.
    pub fn over_limits(&self, tenant: &Tenant) -> Result<Vec<(LimitedResource, u64, u32)>, TenantAdminError> {
        let (usage, members) = self.store.snapshot(tenant, |tx| {
            Ok::<_, StoreError>((tx.usage().usage()?, tx.memberships().count(tenant.id, None)?))
        })?;
        let limits = tenant.plan.limits();
        // members without pending invitations (unlike the API's usage): an
        // operator's "over" is about people who hold seats, not offers
        let held = [
            (LimitedResource::Projects, usage.projects),
            (LimitedResource::Tasks, usage.tasks),
            (LimitedResource::Members, members),
        ];
        Ok(held
            .into_iter()
            .filter_map(|(resource, held)| {
                limits.of(resource).filter(|limit| held > u64::from(*limit)).map(|limit| (resource, held, limit))
            })
            .collect())
    }

    /// Changes name, plan, active flag or signup flag.
    #[tracing::instrument(skip_all, fields(tenant = %slug))]
    pub fn update(&self, slug: &Slug, changes: &TenantChanges) -> Result<Tenant, TenantAdminError> {
        let (tenant, domains) = self.store.platform(|tx| {
            let tenant =
                tx.tenants().by_slug(slug)?.ok_or_else(|| TenantAdminError::UnknownTenant(slug.to_string()))?;
            let updated = tx.tenants().update(tenant.id, changes)?;
            Ok::<_, TenantAdminError>((updated, tx.domains().list(Some(tenant.id))?))
        })?;
        // with a shared cache, every server reads the change on its next request
        self.cache.forget_hosts(domains.iter().map(|d| &d.domain));
        Ok(tenant)
    }

    /// Removes a tenant: schema, memberships, domains and row, then its
    /// files (a failure there is logged: nothing refers to them any more).
    #[tracing::instrument(skip_all, fields(tenant = %slug))]
    pub fn delete(&self, slug: &Slug) -> Result<DeletedTenant, TenantAdminError> {
        let TenantDetails { tenant, domains } = self.show(slug)?;
        let schema_dropped = self.store.deprovision(tenant.id).map_err(|error| match error {
            StoreError::NotFound => TenantAdminError::UnknownTenant(slug.to_string()),
            other => other.into(),
        })?;
        self.cache.forget_hosts(domains.iter().map(|d| &d.domain));
        if let Err(error) = self.files.delete_area(&tenant.schema_name) {
            tracing::warn!(tenant = %slug, %error, "could not delete the deleted tenant's files");
        }
        Ok(DeletedTenant { tenant, schema_dropped })
    }

    /// Maps a domain to a tenant; `primary` makes it the primary one.
    #[tracing::instrument(skip_all, fields(tenant = %slug, domain = %host))]
    pub fn add_domain(&self, slug: &Slug, host: &HostName, primary: bool) -> Result<TenantDomain, TenantAdminError> {
        match self.add_domain_once(slug, host, primary) {
            // lost a race for the name with another tenant's add: once more,
            // which now finds the winner and names it
            Err(TenantAdminError::DomainTaken(_, owner)) if owner.is_empty() => {
                self.add_domain_once(slug, host, primary)
            }
            added => added,
        }
    }

    fn add_domain_once(&self, slug: &Slug, host: &HostName, primary: bool) -> Result<TenantDomain, TenantAdminError> {
        self.store.platform(|tx| {
            let tenant =
                tx.tenants().by_slug(slug)?.ok_or_else(|| TenantAdminError::UnknownTenant(slug.to_string()))?;
            // one change to a tenant's domains at a time: two operators both
            // making a domain primary would otherwise both clear the old
            // primary and clash on the new one
            tx.tenants().lock(tenant.id)?;
            if let Some(existing) = tx.domains().get(host)? {
                // the tenant's own domain made primary: the flag moves to it
                if existing.tenant_id == tenant.id && primary {
                    tx.domains().clear_primary(tenant.id)?;
                    tx.domains().remove(host)?;
                    let domain = TenantDomain { is_primary: true, ..existing };
                    tx.domains().add(&domain)?;
                    return Ok(domain);
                }
                return Err(TenantAdminError::DomainTaken(host.clone(), slug_of(tx, existing.tenant_id)?));
            }
            let is_first = tx.domains().list(Some(tenant.id))?.is_empty();
            if primary {
                tx.domains().clear_primary(tenant.id)?;
            }
            let domain = TenantDomain { domain: host.clone(), tenant_id: tenant.id, is_primary: primary || is_first };
            tx.domains().add(&domain).map_err(|error| match error {
                // another tenant's add of the same name won a race
                error if error.is_duplicate_of(&Unique::Domain) => {
                    TenantAdminError::DomainTaken(host.clone(), String::new())
                }
                other => other.into(),
            })?;
            Ok(domain)
        })
    }

    /// Unmaps a domain. When it was the primary one, the tenant's next
    /// domain (by name) becomes primary.
    #[tracing::instrument(skip_all, fields(domain = %host))]
    pub fn remove_domain(&self, host: &HostName) -> Result<TenantDomain, TenantAdminError> {
        let removed = self.store.platform(|tx| {
            // one change to a tenant's domains at a time, the tenant row
            // locked first as in add_domain (the other order deadlocks)
            let owner = tx.domains().get(host)?.ok_or_else(|| TenantAdminError::UnknownDomain(host.clone()))?;
            tx.tenants().lock(owner.tenant_id)?;
            let removed = tx.domains().remove(host).map_err(|error| match error {
                StoreError::NotFound => TenantAdminError::UnknownDomain(host.clone()),
                other => other.into(),
            })?;
            if removed.is_primary
                && let Some(next) = tx.domains().list(Some(removed.tenant_id))?.into_iter().next()
            {
                tx.domains().remove(&next.domain)?;
                tx.domains().add(&TenantDomain { is_primary: true, ..next })?;
            }
            Ok::<_, TenantAdminError>(removed)
        })?;
        self.cache.forget_hosts([host]);
        Ok(removed)
    }

    /// A tenant, by id, with its domains (after a removal: whether any is
    /// left).
    pub fn tenant_domains(&self, tenant: TenantId) -> Result<Option<(Tenant, Vec<TenantDomain>)>, StoreError> {
        self.store.platform(|tx| {
            let Some(found) = tx.tenants().get(tenant)? else { return Ok(None) };
            Ok(Some((found, tx.domains().list(Some(tenant))?)))
        })
    }

    /// The domains of one tenant, or of all.
    pub fn list_domains(&self, slug: Option<&Slug>) -> Result<Vec<DomainListing>, TenantAdminError> {
        self.store.platform(|tx| {
            let tenants = tx.tenants().list()?;
            let only = match slug {
                Some(slug) => Some(
                    tenants
                        .iter()
                        .find(|t| &t.slug == slug)
                        .map(|t| t.id)
                        .ok_or_else(|| TenantAdminError::UnknownTenant(slug.to_string()))?,
                ),
                None => None,
            };
            let domains = tx.domains().list(only)?;
            Ok(domains
                .into_iter()
                .filter_map(|domain| {
                    let slug = tenants.iter().find(|t| t.id == domain.tenant_id)?.slug.clone();
                    Some(DomainListing { domain, slug })
                })
                .collect())
        })
    }

    /// Invalidates the cached host entries of these tenants, after their
    /// schemas were migrated (an entry holds the schema version it read);
    /// how many hosts.
    pub fn forget_hosts_of(&self, slugs: &[Slug]) -> Result<usize, TenantAdminError> {
        if slugs.is_empty() {
            return Ok(0);
        }
        let listed = self.list_domains(None)?;
        let hosts: Vec<&HostName> =
            listed.iter().filter(|l| slugs.contains(&l.slug)).map(|l| &l.domain.domain).collect();
        self.cache.forget_hosts(hosts.iter().copied());
        Ok(hosts.len())
    }

    /// Adds an existing account to a tenant with a role (recorded in the
    /// tenant's activity log as done by the operator).
    #[tracing::instrument(skip_all, fields(tenant = %slug, user = %username))]
    pub fn add_member(&self, slug: &Slug, username: &Username, role: Role) -> Result<Member, TenantAdminError> {
        let tenant = self
            .store
            .read(|tx| tx.tenants().by_slug(slug))?
            .ok_or_else(|| TenantAdminError::UnknownTenant(slug.to_string()))?;
        self.add_member_to(&tenant, username, role)
    }

    /// [`add_member`](Self::add_member) for a tenant already read.
    pub(super) fn add_member_to(
        &self,
        tenant: &Tenant,
        username: &Username,
        role: Role,
    ) -> Result<Member, TenantAdminError> {
        let slug = &tenant.slug;
        self.store.tenant(tenant, |tx| {
            let user =
                tx.users().by_username(username)?.ok_or_else(|| TenantAdminError::UnknownUser(username.to_string()))?;
            let membership = tx.memberships().add(tenant.id, user.id, role).map_err(|error| match error {
                StoreError::Duplicate(_) => TenantAdminError::AlreadyMember(username.to_string(), slug.to_string()),
                other => other.into(),
            })?;
            let mut changes = Changes::new();
            record_change(&mut changes, "role", &None::<Role>, &Some(role));
            record_change(&mut changes, "user_id", &None::<i64>, &Some(user.id.0));
            tx.activity().record(&NewActivity {
                actor: UserId::OPERATOR,
                verb: Verb::Created,
                target_type: TargetType::Membership,
                target_id: membership.id.0,
                project_id: None,
                changes,
            })?;
            // the account as it is spelt (`ADA` finds `ada`)
            Ok(Member { membership, username: user.username, email: user.email })
        })
    }

    /// The tenant's members with their accounts.
    pub fn members(&self, slug: &Slug) -> Result<Vec<Member>, TenantAdminError> {
        self.store.platform(|tx| {
            let tenant =
                tx.tenants().by_slug(slug)?.ok_or_else(|| TenantAdminError::UnknownTenant(slug.to_string()))?;
            Ok(tx.memberships().list(tenant.id)?)
        })
    }

    /// Makes sure the development tenant exists with self-signup on and the
    /// given domains (those not taken by another tenant). Safe to run any
    /// number of times.
    #[tracing::instrument(skip_all, fields(tenant = %slug))]
    pub fn ensure_dev_tenant(
        &self,
        slug: &Slug,
        name: &TenantName,
        domains: &[HostName],
    ) -> Result<TenantDetails, EnsureDevTenantError> {
        let existing = self.store.platform(|tx| tx.tenants().by_slug(slug))?;
        if existing.is_none() {
            let new = NewTenant {
                slug: slug.clone(),
                name: name.clone(),
                plan: taskforce_domain::Plan::Free,
                allow_signup: true,
                domains: Vec::new(),
            };
            match self.create(&new) {
                // another process created it meanwhile: fine
                Ok(_) | Err(CreateTenantError::SlugTaken(_)) => {}
                Err(other) => return Err(other.into()),
            }
        }
        for host in domains {
            match self.add_domain(slug, host, false) {
                Ok(_) => {}
                Err(TenantAdminError::DomainTaken(_, owner)) if owner == slug.as_str() || owner.is_empty() => {}
                Err(TenantAdminError::DomainTaken(domain, owner)) => {
                    tracing::warn!(%domain, %owner, "the dev tenant's domain belongs to another tenant; left there");
                }
                Err(other) => return Err(other.into()),
            }
        }
        let details = self.show(slug)?;
        if !details.tenant.allow_signup || !details.tenant.is_active {
            let changes = TenantChanges { allow_signup: Some(true), is_active: Some(true), ..Default::default() };
            self.update(slug, &changes)?;
            return Ok(self.show(slug)?);
        }
        Ok(details)
    }
}

/// Why the development tenant could not be ensured.
#[derive(Debug, thiserror::Error)]
pub enum EnsureDevTenantError {
    /// Creating it failed.
    #[error(transparent)]
    Create(#[from] CreateTenantError),
    /// Completing it failed.
    #[error(transparent)]
    Admin(#[from] TenantAdminError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl TenantAdmin {
    /// What a new tenant would clash with, named precisely before anything is
    /// made (a domain listed twice, a taken slug, a domain another tenant
    /// holds); the unique keys still guard the race. Tenant creation and
    /// import both ask it.
    pub(super) fn check_new(&self, new: &NewTenant) -> Result<(), CreateTenantError> {
        if let Some(twice) = new.domains.iter().enumerate().find_map(|(i, d)| new.domains[..i].contains(d).then_some(d))
        {
            return Err(CreateTenantError::DuplicateDomain(twice.clone()));
        }
        let taken = self.store.read(|tx| {
            if tx.tenants().by_slug(&new.slug)?.is_some() {
                return Err(CreateTenantError::SlugTaken(new.slug.clone()));
            }
            for domain in &new.domains {
                if let Some(existing) = tx.domains().get(domain)? {
                    return Ok(Some((domain.clone(), slug_of(tx, existing.tenant_id)?)));
                }
            }
            Ok(None)
        })?;
        match taken {
            Some((domain, owner)) => Err(CreateTenantError::DomainTaken(domain, owner)),
            None => Ok(()),
        }
    }
}

/// "the tenant 'acme'", or "another tenant" when the owner is not known.
fn taken_by(owner: &str) -> String {
    if owner.is_empty() { "another tenant".to_owned() } else { format!("the tenant '{owner}'") }
}

/// The slug of a tenant a domain leads to, for a message; empty if the
/// tenant went meanwhile.
pub(super) fn slug_of(tx: &mut dyn PlatformTx, tenant: TenantId) -> Result<String, StoreError> {
    Ok(tx.tenants().get(tenant)?.map(|t| t.slug.to_string()).unwrap_or_default())
}

/// Reads which uniqueness rule a failed provisioning broke.
pub(super) fn creation_error(error: StoreError, new: &NewTenant) -> CreateTenantError {
    match error {
        StoreError::Duplicate(ref rule) => match rule {
            Unique::Slug => CreateTenantError::SlugTaken(new.slug.clone()),
            Unique::SchemaName => {
                CreateTenantError::SchemaClash { slug: new.slug.clone(), schema: new.slug.schema_name().to_string() }
            }
            Unique::Schema => CreateTenantError::OrphanSchema(new.slug.schema_name().to_string()),
            Unique::Domain => match new.domains.as_slice() {
                [only] => CreateTenantError::DomainTaken(only.clone(), String::new()),
                _ => CreateTenantError::Store(error),
            },
            _ => CreateTenantError::Store(error),
        },
        other => CreateTenantError::Store(other),
    }
}

//! Per-tenant backup and restore: a tenant exported as one document — its
//! settings, domains, members (with their accounts) and every row of its
//! schema — and imported again, under its own slug or a new one, into this
//! database or another.
//!
//! Import is one unit of work: the tenant, its schema, its members and its
//! rows are created together or not at all. Accounts are matched by user
//! name and e-mail address together: an account here with the member's
//! name but another address is another person, and the import is refused
//! rather than hand them the member's role and rows. An account the
//! database lacks is created with the exported password hash, so its owner
//! keeps their password. User ids inside the tenant's rows follow the
//! accounts' ids in the target database.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use taskforce_domain::{
    DumpEvent, Email, HostName, NewTenant, NewUser, PasswordHasher, Plan, Role, Slug, StoreError, StoreExt,
    TENANT_TABLES, Tenant, TenantChanges, TenantDataRepository, TenantName, UserId, Username,
};

use super::{
    CreateTenantError, TenantAdmin, TenantAdminError,
    admin::creation_error,
    arrivals::{self, AccountClash, Arrival},
    reading::{self, ExportHead, LoadError, TableSummary},
};

/// The version of the export format this build writes. It reads this one
/// and every one before it, back to [`OLDEST_READ_FORMAT`]: format 2 added
/// the members' `joined_at` and each table's row `count`, format 3 the
/// `other_accounts` the rows name.
pub const EXPORT_FORMAT: u32 = 3;

/// The oldest export format this build reads.
pub const OLDEST_READ_FORMAT: u32 = 1;

/// One exported tenant. An import reads it twice, the first time with
/// each table's rows counted rather than kept (`Tables` a summary).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantExport<Tables = TableDump> {
    /// Its format: [`EXPORT_FORMAT`] when written by this build; read from
    /// [`OLDEST_READ_FORMAT`] to [`EXPORT_FORMAT`].
    pub format: u32,
    /// When it was taken.
    pub exported_at: DateTime<Utc>,
    /// The tenant migration its schema was at; an import needs the same.
    pub schema_version: String,
    /// Settings.
    pub tenant: ExportedTenant,
    /// Domains, primary first.
    pub domains: Vec<ExportedDomain>,
    /// Members with their accounts.
    pub members: Vec<ExportedMember>,
    /// The accounts the rows name that are no members (former members):
    /// matched on import by user name and e-mail address, never created.
    #[serde(default)]
    pub other_accounts: Vec<ExportedAccount>,
    /// Every table of the schema.
    pub tables: Vec<Tables>,
}

/// One table of an export read whole: a JSON array of the rows as objects,
/// column names as keys, kept as the text it was written in (parsing a
/// large tenant into values took seven times its size).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableDump {
    /// The table (`projects`, `tasks`, …).
    pub table: String,
    /// How many rows [`TableDump::rows`] holds: documents of export
    /// format 1 do not carry it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    /// Its rows, ordered by id.
    pub rows: Box<serde_json::value::RawValue>,
}

/// An account the rows name that is no member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportedAccount {
    /// Its id where it was exported.
    pub user_id: i64,
    /// User name.
    pub username: String,
    /// E-mail address.
    pub email: String,
}

/// A tenant's settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportedTenant {
    /// Slug.
    pub slug: String,
    /// Name.
    pub name: String,
    /// Plan.
    pub plan: Plan,
    /// Active flag.
    pub is_active: bool,
    /// Self-signup flag.
    pub allow_signup: bool,
}

/// A domain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportedDomain {
    /// Host name.
    pub domain: String,
    /// Whether it is the primary one.
    pub is_primary: bool,
}

/// A member and their account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportedMember {
    /// The account's id where it was exported.
    pub user_id: i64,
    /// User name.
    pub username: String,
    /// E-mail address.
    pub email: String,
    /// The PHC string of the password hash.
    pub password_hash: String,
    /// Whether the account may log in; an account the import creates
    /// keeps it.
    pub is_active: bool,
    /// Platform staff flag.
    pub is_staff: bool,
    /// Role in the tenant.
    pub role: Role,
    /// When they joined the tenant; absent from format 1, whose members
    /// join at the import.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub joined_at: Option<DateTime<Utc>>,
}

/// Opens an export document for reading, each time from its beginning.
pub type OpenExport<'a> = dyn Fn() -> std::io::Result<Box<dyn std::io::Read + 'a>> + 'a;

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Imported {
    /// The new tenant.
    pub tenant: Tenant,
    /// Members added.
    pub members: usize,
    /// Accounts created because the database did not have them.
    pub accounts_created: usize,
    /// User ids the rows hold that no account here matched: mapped to
    /// [`taskforce_domain::UserId::UNKNOWN`] (or kept, when asked).
    pub unmatched: usize,
    /// Rows loaded, over all tables.
    pub rows: u64,
}

/// Why an import was refused; nothing was created.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The document is of another format version.
    #[error("the export is in format {0}; this build reads formats {OLDEST_READ_FORMAT} to {EXPORT_FORMAT}")]
    Format(u32),
    /// The schema was exported at another migration than this build's.
    #[error(
        "the export's schema is at version {exported}; this build's tenant schemas are at {current} (import with the build that exported it, or export again after migrating)"
    )]
    SchemaVersion {
        /// The export's.
        exported: String,
        /// This build's.
        current: String,
    },
    /// A value in the document is not valid.
    #[error("the export is invalid: {0}")]
    Invalid(String),
    /// Unmatched user ids were to be kept, but the export names its former
    /// members' accounts (format 3 on), so none needs keeping.
    #[error(
        "--keep-unmatched-ids is for exports of format 1 or 2; this one is of format {0} and names its former \
         members' accounts, whose ids map to their accounts here or to nobody (import without it)"
    )]
    KeepUnmatched(u32),
    /// The document could not be read.
    #[error(transparent)]
    Read(std::io::Error),
    /// The document is no export (not JSON, a field missing or of a wrong type).
    #[error("not a tenant export: {0}")]
    NotAnExport(String),
    /// The document read otherwise when its rows were loaded than when it
    /// was checked (changed meanwhile).
    #[error("the export changed while it was imported, or is invalid ({0}); nothing was imported")]
    Changed(String),
    /// A member cannot be matched with an account here: the name or the
    /// e-mail address belongs to another person's account.
    #[error("member '{username}': {reason}; nothing was imported")]
    Account {
        /// The exported member's user name.
        username: String,
        /// What clashes.
        reason: AccountClash,
    },
    /// Members that cannot be matched with an account here or be given one,
    /// every one of them, found before anything is made.
    #[error("{}nothing was imported", members_refused(.0))]
    Members(Vec<(String, String)>),
    /// A member who would get a new account here has a password hash this
    /// server cannot verify: the account could never log in.
    #[error("member '{username}': {UNUSABLE_HASH}; nothing was imported")]
    UnusableHash {
        /// The exported member's user name.
        username: String,
    },
    /// Creating the tenant failed (slug or domain taken, …).
    #[error(transparent)]
    Create(#[from] CreateTenantError),
}

/// Why a member whose account would be made here cannot come over.
const UNUSABLE_HASH: &str =
    "its password hash is not one this server verifies (argon2, or Django's pbkdf2_sha256 within its cost limits)";

/// `member 'a': why; member 'b': why; ` for [`ImportError::Members`].
fn members_refused(members: &[(String, String)]) -> String {
    members.iter().map(|(username, why)| format!("member '{username}': {why}; ")).collect()
}

fn invalid(what: &str, error: impl std::fmt::Display) -> ImportError {
    ImportError::Invalid(format!("{what}: {error}"))
}

/// The accounts of an export as an import needs them: each with an id of
/// its own (the rows' user ids are mapped by it). A tenant may have no
/// member at all (`tenant create` adds none).
fn check_members(members: &[ExportedMember], others: &[ExportedAccount]) -> Result<(), ImportError> {
    let ids: Vec<(&str, i64)> = members
        .iter()
        .map(|m| (m.username.as_str(), m.user_id))
        .chain(others.iter().map(|a| (a.username.as_str(), a.user_id)))
        .collect();
    for (i, (username, id)) in ids.iter().enumerate() {
        if *id <= 0 {
            return Err(ImportError::Invalid(format!("account '{username}': the user id {id} is not above 0")));
        }
        if let Some((other, _)) = ids[..i].iter().find(|(_, earlier)| earlier == id) {
            return Err(ImportError::Invalid(format!(
                "account '{username}': the user id {id} is also account '{other}''s"
            )));
        }
    }
    // names and addresses are one whatever their case: two of the export's
    // accounts would be one account here
    let accounts: Vec<(&str, &str)> = members
        .iter()
        .map(|m| (m.username.as_str(), m.email.as_str()))
        .chain(others.iter().map(|a| (a.username.as_str(), a.email.as_str())))
        .collect();
    let (mut names, mut emails) = (std::collections::HashMap::new(), std::collections::HashMap::new());
    for (username, email) in accounts {
        if let Some(other) = names.insert(username.to_lowercase(), username) {
            return Err(ImportError::Invalid(format!(
                "accounts '{other}' and '{username}': one user name (names are one whatever their case)"
            )));
        }
        if let Some(other) = emails.insert(email.to_lowercase(), username) {
            return Err(ImportError::Invalid(format!(
                "accounts '{other}' and '{username}': one e-mail address ({email})"
            )));
        }
    }
    Ok(())
}

/// Rows in the export's tables, each checked to hold the count the export
/// gives (format 2 gives one for every table), every table of a tenant's
/// schema there once, parents first (they are loaded in that order).
fn rows_in(format: u32, tables: &[TableSummary]) -> Result<u64, ImportError> {
    let names: Vec<&str> = tables.iter().map(|t| t.table.as_str()).collect();
    if names != TENANT_TABLES {
        return Err(ImportError::Invalid(format!(
            "its tables are {names:?}; a tenant's are {TENANT_TABLES:?}, in this order"
        )));
    }
    let mut total = 0;
    for dump in tables {
        if format >= 2 && dump.count.is_none() {
            return Err(ImportError::Invalid(format!(
                "the rows of {}: no count (format {format} has one)",
                dump.table
            )));
        }
        let rows = dump.rows;
        if let Some(count) = dump.count.filter(|&count| count != rows) {
            return Err(ImportError::Invalid(format!(
                "the rows of {}: the export gives {count}, the list holds {rows}",
                dump.table
            )));
        }
        total += rows;
    }
    Ok(total)
}

impl TenantAdmin {
    /// Exports a tenant to `out` as one JSON document ([`TenantExport`]'s
    /// shape): settings, domains, members with their accounts, and every row
    /// of its schema, written as they are read, a chunk of rows at a time, so
    /// memory stays bounded whatever the tenant's size. All of it is read on
    /// one snapshot (the schema found by a look-up before it), so settings,
    /// schema version, members and rows agree with each other while the
    /// tenant is in use or being migrated. A failed write ends the export
    /// with [`TenantAdminError::Write`]; what was written is incomplete.
    pub fn export_to(
        &self,
        slug: &Slug,
        now: DateTime<Utc>,
        out: &mut dyn std::io::Write,
    ) -> Result<Exported, TenantAdminError> {
        let found = self.show(slug)?.tenant;
        let exported = self.store.snapshot(&found, |tx| {
            let tenant =
                tx.tenants().by_slug(slug)?.ok_or_else(|| TenantAdminError::UnknownTenant(slug.to_string()))?;
            if tenant.id != found.id {
                // deleted and created again between the look-up and the snapshot
                return Err(TenantAdminError::UnknownTenant(slug.to_string()));
            }
            let domains: Vec<ExportedDomain> = tx
                .domains()
                .list(Some(tenant.id))?
                .iter()
                .map(|d| ExportedDomain { domain: d.domain.to_string(), is_primary: d.is_primary })
                .collect();
            let mut members = Vec::new();
            for member in tx.memberships().list(tenant.id)? {
                let (user, password_hash) =
                    tx.users().by_login(member.username.as_str())?.ok_or(StoreError::NotFound)?;
                members.push(ExportedMember {
                    user_id: user.id.0,
                    username: user.username.to_string(),
                    email: user.email.to_string(),
                    password_hash,
                    is_active: user.is_active,
                    is_staff: user.is_staff,
                    role: member.membership.role,
                    joined_at: Some(member.membership.joined_at),
                });
            }
            // the rows may name people who are members no more: their
            // accounts go along, so an import can tell them apart from
            // whoever has their ids in another database
            let mut others = Vec::new();
            let member_ids: std::collections::HashSet<i64> = members.iter().map(|m| m.user_id).collect();
            for id in tx.data().user_ids()? {
                if member_ids.contains(&id.0) {
                    continue;
                }
                if let Some(user) = tx.users().get(id)? {
                    others.push(ExportedAccount {
                        user_id: id.0,
                        username: user.username.to_string(),
                        email: user.email.to_string(),
                    });
                }
            }
            let schema_version = tenant.schema_version.clone().unwrap_or_default();
            let settings = ExportedTenant {
                slug: tenant.slug.to_string(),
                name: tenant.name.as_str().to_owned(),
                plan: tenant.plan,
                is_active: tenant.is_active,
                allow_signup: tenant.allow_signup,
            };
            let mut document = Document { out, first: true };
            document.open().map_err(TenantAdminError::Write)?;
            document.field("format", &EXPORT_FORMAT).map_err(TenantAdminError::Write)?;
            document.field("exported_at", &now).map_err(TenantAdminError::Write)?;
            document.field("schema_version", &schema_version).map_err(TenantAdminError::Write)?;
            document.field("tenant", &settings).map_err(TenantAdminError::Write)?;
            document.field("domains", &domains).map_err(TenantAdminError::Write)?;
            document.field("members", &members).map_err(TenantAdminError::Write)?;
            document.field("other_accounts", &others).map_err(TenantAdminError::Write)?;
            let (tables, rows) = document.tables(tx.data())?;
            document.close().map_err(TenantAdminError::Write)?;
            Ok(Exported { schema_version, members: members.len(), tables, rows })
        });
        // deleted between the look-up and the snapshot
        exported.map_err(|error| match error {
            TenantAdminError::Store(StoreError::TenantGone(_)) => TenantAdminError::UnknownTenant(slug.to_string()),
            other => other,
        })
    }

    /// Imports an exported tenant as one unit: under its own slug and
    /// domains, or under `new_slug` with only `<new_slug>.<platform_domain>`
    /// (so that a copy can live beside the original).
    ///
    /// The document is read twice, each time from a reader `open` gives:
    /// first all but its rows, which are counted and skipped (the checks
    /// below need nothing more), then, inside the unit of work, its rows
    /// alone, loaded a chunk at a time. Memory stays bounded whatever the
    /// tenant's size. A document that reads otherwise the second time
    /// (changed meanwhile) is refused and nothing is left.
    pub fn import_from(
        &self,
        open: &OpenExport<'_>,
        new_slug: Option<&Slug>,
        platform_domain: &HostName,
        hasher: &dyn PasswordHasher,
        keep_unmatched: bool,
    ) -> Result<Imported, ImportError> {
        let mut first = reading::Hashed::new(open().map_err(ImportError::Read)?);
        let export: ExportHead = serde_json::from_reader(std::io::BufReader::new(&mut first)).map_err(|e| {
            if e.is_io() {
                ImportError::Read(e.into())
            } else if e.to_string().starts_with("unknown field") {
                // a key a later format may have added
                ImportError::NotAnExport(format!(
                    "{e} (an export of a later build? this one reads formats {OLDEST_READ_FORMAT} to {EXPORT_FORMAT})"
                ))
            } else {
                ImportError::NotAnExport(e.to_string())
            }
        })?;
        let first = first.digest();
        if !(OLDEST_READ_FORMAT..=EXPORT_FORMAT).contains(&export.format) {
            return Err(ImportError::Format(export.format));
        }
        // from format 3 on, a former member's id maps to their account here
        // or to nobody: kept, it would be whoever holds that id here
        if keep_unmatched && export.format >= 3 {
            return Err(ImportError::KeepUnmatched(export.format));
        }
        if let Some(member) = export.members.iter().find(|m| export.format >= 2 && m.joined_at.is_none()) {
            return Err(ImportError::Invalid(format!(
                "member '{}': no joined_at (format {} gives every member's)",
                member.username, export.format
            )));
        }
        let rows = rows_in(export.format, &export.tables)?;
        check_members(&export.members, &export.other_accounts)?;
        let slug = match new_slug {
            Some(slug) => slug.clone(),
            None => Slug::parse(&export.tenant.slug).map_err(|e| invalid("slug", e))?,
        };
        let domains = match new_slug {
            Some(slug) => vec![platform_domain.subdomain(slug.as_str()).map_err(|e| invalid("domain", e))?],
            None => {
                // a domain listed twice is named as such below
                let mut primary: Vec<&str> =
                    export.domains.iter().filter(|d| d.is_primary).map(|d| d.domain.as_str()).collect();
                primary.sort_unstable();
                primary.dedup();
                if export.domains.is_empty() {
                    return Err(ImportError::Invalid(
                        "domains: the export gives none, so no host would lead to the tenant; import with --slug, \
                         which gives it its platform address"
                            .into(),
                    ));
                }
                if primary.len() != 1 {
                    return Err(ImportError::Invalid(format!(
                        "domains: a tenant has one primary domain; the export marks {}",
                        if primary.is_empty() { "none".to_owned() } else { format!("{primary:?}") }
                    )));
                }
                let mut ordered: Vec<&ExportedDomain> = export.domains.iter().collect();
                ordered.sort_by_key(|d| !d.is_primary);
                let domains: Vec<HostName> = ordered
                    .iter()
                    .map(|d| HostName::parse(&d.domain).map_err(|e| invalid("domain", e)))
                    .collect::<Result<_, _>>()?;
                // the export's own slug: another slug's platform address
                // would keep that slug from ever being made here
                if let Some((domain, other)) = domains.iter().find_map(|d| {
                    d.platform_slug(platform_domain).filter(|other| *other != slug.as_str()).map(|o| (d, o))
                }) {
                    return Err(ImportError::Invalid(format!(
                        "domain '{domain}' is this platform's address for the slug '{other}'; import with --slug, \
                         which gives the tenant only its own address"
                    )));
                }
                domains
            }
        };
        let new = NewTenant {
            slug,
            name: TenantName::parse(&export.tenant.name).map_err(|e| invalid("name", e))?,
            plan: export.tenant.plan,
            allow_signup: export.tenant.allow_signup,
            domains,
        };
        // named before anything is made, as tenant creation names them (a
        // clash found while provisioning only names the database's rule)
        self.check_new(&new)?;
        let mut accounts = Vec::with_capacity(export.members.len());
        let mut refused = Vec::new();
        for member in &export.members {
            // a value the export should not hold names its member
            match (Username::parse(&member.username), Email::parse(&member.email)) {
                (Ok(username), Ok(email)) => accounts.push((member, username, email)),
                (Err(error), _) => refused.push((member.username.clone(), format!("user name: {error}"))),
                (_, Err(error)) => refused.push((member.username.clone(), format!("e-mail address: {error}"))),
            }
        }
        // every member that cannot come over, named at once rather than one
        // a run (the unit below checks again, under its locks)
        self.store
            .read(|tx| {
                for (member, username, email) in &accounts {
                    match arrivals::account_here(tx.users(), username, email, Some(&member.password_hash)) {
                        Ok(Some(_)) => {}
                        Ok(None) if !hasher.recognizes(&member.password_hash) => {
                            refused.push((username.to_string(), UNUSABLE_HASH.to_owned()));
                        }
                        Ok(None) => {}
                        Err(Arrival::Clash(clash)) => refused.push((username.to_string(), clash.to_string())),
                        Err(Arrival::Store(error)) => return Err(error),
                    }
                }
                Ok(())
            })
            .map_err(CreateTenantError::from)?;
        if !refused.is_empty() {
            return Err(ImportError::Members(refused));
        }
        let provisioned = self.store.provision(&new, |tx, tenant| {
            let current = tenant.schema_version.clone().unwrap_or_default();
            if current != export.schema_version {
                return Err(ImportOutcome::Refused(ImportError::SchemaVersion {
                    exported: export.schema_version.clone(),
                    current,
                }));
            }
            let (mut users, mut created) = (Vec::new(), 0);
            for (member, username, email) in &accounts {
                let refused = |arrival| match arrival {
                    Arrival::Clash(reason) => {
                        ImportOutcome::Refused(ImportError::Account { username: username.to_string(), reason })
                    }
                    Arrival::Store(error) => ImportOutcome::Store(error),
                };
                let user = match arrivals::account_here(tx.users(), username, email, Some(&member.password_hash))
                    .map_err(refused)?
                {
                    Some(user) => user,
                    None => {
                        if !hasher.recognizes(&member.password_hash) {
                            return Err(ImportOutcome::Refused(ImportError::UnusableHash {
                                username: username.to_string(),
                            }));
                        }
                        let new = NewUser {
                            username: username.clone(),
                            email: email.clone(),
                            password_hash: member.password_hash.clone(),
                            is_active: member.is_active,
                            is_staff: member.is_staff,
                            registered_themselves: false,
                        };
                        created += 1;
                        arrivals::create_account(tx.users(), &new).map_err(refused)?
                    }
                };
                match member.joined_at {
                    Some(joined_at) => tx.memberships().add_joined_at(tenant.id, user.id, member.role, joined_at)?,
                    None => tx.memberships().add(tenant.id, user.id, member.role)?,
                };
                users.push((UserId(member.user_id), user.id));
            }
            // a former member's rows stay theirs where their account is here
            // (the same name and address); anyone else's account never gets
            // them: the ids nobody here matches are mapped to nobody
            for other in &export.other_accounts {
                let (Ok(username), Ok(email)) = (Username::parse(&other.username), Email::parse(&other.email)) else {
                    continue;
                };
                match arrivals::account_here(tx.users(), &username, &email, None) {
                    Ok(Some(user)) => users.push((UserId(other.user_id), user.id)),
                    Ok(None) | Err(Arrival::Clash(_)) => {}
                    Err(Arrival::Store(error)) => return Err(ImportOutcome::Store(error)),
                }
            }
            let mut second = reading::Hashed::new(open().map_err(|e| ImportOutcome::Refused(ImportError::Read(e)))?);
            reading::load_tables(std::io::BufReader::new(&mut second), tx.data(), &export.tables)?;
            // the same bytes as the checked ones, so the same rows as counted
            if second.digest() != first {
                return Err(ImportOutcome::Refused(ImportError::Changed("its bytes differ from those checked".into())));
            }
            // ids no account here matches: mapped to nobody, or kept
            let named = tx.data().user_ids()?;
            let mapped: std::collections::HashSet<UserId> = users.iter().map(|(old, _)| *old).collect();
            let unmatched = named.iter().filter(|id| !mapped.contains(id)).count();
            // a row the server could not show is the export's fault, as a row
            // the load refused is
            tx.data().finish_load(&users, keep_unmatched).map_err(|error| match error {
                StoreError::Refused { reason, .. } => ImportOutcome::Refused(ImportError::Invalid(reason)),
                other => ImportOutcome::Store(other),
            })?;
            if !export.tenant.is_active {
                let changes = TenantChanges { is_active: Some(false), ..TenantChanges::default() };
                tx.tenants().update(tenant.id, &changes)?;
            }
            Ok((export.members.len(), created, unmatched))
        });
        match provisioned {
            Ok((tenant, (members, accounts_created, unmatched))) => {
                Ok(Imported { tenant, members, accounts_created, rows, unmatched })
            }
            Err(ImportOutcome::Refused(error)) => Err(error),
            Err(ImportOutcome::Store(error)) => Err(creation_error(error, &new).into()),
        }
    }
}

/// How the import's unit of work failed.
enum ImportOutcome {
    Refused(ImportError),
    Store(StoreError),
}

impl From<LoadError> for ImportOutcome {
    fn from(error: LoadError) -> Self {
        match error {
            LoadError::Store(error) => ImportOutcome::Store(error),
            LoadError::Refused { table, row, reason } => {
                let row = row.map(|row| format!("row {row}, ")).unwrap_or_default();
                ImportOutcome::Refused(ImportError::Invalid(format!("the rows of {table}: {row}{reason}")))
            }
            LoadError::Read(error) => ImportOutcome::Refused(ImportError::Read(error)),
            // the second reading met another document than the first
            LoadError::Document(reason) => ImportOutcome::Refused(ImportError::Changed(reason)),
        }
    }
}

impl From<StoreError> for ImportOutcome {
    fn from(error: StoreError) -> Self {
        ImportOutcome::Store(error)
    }
}

/// What an export wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exported {
    /// The tenant migration its schema was at.
    pub schema_version: String,
    /// Members.
    pub members: usize,
    /// Tables.
    pub tables: usize,
    /// Rows, over all tables.
    pub rows: u64,
}

/// Rows handed to the writer at a time.
const EXPORT_CHUNK: usize = 1000;

/// The export document written as it goes: `{"key": value, …}`, the tables
/// last, their rows copied as PostgreSQL wrote them.
struct Document<'a> {
    out: &'a mut dyn std::io::Write,
    first: bool,
}

impl Document<'_> {
    fn open(&mut self) -> std::io::Result<()> {
        self.out.write_all(b"{")
    }

    fn key(&mut self, key: &str) -> std::io::Result<()> {
        if !std::mem::take(&mut self.first) {
            self.out.write_all(b",")?;
        }
        serde_json::to_writer(&mut *self.out, key)?;
        self.out.write_all(b":")
    }

    fn field(&mut self, key: &str, value: &(impl Serialize + ?Sized)) -> std::io::Result<()> {
        self.key(key)?;
        Ok(serde_json::to_writer(&mut *self.out, value)?)
    }

    /// `"tables": [{"table": …, "rows": […], "count": …}, …]`: how many
    /// tables and rows.
    fn tables(&mut self, data: &mut dyn TenantDataRepository) -> Result<(usize, u64), TenantAdminError> {
        self.key("tables").map_err(TenantAdminError::Write)?;
        self.out.write_all(b"[").map_err(TenantAdminError::Write)?;
        let (mut tables, mut rows, mut first_row) = (0, 0, true);
        let mut failed = None;
        let out = &mut *self.out;
        let dumped = data.dump_chunks(EXPORT_CHUNK, &mut |event| {
            let written = (|| -> std::io::Result<()> {
                match event {
                    DumpEvent::Table(name) => {
                        if tables > 0 {
                            out.write_all(b",")?;
                        }
                        (tables, first_row) = (tables + 1, true);
                        out.write_all(b"{\"table\":")?;
                        serde_json::to_writer(&mut *out, name)?;
                        out.write_all(b",\"rows\":[")
                    }
                    DumpEvent::Rows(chunk) => {
                        for row in chunk {
                            if !std::mem::take(&mut first_row) {
                                out.write_all(b",")?;
                            }
                            out.write_all(row.as_bytes())?;
                        }
                        Ok(())
                    }
                    DumpEvent::Done(count) => {
                        rows += count;
                        write!(out, "],\"count\":{count}}}")
                    }
                }
            })();
            written.map_err(|error| {
                failed = Some(error);
                StoreError::Aborted
            })
        });
        match (dumped, failed) {
            (_, Some(error)) => Err(TenantAdminError::Write(error)),
            (Err(error), None) => Err(error.into()),
            (Ok(()), None) => {
                self.out.write_all(b"]").map_err(TenantAdminError::Write)?;
                Ok((tables, rows))
            }
        }
    }

    fn close(&mut self) -> std::io::Result<()> {
        self.out.write_all(b"}")
    }
}

#[cfg(test)]
mod tests {
    use taskforce_domain::{DumpEvent, StoreError, TenantDataRepository, UserId};

    use super::{Document, ExportedTenant, TenantAdminError, TenantExport, rows_in};

    /// Tables of made-up rows, dumped as PostgreSQL's cursor would.
    struct Made(Vec<(&'static str, usize)>);

    impl TenantDataRepository for Made {
        fn dump_chunks(
            &mut self,
            chunk: usize,
            each: &mut dyn FnMut(DumpEvent<'_>) -> Result<(), StoreError>,
        ) -> Result<(), StoreError> {
            for (table, count) in &self.0 {
                each(DumpEvent::Table(table))?;
                let rows: Vec<String> = (1..=*count).map(|id| format!("{{\"id\":{id},\"name\":\"n{id}\"}}")).collect();
                for part in rows.chunks(chunk) {
                    each(DumpEvent::Rows(part))?;
                }
                each(DumpEvent::Done(*count as u64))?;
            }
            Ok(())
        }

        fn columns(&mut self, _: &str) -> Result<Vec<taskforce_domain::TableColumn>, StoreError> {
            Err(StoreError::internal("not loaded here"))
        }

        fn load_rows(&mut self, _: &str, _: &str) -> Result<u64, StoreError> {
            Err(StoreError::internal("not loaded here"))
        }

        fn user_ids(&mut self) -> Result<Vec<UserId>, StoreError> {
            Ok(Vec::new())
        }

        fn finish_load(&mut self, _: &[(UserId, UserId)], _: bool) -> Result<(), StoreError> {
            Err(StoreError::internal("not loaded here"))
        }
    }

    fn write(out: &mut dyn std::io::Write, data: &mut Made) -> Result<(usize, u64), TenantAdminError> {
        let mut document = Document { out, first: true };
        document.open().map_err(TenantAdminError::Write)?;
        document.field("format", &2).map_err(TenantAdminError::Write)?;
        document.field("exported_at", &chrono::Utc::now()).map_err(TenantAdminError::Write)?;
        document.field("schema_version", "20261126000003").map_err(TenantAdminError::Write)?;
        let tenant = ExportedTenant {
            slug: "acme".into(),
            name: "Acme".into(),
            plan: taskforce_domain::Plan::Free,
            is_active: true,
            allow_signup: false,
        };
        document.field("tenant", &tenant).map_err(TenantAdminError::Write)?;
        document.field("domains", &Vec::<super::ExportedDomain>::new()).map_err(TenantAdminError::Write)?;
        document.field("members", &Vec::<super::ExportedMember>::new()).map_err(TenantAdminError::Write)?;
        let written = document.tables(data)?;
        document.close().map_err(TenantAdminError::Write)?;
        Ok(written)
    }

    #[test]
    fn the_document_written_a_chunk_at_a_time_reads_back_as_an_export() -> Result<(), Box<dyn std::error::Error>> {
        let mut data = Made(vec![
            ("projects", 0),
            ("tasks", 2_500),
            ("comments", 1),
            ("attachments", 0),
            ("activity", 0),
            ("notifications", 0),
        ]);
        let mut out = Vec::new();
        assert_eq!(write(&mut out, &mut data)?, (6, 2_501));
        let export: TenantExport = serde_json::from_slice(&out)?;
        let tables: Vec<(&str, Option<u64>)> = export.tables.iter().map(|t| (t.table.as_str(), t.count)).collect();
        assert_eq!(&tables[..3], [("projects", Some(0)), ("tasks", Some(2_500)), ("comments", Some(1))]);
        // the counts agree with the lists, as an import checks
        let head: super::ExportHead = serde_json::from_slice(&out)?;
        assert_eq!(rows_in(head.format, &head.tables)?, 2_501);
        assert!(export.tables[1].rows.get().starts_with("[{\"id\":1,") && export.tables[0].rows.get() == "[]");
        Ok(())
    }

    /// A file that takes `room` bytes, then refuses.
    struct Full {
        room: usize,
    }

    impl std::io::Write for Full {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            if self.room == 0 {
                return Err(std::io::Error::from(std::io::ErrorKind::StorageFull));
            }
            let taken = buf.len().min(self.room);
            self.room -= taken;
            Ok(taken)
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_write_that_fails_mid_table_ends_the_export_with_its_error() {
        let mut data = Made(vec![("projects", 10), ("tasks", 5_000)]);
        let failed = write(&mut Full { room: 4_096 }, &mut data);
        assert!(
            matches!(&failed, Err(TenantAdminError::Write(e)) if e.kind() == std::io::ErrorKind::StorageFull),
            "{failed:?}"
        );
    }
}

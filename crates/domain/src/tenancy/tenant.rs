//! The [`Tenant`] aggregate: one customer, one schema.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{HostName, Plan, SchemaName, Slug};

/// A tenant's id in the shared `tenants` table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TenantId(pub i64);

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Longest tenant name, in characters.
pub const TENANT_NAME_MAX_LEN: usize = 100;

/// A tenant's display name: 1–100 characters once trimmed, without control
/// characters, direction marks or overrides, or line separators: it is shown
/// in e-mails, notifications and chart titles, where those would make it
/// read as something it is not.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TenantName(String);

/// Why a text is not a [`TenantName`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TenantNameError {
    /// Empty once trimmed.
    #[error("the name is empty")]
    Empty,
    /// Longer than [`TENANT_NAME_MAX_LEN`] characters.
    #[error("the name is longer than 100 characters")]
    TooLong,
    /// Holds a control character such as a newline, a direction mark or
    /// override (U+200E, U+202E, …), a line separator (U+2028, U+2029) or
    /// an invisible character that joins nothing (U+200B, U+2060, U+FEFF).
    #[error("the name holds a control character, a direction mark, a line separator or an invisible character")]
    ControlChar,
}

impl TenantName {
    /// Trims and checks a tenant name.
    pub fn parse(input: &str) -> Result<Self, TenantNameError> {
        let trimmed = crate::text::python_trim(input);
        if trimmed.is_empty() {
            return Err(TenantNameError::Empty);
        }
        if trimmed.chars().count() > TENANT_NAME_MAX_LEN {
            return Err(TenantNameError::TooLong);
        }
        if trimmed.chars().any(crate::text::misleading) {
            return Err(TenantNameError::ControlChar);
        }
        Ok(Self(trimmed.to_owned()))
    }

    /// A name as stored, kept as it is: one an earlier build took before a
    /// rule tightened (an invisible character, white space only Python
    /// trims) stays readable, and its tenant reachable to rename.
    pub fn from_stored(text: &str) -> Result<Self, TenantNameError> {
        if text.trim().is_empty() {
            return Err(TenantNameError::Empty);
        }
        if text.chars().count() > TENANT_NAME_MAX_LEN {
            return Err(TenantNameError::TooLong);
        }
        Ok(Self(text.to_owned()))
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One customer of the platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant {
    /// Id in the shared schema.
    pub id: TenantId,
    /// URL-friendly identifier, unique.
    pub slug: Slug,
    /// The PostgreSQL schema that holds the tenant's data: the slug's
    /// ([`Slug::schema_name`]) when the tenant is made, and what the tenant
    /// row says after (a store reads both from it; a value built by hand
    /// with another pairing names another tenant's schema, which the
    /// store's tenant scope then refuses as [`StoreError::TenantGone`](crate::StoreError::TenantGone)).
    pub schema_name: SchemaName,
    /// Display name.
    pub name: TenantName,
    /// Subscription plan.
    pub plan: Plan,
    /// An inactive tenant's endpoints answer `403 tenant_inactive`.
    pub is_active: bool,
    /// Whether people may register themselves as members.
    pub allow_signup: bool,
    /// Version of the last tenant migration applied to the schema; `None`
    /// until the schema is migrated.
    pub schema_version: Option<String>,
    /// When the tenant was created.
    pub created_at: DateTime<Utc>,
}

impl Tenant {
    /// Whether the schema carries at least the migrations this build needs
    /// (`required` is the newest tenant migration version the build knows).
    /// Versions compare as text, which orders diesel's fixed-width
    /// timestamps (`2026-11-28-000001`, fourteen digits once the dashes
    /// go) as time does; versions of another width would not compare so.
    pub fn schema_is_current(&self, required: &str) -> bool {
        self.schema_version.as_deref().is_some_and(|version| version >= required)
    }
}

/// What it takes to create a tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTenant {
    /// The slug; the schema name derives from it.
    pub slug: Slug,
    /// Display name.
    pub name: TenantName,
    /// Subscription plan.
    pub plan: Plan,
    /// Whether self-registration is open.
    pub allow_signup: bool,
    /// Domains to map to the tenant; the first is primary.
    pub domains: Vec<HostName>,
}

/// The changes an operator or the tenant's admins may make to a tenant. `None`
/// leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TenantChanges {
    /// New display name.
    pub name: Option<TenantName>,
    /// New plan (operators only).
    pub plan: Option<Plan>,
    /// Activate or deactivate (operators only).
    pub is_active: Option<bool>,
    /// Open or close self-registration.
    pub allow_signup: Option<bool>,
}

impl TenantChanges {
    /// Whether nothing would change.
    pub fn is_empty(&self) -> bool {
        self.name.is_none() && self.plan.is_none() && self.is_active.is_none() && self.allow_signup.is_none()
    }
}

/// A host name mapped to a tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantDomain {
    /// The host name, canonical.
    pub domain: HostName,
    /// The tenant it leads to.
    pub tenant_id: TenantId,
    /// Whether this is the tenant's primary domain (one per tenant).
    pub is_primary: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_names_are_trimmed_and_bounded() {
        assert_eq!(TenantName::parse("  Acme  ").map(|n| n.0), Ok("Acme".into()));
        assert_eq!(TenantName::parse("   "), Err(TenantNameError::Empty));
        assert_eq!(TenantName::parse("a\nb"), Err(TenantNameError::ControlChar));
        for misleading in ["a\u{202e}b", "a\u{2028}b", "a\u{2029}b", "a\u{200f}b", "a\u{2066}b", "a\u{061c}b"] {
            assert_eq!(TenantName::parse(misleading), Err(TenantNameError::ControlChar), "{misleading:?}");
        }
        // invisible characters that join nothing make a name that shows as another, or as none
        for invisible in ["\u{200b}", "Ac\u{2060}me", "\u{feff}Acme", "A\u{ad}cme", "\u{3164}", "a\u{2062}b"] {
            assert_eq!(TenantName::parse(invisible), Err(TenantNameError::ControlChar), "{invisible:?}");
        }
        assert!(TenantName::parse("👨\u{200d}👩\u{200d}👧 Family").is_ok(), "the zero width joiner of emoji stays");
        assert!(TenantName::parse("Ünïcödé – 東京 ✓").is_ok(), "ordinary text outside ASCII is fine");
        assert_eq!(TenantName::parse(&"é".repeat(101)), Err(TenantNameError::TooLong));
        assert!(TenantName::parse(&"é".repeat(100)).is_ok());
    }

    #[test]
    fn schema_is_current_compares_versions() {
        let mut tenant = Tenant {
            id: TenantId(1),
            slug: Slug::parse("a").unwrap_or_else(|e| panic!("{e}")),
            schema_name: Slug::parse("a").map(|s| s.schema_name()).unwrap_or_else(|e| panic!("{e}")),
            name: TenantName::parse("A").unwrap_or_else(|e| panic!("{e}")),
            plan: Plan::Free,
            is_active: true,
            allow_signup: false,
            schema_version: None,
            created_at: Utc::now(),
        };
        assert!(!tenant.schema_is_current("20260101000000"));
        tenant.schema_version = Some("20260101000000".into());
        assert!(tenant.schema_is_current("20260101000000"));
        assert!(!tenant.schema_is_current("20260201000000"));
    }
}

//! The platform data of the Django product TaskForce succeeds, as it stored
//! it: what `tenant-admin import-django` reads and brings over. Values are
//! the Django columns' text, unchecked; the import checks each one.

/// A tenant (`tenants_tenant`, with its `tenants_domain` rows).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegacyTenant {
    /// `slug`.
    pub slug: String,
    /// `name`.
    pub name: String,
    /// `plan`: `free`, `basic`, `premium` or `enterprise`.
    pub plan: String,
    /// `is_active`.
    pub is_active: bool,
    /// Its domains (`tenants_domain.domain`), the primary one first.
    pub domains: Vec<String>,
}

/// An account (`core_user`). Its `Debug` leaves the hash out, so a log
/// line never carries it.
#[derive(Clone, PartialEq, Eq)]
pub struct LegacyAccount {
    /// `username`.
    pub username: String,
    /// `email` (Django allows it blank).
    pub email: String,
    /// `password`: Django's encoded hash (`pbkdf2_sha256$…`, `argon2$…`, or
    /// `!…` for no usable password).
    pub password_hash: String,
    /// `role`: `owner`, `admin`, `staff` or `user`, platform-wide.
    pub role: String,
    /// `is_active`.
    pub is_active: bool,
    /// `is_staff`.
    pub is_staff: bool,
}

impl std::fmt::Debug for LegacyAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LegacyAccount")
            .field("username", &self.username)
            .field("email", &self.email)
            .field("password_hash", &"<hidden>")
            .field("role", &self.role)
            .field("is_active", &self.is_active)
            .field("is_staff", &self.is_staff)
            .finish()
    }
}

/// Everything the import reads, in the order Django made it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LegacyPlatform {
    /// The tenants but Django's `public` one (the shared schema's, which
    /// owns no data).
    pub tenants: Vec<LegacyTenant>,
    /// The accounts.
    pub accounts: Vec<LegacyAccount>,
}

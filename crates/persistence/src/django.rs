//! Reading the Django product's platform tables (`tenants_tenant`,
//! `tenants_domain`, `core_user` in its `public` schema) for
//! `tenant-admin import-django`, in one read-only transaction on a
//! connection of its own. Nothing is written there.

use std::collections::HashMap;

use diesel::{
    Connection, PgConnection, QueryableByName, RunQueryDsl, sql_query,
    sql_types::{BigInt, Bool, Text},
};
use taskforce_domain::{LegacyAccount, LegacyPlatform, LegacyTenant, StoreError};

#[derive(QueryableByName)]
struct TenantRow {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Text)]
    slug: String,
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    plan: String,
    #[diesel(sql_type = Bool)]
    is_active: bool,
}

#[derive(QueryableByName)]
struct DomainRow {
    #[diesel(sql_type = BigInt)]
    tenant_id: i64,
    #[diesel(sql_type = Text)]
    domain: String,
}

#[derive(QueryableByName)]
struct UserRow {
    #[diesel(sql_type = Text)]
    username: String,
    #[diesel(sql_type = Text)]
    email: String,
    #[diesel(sql_type = Text)]
    password: String,
    #[diesel(sql_type = Text)]
    role: String,
    #[diesel(sql_type = Bool)]
    is_active: bool,
    #[diesel(sql_type = Bool)]
    is_staff: bool,
}

/// The tenants (but django-tenants' `public` one), their domains (primary
/// first) and the accounts of the Django database at `url`, each in the
/// order Django made them.
pub fn read_django_platform(url: &str) -> Result<LegacyPlatform, StoreError> {
    crate::error::check_url(url)?;
    let mut conn = PgConnection::establish(url).map_err(|error| {
        StoreError::Unavailable(format!(
            "cannot connect to the Django database: {}",
            crate::error::connection_failure(&error.to_string())
        ))
    })?;
    let not_django = |error: diesel::result::Error| {
        StoreError::internal(format!(
            "not a TaskForce Django database (tenants_tenant, tenants_domain, core_user): {error}"
        ))
    };
    conn.build_transaction()
        .read_only()
        .run(|conn| {
            let tenants: Vec<TenantRow> = sql_query(
                "SELECT id::bigint AS id, slug::text AS slug, name::text AS name, plan::text AS plan, is_active \
             FROM public.tenants_tenant WHERE schema_name <> 'public' ORDER BY id",
            )
            .load(conn)?;
            let domains: Vec<DomainRow> = sql_query(
                "SELECT tenant_id::bigint AS tenant_id, domain::text AS domain \
             FROM public.tenants_domain ORDER BY is_primary DESC, id",
            )
            .load(conn)?;
            let users: Vec<UserRow> = sql_query(
                "SELECT username::text AS username, coalesce(email, '')::text AS email, password::text AS password, \
             coalesce(role, '')::text AS role, is_active, is_staff FROM public.core_user ORDER BY id",
            )
            .load(conn)?;
            let mut domains_of: HashMap<i64, Vec<String>> = HashMap::new();
            for row in domains {
                domains_of.entry(row.tenant_id).or_default().push(row.domain);
            }
            let tenants = tenants
                .into_iter()
                .map(|t| LegacyTenant {
                    domains: domains_of.remove(&t.id).unwrap_or_default(),
                    slug: t.slug,
                    name: t.name,
                    plan: t.plan,
                    is_active: t.is_active,
                })
                .collect();
            let accounts = users
                .into_iter()
                .map(|u| LegacyAccount {
                    username: u.username,
                    email: u.email,
                    password_hash: u.password,
                    role: u.role,
                    is_active: u.is_active,
                    is_staff: u.is_staff,
                })
                .collect();
            Ok(LegacyPlatform { tenants, accounts })
        })
        .map_err(not_django)
}

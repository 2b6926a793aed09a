//! `tenant-admin domain …`.

use taskforce_domain::{HostName, Slug};

use super::{Context, output};

/// Refuses `<other>.<platform domain>` for the tenant `slug`: it is the
/// address signup and `tenant create` give the slug `other`, which a tenant
/// holding it would keep from ever being made (and would answer for).
pub(super) fn not_another_slugs_address(ctx: &Context, slug: &Slug, domain: &HostName) -> anyhow::Result<()> {
    if let Some(label) = domain.platform_slug(&ctx.platform_domain)
        && label != slug.as_str()
    {
        anyhow::bail!(
            "'{domain}' is the platform's address for the slug '{label}' (signup and `tenant create` give it to a \
             tenant of that slug), so it cannot lead to the tenant '{slug}'; its own is {slug}.{platform}, and it may \
             take any domain but another slug's `<slug>.{platform}`",
            platform = ctx.platform_domain
        );
    }
    Ok(())
}

pub(super) fn add(ctx: &Context, slug: &Slug, domain: &HostName, primary: bool) -> anyhow::Result<()> {
    not_another_slugs_address(ctx, slug, domain)?;
    let added = ctx.admin.add_domain(slug, domain, primary)?;
    let note = if added.is_primary { " as its primary domain" } else { "" };
    output::say(&format!("'{domain}' now leads to tenant '{slug}'{note}"));
    Ok(())
}

pub(super) fn remove(ctx: &Context, domain: &HostName) -> anyhow::Result<()> {
    let removed = ctx.admin.remove_domain(domain)?;
    output::say(&format!("'{domain}' no longer leads to any tenant"));
    // its tenant's last domain: no host reaches it now (the removal is
    // done whatever this look finds)
    if let Ok(Some((tenant, left))) = ctx.admin.tenant_domains(removed.tenant_id)
        && left.is_empty()
    {
        crate::stderr_line!(
            "warning: tenant '{}' has no domain left, so no host leads to it; give it one with `domain add {} HOST`",
            tenant.slug,
            tenant.slug
        );
    }
    Ok(())
}

pub(super) fn list(ctx: &Context, slug: Option<&Slug>, json: bool) -> anyhow::Result<()> {
    let domains = ctx.admin.list_domains(slug)?;
    if json {
        let items = domains
            .iter()
            .map(|d| {
                serde_json::json!({ "domain": d.domain.domain.as_str(), "tenant": d.slug.as_str(), "is_primary": d.domain.is_primary })
            })
            .collect();
        output::json(&serde_json::Value::Array(items));
        return Ok(());
    }
    let rows: Vec<Vec<String>> = domains
        .iter()
        .map(|d| {
            vec![d.domain.domain.to_string(), d.slug.to_string(), if d.domain.is_primary { "yes" } else { "" }.into()]
        })
        .collect();
    output::table(&["DOMAIN", "TENANT", "PRIMARY"], &rows);
    Ok(())
}

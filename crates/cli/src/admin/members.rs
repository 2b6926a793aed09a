//! `tenant-admin member …`.

use taskforce_domain::{Role, Slug, Username};

use super::{Context, output};

pub(super) fn add(ctx: &Context, slug: &Slug, username: &Username, role: Role) -> anyhow::Result<()> {
    // the account's own spelling in the answer (`BOB` finds `bob`)
    let member = ctx.admin.add_member(slug, username, role)?;
    output::say(&format!("'{}' is now {role} of '{slug}'", member.username));
    Ok(())
}

pub(super) fn list(ctx: &Context, slug: &Slug, json: bool) -> anyhow::Result<()> {
    let members = ctx.admin.members(slug)?;
    if json {
        let items = members
            .iter()
            .map(|m| {
                serde_json::json!({
                    "id": m.membership.id.0,
                    "user_id": m.membership.user_id.0,
                    "username": m.username.as_str(),
                    "email": m.email.as_str(),
                    "role": m.membership.role.as_str(),
                    "joined_at": m.membership.joined_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                })
            })
            .collect();
        output::json(&serde_json::Value::Array(items));
        return Ok(());
    }
    let rows: Vec<Vec<String>> = members
        .iter()
        .map(|m| {
            vec![
                m.membership.user_id.to_string(),
                m.username.to_string(),
                m.email.to_string(),
                m.membership.role.to_string(),
                m.membership.joined_at.format("%Y-%m-%d %H:%M").to_string(),
            ]
        })
        .collect();
    output::table(&["USER ID", "USERNAME", "EMAIL", "ROLE", "JOINED (UTC)"], &rows);
    Ok(())
}

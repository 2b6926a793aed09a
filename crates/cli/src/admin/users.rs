//! `tenant-admin user …`.

use std::io::BufRead;

use anyhow::{Context as _, bail};
use clap::Args;
use taskforce_application::{AccountInput, Confirmation, CreateAccountError};
use taskforce_domain::{Email, Username};

use super::{Context, output};

#[derive(Debug, Args)]
pub(super) struct CreateArgs {
    /// User name: letters, digits and @.+-_ (at most 150).
    #[arg(long, value_parser = super::parse_username)]
    username: Username,
    /// E-mail address.
    #[arg(long, value_parser = super::parse_email)]
    email: Email,
    /// Read the password from the first line of stdin.
    #[arg(long)]
    password_stdin: bool,
    /// Mark the account as platform staff.
    #[arg(long)]
    staff: bool,
}

pub(super) fn confirm(ctx: &Context, username: &Username) -> anyhow::Result<()> {
    match ctx.accounts.confirm(username)? {
        None => bail!("no account with the user name '{username}'"),
        Some(Confirmation::Now(user)) => output::say(&format!(
            "confirmed user '{}' (id {}, {}): imports take it for the member of the same user name and e-mail address",
            user.username, user.id, user.email
        )),
        Some(Confirmation::Already(user)) => output::say(&format!(
            "user '{}' (id {}, {}) needs no confirmation: it was made by an operator or confirmed before, and imports \
             already take it for the member of the same user name and e-mail address",
            user.username, user.id, user.email
        )),
    }
    Ok(())
}

pub(super) fn create(ctx: &Context, args: CreateArgs) -> anyhow::Result<()> {
    let (password, generated) = if args.password_stdin {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).context("reading the password from stdin")?;
        // without the white space around it, as the API reads a password
        // at registration and login: kept, it could never be typed in
        let password = line.trim().to_owned();
        if password.is_empty() {
            bail!("no password on stdin");
        }
        (password, false)
    } else {
        (format!("tf-{}", uuid::Uuid::new_v4().simple()), true)
    };
    let input = AccountInput {
        username: args.username.to_string(),
        email: args.email.to_string(),
        password,
        is_staff: args.staff,
    };
    let user = match ctx.accounts.create(&input) {
        Ok(user) => user,
        Err(CreateAccountError::Invalid(fields)) => bail!("{fields}"),
        Err(other) => return Err(other.into()),
    };
    output::say(&format!("created user '{}' (id {}, {})", user.username, user.id, user.email));
    if generated {
        let shown = format!("generated password (shown once): {}", input.password);
        output::say(&shown);
        // a password that could not be shown where asked is shown where the
        // error goes: lost, the account could never be logged into
        if let Err(error) = output::written() {
            crate::stderr_line!("{shown}");
            return Err(error);
        }
        if output::stdout_goes_nowhere() {
            crate::stderr_line!("{shown} (standard output is /dev/null)");
        }
    }
    Ok(())
}

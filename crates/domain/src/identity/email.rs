//! [`Email`]: a checked e-mail address.

use std::fmt;

/// Longest address accepted, in bytes.
pub const EMAIL_MAX_LEN: usize = 254;

/// An e-mail address of the `local@domain` form, with the domain lower-cased.
///
/// The local part is a dot-atom (letters, digits and ``!#$%&'*+/=?^_`{|}~-``,
/// dots not leading, trailing or doubled); the domain is host-name labels with
/// at least one dot, or `localhost`. Addresses are unique without regard to
/// case; [`Email::normalized`] gives the form they are compared in.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

/// The text is not an e-mail address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Enter a valid email address.")]
pub struct EmailError;

impl Email {
    /// Checks an address and lowers the case of its domain.
    pub fn parse(input: &str) -> Result<Self, EmailError> {
        let input = input.trim();
        if input.len() > EMAIL_MAX_LEN {
            return Err(EmailError);
        }
        let (local, domain) = input.rsplit_once('@').ok_or(EmailError)?;
        if !valid_local(local) || !valid_domain(domain) {
            return Err(EmailError);
        }
        Ok(Self(format!("{local}@{}", domain.to_ascii_lowercase())))
    }

    /// The address as given (domain lower-cased).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The address lower-cased: the key for uniqueness and look-ups.
    pub fn normalized(&self) -> String {
        self.0.to_lowercase()
    }
}

fn valid_local(local: &str) -> bool {
    const SPECIALS: &str = "!#$%&'*+/=?^_`{|}~-";
    !local.is_empty()
        && local.len() <= 64
        && local
            .split('.')
            .all(|atom| !atom.is_empty() && atom.chars().all(|c| c.is_ascii_alphanumeric() || SPECIALS.contains(c)))
}

fn valid_domain(domain: &str) -> bool {
    let domain = domain.to_ascii_lowercase();
    if domain == "localhost" {
        return true;
    }
    let labels: Vec<&str> = domain.split('.').collect();
    labels.len() >= 2
        && labels.iter().all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
        && labels.last().is_some_and(|tld| !tld.chars().all(|c| c.is_ascii_digit()))
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_addresses_and_lowers_the_domain() {
        assert_eq!(Email::parse("John.Doe+x@Example.COM").map(|e| e.0), Ok("John.Doe+x@example.com".into()));
        assert!(Email::parse("root@localhost").is_ok());
        assert_eq!(Email::parse("A@B.io").map(|e| e.normalized()), Ok("a@b.io".into()));
    }

    #[test]
    fn refuses_malformed_addresses() {
        for bad in
            ["", "plain", "@x.io", "a@", "a@b", "a..b@x.io", ".a@x.io", "a@-x.io", "a@x.123", "a b@x.io", "a@x..io"]
        {
            assert_eq!(Email::parse(bad), Err(EmailError), "{bad}");
        }
        assert!(Email::parse(&format!("{}@x.io", "a".repeat(65))).is_err());
    }
}

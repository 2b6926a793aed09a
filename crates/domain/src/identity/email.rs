//! [`Email`]: a checked e-mail address.

use std::fmt;

/// Longest address accepted, in characters.
pub const EMAIL_MAX_LEN: usize = 254;

/// An e-mail address of the `local@domain` form, with the domain lower-cased
/// (an internationalised one in its UTS #46 form: `ＥＸＡＭＰＬＥ.com`, or a
/// name with a soft hyphen in it, is `example.com`, where mail to it goes).
///
/// The rules are Django's `EmailValidator`, which the Django product's API
/// and accounts used: the local part is a dot-atom (letters, digits and
/// ``!#$%&'*+/=?^_`{|}~-``, dots not leading, trailing or doubled) or a quoted
/// string (`"john doe"` needs its space escaped, `"john\ doe"`), of 64 bytes
/// at most (what SMTP delivers to; Django sets no limit); the domain is
/// `localhost`, host-name labels with at least one dot, an IP address in
/// brackets (`[192.0.2.1]`, `[2001:db8::1]`), or an internationalised name
/// whose ASCII form is such labels (`exämple.com`). The whole, as kept, is
/// 254 characters at most. One more rule is looser than Django's: a last label
/// of one character (`x@example.c`) is taken, as earlier versions of this
/// crate took it, so that addresses stored by them stay readable. Addresses
/// are unique without regard to case; [`Email::normalized`] gives the form
/// they are compared in.
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
        if input.chars().count() > EMAIL_MAX_LEN {
            return Err(EmailError);
        }
        let (local, domain) = input.rsplit_once('@').ok_or(EmailError)?;
        if !valid_local(local) {
            return Err(EmailError);
        }
        let address = format!("{local}@{}", canonical_domain(domain).ok_or(EmailError)?);
        // lowering and mapping may lengthen the domain (`İ` is two characters lowered)
        if address.chars().count() > EMAIL_MAX_LEN {
            return Err(EmailError);
        }
        Ok(Self(address))
    }

    /// An address as stored, kept as it is: one an earlier build took
    /// before internationalised domains were mapped (or whose mapped form
    /// would be longer) stays readable. Only its shape is checked (the
    /// column bounds its length).
    pub fn from_stored(text: &str) -> Result<Self, EmailError> {
        let (local, domain) = text.rsplit_once('@').ok_or(EmailError)?;
        if domain.is_empty() || !valid_local(local) {
            return Err(EmailError);
        }
        Ok(Self(text.to_owned()))
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
    local.len() <= 64 && (dot_atom(local) || quoted_string(local))
}

fn dot_atom(local: &str) -> bool {
    const SPECIALS: &str = "!#$%&'*+/=?^_`{|}~-";
    local
        .split('.')
        .all(|atom| !atom.is_empty() && atom.chars().all(|c| c.is_ascii_alphanumeric() || SPECIALS.contains(c)))
}

/// `"…"`: printable ASCII but `"` and `\`, and control characters but tab,
/// line feed and carriage return; any of those but NUL, line feed and
/// carriage return escaped with `\`.
fn quoted_string(local: &str) -> bool {
    let Some(inner) = local.strip_prefix('"').and_then(|rest| rest.strip_suffix('"')) else {
        return false;
    };
    let mut bytes = inner.bytes();
    while let Some(byte) = bytes.next() {
        let fits = match byte {
            b'\\' => matches!(bytes.next(), Some(1..=9 | 11 | 12 | 14..=127)),
            1..=8 | 11 | 12 | 14..=31 | b'!' | b'#'..=b'[' | b']'..=127 => true,
            _ => false,
        };
        if !fits {
            return false;
        }
    }
    true
}

/// The domain as kept, if it is one: lower-cased; an internationalised
/// name (or its ASCII `xn--` form) judged by its ASCII form and kept in the
/// Unicode form UTS #46 maps it to, so that the spellings of one name that
/// reach one mail server (full-width letters, a soft hyphen, capitals,
/// Punycode) are one address.
fn canonical_domain(domain: &str) -> Option<String> {
    let punycode = |label: &str| label.get(..4).is_some_and(|prefix| prefix.eq_ignore_ascii_case("xn--"));
    if domain.eq_ignore_ascii_case("localhost")
        || (host_labels(domain) && !domain.split('.').any(punycode))
        || address_literal(domain)
    {
        return Some(domain.to_lowercase());
    }
    let ascii = idna::domain_to_ascii(domain).ok().filter(|ascii| host_labels(ascii))?;
    let (unicode, mapped) = idna::domain_to_unicode(&ascii);
    mapped.ok().map(|()| unicode)
}

/// Labels of letters, digits and inner hyphens, 63 at most each; the last
/// one may be all digits (Django wants two characters or more of it).
fn host_labels(domain: &str) -> bool {
    let Some((labels, last)) = domain.rsplit_once('.') else {
        return false;
    };
    let letters_digits_hyphens = |label: &str| label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    labels.split('.').all(|label| {
        (1..=63).contains(&label.len())
            && letters_digits_hyphens(label)
            && !label.starts_with('-')
            && !label.ends_with('-')
    }) && (1..=63).contains(&last.len())
        && letters_digits_hyphens(last)
        && !last.ends_with('-')
}

/// `[192.0.2.1]` or `[2001:db8::1]`.
fn address_literal(domain: &str) -> bool {
    domain.strip_prefix('[').and_then(|rest| rest.strip_suffix(']')).is_some_and(|ip| {
        ip.bytes().all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.') && ip.parse::<std::net::IpAddr>().is_ok()
    })
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
            ["", "plain", "@x.io", "a@", "a@b", "a..b@x.io", ".a@x.io", "a@-x.io", "a b@x.io", "a@x..io", "a@x.io."]
        {
            assert_eq!(Email::parse(bad), Err(EmailError), "{bad}");
        }
        assert!(Email::parse(&format!("{}@x.io", "a".repeat(65))).is_err());
        assert!(Email::parse(&format!("a@{}.io", "b".repeat(250))).is_err());
    }

    /// What Django's `EmailValidator` (the Django product's) says of each,
    /// but for the one-letter last label.
    #[test]
    fn takes_what_django_took_and_refuses_what_it_refused() {
        let accepted = [
            "user@exämple.com",
            "u@[127.0.0.1]",
            "u@[2001:db8::1]",
            "\"quoted\"@example.com",
            "\"john\\ doe\"@example.com",
            "\"a@b\"@example.com",
            "a@x.123",
            "a@b.c-d",
        ];
        for good in accepted {
            assert!(Email::parse(good).is_ok(), "{good}");
        }
        let refused = [
            "a@x.io-",
            "u@[127.0.0.1.5]",
            "u@[not-an-ip]",
            "u@[::1%eth0]",
            "\"john doe\"@example.com",
            "\"unclosed@example.com",
            "\"\\\"@example.com",
            "a@exa_mple.com",
            "Ünïcödé@example.com",
        ];
        for bad in refused {
            assert_eq!(Email::parse(bad), Err(EmailError), "{bad}");
        }
        // looser than Django's: what earlier versions took and stored
        assert!(Email::parse("x@example.c").is_ok());
        // the domain is lower-cased as Django's normalize_email does, Unicode too
        assert_eq!(Email::parse("A@ExÄmple.COM").map(|e| e.0), Ok("A@exämple.com".into()));
        assert_eq!(Email::parse("u@[2001:DB8::1]").map(|e| e.0), Ok("u@[2001:db8::1]".into()));
    }

    /// Spellings of one domain that reach one mail server are one address.
    #[test]
    fn an_internationalised_domain_is_kept_as_uts_46_maps_it() {
        for spelling in
            ["bob@exa\u{AD}mple.com", "bob@ｅｘａｍｐｌｅ.com", "bob@EXAMPLE.com", "bob@ＥＸＡＭＰＬＥ.ｃｏｍ"]
        {
            assert_eq!(Email::parse(spelling).map(|e| e.0), Ok("bob@example.com".into()), "{spelling:?}");
        }
        for spelling in ["bob@exämple.com", "bob@EXÄMPLE.com", "bob@xn--exmple-cua.com", "bob@XN--EXMPLE-CUA.COM"] {
            assert_eq!(Email::parse(spelling).map(|e| e.0), Ok("bob@exämple.com".into()), "{spelling:?}");
        }
    }

    /// The limit holds for the address as kept, which lowering may lengthen
    /// (`İ` lowers to `i` and a combining dot): such an address could not
    /// be stored.
    #[test]
    fn the_length_limit_holds_for_the_address_as_kept() {
        let long = format!("a@{}.com", vec!["İ".repeat(20); 11].join("."));
        assert!(long.chars().count() <= EMAIL_MAX_LEN);
        assert_eq!(Email::parse(&long), Err(EmailError));
        for kept in ["a@ÄÖÜ.example", &format!("{}@{}.io", "a".repeat(64), "b".repeat(63))] {
            let email = Email::parse(kept);
            assert!(email.as_ref().is_ok_and(|e| e.0.chars().count() <= EMAIL_MAX_LEN), "{kept}: {email:?}");
        }
    }
}

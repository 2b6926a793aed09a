//! [`HostName`]: a canonical host name, as tenants' domains are stored and
//! looked up.

use std::fmt;

/// Longest host name accepted, in bytes (DNS's limit).
pub const HOST_MAX_LEN: usize = 253;

/// A canonical host name: lower case, without port and without trailing dot.
///
/// Labels hold `a-z`, `0-9`, `-` and `_` (the underscore is tolerated because
/// tenant slugs may hold one and every tenant gets `<slug>.<platform domain>`),
/// each 1–63 bytes, none beginning or ending with `-`; an IPv6 address keeps
/// its brackets and is written in its canonical form (`[::1]`).
///
/// ```
/// use taskforce_domain::HostName;
///
/// let host = HostName::from_header("Acme.Example.COM.:8001").unwrap();
/// assert_eq!(host.as_str(), "acme.example.com");
/// assert!(HostName::from_header("evil.com/../x").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HostName(String);

/// Why a text is not a [`HostName`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HostNameError {
    /// Nothing is left once the port and trailing dot are removed.
    #[error("the host name is empty")]
    Empty,
    /// Longer than [`HOST_MAX_LEN`] bytes.
    #[error("the host name is longer than 253 bytes")]
    TooLong,
    /// A label is empty, longer than 63 bytes, or begins or ends with `-`.
    #[error("the host name has an empty or over-long label, or one that begins or ends with '-'")]
    BadLabel,
    /// It ends in a number (`1.2.3`, `999.1.1.1`) but is no IPv4 address.
    #[error("the host name ends in a number but is no IPv4 address")]
    NotAnAddress,
    /// A character that no host name holds.
    #[error("the host name may only hold a-z, 0-9, '-', '_' and '.'; {0:?} is not allowed")]
    BadChar(char),
    /// The part after `:` is not a port number (1–65535).
    #[error("the port is not a number from 1 to 65535")]
    BadPort,
    /// Between brackets, but no IPv6 address.
    #[error("the bracketed host is no IPv6 address")]
    NotAnIpv6Address,
}

/// Checks the port of a `Host` header, which is dropped.
fn port(text: &str) -> Result<(), HostNameError> {
    match text.parse::<u16>() {
        Ok(1..) if text.bytes().all(|b| b.is_ascii_digit()) => Ok(()),
        _ => Err(HostNameError::BadPort),
    }
}

impl HostName {
    /// Canonicalises the value of a `Host` header (or an `:authority`): strips
    /// the port and one trailing dot, lowers the case, then validates.
    pub fn from_header(raw: &str) -> Result<Self, HostNameError> {
        let raw = raw.trim();
        if let Some(rest) = raw.strip_prefix('[') {
            return Self::ipv6(rest);
        }
        let host = match raw.rsplit_once(':') {
            Some((host, text)) => {
                port(text)?;
                host
            }
            None => raw,
        };
        Self::parse(host)
    }

    /// Parses a host name without port (as given to `tenant-admin domain add`),
    /// lowering its case and dropping one trailing dot; an IPv6 address in
    /// brackets, as [`HostName::as_str`] writes one, is taken too.
    pub fn parse(input: &str) -> Result<Self, HostNameError> {
        if let Some(rest) = input.trim().strip_prefix('[') {
            if !rest.ends_with(']') {
                return Err(HostNameError::NotAnIpv6Address);
            }
            return Self::ipv6(rest);
        }
        let lowered = input.trim().to_ascii_lowercase();
        let host = lowered.strip_suffix('.').unwrap_or(&lowered);
        if host.is_empty() {
            return Err(HostNameError::Empty);
        }
        if host.len() > HOST_MAX_LEN {
            return Err(HostNameError::TooLong);
        }
        if let Some(bad) =
            host.chars().find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.')))
        {
            return Err(HostNameError::BadChar(bad));
        }
        if host
            .split('.')
            .any(|label| label.is_empty() || label.len() > 63 || label.starts_with('-') || label.ends_with('-'))
        {
            return Err(HostNameError::BadLabel);
        }
        // no top-level domain is a number: such a name is an address or nothing
        let numeric_end = host.rsplit('.').next().is_some_and(|last| last.bytes().all(|b| b.is_ascii_digit()));
        if numeric_end && host.parse::<std::net::Ipv4Addr>().is_err() {
            return Err(HostNameError::NotAnAddress);
        }
        Ok(Self(host.to_owned()))
    }

    fn ipv6(rest: &str) -> Result<Self, HostNameError> {
        let (inside, after) = rest.split_once(']').ok_or(HostNameError::BadChar('['))?;
        if !after.is_empty() {
            port(after.strip_prefix(':').ok_or(HostNameError::BadPort)?)?;
        }
        if inside.is_empty() {
            return Err(HostNameError::Empty);
        }
        // the address's own canonical form: `[0:0::1]` and `[::1]` are one host
        let address = inside.parse::<std::net::Ipv6Addr>().map_err(|_| HostNameError::NotAnIpv6Address)?;
        Ok(Self(format!("[{address}]")))
    }

    /// The canonical host name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `<label>.<self>`, such as `acme.localhost` for the slug `acme` under
    /// the platform domain `localhost`.
    pub fn subdomain(&self, label: &str) -> Result<Self, HostNameError> {
        Self::parse(&format!("{label}.{}", self.0))
    }

    /// The slug whose platform address this is, `<label>` of
    /// `<label>.<platform_domain>`, when it is one: signup and tenant
    /// creation give that address to the slug, so no other tenant may hold
    /// it. Names deeper under the platform domain (`eu.acme.localhost`)
    /// and outside it are no slug's.
    pub fn platform_slug(&self, platform_domain: &HostName) -> Option<&str> {
        let label = self.0.strip_suffix(platform_domain.as_str())?.strip_suffix('.')?;
        (!label.is_empty() && !label.contains('.')).then_some(label)
    }
}

impl fmt::Display for HostName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_platform_address_names_its_slug() -> Result<(), HostNameError> {
        let platform = HostName::parse("localhost")?;
        for (host, slug) in [
            ("acme.localhost", Some("acme")),
            ("eu.acme.localhost", None),
            ("localhost", None),
            ("notlocalhost", None),
            ("acme.example.com", None),
        ] {
            assert_eq!(HostName::parse(host)?.platform_slug(&platform), slug, "{host}");
        }
        Ok(())
    }

    fn canon(raw: &str) -> Result<String, HostNameError> {
        HostName::from_header(raw).map(|h| h.0)
    }

    #[test]
    fn canonicalises_case_port_and_trailing_dot() {
        assert_eq!(canon("ACME.localhost:8001"), Ok("acme.localhost".into()));
        assert_eq!(canon("acme.localhost."), Ok("acme.localhost".into()));
        assert_eq!(canon("acme.localhost.:80"), Ok("acme.localhost".into()));
        assert_eq!(canon("127.0.0.1:8001"), Ok("127.0.0.1".into()));
        assert_eq!(canon("[::1]:8001"), Ok("[::1]".into()));
        assert_eq!(canon("[::1]"), Ok("[::1]".into()));
        assert_eq!(canon("[0:0:0::1]:443"), Ok("[::1]".into()));
        assert_eq!(canon("[2001:DB8::A]"), Ok("[2001:db8::a]".into()));
        assert_eq!(canon("acme.localhost:65535"), Ok("acme.localhost".into()));
    }

    #[test]
    fn an_ipv6_address_parses_again_as_it_is_written() -> Result<(), HostNameError> {
        let host = HostName::from_header("[0:0:0::1]:8001")?;
        assert_eq!(HostName::parse(host.as_str())?, host);
        assert_eq!(HostName::parse(" [2001:DB8::A] ")?.as_str(), "[2001:db8::a]");
        for bad in ["[::1]:8001", "[::1", "[abc]", "[]"] {
            assert!(HostName::parse(bad).is_err(), "{bad}");
        }
        Ok(())
    }

    #[test]
    fn refuses_what_is_no_host() {
        assert_eq!(canon(""), Err(HostNameError::Empty));
        assert_eq!(canon(":80"), Err(HostNameError::Empty));
        assert_eq!(canon("a..b"), Err(HostNameError::BadLabel));
        assert_eq!(canon("a b"), Err(HostNameError::BadChar(' ')));
        assert_eq!(canon("a/b"), Err(HostNameError::BadChar('/')));
        assert_eq!(canon("acme:x"), Err(HostNameError::BadPort));
        assert_eq!(canon("acme:"), Err(HostNameError::BadPort));
        assert_eq!(canon("a:1:2"), Err(HostNameError::BadChar(':')));
        assert_eq!(canon(&format!("{}.com", "a".repeat(64))), Err(HostNameError::BadLabel));
        assert_eq!(canon(&"a.".repeat(130)), Err(HostNameError::TooLong));
        assert!(canon("[::1]x").is_err());
        assert!(canon("[zz]").is_err());
        for bad in ["[abc]", "[....]", "[:]", "[1::2::3]"] {
            assert_eq!(canon(bad), Err(HostNameError::NotAnIpv6Address), "{bad}");
        }
        assert_eq!(canon(&format!("[{}]", "1".repeat(10_000))), Err(HostNameError::NotAnIpv6Address));
        for bad in ["acme:99999", "acme:65536", "acme:0", "[::1]:70000", "acme:+80", "[::1]:"] {
            assert_eq!(canon(bad), Err(HostNameError::BadPort), "{bad}");
        }
        // RFC 1123: a label begins and ends with a letter or digit
        for bad in ["-lead.example", "end-.example", "a.-b.c", "a.b-"] {
            assert_eq!(canon(bad), Err(HostNameError::BadLabel), "{bad}");
        }
        assert_eq!(canon("mid-dle.example"), Ok("mid-dle.example".into()));
        // a name ending in a number is an IPv4 address or nothing
        for bad in ["999.1.1.1", "1.2.3", "example.123", "01.2.3.4"] {
            assert_eq!(canon(bad), Err(HostNameError::NotAnAddress), "{bad}");
        }
        assert_eq!(canon("10.0.0.1:8001"), Ok("10.0.0.1".into()));
        assert_eq!(canon("123.example"), Ok("123.example".into()));
    }
}

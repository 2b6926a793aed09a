//! The host a request was sent to, read from `Host` alone unless the peer
//! is a trusted proxy.

use std::net::IpAddr;

use actix_web::{HttpRequest, http::header};

/// The raw host of a request (not yet canonical).
///
/// `X-Forwarded-Host` and `Forwarded: host=` are honoured only when the
/// connection comes from one of `trusted_proxies`; otherwise anyone could
/// pick a tenant by sending them. actix's `ConnectionInfo::host()` reads
/// those headers unconditionally, so it is not used.
pub fn raw_host(req: &HttpRequest, trusted_proxies: &[IpAddr]) -> String {
    if peer_is_trusted(req, trusted_proxies)
        && let Some(host) = forwarded_host(req)
    {
        return host;
    }
    // a request target in absolute form (`GET http://beta.example/…`), or
    // HTTP/2's `:authority`, names the host over `Host` (RFC 9112 §3.2.2,
    // RFC 9113 §8.3.1): a proxy that routes by the one is not answered for
    // another tenant named by the other
    if let Some(authority) = req.uri().authority() {
        return authority.as_str().to_owned();
    }
    // bytes outside ASCII are no host of ours, but the answer names them
    req.headers().get(header::HOST).map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned()).unwrap_or_default()
}

/// The client's address: the peer, or with a trusted proxy in front, the
/// last address `X-Forwarded-For` names before the trusted proxies.
///
/// The list is read from the right, where each trusted proxy appended the
/// address it saw, and stops at the first address no trusted proxy owns:
/// what lies left of it was written by the client and proves nothing. An
/// entry that is no address (`unknown`, garbage) also stops the reading,
/// and the peer stands for the client, rather than trusting the
/// client-written entries beyond it. `a.b.c.d:port` and `[v6]:port` count.
pub fn client_ip(req: &HttpRequest, trusted_proxies: &[IpAddr]) -> Option<IpAddr> {
    let peer = req.peer_addr().map(|a| a.ip());
    if !peer_is_trusted(req, trusted_proxies) {
        return peer;
    }
    // every line of the header, in order: a proxy may add a line of its
    // own rather than append to the last one (HAProxy's `forwardfor`)
    let lines: Vec<&str> = req.headers().get_all("x-forwarded-for").filter_map(|v| v.to_str().ok()).collect();
    if lines.is_empty() {
        return peer;
    }
    for entry in lines.iter().rev().flat_map(|line| line.rsplit(',')).map(str::trim) {
        match address(entry) {
            Some(address) if trusted_proxies.contains(&address) => continue,
            Some(address) => return Some(address),
            None => return peer,
        }
    }
    peer
}

/// An `X-Forwarded-For` entry's address, with or without a port.
fn address(entry: &str) -> Option<IpAddr> {
    entry.parse::<IpAddr>().ok().or_else(|| entry.parse::<std::net::SocketAddr>().ok().map(|s| s.ip()))
}

fn peer_is_trusted(req: &HttpRequest, trusted_proxies: &[IpAddr]) -> bool {
    req.peer_addr().is_some_and(|peer| trusted_proxies.contains(&peer.ip()))
}

/// The scheme of a request's absolute URLs: `https` when a trusted proxy
/// says the client used it (`X-Forwarded-Proto`, else `Forwarded: proto=`,
/// the nearest proxy's entry), otherwise `http`. Nothing but those two
/// words ever reaches a link.
pub fn scheme(req: &HttpRequest, trusted_proxies: &[IpAddr]) -> &'static str {
    if !peer_is_trusted(req, trusted_proxies) {
        return "http";
    }
    let said = last_entry(req, header::HeaderName::from_static("x-forwarded-proto")).map(str::to_owned).or_else(|| {
        last_entry(req, header::FORWARDED)?.split(';').find_map(|pair| {
            let (key, value) = pair.trim().split_once('=')?;
            key.eq_ignore_ascii_case("proto").then(|| value.trim_matches('"').to_owned())
        })
    });
    match said {
        Some(proto) if proto.eq_ignore_ascii_case("https") => "https",
        _ => "http",
    }
}

/// The last non-empty entry of the last line of a comma-separated header:
/// what the nearest proxy wrote.
fn last_entry(req: &HttpRequest, name: header::HeaderName) -> Option<&str> {
    let lines: Vec<&str> = req.headers().get_all(name).filter_map(|v| v.to_str().ok()).collect();
    lines.into_iter().rev().flat_map(|line| line.rsplit(',')).map(str::trim).find(|entry| !entry.is_empty())
}

/// The host the nearest trusted proxy names: the last entry of the last
/// `X-Forwarded-Host` line, or the `host=` of the last `Forwarded`
/// element. An entry left of it may have been written by the client, if a
/// proxy appends rather than sets.
///
/// When both headers name a host and the two differ, one of them came from
/// the client through a proxy that writes only the other, and nothing tells
/// which: both are returned, comma-separated, which is no host name, so the
/// request is refused (`404 tenant_not_found` naming both) rather than
/// served to a tenant the client chose.
fn forwarded_host(req: &HttpRequest) -> Option<String> {
    let x_forwarded = last_entry(req, header::HeaderName::from_static("x-forwarded-host"));
    let standard = last_entry(req, header::FORWARDED).and_then(|element| {
        element.split(';').find_map(|pair| {
            let (key, value) = pair.trim().split_once('=')?;
            key.eq_ignore_ascii_case("host").then(|| value.trim_matches('"'))
        })
    });
    match (x_forwarded, standard) {
        (Some(one), Some(other)) if !same_host(one, other) => Some(format!("{one}, {other}")),
        (Some(host), _) | (None, Some(host)) => Some(host.to_owned()),
        (None, None) => None,
    }
}

/// Whether two header values name the same host once canonical (case,
/// port, trailing dot aside).
fn same_host(one: &str, other: &str) -> bool {
    match (taskforce_domain::HostName::from_header(one), taskforce_domain::HostName::from_header(other)) {
        (Ok(one), Ok(other)) => one == other,
        _ => one.eq_ignore_ascii_case(other),
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use actix_web::test::TestRequest;

    use super::*;

    const PROXY: &str = "10.0.0.1:50000";

    fn request(peer: &str, headers: &[(&str, &str)]) -> HttpRequest {
        let mut request = TestRequest::default().insert_header((header::HOST, "acme.localhost"));
        if let Ok(peer) = peer.parse::<SocketAddr>() {
            request = request.peer_addr(peer);
        }
        // each pair is a header line of its own, as proxies may send them
        for (name, value) in headers {
            request = request.append_header((*name, *value));
        }
        request.to_http_request()
    }

    fn trusted() -> Vec<IpAddr> {
        ["10.0.0.1", "10.0.0.2"].iter().filter_map(|a| a.parse().ok()).collect()
    }

    fn ip(text: &str) -> Option<IpAddr> {
        text.parse().ok()
    }

    #[test]
    fn forwarded_hosts_count_only_from_a_trusted_proxy() {
        // the proxy's entry is the last: one the client wrote comes before it
        let forwarded = [("x-forwarded-host", "evil.example, globex.localhost")];
        assert_eq!(raw_host(&request("203.0.113.5:4000", &forwarded), &trusted()), "acme.localhost");
        assert_eq!(raw_host(&request(PROXY, &forwarded), &trusted()), "globex.localhost");
        assert_eq!(raw_host(&request(PROXY, &[]), &trusted()), "acme.localhost");
        let lines = [("x-forwarded-host", "evil.example"), ("x-forwarded-host", "globex.localhost")];
        assert_eq!(raw_host(&request(PROXY, &lines), &trusted()), "globex.localhost");
        let standard = [("forwarded", "host=evil.example, for=192.0.2.60;proto=https;host=\"globex.localhost\"")];
        assert_eq!(raw_host(&request(PROXY, &standard), &trusted()), "globex.localhost");
        assert_eq!(raw_host(&request("203.0.113.5:4000", &standard), &[]), "acme.localhost");
    }

    #[test]
    fn an_absolute_request_target_names_the_host_over_the_host_header() {
        let absolute = TestRequest::default()
            .uri("http://beta.localhost:8001/api/auth/me/")
            .insert_header((header::HOST, "acme.localhost"))
            .to_http_request();
        assert_eq!(raw_host(&absolute, &[]), "beta.localhost:8001");
        assert_eq!(raw_host(&request("203.0.113.5:4000", &[]), &[]), "acme.localhost");
        // a trusted proxy's forwarded host still comes first
        let proxied = TestRequest::default()
            .uri("http://internal.local/api/auth/me/")
            .peer_addr(PROXY.parse().expect("an address"))
            .insert_header(("x-forwarded-host", "globex.localhost"))
            .to_http_request();
        assert_eq!(raw_host(&proxied, &trusted()), "globex.localhost");
    }

    #[test]
    fn two_forwarded_headers_naming_other_hosts_name_no_tenant() {
        // a proxy that writes Forwarded and passes the client's X-Forwarded-Host on
        let both = [("x-forwarded-host", "globex.localhost"), ("forwarded", "for=192.0.2.60;host=acme.localhost")];
        let named = raw_host(&request(PROXY, &both), &trusted());
        assert_eq!(named, "globex.localhost, acme.localhost");
        assert!(taskforce_domain::HostName::from_header(&named).is_err(), "{named} is no host");
        // the same host in both (any case, a port, a trailing dot) is that host
        let agreeing = [("x-forwarded-host", "Acme.localhost:443"), ("forwarded", "host=\"acme.localhost.\"")];
        assert_eq!(raw_host(&request(PROXY, &agreeing), &trusted()), "Acme.localhost:443");
        // from a peer that is no trusted proxy, neither counts
        assert_eq!(raw_host(&request("203.0.113.5:4000", &both), &trusted()), "acme.localhost");
    }

    #[test]
    fn links_are_https_only_when_a_trusted_proxy_says_so() {
        let scheme_of = |peer: &str, headers: &[(&str, &str)]| scheme(&request(peer, headers), &trusted());
        assert_eq!(scheme_of(PROXY, &[("x-forwarded-proto", "https")]), "https");
        assert_eq!(scheme_of(PROXY, &[("x-forwarded-proto", "HTTPS")]), "https");
        assert_eq!(scheme_of("203.0.113.5:4000", &[("x-forwarded-proto", "https")]), "http");
        // the nearest proxy's entry; anything but https is http
        assert_eq!(scheme_of(PROXY, &[("x-forwarded-proto", "https, http")]), "http");
        assert_eq!(scheme_of(PROXY, &[("x-forwarded-proto", "http, https")]), "https");
        assert_eq!(scheme_of(PROXY, &[("x-forwarded-proto", "javascript")]), "http");
        assert_eq!(scheme_of(PROXY, &[("forwarded", "for=192.0.2.60;proto=https;host=acme.localhost")]), "https");
        assert_eq!(scheme_of(PROXY, &[]), "http");
    }

    #[test]
    fn the_client_is_the_last_address_before_the_trusted_proxies() {
        let client = |peer: &str, forwarded: &str| {
            client_ip(&request(peer, &[("x-forwarded-for", forwarded)]), &trusted()).map(|a| a.to_string())
        };
        // from anyone but a trusted proxy the header is the client's say-so
        assert_eq!(client("203.0.113.5:4000", "198.51.100.1"), Some("203.0.113.5".into()));
        // the proxy appended what it saw; the client wrote the rest
        assert_eq!(client(PROXY, "198.51.100.1, 203.0.113.7"), Some("203.0.113.7".into()));
        assert_eq!(client(PROXY, "198.51.100.1, 203.0.113.7, 10.0.0.2"), Some("203.0.113.7".into()));
        assert_eq!(client(PROXY, "203.0.113.7:1234"), Some("203.0.113.7".into()));
        assert_eq!(client(PROXY, "[2001:db8::7]:443"), Some("2001:db8::7".into()));
        // an entry that is no address stops the reading: the client-written
        // address left of it does not become the client
        assert_eq!(client(PROXY, "198.51.100.1, unknown"), Some("10.0.0.1".into()));
        assert_eq!(client(PROXY, "198.51.100.1, , 10.0.0.2"), Some("10.0.0.1".into()));
        // a line the proxy added after the client's counts, not the client's
        let lines = [("x-forwarded-for", "198.51.100.1"), ("x-forwarded-for", "203.0.113.7")];
        assert_eq!(client_ip(&request(PROXY, &lines), &trusted()), ip("203.0.113.7"));
        // only proxies named, or no header: the peer
        assert_eq!(client(PROXY, "10.0.0.2"), Some("10.0.0.1".into()));
        assert_eq!(client_ip(&request(PROXY, &[]), &trusted()), ip("10.0.0.1"));
    }
}

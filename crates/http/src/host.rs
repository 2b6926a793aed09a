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
    req.headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| req.uri().authority().map(|a| a.as_str().to_owned()))
        .unwrap_or_default()
}

/// The client's address: the peer, or with a trusted proxy in front, the
/// last address `X-Forwarded-For` names before it.
pub fn client_ip(req: &HttpRequest, trusted_proxies: &[IpAddr]) -> Option<IpAddr> {
    let peer = req.peer_addr().map(|a| a.ip());
    if !peer_is_trusted(req, trusted_proxies) {
        return peer;
    }
    req.headers()
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
        .and_then(|list| {
            list.split(',')
                .rev()
                .map(str::trim)
                .filter_map(|a| a.parse::<IpAddr>().ok())
                .find(|a| !trusted_proxies.contains(a))
        })
        .or(peer)
}

fn peer_is_trusted(req: &HttpRequest, trusted_proxies: &[IpAddr]) -> bool {
    req.peer_addr().is_some_and(|peer| trusted_proxies.contains(&peer.ip()))
}

fn forwarded_host(req: &HttpRequest) -> Option<String> {
    let forwarded =
        req.headers().get("x-forwarded-host").and_then(|v| v.to_str().ok()).and_then(|v| v.split(',').next());
    if let Some(host) = forwarded {
        return Some(host.trim().to_owned());
    }
    req.headers().get(header::FORWARDED).and_then(|v| v.to_str().ok()).and_then(|v| {
        v.split(',').next()?.split(';').find_map(|pair| {
            let (key, value) = pair.trim().split_once('=')?;
            key.eq_ignore_ascii_case("host").then(|| value.trim_matches('"').to_owned())
        })
    })
}

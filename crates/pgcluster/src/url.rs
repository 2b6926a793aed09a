//! Small surgery on `postgres://` URLs.

/// The same server URL pointing at another database: the path is replaced,
/// the query string (`?sslmode=…`) kept.
///
/// ```
/// use taskforce_pgcluster::with_database;
///
/// assert_eq!(with_database("postgres://u@h:5432/app?sslmode=disable", "t1"), "postgres://u@h:5432/t1?sslmode=disable");
/// assert_eq!(with_database("postgres://u@h", "t1"), "postgres://u@h/t1");
/// ```
pub fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let server = match base[authority_start..].find('/') {
        Some(slash) => &base[..authority_start + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{server}/{database}?{query}"),
        None => format!("{server}/{database}"),
    }
}

/// The URL with `sslmode=disable` added when it names a server on this
/// machine (`localhost`, `127.0.0.1`, `[::1]` or a socket directory) and says
/// nothing of TLS itself. TLS on loopback protects nothing and costs every
/// round trip; worse, a connection still in its TLS handshake on one of the
/// pool's threads when a test process exits can crash inside OpenSSL's exit
/// handlers (seen as an occasional SIGSEGV after every test had passed).
///
/// ```
/// use taskforce_pgcluster::without_tls_on_loopback as f;
///
/// assert_eq!(f("postgres://u@127.0.0.1:5432/db"), "postgres://u@127.0.0.1:5432/db?sslmode=disable");
/// assert_eq!(f("postgres://u@localhost/db?application_name=t"), "postgres://u@localhost/db?application_name=t&sslmode=disable");
/// assert_eq!(f("postgres://u@127.0.0.1/db?sslmode=require"), "postgres://u@127.0.0.1/db?sslmode=require");
/// assert_eq!(f("postgres://u@db.example.com/db"), "postgres://u@db.example.com/db");
/// ```
pub fn without_tls_on_loopback(url: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    if query.is_some_and(|q| q.split('&').any(|pair| pair.starts_with("sslmode="))) {
        return url.to_owned();
    }
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let authority = base[authority_start..].split('/').next().unwrap_or("");
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if host_port.starts_with('[') {
        host_port.split(']').next().map_or("", |h| h.trim_start_matches('['))
    } else {
        host_port.split(':').next().unwrap_or("")
    };
    let socket = query.is_some_and(|q| q.split('&').any(|pair| pair.starts_with("host=/")));
    if !(matches!(host, "localhost" | "127.0.0.1" | "::1") || (host.is_empty() && socket)) {
        return url.to_owned();
    }
    match query {
        Some(query) => format!("{base}?{query}&sslmode=disable"),
        None => format!("{base}?sslmode=disable"),
    }
}

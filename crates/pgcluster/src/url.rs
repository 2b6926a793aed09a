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

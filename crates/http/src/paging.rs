//! DRF-style page-number pagination over HTTP: `?page=N&page_size=M` in,
//! `{"count", "next", "previous", "results"}` out with absolute URLs.

use actix_web::{HttpRequest, HttpResponse, http::header::ContentType};
use serde::{Deserialize, Serialize};
use taskforce_application::{DEFAULT_PAGE_SIZE, Page, PageRequest};
use utoipa::{IntoParams, ToSchema};

use crate::{
    ApiError,
    host::{raw_host, scheme},
};

/// The page parameters of list endpoints.
#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct PageQuery {
    /// 1-based page number (`last` also names the last page, as in DRF).
    #[param(value_type = Option<u64>, minimum = 1)]
    pub page: Option<String>,
    /// Items per page: default 20, at most 100 (more means 100); a value
    /// that is not a positive integer means the default, as in DRF.
    #[param(value_type = Option<String>)]
    pub page_size: Option<String>,
}

/// `404 not_found` "Invalid page.", as DRF answers.
fn invalid_page() -> ApiError {
    ApiError::new(actix_web::http::StatusCode::NOT_FOUND, "not_found", "Invalid page.")
}

/// The page a request asks for: a number, or DRF's `page=last`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageAsked {
    /// That page.
    Number(PageRequest),
    /// The last page, of this many items per page.
    Last(u64),
}

impl PageAsked {
    /// Fetches the page asked for with `fetch`. The last page is found by
    /// fetching page 1 first, whose count says which page is last (one more
    /// query only for `page=last`, and none when page 1 is the last).
    pub fn fetch<T, E>(self, fetch: impl Fn(PageRequest) -> Result<Page<T>, E>) -> Result<Page<T>, E> {
        match self {
            PageAsked::Number(request) => fetch(request),
            PageAsked::Last(size) => {
                let first = fetch(PageRequest::new(1, size))?;
                match first.last_page() {
                    1 => Ok(first),
                    last => fetch(PageRequest::new(last, first.request.size)),
                }
            }
        }
    }
}

impl PageQuery {
    /// The page asked for. A page that is neither a positive integer nor
    /// `last` is `404 Invalid page.`; a bad or oversized `page_size` falls
    /// back to the default or the cap, as in DRF. Both numbers are read as
    /// Python's `int()` reads them (spaces around, an optional `+`).
    pub fn request(&self) -> Result<PageAsked, ApiError> {
        let size = self.page_size.as_deref().and_then(whole_number).filter(|s| *s >= 1).unwrap_or(DEFAULT_PAGE_SIZE);
        // DRF: `page or 1`, then `last` as written, then Python's `int()`
        Ok(match self.page.as_deref() {
            None | Some("") => PageAsked::Number(PageRequest::new(1, size)),
            Some("last") => PageAsked::Last(size),
            Some(text) => {
                let number = whole_number(text).filter(|n| *n >= 1).ok_or_else(invalid_page)?;
                PageAsked::Number(PageRequest::new(number, size))
            }
        })
    }
}

/// A whole number as Python's `int()` reads one for DRF
/// ([`crate::fields::python_int`]), however large: one past `u64` is still a
/// number, and [`PageRequest::new`] caps it like any other; a negative one
/// is 0, which no page or size is.
fn whole_number(text: &str) -> Option<u64> {
    crate::fields::python_int(text).map(|n| u64::try_from(n).unwrap_or(if n < 0 { 0 } else { u64::MAX }))
}

/// A page as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct PageBody<T> {
    /// Items in all pages.
    pub count: u64,
    /// URL of the next page, or null.
    pub next: Option<String>,
    /// URL of the previous page, or null.
    pub previous: Option<String>,
    /// This page's items.
    pub results: Vec<T>,
}

/// The page `asked` for, fetched with `fetch`, as its JSON answer; a page
/// past the last is `404`. Fetched, turned into bodies and serialised in
/// one call on the blocking pool (one hand-off per list, as for any
/// database work), not on the worker that reads and writes connections: a
/// page of a hundred large descriptions is tens of megabytes of JSON, whose
/// writing held up every other request of that worker (health checks and
/// other tenants' requests included) while it ran.
pub async fn page_answer<T, U, E>(
    req: &HttpRequest,
    trusted: &[std::net::IpAddr],
    asked: PageAsked,
    fetch: impl Fn(PageRequest) -> Result<Page<T>, E> + Send + 'static,
    map: impl Fn(T) -> U + Send + 'static,
) -> Result<HttpResponse, ApiError>
where
    U: Serialize,
    E: Into<ApiError>,
{
    let links = Links::of(req, trusted);
    let body = crate::block(move || {
        let page = asked.fetch(fetch).map_err(Into::into)?;
        if page.request.number > page.last_page() {
            return Err(invalid_page());
        }
        let next = page.has_next().then(|| links.to(page.request.number + 1));
        let previous = page.has_previous().then(|| links.to(page.request.number - 1));
        let results: Vec<U> = page.items.into_iter().map(map).collect();
        serde_json::to_vec(&PageBody { count: page.total, next, previous, results }).map_err(ApiError::internal)
    })
    .await??;
    Ok(HttpResponse::Ok().insert_header(ContentType::json()).body(body))
}

/// The request's URL without its `page`, to link other pages of it.
struct Links {
    /// `scheme://host/path`.
    base: String,
    /// The query's other parameters, in order.
    pairs: Vec<(String, String)>,
}

impl Links {
    fn of(req: &HttpRequest, trusted: &[std::net::IpAddr]) -> Self {
        let pairs = serde_urlencoded::from_str::<Vec<(String, String)>>(req.query_string())
            .unwrap_or_default()
            .into_iter()
            .filter(|(key, _)| key != "page")
            .collect();
        Self { base: format!("{}://{}{}", scheme(req, trusted), raw_host(req, trusted), req.path()), pairs }
    }

    /// The URL of page `number` (`page` dropped for page 1).
    fn to(&self, number: u64) -> String {
        let mut pairs = self.pairs.clone();
        if number > 1 {
            pairs.push(("page".into(), number.to_string()));
        }
        let query = serde_urlencoded::to_string(&pairs).unwrap_or_default();
        if query.is_empty() { self.base.clone() } else { format!("{}?{query}", self.base) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_numbers_follow_drf() {
        let ask = |page: Option<&str>, size: Option<&str>| {
            PageQuery { page: page.map(Into::into), page_size: size.map(Into::into) }.request().map(|asked| match asked
            {
                PageAsked::Number(r) => (r.number, r.size),
                PageAsked::Last(size) => (0, size),
            })
        };
        assert_eq!(ask(None, None).ok(), Some((1, 20)));
        assert_eq!(ask(Some("3"), Some("100000")).ok(), Some((3, 100)));
        assert_eq!(ask(Some("2"), Some("abc")).ok(), Some((2, 20)));
        // DRF's int(): past u64 is still a number and is capped; a sign, a
        // fraction or nothing means the default
        assert_eq!(ask(None, Some("99999999999999999999")).ok(), Some((1, 100)));
        assert_eq!(ask(None, Some(" +7 ")).ok(), Some((1, 7)));
        for default in ["-5", "0", "2.5", "", "+", "1e3"] {
            assert_eq!(ask(None, Some(default)).ok(), Some((1, 20)), "{default:?}");
        }
        assert_eq!(ask(Some("last"), Some("5")).ok(), Some((0, 5)));
        // the page number is read by the same int(): past u64 it is a page
        // past any last page, which page_answer answers with 404
        assert_eq!(ask(Some(" +2 "), None).ok(), Some((2, 20)));
        assert_eq!(ask(Some("1_0"), Some("2_5")).ok(), Some((10, 25)));
        assert_eq!(ask(Some("99999999999999999999"), None).ok(), Some((u64::MAX, 20)));
        for bad in ["0", "-1", "abc", "1.5", "LAST", "first", " ", " last", "+", "-0", "_1", "1_", "1__0", "２"] {
            assert!(ask(Some(bad), None).is_err(), "{bad}");
        }
    }
}

#[cfg(test)]
mod last_page {
    use super::*;

    /// `total` items, fetched as the use cases do; counts the fetches.
    fn fetcher(total: u64, calls: &std::cell::Cell<u32>) -> impl Fn(PageRequest) -> Result<Page<u64>, ()> + '_ {
        move |request: PageRequest| {
            calls.set(calls.get() + 1);
            let items = (request.offset()..total).take(usize::try_from(request.size).unwrap_or(0)).collect();
            Ok(Page { items, total, request })
        }
    }

    #[test]
    fn last_is_the_page_the_count_says_in_one_fetch_or_two() {
        for (total, size, number, fetches, first_item) in
            [(0, 20, 1, 1, None), (20, 20, 1, 1, Some(0)), (45, 20, 3, 2, Some(40))]
        {
            let calls = std::cell::Cell::new(0);
            let page = PageAsked::Last(size).fetch(fetcher(total, &calls));
            let page = page.ok();
            assert_eq!(page.as_ref().map(|p| p.request.number), Some(number), "{total}");
            assert_eq!(page.as_ref().and_then(|p| p.items.first().copied()), first_item, "{total}");
            assert_eq!(calls.get(), fetches, "{total}");
        }
    }
}

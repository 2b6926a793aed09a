//! [`Query`]: query strings read as DRF reads `request.query_params` — the
//! last value of a repeated key wins (`?page=1&page=2` is page 2) — and
//! refused by name when a value holds a NUL character, which PostgreSQL can
//! neither store nor compare (`400 validation_failed`, "Null characters are
//! not allowed.", as DRF's fields say).

use std::future::{Ready, ready};

use actix_web::{FromRequest, HttpRequest, dev::Payload};
use serde::de::DeserializeOwned;

use crate::ApiError;

/// A query string parsed into `T`, whose fields are all optional text.
#[derive(Debug)]
pub struct Query<T>(pub T);

impl<T> std::ops::Deref for Query<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: DeserializeOwned> FromRequest for Query<T> {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(read(req.query_string()).map(Query))
    }
}

/// Reads a query string into `T`; see the module's documentation.
pub fn read<T: DeserializeOwned>(query: &str) -> Result<T, ApiError> {
    let pairs = serde_urlencoded::from_str::<Vec<(String, String)>>(query)
        .map_err(|error| ApiError::field("query", error.to_string()))?;
    let mut last = serde_json::Map::new();
    for (key, value) in pairs {
        if key.contains('\0') || value.contains('\0') {
            return Err(ApiError::field(&key.replace('\0', ""), "Null characters are not allowed."));
        }
        last.insert(key, serde_json::Value::String(value));
    }
    serde_json::from_value(serde_json::Value::Object(last)).map_err(|error| ApiError::field("query", error.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    struct Filters {
        page: Option<String>,
        search: Option<String>,
    }

    #[test]
    fn the_last_value_wins_and_a_nul_is_refused_by_name() -> Result<(), Box<dyn std::error::Error>> {
        let filters: Filters = read("page=1&search=a%20b&page=2&other=x").map_err(|e| e.to_string())?;
        assert_eq!((filters.page.as_deref(), filters.search.as_deref()), (Some("2"), Some("a b")));
        let none: Filters = read("").map_err(|e| e.to_string())?;
        assert_eq!((none.page, none.search), (None, None));
        for refused in ["search=a%00b", "page=1&search=%00", "se%00arch=x"] {
            let error = read::<Filters>(refused).err().ok_or("a NUL was accepted")?;
            assert_eq!((error.code(), error.field_names()), ("validation_failed", vec!["search"]), "{refused}");
        }
        Ok(())
    }
}

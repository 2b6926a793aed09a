//! JSON request bodies: any bytes are parsed or refused in the contract's
//! terms (`invalid_json`, `validation_failed`), never with a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[derive(serde::Deserialize)]
#[allow(dead_code)]
struct Shaped {
    title: Option<String>,
    count: Option<i64>,
    flag: Option<bool>,
    tags: Option<Vec<String>>,
}

impl taskforce_http::body::Nullable for Shaped {}

fuzz_target!(|bytes: &[u8]| {
    if let Err(error) = taskforce_http::body::parse::<Shaped>(bytes) {
        assert!(matches!(error.code(), "invalid_json" | "validation_failed"));
    }
});

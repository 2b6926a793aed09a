//! Slug → schema name: an accepted slug gives a schema name that needs no
//! quoting, fits PostgreSQL's 63 bytes and is no `pg_` name.
#![no_main]

use libfuzzer_sys::fuzz_target;
use taskforce_domain::{PG_IDENTIFIER_MAX_BYTES, SchemaName, Slug};

fuzz_target!(|input: &str| {
    if let Ok(slug) = Slug::parse(input) {
        let schema = slug.schema_name();
        let name = schema.as_str();
        assert!(name.len() <= PG_IDENTIFIER_MAX_BYTES);
        assert!(!name.starts_with("pg_"));
        assert!(name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'));
        assert_eq!(SchemaName::parse(name).ok(), Some(schema.clone()));
    }
});

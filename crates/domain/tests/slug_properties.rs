//! Properties of the slug → schema name mapping, over generated input.

use proptest::prelude::*;
use taskforce_domain::{PG_IDENTIFIER_MAX_BYTES, SchemaName, Slug};

/// Text shaped like a slug most of the time, with arbitrary characters mixed in.
fn slug_like() -> impl Strategy<Value = String> {
    prop_oneof!["[a-zA-Z][a-zA-Z0-9_-]{0,60}", "(pg_|PG_)[a-z0-9_-]{0,10}", "(public|www|api|admin)", any::<String>(),]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4096))]

    #[test]
    fn accepted_slugs_give_safe_schema_names(input in slug_like()) {
        if let Ok(slug) = Slug::parse(&input) {
            let schema = slug.schema_name();
            let name = schema.as_str();
            prop_assert!(name.len() <= PG_IDENTIFIER_MAX_BYTES, "{name} is too long");
            prop_assert!(!name.starts_with("pg_"));
            // Needs no quoting: a lower-case letter, then lower-case letters, digits, underscores.
            prop_assert!(name.starts_with(|c: char| c.is_ascii_lowercase()));
            prop_assert!(name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'));
            // What is stored reads back as the same schema name.
            prop_assert_eq!(SchemaName::parse(name).ok(), Some(schema.clone()));
            // Parsing is idempotent.
            prop_assert_eq!(Slug::parse(slug.as_str()).ok(), Some(slug.clone()));
        }
    }

    #[test]
    fn distinct_slugs_give_distinct_schema_names_unless_they_clash(a in slug_like(), b in slug_like()) {
        if let (Ok(a), Ok(b)) = (Slug::parse(&a), Slug::parse(&b)) {
            // The documented clash: slugs that differ only by '-' versus '_'
            // share a schema name, and provisioning refuses the second one.
            let same_up_to_dash = a.as_str().replace('-', "_") == b.as_str().replace('-', "_");
            prop_assert_eq!(a.schema_name() == b.schema_name(), same_up_to_dash);
        }
    }

    #[test]
    fn refused_input_is_never_a_slug(input in any::<String>()) {
        let lowered = input.to_ascii_lowercase();
        let shaped = lowered.starts_with(|c: char| c.is_ascii_lowercase())
            && lowered.chars().count() <= 50
            && lowered.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
            && !lowered.ends_with('-')
            && !["public", "www", "api", "admin"].contains(&lowered.as_str())
            && !lowered.starts_with("pg_");
        prop_assert_eq!(Slug::parse(&input).is_ok(), shaped);
    }
}

#[test]
fn the_clash_example_from_the_operations_contract() {
    let dash = Slug::parse("my-team").map(|s| s.schema_name());
    let underscore = Slug::parse("my_team").map(|s| s.schema_name());
    assert_eq!(dash.as_ref().map(SchemaName::as_str), Ok("tenant_my_team"));
    assert_eq!(dash, underscore);
}

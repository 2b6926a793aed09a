//! Properties of the parsers that face attackers, over generated input
//! (each mirrored by a `cargo fuzz` target in `fuzz/`): host names from
//! `Host` headers, attachment file names, content types, storage keys.
//! None panics; what they accept is canonical, safe, and parses again to
//! itself.

use proptest::prelude::*;
use taskforce_domain::{ContentType, FileName, HOST_MAX_LEN, HostName, StorageKey};

/// Header-like text: mostly host-shaped, with ports, dots, brackets, case
/// and arbitrary characters mixed in.
fn host_like() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9_.-]{0,80}(:[0-9]{0,6})?\\.?",
        "\\[[0-9a-fA-F:.]{0,40}\\](:[0-9]{0,6})?",
        "[a-z]{1,10}(\\.[a-z]{1,10}){0,5}",
        any::<String>(),
    ]
}

fn name_like() -> impl Strategy<Value = String> {
    prop_oneof![
        "(\\.\\./|\\.\\.\\\\|/|[A-Z]:\\\\)*[a-zA-Z0-9 ._-]{0,40}",
        "[\\x00-\\x1f\\u{202a}-\\u{202e}<>:\"|?*/\\\\.a-z]{0,30}",
        ".{0,400}",
        any::<String>(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4096))]

    #[test]
    fn accepted_hosts_are_canonical_and_stable(raw in host_like()) {
        if let Ok(host) = HostName::from_header(&raw) {
            let text = host.as_str();
            prop_assert!(!text.is_empty() && text.len() <= HOST_MAX_LEN + 2);
            prop_assert!(!text.ends_with('.'), "{text}");
            prop_assert_eq!(text, text.to_ascii_lowercase());
            if !text.starts_with('[') {
                prop_assert!(text.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.".contains(c)));
                prop_assert!(text.split('.').all(|label| !label.is_empty() && label.len() <= 63));
            }
            // what is stored parses again to itself, from a header or as a name
            prop_assert_eq!(HostName::parse(text).ok(), Some(host.clone()));
            prop_assert_eq!(HostName::from_header(text).ok(), Some(host.clone()));
        }
    }

    #[test]
    fn a_host_and_the_same_host_with_a_port_or_in_capitals_are_one(host in "[a-z]{1,10}(\\.[a-z]{1,10}){0,3}", port in 1u32..65536) {
        let plain = HostName::from_header(&host);
        prop_assert!(plain.is_ok());
        prop_assert_eq!(HostName::from_header(&format!("{host}:{port}")), plain.clone());
        prop_assert_eq!(HostName::from_header(&format!("{}.", host.to_uppercase())), plain);
    }

    #[test]
    fn file_names_are_always_safe_and_stable(raw in name_like()) {
        let name = FileName::sanitize(&raw);
        let text = name.as_str();
        prop_assert!(!text.is_empty());
        prop_assert!(text.chars().count() <= FileName::MAX);
        prop_assert!(!text.contains('/') && !text.contains('\\'), "{text:?}");
        prop_assert!(!text.chars().any(char::is_control), "{text:?}");
        prop_assert!(!text.chars().any(|c| ('\u{202a}'..='\u{202e}').contains(&c)), "{text:?}");
        prop_assert!(!text.starts_with('.') && !text.starts_with(' '), "{text:?}");
        prop_assert_ne!(text, "..");
        // sanitising again changes nothing: what is shown is what is stored
        prop_assert_eq!(FileName::sanitize(text), name.clone());
        prop_assert_eq!(FileName::from_stored(text), name);
    }

    #[test]
    fn content_types_are_well_formed_or_octet_stream(raw in prop_oneof!["[a-zA-Z]{1,10}/[a-zA-Z0-9.+-]{1,20}(; ?charset=[a-z0-9-]{1,10})?", any::<String>()]) {
        let kind = ContentType::from_client(Some(&raw));
        let text = kind.as_str();
        prop_assert!(text.is_ascii() && text.len() <= 255);
        prop_assert!(!text.chars().any(|c| c.is_ascii_control()), "{text:?}");
        prop_assert!(text.contains('/'));
        prop_assert_eq!(ContentType::parse(text), Some(kind.clone()));
    }

    #[test]
    fn storage_keys_never_name_a_path(
        raw in prop_oneof![any::<String>(), "(\\.\\./|/|\\\\|\\.)?[a-zA-Z0-9_./\\\\-]{0,12}", "[a-zA-Z0-9_-]{1,8}"]
    ) {
        match StorageKey::parse(&raw) {
            // a key is one plain file name under the tenant's folder: no root,
            // no parent, no separator of any platform
            Some(key) => {
                let text = key.as_str();
                prop_assert!(text.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'), "{:?}", text);
                let parts: Vec<_> = std::path::Path::new(text).components().collect();
                prop_assert_eq!(parts, vec![std::path::Component::Normal(text.as_ref())], "{:?}", text);
                prop_assert!(!text.contains('\\') && !text.contains(':') && text.len() <= 128, "{:?}", text);
            }
            None => prop_assert!(
                raw.is_empty() || raw.len() > 128 || raw.chars().any(|c| !(c.is_ascii_alphanumeric() || c == '_' || c == '-')),
                "a plain name was refused: {:?}", raw
            ),
        }
    }

    #[test]
    fn traversal_shaped_keys_are_refused(raw in "(\\.\\.|\\.|/|\\\\)[a-zA-Z0-9_/\\\\.-]{0,12}") {
        prop_assert!(StorageKey::parse(&raw).is_none(), "{:?}", raw);
    }
}

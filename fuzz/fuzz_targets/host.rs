//! `Host` header canonicalisation: an accepted host is lower case, without
//! trailing dot or port, made of allowed characters, and stable.
#![no_main]

use libfuzzer_sys::fuzz_target;
use taskforce_domain::HostName;

fuzz_target!(|input: &str| {
    if let Ok(host) = HostName::from_header(input) {
        let text = host.as_str();
        assert!(!text.is_empty() && !text.ends_with('.'));
        assert_eq!(text, text.to_ascii_lowercase());
        assert_eq!(HostName::from_header(text).ok(), Some(host.clone()));
    }
});

//! Attachment names: whatever the client sends, the shown name is
//! non-empty, at most 255 characters, without path separators, control or
//! bidirectional-override characters or a leading dot, and stable.
#![no_main]

use libfuzzer_sys::fuzz_target;
use taskforce_domain::{ContentType, FileName};

fuzz_target!(|input: &str| {
    let name = FileName::sanitize(input);
    let text = name.as_str();
    assert!(!text.is_empty() && text.chars().count() <= FileName::MAX);
    assert!(!text.contains('/') && !text.contains('\\') && !text.starts_with('.'));
    assert!(!text.chars().any(|c| c.is_control() || ('\u{202a}'..='\u{202e}').contains(&c)));
    assert_eq!(FileName::sanitize(text), name);
    let kind = ContentType::from_client(Some(input));
    assert!(kind.as_str().is_ascii() && kind.as_str().contains('/'));
});

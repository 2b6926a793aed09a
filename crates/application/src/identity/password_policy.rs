//! The password rules of the API contract, as the Django original applies
//! them: at least 8 characters, not entirely numeric, not too similar to the
//! user name or e-mail address, not a common password.

use std::{collections::HashMap, sync::OnceLock};

/// Shortest password accepted.
pub const MIN_PASSWORD_LEN: usize = 8;

/// Similarity (Django's `quick_ratio`) at or above which a password is "too
/// similar" to a user attribute.
const MAX_SIMILARITY: f64 = 0.7;

/// Django's list of 20,000 common passwords, kept to those of 8 characters
/// or more (shorter ones already fail the length rule), lower-cased and
/// sorted. Source: django/contrib/auth/common-passwords.txt.gz (BSD licence).
static COMMON_PASSWORDS: &str = include_str!("common-passwords.txt");

fn common_passwords() -> &'static Vec<&'static str> {
    static LIST: OnceLock<Vec<&'static str>> = OnceLock::new();
    LIST.get_or_init(|| COMMON_PASSWORDS.lines().collect())
}

/// Every rule the password breaks, as user-facing sentences; empty when it
/// is acceptable.
pub fn password_problems(password: &str, username: &str, email: &str) -> Vec<String> {
    let mut problems = Vec::new();
    if password.chars().count() < MIN_PASSWORD_LEN {
        problems.push(format!("This password is too short. It must contain at least {MIN_PASSWORD_LEN} characters."));
    }
    for (value, label) in [(username, "username"), (email, "email address")] {
        if too_similar(password, value) {
            problems.push(format!("The password is too similar to the {label}."));
        }
    }
    if common_passwords().binary_search(&password.trim().to_lowercase().as_str()).is_ok() {
        problems.push("This password is too common.".to_owned());
    }
    if !password.is_empty() && password.chars().all(|c| c.is_ascii_digit()) {
        problems.push("This password is entirely numeric.".to_owned());
    }
    problems
}

/// Django's `UserAttributeSimilarityValidator`: the value and each of its
/// word-separated parts are compared with the password.
fn too_similar(password: &str, value: &str) -> bool {
    if value.is_empty() {
        return false;
    }
    let password = password.to_lowercase();
    let value = value.to_lowercase();
    let parts = value.split(|c: char| !(c.is_alphanumeric() || c == '_')).filter(|p| !p.is_empty());
    parts.chain(std::iter::once(value.as_str())).any(|part| {
        let (pwd_len, part_len) = (password.chars().count(), part.chars().count());
        let too_short_to_matter = pwd_len >= 10 * part_len && (part_len as f64) < MAX_SIMILARITY / 2.0 * pwd_len as f64;
        !too_short_to_matter && quick_ratio(&password, part) >= MAX_SIMILARITY
    })
}

/// `difflib.SequenceMatcher.quick_ratio`: twice the size of the two strings'
/// common character multiset over their total length.
fn quick_ratio(a: &str, b: &str) -> f64 {
    let total = a.chars().count() + b.chars().count();
    if total == 0 {
        return 1.0;
    }
    let mut available: HashMap<char, usize> = HashMap::new();
    for c in b.chars() {
        *available.entry(c).or_default() += 1;
    }
    let matches = a
        .chars()
        .filter(|c| match available.get_mut(c) {
            Some(n) if *n > 0 => {
                *n -= 1;
                true
            }
            _ => false,
        })
        .count();
    2.0 * matches as f64 / total as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(password: &str) -> Vec<String> {
        password_problems(password, "john_doe", "john@example.com")
    }

    #[test]
    fn a_good_password_passes() {
        assert!(problems("correct-horse-battery").is_empty());
        assert!(problems("Tr0ub4dor&3x").is_empty());
    }

    #[test]
    fn each_rule_has_its_message() {
        assert_eq!(problems("x7#kQ"), vec!["This password is too short. It must contain at least 8 characters."]);
        assert_eq!(problems("password1"), vec!["This password is too common."]);
        assert!(problems("PassWord1").contains(&"This password is too common.".to_owned()));
        assert_eq!(problems("93847562910"), vec!["This password is entirely numeric.".to_owned()]);
        assert_eq!(problems("john_doe1"), vec!["The password is too similar to the username."]);
        assert!(problems("john@example.co").contains(&"The password is too similar to the email address.".to_owned()));
    }

    #[test]
    fn the_common_list_is_sorted_for_binary_search() {
        let list = common_passwords();
        assert!(list.len() > 8000);
        assert!(list.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn quick_ratio_matches_difflib() {
        assert!((quick_ratio("abcd", "bcde") - 0.75).abs() < 1e-9);
        assert!((quick_ratio("abc", "xyz")).abs() < 1e-9);
    }
}

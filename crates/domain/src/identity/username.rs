//! [`Username`]: a checked user name.

use std::fmt;

/// Longest user name, in characters.
pub const USERNAME_MAX_LEN: usize = 150;

/// A user name: 1–150 letters, digits and `@`, `.`, `+`, `-`, `_`.
///
/// Letters and digits include non-ASCII ones, as in the Django original. A
/// name is kept in Unicode's NFKC form, as Django's `normalize_username`
/// keeps it, so `ａｄｍｉｎ` (full-width) is `admin`; and names are unique
/// without regard to case, so `Admin` cannot impersonate `admin` either.
/// [`Username::normalized`] gives the comparison key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Username(String);

/// Why a text is not a [`Username`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UsernameError {
    /// Empty.
    #[error("This field may not be blank.")]
    Empty,
    /// Longer than 150 characters.
    #[error("Ensure this field has no more than 150 characters.")]
    TooLong,
    /// A character outside letters, digits and `@.+-_`.
    #[error("Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters.")]
    BadChar(char),
}

impl Username {
    /// Checks a user name, in its NFKC form (the characters and the length
    /// are judged on that form).
    pub fn parse(input: &str) -> Result<Self, UsernameError> {
        Self::checked(&icu_normalizer::ComposingNormalizerBorrowed::new_nfkc().normalize(input))
    }

    /// A name as stored, kept as it is: a name an earlier build took before
    /// names were kept in NFKC form (`ｊｏｈｎ`, or `bob½`, whose NFKC form
    /// holds a character no name may) stays readable.
    pub fn from_stored(text: &str) -> Result<Self, UsernameError> {
        Self::checked(text)
    }

    fn checked(input: &str) -> Result<Self, UsernameError> {
        if input.is_empty() {
            return Err(UsernameError::Empty);
        }
        if input.chars().count() > USERNAME_MAX_LEN {
            return Err(UsernameError::TooLong);
        }
        if let Some(bad) = input.chars().find(|c| !(c.is_alphanumeric() || matches!(c, '@' | '.' | '+' | '-' | '_'))) {
            return Err(UsernameError::BadChar(bad));
        }
        Ok(Self(input.to_owned()))
    }

    /// The name as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name lower-cased: the key for uniqueness and look-ups.
    pub fn normalized(&self) -> String {
        self.0.to_lowercase()
    }
}

/// What a person typed to log in (a user name or an e-mail address), in
/// the form names are kept in: trimmed and in NFKC form, as Django's login
/// form read it, so `ａｄｍｉｎ` logs in as `admin`, the name it was
/// registered under.
pub fn login_form(typed: &str) -> String {
    icu_normalizer::ComposingNormalizerBorrowed::new_nfkc().normalize(typed.trim()).into_owned()
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_letters_digits_and_the_five_symbols() {
        for good in ["john_doe", "a", "j.o+h-n@x", "Zoë", "用户"] {
            assert!(Username::parse(good).is_ok(), "{good}");
        }
        assert!(Username::parse(&"a".repeat(150)).is_ok());
    }

    /// Django's `normalize_username`: compatibility characters are the ones
    /// they stand for, so a look-alike name is the name it looks like.
    #[test]
    fn a_name_is_kept_in_nfkc_form() {
        assert_eq!(Username::parse("ａｄｍｉｎ").map(|u| u.0), Ok("admin".into()));
        assert_eq!(Username::parse("Ａｄｍｉｎ").map(|u| u.normalized()), Ok("admin".into()));
        // composed: `e` and a combining acute is `é`
        assert_eq!(Username::parse("Zoe\u{301}").map(|u| u.0), Ok("Zoé".into()));
        // the rules hold for the form kept: a ligature that stands for words
        // with spaces is refused for its space
        assert_eq!(Username::parse("\u{FDFA}"), Err(UsernameError::BadChar(' ')));
        assert_eq!(login_form(" ａｄｍｉｎ "), "admin");
        // stored before names were normalised: read as stored
        assert_eq!(Username::from_stored("ｊｏｈｎ").map(|u| u.0), Ok("ｊｏｈｎ".into()));
        assert!(Username::parse("bob½").is_err() && Username::from_stored("bob½").is_ok());
        assert_eq!(login_form("ada@ＥＸＡＭＰＬＥ.com"), "ada@EXAMPLE.com");
    }

    #[test]
    fn refuses_others() {
        assert_eq!(Username::parse(""), Err(UsernameError::Empty));
        assert_eq!(Username::parse(&"a".repeat(151)), Err(UsernameError::TooLong));
        assert_eq!(Username::parse("a b"), Err(UsernameError::BadChar(' ')));
        assert_eq!(Username::parse("a/b"), Err(UsernameError::BadChar('/')));
        assert_eq!(Username::parse("a\0"), Err(UsernameError::BadChar('\0')));
    }
}

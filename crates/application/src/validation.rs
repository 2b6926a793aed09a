//! [`FieldErrors`]: field-level validation problems, as the API reports them.

use std::{collections::BTreeMap, fmt};

use taskforce_domain::{SLUG_MAX_LEN, Slug, SlugError, TENANT_NAME_MAX_LEN, TenantName, TenantNameError};

/// Problems per input field, each a user-facing sentence.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldErrors(BTreeMap<String, Vec<String>>);

impl FieldErrors {
    /// No problems yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a problem with a field.
    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        self.0.entry(field.to_owned()).or_default().push(message.into());
    }

    /// Records the outcome of parsing one field and gives back the value.
    pub fn check<T, E: fmt::Display>(&mut self, field: &str, parsed: Result<T, E>) -> Option<T> {
        parsed.map_err(|error| self.add(field, error.to_string())).ok()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Ok(value)` when there are none, `Err(self)` otherwise.
    pub fn into_result<T>(self, value: impl FnOnce() -> T) -> Result<T, Self> {
        if self.is_empty() { Ok(value()) } else { Err(self) }
    }

    /// The problems by field.
    pub fn fields(&self) -> &BTreeMap<String, Vec<String>> {
        &self.0
    }
}

/// A tenant's name read from an API body, its problems in DRF's sentences
/// (the domain's own sentences are an operator's: "the name is empty").
pub fn tenant_name_field(errors: &mut FieldErrors, field: &str, input: &str) -> Option<TenantName> {
    TenantName::parse(input)
        .map_err(|error| {
            errors.add(
                field,
                match error {
                    TenantNameError::Empty => "This field may not be blank.".to_owned(),
                    TenantNameError::TooLong => {
                        format!("Ensure this field has no more than {TENANT_NAME_MAX_LEN} characters.")
                    }
                    TenantNameError::ControlChar => {
                        "Enter a name without control characters, direction marks, line separators or invisible characters."
                            .to_owned()
                    }
                },
            );
        })
        .ok()
}

/// A slug read from an API body, its problems in DRF's sentences (Django's
/// `SlugField` for the characters; ours is stricter: lower case, a letter
/// first, some names reserved).
pub fn slug_field(errors: &mut FieldErrors, field: &str, input: &str) -> Option<Slug> {
    Slug::parse(input)
        .map_err(|error| {
            errors.add(
                field,
                match error {
                    SlugError::Empty => "This field may not be blank.".to_owned(),
                    SlugError::TooLong(_) => format!("Ensure this field has no more than {SLUG_MAX_LEN} characters."),
                    SlugError::BadStart(_) => "Enter a valid “slug” that starts with a lower-case letter.".to_owned(),
                    SlugError::BadChar(_) => {
                        "Enter a valid “slug” consisting of lower-case letters, numbers, underscores or hyphens."
                            .to_owned()
                    }
                    SlugError::BadEnd => "Enter a valid “slug” that does not end with a hyphen.".to_owned(),
                    SlugError::Reserved(slug) => format!("“{slug}” is reserved; choose another slug."),
                    SlugError::EncodedLabel => {
                        "Enter a valid “slug” without “--” as its third and fourth characters.".to_owned()
                    }
                },
            );
        })
        .ok()
}

/// `password: This password is too short. … This password is too common.;
/// email: …`: each field once, its sentences after it.
impl fmt::Display for FieldErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (field, messages)) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{field}: {}", messages.join(" "))?;
        }
        Ok(())
    }
}

impl std::error::Error for FieldErrors {}

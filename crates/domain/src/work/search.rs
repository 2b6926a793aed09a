//! [`SearchTerms`]: what a list's `?search=` asks for.

/// The terms of a search, read as DRF's `SearchFilter` reads them: split at
/// white space and commas, a quoted phrase (`"moon base"`, `'moon base'`)
/// kept whole without its quotes. A row matches when every term appears,
/// in any case, in at least one of the searched fields. No terms (a blank
/// search) match every row.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchTerms(Vec<String>);

impl SearchTerms {
    /// The terms of `text`.
    pub fn parse(text: &str) -> Self {
        let mut terms = Vec::new();
        let mut rest = text.trim_start();
        while let Some(first) = rest.chars().next() {
            let quoted = matches!(first, '"' | '\'')
                .then(|| rest[1..].find(first).map(|end| (&rest[1..=end], &rest[end + 2..])))
                .flatten();
            let (token, after) = match quoted {
                Some((phrase, after)) => {
                    if !phrase.trim().is_empty() {
                        terms.push(phrase.to_owned());
                    }
                    (None, after)
                }
                None => {
                    let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
                    (Some(&rest[..end]), &rest[end..])
                }
            };
            if let Some(token) = token {
                terms.extend(token.split(',').filter(|t| !t.is_empty()).map(str::to_owned));
            }
            rest = after.trim_start_matches(|c: char| c.is_whitespace() || c == ',');
        }
        SearchTerms(terms)
    }

    /// The terms, in the order given.
    pub fn terms(&self) -> &[String] {
        &self.0
    }

    /// Whether there is nothing to search for.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether every term appears, in any case, in one of `fields`.
    pub fn matches(&self, fields: &[&str]) -> bool {
        let fields: Vec<String> = fields.iter().map(|f| f.to_lowercase()).collect();
        self.0.iter().all(|term| {
            let term = term.to_lowercase();
            fields.iter().any(|field| field.contains(&term))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms(text: &str) -> Vec<String> {
        SearchTerms::parse(text).terms().to_vec()
    }

    #[test]
    fn terms_split_at_spaces_and_commas_and_quotes_keep_a_phrase() {
        assert_eq!(terms("write docs"), ["write", "docs"]);
        assert_eq!(terms(" write,docs ,, plan "), ["write", "docs", "plan"]);
        assert_eq!(terms(r#""moon base" fuel"#), ["moon base", "fuel"]);
        assert_eq!(terms("'moon, base',fuel"), ["moon, base", "fuel"]);
        assert_eq!(terms("100% done_ish"), ["100%", "done_ish"]);
        // a quote that never closes is an ordinary character
        assert_eq!(terms(r#""moon base"#), [r#""moon"#, "base"]);
        assert_eq!(terms("o'clock"), ["o'clock"]);
        for blank in ["", "   ", ",", " , ", "\"\"", "' '"] {
            assert!(SearchTerms::parse(blank).is_empty(), "{blank:?}");
        }
    }

    #[test]
    fn a_row_matches_when_every_term_is_in_some_field() {
        let search = SearchTerms::parse("DOCS write");
        assert!(search.matches(&["Docs to write", ""]));
        assert!(search.matches(&["write", "the docs"]));
        assert!(!search.matches(&["write", "nothing else"]));
        assert!(!SearchTerms::parse("\"to write\" docs").matches(&["write to docs", ""]));
        assert!(SearchTerms::default().matches(&["anything"]));
    }
}

//! [`SearchTerms`]: what a list's `?search=` asks for.

use crate::text::is_python_space as is_space;

/// At most this many distinct terms in one search: each term is one more
/// condition in the list's SQL, so an unbounded number would let one
/// request make every connection prepare statements without end.
pub const MAX_SEARCH_TERMS: usize = 10;

/// The terms of a search, read as DRF's `SearchFilter` (3.15) reads them:
/// Django's `smart_split` cuts the text at white space, keeping quoted
/// parts (`"moon base"`, `'moon base'`) with their neighbours; commas
/// around a piece are dropped; a piece that is wholly quoted is one term,
/// without its quotes (`\"` inside it is a quote); any other piece is cut
/// at its commas. A row matches when every term appears, in any case, in
/// at least one of the searched fields. No terms (a blank search) match
/// every row. Terms that repeat another (in any case) count once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchTerms(Vec<String>);

/// A search of more than [`MAX_SEARCH_TERMS`] distinct terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("Ensure the search has no more than {} terms.", MAX_SEARCH_TERMS)]
pub struct TooManyTerms;

impl SearchTerms {
    /// The terms of `text`.
    pub fn parse(text: &str) -> Result<Self, TooManyTerms> {
        let mut terms: Vec<String> = Vec::new();
        // each term lower-cased once, to tell repeats
        let mut seen: Vec<String> = Vec::new();
        for piece in smart_split(text) {
            let piece = piece.trim_matches(',');
            let whole = match piece.chars().next() {
                Some(quote @ ('"' | '\'')) if piece.ends_with(quote) => {
                    // a lone quote is an empty phrase, as in DRF
                    let inner = piece.get(1..piece.len().saturating_sub(1)).unwrap_or("");
                    vec![inner.replace(&format!("\\{quote}"), &quote.to_string()).replace("\\\\", "\\")]
                }
                _ => piece.split(',').map(|term| term.trim_matches(is_space).to_owned()).collect(),
            };
            for term in whole {
                let lowered = term.to_lowercase();
                if !term.is_empty() && !seen.contains(&lowered) {
                    if terms.len() == MAX_SEARCH_TERMS {
                        return Err(TooManyTerms);
                    }
                    seen.push(lowered);
                    terms.push(term);
                }
            }
        }
        Ok(SearchTerms(terms))
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

/// Django's `smart_split`: the pieces of `text` between runs of white
/// space, where a quoted part (with `\` escapes) may hold white space. A
/// piece is either plain characters joined to at least one whole quoted
/// part, or, failing that, everything up to the next white space.
fn smart_split(text: &str) -> Vec<&str> {
    let mut pieces = Vec::new();
    let mut at = 0;
    while let Some(offset) = text[at..].find(|c: char| !is_space(c)) {
        let start = at + offset;
        let end = quoted_piece(text, start).unwrap_or_else(|| next_space(text, start));
        pieces.push(&text[start..end]);
        at = end;
    }
    pieces
}

/// Where white space (or the text) next begins, from `from`.
fn next_space(text: &str, from: usize) -> usize {
    text[from..].find(is_space).map_or(text.len(), |offset| from + offset)
}

/// The end of a piece from `start` made of plain runs and whole quoted
/// parts, if it holds at least one quoted part. It stops at white space,
/// and before a quote that is never closed.
fn quoted_piece(text: &str, start: usize) -> Option<usize> {
    let (mut at, mut quoted) = (start, false);
    loop {
        at = text[at..].find(|c: char| is_space(c) || c == '"' || c == '\'').map_or(text.len(), |o| at + o);
        match text[at..].chars().next() {
            Some(quote @ ('"' | '\'')) => match closing(text, at + 1, quote) {
                Some(after) => {
                    at = after;
                    quoted = true;
                }
                None => break,
            },
            _ => break,
        }
    }
    quoted.then_some(at)
}

/// Just past the `quote` that closes a part whose text begins at `from`,
/// skipping characters escaped with `\`.
fn closing(text: &str, from: usize, quote: char) -> Option<usize> {
    let mut escaped = false;
    for (offset, c) in text[from..].char_indices() {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == quote {
            return Some(from + offset + c.len_utf8());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms(text: &str) -> Vec<String> {
        SearchTerms::parse(text).map(|s| s.terms().to_vec()).unwrap_or_default()
    }

    #[test]
    fn terms_are_read_as_drf_reads_them() {
        assert_eq!(terms("write docs"), ["write", "docs"]);
        assert_eq!(terms(" write,docs ,, plan "), ["write", "docs", "plan"]);
        assert_eq!(terms(r#""moon base" fuel"#), ["moon base", "fuel"]);
        assert_eq!(terms("'moon, base' fuel"), ["moon, base", "fuel"]);
        // DRF's rule too: a piece that is not wholly quoted is cut at commas,
        // quotes and all
        assert_eq!(terms("'moon, base',fuel"), ["'moon", "base'", "fuel"]);
        assert_eq!(terms(r#","moon base","#), ["moon base"]);
        assert_eq!(terms(r#""say \"hi\"""#), [r#"say "hi""#]);
        assert_eq!(terms("100% done_ish"), ["100%", "done_ish"]);
        // a quoted part inside a piece keeps the piece whole but is no phrase
        // of its own: DRF cuts it at its commas like any other piece
        assert_eq!(terms(r#"x"a b"y"#), [r#"x"a b"y"#]);
        assert_eq!(terms(r#"x,"a b""#), ["x", r#""a b""#]);
        assert_eq!(terms(r#""moon base"x"#), [r#""moon base"x"#]);
        // a quote that never closes is an ordinary character
        assert_eq!(terms(r#""moon base"#), [r#""moon"#, "base"]);
        assert_eq!(terms("o'clock"), ["o'clock"]);
        assert_eq!(terms("Münze straße"), ["Münze", "straße"]);
        assert_eq!(terms("moon\u{1c}base\u{3000}plan"), ["moon", "base", "plan"]);
        // a quoted space is a search for a space, as in DRF
        assert_eq!(terms("' '"), [" "]);
        for blank in ["", "   ", ",", " , ", "\"\"", "\u{3000}", "\"", "'"] {
            assert!(SearchTerms::parse(blank).is_ok_and(|s| s.is_empty()), "{blank:?}");
        }
    }

    #[test]
    fn terms_repeat_once_and_are_bounded() {
        assert_eq!(terms("Moon moon MOON base"), ["Moon", "base"]);
        let ten: Vec<String> = (0..10).map(|n| format!("t{n}")).collect();
        assert_eq!(terms(&ten.join(" ")), ten);
        assert_eq!(SearchTerms::parse(&format!("{} t10", ten.join(" "))), Err(TooManyTerms));
        assert!(SearchTerms::parse(&"a,".repeat(5000)).is_ok_and(|s| s.terms() == ["a"]));
    }

    #[test]
    fn a_row_matches_when_every_term_is_in_some_field() -> Result<(), TooManyTerms> {
        let search = SearchTerms::parse("DOCS write")?;
        assert!(search.matches(&["Docs to write", ""]));
        assert!(search.matches(&["write", "the docs"]));
        assert!(!search.matches(&["write", "nothing else"]));
        assert!(!SearchTerms::parse("\"to write\" docs")?.matches(&["write to docs", ""]));
        assert!(SearchTerms::default().matches(&["anything"]));
        Ok(())
    }
}

//! Characters no name shown to people may hold, and white space as the
//! Django product's Python read it.

/// Control characters (NUL included), direction marks and overrides (which
/// make `evil\u{202e}fdp.exe` read as `evilexe.pdf`), line separators and
/// invisible characters that join nothing (zero width space, word joiner,
/// invisible operators, byte order mark, soft hyphen, Mongolian vowel
/// separator, Hangul fillers): text holding one reads as something other
/// than what it is. (The zero width joiner and non-joiner stay: scripts and
/// emoji need them.)
pub(crate) fn misleading(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{2028}' | '\u{2029}')
        || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
        || matches!(c, '\u{200b}' | '\u{2060}'..='\u{2064}' | '\u{feff}' | '\u{ad}' | '\u{180e}')
        || matches!(c, '\u{115f}' | '\u{1160}' | '\u{3164}' | '\u{ffa0}')
}

/// White space as Python's `str.isspace()` and `\s` have it: Unicode's, and
/// the four separators `\x1c`–`\x1f` besides.
pub(crate) fn is_python_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// `input` without the white space around it, as Python's `str.strip()`
/// (DRF's `CharField` trims with it) leaves it.
pub(crate) fn python_trim(input: &str) -> &str {
    input.trim_matches(is_python_space)
}

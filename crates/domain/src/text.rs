//! Characters no name shown to people may hold.

/// Control characters (NUL included), direction marks and overrides (which
/// make `evil\u{202e}fdp.exe` read as `evilexe.pdf`) and line separators:
/// text holding one reads as something other than what it is.
pub(crate) fn misleading(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{2028}' | '\u{2029}')
        || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

//! Values that came from a request, made safe to show: control characters
//! escaped, so that no value can forge a log line or move an operator's
//! terminal, and long values cut short with their length stated, so that no
//! value can flood a log or an error body.

use std::fmt::{self, Write};

/// The most characters of one value shown.
const MAX_CHARS: usize = 64;

/// A value that came from a request, shown escaped and cut short.
///
/// Control characters (CR, LF, ESC, …) are shown as escapes; past 64
/// characters the rest is replaced by its length.
///
/// ```
/// use pesakit::Untrusted;
///
/// assert_eq!(Untrusted("RKTQDM7W6S").to_string(), "RKTQDM7W6S");
/// assert_eq!(Untrusted("ws_CO_1\r\nINFO forged").to_string(), "ws_CO_1\\r\\nINFO forged");
/// assert_eq!(Untrusted("\u{1b}[2J").to_string(), "\\u{1b}[2J");
/// let long = "9".repeat(60_000);
/// assert_eq!(Untrusted(&long).to_string(), format!("{}… (60000 bytes)", "9".repeat(64)));
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Untrusted<'a>(pub &'a str);

impl fmt::Display for Untrusted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, character) in self.0.chars().enumerate() {
            if index == MAX_CHARS {
                return write!(f, "… ({} bytes)", self.0.len());
            }
            write_escaped(f, character)?;
        }
        Ok(())
    }
}

fn write_escaped(out: &mut impl Write, character: char) -> fmt::Result {
    if character.is_control() { write!(out, "{}", character.escape_default()) } else { out.write_char(character) }
}

/// `text` made safe for an error message: control characters escaped, each
/// run of non-blank characters longer than 64 cut short with its length,
/// and the whole at most `max_chars` characters.
pub(crate) fn sanitized(text: &str, max_chars: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max_chars + 32));
    let mut shown = 0;
    for word in text.split_inclusive(char::is_whitespace) {
        if shown >= max_chars {
            let _ = write!(out, "… ({} bytes in all)", text.len());
            break;
        }
        let value = word.trim_end_matches(char::is_whitespace);
        let _ = write!(out, "{}{}", Untrusted(value), Untrusted(&word[value.len()..]));
        shown += word.chars().count().min(MAX_CHARS + 1);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_clean_values_are_shown_as_they_are() {
        assert_eq!(Untrusted("").to_string(), "");
        assert_eq!(Untrusted("invoice-42 Ünï").to_string(), "invoice-42 Ünï");
        assert_eq!(Untrusted(&"a".repeat(64)).to_string(), "a".repeat(64));
    }

    #[test]
    fn every_control_character_is_escaped() {
        let shown = Untrusted("a\u{0}b\tc\u{7f}d\u{9b}e").to_string();
        assert!(!shown.chars().any(char::is_control), "{shown:?}");
    }

    #[test]
    fn messages_keep_their_words_and_lose_long_values() {
        let message = format!("result code {} does not fit a 64-bit integer", "9".repeat(60_000));
        let shown = sanitized(&message, 512);
        assert!(shown.starts_with("result code 999"), "{shown}");
        assert!(shown.contains("(60000 bytes)") && shown.ends_with("does not fit a 64-bit integer"), "{shown}");
        assert!(shown.len() < 200, "{}", shown.len());
        let words = "word ".repeat(10_000);
        assert!(sanitized(&words, 512).len() < 600);
    }
}

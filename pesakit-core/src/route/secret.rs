//! The path secret: a segment of callback paths whose value comes from
//! configuration, compared in constant time and kept out of every log line,
//! span and error body.

use std::borrow::Cow;
use std::fmt;

use crate::path_rules::SECRET_SEGMENT;

/// Shortest secret accepted: long enough that guessing it is hopeless.
const MIN_LENGTH: usize = 16;
const MAX_LENGTH: usize = 128;

/// A checked path secret; its `Debug` never shows it.
#[derive(Clone)]
pub(super) struct PathSecret(String);

impl fmt::Debug for PathSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PathSecret(redacted)")
    }
}

impl PathSecret {
    /// Checks `secret`: 16 to 128 URL-safe characters (letters, digits,
    /// `-`, `_`, `.`, `~`), so that it needs no escaping in a URL.
    pub(super) fn new(secret: &str) -> Result<Self, &'static str> {
        if !(MIN_LENGTH..=MAX_LENGTH).contains(&secret.len()) {
            return Err("a path secret has 16 to 128 characters");
        }
        if !secret.bytes().all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~')) {
            return Err("a path secret has only letters, digits, `-`, `_`, `.` and `~`");
        }
        Ok(Self(secret.to_owned()))
    }

    /// Whether `path` is `template` with this secret in its secret segment
    /// (or `template` itself, when it has none).
    /// The secret is compared in constant time: how long a refusal takes
    /// says nothing of how much of a guess was right.
    pub(super) fn matches(&self, template: &str, path: &str) -> bool {
        let Some((prefix, suffix)) = template.split_once(SECRET_SEGMENT) else {
            return template == path;
        };
        let Some(given) = path.strip_prefix(prefix).and_then(|rest| rest.strip_suffix(suffix)) else {
            return false;
        };
        same_bytes(given.as_bytes(), self.0.as_bytes())
    }

    /// `template` with its secret segment filled in.
    pub(super) fn fill(&self, template: &str) -> String {
        template.replacen(SECRET_SEGMENT, &self.0, 1)
    }

    /// `text` with every occurrence of the secret shown as `{secret}`.
    pub(super) fn redact<'a>(&self, text: &'a str) -> Cow<'a, str> {
        if text.contains(&self.0) { Cow::Owned(text.replace(&self.0, SECRET_SEGMENT)) } else { Cow::Borrowed(text) }
    }
}

/// Whether `given` equals `expected`, looking at every byte of `expected`
/// whatever `given` holds.
fn same_bytes(given: &[u8], expected: &[u8]) -> bool {
    let mut difference = given.len() ^ expected.len();
    for (index, byte) in expected.iter().enumerate() {
        difference |= usize::from(given.get(index).copied().unwrap_or(!byte) ^ byte);
    }
    difference == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "s3cr3t-Value_0123";

    #[test]
    fn only_the_exact_secret_matches() {
        let secret = PathSecret::new(SECRET).expect("a valid secret");
        let template = "/payments/{secret}/stk";
        assert!(secret.matches(template, "/payments/s3cr3t-Value_0123/stk"));
        for wrong in [
            "/payments/s3cr3t-Value_012/stk",
            "/payments/s3cr3t-Value_01234/stk",
            "/payments/S3cr3t-Value_0123/stk",
            "/payments//stk",
            "/payments/s3cr3t-Value_0123/stk/",
            "/payments/{secret}/stk",
            "/payments/stk",
        ] {
            assert!(!secret.matches(template, wrong), "{wrong}");
        }
        assert!(secret.matches("/plain", "/plain"));
        assert!(!secret.matches("/plain", "/plain2"));
    }

    #[test]
    fn secrets_are_long_and_url_safe() {
        assert!(PathSecret::new("short").is_err());
        assert!(PathSecret::new(&"a".repeat(129)).is_err());
        assert!(PathSecret::new("has a space in it here").is_err());
        assert!(PathSecret::new("slash/inside/is-not-ok").is_err());
        assert!(PathSecret::new(SECRET).is_ok());
    }

    #[test]
    fn the_secret_never_shows() {
        let secret = PathSecret::new(SECRET).expect("a valid secret");
        assert_eq!(format!("{secret:?}"), "PathSecret(redacted)");
        assert_eq!(secret.redact("/payments/s3cr3t-Value_0123/stk/x"), "/payments/{secret}/stk/x");
        assert_eq!(secret.redact("/elsewhere"), "/elsewhere");
    }

    #[test]
    fn comparison_looks_at_every_byte() {
        assert!(same_bytes(b"abc", b"abc"));
        assert!(!same_bytes(b"abd", b"abc"));
        assert!(!same_bytes(b"ab", b"abc"));
        assert!(!same_bytes(b"abcd", b"abc"));
        assert!(!same_bytes(b"", b"abc"));
    }
}

//! The one error type every payload parser returns.

use std::fmt;

use crate::untrusted::sanitized;

/// The most characters of a JSON path shown; paths name Daraja's fields.
const MAX_PATH_CHARS: usize = 256;
/// The most characters of a message shown.
const MAX_MESSAGE_CHARS: usize = 512;

/// Why a callback body was refused.
///
/// Every error names where the problem is (a JSON path such as
/// `Body.stkCallback.CallbackMetadata.Item[Amount].Value`, empty for the body
/// as a whole) and what was expected, and says which of three layers failed:
/// see [`PayloadErrorKind`]. Values it quotes from the body are escaped and
/// cut to 64 characters with their length, so it is safe to log and to send
/// back.
///
/// ```
/// use pesakit::{Payload, PayloadErrorKind, StkCallback};
///
/// let err = StkCallback::from_slice(br#"{"Body":{}}"#).unwrap_err();
/// assert_eq!(err.kind(), PayloadErrorKind::Shape);
/// assert_eq!(err.path(), "Body");
/// assert!(err.to_string().contains("missing field `stkCallback`"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayloadError {
    kind: PayloadErrorKind,
    path: String,
    message: String,
}

/// The layer at which a body was refused.
///
/// ```
/// use pesakit::{C2bPayment, Payload, PayloadErrorKind};
///
/// let err = C2bPayment::from_slice(b"{\"TransID\":").unwrap_err();
/// assert_eq!(err.kind(), PayloadErrorKind::Syntax);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PayloadErrorKind {
    /// Not one strict JSON object: bad syntax, truncation, trailing data,
    /// invalid UTF-8, a byte-order mark, or nesting past the depth limit.
    Syntax,
    /// Valid JSON of the wrong shape: a missing or duplicated member, a wrong
    /// wrapper, or a value of the wrong JSON type.
    Shape,
    /// The right shape with a value Daraja never sends: a malformed amount,
    /// an impossible date, an empty correlation id.
    Value,
}

impl PayloadErrorKind {
    /// `"syntax"`, `"shape"` or `"value"`, as used in error responses.
    ///
    /// ```
    /// assert_eq!(pesakit::PayloadErrorKind::Shape.as_str(), "shape");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Syntax => "syntax",
            Self::Shape => "shape",
            Self::Value => "value",
        }
    }
}

impl PayloadError {
    /// An error whose path and message quote the body: both are escaped and
    /// cut short here, once, whatever a body holds.
    pub(crate) fn new(kind: PayloadErrorKind, path: impl Into<String>, message: impl Into<String>) -> Self {
        let (path, message) = (path.into(), message.into());
        Self { kind, path: sanitized(&path, MAX_PATH_CHARS), message: sanitized(&message, MAX_MESSAGE_CHARS) }
    }

    pub(crate) fn syntax(message: impl Into<String>) -> Self {
        Self::new(PayloadErrorKind::Syntax, String::new(), message)
    }

    pub(crate) fn shape(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(PayloadErrorKind::Shape, path, message)
    }

    pub(crate) fn value(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(PayloadErrorKind::Value, path, message)
    }

    /// Puts `prefix` in front of this error's path, for errors found while
    /// parsing a nested document on its own.
    pub(crate) fn within(mut self, prefix: &str) -> Self {
        let path = if self.path.is_empty() { prefix.to_owned() } else { format!("{prefix}.{}", self.path) };
        self.path = sanitized(&path, MAX_PATH_CHARS);
        self
    }

    /// The layer that refused the body.
    pub fn kind(&self) -> PayloadErrorKind {
        self.kind
    }

    /// The JSON path of the offending member, `""` for the body as a whole.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// What was wrong, without the path.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for PayloadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let layer = match self.kind {
            PayloadErrorKind::Syntax => "invalid JSON",
            PayloadErrorKind::Shape => "wrong shape",
            PayloadErrorKind::Value => "invalid value",
        };
        if self.path.is_empty() {
            write!(f, "{layer} in the body: {}", self.message)
        } else {
            write!(f, "{layer} at `{}`: {}", self.path, self.message)
        }
    }
}

impl std::error::Error for PayloadError {}

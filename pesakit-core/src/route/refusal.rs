//! Requests turned away before their body is parsed: by the receive, guard
//! and admit stages, or while the body is read.

use std::fmt;

use bytes::Bytes;
use http::header::ALLOW;
use http::request::Parts;
use http::{HeaderValue, Response, StatusCode};

use super::answer::error_response;

/// Why a request was turned away before its body was parsed.
pub(super) enum Refusal {
    /// No route at this path.
    NotFound,
    /// A guard answered 403.
    Forbidden {
        reason: String,
    },
    /// A guard answered 404, as if the route did not exist.
    Concealed {
        reason: String,
    },
    MethodNotAllowed,
    /// Over the body limit: `declared` is the `Content-Length`, when the
    /// request gave one (a streamed body is cut at the limit, its size
    /// unknown).
    TooLarge {
        limit: usize,
        declared: Option<usize>,
    },
    BodyUnreadable {
        reason: String,
    },
}

impl Refusal {
    /// The answer, logged once at warn with what the request asked for;
    /// `path` is the request's path as it may be shown (its secret hidden).
    pub(super) fn into_response(self, parts: &Parts, path: &str) -> Response<Bytes> {
        let path = Shortened(path);
        match self {
            Self::NotFound => {
                tracing::warn!(%path, method = %parts.method, "no callback route at this path");
                not_found(path)
            }
            Self::Concealed { reason } => {
                tracing::warn!(%path, %reason, "a guard refused the request; answered as an unknown path");
                not_found(path)
            }
            Self::Forbidden { reason } => {
                tracing::warn!(%path, %reason, "a guard refused the request");
                error_response(StatusCode::FORBIDDEN, "forbidden", "this source may not post callbacks here")
            }
            Self::MethodNotAllowed => {
                tracing::warn!(%path, method = %parts.method, "callback route called without POST");
                let message = format!("`{path}` accepts only POST");
                let mut response = error_response(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", &message);
                response.headers_mut().insert(ALLOW, HeaderValue::from_static("POST"));
                response
            }
            Self::TooLarge { limit, declared } => {
                tracing::warn!(%path, declared, limit, "callback body over the limit");
                let message = format!("the body is over the {limit} byte limit");
                error_response(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", &message)
            }
            Self::BodyUnreadable { reason } => {
                tracing::warn!(%path, %reason, "the request body could not be read");
                error_response(StatusCode::BAD_REQUEST, "body_unreadable", "the body could not be read")
            }
        }
    }
}

/// The same answer for an unknown path and a concealed route.
fn not_found(path: Shortened<'_>) -> Response<Bytes> {
    let message = format!("no callback route at `{path}`");
    error_response(StatusCode::NOT_FOUND, "not_found", &message)
}

/// A request path cut to a length fit for a log line or an error body. A
/// parsed URI holds no control characters, so nothing else needs escaping.
#[derive(Clone, Copy)]
struct Shortened<'a>(&'a str);

impl Shortened<'_> {
    const MAX_CHARS: usize = 128;
}

impl fmt::Display for Shortened<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.char_indices().nth(Self::MAX_CHARS) {
            None => f.write_str(self.0),
            Some((cut, _)) => write!(f, "{}… ({} bytes)", &self.0[..cut], self.0.len()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_paths_are_cut_with_their_length() {
        assert_eq!(Shortened("/payments/stk").to_string(), "/payments/stk");
        let long = format!("/{}", "a".repeat(500));
        let shown = Shortened(&long).to_string();
        assert!(shown.starts_with(&long[..128]), "{shown}");
        assert!(shown.ends_with("… (501 bytes)"), "{shown}");
        assert!(shown.len() < 150);
    }
}

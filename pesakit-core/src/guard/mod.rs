//! The guard stage: who may post to a callback path, decided from the
//! method, path, headers and peer address before any body byte is read.
//!
//! Daraja callbacks carry no signature, so a table can refuse callers that
//! are not Daraja. A [`Guard`] added with [`Routes::guard`](crate::Routes::guard)
//! sees every request to one of the table's paths; a refused request is
//! answered at once, its body unread, and nothing is parsed, recorded or
//! handled. Guards run in the order they were added; the first refusal
//! answers.
//!
//! ```
//! use pesakit::guard::{GuardRequest, GuardVerdict};
//! use pesakit::Routes;
//!
//! // Only callbacks relayed by our own tunnel, which adds its token.
//! let routes = Routes::new().guard(|request: &GuardRequest<'_>| {
//!     match request.headers().get("x-tunnel-token") {
//!         Some(token) if token == "expected" => GuardVerdict::Allow,
//!         _ => GuardVerdict::Forbid("no tunnel token".into()),
//!     }
//! });
//! assert!(format!("{routes:?}").contains("guards: 1"));
//! ```
//!
//! [`SourceGuard`] is the guard most services want: Safaricom's gateways
//! only, with the client resolved behind the proxies the service runs.

mod forwarded;
mod source;

use std::borrow::Cow;
use std::fmt;
use std::net::IpAddr;

use http::{HeaderMap, Method};

use crate::extract::PeerAddr;
use crate::kind::CallbackKind;

pub use self::forwarded::{ForwardedError, ForwardedHeader};
pub use self::source::{SAFARICOM_GATEWAYS, SourceError, SourceGuard};

/// Decides whether a request may reach a callback route.
///
/// Implemented for closures taking a [`GuardRequest`]. A guard must not
/// block: it runs on the async worker for every request.
pub trait Guard: Send + Sync + 'static {
    /// The verdict on `request`.
    fn check(&self, request: &GuardRequest<'_>) -> GuardVerdict;

    /// What the guard does, for the server's start-up log.
    fn describe(&self) -> String {
        "a custom guard".to_owned()
    }

    /// The client behind `peer`, when this guard knows better than the
    /// peer address (a guard that trusts proxies); handlers see it as
    /// [`ClientAddr`](crate::ClientAddr) and the inbox records it.
    fn resolve_client(&self, peer: IpAddr, headers: &HeaderMap) -> Option<IpAddr> {
        let _ = (peer, headers);
        None
    }

    /// Whether any request from a connection with `peer` could be allowed.
    /// The bundled runtime asks as it accepts a connection and closes one
    /// that could not be, before reading a byte. The default admits every
    /// peer; answer `false` only for peers that [`check`](Self::check)
    /// refuses whatever they send.
    ///
    /// ```
    /// use pesakit::guard::{Guard, SourceGuard};
    ///
    /// let guard = SourceGuard::safaricom();
    /// assert!(guard.admits_connection("196.201.214.200".parse()?));
    /// assert!(!guard.admits_connection("203.0.113.9".parse()?));
    /// # Ok::<(), std::net::AddrParseError>(())
    /// ```
    fn admits_connection(&self, peer: IpAddr) -> bool {
        let _ = peer;
        true
    }
}

impl<F> Guard for F
where
    F: Fn(&GuardRequest<'_>) -> GuardVerdict + Send + Sync + 'static,
{
    fn check(&self, request: &GuardRequest<'_>) -> GuardVerdict {
        self(request)
    }
}

/// What a guard sees: everything about the request but its body.
#[derive(Debug, Clone, Copy)]
pub struct GuardRequest<'a> {
    pub(crate) kind: CallbackKind,
    pub(crate) route_path: &'static str,
    pub(crate) method: &'a Method,
    pub(crate) headers: &'a HeaderMap,
    pub(crate) peer: Option<PeerAddr>,
}

impl<'a> GuardRequest<'a> {
    /// The kind of the route the request is for.
    pub fn kind(&self) -> CallbackKind {
        self.kind
    }

    /// The route's path, as given to its attribute.
    pub fn route_path(&self) -> &'static str {
        self.route_path
    }

    /// The request method. Guards run before the method and the declared
    /// size are checked, so a refused caller learns nothing from a 405 or a
    /// 413.
    pub fn method(&self) -> &'a Method {
        self.method
    }

    /// The request headers, as sent: treat every value as hostile.
    pub fn headers(&self) -> &'a HeaderMap {
        self.headers
    }

    /// The address of the connection's peer, when the host knows it.
    pub fn peer(&self) -> Option<PeerAddr> {
        self.peer
    }
}

/// A guard's decision. No variant answers 503: Daraja may drop a callback
/// answered 503 instead of retrying it.
///
/// ```
/// use pesakit::guard::GuardVerdict;
///
/// let verdict = GuardVerdict::Conceal("wrong path secret".into());
/// assert_eq!(verdict.to_string(), "concealed: wrong path secret");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GuardVerdict {
    /// Let the request through to the next stage.
    Allow,
    /// Answer 403; the reason is logged, never sent.
    Forbid(Cow<'static, str>),
    /// Answer 404 exactly as for an unknown path, so a caller cannot tell
    /// that the route exists; the reason is logged, never sent.
    Conceal(Cow<'static, str>),
}

impl fmt::Display for GuardVerdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Allow => f.write_str("allowed"),
            Self::Forbid(reason) => write!(f, "forbidden: {reason}"),
            Self::Conceal(reason) => write!(f, "concealed: {reason}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allow_all(_request: &GuardRequest<'_>) -> GuardVerdict {
        GuardVerdict::Allow
    }

    #[test]
    fn a_custom_guard_admits_every_connection_and_knows_no_better_client() {
        let peer: IpAddr = "203.0.113.9".parse().expect("an address");
        assert_eq!(allow_all.describe(), "a custom guard");
        assert!(allow_all.admits_connection(peer));
        assert_eq!(allow_all.resolve_client(peer, &HeaderMap::new()), None);
    }

    #[test]
    fn a_guard_sees_the_request_as_sent() {
        let (method, headers) = (Method::PUT, HeaderMap::new());
        let request = GuardRequest {
            kind: CallbackKind::StkCallback,
            route_path: "/stk",
            method: &method,
            headers: &headers,
            peer: None,
        };
        assert_eq!(request.method(), Method::PUT);
        assert_eq!((request.kind(), request.route_path(), request.peer()), (CallbackKind::StkCallback, "/stk", None));
    }

    #[test]
    fn verdicts_read_as_what_they_decide() {
        assert_eq!(GuardVerdict::Allow.to_string(), "allowed");
        assert_eq!(GuardVerdict::Forbid("source 6.6.6.6".into()).to_string(), "forbidden: source 6.6.6.6");
    }
}

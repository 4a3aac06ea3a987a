//! Handler arguments after the payload: state, headers, peer address, body.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;
use http::HeaderMap;
use http::request::Parts;

use crate::handler::HandlerError;
use crate::record::RecordId;

/// The request a handler's arguments are taken from: what a custom
/// [`FromCallbackRequest`] implementation reads.
///
/// ```
/// use pesakit::{CallbackRequest, ExtractError, FromCallbackRequest};
///
/// /// The `X-Request-Id` header a proxy in front of the service adds.
/// struct RequestId(String);
///
/// impl FromCallbackRequest for RequestId {
///     fn from_callback_request(request: &CallbackRequest<'_>) -> Result<Self, ExtractError> {
///         request
///             .headers()
///             .get("x-request-id")
///             .and_then(|value| value.to_str().ok())
///             .map(|id| RequestId(id.to_owned()))
///             .ok_or_else(|| ExtractError::new("the proxy sent no X-Request-Id"))
///     }
/// }
/// ```
#[derive(Debug)]
pub struct CallbackRequest<'a> {
    pub(crate) parts: &'a Parts,
    pub(crate) body: &'a Bytes,
    pub(crate) states: &'a StateMap,
    /// The peer as the host gave it: passed by the bundled runtime, read
    /// from the request's extensions for other hosts.
    pub(crate) peer: Option<PeerAddr>,
    /// The client behind the peer, as the table's guards resolved it.
    pub(crate) client: Option<IpAddr>,
    /// Set when the handler runs from an inbox.
    pub(crate) delivery: Option<Delivery>,
}

impl CallbackRequest<'_> {
    /// The request headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.parts.headers
    }

    /// The request URI.
    pub fn uri(&self) -> &http::Uri {
        &self.parts.uri
    }

    /// The request's extensions, where hosts put what they know.
    pub fn extensions(&self) -> &http::Extensions {
        &self.parts.extensions
    }

    /// The body exactly as received.
    pub fn body(&self) -> &Bytes {
        self.body
    }

    /// The peer address, when the host knows it.
    pub fn peer(&self) -> Option<PeerAddr> {
        self.peer
    }

    /// The client's address: the peer's, or the one a guard that trusts
    /// the proxies in front of the service resolved.
    pub fn client(&self) -> Option<IpAddr> {
        self.client
    }

    /// The state of type `T` given with [`Routes::with_state`](crate::Routes::with_state).
    pub fn state<T: 'static>(&self) -> Option<&T> {
        self.states.get::<T>()
    }
}

/// A handler argument taken from the request.
///
/// Implemented by [`State<T>`], [`HeaderMap`], [`PeerAddr`], [`ClientAddr`]
/// (and `Option`s of both), [`RawBody`], and [`Delivery`] and
/// `Option<Delivery>` for handlers run from an inbox.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a Daraja handler argument",
    label = "not an extractor",
    note = "after the payload, a handler takes `State<T>`, `http::HeaderMap`, `PeerAddr`, `ClientAddr`, `RawBody` or `Delivery`, or an `Option` of `PeerAddr`, `ClientAddr` or `Delivery`"
)]
pub trait FromCallbackRequest: Sized {
    /// Takes the argument from `request`.
    fn from_callback_request(request: &CallbackRequest<'_>) -> Result<Self, ExtractError>;

    /// The state this argument needs the route table to hold, if any. A
    /// table is checked for it before it serves (see
    /// [`Routes::check`](crate::Routes::check)), so a missing
    /// `.with_state(…)` is found at start-up rather than by Daraja.
    fn required_state() -> Option<RequiredState> {
        None
    }
}

/// A state type a handler argument needs; see
/// [`FromCallbackRequest::required_state`].
///
/// ```
/// use pesakit::{FromCallbackRequest, RequiredState, State};
///
/// #[derive(Clone)]
/// struct Ledger;
/// assert_eq!(<State<Ledger> as FromCallbackRequest>::required_state(), Some(RequiredState::of::<Ledger>()));
/// assert!(RequiredState::of::<Ledger>().type_name().ends_with("Ledger"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RequiredState {
    type_id: TypeId,
    type_name: &'static str,
}

impl RequiredState {
    /// The state of type `T`.
    pub fn of<T: 'static>() -> Self {
        Self { type_id: TypeId::of::<T>(), type_name: std::any::type_name::<T>() }
    }

    /// The type's name, for messages.
    pub fn type_name(&self) -> &'static str {
        self.type_name
    }
}

/// Why a handler argument could not be extracted; answered with HTTP 500.
/// It means the table or the host does not give what a handler asks for
/// (a state, a peer address), or a custom extractor refused the request.
///
/// ```
/// use pesakit::ExtractError;
/// let error = ExtractError::new("no state");
/// assert_eq!(error.to_string(), "no state");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtractError(String);

impl ExtractError {
    /// An error with `message`.
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

impl fmt::Display for ExtractError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ExtractError {}

impl From<ExtractError> for HandlerError {
    fn from(error: ExtractError) -> Self {
        HandlerError::from_error(error)
    }
}

/// Application state given to the route table with
/// [`Routes::with_state`](crate::Routes::with_state), cloned into each call.
///
/// ```
/// use pesakit::State;
///
/// #[derive(Clone)]
/// struct Ledger { till: String }
///
/// fn handler_body(State(ledger): State<Ledger>) -> String {
///     ledger.till
/// }
/// assert_eq!(handler_body(State(Ledger { till: "515021".into() })), "515021");
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct State<T>(pub T);

impl<T: Clone + Send + Sync + 'static> FromCallbackRequest for State<T> {
    fn from_callback_request(request: &CallbackRequest<'_>) -> Result<Self, ExtractError> {
        request.state::<T>().cloned().map(State).ok_or_else(|| {
            ExtractError::new(format!(
                "a handler takes `State<{0}>` but the route table has none: call `.with_state(value)` with a `{0}`",
                std::any::type_name::<T>()
            ))
        })
    }

    fn required_state() -> Option<RequiredState> {
        Some(RequiredState::of::<T>())
    }
}

/// The address of the peer that sent the callback, when the host knows it:
/// the bundled runtime always does, the axum adapter when the app is served
/// with `into_make_service_with_connect_info::<SocketAddr>()`, actix-web
/// when the connection has one. Other hosts insert a `PeerAddr` into the
/// request's extensions. Take `Option<PeerAddr>` where it may be missing.
///
/// ```
/// use pesakit::PeerAddr;
/// let peer = PeerAddr("196.201.214.200:443".parse().unwrap());
/// assert_eq!(peer.0.port(), 443);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PeerAddr(pub SocketAddr);

impl FromCallbackRequest for PeerAddr {
    fn from_callback_request(request: &CallbackRequest<'_>) -> Result<Self, ExtractError> {
        request.peer().ok_or_else(|| {
            ExtractError::new("a handler takes `PeerAddr` but the host gave no peer address; take `Option<PeerAddr>`")
        })
    }
}

impl FromCallbackRequest for Option<PeerAddr> {
    fn from_callback_request(request: &CallbackRequest<'_>) -> Result<Self, ExtractError> {
        Ok(request.peer())
    }
}

/// The address of the client that sent the callback: the peer's, or, with
/// a [`SourceGuard`](crate::guard::SourceGuard) that trusts the proxies in
/// front of the service, the client they forwarded. Take
/// `Option<ClientAddr>` where the host may give no peer address.
///
/// ```
/// use pesakit::ClientAddr;
/// let client = ClientAddr("196.201.214.200".parse().unwrap());
/// assert!(client.0.is_ipv4());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientAddr(pub IpAddr);

impl FromCallbackRequest for ClientAddr {
    fn from_callback_request(request: &CallbackRequest<'_>) -> Result<Self, ExtractError> {
        request.client().map(ClientAddr).ok_or_else(|| {
            ExtractError::new(
                "a handler takes `ClientAddr` but the host gave no peer address; take `Option<ClientAddr>`",
            )
        })
    }
}

impl FromCallbackRequest for Option<ClientAddr> {
    fn from_callback_request(request: &CallbackRequest<'_>) -> Result<Self, ExtractError> {
        Ok(request.client().map(ClientAddr))
    }
}

/// The request body exactly as received, for storing the raw callback.
///
/// ```
/// use pesakit::RawBody;
/// let raw = RawBody(bytes::Bytes::from_static(b"{}"));
/// assert_eq!(&raw.0[..], b"{}");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawBody(pub Bytes);

impl FromCallbackRequest for RawBody {
    fn from_callback_request(request: &CallbackRequest<'_>) -> Result<Self, ExtractError> {
        Ok(RawBody(request.body().clone()))
    }
}

/// What a handler run from an inbox knows of the callback it handles, so
/// that it can be idempotent itself: which stored delivery it is, which
/// attempt, when the callback first arrived, and whether Daraja sent a
/// different body under the same id before.
///
/// Take `Option<Delivery>` in a handler that also serves tables without an
/// inbox.
///
/// A **conflicting delivery** is a body that arrives under the id of a
/// callback already stored (its kind and CheckoutRequestID, `TransID`,
/// OriginatorConversationID, …) and is not the same JSON value as any
/// body stored under it: Daraja has been seen sending a 1019 and then a
/// 1037 for one push, and anyone who knows an id can post a fake first.
/// Each is stored as its own delivery before its 200, its handler runs
/// with [`number`](Self::number) 2, 3, …, and the callback is marked for
/// reconciliation with both outcomes named. Whatever the order — a
/// non-final then a final outcome (1037, then 0: paid), a final then a
/// non-final one (0, then 1037), or two different finals (1032, then 0; or
/// two receipts) — the handler sees every delivery in the order they
/// arrived, and the mark stays until the payment is reconciled with Daraja:
/// move an order forward on a later delivery (from "no response" to
/// "paid"), never back (from "paid" to "cancelled"), and leave the rest to
/// the reconciliation. A repeat of a body already stored (the same bytes,
/// or the same JSON with other whitespace or key order) is a duplicate: it
/// is answered and never handled again. A repeated C2B validation is
/// always a duplicate: it gets the verdict already given.
///
/// ```
/// use pesakit::Delivery;
/// use pesakit::record::RecordId;
///
/// let delivery = Delivery { id: RecordId(7), attempt: 2, first_received: std::time::SystemTime::UNIX_EPOCH, number: 1 };
/// assert!(delivery.is_retry());
/// assert!(!delivery.conflicts());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delivery {
    /// The inbox's id for this delivery.
    pub id: RecordId,
    /// 1 for the first run of the handler, 2 for its first retry, …
    pub attempt: u32,
    /// When this delivery arrived.
    pub first_received: SystemTime,
    /// 1 for the first body stored under the callback's id; 2, 3, … for
    /// each later body that differs from every one before it.
    pub number: u32,
}

impl Delivery {
    /// Whether an earlier attempt ran (and failed, or its process died).
    pub fn is_retry(&self) -> bool {
        self.attempt > 1
    }

    /// Whether a different body under the same id was stored, and given
    /// to the handler, before this one.
    pub fn conflicts(&self) -> bool {
        self.number > 1
    }
}

impl FromCallbackRequest for Delivery {
    fn from_callback_request(request: &CallbackRequest<'_>) -> Result<Self, ExtractError> {
        request.delivery.ok_or_else(|| {
            ExtractError::new("a handler takes `Delivery` but the table has no inbox: add `.with_inbox(…)`")
        })
    }
}

impl FromCallbackRequest for Option<Delivery> {
    fn from_callback_request(request: &CallbackRequest<'_>) -> Result<Self, ExtractError> {
        Ok(request.delivery)
    }
}

impl FromCallbackRequest for HeaderMap {
    fn from_callback_request(request: &CallbackRequest<'_>) -> Result<Self, ExtractError> {
        Ok(request.headers().clone())
    }
}

/// States keyed by type.
#[derive(Clone, Default)]
pub(crate) struct StateMap(HashMap<TypeId, Arc<dyn Any + Send + Sync>>);

impl StateMap {
    pub(crate) fn insert<T: Clone + Send + Sync + 'static>(&mut self, state: T) {
        self.0.insert(TypeId::of::<T>(), Arc::new(state));
    }

    pub(crate) fn get<T: 'static>(&self) -> Option<&T> {
        self.0.get(&TypeId::of::<T>()).and_then(|state| state.downcast_ref::<T>())
    }

    pub(crate) fn contains(&self, state: RequiredState) -> bool {
        self.0.contains_key(&state.type_id)
    }

    /// Adds the states of `other` whose types this map lacks.
    pub(crate) fn extend_missing(&mut self, other: &StateMap) {
        for (type_id, state) in &other.0 {
            self.0.entry(*type_id).or_insert_with(|| Arc::clone(state));
        }
    }
}

impl fmt::Debug for StateMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StateMap({} states)", self.0.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delivery(attempt: u32, number: u32) -> Delivery {
        Delivery { id: RecordId(1), attempt, first_received: SystemTime::UNIX_EPOCH, number }
    }

    #[test]
    fn only_a_delivery_after_the_first_attempt_is_a_retry() {
        assert!(!delivery(1, 1).is_retry());
        assert!(delivery(2, 1).is_retry());
        assert!(delivery(9, 1).is_retry());
    }

    #[test]
    fn only_a_delivery_after_the_first_body_conflicts() {
        assert!(!delivery(3, 1).conflicts());
        assert!(delivery(1, 2).conflicts());
        assert!(delivery(1, 5).conflicts());
    }
}

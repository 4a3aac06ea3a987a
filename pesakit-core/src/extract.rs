//! Handler arguments after the payload: state, headers, peer address, body.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use bytes::Bytes;
use http::HeaderMap;
use http::request::Parts;

use crate::handler::HandlerError;
use crate::inbox::Delivery;

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

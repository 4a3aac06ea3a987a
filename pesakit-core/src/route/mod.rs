//! The route table: which handler serves which path, and how Daraja is
//! answered (see [`Routes::dispatch`]).

mod dispatch;
mod service;

pub use service::ResponseBody;

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use crate::extract::{CallbackRequest, StateMap};
use crate::handler::HandlerFuture;
use crate::kind::CallbackKind;
use crate::payload::{Payload, PayloadError};
use crate::response::{RejectCode, Validation};

/// Default cap on a callback body: real Daraja bodies are under 3 KiB.
pub const DEFAULT_BODY_LIMIT: usize = 64 * 1024;

/// Default time a C2B validation handler has to answer; Daraja waits about
/// 8 seconds from when the request leaves M-Pesa.
pub const DEFAULT_VALIDATION_DEADLINE: Duration = Duration::from_secs(5);

/// One callback route: a kind, a path and the handler that serves it.
///
/// Routes are made by the `#[daraja::…]` attributes and gathered by
/// `routes![…]`.
#[derive(Clone)]
pub struct Route {
    kind: CallbackKind,
    path: &'static str,
    handler_name: &'static str,
    endpoint: Arc<dyn Endpoint>,
}

impl Route {
    /// A route for a handler already adapted to [`HandlerFuture`]; the
    /// attribute macros call this with a path they checked at compile time.
    #[doc(hidden)]
    pub fn from_handler<P, F>(kind: CallbackKind, path: &'static str, handler_name: &'static str, handler: F) -> Self
    where
        P: Payload,
        F: Fn(P, &CallbackRequest<'_>) -> HandlerFuture + Send + Sync + 'static,
    {
        let endpoint = Arc::new(TypedEndpoint { handler, payload: PhantomData::<fn() -> P> });
        Self { kind, path, handler_name, endpoint }
    }

    /// The callback kind served.
    pub fn kind(&self) -> CallbackKind {
        self.kind
    }

    /// The path served, such as `/payments/stk`.
    pub fn path(&self) -> &'static str {
        self.path
    }

    /// The name of the handler function.
    pub fn handler_name(&self) -> &'static str {
        self.handler_name
    }
}

impl fmt::Debug for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Route")
            .field("kind", &self.kind)
            .field("path", &self.path)
            .field("handler", &self.handler_name)
            .finish()
    }
}

/// A route's handler with its payload type erased.
pub(crate) trait Endpoint: Send + Sync {
    /// Parses the body, records its correlation id in `span`, and prepares
    /// the handler call.
    fn prepare(&self, request: &CallbackRequest<'_>, span: &tracing::Span) -> Result<HandlerFuture, PayloadError>;
}

struct TypedEndpoint<P, F> {
    handler: F,
    payload: PhantomData<fn() -> P>,
}

impl<P, F> Endpoint for TypedEndpoint<P, F>
where
    P: Payload,
    F: Fn(P, &CallbackRequest<'_>) -> HandlerFuture + Send + Sync,
{
    fn prepare(&self, request: &CallbackRequest<'_>, span: &tracing::Span) -> Result<HandlerFuture, PayloadError> {
        let payload = P::from_slice(request.body)?;
        if !span.is_disabled() {
            span.record("correlation_id", tracing::field::display(payload.correlation_id()));
        }
        Ok((self.handler)(payload, request))
    }
}

/// A table of callback routes, ready to serve through
/// [`dispatch`](Self::dispatch), the bundled runtime or a framework adapter.
///
/// Build it with `routes![…]` or `#[daraja::callbacks] mod m { … }`, then
/// add state and settings:
///
/// ```
/// use std::time::Duration;
/// use pesakit_core::{RejectCode, Routes, Validation};
///
/// #[derive(Clone)]
/// struct Db;
///
/// let routes = Routes::new()
///     .with_state(Db)
///     .validation_deadline(Duration::from_secs(3))
///     .validation_fallback(Validation::Accept)
///     .invalid_validation_reply(RejectCode::InvalidAmount);
/// assert!(routes.is_empty());
/// ```
#[derive(Clone, Debug)]
pub struct Routes {
    // Shared, so that cloning a table per connection or per service call
    // costs two reference counts.
    routes: Arc<Vec<Route>>,
    states: Arc<StateMap>,
    settings: Settings,
}

#[derive(Clone, Debug)]
struct Settings {
    body_limit: usize,
    validation_deadline: Duration,
    validation_fallback: Validation,
    invalid_validation_reply: RejectCode,
}

impl Default for Routes {
    fn default() -> Self {
        Self {
            routes: Arc::default(),
            states: Arc::default(),
            settings: Settings {
                body_limit: DEFAULT_BODY_LIMIT,
                validation_deadline: DEFAULT_VALIDATION_DEADLINE,
                validation_fallback: Validation::Reject(RejectCode::OtherError),
                invalid_validation_reply: RejectCode::OtherError,
            },
        }
    }
}

/// Why a route table could not be built.
///
/// ```
/// use pesakit_core::RouteError;
///
/// let error = RouteError::DuplicatePath { path: "/payments/stk", first: "paid", second: "paid_again" };
/// assert!(error.to_string().contains("`paid` and `paid_again`"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RouteError {
    /// Two handlers would serve one path.
    DuplicatePath {
        /// The path both claim.
        path: &'static str,
        /// The handler already in the table.
        first: &'static str,
        /// The handler that was being added.
        second: &'static str,
    },
}

impl fmt::Display for RouteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::DuplicatePath { path, first, second } => write!(
                f,
                "two handlers serve the callback path `{path}`: `{first}` and `{second}`; give one of them another path"
            ),
        }
    }
}

impl std::error::Error for RouteError {}

impl Routes {
    /// An empty table with default settings.
    pub fn new() -> Self {
        Self::default()
    }

    /// A table of routes whose paths are known to be distinct; `routes![…]`
    /// checks that at compile time.
    #[doc(hidden)]
    pub fn from_checked(routes: impl IntoIterator<Item = Route>) -> Self {
        Self { routes: Arc::new(routes.into_iter().collect()), ..Self::default() }
    }

    /// Adds `route`, refusing a path already served.
    pub fn route(mut self, route: Route) -> Result<Self, RouteError> {
        if let Some(existing) = self.find(route.path) {
            return Err(RouteError::DuplicatePath {
                path: route.path,
                first: existing.handler_name,
                second: route.handler_name,
            });
        }
        Arc::make_mut(&mut self.routes).push(route);
        Ok(self)
    }

    /// Adds every route of `other`, refusing a path both serve. States of
    /// `other` whose types this table lacks are added too; this table's
    /// settings are kept.
    ///
    /// ```
    /// use pesakit_core::Routes;
    /// let merged = Routes::new().merge(Routes::new())?;
    /// assert!(merged.is_empty());
    /// # Ok::<(), pesakit_core::RouteError>(())
    /// ```
    pub fn merge(self, other: Routes) -> Result<Self, RouteError> {
        let Routes { routes, states, .. } = other;
        let mut merged = routes.iter().cloned().try_fold(self, Routes::route)?;
        Arc::make_mut(&mut merged.states).extend_missing(&states);
        Ok(merged)
    }

    /// Makes `state` available to handlers as [`State<T>`](crate::State).
    /// One state per type; a second of the same type replaces the first.
    pub fn with_state<T: Clone + Send + Sync + 'static>(mut self, state: T) -> Self {
        Arc::make_mut(&mut self.states).insert(state);
        self
    }

    /// Caps the request body size (default [`DEFAULT_BODY_LIMIT`]); larger
    /// bodies are answered 413.
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.settings.body_limit = bytes;
        self
    }

    /// The body size cap in force.
    pub fn body_limit_bytes(&self) -> usize {
        self.settings.body_limit
    }

    /// How long a C2B validation handler may take (default
    /// [`DEFAULT_VALIDATION_DEADLINE`]); keep it well under Daraja's 8 s.
    pub fn validation_deadline(mut self, deadline: Duration) -> Self {
        self.settings.validation_deadline = deadline;
        self
    }

    /// The verdict sent when a validation handler misses its deadline
    /// (default: reject with `C2B00016`, so no money moves that the handler
    /// did not vouch for). The late verdict is logged, never sent.
    pub fn validation_fallback(mut self, verdict: Validation) -> Self {
        self.settings.validation_fallback = verdict;
        self
    }

    /// The reject code answered to a validation request whose body cannot
    /// be parsed (default `C2B00016`).
    pub fn invalid_validation_reply(mut self, code: RejectCode) -> Self {
        self.settings.invalid_validation_reply = code;
        self
    }

    /// The routes, in the order they were added.
    pub fn iter(&self) -> std::slice::Iter<'_, Route> {
        self.routes.iter()
    }

    /// How many routes there are.
    pub fn len(&self) -> usize {
        self.routes.len()
    }

    /// Whether the table has no routes.
    pub fn is_empty(&self) -> bool {
        self.routes.is_empty()
    }

    fn find(&self, path: &str) -> Option<&Route> {
        self.routes.iter().find(|route| route.path == path)
    }
}

impl<'a> IntoIterator for &'a Routes {
    type Item = &'a Route;
    type IntoIter = std::slice::Iter<'a, Route>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

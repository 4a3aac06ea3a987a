//! The route table: which handler serves which path, and the pipeline every
//! request walks through it (see [`Routes::dispatch`]).

mod answer;
mod endpoint;
mod handle;
mod pipeline;
mod refusal;
mod secret;
mod service;
mod stored;

pub use service::ResponseBody;

use std::fmt;
use std::sync::{Arc, Weak};
use std::time::Duration;

use self::endpoint::{Endpoint, TypedEndpoint};
use self::handle::{Handling, LateValidations};
use self::secret::PathSecret;
use crate::extract::{CallbackRequest, RequiredState, StateMap};
use crate::guard::Guard;
use crate::handler::HandlerFuture;
use crate::inbox::Inbox;
use crate::inbox::worker::Handlers;
use crate::kind::{CallbackKind, Kind};
use crate::path_rules::SECRET_SEGMENT;
use crate::response::{RejectCode, Validation};

/// Default cap on a callback body: real Daraja bodies are under 3 KiB.
pub const DEFAULT_BODY_LIMIT: usize = 64 * 1024;

/// Default time a C2B validation handler has to answer; Daraja waits about
/// 8 seconds from when the request leaves M-Pesa.
pub const DEFAULT_VALIDATION_DEADLINE: Duration = Duration::from_secs(5);

/// How long a validation handler may run on past its deadline by default.
const DEFAULT_LATE_VALIDATION_GRACE: Duration = Duration::from_secs(30);

/// How many validation handlers may run past their deadline at once by
/// default.
const DEFAULT_MAX_LATE_VALIDATIONS: usize = 1024;

/// One callback route: a kind, a path and the handler that serves it.
///
/// Routes are made by the `#[daraja::…]` attributes and gathered by
/// `routes![…]`.
#[derive(Clone)]
pub struct Route {
    kind: CallbackKind,
    path: &'static str,
    /// Whether `path` has a `{secret}` segment.
    has_secret: bool,
    handler_name: &'static str,
    endpoint: Arc<dyn Endpoint>,
}

impl Route {
    /// A route of kind `K` for a handler already adapted to
    /// [`HandlerFuture`]; the attribute macros call this with a path they
    /// checked at compile time and the states the handler's arguments need.
    /// The handler must take `K`'s payload: pairing a kind with another
    /// payload type does not compile.
    #[doc(hidden)]
    pub fn from_handler<K, F>(
        path: &'static str,
        handler_name: &'static str,
        required_states: Vec<RequiredState>,
        handler: F,
    ) -> Self
    where
        K: Kind,
        F: Fn(K::Payload, &CallbackRequest<'_>) -> HandlerFuture + Send + Sync + 'static,
    {
        let endpoint = Arc::new(TypedEndpoint::<K::Payload, F>::new(handler, required_states));
        Self { kind: K::KIND, path, has_secret: path.contains(SECRET_SEGMENT), handler_name, endpoint }
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

    /// The states the handler's arguments take from the table.
    pub fn required_states(&self) -> &[RequiredState] {
        self.endpoint.required_states()
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

/// A table of callback routes, ready to serve through
/// [`dispatch`](Self::dispatch), the bundled runtime or a framework adapter.
///
/// Build it with `routes![…]` or `#[daraja::callbacks] mod m { … }`, then
/// add state and settings:
///
/// ```
/// use std::time::Duration;
/// use pesakit::{RejectCode, Routes, Validation};
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
#[derive(Clone, Default)]
pub struct Routes {
    // One shared table, so that cloning it per connection or per service
    // call costs one reference count.
    table: Arc<Table>,
}

/// What a route table holds; changed only while it is being built.
#[derive(Clone)]
struct Table {
    routes: Vec<Route>,
    states: StateMap,
    settings: Settings,
    guards: Vec<Arc<dyn Guard>>,
    /// Set with [`Routes::with_inbox`]: notifications are answered once
    /// stored, and their handlers run from the inbox.
    inbox: Option<Inbox>,
    /// The value of the `{secret}` segment of paths that have one.
    secret: Option<PathSecret>,
}

#[derive(Clone, Debug)]
struct Settings {
    body_limit: usize,
    validation_deadline: Duration,
    validation_fallback: Validation,
    invalid_validation_reply: RejectCode,
    late_validations: LateValidations,
}

impl Settings {
    /// Refuses settings that could not serve Daraja: a body limit below a
    /// real callback or absurdly high, a validation deadline of zero or past
    /// the 8 seconds Daraja waits.
    fn check(&self) -> Result<(), RouteError> {
        if !(1024..=16 * 1024 * 1024).contains(&self.body_limit) {
            return Err(RouteError::InvalidSetting {
                setting: "body_limit",
                allowed: "1 KiB to 16 MiB (real Daraja bodies are under 3 KiB; the default is 64 KiB)",
            });
        }
        if self.validation_deadline.is_zero() || self.validation_deadline >= Duration::from_secs(8) {
            return Err(RouteError::InvalidSetting {
                setting: "validation_deadline",
                allowed: "more than zero and under 8 s, the time Daraja waits for a verdict (the default is 5 s)",
            });
        }
        if self.late_validations.grace > Duration::from_secs(10 * 60) {
            return Err(RouteError::InvalidSetting {
                setting: "late_validation_grace",
                allowed: "at most 10 minutes (the default is 30 s; zero cancels a handler at its deadline)",
            });
        }
        Ok(())
    }

    /// Starts `call`, a handler of `kind`, under these settings; a
    /// validation gets `deadline`.
    fn handling(&self, kind: CallbackKind, call: HandlerFuture, deadline: Duration) -> Handling<'_> {
        Handling::start(kind, call, deadline, &self.validation_fallback, &self.late_validations)
    }
}

impl Default for Table {
    fn default() -> Self {
        Self {
            routes: Vec::new(),
            states: StateMap::default(),
            settings: Settings {
                body_limit: DEFAULT_BODY_LIMIT,
                validation_deadline: DEFAULT_VALIDATION_DEADLINE,
                validation_fallback: Validation::Reject(RejectCode::OtherError),
                invalid_validation_reply: RejectCode::OtherError,
                late_validations: LateValidations::new(DEFAULT_LATE_VALIDATION_GRACE, DEFAULT_MAX_LATE_VALIDATIONS),
            },
            guards: Vec::new(),
            inbox: None,
            secret: None,
        }
    }
}

impl fmt::Debug for Routes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let table = &*self.table;
        f.debug_struct("Routes")
            .field("routes", &table.routes)
            .field("states", &table.states)
            .field("settings", &table.settings)
            .field("guards", &table.guards.len())
            .field("inbox", &table.inbox)
            .field("secret", &table.secret)
            .finish()
    }
}

/// Why a route table could not be built.
///
/// ```
/// use pesakit::RouteError;
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
    /// A route's path has a `{secret}` segment and the table was given no
    /// secret with [`Routes::path_secret`].
    MissingSecret {
        /// The handler's name.
        handler: &'static str,
        /// The path, with its `{secret}` segment.
        path: &'static str,
    },
    /// A setting is outside what can serve Daraja.
    InvalidSetting {
        /// The setter, such as `body_limit`.
        setting: &'static str,
        /// What is allowed.
        allowed: &'static str,
    },
    /// The value given to [`Routes::path_secret`] cannot be a path secret.
    InvalidSecret {
        /// What a secret must be.
        reason: &'static str,
    },
    /// A handler takes a `State<T>` the table was not given.
    MissingState {
        /// The handler's name.
        handler: &'static str,
        /// The path it serves.
        path: &'static str,
        /// The state type's name.
        state: &'static str,
    },
}

impl fmt::Display for RouteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::DuplicatePath { path, first, second } => write!(
                f,
                "two handlers serve the callback path `{path}`: `{first}` and `{second}`; give one of them another path"
            ),
            Self::MissingSecret { handler, path } => write!(
                f,
                "the handler `{handler}` serves `{path}`, whose `{{secret}}` segment has no value: \
                 give the table one with `.path_secret(…)`, from configuration, never from the source code"
            ),
            Self::InvalidSecret { reason } => write!(f, "invalid path secret: {reason}"),
            Self::InvalidSetting { setting, allowed } => write!(f, "`{setting}` is out of range: {allowed}"),
            Self::MissingState { handler, path, state } => write!(
                f,
                "the handler `{handler}` (at `{path}`) takes `State<{state}>`, but the route table has no `{state}`: \
                 add `.with_state(value)` with a `{state}` to the table"
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
        let table = Table { routes: routes.into_iter().collect(), ..Table::default() };
        Self { table: Arc::new(table) }
    }

    /// Adds `route`, refusing a path already served.
    pub fn route(self, route: Route) -> Result<Self, RouteError> {
        if let Some(existing) = self.table.find(route.path) {
            return Err(RouteError::DuplicatePath {
                path: route.path,
                first: existing.handler_name,
                second: route.handler_name,
            });
        }
        Ok(self.change(|table| table.routes.push(route)))
    }

    /// Adds every route of `other`, refusing a path both serve. States of
    /// `other` whose types this table lacks are added too; this table's
    /// settings, guards and inbox are kept.
    ///
    /// ```
    /// use pesakit::Routes;
    /// let merged = Routes::new().merge(Routes::new())?;
    /// assert!(merged.is_empty());
    /// # Ok::<(), pesakit::RouteError>(())
    /// ```
    pub fn merge(self, other: Routes) -> Result<Self, RouteError> {
        let merged = other.table.routes.iter().cloned().try_fold(self, Routes::route)?;
        Ok(merged.change(|table| table.states.extend_missing(&other.table.states)))
    }

    /// Makes `state` available to handlers as [`State<T>`](crate::State).
    /// One state per type; a second of the same type replaces the first.
    pub fn with_state<T: Clone + Send + Sync + 'static>(self, state: T) -> Self {
        self.change(|table| table.states.insert(state))
    }

    /// Adds a [`Guard`] that every request to the table's paths must pass
    /// before its body is read; guards run in the order they were added.
    pub fn guard(self, guard: impl Guard) -> Self {
        self.change(|table| table.guards.push(Arc::new(guard)))
    }

    /// Stores every callback in `inbox` before it is acknowledged: a
    /// notification is answered 200 once it is durably stored, and its
    /// handler runs from the inbox, retried until done; duplicates are
    /// answered without running it again (see [`inbox`](crate::inbox)).
    ///
    /// ```
    /// use pesakit::inbox::MemoryStore;
    /// use pesakit::{Inbox, Routes};
    ///
    /// let routes = Routes::new().with_inbox(Inbox::with_store(MemoryStore::new()));
    /// ```
    pub fn with_inbox(self, inbox: Inbox) -> Self {
        self.change(|table| table.inbox = Some(inbox))
    }

    /// Starts the inbox's background work (callbacks a crash left pending,
    /// retries, pruning) on the current Tokio runtime, if the table has an
    /// inbox. The bundled server does this when it starts; otherwise it
    /// starts with the first request.
    pub fn start_inbox(&self) {
        if let Some(inbox) = &self.table.inbox {
            inbox.start_background(Arc::downgrade(&self.table) as Weak<dyn Handlers>);
        }
    }

    /// The value of the `{secret}` segment of the table's paths: 16 to 128
    /// URL-safe characters, from configuration (an environment variable, a
    /// secret store), never from the source code.
    ///
    /// A request whose secret segment is wrong or missing is answered 404,
    /// as for a path that does not exist. The comparison takes constant
    /// time, and the secret is shown as `{secret}` in every log line, span,
    /// error body and stored callback.
    ///
    /// ```
    /// use pesakit::Routes;
    ///
    /// let secret = "8b1f6f2e-59d2-4c55-9c1b-3d1e2a7f0c44"; // from configuration in a real service
    /// let routes = Routes::new().path_secret(secret)?;
    /// assert!(!format!("{routes:?}").contains(secret));
    /// assert!(Routes::new().path_secret("short").is_err());
    /// # Ok::<(), pesakit::RouteError>(())
    /// ```
    pub fn path_secret(self, secret: &str) -> Result<Self, RouteError> {
        let secret = PathSecret::new(secret).map_err(|reason| RouteError::InvalidSecret { reason })?;
        Ok(self.change(|table| table.secret = Some(secret)))
    }

    /// Caps the request body size (default [`DEFAULT_BODY_LIMIT`]); larger
    /// bodies are answered 413.
    pub fn body_limit(self, bytes: usize) -> Self {
        self.change(|table| table.settings.body_limit = bytes)
    }

    /// How long a C2B validation handler may take (default
    /// [`DEFAULT_VALIDATION_DEADLINE`]); keep it well under Daraja's 8 s.
    pub fn validation_deadline(self, deadline: Duration) -> Self {
        self.change(|table| table.settings.validation_deadline = deadline)
    }

    /// The verdict sent when a validation handler misses its deadline
    /// (default: reject with `C2B00016`, so no money moves that the handler
    /// did not vouch for). The late verdict is logged, never sent.
    pub fn validation_fallback(self, verdict: Validation) -> Self {
        self.change(|table| table.settings.validation_fallback = verdict)
    }

    /// How long a validation handler may run on past its deadline, its
    /// verdict no longer sent, before it is cancelled (default 30 s, at most
    /// 10 minutes; zero cancels it at the deadline).
    ///
    /// An async handler is dropped at its next `.await`; a sync handler
    /// cannot be stopped, so it is abandoned to finish on its thread, which
    /// stays counted against the bound on sync handlers running at once.
    /// Each cancellation is logged once, at warn.
    pub fn late_validation_grace(self, grace: Duration) -> Self {
        self.change(|table| table.settings.late_validations.grace = grace)
    }

    /// How many validation handlers may run past their deadline at once
    /// (default 1,024). One that misses its deadline with this many already
    /// running on is cancelled at once, so handlers that never return
    /// cannot pile up.
    pub fn max_late_validations(self, handlers: usize) -> Self {
        self.change(|table| table.settings.late_validations.max_alive = handlers)
    }

    /// How many validation handlers are running past their deadline now:
    /// a number to watch, as it grows when handlers hang.
    ///
    /// ```
    /// assert_eq!(pesakit::Routes::new().late_validations(), 0);
    /// ```
    pub fn late_validations(&self) -> usize {
        self.table.settings.late_validations.alive()
    }

    /// The reject code answered to a validation request whose body cannot
    /// be parsed (default `C2B00016`).
    pub fn invalid_validation_reply(self, code: RejectCode) -> Self {
        self.change(|table| table.settings.invalid_validation_reply = code)
    }

    /// Checks that the table gives every handler what it takes: each
    /// `State<T>` a handler's arguments need was added with
    /// [`with_state`](Self::with_state), a path with a `{secret}` segment
    /// has a [secret](Self::path_secret), and the body limit and validation
    /// deadline are in range.
    ///
    /// The bundled server, the framework adapters and
    /// [`testing`](crate::testing) run this before the first request; call
    /// it yourself where you hand the table to a host as a
    /// `tower::Service`.
    ///
    /// ```
    /// use pesakit::{Routes, RouteError};
    /// assert_eq!(Routes::new().check(), Ok(()));
    /// ```
    pub fn check(&self) -> Result<(), RouteError> {
        let table = &*self.table;
        table.settings.check()?;
        for route in &table.routes {
            if table.secret.is_none() && route.has_secret {
                return Err(RouteError::MissingSecret { handler: route.handler_name, path: route.path });
            }
            if let Some(missing) = route.required_states().iter().find(|state| !table.states.contains(**state)) {
                return Err(RouteError::MissingState {
                    handler: route.handler_name,
                    path: route.path,
                    state: missing.type_name(),
                });
            }
        }
        Ok(())
    }

    /// The URL to register with Daraja for `route` at `origin` (such as
    /// `https://pay.example.co.ke`), with the path secret filled in. Logs
    /// and error bodies never show the secret: print this only where you
    /// ask for it, when you register the URL.
    ///
    /// ```
    /// use pesakit::{Reply, Route, Routes, kind};
    ///
    /// # let paid = Route::from_handler::<kind::StkCallback, _>(
    /// #     "/payments/{secret}/stk", "paid", Vec::new(), |_, _| Box::pin(async { Ok(Reply::Ack) }));
    /// // `paid` serves "/payments/{secret}/stk".
    /// let routes = Routes::new().route(paid)?.path_secret("Zq8-xW2_vR5.tY7~uI9oP1")?;
    /// for route in &routes {
    ///     assert_eq!(
    ///         routes.registration_url(route, "https://pay.example.co.ke"),
    ///         "https://pay.example.co.ke/payments/Zq8-xW2_vR5.tY7~uI9oP1/stk",
    ///     );
    /// }
    /// # Ok::<(), pesakit::RouteError>(())
    /// ```
    pub fn registration_url(&self, route: &Route, origin: &str) -> String {
        let path = match (&self.table.secret, route.has_secret) {
            (Some(secret), true) => secret.fill(route.path),
            _ => route.path.to_owned(),
        };
        format!("{}{path}", origin.trim_end_matches('/'))
    }

    /// Whether every guard admits a connection from `peer` (see
    /// [`Guard::admits_connection`]).
    #[cfg(feature = "runtime")]
    pub(crate) fn admits_connection(&self, peer: std::net::IpAddr) -> bool {
        self.table.guards.iter().all(|guard| guard.admits_connection(peer))
    }

    /// What each of the table's guards does, in order, for a start-up log.
    pub fn guard_descriptions(&self) -> impl Iterator<Item = String> + '_ {
        self.table.guards.iter().map(|guard| guard.describe())
    }

    /// The routes, in the order they were added.
    pub fn iter(&self) -> std::slice::Iter<'_, Route> {
        self.table.routes.iter()
    }

    /// How many routes there are.
    pub fn len(&self) -> usize {
        self.table.routes.len()
    }

    /// Whether the table has no routes.
    pub fn is_empty(&self) -> bool {
        self.table.routes.is_empty()
    }

    /// The table's inbox, if it has one.
    pub(crate) fn inbox(&self) -> Option<&Inbox> {
        self.table.inbox.as_ref()
    }

    /// The table with `edit` made, while it is being built. Editing may
    /// move the table (a clone when it is shared, and a new allocation for
    /// the weak handle an inbox's worker holds): the worker is pointed at
    /// the table as it is now, so that it never stops for a rebuilt one.
    fn change(mut self, edit: impl FnOnce(&mut Table)) -> Self {
        edit(Arc::make_mut(&mut self.table));
        if let Some(inbox) = &self.table.inbox {
            inbox.handlers_moved(Arc::downgrade(&self.table) as Weak<dyn Handlers>);
        }
        self
    }
}

impl Table {
    /// The route whose path, as written in its attribute, is `path`.
    fn find(&self, path: &str) -> Option<&Route> {
        self.routes.iter().find(|route| route.path == path)
    }

    /// The route serving a request to `path`: its secret segment, if it has
    /// one, must hold the table's secret.
    fn route_for(&self, path: &str) -> Option<&Route> {
        match &self.secret {
            Some(secret) => self.routes.iter().find(|route| secret.matches(route.path, path)),
            None => self.find(path).filter(|route| !route.has_secret),
        }
    }

    /// `path` as it may be logged: the secret shown as `{secret}`.
    fn redact<'a>(&self, path: &'a str) -> std::borrow::Cow<'a, str> {
        self.secret.as_ref().map_or(std::borrow::Cow::Borrowed(path), |secret| secret.redact(path))
    }
}

impl<'a> IntoIterator for &'a Routes {
    type Item = &'a Route;
    type IntoIter = std::slice::Iter<'a, Route>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

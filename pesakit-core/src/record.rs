//! The record stage: where a store keeps every callback before its handler
//! runs, and stops duplicates.
//!
//! A [`Recorder`] added with [`Routes::record_with`](crate::Routes::record_with)
//! receives each callback that parsed, with its [`DarajaIds`], raw bytes,
//! headers, peer and time received, and answers:
//!
//! | [`Recorded`] | what the pipeline does |
//! | --- | --- |
//! | `New(id)` | runs the handler, answers, then [settles](Recorder::settle) `id` with the outcome |
//! | `Conflicting { id, number }` | the same as `New`: a body that differs from every one stored under the same id, stored as delivery `number` (see [`Delivery`](crate::Delivery)) |
//! | `Duplicate { verdict: Some(v), .. }` on C2B validation | answers `v`, the verdict already given; the handler does not run |
//! | `Duplicate { verdict: None, .. }` on C2B validation | runs the handler for a verdict (none was recorded) and settles it |
//! | `Duplicate { .. }` on any other kind | answers the kind's acknowledgement; the handler does not run |
//! | `Unavailable(error)` | answers 500 and logs at error: never 503, never 200 for what was not stored |
//!
//! Without a recorder the stage costs nothing and every callback is new.

use std::error::Error;
use std::fmt;
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::time::SystemTime;

use bytes::Bytes;
use http::HeaderMap;

use crate::extract::PeerAddr;
use crate::handler::HandlerError;
use crate::kind::CallbackKind;
use crate::payload::{DarajaIds, PayloadError};
use crate::response::Validation;

/// The boxed future a [`Recorder`] returns.
pub type RecordFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A store of callbacks: records each one before it is handled, and the
/// outcome after.
///
/// ```
/// use std::collections::HashMap;
/// use std::sync::Mutex;
/// use pesakit::record::{IncomingCallback, RecordFuture, RecordId, Recorded, Recorder, RecordError, Settlement};
///
/// /// Remembers what it saw, in memory: for tests only, nothing survives a restart.
/// #[derive(Default)]
/// struct Remembered(Mutex<HashMap<(String, String), RecordId>>);
///
/// impl Recorder for Remembered {
///     fn record<'a>(&'a self, callback: IncomingCallback<'a>) -> RecordFuture<'a, Recorded> {
///         let key = (callback.arrival().kind().to_string(), callback.ids().dedupe_key().to_owned());
///         let mut seen = self.0.lock().unwrap();
///         let next = RecordId(seen.len() as u64 + 1);
///         let recorded = match seen.get(&key) {
///             Some(&id) => Recorded::Duplicate { id, verdict: None },
///             None => Recorded::New(*seen.entry(key).or_insert(next)),
///         };
///         Box::pin(async move { recorded })
///     }
///
///     fn settle<'a>(&'a self, _id: RecordId, _outcome: &'a Settlement) -> RecordFuture<'a, Result<(), RecordError>> {
///         Box::pin(async { Ok(()) })
///     }
/// }
///
/// let routes = pesakit::Routes::new().record_with(Remembered::default());
/// ```
pub trait Recorder: Send + Sync + 'static {
    /// Stores `callback` durably, or finds that it was stored before.
    fn record<'a>(&'a self, callback: IncomingCallback<'a>) -> RecordFuture<'a, Recorded>;

    /// Stores the outcome of the handler of the callback recorded as `id`.
    /// A failure is logged at error; the answer already given stands.
    fn settle<'a>(&'a self, id: RecordId, outcome: &'a Settlement) -> RecordFuture<'a, Result<(), RecordError>>;

    /// Stores a body that did not parse on a notification route, before it
    /// is answered 400, so that a parser too strict for a real callback
    /// never loses it. A failure is answered 500. By default nothing is
    /// stored.
    fn quarantine<'a>(&'a self, callback: UnparsedCallback<'a>) -> RecordFuture<'a, Result<(), RecordError>> {
        let _ = callback;
        Box::pin(async { Ok(()) })
    }
}

/// A callback that parsed, as the record stage sees it.
#[derive(Debug, Clone, Copy)]
pub struct IncomingCallback<'a> {
    pub(crate) arrival: Arrival<'a>,
    pub(crate) ids: DarajaIds<'a>,
    pub(crate) outcome_unknown: Option<&'static str>,
}

impl<'a> IncomingCallback<'a> {
    /// Where and when it arrived, and what came with it.
    pub fn arrival(&self) -> &Arrival<'a> {
        &self.arrival
    }

    /// Its dedupe key and secondary ids.
    pub fn ids(&self) -> DarajaIds<'a> {
        self.ids
    }

    /// Why the outcome it reports is not final, when it is not (see
    /// [`Payload::outcome_unknown`](crate::Payload::outcome_unknown)).
    pub fn outcome_unknown(&self) -> Option<&'static str> {
        self.outcome_unknown
    }
}

/// A body that did not parse on a notification route, as
/// [`Recorder::quarantine`] sees it.
#[derive(Debug, Clone, Copy)]
pub struct UnparsedCallback<'a> {
    pub(crate) arrival: Arrival<'a>,
    pub(crate) error: &'a PayloadError,
}

impl<'a> UnparsedCallback<'a> {
    /// Where and when it arrived, and what came with it.
    pub fn arrival(&self) -> &Arrival<'a> {
        &self.arrival
    }

    /// Why it did not parse.
    pub fn error(&self) -> &'a PayloadError {
        self.error
    }
}

/// A request to a callback route, as a store keeps it: where it was
/// posted, when, by whom, and what it carried.
#[derive(Debug, Clone, Copy)]
pub struct Arrival<'a> {
    pub(crate) kind: CallbackKind,
    pub(crate) route_path: &'static str,
    pub(crate) body: &'a Bytes,
    pub(crate) headers: &'a HeaderMap,
    pub(crate) peer: Option<PeerAddr>,
    pub(crate) client: Option<IpAddr>,
    pub(crate) received_at: SystemTime,
}

impl<'a> Arrival<'a> {
    /// The kind of the route it was posted to.
    pub fn kind(&self) -> CallbackKind {
        self.kind
    }

    /// The path of the route it was posted to.
    pub fn route_path(&self) -> &'static str {
        self.route_path
    }

    /// The body exactly as received.
    pub fn body(&self) -> &'a Bytes {
        self.body
    }

    /// The request headers, as sent: a store keeps the few that matter
    /// (content type, forwarding headers), never all of them.
    pub fn headers(&self) -> &'a HeaderMap {
        self.headers
    }

    /// The connection's peer, when the host knows it.
    pub fn peer(&self) -> Option<PeerAddr> {
        self.peer
    }

    /// The client's address, as the table's guards resolved it behind
    /// trusted proxies (the peer's otherwise).
    pub fn client(&self) -> Option<IpAddr> {
        self.client
    }

    /// When the request arrived, before its body was read.
    pub fn received_at(&self) -> SystemTime {
        self.received_at
    }
}

/// A recorder's own id for a stored callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RecordId(pub u64);

impl fmt::Display for RecordId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// What the record stage found.
#[derive(Debug)]
pub enum Recorded {
    /// Stored for the first time as `id`.
    New(RecordId),
    /// Stored as `id`, delivery `number` (2 or more) of a callback whose
    /// earlier deliveries each had another body: its handler runs, and the
    /// callback needs reconciling.
    Conflicting {
        /// The new delivery's record.
        id: RecordId,
        /// Which delivery it is: 2 for the first conflicting one.
        number: u32,
    },
    /// Stored before as `id`.
    Duplicate {
        /// The earlier record.
        id: RecordId,
        /// For C2B validation, the verdict given then, if one was recorded.
        verdict: Option<Validation>,
    },
    /// The store could not take it (disk full, database unreachable, locked
    /// past its bound).
    Unavailable(Box<dyn Error + Send + Sync>),
}

/// How a handled callback ended, for [`Recorder::settle`].
#[derive(Debug)]
#[non_exhaustive]
pub enum Settlement {
    /// A notification's handler returned `Ok`.
    Handled,
    /// A validation handler gave this verdict, which was sent.
    Answered(Validation),
    /// A validation handler missed its deadline and this fallback verdict
    /// was sent instead: the payment needs reconciling.
    FellBack(Validation),
    /// The handler returned an error or panicked; Daraja was answered 500.
    Failed(HandlerError),
}

/// Why a recorder could not store an outcome or an unparsed body.
#[derive(Debug)]
pub struct RecordError(pub Box<dyn Error + Send + Sync>);

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the recorder could not store it: {}", self.0)
    }
}

impl Error for RecordError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(&*self.0)
    }
}

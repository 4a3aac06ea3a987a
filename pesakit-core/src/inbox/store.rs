//! What an inbox store keeps, and the trait every store implements.

use std::fmt;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;

use crate::kind::CallbackKind;
use crate::record::{RecordId, Recorded};
use crate::response::{RejectCode, Validation};

/// The boxed future an [`InboxStore`] returns.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// A durable store of callbacks. The SQLite store is the embedded default;
/// every store passes the same conformance tests.
///
/// A store commits each write before its future completes: a callback whose
/// `record` returned is in the store after a crash or a power cut.
pub trait InboxStore: Send + Sync + 'static {
    /// Stores a callback that parsed, or finds the one stored before under
    /// the same kind and dedupe key with the same body (the same
    /// [`BodyDigest`](super::BodyDigest)): counts the repeat and
    /// returns [`Recorded::Duplicate`] with the verdict recorded for it. A
    /// new callback is stored pending, claimed for `lease_until`: its
    /// handler runs at once. A final callback clears the reconciliation
    /// mark of every first delivery sharing one of its ids; one whose
    /// outcome is unknown is marked, unless a final callback sharing an id
    /// is already stored.
    ///
    /// A body under a kind and dedupe key already stored, with another
    /// digest, is a conflicting delivery: stored like a new callback as
    /// delivery 2, 3, … ([`Recorded::Conflicting`]), marked for
    /// reconciliation with the reason `conflicting deliveries: {earlier
    /// summary} then {its summary}`, the mark of the deliveries before it
    /// cleared (the callback has one mark, on its latest delivery), and
    /// never cleared by a final callback of another kind.
    fn record(&self, callback: NewCallback) -> StoreFuture<'_, Recorded>;

    /// Stores a body that did not parse, as quarantined, and drops the
    /// oldest quarantined callbacks past the store's bounds.
    fn quarantine(&self, callback: QuarantinedCallback) -> StoreFuture<'_, RecordId>;

    /// Stores how the handler of callback `id` ended.
    fn settle(&self, id: RecordId, outcome: Outcome) -> StoreFuture<'_, ()>;

    /// Claims up to `limit` pending or failed callbacks due at `now`, until
    /// `lease_until`, for their handlers to run, counting the attempt each
    /// is about to make; returned in id order, attempts counted.
    fn claim_due(&self, now: SystemTime, lease_until: SystemTime, limit: usize)
    -> StoreFuture<'_, Vec<StoredCallback>>;

    /// The callback stored as `id`.
    fn get(&self, id: RecordId) -> StoreFuture<'_, Option<StoredCallback>>;

    /// Callbacks matching `filter`, newest first.
    fn list(&self, filter: ListFilter) -> StoreFuture<'_, Vec<StoredCallback>>;

    /// Callbacks carrying `daraja_id` as dedupe key or secondary id, newest
    /// first.
    fn find(&self, daraja_id: String) -> StoreFuture<'_, Vec<StoredCallback>>;

    /// Deletes callbacks that are done, need no reconciling and were settled
    /// before `before`; returns how many.
    fn prune(&self, before: SystemTime) -> StoreFuture<'_, u64>;

    /// Puts a dead, failed or quarantined callback back to pending, due at
    /// `now` (after a fix, or an upgrade for a body that did not parse);
    /// `false` when `id` is not stored or is in none of those states. Its
    /// attempts are kept: the next one is numbered after them, and if it
    /// fails the callback is parked as dead again.
    fn retry(&self, id: RecordId, now: SystemTime) -> StoreFuture<'_, bool>;

    /// Counters since the store was opened.
    fn stats(&self) -> InboxStats {
        InboxStats::default()
    }
}

/// A shared store is a store: several inboxes, or a wrapper that adds
/// metrics, can hold one.
///
/// ```
/// use std::sync::Arc;
/// use pesakit::inbox::{InboxStore, SqliteStore};
///
/// # let dir = std::env::temp_dir().join(format!("pesakit-doc-arc-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir).unwrap();
/// let store: Arc<dyn InboxStore> = Arc::new(SqliteStore::open(dir.join("inbox.db"))?);
/// let inbox = pesakit::Inbox::with_store(Arc::clone(&store));
/// # std::fs::remove_dir_all(&dir).ok();
/// # Ok::<(), pesakit::inbox::StoreError>(())
/// ```
impl<S: InboxStore + ?Sized> InboxStore for std::sync::Arc<S> {
    fn record(&self, callback: NewCallback) -> StoreFuture<'_, Recorded> {
        (**self).record(callback)
    }

    fn quarantine(&self, callback: QuarantinedCallback) -> StoreFuture<'_, RecordId> {
        (**self).quarantine(callback)
    }

    fn settle(&self, id: RecordId, outcome: Outcome) -> StoreFuture<'_, ()> {
        (**self).settle(id, outcome)
    }

    fn claim_due(
        &self,
        now: SystemTime,
        lease_until: SystemTime,
        limit: usize,
    ) -> StoreFuture<'_, Vec<StoredCallback>> {
        (**self).claim_due(now, lease_until, limit)
    }

    fn get(&self, id: RecordId) -> StoreFuture<'_, Option<StoredCallback>> {
        (**self).get(id)
    }

    fn list(&self, filter: ListFilter) -> StoreFuture<'_, Vec<StoredCallback>> {
        (**self).list(filter)
    }

    fn find(&self, daraja_id: String) -> StoreFuture<'_, Vec<StoredCallback>> {
        (**self).find(daraja_id)
    }

    fn prune(&self, before: SystemTime) -> StoreFuture<'_, u64> {
        (**self).prune(before)
    }

    fn retry(&self, id: RecordId, now: SystemTime) -> StoreFuture<'_, bool> {
        (**self).retry(id, now)
    }

    fn stats(&self) -> InboxStats {
        (**self).stats()
    }
}

/// The bounds on quarantined bodies, which strangers can post: past either,
/// a store deletes the oldest quarantined bodies, with an error log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct QuarantineBounds {
    pub(super) rows: u64,
    pub(super) bytes: u64,
}

impl QuarantineBounds {
    /// At most `rows` bodies (at least one is always kept) and `bytes`.
    pub(super) fn new(rows: u64, bytes: u64) -> Self {
        Self { rows: rows.max(1), bytes }
    }
}

impl Default for QuarantineBounds {
    /// 10,000 bodies, 64 MiB.
    fn default() -> Self {
        Self::new(10_000, 64 * 1024 * 1024)
    }
}

/// Why a validation answered by the fallback verdict needs reconciling.
pub(super) const FELL_BACK_REASON: &str =
    "the validation was answered by the fallback verdict after the handler missed its deadline";

/// The inbox id of a row id as databases store it.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(super) fn record_id(id: i64) -> RecordId {
    RecordId(u64::try_from(id).unwrap_or(0))
}

/// The row id of an inbox id.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(super) fn row_id(id: RecordId) -> i64 {
    i64::try_from(id.0).unwrap_or(i64::MAX)
}

/// What a store keeps of any request to a callback route: where it was
/// posted, when, by whom, and what it carried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arrived {
    /// The kind of the route it was posted to.
    pub kind: CallbackKind,
    /// The route's path, so that a retry finds its handler.
    pub route_path: String,
    /// The body exactly as received.
    pub body: Bytes,
    /// `Content-Type`, as sent.
    pub content_type: Option<String>,
    /// `Forwarded` and `X-Forwarded-For`, as sent, one `name: value` per line.
    pub forwarded: Option<String>,
    /// The connection's peer, when the host knew it.
    pub peer: Option<SocketAddr>,
    /// The client behind the peer, as the table's guards resolved it.
    pub client: Option<IpAddr>,
    /// When the request arrived.
    pub received_at: SystemTime,
}

/// A callback that parsed, for [`InboxStore::record`].
#[derive(Debug, Clone)]
pub struct NewCallback {
    /// The request it came in.
    pub arrived: Arrived,
    /// The id unique per kind across repeated deliveries.
    pub dedupe_key: String,
    /// Other ids it carries, as `(name, value)`.
    pub secondary_ids: Vec<(String, String)>,
    /// Why its outcome is not final, when it is not.
    pub outcome_unknown: Option<String>,
    /// Until when the first run of its handler holds it.
    pub lease_until: SystemTime,
}

impl NewCallback {
    /// A callback that arrived as `arrived`, carrying `dedupe_key` and
    /// `secondary_ids`.
    ///
    /// ```
    /// use std::time::SystemTime;
    /// use pesakit::CallbackKind;
    /// use pesakit::inbox::{Arrived, NewCallback};
    ///
    /// let body = br#"{"Body":{"stkCallback":{"ResultCode":1037}}}"#;
    /// let arrived = Arrived {
    ///     kind: CallbackKind::StkCallback,
    ///     route_path: "/callbacks/stk".to_owned(),
    ///     body: bytes::Bytes::from_static(body),
    ///     content_type: None,
    ///     forwarded: None,
    ///     peer: None,
    ///     client: None,
    ///     received_at: SystemTime::now(),
    /// };
    /// let callback = NewCallback::new(arrived, "ws_CO_1".to_owned(), Vec::new(), None, SystemTime::now());
    /// assert_eq!(callback.dedupe_key, "ws_CO_1");
    /// assert!(callback.outcome_unknown.is_none());
    /// ```
    pub fn new(
        arrived: Arrived,
        dedupe_key: String,
        secondary_ids: Vec<(String, String)>,
        outcome_unknown: Option<String>,
        lease_until: SystemTime,
    ) -> Self {
        Self { arrived, dedupe_key, secondary_ids, outcome_unknown, lease_until }
    }
}

/// A body that did not parse, for [`InboxStore::quarantine`].
#[derive(Debug, Clone)]
pub struct QuarantinedCallback {
    /// The request it came in.
    pub arrived: Arrived,
    /// Why it did not parse.
    pub parse_error: String,
}

/// How a handler ended, for [`InboxStore::settle`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The handler succeeded.
    Done,
    /// A validation verdict was sent; `fell_back` when the handler missed
    /// its deadline and the fallback was sent instead (which needs
    /// reconciling).
    Verdict {
        /// The verdict sent.
        verdict: StoredVerdict,
        /// Whether it was the fallback verdict.
        fell_back: bool,
    },
    /// The handler failed; it runs again at `retry_at`, or never (dead).
    Failed {
        /// The error, with its causes.
        error: String,
        /// When to run it again, if ever.
        retry_at: Option<SystemTime>,
    },
}

/// A validation verdict as stored: the `ResultCode` sent and, for an
/// accepted payment tagged with one, the `ThirdPartyTransID`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredVerdict {
    /// `"0"` to accept, else the reject code.
    pub code: String,
    /// The `ThirdPartyTransID` sent with an accept.
    pub tag: Option<String>,
}

impl StoredVerdict {
    /// The verdict as stored.
    ///
    /// ```
    /// use pesakit::inbox::StoredVerdict;
    /// use pesakit::{RejectCode, Validation};
    ///
    /// let stored = StoredVerdict::from_validation(&Validation::Reject(RejectCode::InvalidAmount));
    /// assert_eq!(stored.code, "C2B00013");
    /// assert_eq!(stored.to_validation(), Some(Validation::Reject(RejectCode::InvalidAmount)));
    /// ```
    pub fn from_validation(verdict: &Validation) -> Self {
        match verdict {
            Validation::Accept => Self { code: "0".to_owned(), tag: None },
            Validation::AcceptTagged(tag) => Self { code: "0".to_owned(), tag: Some(tag.as_str().to_owned()) },
            Validation::Reject(code) => Self { code: code.as_str().to_owned(), tag: None },
        }
    }

    /// The verdict to send again, or `None` if what is stored is not a
    /// verdict pesakit could have sent.
    pub fn to_validation(&self) -> Option<Validation> {
        match (self.code.as_str(), &self.tag) {
            ("0", None) => Some(Validation::Accept),
            ("0", Some(tag)) => Validation::accept_tagged(tag).ok(),
            (code, None) => RejectCode::from_code(code).ok().map(Validation::Reject),
            (_, Some(_)) => None,
        }
    }
}

/// Where a stored callback stands.
///
/// ```
/// use pesakit::inbox::CallbackState;
///
/// assert_eq!(CallbackState::from_name("dead"), Some(CallbackState::Dead));
/// assert_eq!(CallbackState::Quarantined.to_string(), "quarantined");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CallbackState {
    /// Stored; its handler is running or about to.
    Pending,
    /// Handled.
    Done,
    /// Its handler failed; it runs again when due.
    Failed,
    /// Its handler failed on every attempt: for a person to look at.
    Dead,
    /// Its body did not parse: kept, never handled, until re-processed.
    Quarantined,
}

impl CallbackState {
    /// Every state.
    pub const ALL: [Self; 5] = [Self::Pending, Self::Done, Self::Failed, Self::Dead, Self::Quarantined];

    /// The state's name, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Done => "done",
            Self::Failed => "failed",
            Self::Dead => "dead",
            Self::Quarantined => "quarantined",
        }
    }

    /// The state named `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|state| state.as_str() == name)
    }
}

impl fmt::Display for CallbackState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A callback as the inbox keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct StoredCallback {
    /// The inbox's id.
    pub id: RecordId,
    /// The request it came in (for a body that arrived several times, the
    /// first).
    pub arrived: Arrived,
    /// The dedupe key; `None` for a quarantined body.
    pub dedupe_key: Option<String>,
    /// Which delivery of the callback under its kind and dedupe key it is:
    /// 1 for the first body, 2, 3, … for each conflicting one after it
    /// (see [`Delivery`](crate::Delivery)).
    pub delivery: u32,
    /// Other ids it carries, as `(name, value)`.
    pub secondary_ids: Vec<(String, String)>,
    /// Where it stands.
    pub state: CallbackState,
    /// When a copy last arrived.
    pub last_seen_at: SystemTime,
    /// How many copies arrived, the first included.
    pub seen_count: u32,
    /// How many times its handler started, the run in progress included
    /// (a run its process died in counts).
    pub attempts: u32,
    /// When its handler runs next, for a pending or failed callback.
    pub next_attempt_at: Option<SystemTime>,
    /// The last handler error, or why the body did not parse.
    pub last_error: Option<String>,
    /// The verdict sent, for C2B validation.
    pub verdict: Option<StoredVerdict>,
    /// Why it needs reconciling, when it does.
    pub needs_reconciliation: Option<String>,
    /// When it was settled done.
    pub settled_at: Option<SystemTime>,
}

/// Which callbacks [`InboxStore::list`] returns.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use pesakit::CallbackKind;
/// use pesakit::inbox::{CallbackState, ListFilter};
///
/// // Dead STK callbacks of the last day, at most 20.
/// let filter = ListFilter {
///     kind: Some(CallbackKind::StkCallback),
///     state: Some(CallbackState::Dead),
///     since: SystemTime::now().checked_sub(Duration::from_secs(24 * 60 * 60)),
///     limit: Some(20),
///     ..ListFilter::default()
/// };
/// assert!(!filter.needs_reconciliation);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListFilter {
    /// Only this kind.
    pub kind: Option<CallbackKind>,
    /// Only this state.
    pub state: Option<CallbackState>,
    /// Only those received at or after this time.
    pub since: Option<SystemTime>,
    /// Only those received before this time.
    pub until: Option<SystemTime>,
    /// Only those that need reconciling.
    pub needs_reconciliation: bool,
    /// At most this many (all when `None`).
    pub limit: Option<usize>,
}

/// Why a store could not do what was asked: the database is unreachable,
/// the disk is full, a lock was held past its bound.
///
/// It says what the store was doing; the driver's own error, when there is
/// one, is its [`source`](std::error::Error::source). The alternate form
/// (`{:#}`) shows the whole chain, as the inbox's logs do.
///
/// ```
/// use std::error::Error;
/// use pesakit::inbox::StoreError;
///
/// let disk = std::io::Error::other("no space left on device");
/// let error = StoreError::caused_by("committing a batch of 3", disk);
/// assert_eq!(error.to_string(), "the inbox store failed: committing a batch of 3");
/// assert_eq!(error.source().map(|source| source.to_string()).as_deref(), Some("no space left on device"));
/// assert_eq!(format!("{error:#}"), "the inbox store failed: committing a batch of 3: no space left on device");
/// ```
#[derive(Debug, Clone)]
pub struct StoreError {
    context: String,
    source: Option<Arc<dyn std::error::Error + Send + Sync>>,
}

impl StoreError {
    /// An error with no cause below it: `context` says what went wrong.
    pub fn new(context: impl Into<String>) -> Self {
        Self { context: context.into(), source: None }
    }

    /// An error caused by `source` (the driver's error) while the store was
    /// doing `context`.
    pub fn caused_by(context: impl Into<String>, source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self { context: context.into(), source: Some(Arc::from(source.into())) }
    }

    /// What the store was doing, or what went wrong.
    pub fn context(&self) -> &str {
        &self.context
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the inbox store failed: {}", self.context)?;
        if f.alternate() {
            let mut cause = std::error::Error::source(self);
            while let Some(error) = cause {
                write!(f, ": {error}")?;
                cause = error.source();
            }
        }
        Ok(())
    }
}

impl std::error::Error for StoreError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_deref().map(|source| source as &(dyn std::error::Error + 'static))
    }
}

/// What a store has done since it was opened.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InboxStats {
    /// Transactions committed (each one durable write to the disk).
    pub commits: u64,
    /// Operations done in those transactions.
    pub operations: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_state_displays_as_the_name_it_is_found_by() {
        for state in CallbackState::ALL {
            assert_eq!(CallbackState::from_name(&state.to_string()), Some(state));
        }
        assert_eq!(CallbackState::Dead.to_string(), "dead");
    }
}

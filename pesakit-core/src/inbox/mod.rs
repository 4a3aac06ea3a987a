//! The durable inbox: every callback stored before it is acknowledged,
//! handled once, retried until done, and nothing acknowledged lost across a
//! crash.
//!
//! ```no_run
//! # #[cfg(feature = "sqlite")]
//! # async fn run(routes: pesakit::Routes) -> Result<(), Box<dyn std::error::Error>> {
//! let inbox = pesakit::Inbox::sqlite("pesakit-inbox.db")?; // created if missing
//! pesakit::serve("0.0.0.0:3000", routes.with_inbox(inbox)).await?;
//! # Ok(())
//! # }
//! ```
//!
//! With an inbox, each request walks the pipeline like this:
//!
//! - **Notifications** (every kind but C2B validation) are answered with
//!   their 200 body as soon as the raw body, kind, dedupe key, secondary
//!   ids, content type, forwarding headers, peer and time received are
//!   durably committed. The handler then runs at once, from the inbox; its
//!   outcome is settled there: done, or failed with the error, retried with
//!   exponential backoff and jitter, and parked as dead after
//!   [`max_attempts`](Inbox::max_attempts). Rows a crash left pending are
//!   taken up again when the server starts.
//! - **Duplicates** (the same kind, dedupe key and body, compared as JSON
//!   values by [`BodyDigest`]) are answered with the same success at once,
//!   counted, and never handled again.
//! - **Conflicting deliveries** (the same kind and dedupe key, another
//!   body) are stored as deliveries 2, 3, … of the callback before their
//!   200, handled with [`Delivery::number`] saying which, and marked for
//!   reconciliation with both outcomes named; see [`Delivery`] for what a
//!   handler should do with each order of outcomes.
//! - **C2B validation** is recorded too, and its handler runs inline, all
//!   under the validation deadline; a repeated validation gets the verdict
//!   already given.
//! - **Bodies that do not parse** on a notification route are stored as
//!   quarantined, with the parse error, before the 400 is sent.
//! - **Reconciliation**: queue timeouts, result codes not known to be final
//!   and validations answered by the fallback verdict are marked, with the
//!   reason; a later final callback carrying one of the same ids clears the
//!   mark.
//! - **Store unavailable**: 500, logged at error; never 503, never 200 for
//!   what was not stored.
//!
//! Handlers that want to be idempotent themselves take [`Delivery`]: the
//! inbox id, the attempt, when the delivery arrived and which delivery of
//! the callback it is.
//!
//! The stores: [`SqliteStore`] (embedded, the default), [`PostgresStore`]
//! (shared by several instances), [`MemoryStore`] (tests and examples), or
//! any [`InboxStore`], the one seam through which the pipeline stores
//! callbacks. Every store passes the same conformance suite.

mod delivery;
mod memory;
#[cfg(feature = "postgres")]
mod postgres;
mod retry;
#[cfg(feature = "sqlite")]
mod sqlite;
mod store;
pub(crate) mod worker;

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

pub use self::delivery::{BodyDigest, FieldChange, differing_fields, summary};
pub use self::memory::MemoryStore;
#[cfg(feature = "postgres")]
pub use self::postgres::{PostgresStore, PostgresStoreBuilder};
pub use self::retry::RetryPolicy;
#[cfg(feature = "sqlite")]
pub use self::sqlite::SqliteStore;
pub use self::store::{
    Arrived, CallbackState, InboxStats, InboxStore, ListFilter, NewCallback, Outcome, QuarantinedCallback, StoreError,
    StoreFuture, StoredCallback, StoredVerdict,
};
pub use crate::extract::Delivery;
pub use crate::record::{RecordId, Recorded};

/// Default number of handler attempts before a callback is parked as dead.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 8;

/// Default age after which callbacks handled successfully are pruned.
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(90 * 24 * 60 * 60);

/// A durable store of callbacks and the policy for handling them; give it to
/// a route table with [`Routes::with_inbox`](crate::Routes::with_inbox).
///
/// Cloning it is cheap and shares the store.
///
/// ```
/// use std::time::Duration;
/// use pesakit::{Inbox, Routes};
///
/// # let dir = std::env::temp_dir().join(format!("pesakit-doc-inbox-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir).unwrap();
/// let inbox = Inbox::sqlite(dir.join("inbox.db"))?
///     .max_attempts(5)
///     .retry_backoff(Duration::from_secs(2), Duration::from_secs(300))
///     .retention(Duration::from_secs(30 * 24 * 60 * 60));
/// let routes = Routes::new().with_inbox(inbox);
/// # std::fs::remove_dir_all(&dir).ok();
/// # Ok::<(), pesakit::inbox::StoreError>(())
/// ```
#[derive(Clone)]
pub struct Inbox {
    pub(crate) store: Arc<dyn InboxStore>,
    pub(crate) settings: InboxSettings,
    /// The background task (recovery, retries, pruning) and the table
    /// whose handlers it runs.
    pub(crate) worker: Arc<worker::WorkerSlot>,
}

#[derive(Debug, Clone)]
pub(crate) struct InboxSettings {
    pub(crate) retry: RetryPolicy,
    pub(crate) retention: Duration,
    pub(crate) poll_interval: Duration,
    pub(crate) lease: Duration,
}

impl fmt::Debug for Inbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Inbox").field("settings", &self.settings).finish_non_exhaustive()
    }
}

impl Inbox {
    /// The embedded default: a SQLite database at `path`, created if
    /// missing, in WAL mode with `synchronous=FULL`, written by one thread
    /// that commits concurrent callbacks together. Its write-ahead log
    /// (`<path>-wal`) is checkpointed every 20,000 pages, so it grows to
    /// about 80 MiB beside the database and is reused from then on.
    ///
    /// One server process per file: several instances need a shared store.
    #[cfg(feature = "sqlite")]
    pub fn sqlite(path: impl AsRef<std::path::Path>) -> Result<Self, StoreError> {
        SqliteStore::open(path).map(Self::with_store)
    }

    /// The shared store: PostgreSQL at `url`, in the schema `pesakit`
    /// (created if missing), for services that run more than one instance.
    /// Every instance points at the same database; see
    /// [`PostgresStore::builder`] for the schema, the pool and its waits.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), pesakit::inbox::StoreError> {
    /// let inbox = pesakit::Inbox::postgres("postgres://pesakit@db.internal/payments").await?;
    /// # Ok(())
    /// # }
    /// ```
    #[cfg(feature = "postgres")]
    pub async fn postgres(url: &str) -> Result<Self, StoreError> {
        PostgresStore::builder(url).connect().await.map(Self::with_store)
    }

    /// An inbox on any [`InboxStore`].
    pub fn with_store(store: impl InboxStore) -> Self {
        let settings = InboxSettings {
            retry: RetryPolicy::default(),
            retention: DEFAULT_RETENTION,
            poll_interval: Duration::from_secs(1),
            lease: Duration::from_secs(5 * 60),
        };
        Self { store: Arc::new(store), settings, worker: Arc::default() }
    }

    /// How many times a handler runs before its callback is parked as
    /// dead (default [`DEFAULT_MAX_ATTEMPTS`], at least 1).
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.settings.retry.max_attempts = attempts.max(1);
        self
    }

    /// The pause before the second attempt, doubling for each further one
    /// up to `max`, each with up to a quarter more at random so that
    /// retries spread out (defaults: 1 s, 10 min).
    pub fn retry_backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.settings.retry.initial_backoff = initial;
        self.settings.retry.max_backoff = max.max(initial);
        self
    }

    /// How long callbacks handled successfully are kept (default
    /// [`DEFAULT_RETENTION`], 90 days). Pending, failed, dead, quarantined
    /// and to-reconcile callbacks are never pruned automatically.
    pub fn retention(mut self, age: Duration) -> Self {
        self.settings.retention = age;
        self
    }

    /// How often the inbox looks for retries that are due (default 1 s,
    /// at least 10 ms).
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.settings.poll_interval = interval.max(Duration::from_millis(10));
        self
    }

    /// How long a handler may run before its callback is taken up again
    /// as if its process had died (default 5 minutes).
    pub fn lease(mut self, lease: Duration) -> Self {
        self.settings.lease = lease;
        self
    }

    /// The store, for listing and finding callbacks.
    pub fn store(&self) -> &dyn InboxStore {
        &*self.store
    }

    /// The callback stored as `id`.
    pub async fn get(&self, id: RecordId) -> Result<Option<StoredCallback>, StoreError> {
        self.store.get(id).await
    }

    /// Callbacks matching `filter`, newest first.
    pub async fn list(&self, filter: ListFilter) -> Result<Vec<StoredCallback>, StoreError> {
        self.store.list(filter).await
    }

    /// Every callback carrying `daraja_id` as its dedupe key or a secondary
    /// id: a checkout request id, a receipt or `TransID`, a conversation id.
    pub async fn find(&self, daraja_id: &str) -> Result<Vec<StoredCallback>, StoreError> {
        self.store.find(daraja_id.to_owned()).await
    }

    /// Callbacks that need reconciling, with the reason, newest first.
    pub async fn needs_reconciliation(&self) -> Result<Vec<StoredCallback>, StoreError> {
        self.store.list(ListFilter { needs_reconciliation: true, ..ListFilter::default() }).await
    }

    /// Puts a dead, failed or quarantined callback back to pending: a
    /// running server takes it up at its next look (see
    /// [`poll_interval`](Self::poll_interval)). `false` when `id` is not
    /// stored or is in none of those states.
    pub async fn retry(&self, id: RecordId) -> Result<bool, StoreError> {
        self.store.retry(id, SystemTime::now()).await
    }

    /// Deletes callbacks handled successfully before `before`; returns how
    /// many. The inbox does this itself for the [retention](Self::retention)
    /// period.
    pub async fn prune(&self, before: SystemTime) -> Result<u64, StoreError> {
        self.store.prune(before).await
    }
}

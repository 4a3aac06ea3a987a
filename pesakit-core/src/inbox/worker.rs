//! Running handlers from the inbox: the first attempt right after a
//! callback is stored, retries when they are due, and callbacks a crash
//! left pending, taken up when the server starts.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::{Duration, SystemTime};

use tokio::sync::Notify;
use tracing::instrument::WithSubscriber;
use tracing::{Instrument, Span};

use super::store::{CallbackState, ListFilter, Outcome, StoreError, StoredCallback};
use super::{Delivery, Inbox};
use crate::handler::{CatchUnwind, HandlerError, HandlerFuture, Reply};
use crate::record::RecordId;

/// Most due callbacks taken up in one look.
const CLAIM_BATCH: usize = 64;

/// How often done callbacks past the retention period are pruned.
const PRUNE_EVERY: Duration = Duration::from_secs(60 * 60);

/// What the inbox needs of a route table to run a stored callback's
/// handler again: the handler call, its arguments extracted, and the span
/// it runs in.
pub(crate) trait Handlers: Send + Sync + 'static {
    /// Parses `callback`'s body again and binds it to its route's handler;
    /// the error says why it cannot run (no such route any more, a body that
    /// no longer parses).
    fn bind_stored(&self, callback: &StoredCallback, delivery: Delivery) -> Result<(HandlerFuture, Span), String>;
}

/// Whether an inbox's background task runs, and the route table whose
/// handlers it runs: the latest table built with the inbox.
#[derive(Default)]
pub(crate) struct WorkerSlot {
    running: AtomicBool,
    handlers: Mutex<Option<Weak<dyn Handlers>>>,
    /// Handler attempts started and not yet settled in the store.
    attempts: AtomicUsize,
    /// Woken when the last attempt in flight is settled.
    idle: Notify,
}

/// One attempt in flight, counted until it is dropped (its outcome
/// stored, or its task gone).
struct InFlight(Arc<WorkerSlot>);

impl InFlight {
    fn start(slot: &Arc<WorkerSlot>) -> Self {
        slot.attempts.fetch_add(1, Ordering::AcqRel);
        Self(Arc::clone(slot))
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if self.0.attempts.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}

impl WorkerSlot {
    /// The table to run handlers from, or `None` when every table with the
    /// inbox has been dropped: the task then ends, and the next table to
    /// serve a request starts another.
    fn handlers(&self) -> Option<Arc<dyn Handlers>> {
        let handlers = self.handlers.lock().unwrap_or_else(PoisonError::into_inner);
        let table = handlers.as_ref().and_then(Weak::upgrade);
        if table.is_none() {
            self.running.store(false, Ordering::Release);
        }
        table
    }
}

impl Inbox {
    /// Starts the inbox's background task on the current Tokio runtime,
    /// unless it runs: it takes up callbacks left pending by a crash,
    /// retries failed handlers when due, and prunes old done callbacks,
    /// with the handlers of `handlers`. It ends when every route table with
    /// the inbox is dropped.
    pub(crate) fn start_background(&self, handlers: Weak<dyn Handlers>) {
        if self.worker.running.load(Ordering::Acquire) {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        *self.worker.handlers.lock().unwrap_or_else(PoisonError::into_inner) = Some(handlers);
        if !self.worker.running.swap(true, Ordering::AcqRel) {
            runtime.spawn(background(self.clone(), runtime.clone()));
        }
    }

    /// The route table holding the inbox was rebuilt: its handlers are now
    /// `handlers`, for the background task whether it runs yet or not.
    pub(crate) fn handlers_moved(&self, handlers: Weak<dyn Handlers>) {
        *self.worker.handlers.lock().unwrap_or_else(PoisonError::into_inner) = Some(handlers);
    }

    /// Runs attempt `attempt` of callback `id`'s handler on its own task of
    /// `runtime`, then settles its outcome.
    pub(crate) fn spawn_attempt(
        &self,
        runtime: &tokio::runtime::Handle,
        id: RecordId,
        attempt: u32,
        call: HandlerFuture,
        span: Span,
    ) {
        let (inbox, in_flight) = (self.clone(), InFlight::start(&self.worker));
        runtime.spawn(
            async move { inbox.attempt(id, attempt, call, in_flight).await }.instrument(span).with_current_subscriber(),
        );
    }

    /// Runs attempt `attempt` of callback `id`'s handler, then settles its
    /// outcome.
    pub(crate) async fn run_attempt(&self, id: RecordId, attempt: u32, call: HandlerFuture) {
        self.attempt(id, attempt, call, InFlight::start(&self.worker)).await;
    }

    async fn attempt(&self, id: RecordId, attempt: u32, call: HandlerFuture, in_flight: InFlight) {
        let outcome = CatchUnwind(call).await;
        self.settle_attempt(id, attempt, outcome).await;
        drop(in_flight);
    }

    /// Waits until no handler runs from this inbox and no stored callback
    /// is pending: what was posted has been handled and its outcome stored
    /// (done, or failed and waiting for its retry, or dead). For tests; see
    /// [`testing::settled`](crate::testing::settled).
    pub async fn settled(&self) -> Result<(), StoreError> {
        let pending = ListFilter { state: Some(CallbackState::Pending), limit: Some(1), ..ListFilter::default() };
        loop {
            let idle = self.worker.idle.notified();
            if self.worker.attempts.load(Ordering::Acquire) > 0 {
                idle.await;
            } else if self.store.list(pending.clone()).await?.is_empty() {
                return Ok(());
            } else {
                // Pending and not running yet: the worker takes it up at
                // its next look.
                tokio::time::sleep(self.settings.poll_interval.min(Duration::from_millis(10))).await;
            }
        }
    }

    async fn settle_attempt(&self, id: RecordId, attempt: u32, outcome: Result<Reply, HandlerError>) {
        let outcome = match outcome {
            Ok(_) => {
                tracing::debug!(record = %id, attempt, "callback handled");
                Outcome::Done
            }
            Err(error) => {
                let retry_at = self.settings.retry.next_attempt(attempt, SystemTime::now());
                let error = format!("{error:#}");
                match retry_at {
                    Some(_) => {
                        tracing::warn!(record = %id, attempt, %error, "callback handler failed; it will run again")
                    }
                    None => {
                        tracing::error!(record = %id, attempt, %error, "callback handler failed on its last attempt; parked as dead")
                    }
                }
                Outcome::Failed { error, retry_at }
            }
        };
        if let Err(error) = self.store.settle(id, outcome).await {
            // The callback stays claimed; it runs again once its lease ends.
            tracing::error!(record = %id, error = %format_args!("{error:#}"), "the handler's outcome could not be stored");
        }
    }

    /// When a handler run starting at `now` stops holding its callback.
    pub(crate) fn lease_until(&self, now: SystemTime) -> SystemTime {
        now.checked_add(self.settings.lease).unwrap_or(now)
    }
}

async fn background(inbox: Inbox, runtime: tokio::runtime::Handle) {
    let mut last_prune: Option<SystemTime> = None;
    loop {
        let Some(table) = inbox.worker.handlers() else {
            return;
        };
        let now = SystemTime::now();
        let claimed = inbox.store.claim_due(now, inbox.lease_until(now), CLAIM_BATCH).await;
        let more = match claimed {
            Ok(due) => {
                let more = due.len() == CLAIM_BATCH;
                for callback in due {
                    run_stored(&inbox, &*table, &runtime, &callback);
                }
                more
            }
            Err(error) => {
                tracing::error!(error = %format_args!("{error:#}"), "could not take up the inbox's due callbacks");
                false
            }
        };
        if last_prune.is_none_or(|at| now.duration_since(at).unwrap_or_default() >= PRUNE_EVERY) {
            last_prune = Some(now);
            let before = now.checked_sub(inbox.settings.retention).unwrap_or(SystemTime::UNIX_EPOCH);
            match inbox.store.prune(before).await {
                Ok(0) => {}
                Ok(pruned) => tracing::info!(pruned, "pruned callbacks handled before the retention period"),
                Err(error) => tracing::error!(error = %format_args!("{error:#}"), "could not prune the inbox"),
            }
        }
        drop(table);
        if !more {
            tokio::time::sleep(inbox.settings.poll_interval).await;
        }
    }
}

/// Starts the next attempt of a stored callback, or parks it as dead when
/// its handler can no longer run.
fn run_stored(inbox: &Inbox, handlers: &dyn Handlers, runtime: &tokio::runtime::Handle, callback: &StoredCallback) {
    // Claiming counted this attempt.
    let attempt = callback.attempts;
    let delivery =
        Delivery { id: callback.id, attempt, first_received: callback.arrived.received_at, number: callback.delivery };
    match handlers.bind_stored(callback, delivery) {
        Ok((call, span)) => inbox.spawn_attempt(runtime, callback.id, attempt, call, span),
        Err(reason) => {
            tracing::error!(record = %callback.id, %reason, "a stored callback cannot be handled; parked as dead");
            let store = Arc::clone(&inbox.store);
            let id = callback.id;
            runtime.spawn(async move {
                if let Err(error) = store.settle(id, Outcome::Failed { error: reason, retry_at: None }).await {
                    tracing::error!(record = %id, error = %format_args!("{error:#}"), "could not park the callback as dead");
                }
            });
        }
    }
}

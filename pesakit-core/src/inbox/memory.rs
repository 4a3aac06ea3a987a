//! The in-memory store: every rule of the durable stores, kept in the
//! process, for tests and examples.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::SystemTime;

use super::delivery::{BodyDigest, conflict_reason, summary};
use super::store::{
    CallbackState, FELL_BACK_REASON, InboxStats, InboxStore, ListFilter, NewCallback, Outcome, QuarantineBounds,
    QuarantinedCallback, StoreError, StoreFuture, StoredCallback,
};
use crate::kind::CallbackKind;
use crate::record::{RecordId, Recorded};

/// An [`InboxStore`] that keeps everything in memory: for tests and
/// examples, never for money, since nothing survives the process.
///
/// It follows every rule the durable stores follow and passes the same
/// conformance suite: duplicates, conflicting deliveries, reconciliation
/// marks, leases, retries, quarantine bounds. Clones share one store, as
/// two openings of one database file would.
///
/// ```
/// use pesakit::inbox::{InboxStore, ListFilter, MemoryStore};
/// use pesakit::testing::StkCallbackBuilder;
/// use pesakit::{Delivery, Inbox, StkCallback, daraja};
///
/// #[daraja::stk_callback("/callbacks/stk")]
/// async fn stk(_callback: StkCallback, _delivery: Delivery) {}
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let store = MemoryStore::new();
/// let routes = pesakit::routes![stk].with_inbox(Inbox::with_store(store.clone()));
/// let paid = StkCallbackBuilder::paid();
/// pesakit::testing::post(&routes, "/callbacks/stk", paid.build()).await;
/// pesakit::testing::settled(&routes).await?;
/// let stored = store.find(paid.checkout_id()).await?;
/// assert_eq!(stored[0].state, pesakit::inbox::CallbackState::Done);
/// # Ok::<(), pesakit::inbox::StoreError>(())
/// # }).unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct MemoryStore {
    memory: Arc<Mutex<Memory>>,
    quarantine: QuarantineBounds,
}

/// What the store holds.
#[derive(Debug, Default)]
struct Memory {
    last_id: u64,
    rows: BTreeMap<RecordId, Row>,
    /// The deliveries of each callback, by kind and dedupe key, oldest first.
    deliveries: HashMap<(CallbackKind, String), Vec<RecordId>>,
    /// The callbacks carrying each Daraja id, as dedupe key or secondary id.
    carrying: HashMap<String, BTreeSet<RecordId>>,
    operations: u64,
}

#[derive(Debug)]
struct Row {
    callback: StoredCallback,
    /// Whether its outcome is final: a final callback settles marks on the
    /// ids it shares.
    is_final: bool,
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self { memory: Arc::default(), quarantine: QuarantineBounds::default() }
    }

    /// Bounds quarantined bodies (defaults: 10,000 rows, 64 MiB); past
    /// either, the oldest quarantined bodies are deleted, with an error log.
    ///
    /// ```
    /// let store = pesakit::inbox::MemoryStore::new().quarantine_bounds(100, 1024 * 1024);
    /// ```
    pub fn quarantine_bounds(mut self, rows: u64, bytes: u64) -> Self {
        self.quarantine = QuarantineBounds::new(rows, bytes);
        self
    }

    /// Runs `operation` on the store's contents, as one commit.
    fn with<T: Send + 'static>(
        &self,
        operation: impl FnOnce(&mut Memory) -> Result<T, StoreError>,
    ) -> StoreFuture<'_, T> {
        let answer = {
            let mut memory = self.lock();
            memory.operations += 1;
            operation(&mut memory)
        };
        Box::pin(std::future::ready(answer))
    }

    fn lock(&self) -> MutexGuard<'_, Memory> {
        // A panic mid-operation leaves nothing half-written that matters
        // more than the store answering again.
        self.memory.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl InboxStore for MemoryStore {
    fn record(&self, callback: NewCallback) -> StoreFuture<'_, Recorded> {
        self.with(move |memory| Ok(memory.record(callback)))
    }

    fn quarantine(&self, callback: QuarantinedCallback) -> StoreFuture<'_, RecordId> {
        let (rows, bytes) = (self.quarantine.rows, self.quarantine.bytes);
        self.with(move |memory| Ok(memory.quarantine(callback, rows, bytes)))
    }

    fn settle(&self, id: RecordId, outcome: Outcome) -> StoreFuture<'_, ()> {
        self.with(move |memory| {
            let row =
                memory.rows.get_mut(&id).ok_or_else(|| StoreError::new(format!("no callback is stored as {id}")))?;
            let callback = &mut row.callback;
            match outcome {
                Outcome::Done => {
                    (callback.state, callback.next_attempt_at, callback.last_error) = (CallbackState::Done, None, None);
                    callback.settled_at = Some(SystemTime::now());
                }
                Outcome::Verdict { verdict, fell_back } => {
                    (callback.state, callback.next_attempt_at) = (CallbackState::Done, None);
                    (callback.verdict, callback.settled_at) = (Some(verdict), Some(SystemTime::now()));
                    if fell_back {
                        callback.needs_reconciliation = Some(FELL_BACK_REASON.to_owned());
                    }
                }
                Outcome::Failed { error, retry_at } => {
                    callback.state = if retry_at.is_some() { CallbackState::Failed } else { CallbackState::Dead };
                    (callback.next_attempt_at, callback.last_error) = (retry_at, Some(error));
                }
            }
            Ok(())
        })
    }

    fn claim_due(
        &self,
        now: SystemTime,
        lease_until: SystemTime,
        limit: usize,
    ) -> StoreFuture<'_, Vec<StoredCallback>> {
        self.with(move |memory| {
            let mut due: Vec<(SystemTime, RecordId)> = memory
                .rows
                .values()
                .map(|row| &row.callback)
                .filter(|callback| matches!(callback.state, CallbackState::Pending | CallbackState::Failed))
                .filter_map(|callback| callback.next_attempt_at.filter(|at| *at <= now).map(|at| (at, callback.id)))
                .collect();
            due.sort_unstable();
            let mut claimed: Vec<RecordId> = due.into_iter().take(limit).map(|(_, id)| id).collect();
            claimed.sort_unstable();
            let mut callbacks = Vec::with_capacity(claimed.len());
            for id in claimed {
                if let Some(row) = memory.rows.get_mut(&id) {
                    row.callback.next_attempt_at = Some(lease_until);
                    row.callback.attempts = row.callback.attempts.saturating_add(1);
                    callbacks.push(row.callback.clone());
                }
            }
            Ok(callbacks)
        })
    }

    fn get(&self, id: RecordId) -> StoreFuture<'_, Option<StoredCallback>> {
        self.with(move |memory| Ok(memory.rows.get(&id).map(|row| row.callback.clone())))
    }

    fn list(&self, filter: ListFilter) -> StoreFuture<'_, Vec<StoredCallback>> {
        self.with(move |memory| {
            Ok(memory
                .rows
                .values()
                .rev()
                .map(|row| &row.callback)
                .filter(|callback| filter.kind.is_none_or(|kind| callback.arrived.kind == kind))
                .filter(|callback| filter.state.is_none_or(|state| callback.state == state))
                .filter(|callback| filter.since.is_none_or(|since| callback.arrived.received_at >= since))
                .filter(|callback| filter.until.is_none_or(|until| callback.arrived.received_at < until))
                .filter(|callback| !filter.needs_reconciliation || callback.needs_reconciliation.is_some())
                .take(filter.limit.unwrap_or(usize::MAX))
                .cloned()
                .collect())
        })
    }

    fn find(&self, daraja_id: String) -> StoreFuture<'_, Vec<StoredCallback>> {
        self.with(move |memory| {
            let carrying = memory.carrying.get(&daraja_id).into_iter().flatten().rev();
            Ok(carrying.filter_map(|id| memory.rows.get(id)).map(|row| row.callback.clone()).collect())
        })
    }

    fn prune(&self, before: SystemTime) -> StoreFuture<'_, u64> {
        self.with(move |memory| {
            let prunable: Vec<RecordId> = memory
                .rows
                .values()
                .map(|row| &row.callback)
                .filter(|callback| callback.state == CallbackState::Done && callback.needs_reconciliation.is_none())
                .filter(|callback| callback.settled_at.is_some_and(|at| at < before))
                .map(|callback| callback.id)
                .collect();
            for id in &prunable {
                memory.remove(*id);
            }
            Ok(u64::try_from(prunable.len()).unwrap_or(u64::MAX))
        })
    }

    fn retry(&self, id: RecordId, now: SystemTime) -> StoreFuture<'_, bool> {
        self.with(move |memory| {
            let Some(row) = memory.rows.get_mut(&id) else { return Ok(false) };
            let callback = &mut row.callback;
            if !matches!(callback.state, CallbackState::Dead | CallbackState::Quarantined | CallbackState::Failed) {
                return Ok(false);
            }
            (callback.state, callback.next_attempt_at) = (CallbackState::Pending, Some(now));
            Ok(true)
        })
    }

    fn stats(&self) -> InboxStats {
        let operations = self.lock().operations;
        InboxStats { commits: operations, operations }
    }
}

impl Memory {
    /// Stores `callback` as delivery 1 of its kind and dedupe key, or finds
    /// the delivery with the same body (a duplicate), or stores it as the
    /// next delivery (a conflicting one).
    fn record(&mut self, callback: NewCallback) -> Recorded {
        let kind = callback.arrived.kind;
        let key = (kind, callback.dedupe_key.clone());
        let Some(deliveries) = self.deliveries.get(&key) else {
            let id = self.insert(callback, 1);
            self.mark(id);
            return Recorded::New(id);
        };
        let body = &callback.arrived.body;
        let stored = |id: &RecordId| self.rows.get(id).map(|row| &row.callback);
        let same = deliveries.iter().copied().find(|id| stored(id).is_some_and(|stored| stored.arrived.body == *body));
        let same = same.or_else(|| {
            let digest = BodyDigest::of(kind, body);
            deliveries
                .iter()
                .copied()
                .find(|id| stored(id).is_some_and(|stored| BodyDigest::of(kind, &stored.arrived.body) == digest))
        });
        if let Some(id) = same {
            let Some(row) = self.rows.get_mut(&id) else { return Recorded::Duplicate { id, verdict: None } };
            row.callback.seen_count = row.callback.seen_count.saturating_add(1);
            row.callback.last_seen_at = callback.arrived.received_at;
            let verdict = row.callback.verdict.as_ref().and_then(|verdict| verdict.to_validation());
            return Recorded::Duplicate { id, verdict };
        }
        let earlier = deliveries.last().and_then(stored);
        let number = earlier.map_or(0, |earlier| earlier.delivery).saturating_add(1);
        let reason = conflict_reason(
            earlier.and_then(|earlier| summary(&earlier.arrived.body)).as_deref(),
            summary(body).as_deref(),
        );
        let id = self.insert(callback, number);
        self.mark(id);
        // A conflicting delivery: the callback's one mark moves to it.
        for other in self.deliveries.get(&key).into_iter().flatten() {
            if let Some(row) = self.rows.get_mut(other) {
                row.callback.needs_reconciliation = (*other == id).then(|| reason.clone());
            }
        }
        Recorded::Conflicting { id, number }
    }

    fn insert(&mut self, callback: NewCallback, number: u32) -> RecordId {
        self.last_id += 1;
        let id = RecordId(self.last_id);
        let key = (callback.arrived.kind, callback.dedupe_key.clone());
        self.deliveries.entry(key).or_default().push(id);
        for value in std::iter::once(&callback.dedupe_key).chain(callback.secondary_ids.iter().map(|(_, value)| value))
        {
            self.carrying.entry(value.clone()).or_default().insert(id);
        }
        let received_at = callback.arrived.received_at;
        let stored = StoredCallback {
            id,
            arrived: callback.arrived,
            dedupe_key: Some(callback.dedupe_key),
            delivery: number,
            secondary_ids: callback.secondary_ids,
            state: CallbackState::Pending,
            last_seen_at: received_at,
            seen_count: 1,
            // The first run starts as soon as it is stored.
            attempts: 1,
            next_attempt_at: Some(callback.lease_until),
            last_error: None,
            verdict: None,
            // Marked while its outcome is unknown; `mark` clears it when a
            // final callback sharing an id is stored already.
            needs_reconciliation: callback.outcome_unknown,
            settled_at: None,
        };
        let is_final = stored.needs_reconciliation.is_none();
        self.rows.insert(id, Row { callback: stored, is_final });
        id
    }

    /// The reconciliation marks new callback `id` sets or clears: one whose
    /// outcome is unknown keeps its mark unless a final callback sharing an
    /// id is stored; a final one clears the marks of the first deliveries
    /// sharing one of its ids (a conflict's mark waits for the
    /// reconciliation).
    fn mark(&mut self, id: RecordId) {
        let Some(row) = self.rows.get(&id) else { return };
        let callback = &row.callback;
        let shared: BTreeSet<RecordId> = callback
            .dedupe_key
            .iter()
            .chain(callback.secondary_ids.iter().map(|(_, value)| value))
            .filter_map(|value| self.carrying.get(value))
            .flatten()
            .copied()
            .filter(|other| *other != id)
            .collect();
        if !row.is_final {
            let settled_elsewhere = shared.iter().filter_map(|other| self.rows.get(other)).any(|other| other.is_final);
            if settled_elsewhere && let Some(row) = self.rows.get_mut(&id) {
                row.callback.needs_reconciliation = None;
            }
            return;
        }
        for other in shared {
            if let Some(row) = self.rows.get_mut(&other).filter(|row| row.callback.delivery == 1) {
                row.callback.needs_reconciliation = None;
            }
        }
    }

    fn quarantine(&mut self, callback: QuarantinedCallback, max_rows: u64, max_bytes: u64) -> RecordId {
        self.last_id += 1;
        let id = RecordId(self.last_id);
        let received_at = callback.arrived.received_at;
        let stored = StoredCallback {
            id,
            arrived: callback.arrived,
            dedupe_key: None,
            delivery: 1,
            secondary_ids: Vec::new(),
            state: CallbackState::Quarantined,
            last_seen_at: received_at,
            seen_count: 1,
            attempts: 0,
            next_attempt_at: None,
            last_error: Some(callback.parse_error),
            verdict: None,
            needs_reconciliation: None,
            settled_at: None,
        };
        self.rows.insert(id, Row { callback: stored, is_final: false });
        let mut quarantined: Vec<(RecordId, u64)> = self
            .rows
            .values()
            .filter(|row| row.callback.state == CallbackState::Quarantined)
            .map(|row| (row.callback.id, u64::try_from(row.callback.arrived.body.len()).unwrap_or(u64::MAX)))
            .collect();
        let mut bytes: u64 = quarantined.iter().map(|(_, size)| size).sum();
        let mut dropped = 0_u64;
        quarantined.reverse();
        while let Some(&(oldest, size)) = quarantined.last() {
            let rows = u64::try_from(quarantined.len()).unwrap_or(u64::MAX);
            if rows <= 1 || (rows <= max_rows && bytes <= max_bytes) {
                break;
            }
            quarantined.pop();
            self.remove(oldest);
            bytes -= size;
            dropped += 1;
        }
        if dropped > 0 {
            tracing::error!(
                dropped,
                max_rows,
                max_bytes,
                "quarantine full: dropped the oldest bodies that did not parse"
            );
        }
        id
    }

    fn remove(&mut self, id: RecordId) {
        let Some(row) = self.rows.remove(&id) else { return };
        let callback = row.callback;
        if let Some(key) = callback.dedupe_key {
            let values = std::iter::once(&key).chain(callback.secondary_ids.iter().map(|(_, value)| value));
            for value in values {
                if let Some(ids) = self.carrying.get_mut(value) {
                    ids.remove(&id);
                    if ids.is_empty() {
                        self.carrying.remove(value);
                    }
                }
            }
            let deliveries = (callback.arrived.kind, key);
            if let Some(ids) = self.deliveries.get_mut(&deliveries) {
                ids.retain(|delivery| *delivery != id);
                if ids.is_empty() {
                    self.deliveries.remove(&deliveries);
                }
            }
        }
    }
}

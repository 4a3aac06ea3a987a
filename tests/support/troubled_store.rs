//! A store with trouble on demand, wrapped around a real one: every write
//! fails once `down` is set (the disk is full), recording takes `slow`
//! longer (the disk is busy), settling `slow_settle` longer. It counts the
//! prunes asked of it and tells `journal` of each write.

#![allow(dead_code, unreachable_pub)]

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use pesakit::inbox::{
    InboxStats, InboxStore, ListFilter, NewCallback, Outcome, QuarantinedCallback, RecordId, Recorded, StoreError,
    StoreFuture, StoredCallback,
};

/// Called with `"record"`, `"quarantine"` or `"settle"` as each write starts.
pub type Journal = Arc<dyn Fn(&'static str) + Send + Sync>;

#[derive(Clone)]
pub struct Troubled {
    inner: Arc<dyn InboxStore>,
    pub down: Arc<AtomicBool>,
    pub slow: Arc<Mutex<Duration>>,
    pub slow_settle: Arc<Mutex<Duration>>,
    pub prunes: Arc<AtomicU32>,
    pub journal: Journal,
}

impl Troubled {
    pub fn new(inner: Arc<dyn InboxStore>) -> Self {
        Self {
            inner,
            down: Arc::default(),
            slow: Arc::default(),
            slow_settle: Arc::default(),
            prunes: Arc::default(),
            journal: Arc::new(|_| {}),
        }
    }

    /// The store, telling `journal` of each write.
    pub fn journalled(self, journal: impl Fn(&'static str) + Send + Sync + 'static) -> Self {
        Self { journal: Arc::new(journal), ..self }
    }

    fn check(&self, write: &'static str) -> Result<(), StoreError> {
        (self.journal)(write);
        if self.down.load(Ordering::SeqCst) { Err(StoreError::new("disk full")) } else { Ok(()) }
    }
}

impl InboxStore for Troubled {
    fn record(&self, callback: NewCallback) -> StoreFuture<'_, Recorded> {
        let slow = *self.slow.lock().expect("not poisoned");
        let checked = self.check("record");
        Box::pin(async move {
            checked?;
            tokio::time::sleep(slow).await;
            self.inner.record(callback).await
        })
    }

    fn quarantine(&self, callback: QuarantinedCallback) -> StoreFuture<'_, RecordId> {
        match self.check("quarantine") {
            Ok(()) => self.inner.quarantine(callback),
            Err(error) => Box::pin(async { Err(error) }),
        }
    }

    fn settle(&self, id: RecordId, outcome: Outcome) -> StoreFuture<'_, ()> {
        let slow = *self.slow_settle.lock().expect("not poisoned");
        let checked = self.check("settle");
        Box::pin(async move {
            checked?;
            tokio::time::sleep(slow).await;
            self.inner.settle(id, outcome).await
        })
    }

    fn claim_due(&self, now: SystemTime, until: SystemTime, limit: usize) -> StoreFuture<'_, Vec<StoredCallback>> {
        self.inner.claim_due(now, until, limit)
    }

    fn get(&self, id: RecordId) -> StoreFuture<'_, Option<StoredCallback>> {
        self.inner.get(id)
    }

    fn list(&self, filter: ListFilter) -> StoreFuture<'_, Vec<StoredCallback>> {
        self.inner.list(filter)
    }

    fn find(&self, daraja_id: String) -> StoreFuture<'_, Vec<StoredCallback>> {
        self.inner.find(daraja_id)
    }

    fn prune(&self, before: SystemTime) -> StoreFuture<'_, u64> {
        self.prunes.fetch_add(1, Ordering::SeqCst);
        self.inner.prune(before)
    }

    fn retry(&self, id: RecordId, now: SystemTime) -> StoreFuture<'_, bool> {
        self.inner.retry(id, now)
    }

    fn stats(&self) -> InboxStats {
        self.inner.stats()
    }
}

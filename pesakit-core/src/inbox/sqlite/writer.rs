//! The writer thread: every operation queued while the last transaction
//! was written is committed in the next one, one fsync for all of them.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;

use rusqlite::{Connection, TransactionBehavior};
use tokio::sync::oneshot;

use crate::inbox::store::StoreError;

/// Most operations committed in one transaction.
const MAX_BATCH: usize = 512;

/// What the writer has committed since the store was opened.
#[derive(Debug, Default)]
pub(super) struct Counters {
    pub(super) commits: AtomicU64,
    pub(super) operations: AtomicU64,
}

/// One operation of a transaction, and the caller waiting for it.
pub(super) trait Job: Send {
    /// Runs in the open transaction, inside a savepoint of its own, so that
    /// its failure undoes only its own writes.
    fn run(&mut self, connection: &Connection);
    /// Answers the caller once the transaction committed, or did not.
    fn finish(self: Box<Self>, committed: Result<(), &StoreError>);
}

pub(super) struct Operation<T, F> {
    pub(super) operation: Option<F>,
    pub(super) result: Option<rusqlite::Result<T>>,
    pub(super) reply: oneshot::Sender<Result<T, StoreError>>,
}

impl<T, F> Job for Operation<T, F>
where
    T: Send,
    F: FnOnce(&Connection) -> rusqlite::Result<T> + Send,
{
    fn run(&mut self, connection: &Connection) {
        if let Some(operation) = self.operation.take() {
            self.result = Some(in_savepoint(connection, operation));
        }
    }

    fn finish(self: Box<Self>, committed: Result<(), &StoreError>) {
        let answer = match (self.result, committed) {
            (Some(Ok(value)), Ok(())) => Ok(value),
            (Some(Err(error)), _) => Err(StoreError::caused_by("SQLite refused the operation", error)),
            (_, Err(error)) => Err(error.clone()),
            (None, Ok(())) => Err(StoreError::new("the operation did not run")),
        };
        // The caller may have gone (its request was dropped): nothing to tell.
        let _ = self.reply.send(answer);
    }
}

fn in_savepoint<T>(
    connection: &Connection,
    operation: impl FnOnce(&Connection) -> rusqlite::Result<T>,
) -> rusqlite::Result<T> {
    connection.prepare_cached("SAVEPOINT operation")?.execute([])?;
    match operation(connection) {
        Ok(value) => connection.prepare_cached("RELEASE operation")?.execute([]).map(|_| value),
        Err(error) => {
            connection.prepare_cached("ROLLBACK TO operation")?.execute([])?;
            connection.prepare_cached("RELEASE operation")?.execute([])?;
            Err(error)
        }
    }
}

/// The writer thread: waits for work, then commits everything that queued
/// up meanwhile in one transaction, one fsync.
pub(super) fn write_loop(mut connection: Connection, queue: &mpsc::Receiver<Box<dyn Job>>, counters: &Counters) {
    while let Ok(first) = queue.recv() {
        let mut batch = vec![first];
        batch.extend(queue.try_iter().take(MAX_BATCH - 1));
        let committed = match connection.transaction_with_behavior(TransactionBehavior::Immediate) {
            Ok(transaction) => {
                for job in &mut batch {
                    job.run(&transaction);
                }
                transaction.commit().map_err(|error| StoreError::caused_by("committing a transaction", error))
            }
            Err(error) => Err(StoreError::caused_by("starting a transaction", error)),
        };
        if let Err(error) = &committed {
            tracing::error!(error = %format_args!("{error:#}"), operations = batch.len(), "the inbox could not commit");
        } else {
            counters.commits.fetch_add(1, Ordering::Relaxed);
            counters.operations.fetch_add(u64::try_from(batch.len()).unwrap_or(u64::MAX), Ordering::Relaxed);
        }
        for job in batch {
            job.finish(committed.as_ref().map(|_| ()));
        }
    }
}

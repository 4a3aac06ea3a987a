//! Group commit on PostgreSQL: concurrent records (and settlements) wait in
//! a queue; a few writer tasks each take whatever has queued and store it
//! in one call of a batch function: one round trip, one transaction, one
//! WAL flush for all of them.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use deadpool_postgres::{GenericClient, Object, Pool};
use tokio::sync::{Mutex, mpsc, oneshot};

use super::{ArrivedValues, database, pg_text, recorded};
use crate::inbox::delivery::fingerprint;
use crate::inbox::store::{CallbackState, FELL_BACK_REASON, NewCallback, Outcome, StoreError, row_id};
use crate::record::{RecordId, Recorded};

/// Most items written in one call.
const MAX_BATCH: usize = 256;

/// Items waiting for a writer, past which callers wait to queue.
const QUEUE_CAPACITY: usize = 4096;

/// The boxed future a [`Flush`] returns.
type FlushFuture<'a, O> = Pin<Box<dyn Future<Output = Result<Vec<O>, StoreError>> + Send + 'a>>;

/// Stores a batch in one call; one output per item, in order, or an error.
pub(super) trait Flush<I, O>: Send + Sync + 'static {
    fn flush<'a>(&'a self, client: &'a mut Object, items: &'a [I]) -> FlushFuture<'a, O>;
}

/// An item and the caller waiting for its output.
struct Waiting<I, O> {
    item: I,
    reply: oneshot::Sender<Result<O, StoreError>>,
}

/// The queue callers put items into; its writer tasks end when it is
/// dropped.
pub(super) struct Queue<I, O> {
    sender: mpsc::Sender<Waiting<I, O>>,
    counters: Arc<Counters>,
    writers: usize,
}

/// Batches written, and the items they held.
#[derive(Debug, Default)]
pub(super) struct Counters {
    pub(super) batches: AtomicU64,
    pub(super) items: AtomicU64,
}

impl<I, O> std::fmt::Debug for Queue<I, O> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Queue")
            .field("writers", &self.writers)
            .field("waiting", &(QUEUE_CAPACITY - self.sender.capacity()))
            .finish()
    }
}

impl<I: Send + Sync + 'static, O: Send + 'static> Queue<I, O> {
    /// Starts `writers` writer tasks on the current Tokio runtime.
    pub(super) fn start(pool: &Pool, writers: usize, flush: impl Flush<I, O>) -> Self {
        let (sender, receiver) = mpsc::channel(QUEUE_CAPACITY);
        let (receiver, flush) = (Arc::new(Mutex::new(receiver)), Arc::new(flush));
        let counters = Arc::new(Counters::default());
        let writers = writers.max(1);
        for _ in 0..writers {
            tokio::spawn(write(Arc::clone(&receiver), pool.clone(), Arc::clone(&flush), Arc::clone(&counters)));
        }
        Self { sender, counters, writers }
    }

    /// Batches written so far, and the items they held.
    pub(super) fn counters(&self) -> (u64, u64) {
        (self.counters.batches.load(Ordering::Relaxed), self.counters.items.load(Ordering::Relaxed))
    }

    /// Queues `item` and waits until the batch holding it is committed.
    pub(super) async fn submit(&self, item: I) -> Result<O, StoreError> {
        let (reply, answer) = oneshot::channel();
        let stopped =
            || StoreError("the PostgreSQL inbox's writer tasks have stopped (their runtime ended)".to_owned());
        self.sender.send(Waiting { item, reply }).await.map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

/// A writer: takes what has queued, stores it, answers each caller.
async fn write<I: Send + Sync, O: Send, F: Flush<I, O>>(
    queue: Arc<Mutex<mpsc::Receiver<Waiting<I, O>>>>,
    pool: Pool,
    flush: Arc<F>,
    counters: Arc<Counters>,
) {
    loop {
        // Whatever has queued, at least one, at most a batch's worth.
        let mut batch = Vec::with_capacity(MAX_BATCH);
        if queue.lock().await.recv_many(&mut batch, MAX_BATCH).await == 0 {
            return;
        }
        let (items, replies): (Vec<I>, Vec<_>) = batch.into_iter().map(|waiting| (waiting.item, waiting.reply)).unzip();
        let answers = store(&pool, &*flush, &items).await;
        counters.batches.fetch_add(1, Ordering::Relaxed);
        counters.items.fetch_add(u64::try_from(items.len()).unwrap_or(u64::MAX), Ordering::Relaxed);
        for (reply, answer) in replies.into_iter().zip(answers) {
            // The caller may have gone (its request was dropped).
            let _ = reply.send(answer);
        }
    }
}

/// One answer per item: from the batch, or, when the batch failed as a
/// whole, from each item stored on its own, so that one bad item fails
/// only itself.
async fn store<I: Sync, O, F: Flush<I, O>>(pool: &Pool, flush: &F, items: &[I]) -> Vec<Result<O, StoreError>> {
    let mut client = match pool.get().await {
        Ok(client) => client,
        Err(error) => {
            return items.iter().map(|_| Err(StoreError(format!("no PostgreSQL connection: {error}")))).collect();
        }
    };
    match flush.flush(&mut client, items).await {
        Ok(outputs) => outputs.into_iter().map(Ok).collect(),
        Err(error) if items.len() == 1 => vec![Err(error)],
        Err(_) => {
            let mut answers = Vec::with_capacity(items.len());
            for item in items {
                let answer = flush.flush(&mut client, std::slice::from_ref(item)).await;
                answers.push(answer.and_then(|outputs| {
                    outputs.into_iter().next().ok_or_else(|| StoreError("the store answered nothing".to_owned()))
                }));
            }
            answers
        }
    }
}

/// Records callbacks with `pesakit_record_batch`.
async fn record(client: &impl GenericClient, items: &[&NewCallback]) -> Result<Vec<Recorded>, StoreError> {
    let arrived: Vec<ArrivedValues<'_>> = items.iter().map(|item| ArrivedValues::of(&item.arrived)).collect();
    let kinds: Vec<&str> = arrived.iter().map(|values| values.kind).collect();
    let route_paths: Vec<&str> = items.iter().map(|item| item.arrived.route_path.as_str()).collect();
    let bodies: Vec<&[u8]> = arrived.iter().map(|values| values.body).collect();
    let content_types: Vec<Option<&str>> = items.iter().map(|item| item.arrived.content_type.as_deref()).collect();
    let forwarded: Vec<Option<&str>> = items.iter().map(|item| item.arrived.forwarded.as_deref()).collect();
    let peers: Vec<Option<&str>> = arrived.iter().map(|values| values.peer.as_deref()).collect();
    let clients: Vec<Option<&str>> = arrived.iter().map(|values| values.client.as_deref()).collect();
    let received_at: Vec<SystemTime> = items.iter().map(|item| item.arrived.received_at).collect();
    let dedupe_keys: Vec<String> = items.iter().map(|item| pg_text(&item.dedupe_key)).collect();
    let due_at: Vec<SystemTime> = items.iter().map(|item| item.lease_until).collect();
    let unknown: Vec<Option<String>> = items.iter().map(|item| item.outcome_unknown.as_deref().map(pg_text)).collect();
    let (digests, summaries): (Vec<Vec<u8>>, Vec<Option<String>>) = items
        .iter()
        .map(|item| {
            let (digest, summary) = fingerprint(item.arrived.kind, &item.arrived.body);
            (digest.0.to_vec(), summary.as_deref().map(pg_text))
        })
        .unzip();
    let (mut id_from, mut id_to, mut id_names, mut id_values) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for item in items {
        id_from.push(i32::try_from(id_names.len() + 1).unwrap_or(i32::MAX));
        for (name, value) in &item.secondary_ids {
            id_names.push(pg_text(name));
            id_values.push(pg_text(value));
        }
        id_to.push(i32::try_from(id_names.len()).unwrap_or(i32::MAX));
    }
    let statement = client
        .prepare_cached(
            "SELECT o_id, o_duplicate, o_verdict_code, o_verdict_tag, o_delivery FROM pesakit_record_batch($1, \
                     $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
        )
        .await
        .map_err(database)?;
    let rows = client
        .query(
            &statement,
            &[
                &kinds,
                &route_paths,
                &bodies,
                &content_types,
                &forwarded,
                &peers,
                &clients,
                &received_at,
                &dedupe_keys,
                &due_at,
                &unknown,
                &id_from,
                &id_to,
                &id_names,
                &id_values,
                &digests,
                &summaries,
            ],
        )
        .await
        .map_err(database)?;
    rows.iter().map(recorded).collect()
}

/// A settlement, for [`settle`].
#[derive(Debug)]
pub(super) struct Settlement {
    pub(super) id: RecordId,
    pub(super) outcome: Outcome,
    pub(super) at: SystemTime,
}

/// Settles callbacks with `pesakit_settle_batch`; the output says whether
/// the callback was found.
async fn settle(client: &impl GenericClient, items: &[&Settlement]) -> Result<Vec<bool>, StoreError> {
    let mut columns = SettleColumns::default();
    for item in items {
        columns.push(item);
    }
    let settled_at = items.iter().map(|item| item.at).max().unwrap_or_else(SystemTime::now);
    let statement = client
        .prepare_cached("SELECT o_found FROM pesakit_settle_batch($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)")
        .await
        .map_err(database)?;
    let rows = client
        .query(
            &statement,
            &[
                &columns.ids,
                &columns.outcomes,
                &columns.states,
                &columns.due_at,
                &columns.errors,
                &columns.verdict_codes,
                &columns.verdict_tags,
                &columns.fell_back,
                &settled_at,
                &FELL_BACK_REASON,
            ],
        )
        .await
        .map_err(database)?;
    rows.iter().map(|row| row.try_get::<_, bool>(0).map_err(database)).collect()
}

/// The batch function's arguments, a column per field.
#[derive(Debug, Default)]
struct SettleColumns {
    ids: Vec<i64>,
    outcomes: Vec<&'static str>,
    states: Vec<&'static str>,
    due_at: Vec<Option<SystemTime>>,
    errors: Vec<Option<String>>,
    verdict_codes: Vec<Option<String>>,
    verdict_tags: Vec<Option<String>>,
    fell_back: Vec<bool>,
}

impl SettleColumns {
    fn push(&mut self, item: &Settlement) {
        self.ids.push(row_id(item.id));
        let (outcome, state, due_at, error, code, tag, fell_back) = match &item.outcome {
            Outcome::Done => ("done", CallbackState::Done, None, None, None, None, false),
            Outcome::Verdict { verdict, fell_back } => (
                "verdict",
                CallbackState::Done,
                None,
                None,
                Some(pg_text(&verdict.code)),
                verdict.tag.as_deref().map(pg_text),
                *fell_back,
            ),
            Outcome::Failed { error, retry_at } => {
                let state = if retry_at.is_some() { CallbackState::Failed } else { CallbackState::Dead };
                ("failed", state, *retry_at, Some(pg_text(error)), None, None, false)
            }
        };
        self.outcomes.push(outcome);
        self.states.push(state.as_str());
        self.due_at.push(due_at);
        self.errors.push(error);
        self.verdict_codes.push(code);
        self.verdict_tags.push(tag);
        self.fell_back.push(fell_back);
    }
}

/// A write waiting for a batch.
#[derive(Debug)]
pub(super) enum Operation {
    /// Store a callback (boxed: it is several times a settlement's size).
    Record(Box<NewCallback>),
    /// Store how its handler ended.
    Settle(Settlement),
}

/// What a write gives back.
#[derive(Debug)]
pub(super) enum Answer {
    /// As recorded.
    Recorded(Recorded),
    /// Whether the callback settled was found.
    Settled(bool),
}

/// Writes records and settlements together: one statement each, in one
/// transaction (and one WAL flush) when the batch holds both.
#[derive(Debug)]
pub(super) struct WriteBatch;

impl Flush<Operation, Answer> for WriteBatch {
    fn flush<'a>(&'a self, client: &'a mut Object, items: &'a [Operation]) -> FlushFuture<'a, Answer> {
        Box::pin(async move {
            let records: Vec<&NewCallback> = items
                .iter()
                .filter_map(|item| if let Operation::Record(callback) = item { Some(&**callback) } else { None })
                .collect();
            let settlements: Vec<&Settlement> = items
                .iter()
                .filter_map(|item| if let Operation::Settle(settlement) = item { Some(settlement) } else { None })
                .collect();
            // One statement is a transaction of its own; two share one.
            let (recorded, settled) = match (records.is_empty(), settlements.is_empty()) {
                (false, true) => (record(&*client, &records).await?, Vec::new()),
                (true, false) => (Vec::new(), settle(&*client, &settlements).await?),
                (false, false) => {
                    let transaction = client.transaction().await.map_err(database)?;
                    let recorded = record(&transaction, &records).await?;
                    let settled = settle(&transaction, &settlements).await?;
                    transaction.commit().await.map_err(database)?;
                    (recorded, settled)
                }
                (true, true) => (Vec::new(), Vec::new()),
            };
            let (mut recorded, mut settled) = (recorded.into_iter(), settled.into_iter());
            items
                .iter()
                .map(|item| match item {
                    Operation::Record(_) => recorded.next().map(Answer::Recorded),
                    Operation::Settle(_) => settled.next().map(Answer::Settled),
                })
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| StoreError("a batch answered for fewer writes than it held".to_owned()))
        })
    }
}

/// The error of a settlement that found nothing.
pub(super) fn not_stored(id: RecordId) -> StoreError {
    StoreError(format!("no callback is stored as {id}"))
}

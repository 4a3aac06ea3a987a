//! Group commit on PostgreSQL: concurrent records (and settlements) wait in
//! a queue; a few writer tasks each take whatever has queued and store it
//! in one call of a batch function: one round trip, one transaction, one
//! WAL flush for all of them. Each write carries its own typed reply.

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

/// A write waiting for a batch, and the caller waiting for its answer.
enum Write {
    /// Store a callback (boxed: it is several times a settlement's size).
    Record(Box<NewCallback>, oneshot::Sender<Result<Recorded, StoreError>>),
    /// Store how its handler ended.
    Settle(Settlement, oneshot::Sender<Result<(), StoreError>>),
}

/// The queue callers put writes into; its writer tasks end when it is
/// dropped.
pub(super) struct Queue {
    sender: mpsc::Sender<Write>,
    counters: Arc<Counters>,
    writers: usize,
}

/// Batches written, and the writes they held.
#[derive(Debug, Default)]
struct Counters {
    batches: AtomicU64,
    writes: AtomicU64,
}

impl std::fmt::Debug for Queue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Queue")
            .field("writers", &self.writers)
            .field("waiting", &(QUEUE_CAPACITY - self.sender.capacity()))
            .finish()
    }
}

impl Queue {
    /// Starts `writers` writer tasks on the current Tokio runtime.
    pub(super) fn start(pool: &Pool, writers: usize) -> Self {
        let (sender, receiver) = mpsc::channel(QUEUE_CAPACITY);
        let receiver = Arc::new(Mutex::new(receiver));
        let counters = Arc::new(Counters::default());
        let writers = writers.max(1);
        for _ in 0..writers {
            tokio::spawn(write(Arc::clone(&receiver), pool.clone(), Arc::clone(&counters)));
        }
        Self { sender, counters, writers }
    }

    /// Batches written so far, and the writes they held.
    pub(super) fn counters(&self) -> (u64, u64) {
        (self.counters.batches.load(Ordering::Relaxed), self.counters.writes.load(Ordering::Relaxed))
    }

    /// Records `callback` in the next batch, once that batch is committed.
    pub(super) async fn record(&self, callback: NewCallback) -> Result<Recorded, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.submit(Write::Record(Box::new(callback), reply), answer).await
    }

    /// Stores `settlement` in the next batch, once that batch is committed.
    pub(super) async fn settle(&self, settlement: Settlement) -> Result<(), StoreError> {
        let (reply, answer) = oneshot::channel();
        self.submit(Write::Settle(settlement, reply), answer).await
    }

    async fn submit<T>(&self, write: Write, answer: oneshot::Receiver<Result<T, StoreError>>) -> Result<T, StoreError> {
        let stopped = || StoreError::new("the PostgreSQL inbox's writer tasks have stopped (their runtime ended)");
        self.sender.send(write).await.map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

/// A writer: takes what has queued, stores it, answers each caller.
async fn write(queue: Arc<Mutex<mpsc::Receiver<Write>>>, pool: Pool, counters: Arc<Counters>) {
    loop {
        // Whatever has queued, at least one, at most a batch's worth.
        let mut batch = Vec::with_capacity(MAX_BATCH);
        if queue.lock().await.recv_many(&mut batch, MAX_BATCH).await == 0 {
            return;
        }
        counters.batches.fetch_add(1, Ordering::Relaxed);
        counters.writes.fetch_add(u64::try_from(batch.len()).unwrap_or(u64::MAX), Ordering::Relaxed);
        store(&pool, batch).await;
    }
}

/// Answers every write of `batch`: from one transaction, or, when it failed
/// as a whole, from each write stored on its own, so that one bad write
/// fails only itself.
async fn store(pool: &Pool, batch: Vec<Write>) {
    let mut client = match pool.get().await {
        Ok(client) => client,
        Err(error) => {
            let error = StoreError::caused_by("no PostgreSQL connection", error);
            return answer_all(batch, &Err(error));
        }
    };
    let answered = write_batch(&mut client, &batch).await;
    if answered.is_ok() || batch.len() == 1 {
        return answer_all(batch, &answered);
    }
    for write in batch {
        let answered = write_batch(&mut client, std::slice::from_ref(&write)).await;
        answer_all(vec![write], &answered);
    }
}

/// What a batch's statements answered: each record's, then each
/// settlement's (whether it found its callback), in the batch's order.
type Answers = Result<(Vec<Recorded>, Vec<bool>), StoreError>;

/// Sends each write of `batch` its own answer from `answered`.
fn answer_all(batch: Vec<Write>, answered: &Answers) {
    let short = || StoreError::new("the database answered for fewer writes than the batch held");
    let (mut recorded, mut settled) = match answered {
        Ok((recorded, settled)) => (Ok(recorded.iter()), Ok(settled.iter())),
        Err(error) => (Err(error), Err(error)),
    };
    // A caller may have gone (its request was dropped): nothing to tell.
    for write in batch {
        match write {
            Write::Record(_, reply) => {
                let answer = match &mut recorded {
                    Ok(answers) => answers.next().cloned().ok_or_else(short),
                    Err(error) => Err((*error).clone()),
                };
                let _ = reply.send(answer);
            }
            Write::Settle(settlement, reply) => {
                let answer = match &mut settled {
                    Ok(answers) => match answers.next() {
                        Some(true) => Ok(()),
                        Some(false) => Err(StoreError::new(format!("no callback is stored as {}", settlement.id))),
                        None => Err(short()),
                    },
                    Err(error) => Err((*error).clone()),
                };
                let _ = reply.send(answer);
            }
        }
    }
}

/// Writes the records and settlements of `batch` together: one statement
/// each, in one transaction (and one WAL flush) when the batch holds both.
async fn write_batch(client: &mut Object, batch: &[Write]) -> Answers {
    let records: Vec<&NewCallback> = batch
        .iter()
        .filter_map(|write| if let Write::Record(callback, _) = write { Some(&**callback) } else { None })
        .collect();
    let settlements: Vec<&Settlement> = batch
        .iter()
        .filter_map(|write| if let Write::Settle(settlement, _) = write { Some(settlement) } else { None })
        .collect();
    // One statement is a transaction of its own; two share one.
    match (records.is_empty(), settlements.is_empty()) {
        (false, true) => Ok((record(&*client, &records).await?, Vec::new())),
        (true, false) => Ok((Vec::new(), settle(&*client, &settlements).await?)),
        (false, false) => {
            let transaction = client.transaction().await.map_err(database)?;
            let recorded = record(&transaction, &records).await?;
            let settled = settle(&transaction, &settlements).await?;
            transaction.commit().await.map_err(database)?;
            Ok((recorded, settled))
        }
        (true, true) => Ok((Vec::new(), Vec::new())),
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

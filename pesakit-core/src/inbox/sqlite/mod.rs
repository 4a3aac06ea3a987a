//! The embedded store: SQLite in WAL mode with `synchronous=FULL`, written
//! by one thread that commits concurrent operations together (group
//! commit), so that durable throughput grows with concurrency.

mod rows;
mod schema;
mod writer;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::time::{Duration, SystemTime};

use rusqlite::{Connection, params};
use tokio::sync::oneshot;

use self::rows::{COLUMNS, millis, parse_ids, select};
use self::schema::migrate;
use self::writer::{Counters, Job, Operation, write_loop};
use super::delivery::{BodyDigest, conflict_reason, summary};
use super::store::{
    CallbackState, FELL_BACK_REASON, InboxStats, InboxStore, ListFilter, NewCallback, Outcome, QuarantineBounds,
    QuarantinedCallback, StoreError, StoreFuture, StoredCallback, StoredVerdict, record_id, row_id,
};
use crate::kind::CallbackKind;
use crate::record::{RecordId, Recorded};

/// The ids of the callbacks carrying the Daraja id `?1`, as dedupe key or
/// secondary id; each side an index lookup.
const CARRYING: &str =
    "SELECT id FROM callbacks WHERE dedupe_key = ?1 UNION SELECT callback_id FROM callback_ids WHERE value = ?1";

/// The SQLite inbox store; see [`Inbox::sqlite`](super::Inbox::sqlite).
///
/// ```
/// use pesakit::inbox::{InboxStore, ListFilter, SqliteStore};
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let dir = std::env::temp_dir().join(format!("pesakit-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// let store = SqliteStore::open(dir.join("inbox.db"))?;
/// assert!(store.list(ListFilter::default()).await?.is_empty());
/// # std::fs::remove_dir_all(&dir).ok();
/// # Ok::<(), pesakit::inbox::StoreError>(())
/// # }).unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct SqliteStore {
    jobs: mpsc::Sender<Box<dyn Job>>,
    counters: Arc<Counters>,
    quarantine: QuarantineBounds,
}

/// Who opens the file: the server that serves it, or a tool beside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Opening {
    Owner,
    Beside,
}

impl SqliteStore {
    /// Opens (or creates) the database at `path`, applies the schema
    /// migrations it lacks, and starts its writer thread. Callbacks left
    /// pending by a process that died are due at once: this is how the
    /// server that owns the file opens it.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        Self::open_with(path.as_ref(), Opening::Owner)
    }

    /// Opens an inbox database that already exists, to look at it or act
    /// on it (list, find, retry, prune) beside the server that owns it, as
    /// `pesakit inbox` does: pending callbacks are left to that server.
    ///
    /// ```
    /// use pesakit::inbox::SqliteStore;
    ///
    /// let missing = std::env::temp_dir().join("pesakit-doc-no-such-inbox.db");
    /// let error = SqliteStore::open_existing(&missing).unwrap_err();
    /// assert!(error.to_string().contains("no inbox database"));
    /// ```
    pub fn open_existing(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let path = path.as_ref();
        if !path.is_file() {
            return Err(StoreError::new(format!(
                "{}: no inbox database there (the server creates it when it starts with this path)",
                path.display()
            )));
        }
        Self::open_with(path, Opening::Beside)
    }

    fn open_with(path: &Path, opening: Opening) -> Result<Self, StoreError> {
        let fail = |error: rusqlite::Error| StoreError::caused_by(format!("opening {}", path.display()), error);
        let mut connection = Connection::open(path).map_err(fail)?;
        let journal: String = connection.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0)).map_err(fail)?;
        if !journal.eq_ignore_ascii_case("wal") {
            return Err(StoreError::new(format!(
                "{}: the database would not use WAL (it uses {journal})",
                path.display()
            )));
        }
        // FULL: a commit is on the disk when it returns, even across a power cut.
        connection.pragma_update(None, "synchronous", "FULL").map_err(fail)?;
        connection.busy_timeout(Duration::from_secs(5)).map_err(fail)?;
        // Room for the pages a batch of callbacks touches (16 MiB).
        connection.pragma_update(None, "cache_size", -16_384).map_err(fail)?;
        migrate(&mut connection).map_err(fail)?;
        if opening == Opening::Owner {
            // Only one process serves a SQLite inbox: whatever is pending
            // now was left by one that died, and is due at once.
            connection.execute("UPDATE callbacks SET due_at = 0 WHERE state = 'pending'", []).map_err(fail)?;
        }
        let counters = Arc::new(Counters::default());
        if opening == Opening::Owner {
            // The server's writer checkpoints after 20,000 log frames (about
            // 80 MiB of 4 KiB pages) rather than SQLite's 1,000: pages written
            // by many batches are copied into the database once, and batches
            // wait for a checkpoint a twentieth as often (BENCHMARKS.md).
            connection.pragma_update(None, "wal_autocheckpoint", 20_000).map_err(fail)?;
        }
        let (jobs, queue) = mpsc::channel();
        let writer_counters = Arc::clone(&counters);
        // The writer logs where its opener's logs go, scoped subscribers
        // too; with none yet, to the global one whenever it is set.
        let opener_logs = tracing::dispatcher::get_default(|current| {
            (!current.is::<tracing::subscriber::NoSubscriber>()).then(|| current.clone())
        });
        std::thread::Builder::new()
            .name("pesakit-inbox-writer".to_owned())
            .spawn(move || match opener_logs {
                Some(dispatch) => {
                    tracing::dispatcher::with_default(&dispatch, || write_loop(connection, &queue, &writer_counters));
                }
                None => write_loop(connection, &queue, &writer_counters),
            })
            .map_err(|error| StoreError::caused_by("starting the inbox writer thread", error))?;
        Ok(Self { jobs, counters, quarantine: QuarantineBounds::default() })
    }

    /// Bounds quarantined bodies (defaults: 10,000 rows, 64 MiB); past
    /// either, the oldest quarantined bodies are deleted, with an error log.
    pub fn quarantine_bounds(mut self, rows: u64, bytes: u64) -> Self {
        self.quarantine = QuarantineBounds::new(rows, bytes);
        self
    }

    /// Runs `operation` on the writer thread, in the next transaction; the
    /// answer comes once that transaction is committed.
    fn submit<T, F>(&self, operation: F) -> StoreFuture<'_, T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let sent = self.jobs.send(Box::new(Operation { operation: Some(operation), result: None, reply }));
        Box::pin(async move {
            sent.map_err(|_| StoreError::new("the inbox writer thread has stopped"))?;
            answer.await.map_err(|_| StoreError::new("the inbox writer thread stopped before committing"))?
        })
    }
}

impl InboxStore for SqliteStore {
    fn record(&self, callback: NewCallback) -> StoreFuture<'_, Recorded> {
        self.submit(move |connection| record(connection, &callback))
    }

    fn quarantine(&self, callback: QuarantinedCallback) -> StoreFuture<'_, RecordId> {
        let (rows, bytes) = (self.quarantine.rows, self.quarantine.bytes);
        self.submit(move |connection| quarantine(connection, &callback, rows, bytes))
    }

    fn settle(&self, id: RecordId, outcome: Outcome) -> StoreFuture<'_, ()> {
        self.submit(move |connection| settle(connection, id, &outcome, SystemTime::now()))
    }

    fn claim_due(
        &self,
        now: SystemTime,
        lease_until: SystemTime,
        limit: usize,
    ) -> StoreFuture<'_, Vec<StoredCallback>> {
        self.submit(move |connection| {
            let sql = format!(
                "UPDATE callbacks SET due_at = ?2, attempts = attempts + 1 WHERE id IN (SELECT id FROM callbacks \
                 WHERE state IN ('pending', 'failed') AND due_at <= ?1 ORDER BY due_at, id LIMIT ?3) RETURNING {COLUMNS}"
            );
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            let mut due = select(connection, &sql, params![millis(now), millis(lease_until), limit])?;
            due.sort_by_key(|callback| callback.id);
            Ok(due)
        })
    }

    fn get(&self, id: RecordId) -> StoreFuture<'_, Option<StoredCallback>> {
        self.submit(move |connection| {
            let sql = format!("SELECT {COLUMNS} FROM callbacks WHERE id = ?1");
            Ok(select(connection, &sql, params![row_id(id)])?.pop())
        })
    }

    fn list(&self, filter: ListFilter) -> StoreFuture<'_, Vec<StoredCallback>> {
        self.submit(move |connection| {
            let sql = format!(
                "SELECT {COLUMNS} FROM callbacks WHERE (?1 IS NULL OR kind = ?1) AND (?2 IS NULL OR state = ?2) \
                 AND (?3 IS NULL OR received_at >= ?3) AND (?4 IS NULL OR received_at < ?4) \
                 AND (?5 = 0 OR reconcile_reason IS NOT NULL) ORDER BY id DESC LIMIT ?6"
            );
            let limit = filter.limit.map_or(i64::MAX, |limit| i64::try_from(limit).unwrap_or(i64::MAX));
            let values = params![
                filter.kind.map(CallbackKind::attribute_name),
                filter.state.map(CallbackState::as_str),
                filter.since.map(millis),
                filter.until.map(millis),
                filter.needs_reconciliation,
                limit,
            ];
            select(connection, &sql, values)
        })
    }

    fn find(&self, daraja_id: String) -> StoreFuture<'_, Vec<StoredCallback>> {
        self.submit(move |connection| {
            let carrying = CARRYING.replace("?2", "?1");
            let sql = format!("SELECT {COLUMNS} FROM callbacks WHERE id IN ({carrying}) ORDER BY id DESC");
            select(connection, &sql, params![daraja_id])
        })
    }

    fn prune(&self, before: SystemTime) -> StoreFuture<'_, u64> {
        self.submit(move |connection| {
            let mut prunable = connection.prepare_cached(
                "SELECT id, secondary_ids FROM callbacks WHERE state = 'done' AND reconcile_reason IS NULL \
                 AND settled_at < ?1",
            )?;
            let rows: Vec<(i64, String)> = prunable
                .query_map([millis(before)], |row| Ok((row.get(0)?, row.get(1)?)))?
                .collect::<Result<_, _>>()?;
            let mut forget_id =
                connection.prepare_cached("DELETE FROM callback_ids WHERE value = ?1 AND callback_id = ?2")?;
            let mut forget = connection.prepare_cached("DELETE FROM callbacks WHERE id = ?1")?;
            for (id, secondary_ids) in &rows {
                for (_, value) in parse_ids(secondary_ids) {
                    forget_id.execute(params![value, id])?;
                }
                forget.execute([id])?;
            }
            Ok(u64::try_from(rows.len()).unwrap_or(u64::MAX))
        })
    }

    fn retry(&self, id: RecordId, now: SystemTime) -> StoreFuture<'_, bool> {
        self.submit(move |connection| {
            let changed = connection
                .prepare_cached(
                    "UPDATE callbacks SET state = 'pending', due_at = ?2 \
                     WHERE id = ?1 AND state IN ('dead', 'quarantined', 'failed')",
                )?
                .execute(params![row_id(id), millis(now)])?;
            Ok(changed > 0)
        })
    }

    fn stats(&self) -> InboxStats {
        InboxStats {
            commits: self.counters.commits.load(Ordering::Relaxed),
            operations: self.counters.operations.load(Ordering::Relaxed),
        }
    }
}

/// Stores `callback` as delivery 1 of its kind and dedupe key; when one is
/// stored already (the rare path), finds the delivery with the same body, a
/// duplicate, or stores it as the next delivery, a conflicting one.
fn record(connection: &Connection, callback: &NewCallback) -> rusqlite::Result<Recorded> {
    if let Some(id) = insert(connection, callback, 1)? {
        mark(connection, callback, id)?;
        return Ok(Recorded::New(record_id(id)));
    }
    let kind = callback.arrived.kind.attribute_name();
    let mut stored = connection.prepare_cached(
        "SELECT id, delivery, body FROM callbacks JOIN callback_bodies USING (id) WHERE dedupe_key = ?1 AND kind = ?2 \
         ORDER BY id",
    )?;
    let deliveries: Vec<(i64, i64, Vec<u8>)> = stored
        .query_map(params![callback.dedupe_key, kind], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?
        .collect::<Result<_, _>>()?;
    // Daraja's retries are byte for byte the same: only another body is
    // parsed, to compare it as JSON.
    let body = &callback.arrived.body[..];
    let same = deliveries.iter().find(|(.., stored)| stored[..] == *body).or_else(|| {
        let digest = BodyDigest::of(callback.arrived.kind, body);
        deliveries.iter().find(|(.., stored)| BodyDigest::of(callback.arrived.kind, stored) == digest)
    });
    if let Some((id, ..)) = same {
        let (code, tag) = connection
            .prepare_cached(
                "UPDATE callbacks SET seen_count = seen_count + 1, last_seen_at = ?2 WHERE id = ?1 \
                 RETURNING verdict_code, verdict_tag",
            )?
            .query_row(params![id, millis(callback.arrived.received_at)], |row| {
                Ok((row.get::<_, Option<String>>(0)?, row.get::<_, Option<String>>(1)?))
            })?;
        let verdict = code.and_then(|code| StoredVerdict { code, tag }.to_validation());
        return Ok(Recorded::Duplicate { id: record_id(*id), verdict });
    }
    let (earlier_number, earlier_summary) =
        deliveries.last().map_or((0, None), |(_, number, stored)| (*number, summary(stored)));
    let number = earlier_number.saturating_add(1);
    let id = insert(connection, callback, number)?.ok_or(rusqlite::Error::QueryReturnedNoRows)?;
    mark(connection, callback, id)?;
    // A conflicting delivery: the callback's one mark moves to it.
    connection
        .prepare_cached(
            "UPDATE callbacks SET reconcile_reason = NULL WHERE dedupe_key = ?1 AND kind = ?2 AND id != ?3 \
             AND reconcile_reason IS NOT NULL",
        )?
        .execute(params![callback.dedupe_key, kind, id])?;
    let reason = conflict_reason(earlier_summary.as_deref(), summary(body).as_deref());
    connection
        .prepare_cached("UPDATE callbacks SET reconcile_reason = ?2 WHERE id = ?1")?
        .execute(params![id, reason])?;
    Ok(Recorded::Conflicting { id: record_id(id), number: u32::try_from(number).unwrap_or(u32::MAX) })
}

/// Inserts `callback` as delivery `number` with its secondary ids; `None`
/// when that delivery is stored already.
fn insert(connection: &Connection, callback: &NewCallback, number: i64) -> rusqlite::Result<Option<i64>> {
    let inserted = connection
        .prepare_cached(
            "INSERT INTO callbacks (kind, route_path, dedupe_key, state, content_type, forwarded, peer, \
             received_at, last_seen_at, due_at, is_final, secondary_ids, client, attempts, delivery) \
             VALUES (?1, ?2, ?3, 'pending', ?4, ?5, ?6, ?7, ?7, ?8, ?9, ?10, ?11, 1, ?12) \
             ON CONFLICT (dedupe_key, kind, delivery) WHERE dedupe_key IS NOT NULL DO NOTHING",
        )?
        .execute(params![
            callback.arrived.kind.attribute_name(),
            callback.arrived.route_path,
            callback.dedupe_key,
            callback.arrived.content_type,
            callback.arrived.forwarded,
            callback.arrived.peer.map(|peer| peer.to_string()),
            millis(callback.arrived.received_at),
            millis(callback.lease_until),
            callback.outcome_unknown.is_none(),
            serde_json::to_string(&callback.secondary_ids).unwrap_or_else(|_| "[]".to_owned()),
            callback.arrived.client.map(|client| client.to_string()),
            number,
        ])?;
    if inserted == 0 {
        return Ok(None);
    }
    let id = connection.last_insert_rowid();
    store_body(connection, id, &callback.arrived.body)?;
    let mut add_id =
        connection.prepare_cached("INSERT OR IGNORE INTO callback_ids (value, callback_id) VALUES (?1, ?2)")?;
    for (_, value) in &callback.secondary_ids {
        add_id.execute(params![value, id])?;
    }
    Ok(Some(id))
}

/// Stores the body of callback `id`, written once: a settlement rewrites
/// the callback's small row, never its body.
fn store_body(connection: &Connection, id: i64, body: &[u8]) -> rusqlite::Result<()> {
    connection.prepare_cached("INSERT INTO callback_bodies (id, body) VALUES (?1, ?2)")?.execute(params![id, body])?;
    Ok(())
}

/// The reconciliation marks a new callback `id` sets or clears: one whose
/// outcome is unknown is marked unless a final callback sharing an id is
/// stored; a final one clears the marks of the first deliveries sharing
/// one of its ids (a conflict's mark waits for the reconciliation).
fn mark(connection: &Connection, callback: &NewCallback, id: i64) -> rusqlite::Result<()> {
    let shared_ids = std::iter::once(&callback.dedupe_key).chain(callback.secondary_ids.iter().map(|(_, value)| value));
    match &callback.outcome_unknown {
        Some(reason) => {
            // Each side stops at the first final callback it finds.
            let mut settled_elsewhere = connection.prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM callbacks WHERE dedupe_key = ?2 AND id != ?1 AND is_final = 1 \
                 AND state != 'quarantined') OR EXISTS (SELECT 1 FROM callback_ids JOIN callbacks \
                 ON callbacks.id = callback_ids.callback_id WHERE callback_ids.value = ?2 AND callbacks.id != ?1 \
                 AND callbacks.is_final = 1 AND callbacks.state != 'quarantined')",
            )?;
            let mut known = false;
            for value in shared_ids {
                known |= settled_elsewhere.query_row(params![id, value], |row| row.get::<_, bool>(0))?;
            }
            if !known {
                connection
                    .prepare_cached("UPDATE callbacks SET reconcile_reason = ?2 WHERE id = ?1")?
                    .execute(params![id, reason])?;
            }
        }
        None => {
            // Most of the time nothing needs reconciling: one look at the
            // index of marks spares a statement per id.
            let marked = connection
                .prepare_cached("SELECT EXISTS (SELECT 1 FROM callbacks WHERE reconcile_reason IS NOT NULL)")?
                .query_row([], |row| row.get::<_, bool>(0))?;
            if !marked {
                return Ok(());
            }
            // Driven by the callbacks that need reconciling (an index of
            // their own), which are few, and not by those carrying the id,
            // which an id shared by many callbacks would make many.
            let mut clear = connection.prepare_cached(
                "UPDATE callbacks SET reconcile_reason = NULL WHERE reconcile_reason IS NOT NULL AND id != ?1 \
                 AND delivery = 1 AND (dedupe_key = ?2 OR EXISTS (SELECT 1 FROM callback_ids \
                 WHERE callback_ids.callback_id = callbacks.id AND callback_ids.value = ?2))",
            )?;
            for value in shared_ids {
                clear.execute(params![id, value])?;
            }
        }
    }
    Ok(())
}

fn quarantine(
    connection: &Connection,
    callback: &QuarantinedCallback,
    max_rows: u64,
    max_bytes: u64,
) -> rusqlite::Result<RecordId> {
    connection
        .prepare_cached(
            "INSERT INTO callbacks (kind, route_path, state, content_type, forwarded, peer, received_at, \
             last_seen_at, last_error, is_final, client) VALUES (?1, ?2, 'quarantined', ?3, ?4, ?5, ?6, ?6, ?7, 0, ?8)",
        )?
        .execute(params![
            callback.arrived.kind.attribute_name(),
            callback.arrived.route_path,
            callback.arrived.content_type,
            callback.arrived.forwarded,
            callback.arrived.peer.map(|peer| peer.to_string()),
            millis(callback.arrived.received_at),
            callback.parse_error,
            callback.arrived.client.map(|client| client.to_string()),
        ])?;
    let id = connection.last_insert_rowid();
    store_body(connection, id, &callback.arrived.body)?;
    let mut dropped = 0_u64;
    loop {
        let (rows, bytes): (i64, i64) = connection.query_row(
            "SELECT COUNT(*), COALESCE(SUM(LENGTH(body)), 0) FROM callbacks JOIN callback_bodies USING (id) \
             WHERE state = 'quarantined'",
            [],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )?;
        let over = u64::try_from(rows).unwrap_or(0) > max_rows || u64::try_from(bytes).unwrap_or(0) > max_bytes;
        if !over || rows <= 1 {
            break;
        }
        connection.execute(
            "DELETE FROM callbacks WHERE id = (SELECT MIN(id) FROM callbacks WHERE state = 'quarantined')",
            [],
        )?;
        dropped += 1;
    }
    if dropped > 0 {
        tracing::error!(dropped, max_rows, max_bytes, "quarantine full: dropped the oldest bodies that did not parse");
    }
    Ok(record_id(id))
}

fn settle(connection: &Connection, id: RecordId, outcome: &Outcome, now: SystemTime) -> rusqlite::Result<()> {
    let id = row_id(id);
    let changed = match outcome {
        Outcome::Done => connection
            .prepare_cached(
                "UPDATE callbacks SET state = 'done', due_at = NULL, last_error = NULL, \
                 settled_at = ?2 WHERE id = ?1",
            )?
            .execute(params![id, millis(now)])?,
        Outcome::Verdict { verdict, fell_back } => connection
            .prepare_cached(
                "UPDATE callbacks SET state = 'done', due_at = NULL, verdict_code = ?2, \
             verdict_tag = ?3, settled_at = ?4, reconcile_reason = CASE WHEN ?5 THEN ?6 ELSE reconcile_reason END \
             WHERE id = ?1",
            )?
            .execute(params![id, verdict.code, verdict.tag, millis(now), fell_back, FELL_BACK_REASON,])?,
        Outcome::Failed { error, retry_at } => connection
            .prepare_cached("UPDATE callbacks SET state = ?2, due_at = ?3, last_error = ?4 WHERE id = ?1")?
            .execute(params![
                id,
                if retry_at.is_some() { CallbackState::Failed.as_str() } else { CallbackState::Dead.as_str() },
                retry_at.map(millis),
                error,
            ])?,
    };
    if changed == 0 {
        return Err(rusqlite::Error::QueryReturnedNoRows);
    }
    Ok(())
}

//! The shared store: PostgreSQL, for several instances behind a load
//! balancer. Deduplication is the database's (a unique index and
//! `ON CONFLICT`), so it holds whichever instance a copy reaches; handlers
//! are claimed with `FOR UPDATE SKIP LOCKED` and a lease, so one instance
//! runs a callback at a time and a dead instance's callbacks are taken over
//! when their lease ends.

use std::net::SocketAddr;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use tokio_postgres::types::ToSql;
use tokio_postgres::{NoTls, Row};

mod batch;
mod schema;

use std::sync::Arc;

use self::batch::{Queue, Settlement};
use super::store::{
    Arrived, CallbackState, InboxStats, InboxStore, ListFilter, NewCallback, Outcome, QuarantineBounds,
    QuarantinedCallback, StoreError, StoreFuture, StoredCallback, StoredVerdict, record_id, row_id,
};
use crate::kind::CallbackKind;
use crate::record::{RecordId, Recorded};

const COLUMNS: &str = "id, kind, route_path, dedupe_key, delivery, state, body, content_type, forwarded, peer, client, \
    received_at, last_seen_at, seen_count, attempts, due_at, last_error, verdict_code, verdict_tag, \
    reconcile_reason, settled_at, id_names, id_values";

/// The PostgreSQL inbox store; see [`Inbox::postgres`](super::Inbox::postgres).
///
/// Every instance of a service points at the same database (and schema):
/// a duplicate is recognised whichever instance it reaches, and a callback
/// is handled by one instance at a time.
///
/// ```no_run
/// use pesakit::inbox::{InboxStore, ListFilter, PostgresStore};
///
/// # async fn run() -> Result<(), pesakit::inbox::StoreError> {
/// let store = PostgresStore::builder("postgres://pesakit@db.internal/payments")
///     .schema("pesakit")
///     .max_connections(32)
///     .connect()
///     .await?;
/// let dead = store.list(ListFilter { limit: Some(10), ..ListFilter::default() }).await?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: Pool,
    writes: Arc<Queue>,
    quarantine: QuarantineBounds,
}

/// How to reach the database; see [`PostgresStore::builder`].
#[derive(Clone)]
pub struct PostgresStoreBuilder {
    url: String,
    schema: String,
    max_connections: usize,
    wait: Duration,
    #[cfg(feature = "postgres-tls")]
    tls: Option<rustls::ClientConfig>,
}

impl std::fmt::Debug for PostgresStoreBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may hold a password: it is shown as tokio-postgres shows
        // a configuration, with the password redacted.
        let config = self.url.parse::<tokio_postgres::Config>();
        let mut debug = f.debug_struct("PostgresStoreBuilder");
        match &config {
            Ok(config) => debug.field("config", config),
            Err(_) => debug.field("config", &"(the URL does not parse)"),
        };
        debug.field("schema", &self.schema).field("max_connections", &self.max_connections).field("wait", &self.wait);
        #[cfg(feature = "postgres-tls")]
        debug.field("tls", &self.tls.is_some());
        debug.finish()
    }
}

impl PostgresStoreBuilder {
    /// The schema the inbox's tables live in (default `pesakit`), created
    /// if missing: lower-case letters, digits and `_`, starting with a
    /// letter, at most 63 characters.
    pub fn schema(mut self, schema: impl Into<String>) -> Self {
        self.schema = schema.into();
        self
    }

    /// Most connections this instance opens (default 16).
    pub fn max_connections(mut self, connections: usize) -> Self {
        self.max_connections = connections.max(1);
        self
    }

    /// How long an operation waits for a connection, or for one to open,
    /// before the store counts as unavailable (default 5 s): the request is
    /// then answered 500, never 200.
    pub fn wait(mut self, wait: Duration) -> Self {
        self.wait = wait;
        self
    }

    /// Encrypts the connections with rustls, trusting what `config`
    /// trusts (your provider's CA, or `webpki-roots`). Add
    /// `sslmode=require` to the URL to refuse a server that does not offer
    /// TLS; without it a server without TLS is reached unencrypted.
    ///
    /// ```no_run
    /// # async fn run(roots: rustls::RootCertStore) -> Result<(), pesakit::inbox::StoreError> {
    /// use pesakit::inbox::PostgresStore;
    ///
    /// let tls = rustls::ClientConfig::builder().with_root_certificates(roots).with_no_client_auth();
    /// let store = PostgresStore::builder("postgres://pesakit@db.internal/payments?sslmode=require")
    ///     .tls(tls)
    ///     .connect()
    ///     .await?;
    /// # Ok(())
    /// # }
    /// ```
    #[cfg(feature = "postgres-tls")]
    pub fn tls(mut self, config: rustls::ClientConfig) -> Self {
        self.tls = Some(config);
        self
    }

    /// Connects, creates the schema and applies the migrations it lacks.
    /// The store's writer tasks run on the Tokio runtime that connects: use
    /// the store on that runtime.
    pub async fn connect(self) -> Result<PostgresStore, StoreError> {
        if !is_plain_identifier(&self.schema) {
            return Err(StoreError::new(format!(
                "the schema name {:?} is not a plain PostgreSQL identifier: use lower-case letters, digits and `_`, \
                 starting with a letter, at most 63 characters",
                self.schema
            )));
        }
        let mut config: tokio_postgres::Config =
            self.url.parse().map_err(|error| StoreError::caused_by("the PostgreSQL URL does not parse", error))?;
        // Every statement names its tables unqualified: the schema is the
        // connection's search path.
        let search_path = format!("-c search_path={}", self.schema);
        let options = match config.get_options() {
            Some(options) => format!("{options} {search_path}"),
            None => search_path,
        };
        config.options(&options);
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(self.wait);
        }
        let manager_config = ManagerConfig { recycling_method: RecyclingMethod::Fast };
        #[cfg(feature = "postgres-tls")]
        let manager = match self.tls {
            Some(tls) => {
                Manager::from_config(config, tokio_postgres_rustls::MakeRustlsConnect::new(tls), manager_config)
            }
            None => Manager::from_config(config, NoTls, manager_config),
        };
        #[cfg(not(feature = "postgres-tls"))]
        let manager = Manager::from_config(config, NoTls, manager_config);
        let pool = Pool::builder(manager)
            .max_size(self.max_connections)
            .wait_timeout(Some(self.wait))
            .create_timeout(Some(self.wait))
            .runtime(Runtime::Tokio1)
            .build()
            .map_err(|error| StoreError::caused_by("building the PostgreSQL pool", error))?;
        let mut client = pool.get().await.map_err(|error| StoreError::caused_by("no PostgreSQL connection", error))?;
        schema::migrate(&mut client, &self.schema).await?;
        drop(client);
        // The writers run on this runtime: the store lives as long as it does.
        Ok(PostgresStore {
            writes: Arc::new(Queue::start(&pool, writers(self.max_connections))),
            pool,
            quarantine: QuarantineBounds::default(),
        })
    }
}

impl PostgresStore {
    /// A store on the database at `url` (`postgres://user:password@host:port/database`,
    /// or the key-value form); connect with [`connect`](PostgresStoreBuilder::connect).
    pub fn builder(url: impl Into<String>) -> PostgresStoreBuilder {
        PostgresStoreBuilder {
            url: url.into(),
            schema: "pesakit".to_owned(),
            max_connections: 16,
            wait: Duration::from_secs(5),
            #[cfg(feature = "postgres-tls")]
            tls: None,
        }
    }

    /// Bounds quarantined bodies (defaults: 10,000 rows, 64 MiB); past
    /// either, the oldest quarantined bodies are deleted, with an error log.
    pub fn quarantine_bounds(mut self, rows: u64, bytes: u64) -> Self {
        self.quarantine = QuarantineBounds::new(rows, bytes);
        self
    }

    async fn client(&self) -> Result<deadpool_postgres::Object, StoreError> {
        self.pool.get().await.map_err(|error| StoreError::caused_by("no PostgreSQL connection", error))
    }

    /// Runs one statement and returns its rows.
    async fn query(&self, sql: &str, values: &[&(dyn ToSql + Sync)]) -> Result<Vec<Row>, StoreError> {
        let client = self.client().await?;
        let statement = client.prepare_cached(sql).await.map_err(database)?;
        client.query(&statement, values).await.map_err(database)
    }

    async fn callbacks(&self, sql: &str, values: &[&(dyn ToSql + Sync)]) -> Result<Vec<StoredCallback>, StoreError> {
        self.query(sql, values).await?.iter().map(read_row).collect()
    }
}

impl InboxStore for PostgresStore {
    fn record(&self, callback: NewCallback) -> StoreFuture<'_, Recorded> {
        Box::pin(self.writes.record(callback))
    }

    fn quarantine(&self, callback: QuarantinedCallback) -> StoreFuture<'_, RecordId> {
        Box::pin(async move {
            let arrived = ArrivedValues::of(&callback.arrived);
            let mut values = arrived.values().to_vec();
            values.push(&callback.parse_error);
            let rows = self
                .query(
                    "INSERT INTO callbacks (kind, route_path, body, content_type, forwarded, peer, client, \
                     received_at, last_seen_at, last_error, state, is_final) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9, 'quarantined', FALSE) RETURNING id",
                    &values,
                )
                .await?;
            let id: i64 = rows
                .first()
                .map(|row| row.get(0))
                .ok_or_else(|| StoreError::new("the quarantined body's id was not returned"))?;
            // Newest first, the running count and size decide; the newest
            // is always kept.
            let max_rows = i64::try_from(self.quarantine.rows).unwrap_or(i64::MAX);
            let max_bytes = i64::try_from(self.quarantine.bytes).unwrap_or(i64::MAX);
            let dropped = self
                .query(
                    "DELETE FROM callbacks WHERE id IN (SELECT id FROM (SELECT id, \
                     ROW_NUMBER() OVER (ORDER BY id DESC) AS position, \
                     SUM(LENGTH(body)) OVER (ORDER BY id DESC) AS bytes \
                     FROM callbacks WHERE state = 'quarantined') AS newest_first \
                     WHERE position > 1 AND (position > $1 OR bytes > $2)) RETURNING id",
                    &[&max_rows, &max_bytes],
                )
                .await?
                .len();
            if dropped > 0 {
                tracing::error!(
                    dropped,
                    max_rows,
                    max_bytes,
                    "quarantine full: dropped the oldest bodies that did not parse"
                );
            }
            Ok(record_id(id))
        })
    }

    fn settle(&self, id: RecordId, outcome: Outcome) -> StoreFuture<'_, ()> {
        Box::pin(self.writes.settle(Settlement { id, outcome, at: SystemTime::now() }))
    }

    fn claim_due(
        &self,
        now: SystemTime,
        lease_until: SystemTime,
        limit: usize,
    ) -> StoreFuture<'_, Vec<StoredCallback>> {
        Box::pin(async move {
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            // Rows another instance is claiming are skipped, not waited for.
            let sql = format!(
                "UPDATE callbacks SET due_at = $2, attempts = attempts + 1 WHERE id IN (SELECT id FROM callbacks \
                 WHERE state IN ('pending', 'failed') AND due_at <= $1 ORDER BY due_at, id LIMIT $3 \
                 FOR UPDATE SKIP LOCKED) RETURNING {COLUMNS}"
            );
            let mut due = self.callbacks(&sql, &[&now, &lease_until, &limit]).await?;
            due.sort_by_key(|callback| callback.id);
            Ok(due)
        })
    }

    fn get(&self, id: RecordId) -> StoreFuture<'_, Option<StoredCallback>> {
        Box::pin(async move {
            let sql = format!("SELECT {COLUMNS} FROM callbacks WHERE id = $1");
            Ok(self.callbacks(&sql, &[&row_id(id)]).await?.pop())
        })
    }

    fn list(&self, filter: ListFilter) -> StoreFuture<'_, Vec<StoredCallback>> {
        Box::pin(async move {
            let sql = format!(
                "SELECT {COLUMNS} FROM callbacks WHERE ($1::TEXT IS NULL OR kind = $1) \
                 AND ($2::TEXT IS NULL OR state = $2) AND ($3::TIMESTAMPTZ IS NULL OR received_at >= $3) \
                 AND ($4::TIMESTAMPTZ IS NULL OR received_at < $4) \
                 AND (NOT $5 OR reconcile_reason IS NOT NULL) ORDER BY id DESC LIMIT $6"
            );
            let limit = filter.limit.map_or(i64::MAX, |limit| i64::try_from(limit).unwrap_or(i64::MAX));
            let kind = filter.kind.map(CallbackKind::attribute_name);
            let state = filter.state.map(CallbackState::as_str);
            self.callbacks(&sql, &[&kind, &state, &filter.since, &filter.until, &filter.needs_reconciliation, &limit])
                .await
        })
    }

    fn find(&self, daraja_id: String) -> StoreFuture<'_, Vec<StoredCallback>> {
        Box::pin(async move {
            let sql = format!(
                "SELECT {COLUMNS} FROM callbacks WHERE id IN (SELECT id FROM callbacks WHERE dedupe_key = $1 \
                 UNION SELECT callback_id FROM callback_ids WHERE value = $1) ORDER BY id DESC"
            );
            self.callbacks(&sql, &[&daraja_id]).await
        })
    }

    fn prune(&self, before: SystemTime) -> StoreFuture<'_, u64> {
        Box::pin(async move {
            let rows = self
                .query(
                    "WITH pruned AS (DELETE FROM callbacks WHERE state = 'done' AND reconcile_reason IS NULL \
                     AND settled_at < $1 RETURNING id, id_values), \
                     forgotten AS (DELETE FROM callback_ids USING pruned \
                     WHERE callback_ids.callback_id = pruned.id AND callback_ids.value = ANY (pruned.id_values)) \
                     SELECT COUNT(*) FROM pruned",
                    &[&before],
                )
                .await?;
            let pruned: i64 = rows.first().map_or(0, |row| row.get(0));
            Ok(u64::try_from(pruned).unwrap_or(0))
        })
    }

    /// Commits are the batches written; each holds one or more records
    /// and settlements.
    fn stats(&self) -> InboxStats {
        let (commits, operations) = self.writes.counters();
        InboxStats { commits, operations }
    }

    fn retry(&self, id: RecordId, now: SystemTime) -> StoreFuture<'_, bool> {
        Box::pin(async move {
            let rows = self
                .query(
                    "UPDATE callbacks SET state = 'pending', due_at = $2 \
                     WHERE id = $1 AND state IN ('dead', 'quarantined', 'failed') RETURNING id",
                    &[&row_id(id), &now],
                )
                .await?;
            Ok(!rows.is_empty())
        })
    }
}

/// What every stored request has, as statement values `$1` to `$8`: kind,
/// route path, body, content type, forwarding headers, peer, client, time
/// received.
struct ArrivedValues<'a> {
    arrived: &'a Arrived,
    kind: &'static str,
    body: &'a [u8],
    peer: Option<String>,
    client: Option<String>,
}

impl<'a> ArrivedValues<'a> {
    fn of(arrived: &'a Arrived) -> Self {
        Self {
            arrived,
            kind: arrived.kind.attribute_name(),
            body: &arrived.body,
            peer: arrived.peer.map(|peer| peer.to_string()),
            client: arrived.client.map(|client| client.to_string()),
        }
    }

    fn values(&self) -> [&(dyn ToSql + Sync); 8] {
        [
            &self.kind,
            &self.arrived.route_path,
            &self.body,
            &self.arrived.content_type,
            &self.arrived.forwarded,
            &self.peer,
            &self.client,
            &self.arrived.received_at,
        ]
    }
}

/// Writer tasks, each writing a batch of records and settlements at a
/// time: half the connections, so that their commits share WAL flushes
/// and the rest serve claims and queries.
fn writers(max_connections: usize) -> usize {
    (max_connections / 2).max(1)
}

/// A stored callback's answer from a row of `pesakit_record_batch`.
fn recorded(row: &Row) -> Result<Recorded, StoreError> {
    let id = record_id(row.try_get(0).map_err(database)?);
    if row.try_get(1).map_err(database)? {
        let code: Option<String> = row.try_get(2).map_err(database)?;
        let tag: Option<String> = row.try_get(3).map_err(database)?;
        let verdict = code.and_then(|code| StoredVerdict { code, tag }.to_validation());
        return Ok(Recorded::Duplicate { id, verdict });
    }
    match u32::try_from(row.try_get::<_, i32>(4).map_err(database)?).unwrap_or(u32::MAX) {
        1 => Ok(Recorded::New(id)),
        number => Ok(Recorded::Conflicting { id, number }),
    }
}

/// `text` as PostgreSQL stores text: it has no NUL character, which a
/// hostile body can put into an id (JSON's `\u0000`).
fn pg_text(text: &str) -> String {
    text.replace('\0', "\u{fffd}")
}

/// A driver error as the store's: a statement the database refused keeps
/// the database's own error (its message and code) as the source.
fn database(error: tokio_postgres::Error) -> StoreError {
    match error.as_db_error().map(|db| db.code().code().to_owned()) {
        Some(code) => {
            let context = format!("PostgreSQL refused the statement (SQLSTATE {code})");
            match error.into_source() {
                Some(db) => StoreError::caused_by(context, db),
                None => StoreError::new(context),
            }
        }
        None => StoreError::caused_by("PostgreSQL", error),
    }
}

fn is_plain_identifier(name: &str) -> bool {
    let mut characters = name.chars();
    characters.next().is_some_and(|first| first.is_ascii_lowercase())
        && characters.all(|character| character.is_ascii_lowercase() || character.is_ascii_digit() || character == '_')
        && name.len() <= 63
}

fn read_row(row: &Row) -> Result<StoredCallback, StoreError> {
    let column = |error: tokio_postgres::Error| StoreError::caused_by("a stored callback does not read back", error);
    let kind: String = row.try_get("kind").map_err(column)?;
    let state: String = row.try_get("state").map_err(column)?;
    let peer: Option<String> = row.try_get("peer").map_err(column)?;
    let client: Option<String> = row.try_get("client").map_err(column)?;
    let names: Vec<String> = row.try_get("id_names").map_err(column)?;
    let values: Vec<String> = row.try_get("id_values").map_err(column)?;
    let verdict_code: Option<String> = row.try_get("verdict_code").map_err(column)?;
    let arrived = Arrived {
        kind: CallbackKind::from_attribute_name(&kind)
            .ok_or_else(|| StoreError::new(format!("a stored callback has an unknown kind {kind:?}")))?,
        route_path: row.try_get("route_path").map_err(column)?,
        body: Bytes::from(row.try_get::<_, Vec<u8>>("body").map_err(column)?),
        content_type: row.try_get("content_type").map_err(column)?,
        forwarded: row.try_get("forwarded").map_err(column)?,
        peer: peer.and_then(|peer| peer.parse::<SocketAddr>().ok()),
        client: client.and_then(|client| client.parse().ok()),
        received_at: row.try_get("received_at").map_err(column)?,
    };
    Ok(StoredCallback {
        id: record_id(row.try_get("id").map_err(column)?),
        arrived,
        dedupe_key: row.try_get("dedupe_key").map_err(column)?,
        delivery: u32::try_from(row.try_get::<_, i32>("delivery").map_err(column)?).unwrap_or(0),
        secondary_ids: names.into_iter().zip(values).collect(),
        state: CallbackState::from_name(&state)
            .ok_or_else(|| StoreError::new(format!("a stored callback has an unknown state {state:?}")))?,
        last_seen_at: row.try_get("last_seen_at").map_err(column)?,
        seen_count: u32::try_from(row.try_get::<_, i32>("seen_count").map_err(column)?).unwrap_or(0),
        attempts: u32::try_from(row.try_get::<_, i32>("attempts").map_err(column)?).unwrap_or(0),
        next_attempt_at: row.try_get("due_at").map_err(column)?,
        last_error: row.try_get("last_error").map_err(column)?,
        verdict: verdict_code
            .map(|code| Ok(StoredVerdict { code, tag: row.try_get("verdict_tag").map_err(column)? }))
            .transpose()?,
        needs_reconciliation: row.try_get("reconcile_reason").map_err(column)?,
        settled_at: row.try_get("settled_at").map_err(column)?,
    })
}

//! The inbox conformance suite: what every store must do, run from the same
//! code against SQLite (`tests/inbox.rs`), PostgreSQL
//! (`tests/inbox_postgres.rs`) and memory (`tests/inbox_memory.rs`). Each
//! test gets a store of its own: a new SQLite file, a new PostgreSQL
//! schema, a new store in memory.
//!
//! A test is written once, in a theme's file, inside [`conformance!`]: the
//! macro makes it a `#[tokio::test]` on the store of the test crate that
//! includes the suite (its `STORE_UNDER_TEST`), so no test can be written
//! that some store does not run.

#![allow(dead_code, unreachable_pub)]

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use http::StatusCode;
use pesakit::inbox::{
    CallbackState, InboxStore, ListFilter, MemoryStore, PostgresStore, RecordId, SqliteStore, StoredCallback,
};
use pesakit::testing::{self, C2bPaymentBuilder, ResultBuilder, StkCallbackBuilder};
use pesakit::{
    B2cParams, C2bPayment, CallbackKind, DarajaResult, Delivery, Inbox, QueueTimeout, RejectCode, State, StkCallback,
    Validation, daraja,
};

use crate::common;
#[path = "../support/postgres.rs"]
pub mod postgres;
use postgres::POSTGRES_URL_VARIABLE;
#[path = "../support/client.rs"]
pub mod client;
#[path = "../support/log_text.rs"]
pub mod log_text;
#[path = "../support/troubled_store.rs"]
pub mod troubled_store;
use troubled_store::Troubled;

/// Defines conformance tests, each an `async fn name(place: Place) { … }`
/// run as a `#[tokio::test]` on a place of its own on the including test
/// crate's `STORE_UNDER_TEST` (a PostgreSQL test without a server says so
/// and passes without running).
macro_rules! conformance {
    ($($(#[doc = $doc:expr])* async fn $name:ident($place:ident: Place) $body:block)*) => {
        $(
            $(#[doc = $doc])*
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                if let Some($place) = crate::STORE_UNDER_TEST.place(stringify!($name)) $body
            }
        )*
    };
}

mod conflicts;
mod duplicates;
mod quarantine;
mod reconciliation;
mod retries;
mod storage;

/// Which store a test runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
    Memory,
}

/// A store of a test's own, removed when dropped: a directory holding a
/// SQLite file, a PostgreSQL schema, or a store in memory (which each
/// opening shares, as openings of one file do).
pub enum Place {
    Sqlite(std::path::PathBuf),
    Postgres { url: String, schema: String },
    Memory(MemoryStore),
}

impl Backend {
    /// A new, empty place named after the test; `None` (with a message) for
    /// PostgreSQL when no server is configured.
    pub fn place(self, name: &str) -> Option<Place> {
        match self {
            Self::Sqlite => {
                let dir = std::env::temp_dir().join(format!("pesakit-inbox-test-{}-{name}", std::process::id()));
                std::fs::remove_dir_all(&dir).ok();
                std::fs::create_dir_all(&dir).expect("a temporary directory");
                Some(Place::Sqlite(dir))
            }
            Self::Postgres => {
                postgres::url_or_skip().map(|url| Place::Postgres { url, schema: postgres::new_schema() })
            }
            Self::Memory => Some(Place::Memory(MemoryStore::new())),
        }
    }
}

impl Place {
    /// The store, opened (and migrated) afresh, with its default settings.
    pub async fn store(&self) -> Arc<dyn InboxStore> {
        self.opened(|sqlite| sqlite, |postgres| postgres, |memory| memory).await
    }

    pub async fn store_with_quarantine_bounds(&self, rows: u64, bytes: u64) -> Arc<dyn InboxStore> {
        self.opened(
            |sqlite| sqlite.quarantine_bounds(rows, bytes),
            |postgres| postgres.quarantine_bounds(rows, bytes),
            |memory| memory.quarantine_bounds(rows, bytes),
        )
        .await
    }

    /// The store opened afresh, then configured by the function for its kind.
    async fn opened(
        &self,
        sqlite: impl FnOnce(SqliteStore) -> SqliteStore,
        postgres: impl FnOnce(PostgresStore) -> PostgresStore,
        memory: impl FnOnce(MemoryStore) -> MemoryStore,
    ) -> Arc<dyn InboxStore> {
        match self {
            Self::Sqlite(dir) => Arc::new(sqlite(SqliteStore::open(dir.join("inbox.db")).expect("the store opens"))),
            Self::Postgres { url, schema } => Arc::new(postgres(
                PostgresStore::builder(url.clone())
                    .schema(schema.clone())
                    .max_connections(8)
                    .connect()
                    .await
                    .unwrap_or_else(|error| panic!("{POSTGRES_URL_VARIABLE} is set but: {error}")),
            )),
            Self::Memory(store) => Arc::new(memory(store.clone())),
        }
    }

    /// A fast-retrying inbox on this place.
    pub async fn inbox(&self) -> Inbox {
        fast(Inbox::with_store(self.store().await))
    }
}

/// Retries and polls in milliseconds, so the tests are quick.
pub fn fast(inbox: Inbox) -> Inbox {
    inbox.retry_backoff(Duration::from_millis(10), Duration::from_millis(40)).poll_interval(Duration::from_millis(10))
}

impl Place {
    /// Takes the store back to its first schema, as an inbox written before
    /// deliveries were told apart has it: no digests, one row per kind and
    /// dedupe key. `false` for a store in memory, which has no schema.
    pub fn back_to_first_schema(&self) -> bool {
        // PostgreSQL keeps each body's digest and summary; SQLite reads
        // them from the bodies when it compares, which it keeps in a table
        // of their own since its third schema.
        let (bodies, digests): (&[&str], &[&str]) = match self {
            Self::Memory(_) => return false,
            Self::Sqlite(_) => (
                &[
                    "ALTER TABLE callbacks ADD COLUMN body BLOB NOT NULL DEFAULT x''",
                    "UPDATE callbacks SET body = (SELECT body FROM callback_bodies \
                     WHERE callback_bodies.id = callbacks.id)",
                    "DROP TRIGGER callbacks_forget_body",
                    "DROP TABLE callback_bodies",
                    "DELETE FROM pesakit_schema WHERE version = 3",
                ],
                &[],
            ),
            Self::Postgres { .. } => (
                &[],
                &[
                    "ALTER TABLE {schema}callbacks DROP COLUMN body_digest",
                    "ALTER TABLE {schema}callbacks DROP COLUMN summary",
                ],
            ),
        };
        let statements = bodies.iter().chain(&["DROP INDEX {schema}callbacks_deliveries"]).chain(digests).chain(&[
            "ALTER TABLE {schema}callbacks DROP COLUMN delivery",
            "CREATE UNIQUE INDEX callbacks_dedupe_key_kind ON {schema}callbacks (dedupe_key, kind) \
             WHERE dedupe_key IS NOT NULL",
            "DELETE FROM {schema}pesakit_schema WHERE version = 2",
        ]);
        match self {
            Self::Sqlite(dir) => {
                let connection = rusqlite::Connection::open(dir.join("inbox.db")).expect("the file opens");
                for statement in statements {
                    connection.execute_batch(&statement.replace("{schema}", "")).expect("the first schema");
                }
            }
            Self::Postgres { url, schema } => {
                for statement in statements {
                    postgres::execute(url, &statement.replace("{schema}", &format!("{schema}.")))
                        .expect("the first schema");
                }
            }
            Self::Memory(_) => {}
        }
        true
    }
}

impl Drop for Place {
    fn drop(&mut self) {
        match self {
            Self::Sqlite(dir) => {
                std::fs::remove_dir_all(dir).ok();
            }
            Self::Postgres { url, schema } => postgres::drop_schema(url, schema),
            Self::Memory(_) => {}
        }
    }
}

/// What the handlers did.
#[derive(Clone, Default)]
pub struct Log {
    runs: Arc<Mutex<Vec<String>>>,
    pub release: Arc<tokio::sync::Notify>,
    pub hold: Arc<AtomicBool>,
    pub failures_left: Arc<AtomicU32>,
}

impl Log {
    pub fn runs(&self) -> Vec<String> {
        self.runs.lock().expect("not poisoned").clone()
    }

    fn push(&self, entry: String) {
        self.runs.lock().expect("not poisoned").push(entry);
    }
}

#[daraja::stk_callback("/inbox/stk")]
pub async fn paid(callback: StkCallback, State(log): State<Log>, delivery: Delivery) -> Result<(), String> {
    log.push(format!("{} attempt {}{}", callback.checkout_request_id, delivery.attempt, conflicting(delivery)));
    if log.hold.load(Ordering::SeqCst) {
        log.release.notified().await;
    }
    let failing = log.failures_left.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| left.checked_sub(1));
    match failing {
        Ok(_) => Err(format!("ledger unavailable on attempt {}", delivery.attempt)),
        Err(_) => Ok(()),
    }
}

#[daraja::b2c_result("/inbox/b2c")]
fn payout(result: DarajaResult<B2cParams>, State(log): State<Log>, delivery: Option<Delivery>) {
    let attempt =
        delivery.map_or_else(|| "without an inbox".to_owned(), |delivery| format!("attempt {}", delivery.attempt));
    log.push(format!("b2c {} {attempt}", result.originator_conversation_id));
}

#[daraja::queue_timeout("/inbox/timeout")]
fn timed_out(timeout: QueueTimeout, State(log): State<Log>) {
    log.push(format!("timeout {}", timeout.originator_conversation_id));
}

#[daraja::c2b_confirmation("/inbox/confirm")]
fn confirmed(payment: C2bPayment, State(log): State<Log>, delivery: Delivery) {
    log.push(format!("confirmed {} {}{}", payment.trans_id, payment.trans_amount, conflicting(delivery)));
}

/// What a handler logs of a delivery after the first body.
fn conflicting(delivery: Delivery) -> String {
    if delivery.conflicts() { format!(" delivery {}", delivery.number) } else { String::new() }
}

#[daraja::c2b_validation("/inbox/validate")]
fn validate(payment: C2bPayment, State(log): State<Log>) -> Validation {
    log.push(format!("validate {}", payment.trans_id));
    if payment.bill_ref_number.starts_with("invoice-") {
        Validation::Accept
    } else {
        Validation::Reject(RejectCode::InvalidAccountNumber)
    }
}

#[daraja::stk_callback("/inbox/panicking")]
async fn panicking(_callback: StkCallback) {
    panic!("handler bug");
}

pub fn table(inbox: &Inbox, log: &Log) -> pesakit::Routes {
    pesakit::routes![paid, payout, timed_out, confirmed, validate, panicking]
        .with_state(log.clone())
        .with_inbox(inbox.clone())
}

/// Waits until a callback carrying `daraja_id` satisfies `done`.
pub async fn wait_for(inbox: &Inbox, daraja_id: &str, done: impl Fn(&StoredCallback) -> bool) -> StoredCallback {
    for _ in 0..1000 {
        let found = inbox.find(daraja_id).await.expect("the store answers");
        if let Some(callback) = found.into_iter().find(|callback| done(callback)) {
            return callback;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{daraja_id} never reached the expected state: {:?}", inbox.find(daraja_id).await);
}

/// Serves `routes` on a loopback port until the test's runtime ends.
pub async fn serving(routes: pesakit::Routes) -> std::net::SocketAddr {
    let server = pesakit::Server::bind("127.0.0.1:0").await.expect("a loopback port");
    let addr = server.local_addr().expect("bound");
    tokio::spawn(server.serve(routes));
    addr
}

/// Waits until `count` callbacks carry `daraja_id` and all are done; they
/// come back oldest first.
pub async fn wait_for_done(inbox: &Inbox, daraja_id: &str, count: usize) -> Vec<StoredCallback> {
    for _ in 0..1000 {
        let mut found = inbox.find(daraja_id).await.expect("the store answers");
        if found.len() == count && found.iter().all(|callback| callback.state == CallbackState::Done) {
            found.reverse();
            return found;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{daraja_id}: not {count} callbacks done: {:?}", inbox.find(daraja_id).await);
}

/// A body that did not parse, as the pipeline hands it to the store.
fn unparsed(body: impl Into<bytes::Bytes>) -> pesakit::inbox::QuarantinedCallback {
    pesakit::inbox::QuarantinedCallback {
        arrived: arrived(CallbackKind::B2cResult, "/inbox/b2c", body),
        parse_error: "expected value at line 1 column 1".to_owned(),
    }
}

/// A JSON body of `kind` posted to `route_path` just now, from nowhere in
/// particular.
pub fn arrived(kind: CallbackKind, route_path: &str, body: impl Into<bytes::Bytes>) -> pesakit::inbox::Arrived {
    pesakit::inbox::Arrived {
        kind,
        route_path: route_path.to_owned(),
        body: body.into(),
        content_type: Some("application/json".to_owned()),
        forwarded: None,
        peer: None,
        client: None,
        received_at: SystemTime::now(),
    }
}

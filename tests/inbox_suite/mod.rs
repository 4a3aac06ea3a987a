//! The inbox conformance suite: what every store must do, run from the same
//! code against SQLite (`tests/inbox.rs`) and PostgreSQL
//! (`tests/inbox_postgres.rs`). Each test gets a store of its own: a new
//! SQLite file, or a new PostgreSQL schema.

#![allow(dead_code, unreachable_pub)]

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use http::StatusCode;
use pesakit::inbox::{
    CallbackState, InboxStore, ListFilter, PostgresStore, SqliteStore, StoreError, StoreFuture, StoredCallback,
};
use pesakit::record::{RecordId, Recorded};
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

/// Which store a test runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A store of a test's own, removed when dropped: a directory holding a
/// SQLite file, or a PostgreSQL schema.
pub enum Place {
    Sqlite(std::path::PathBuf),
    Postgres { url: String, schema: String },
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
        }
    }
}

impl Place {
    /// The store, opened (and migrated) afresh, with its default settings.
    pub async fn store(&self) -> Arc<dyn InboxStore> {
        self.opened(|sqlite| sqlite, |postgres| postgres).await
    }

    pub async fn store_with_quarantine_bounds(&self, rows: u64, bytes: u64) -> Arc<dyn InboxStore> {
        self.opened(|sqlite| sqlite.quarantine_bounds(rows, bytes), |postgres| postgres.quarantine_bounds(rows, bytes))
            .await
    }

    /// The store opened afresh, then configured by the function for its kind.
    async fn opened(
        &self,
        sqlite: impl FnOnce(SqliteStore) -> SqliteStore,
        postgres: impl FnOnce(PostgresStore) -> PostgresStore,
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
    /// dedupe key.
    pub fn back_to_first_schema(&self) {
        // PostgreSQL keeps each body's digest and summary; SQLite reads
        // them from the bodies when it compares.
        let digests: &[&str] = match self {
            Self::Sqlite(_) => &[],
            Self::Postgres { .. } => &[
                "ALTER TABLE {schema}callbacks DROP COLUMN body_digest",
                "ALTER TABLE {schema}callbacks DROP COLUMN summary",
            ],
        };
        let statements = ["DROP INDEX {schema}callbacks_deliveries"].iter().chain(digests).chain(&[
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
        }
    }
}

impl Drop for Place {
    fn drop(&mut self) {
        match self {
            Self::Sqlite(dir) => {
                std::fs::remove_dir_all(dir).ok();
            }
            Self::Postgres { url, schema } => postgres::drop_schema(url, schema),
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

/// The conformance tests, each a `#[tokio::test]` calling the suite's test
/// of the same name against `$backend`.
#[macro_export]
macro_rules! inbox_conformance {
    ($backend:expr => $($test:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $test() {
                if let Some(place) = $backend.place(stringify!($test)) {
                    inbox_suite::$test(place).await;
                }
            }
        )*
    };
}

/// Every test of the suite, for [`inbox_conformance!`].
#[macro_export]
macro_rules! every_inbox_conformance_test {
    ($backend:expr) => {
        $crate::inbox_conformance!($backend =>
            fifty_identical_callbacks_in_parallel_run_the_handler_once,
            a_duplicate_while_the_first_is_still_handled_does_not_start_a_second_handler,
            a_repeated_validation_gets_the_verdict_already_given,
            a_handler_that_fails_twice_is_done_after_three_attempts,
            a_handler_that_always_fails_ends_dead_with_its_error,
            a_dead_callback_retried_runs_again_and_can_end_done,
            a_panicking_handler_counts_as_a_failure_and_the_worker_goes_on,
            every_bad_body_on_a_notification_route_is_quarantined_before_its_400,
            quarantine_is_bounded_and_drops_the_oldest,
            quarantine_keeps_sixty_four_mebibytes_by_default,
            a_handler_taking_an_optional_delivery_gets_it_from_the_inbox,
            the_longest_id_accepted_is_stored_and_a_longer_one_is_quarantined,
            stats_count_commits_and_the_operations_they_held,
            quarantine_logs_an_error_only_when_it_drops_bodies,
            queue_timeouts_and_unknown_codes_need_reconciling_until_a_final_result_comes,
            a_timeout_and_its_result_arriving_together_leave_nothing_to_reconcile,
            any_daraja_id_finds_every_callback_that_carries_it,
            what_is_stored_is_what_arrived,
            done_callbacks_past_the_retention_period_are_pruned_and_nothing_else,
            callbacks_left_pending_are_taken_up_after_their_lease,
            a_backlog_is_taken_up_batch_after_batch_without_waiting_to_poll,
            pruning_runs_when_the_inbox_starts_then_hourly_not_at_every_look,
            migrations_apply_once_and_reopening_keeps_everything,
            ids_holding_any_character_are_stored,
            a_store_that_cannot_write_is_a_500_never_a_503_or_a_200,
            a_slow_store_cannot_make_a_validation_late,
            storing_a_verdict_never_delays_it,
            a_different_stk_result_under_one_checkout_id_is_stored_handled_and_needs_reconciling,
            a_confirmation_repeated_with_another_amount_is_stored_handled_and_needs_reconciling,
            a_byte_identical_or_reformatted_repeat_is_a_duplicate_with_nothing_to_reconcile,
            a_fake_first_callback_leaves_the_real_one_stored_handled_and_flagged,
            a_third_body_moves_the_one_mark_to_the_latest_delivery,
            a_final_result_of_another_kind_does_not_clear_a_conflict,
            an_inbox_of_the_first_schema_is_upgraded_and_its_repeats_stay_duplicates,
            a_table_rebuilt_or_replaced_after_its_inbox_started_still_retries,
            settled_returns_once_every_posted_callback_is_handled_and_its_outcome_stored,
        );
    };
}

pub async fn fifty_identical_callbacks_in_parallel_run_the_handler_once(place: Place) {
    let (inbox, log) = (place.inbox().await, Log::default());
    let routes = table(&inbox, &log);
    let builder = StkCallbackBuilder::paid();
    let body = builder.build();
    let posts: Vec<_> = (0..50)
        .map(|_| {
            let (routes, body) = (routes.clone(), body.clone());
            tokio::spawn(async move { testing::post(&routes, "/inbox/stk", body).await })
        })
        .collect();
    for post in posts {
        let response = post.await.expect("the post task");
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.text(), r#"{"ResultCode":0,"ResultDesc":"Success"}"#);
    }
    let stored = wait_for(&inbox, &builder.checkout_id(), |callback| callback.state == CallbackState::Done).await;
    assert_eq!(stored.seen_count, 50);
    assert_eq!(stored.attempts, 1);
    assert_eq!(log.runs(), [format!("{} attempt 1", builder.checkout_id())]);
}

pub async fn a_duplicate_while_the_first_is_still_handled_does_not_start_a_second_handler(place: Place) {
    let (inbox, log) = (place.inbox().await, Log::default());
    log.hold.store(true, Ordering::SeqCst);
    let routes = table(&inbox, &log);
    let builder = StkCallbackBuilder::paid();

    // Both answered while the handler is still held.
    for _ in 0..2 {
        assert_eq!(testing::post(&routes, "/inbox/stk", builder.build()).await.status(), StatusCode::OK);
    }
    let stored = wait_for(&inbox, &builder.checkout_id(), |callback| callback.seen_count == 2).await;
    assert_eq!(stored.state, CallbackState::Pending);

    log.release.notify_one();
    wait_for(&inbox, &builder.checkout_id(), |callback| callback.state == CallbackState::Done).await;
    assert_eq!(log.runs().len(), 1, "{:?}", log.runs());
}

pub async fn a_repeated_validation_gets_the_verdict_already_given(place: Place) {
    let (inbox, log) = (place.inbox().await, Log::default());
    let routes = table(&inbox, &log);
    let rejected = C2bPaymentBuilder::pay_bill().bill_ref("not-an-invoice").for_validation();
    let first = testing::post(&routes, "/inbox/validate", rejected.build()).await;
    assert_eq!(first.text(), r#"{"ResultCode":"C2B00012","ResultDesc":"Rejected"}"#);

    // The verdict is stored after it is sent; wait for it.
    wait_for(&inbox, rejected.id(), |callback| callback.verdict.is_some()).await;
    let again = testing::post(&routes, "/inbox/validate", rejected.clone().bill_ref("invoice-1").build()).await;
    assert_eq!(again.text(), first.text());
    assert_eq!(log.runs(), [format!("validate {}", rejected.id())]);
}

pub async fn a_handler_that_fails_twice_is_done_after_three_attempts(place: Place) {
    let (inbox, log) = (place.inbox().await, Log::default());
    log.failures_left.store(2, Ordering::SeqCst);
    let routes = table(&inbox, &log);
    let builder = StkCallbackBuilder::paid();
    assert_eq!(testing::post(&routes, "/inbox/stk", builder.build()).await.status(), StatusCode::OK);

    let stored = wait_for(&inbox, &builder.checkout_id(), |callback| callback.state == CallbackState::Done).await;
    assert_eq!(stored.attempts, 3);
    assert_eq!(stored.last_error, None);
    let id = builder.checkout_id();
    assert_eq!(log.runs(), [format!("{id} attempt 1"), format!("{id} attempt 2"), format!("{id} attempt 3")]);
}

pub async fn a_handler_that_always_fails_ends_dead_with_its_error(place: Place) {
    let (inbox, log) = (place.inbox().await.max_attempts(3), Log::default());
    log.failures_left.store(u32::MAX, Ordering::SeqCst);
    let routes = table(&inbox, &log);
    let builder = StkCallbackBuilder::paid();
    testing::post(&routes, "/inbox/stk", builder.build()).await;

    let stored = wait_for(&inbox, &builder.checkout_id(), |callback| callback.state == CallbackState::Dead).await;
    assert_eq!(stored.attempts, 3);
    assert_eq!(stored.last_error.as_deref(), Some("ledger unavailable on attempt 3"));
    assert_eq!(stored.next_attempt_at, None);
    // Parked: no further attempt.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(log.runs().len(), 3);
}

pub async fn a_dead_callback_retried_runs_again_and_can_end_done(place: Place) {
    let (inbox, log) = (place.inbox().await.max_attempts(2), Log::default());
    log.failures_left.store(2, Ordering::SeqCst);
    let routes = table(&inbox, &log);
    let builder = StkCallbackBuilder::paid();
    testing::post(&routes, "/inbox/stk", builder.build()).await;
    let dead = wait_for(&inbox, &builder.checkout_id(), |callback| callback.state == CallbackState::Dead).await;
    assert!(!inbox.retry(RecordId(u64::MAX)).await.expect("the store answers"), "no such callback");

    // The ledger is back: a person retries it.
    assert!(inbox.retry(dead.id).await.expect("the store answers"));
    let done = wait_for(&inbox, &builder.checkout_id(), |callback| callback.state == CallbackState::Done).await;
    assert_eq!(done.attempts, 3, "attempts are kept across the retry");
    assert_eq!(log.runs().last(), Some(&format!("{} attempt 3", builder.checkout_id())));
    assert!(!inbox.retry(done.id).await.expect("the store answers"), "a done callback is not retried");
}

pub async fn a_panicking_handler_counts_as_a_failure_and_the_worker_goes_on(place: Place) {
    let (inbox, log) = (place.inbox().await.max_attempts(2), Log::default());
    let routes = table(&inbox, &log);
    let panics = StkCallbackBuilder::paid();
    assert_eq!(testing::post(&routes, "/inbox/panicking", panics.build()).await.status(), StatusCode::OK);
    let stored = wait_for(&inbox, &panics.checkout_id(), |callback| callback.state == CallbackState::Dead).await;
    assert_eq!(stored.last_error.as_deref(), Some("the handler panicked: handler bug"));

    let next = StkCallbackBuilder::paid();
    testing::post(&routes, "/inbox/stk", next.build()).await;
    wait_for(&inbox, &next.checkout_id(), |callback| callback.state == CallbackState::Done).await;
}

pub async fn every_bad_body_on_a_notification_route_is_quarantined_before_its_400(place: Place) {
    let (inbox, log) = (place.inbox().await, Log::default());
    let routes = table(&inbox, &log);
    let bad = common::bad_bodies();
    for (name, body) in &bad {
        let response = testing::post(&routes, "/inbox/b2c", body.clone()).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{name}");
    }
    let filter = ListFilter { state: Some(CallbackState::Quarantined), ..ListFilter::default() };
    let quarantined = inbox.list(filter).await.expect("the store answers");
    assert_eq!(quarantined.len(), bad.len());
    // Newest first: the same bodies, in reverse order, each with its error.
    for (stored, (name, body)) in quarantined.iter().rev().zip(&bad) {
        assert_eq!(&stored.arrived.body[..], &body[..], "{name}");
        assert_eq!(stored.arrived.kind, CallbackKind::B2cResult, "{name}");
        assert_eq!(stored.arrived.route_path, "/inbox/b2c", "{name}");
        assert!(stored.last_error.as_deref().is_some_and(|error| !error.is_empty()), "{name}");
    }
    assert!(log.runs().is_empty());
}

pub async fn quarantine_is_bounded_and_drops_the_oldest(place: Place) {
    let store = place.store_with_quarantine_bounds(3, u64::MAX).await;
    let (inbox, log) = (Inbox::with_store(store), Log::default());
    let routes = table(&inbox, &log);
    for number in 0..5 {
        testing::post(&routes, "/inbox/b2c", format!("not json {number}")).await;
    }
    let bodies = |kept: Vec<StoredCallback>| -> Vec<String> {
        kept.iter().map(|callback| String::from_utf8_lossy(&callback.arrived.body).into_owned()).collect()
    };
    assert_eq!(
        bodies(inbox.list(ListFilter::default()).await.expect("the store answers")),
        ["not json 4", "not json 3", "not json 2"]
    );

    // Bytes bound too: the newest body is kept even when it alone is over.
    let small = place.store_with_quarantine_bounds(100, 25).await;
    let (inbox, log) = (Inbox::with_store(small), Log::default());
    let routes = table(&inbox, &log);
    testing::post(&routes, "/inbox/b2c", "not json 5, longer than the rest").await;
    assert_eq!(
        bodies(inbox.list(ListFilter::default()).await.expect("the store answers")),
        ["not json 5, longer than the rest"]
    );

    // Exactly at the bound is within it: two bodies of 10 bytes fit in 20.
    let exact = place.store_with_quarantine_bounds(100, 20).await;
    let (inbox, log) = (Inbox::with_store(exact), Log::default());
    let routes = table(&inbox, &log);
    for body in ["not json 6", "not json 7", "not json 8"] {
        testing::post(&routes, "/inbox/b2c", body).await;
    }
    assert_eq!(
        bodies(inbox.list(ListFilter::default()).await.expect("the store answers")),
        ["not json 8", "not json 7"]
    );
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

pub async fn quarantine_keeps_sixty_four_mebibytes_by_default(place: Place) {
    let store = place.store().await;
    // Eight bodies of 1 MiB: far over any bound smaller than the documented
    // 64 MiB, far under it.
    for number in 0..8_u8 {
        store.quarantine(unparsed(vec![number; 1024 * 1024])).await.expect("stored");
    }
    let kept = store.list(ListFilter::default()).await.expect("the store answers");
    let firsts: Vec<u8> = kept.iter().map(|callback| callback.arrived.body[0]).collect();
    assert_eq!(firsts, [7, 6, 5, 4, 3, 2, 1, 0]);
}

pub async fn a_handler_taking_an_optional_delivery_gets_it_from_the_inbox(place: Place) {
    let (inbox, log) = (place.inbox().await, Log::default());
    let routes = table(&inbox, &log);
    let result = ResultBuilder::b2c_success();
    let originator = result.ids().0.to_owned();
    testing::post(&routes, "/inbox/b2c", result.build()).await;
    wait_for(&inbox, &originator, |callback| callback.state == CallbackState::Done).await;
    assert_eq!(log.runs(), [format!("b2c {originator} attempt 1")]);
}

pub async fn the_longest_id_accepted_is_stored_and_a_longer_one_is_quarantined(place: Place) {
    let (inbox, log) = (place.inbox().await, Log::default());
    let routes = table(&inbox, &log);
    // 341 three-byte characters and one ASCII digit: exactly 1,024 bytes
    // (the bound counts bytes, not characters).
    let longest = format!("{}7", "\u{20ac}".repeat(pesakit::MAX_ID_BYTES / 3));
    let accepted = StkCallbackBuilder::paid().checkout_request_id(&longest).receipt(&longest);
    assert_eq!(testing::post(&routes, "/inbox/stk", accepted.build()).await.status(), StatusCode::OK);
    wait_for(&inbox, &longest, |callback| callback.state == CallbackState::Done).await;

    let longer = StkCallbackBuilder::paid().checkout_request_id(&format!("{longest}7"));
    let response = testing::post(&routes, "/inbox/stk", longer.build()).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let filter = ListFilter { state: Some(CallbackState::Quarantined), ..ListFilter::default() };
    let quarantined = inbox.list(filter).await.expect("the store answers");
    assert_eq!(quarantined.len(), 1);
    assert!(quarantined[0].last_error.as_deref().is_some_and(|error| error.contains("CheckoutRequestID")));
}

pub async fn stats_count_commits_and_the_operations_they_held(place: Place) {
    let (inbox, log) = (place.inbox().await, Log::default());
    let routes = table(&inbox, &log);
    let before = inbox.store().stats();
    for _ in 0..3 {
        testing::post(&routes, "/inbox/stk", StkCallbackBuilder::paid().build()).await;
    }
    let after = inbox.store().stats();
    let (commits, operations) = (after.commits - before.commits, after.operations - before.operations);
    assert!(operations >= 3 && (1..=operations).contains(&commits), "{before:?} then {after:?}");
}

pub async fn quarantine_logs_an_error_only_when_it_drops_bodies(place: Place) {
    let (log, _guard) = log_text::LogText::capture();
    let store = place.store_with_quarantine_bounds(2, u64::MAX).await;
    store.quarantine(unparsed("not json 1")).await.expect("stored");
    store.quarantine(unparsed("not json 2")).await.expect("stored");
    assert!(!log.text().contains("quarantine full"), "nothing dropped, nothing to say: {}", log.text());
    store.quarantine(unparsed("not json 3")).await.expect("stored");
    let text = log.text();
    let lines: Vec<&str> = text.lines().filter(|line| line.contains("quarantine full")).collect();
    assert_eq!(lines.len(), 1, "{text}");
    assert!(lines[0].contains("ERROR") && lines[0].contains("dropped=1") && lines[0].contains("max_rows=2"), "{text}");
}

pub async fn queue_timeouts_and_unknown_codes_need_reconciling_until_a_final_result_comes(place: Place) {
    let (inbox, log) = (place.inbox().await, Log::default());
    let routes = table(&inbox, &log);

    let timeout = ResultBuilder::queue_timeout();
    let (originator, conversation) = timeout.ids();
    let (originator, conversation) = (originator.to_owned(), conversation.to_owned());
    testing::post(&routes, "/inbox/timeout", timeout.build()).await;
    let unknown = StkCallbackBuilder::failed(4242, "Something new");
    testing::post(&routes, "/inbox/stk", unknown.build()).await;
    let expired = StkCallbackBuilder::expired();
    testing::post(&routes, "/inbox/stk", expired.build()).await;
    testing::post(&routes, "/inbox/stk", StkCallbackBuilder::cancelled().build()).await;

    let marked = inbox.needs_reconciliation().await.expect("the store answers");
    let mut keys: Vec<_> = marked.iter().filter_map(|callback| callback.dedupe_key.clone()).collect();
    keys.sort();
    let mut expected = vec![originator.clone(), unknown.checkout_id(), expired.checkout_id()];
    expected.sort();
    assert_eq!(keys, expected);
    assert!(marked.iter().all(|callback| callback.needs_reconciliation.as_deref().is_some_and(|why| !why.is_empty())));

    // The final result of the request that timed out clears its mark.
    let result = ResultBuilder::b2c_success().originator_conversation_id(&originator).conversation_id(&conversation);
    testing::post(&routes, "/inbox/b2c", result.build()).await;
    let still: Vec<_> = inbox
        .needs_reconciliation()
        .await
        .expect("the store answers")
        .into_iter()
        .filter_map(|callback| callback.dedupe_key)
        .collect();
    assert!(!still.contains(&originator), "{still:?}");
    assert_eq!(still.len(), 2);

    // A timeout that arrives after its final result needs no reconciling.
    let late = ResultBuilder::queue_timeout().originator_conversation_id("late-1").conversation_id("AG_late");
    let final_result = ResultBuilder::b2c_success().originator_conversation_id("late-1").conversation_id("AG_late");
    testing::post(&routes, "/inbox/b2c", final_result.build()).await;
    testing::post(&routes, "/inbox/timeout", late.build()).await;
    let marked = inbox.needs_reconciliation().await.expect("the store answers");
    assert!(marked.iter().all(|callback| callback.dedupe_key.as_deref() != Some("late-1")));
}

pub async fn a_timeout_and_its_result_arriving_together_leave_nothing_to_reconcile(place: Place) {
    let (inbox, log) = (place.inbox().await, Log::default());
    let routes = table(&inbox, &log);
    for round in 0..10 {
        let (originator, conversation) = (format!("together-{round}"), format!("AG_together_{round}"));
        let timeout =
            ResultBuilder::queue_timeout().originator_conversation_id(&originator).conversation_id(&conversation);
        let result =
            ResultBuilder::b2c_success().originator_conversation_id(&originator).conversation_id(&conversation);
        let (timeout_answer, result_answer) = tokio::join!(
            testing::post(&routes, "/inbox/timeout", timeout.build()),
            testing::post(&routes, "/inbox/b2c", result.build()),
        );
        assert_eq!((timeout_answer.status(), result_answer.status()), (StatusCode::OK, StatusCode::OK));
    }
    let marked = inbox.needs_reconciliation().await.expect("the store answers");
    assert!(marked.is_empty(), "every timeout has its final result: {marked:?}");
}

pub async fn any_daraja_id_finds_every_callback_that_carries_it(place: Place) {
    let (inbox, log) = (place.inbox().await, Log::default());
    let routes = table(&inbox, &log);
    let stk = StkCallbackBuilder::paid().receipt("RKT0000042").merchant_request_id("29115-1");
    testing::post(&routes, "/inbox/stk", stk.build()).await;
    // The same payment to a paybill, as its C2B confirmation.
    testing::post(&routes, "/inbox/confirm", C2bPaymentBuilder::pay_bill().trans_id("RKT0000042").build()).await;

    let found = inbox.find("RKT0000042").await.expect("the store answers");
    let kinds: Vec<_> = found.iter().map(|callback| callback.arrived.kind).collect();
    assert_eq!(kinds.len(), 2);
    assert!(kinds.contains(&CallbackKind::StkCallback) && kinds.contains(&CallbackKind::C2bConfirmation));
    assert_eq!(inbox.find("29115-1").await.expect("the store answers").len(), 1);
    assert_eq!(
        inbox.find(&stk.checkout_id()).await.expect("the store answers")[0].arrived.kind,
        CallbackKind::StkCallback
    );
    assert!(inbox.find("nothing-like-it").await.expect("the store answers").is_empty());
}

pub async fn what_is_stored_is_what_arrived(place: Place) {
    let (inbox, log) = (place.inbox().await, Log::default());
    let routes = table(&inbox, &log);
    let body = StkCallbackBuilder::paid().build();
    let before = SystemTime::now();
    let request = testing::TestRequest::post("/inbox/stk")
        .body(body.clone())
        .header("x-forwarded-for", "196.201.214.200")
        .peer("10.0.0.7:41000".parse().expect("an address"))
        .build();
    testing::send(&routes, request).await;
    let stored = inbox.list(ListFilter::default()).await.expect("the store answers").remove(0);
    assert_eq!(&stored.arrived.body[..], body.as_bytes());
    assert_eq!(stored.arrived.content_type.as_deref(), Some("application/json"));
    assert_eq!(stored.arrived.forwarded.as_deref(), Some("x-forwarded-for: 196.201.214.200"));
    assert_eq!(stored.arrived.peer, Some("10.0.0.7:41000".parse().expect("an address")));
    assert_eq!(
        stored.arrived.client,
        Some("10.0.0.7".parse().expect("an address")),
        "no guard: the peer is the client"
    );
    assert!(stored.arrived.received_at >= before - Duration::from_millis(5));
    assert_eq!(stored.secondary_ids.len(), 2);
    let by_id = inbox.get(stored.id).await.expect("the store answers").expect("stored under its id");
    assert_eq!((by_id.id, by_id.arrived), (stored.id, stored.arrived));
}

pub async fn done_callbacks_past_the_retention_period_are_pruned_and_nothing_else(place: Place) {
    let (inbox, log) = (place.inbox().await, Log::default());
    let routes = table(&inbox, &log);
    let done = StkCallbackBuilder::paid();
    testing::post(&routes, "/inbox/stk", done.build()).await;
    wait_for(&inbox, &done.checkout_id(), |callback| callback.state == CallbackState::Done).await;
    testing::post(&routes, "/inbox/timeout", ResultBuilder::queue_timeout().build()).await;
    testing::post(&routes, "/inbox/b2c", "not json").await;

    let pruned = inbox.prune(SystemTime::now() + Duration::from_secs(1)).await.expect("the store answers");
    assert_eq!(pruned, 1);
    let left: Vec<_> = inbox.list(ListFilter::default()).await.expect("the store answers");
    assert_eq!(left.len(), 2, "the timeout to reconcile and the quarantined body stay");
    assert!(inbox.find(&done.checkout_id()).await.expect("the store answers").is_empty());
}

pub async fn callbacks_left_pending_are_taken_up_after_their_lease(place: Place) {
    let builder = StkCallbackBuilder::paid();
    // A process stored it and died before its handler ended: a runtime of
    // its own, dropped with everything on it (the held handler, the inbox's
    // background task), as a killed process leaves nothing running. Its
    // lease is short, so the next one need not wait long.
    std::thread::scope(|scope| {
        scope.spawn(|| {
            let dying_runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
            dying_runtime.block_on(async {
                let dying = Inbox::with_store(place.store().await).lease(Duration::from_millis(300));
                let request = testing::TestRequest::post("/inbox/stk").body(builder.build()).build();
                let recorder_table = pesakit::routes![paid]
                    .with_state(Log { hold: Arc::new(AtomicBool::new(true)), ..Log::default() })
                    .with_inbox(dying);
                let response = recorder_table.dispatch(request);
                // Answered once stored; the held handler never finishes.
                let answered = tokio::time::timeout(Duration::from_secs(5), response).await.expect("answered");
                assert_eq!(answered.status(), 200);
                // Long enough for the handler to have started.
                tokio::time::sleep(Duration::from_millis(50)).await;
            });
        });
    });
    let (inbox, log) = (place.inbox().await, Log::default());
    let routes = table(&inbox, &log);
    routes.start_inbox();
    let stored = wait_for(&inbox, &builder.checkout_id(), |callback| callback.state == CallbackState::Done).await;
    assert_eq!(stored.attempts, 2, "the run its process died in counts");
    assert_eq!(log.runs(), [format!("{} attempt 2", builder.checkout_id())], "the delivery says it ran before");
}

pub async fn a_backlog_is_taken_up_batch_after_batch_without_waiting_to_poll(place: Place) {
    // 150 payments stored and due, as a crash leaves them: more than one
    // look's worth (64 a look).
    let store = place.store().await;
    let now = SystemTime::now();
    for _ in 0..150 {
        let builder = StkCallbackBuilder::paid();
        let callback = pesakit::inbox::NewCallback::new(
            arrived(CallbackKind::StkCallback, "/inbox/stk", builder.build()),
            builder.checkout_id(),
            Vec::new(),
            None,
            now,
        );
        store.record(callback).await.expect("stored");
    }
    // The next look is an hour away: only the first may wait for it.
    let inbox = Inbox::with_store(store).poll_interval(Duration::from_secs(3600));
    let log = Log::default();
    let routes = table(&inbox, &log);
    routes.start_inbox();
    for _ in 0..3000 {
        if log.runs().len() == 150 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{} of 150 handled in 30 s: the rest waited for the next look", log.runs().len());
}

pub async fn migrations_apply_once_and_reopening_keeps_everything(place: Place) {
    // Two at once, as two instances starting together.
    let (first, second) = tokio::join!(place.store(), place.store());
    let (first, second) = (fast(Inbox::with_store(first)), Inbox::with_store(second));
    let log = Log::default();
    let routes = table(&first, &log);
    let builder = StkCallbackBuilder::paid();
    testing::post(&routes, "/inbox/stk", builder.build()).await;
    wait_for(&first, &builder.checkout_id(), |callback| callback.state == CallbackState::Done).await;
    drop(routes);
    drop(first);
    let found = second.find(&builder.checkout_id()).await.expect("the store answers");
    assert_eq!(found.len(), 1);
    let reopened = Inbox::with_store(place.store().await);
    assert_eq!(reopened.find(&builder.checkout_id()).await.expect("the store answers"), found);
}

pub async fn ids_holding_any_character_are_stored(place: Place) {
    let (inbox, log) = (place.inbox().await, Log::default());
    let routes = table(&inbox, &log);
    // JSON can carry a NUL, which PostgreSQL text cannot.
    let body =
        StkCallbackBuilder::paid().checkout_request_id("ws_CO_NUL").build().replace("ws_CO_NUL", "ws_CO_\\u0000");
    let response = testing::post(&routes, "/inbox/stk", body.clone()).await;
    let stored = inbox.list(ListFilter::default()).await.expect("the store answers");
    assert_eq!(stored.len(), 1, "answered {} and stored: {stored:?}", response.status());
    assert_eq!(&stored[0].arrived.body[..], body.as_bytes(), "the body exactly as received");
    if response.status() == StatusCode::OK {
        assert_ne!(stored[0].state, CallbackState::Quarantined);
    } else {
        assert_eq!(stored[0].state, CallbackState::Quarantined);
    }
}

/// A store with trouble on demand: every write fails once `down` is set
/// (the disk is full), and recording takes `slow` longer (the disk is
/// busy). It counts the prunes asked of it.
#[derive(Clone)]
pub struct Flaky {
    inner: Arc<dyn InboxStore>,
    down: Arc<AtomicBool>,
    slow: Arc<Mutex<Duration>>,
    slow_settle: Arc<Mutex<Duration>>,
    prunes: Arc<AtomicU32>,
}

impl Flaky {
    fn new(inner: Arc<dyn InboxStore>) -> Self {
        Self { inner, down: Arc::default(), slow: Arc::default(), slow_settle: Arc::default(), prunes: Arc::default() }
    }

    fn check(&self) -> Result<(), StoreError> {
        if self.down.load(Ordering::SeqCst) { Err(StoreError("disk full".into())) } else { Ok(()) }
    }
}

impl InboxStore for Flaky {
    fn record(&self, callback: pesakit::inbox::NewCallback) -> StoreFuture<'_, Recorded> {
        let slow = *self.slow.lock().expect("not poisoned");
        match self.check() {
            Ok(()) => Box::pin(async move {
                tokio::time::sleep(slow).await;
                self.inner.record(callback).await
            }),
            Err(error) => Box::pin(async { Err(error) }),
        }
    }
    fn quarantine(&self, callback: pesakit::inbox::QuarantinedCallback) -> StoreFuture<'_, RecordId> {
        match self.check() {
            Ok(()) => self.inner.quarantine(callback),
            Err(error) => Box::pin(async { Err(error) }),
        }
    }
    fn settle(&self, id: RecordId, outcome: pesakit::inbox::Outcome) -> StoreFuture<'_, ()> {
        let slow = *self.slow_settle.lock().expect("not poisoned");
        Box::pin(async move {
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
}

pub async fn pruning_runs_when_the_inbox_starts_then_hourly_not_at_every_look(place: Place) {
    let store = Flaky::new(place.store().await);
    let prunes = Arc::clone(&store.prunes);
    let (inbox, log) = (fast(Inbox::with_store(store)), Log::default());
    let routes = table(&inbox, &log);
    routes.start_inbox();
    // A hundred looks at 10 ms apart: the prune is a scan of the table,
    // and once an hour is enough.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(prunes.load(Ordering::SeqCst), 1);
}

pub async fn a_store_that_cannot_write_is_a_500_never_a_503_or_a_200(place: Place) {
    let store = Flaky::new(place.store().await);
    let down = Arc::clone(&store.down);
    let (inbox, log) = (Inbox::with_store(store), Log::default());
    let routes = table(&inbox, &log);
    down.store(true, Ordering::SeqCst);

    let validation = C2bPaymentBuilder::pay_bill().bill_ref("invoice-9").for_validation().build();
    for (path, body) in [
        ("/inbox/stk", StkCallbackBuilder::paid().build()),
        ("/inbox/validate", validation),
        ("/inbox/b2c", "not json".to_owned()),
    ] {
        let response = testing::post(&routes, path, body).await;
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR, "{path}: {}", response.text());
    }
    assert!(log.runs().is_empty(), "no handler ran for what was not stored: {:?}", log.runs());

    down.store(false, Ordering::SeqCst);
    assert_eq!(testing::post(&routes, "/inbox/stk", StkCallbackBuilder::paid().build()).await.status(), StatusCode::OK);
}

pub async fn storing_a_verdict_never_delays_it(place: Place) {
    let store = Flaky::new(place.store().await);
    *store.slow_settle.lock().expect("not poisoned") = Duration::from_secs(30);
    let log = Log::default();
    let routes = table(&Inbox::with_store(store), &log);
    let payment = C2bPaymentBuilder::pay_bill().bill_ref("invoice-6");
    let answered = tokio::time::timeout(
        Duration::from_secs(5),
        testing::post(&routes, "/inbox/validate", payment.for_validation().build()),
    )
    .await
    .expect("answered long before its settlement is stored");
    assert_eq!(answered.text(), r#"{"ResultCode":"0","ResultDesc":"Accepted"}"#, "the handler's own verdict");
    assert_eq!(log.runs().len(), 1);
}

pub async fn a_slow_store_cannot_make_a_validation_late(place: Place) {
    let store = Flaky::new(place.store().await);
    *store.slow.lock().expect("not poisoned") = Duration::from_secs(30);
    let log = Log::default();
    let routes = table(&Inbox::with_store(store), &log)
        .validation_deadline(Duration::from_millis(100))
        .validation_fallback(Validation::Accept);
    let payment = C2bPaymentBuilder::pay_bill().bill_ref("invoice-5").for_validation().build();
    let answered = tokio::time::timeout(Duration::from_secs(5), testing::post(&routes, "/inbox/validate", payment))
        .await
        .expect("answered long before the store");
    assert_eq!(answered.text(), r#"{"ResultCode":"0","ResultDesc":"Accepted"}"#);
    assert!(log.runs().is_empty(), "the handler had no time left: the fallback was sent");
}

pub async fn a_different_stk_result_under_one_checkout_id_is_stored_handled_and_needs_reconciling(place: Place) {
    let (inbox, log) = (place.inbox().await, Log::default());
    let addr = serving(table(&inbox, &log)).await;
    let paid = StkCallbackBuilder::paid();
    let no_response = StkCallbackBuilder::timeout().checkout_request_id(&paid.checkout_id());
    for body in [no_response.build(), paid.build()] {
        let reply = client::post(addr, "/inbox/stk", body).await;
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(reply.text(), r#"{"ResultCode":0,"ResultDesc":"Success"}"#);
    }
    let deliveries = wait_for_done(&inbox, &paid.checkout_id(), 2).await;
    assert_eq!(deliveries[0].arrived.body, no_response.build().as_bytes());
    assert_eq!(deliveries[1].arrived.body, paid.build().as_bytes(), "the paid body is stored");
    assert_eq!(deliveries.iter().map(|delivery| delivery.delivery).collect::<Vec<_>>(), [1, 2]);
    assert_eq!(deliveries[0].needs_reconciliation, None, "one mark per callback, on its latest delivery");
    assert_eq!(
        deliveries[1].needs_reconciliation.as_deref(),
        Some("conflicting deliveries: ResultCode 1037 then ResultCode 0")
    );
    let id = paid.checkout_id();
    assert_eq!(log.runs(), [format!("{id} attempt 1"), format!("{id} attempt 1 delivery 2")]);
    let to_reconcile = inbox.needs_reconciliation().await.expect("the store answers");
    assert_eq!(to_reconcile.iter().map(|callback| callback.id).collect::<Vec<_>>(), [deliveries[1].id]);
}

pub async fn a_confirmation_repeated_with_another_amount_is_stored_handled_and_needs_reconciling(place: Place) {
    let (inbox, log) = (place.inbox().await, Log::default());
    let addr = serving(table(&inbox, &log)).await;
    let first = C2bPaymentBuilder::pay_bill().amount(pesakit::Amount::from_minor_units(10_000).expect("an amount"));
    let second = first.clone().amount(pesakit::Amount::from_minor_units(50_000).expect("an amount"));
    for body in [first.build(), second.build()] {
        assert_eq!(client::post(addr, "/inbox/confirm", body).await.status, StatusCode::OK);
    }
    let deliveries = wait_for_done(&inbox, first.id(), 2).await;
    assert_eq!(deliveries[1].arrived.body, second.build().as_bytes());
    let reason = deliveries[1].needs_reconciliation.as_deref().expect("the conflict is marked");
    assert!(reason.starts_with("conflicting deliveries: TransAmount "), "{reason}");
    assert!(reason.contains("100") && reason.contains("500") && reason.find("100") < reason.find("500"), "{reason}");
    let id = first.id();
    assert_eq!(log.runs(), [format!("confirmed {id} 100.00"), format!("confirmed {id} 500.00 delivery 2")]);
}

pub async fn a_byte_identical_or_reformatted_repeat_is_a_duplicate_with_nothing_to_reconcile(place: Place) {
    let (inbox, log) = (place.inbox().await, Log::default());
    let addr = serving(table(&inbox, &log)).await;
    let paid = StkCallbackBuilder::paid();
    let body = paid.build();
    let value: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    // Indented, and every object's keys in another order.
    let reformatted = serde_json::to_string_pretty(&value).expect("JSON");
    assert_ne!(reformatted, body);
    for body in [body.clone(), body.clone(), reformatted] {
        let reply = client::post(addr, "/inbox/stk", body).await;
        assert_eq!(reply.status, StatusCode::OK);
    }
    let stored = wait_for(&inbox, &paid.checkout_id(), |callback| callback.seen_count == 3).await;
    assert_eq!(inbox.find(&paid.checkout_id()).await.expect("the store answers").len(), 1);
    assert_eq!((stored.delivery, stored.arrived.body.as_ref()), (1, body.as_bytes()), "the first copy is kept");
    wait_for(&inbox, &paid.checkout_id(), |callback| callback.state == CallbackState::Done).await;
    assert_eq!(log.runs(), [format!("{} attempt 1", paid.checkout_id())]);
    assert!(inbox.needs_reconciliation().await.expect("the store answers").is_empty());
}

pub async fn a_fake_first_callback_leaves_the_real_one_stored_handled_and_flagged(place: Place) {
    let (inbox, log) = (place.inbox().await, Log::default());
    let addr = serving(table(&inbox, &log)).await;
    let real = StkCallbackBuilder::paid().amount(pesakit::Amount::from_minor_units(250_000).expect("an amount"));
    // Someone who learnt the CheckoutRequestID posts first.
    let fake = real.clone().receipt("FAKE123456").amount(pesakit::Amount::from_minor_units(100).expect("an amount"));
    for body in [fake.build(), real.build()] {
        assert_eq!(client::post(addr, "/inbox/stk", body).await.status, StatusCode::OK);
    }
    let deliveries = wait_for_done(&inbox, &real.checkout_id(), 2).await;
    assert_eq!(deliveries[1].arrived.body, real.build().as_bytes(), "the real body is stored");
    assert_eq!(
        deliveries[1].needs_reconciliation.as_deref(),
        Some("conflicting deliveries: ResultCode 0 both times, other fields differ")
    );
    let changed: Vec<String> =
        pesakit::inbox::differing_fields(&deliveries[0].arrived.body, &deliveries[1].arrived.body)
            .into_iter()
            .map(|change| change.path)
            .collect();
    assert!(changed.iter().any(|path| path.ends_with("Item[0].Value")), "the amount differs: {changed:?}");
    assert!(changed.iter().any(|path| path.ends_with("Item[1].Value")), "the receipt differs: {changed:?}");
    assert_eq!(log.runs().len(), 2, "the real callback reached the handler: {:?}", log.runs());
}

pub async fn a_third_body_moves_the_one_mark_to_the_latest_delivery(place: Place) {
    let (inbox, log) = (place.inbox().await, Log::default());
    let routes = table(&inbox, &log);
    let paid = StkCallbackBuilder::paid();
    let id = paid.checkout_id();
    let bodies = [
        StkCallbackBuilder::expired().checkout_request_id(&id).build(),
        StkCallbackBuilder::timeout().checkout_request_id(&id).build(),
        paid.build(),
    ];
    for body in &bodies {
        assert_eq!(testing::post(&routes, "/inbox/stk", body.clone()).await.status(), StatusCode::OK);
    }
    // A repeat of the second stays its duplicate.
    assert_eq!(testing::post(&routes, "/inbox/stk", bodies[1].clone()).await.status(), StatusCode::OK);
    let deliveries = wait_for_done(&inbox, &id, 3).await;
    assert_eq!(deliveries.iter().map(|delivery| delivery.delivery).collect::<Vec<_>>(), [1, 2, 3]);
    assert_eq!(deliveries.iter().map(|delivery| delivery.seen_count).collect::<Vec<_>>(), [1, 2, 1]);
    let marks: Vec<_> = deliveries.iter().map(|delivery| delivery.needs_reconciliation.as_deref()).collect();
    assert_eq!(marks, [None, None, Some("conflicting deliveries: ResultCode 1037 then ResultCode 0")]);
    assert_eq!(log.runs().len(), 3, "{:?}", log.runs());
}

pub async fn a_final_result_of_another_kind_does_not_clear_a_conflict(place: Place) {
    let (inbox, log) = (place.inbox().await, Log::default());
    let routes = table(&inbox, &log);
    let first = C2bPaymentBuilder::pay_bill().bill_ref("invoice-9");
    let second = first.clone().amount(pesakit::Amount::from_minor_units(90_000).expect("an amount"));
    for body in [first.build(), second.build()] {
        assert_eq!(testing::post(&routes, "/inbox/confirm", body).await.status(), StatusCode::OK);
    }
    let marked = wait_for(&inbox, first.id(), |callback| callback.needs_reconciliation.is_some()).await;
    // A validation under the same TransID is final, and clears what a
    // first delivery waited for; a conflict waits for the reconciliation.
    let validation = first.clone().for_validation();
    assert_eq!(testing::post(&routes, "/inbox/validate", validation.build()).await.status(), StatusCode::OK);
    wait_for(&inbox, first.id(), |callback| callback.verdict.is_some()).await;
    let stored = inbox.get(marked.id).await.expect("the store answers").expect("stored");
    assert_eq!(stored.needs_reconciliation, marked.needs_reconciliation);
}

pub async fn an_inbox_of_the_first_schema_is_upgraded_and_its_repeats_stay_duplicates(place: Place) {
    let paid = StkCallbackBuilder::paid();
    let validation = C2bPaymentBuilder::pay_bill().bill_ref("invoice-4").for_validation();
    {
        let (inbox, log) = (place.inbox().await, Log::default());
        let routes = table(&inbox, &log);
        testing::post(&routes, "/inbox/stk", paid.build()).await;
        testing::post(&routes, "/inbox/validate", validation.build()).await;
        wait_for(&inbox, &paid.checkout_id(), |callback| callback.state == CallbackState::Done).await;
        wait_for(&inbox, validation.id(), |callback| callback.verdict.is_some()).await;
    }
    place.back_to_first_schema();

    let (inbox, log) = (place.inbox().await, Log::default());
    let routes = table(&inbox, &log);
    testing::post(&routes, "/inbox/stk", paid.build()).await;
    let repeated = wait_for(&inbox, &paid.checkout_id(), |callback| callback.seen_count == 2).await;
    assert_eq!((repeated.delivery, repeated.state), (1, CallbackState::Done));
    let again = testing::post(&routes, "/inbox/validate", validation.clone().bill_ref("other").build()).await;
    assert_eq!(again.text(), r#"{"ResultCode":"0","ResultDesc":"Accepted"}"#, "the verdict given before the upgrade");
    assert!(log.runs().is_empty(), "nothing handled twice: {:?}", log.runs());

    let no_response = StkCallbackBuilder::timeout().checkout_request_id(&paid.checkout_id());
    testing::post(&routes, "/inbox/stk", no_response.build()).await;
    let deliveries = wait_for_done(&inbox, &paid.checkout_id(), 2).await;
    assert_eq!(
        deliveries[1].needs_reconciliation.as_deref(),
        Some("conflicting deliveries: ResultCode 0 then ResultCode 1037"),
        "the summary of a body stored before the upgrade"
    );
}

pub async fn a_table_rebuilt_or_replaced_after_its_inbox_started_still_retries(place: Place) {
    let (inbox, log) = (place.inbox().await, Log::default());
    let routes = table(&inbox, &log);
    routes.start_inbox();
    // Each payment fails once: its retry comes from the inbox's worker.
    log.failures_left.store(1, Ordering::SeqCst);
    let first = StkCallbackBuilder::paid();
    assert_eq!(testing::post(&routes, "/inbox/stk", first.build()).await.status(), StatusCode::OK);
    // A builder method moves the table away from the handle the worker held.
    let routes = routes.body_limit(32 * 1024);
    let done = wait_for(&inbox, &first.checkout_id(), |callback| callback.state == CallbackState::Done).await;
    assert_eq!(done.attempts, 2);

    // Every table dropped, then a new one with the same inbox.
    drop(routes);
    tokio::time::sleep(Duration::from_millis(50)).await;
    let routes = table(&inbox, &log);
    log.failures_left.store(1, Ordering::SeqCst);
    let second = StkCallbackBuilder::paid();
    assert_eq!(testing::post(&routes, "/inbox/stk", second.build()).await.status(), StatusCode::OK);
    let done = wait_for(&inbox, &second.checkout_id(), |callback| callback.state == CallbackState::Done).await;
    assert_eq!(done.attempts, 2);
}

pub async fn settled_returns_once_every_posted_callback_is_handled_and_its_outcome_stored(place: Place) {
    let (inbox, log) = (place.inbox().await, Log::default());
    let routes = table(&inbox, &log);
    let payments: Vec<_> = (0..20).map(|_| StkCallbackBuilder::paid()).collect();
    for payment in &payments {
        assert_eq!(testing::post(&routes, "/inbox/stk", payment.build()).await.status(), StatusCode::OK);
    }
    testing::settled(&routes).await.expect("the store answers");
    assert_eq!(log.runs().len(), payments.len(), "every handler ran: {:?}", log.runs());
    for payment in &payments {
        let stored = inbox.find(&payment.checkout_id()).await.expect("the store answers");
        assert_eq!(stored[0].state, CallbackState::Done, "its outcome is stored");
    }
    // Held handlers keep it waiting until they end.
    log.hold.store(true, Ordering::SeqCst);
    let held = StkCallbackBuilder::paid();
    testing::post(&routes, "/inbox/stk", held.build()).await;
    let waiting = tokio::time::timeout(Duration::from_millis(200), testing::settled(&routes)).await;
    assert!(waiting.is_err(), "settled while a handler still runs");
    log.release.notify_one();
    testing::settled(&routes).await.expect("the store answers");
    let stored = inbox.find(&held.checkout_id()).await.expect("the store answers");
    assert_eq!(stored[0].state, CallbackState::Done);
}

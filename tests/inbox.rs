//! The durable inbox on its embedded SQLite store, in-process: duplicates,
//! retries, quarantine, reconciliation, retention and the store being
//! unavailable. The crash test, over real sockets with a killed server
//! process, is `tests/inbox_crash.rs`.

mod common;

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use http::StatusCode;
use pesakit::inbox::{CallbackState, InboxStore, ListFilter, SqliteStore, StoreError, StoreFuture, StoredCallback};
use pesakit::record::{RecordId, Recorded};
use pesakit::testing::{self, C2bPaymentBuilder, ResultBuilder, StkCallbackBuilder};
use pesakit::{
    B2cParams, C2bPayment, CallbackKind, DarajaResult, Delivery, Inbox, QueueTimeout, RejectCode, State, StkCallback,
    Validation, daraja,
};

/// A database file of its own for each test, removed when dropped.
struct TempDb(std::path::PathBuf);

impl TempDb {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("pesakit-inbox-test-{}-{name}", std::process::id()));
        std::fs::remove_dir_all(&dir).ok();
        std::fs::create_dir_all(&dir).expect("a temporary directory");
        Self(dir)
    }

    fn path(&self) -> std::path::PathBuf {
        self.0.join("inbox.db")
    }

    /// A fast-retrying inbox on this file.
    fn inbox(&self) -> Inbox {
        Inbox::sqlite(self.path())
            .expect("the inbox opens")
            .retry_backoff(Duration::from_millis(10), Duration::from_millis(40))
            .poll_interval(Duration::from_millis(10))
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.0).ok();
    }
}

/// What the handlers did.
#[derive(Clone, Default)]
struct Log {
    runs: Arc<Mutex<Vec<String>>>,
    release: Arc<tokio::sync::Notify>,
    hold: Arc<AtomicBool>,
    failures_left: Arc<AtomicU32>,
}

impl Log {
    fn runs(&self) -> Vec<String> {
        self.runs.lock().expect("not poisoned").clone()
    }

    fn push(&self, entry: String) {
        self.runs.lock().expect("not poisoned").push(entry);
    }
}

#[daraja::stk_callback("/inbox/stk")]
async fn paid(callback: StkCallback, State(log): State<Log>, delivery: Delivery) -> Result<(), String> {
    log.push(format!("{} attempt {}", callback.checkout_request_id, delivery.attempt));
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
fn payout(result: DarajaResult<B2cParams>, State(log): State<Log>) {
    log.push(format!("b2c {}", result.originator_conversation_id));
}

#[daraja::queue_timeout("/inbox/timeout")]
fn timed_out(timeout: QueueTimeout, State(log): State<Log>) {
    log.push(format!("timeout {}", timeout.originator_conversation_id));
}

#[daraja::c2b_confirmation("/inbox/confirm")]
fn confirmed(payment: C2bPayment, State(log): State<Log>) {
    log.push(format!("confirmed {}", payment.trans_id));
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

fn table(inbox: &Inbox, log: &Log) -> pesakit::Routes {
    pesakit::routes![paid, payout, timed_out, confirmed, validate, panicking]
        .with_state(log.clone())
        .with_inbox(inbox.clone())
}

/// Waits until the callback stored as `id` satisfies `done`.
async fn wait_for(inbox: &Inbox, dedupe_key: &str, done: impl Fn(&StoredCallback) -> bool) -> StoredCallback {
    for _ in 0..500 {
        let found = inbox.find(dedupe_key).await.expect("the store answers");
        if let Some(callback) = found.into_iter().find(|callback| done(callback)) {
            return callback;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{dedupe_key} never reached the expected state: {:?}", inbox.find(dedupe_key).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_identical_callbacks_in_parallel_run_the_handler_once() {
    let db = TempDb::new("fifty");
    let (inbox, log) = (db.inbox(), Log::default());
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

#[tokio::test]
async fn a_duplicate_while_the_first_is_still_handled_does_not_start_a_second_handler() {
    let db = TempDb::new("in-flight");
    let (inbox, log) = (db.inbox(), Log::default());
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

#[tokio::test]
async fn a_repeated_validation_gets_the_verdict_already_given() {
    let db = TempDb::new("validation");
    let (inbox, log) = (db.inbox(), Log::default());
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

#[tokio::test]
async fn a_handler_that_fails_twice_is_done_after_three_attempts() {
    let db = TempDb::new("retries");
    let (inbox, log) = (db.inbox(), Log::default());
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

#[tokio::test]
async fn a_handler_that_always_fails_ends_dead_with_its_error() {
    let db = TempDb::new("dead");
    let (inbox, log) = (db.inbox().max_attempts(3), Log::default());
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

#[tokio::test]
async fn a_panicking_handler_counts_as_a_failure_and_the_worker_goes_on() {
    let db = TempDb::new("panic");
    let (inbox, log) = (db.inbox().max_attempts(2), Log::default());
    let routes = table(&inbox, &log);
    let panics = StkCallbackBuilder::paid();
    assert_eq!(testing::post(&routes, "/inbox/panicking", panics.build()).await.status(), StatusCode::OK);
    let stored = wait_for(&inbox, &panics.checkout_id(), |callback| callback.state == CallbackState::Dead).await;
    assert_eq!(stored.last_error.as_deref(), Some("the handler panicked: handler bug"));

    let next = StkCallbackBuilder::paid();
    testing::post(&routes, "/inbox/stk", next.build()).await;
    wait_for(&inbox, &next.checkout_id(), |callback| callback.state == CallbackState::Done).await;
}

#[tokio::test]
async fn every_bad_body_on_a_notification_route_is_quarantined_before_its_400() {
    let db = TempDb::new("quarantine");
    let (inbox, log) = (db.inbox(), Log::default());
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

#[tokio::test]
async fn quarantine_is_bounded_and_drops_the_oldest() {
    let db = TempDb::new("quarantine-bound");
    let store = SqliteStore::open(db.path()).expect("the store opens").quarantine_bounds(3, u64::MAX);
    let (inbox, log) = (Inbox::with_store(store), Log::default());
    let routes = table(&inbox, &log);
    for number in 0..5 {
        testing::post(&routes, "/inbox/b2c", format!("not json {number}")).await;
    }
    let kept = inbox.list(ListFilter::default()).await.expect("the store answers");
    let bodies: Vec<_> =
        kept.iter().map(|callback| String::from_utf8_lossy(&callback.arrived.body).into_owned()).collect();
    assert_eq!(bodies, ["not json 4", "not json 3", "not json 2"]);
}

#[tokio::test]
async fn queue_timeouts_and_unknown_codes_need_reconciling_until_a_final_result_comes() {
    let db = TempDb::new("reconcile");
    let (inbox, log) = (db.inbox(), Log::default());
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

#[tokio::test]
async fn any_daraja_id_finds_every_callback_that_carries_it() {
    let db = TempDb::new("find");
    let (inbox, log) = (db.inbox(), Log::default());
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

#[tokio::test]
async fn what_is_stored_is_what_arrived() {
    let db = TempDb::new("stored");
    let (inbox, log) = (db.inbox(), Log::default());
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
}

#[tokio::test]
async fn done_callbacks_past_the_retention_period_are_pruned_and_nothing_else() {
    let db = TempDb::new("retention");
    let (inbox, log) = (db.inbox(), Log::default());
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

#[tokio::test]
async fn callbacks_left_pending_are_taken_up_when_the_table_starts() {
    let db = TempDb::new("pending");
    let builder = StkCallbackBuilder::paid();
    {
        // A process stored it and died before its handler ran.
        let store = SqliteStore::open(db.path()).expect("the store opens");
        let request = testing::TestRequest::post("/inbox/stk").body(builder.build()).build();
        let recorder_table = pesakit::routes![paid]
            .with_state(Log { hold: Arc::new(AtomicBool::new(true)), ..Log::default() })
            .with_inbox(Inbox::with_store(store));
        let response = recorder_table.dispatch(request);
        // Answered once stored; the held handler never finishes.
        assert_eq!(tokio::time::timeout(Duration::from_secs(5), response).await.expect("answered").status(), 200);
    }
    let (inbox, log) = (db.inbox(), Log::default());
    let routes = table(&inbox, &log);
    routes.start_inbox();
    let stored = wait_for(&inbox, &builder.checkout_id(), |callback| callback.state == CallbackState::Done).await;
    assert_eq!(stored.attempts, 1);
    assert_eq!(log.runs(), [format!("{} attempt 1", builder.checkout_id())]);
}

/// The SQLite store with trouble on demand: every write fails once `down`
/// is set (the disk is full), and recording takes `slow` longer (the disk is
/// busy).
#[derive(Clone)]
struct Flaky {
    inner: Arc<SqliteStore>,
    down: Arc<AtomicBool>,
    slow: Arc<Mutex<Duration>>,
}

impl Flaky {
    fn new(db: &TempDb) -> Self {
        let inner = Arc::new(SqliteStore::open(db.path()).expect("the store opens"));
        Self { inner, down: Arc::default(), slow: Arc::default() }
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
        self.inner.settle(id, outcome)
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
        self.inner.prune(before)
    }
}

#[tokio::test]
async fn a_store_that_cannot_write_is_a_500_never_a_503_or_a_200() {
    let db = TempDb::new("unavailable");
    let store = Flaky::new(&db);
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

#[tokio::test]
async fn a_slow_store_cannot_make_a_validation_late() {
    let db = TempDb::new("slow");
    let store = Flaky::new(&db);
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

/// Runs `future` on this thread, with no Tokio runtime anywhere.
fn block_on<F: std::future::Future>(future: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl std::task::Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = std::task::Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut context = std::task::Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        if let std::task::Poll::Ready(output) = future.as_mut().poll(&mut context) {
            return output;
        }
        std::thread::park_timeout(Duration::from_millis(50));
    }
}

#[test]
fn outside_a_tokio_runtime_the_inbox_still_stores_and_handles_before_answering() {
    let db = TempDb::new("no-runtime");
    let (inbox, log) = (db.inbox(), Log::default());
    let routes = table(&inbox, &log);
    let stk = StkCallbackBuilder::paid();
    let validation = C2bPaymentBuilder::pay_bill().bill_ref("invoice-3").for_validation();
    for (path, body) in [("/inbox/stk", stk.build()), ("/inbox/validate", validation.build())] {
        let request = testing::TestRequest::post(path).body(body).build();
        assert_eq!(block_on(routes.dispatch(request)).status(), StatusCode::OK, "{path}");
    }
    let stored = block_on(inbox.find(&stk.checkout_id())).expect("the store answers");
    assert_eq!(stored[0].state, CallbackState::Done, "handled before the answer");
    let validated = block_on(inbox.find(validation.id())).expect("the store answers");
    assert_eq!(validated[0].verdict.as_ref().map(|verdict| verdict.code.as_str()), Some("0"));
    assert_eq!(log.runs().len(), 2);
}

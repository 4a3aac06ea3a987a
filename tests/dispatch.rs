//! `Routes::dispatch` against every row of the HTTP contract, for every
//! callback kind, driven by the shared fixtures and bad bodies.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::{Method, StatusCode};
use pesakit::testing::{self, TestRequest, TestResponse};
use pesakit::{
    AccountBalanceParams, B2bParams, B2cParams, C2bPayment, DarajaResult, Payload, PeerAddr, QueueTimeout, RawBody,
    RejectCode, ReversalParams, Routes, State, StkCallback, StkOutcome, TransactionStatusParams, Validation, daraja,
};

/// One handler call: `(kind, correlation id, detail)`.
type Sighting = (&'static str, String, String);

/// What the handlers saw.
#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Vec<Sighting>>>);

impl Seen {
    fn push(&self, kind: &'static str, correlation: impl ToString, detail: impl ToString) {
        self.0.lock().expect("not poisoned").push((kind, correlation.to_string(), detail.to_string()));
    }

    fn take(&self) -> Vec<Sighting> {
        std::mem::take(&mut *self.0.lock().expect("not poisoned"))
    }
}

#[daraja::stk_callback("/daraja/stk")]
async fn stk(callback: StkCallback, State(seen): State<Seen>) {
    let detail = match callback.outcome() {
        StkOutcome::Paid(payment) => format!("paid {} {}", payment.amount, payment.receipt),
        other => format!("{other:?}"),
    };
    seen.push("stk", callback.correlation_id(), detail);
}

#[daraja::c2b_validation("/daraja/validate")]
async fn validate(payment: C2bPayment, State(seen): State<Seen>) -> Validation {
    seen.push("c2b_validation", payment.correlation_id(), payment.trans_amount);
    if payment.trans_amount.minor_units() >= 1_000_000 {
        Validation::Reject(RejectCode::InvalidAmount)
    } else {
        Validation::Accept
    }
}

#[daraja::c2b_confirmation("/daraja/confirm")]
fn confirm(payment: C2bPayment, State(seen): State<Seen>) {
    seen.push("c2b_confirmation", payment.correlation_id(), payment.trans_amount);
}

#[daraja::b2c_result("/daraja/b2c")]
fn b2c(result: DarajaResult<B2cParams>, State(seen): State<Seen>) -> Result<(), String> {
    seen.push("b2c_result", result.correlation_id(), &result.result_code);
    Ok(())
}

#[daraja::account_balance_result("/daraja/balance")]
async fn balance(result: DarajaResult<AccountBalanceParams>, State(seen): State<Seen>) {
    seen.push("account_balance_result", result.correlation_id(), result.params.accounts.len());
}

#[daraja::transaction_status_result("/daraja/status")]
async fn status(result: DarajaResult<TransactionStatusParams>, State(seen): State<Seen>) {
    seen.push("transaction_status_result", result.correlation_id(), &result.result_code);
}

#[daraja::reversal_result("/daraja/reversal")]
fn reversal(result: DarajaResult<ReversalParams>, State(seen): State<Seen>) {
    seen.push("reversal_result", result.correlation_id(), &result.result_code);
}

#[daraja::b2b_result("/daraja/b2b")]
async fn b2b(result: DarajaResult<B2bParams>, State(seen): State<Seen>) {
    seen.push("b2b_result", result.correlation_id(), &result.result_code);
}

#[daraja::queue_timeout("/daraja/timeout")]
fn timeout(timeout: QueueTimeout, State(seen): State<Seen>) {
    seen.push("queue_timeout", timeout.correlation_id(), timeout.raw_json().len());
}

/// Every kind: fixture folder and path.
const KINDS: [(&str, &str); 9] = [
    ("stk", "/daraja/stk"),
    ("c2b_validation", "/daraja/validate"),
    ("c2b_confirmation", "/daraja/confirm"),
    ("b2c_result", "/daraja/b2c"),
    ("account_balance_result", "/daraja/balance"),
    ("transaction_status_result", "/daraja/status"),
    ("reversal_result", "/daraja/reversal"),
    ("b2b_result", "/daraja/b2b"),
    ("timeout", "/daraja/timeout"),
];

fn table(seen: &Seen) -> Routes {
    pesakit::routes![stk, validate, confirm, b2c, balance, status, reversal, b2b, timeout].with_state(seen.clone())
}

fn assert_json_response(response: &TestResponse, status: StatusCode) {
    assert_eq!(response.status(), status, "{}", response.text());
    assert_eq!(response.headers()["content-type"], "application/json");
}

/// The correlation id a fixture should be handled under.
fn expected_correlation(folder: &str, body: &[u8]) -> String {
    match folder {
        "stk" => StkCallback::from_slice(body).map(|p| p.correlation_id().to_string()),
        "c2b_validation" | "c2b_confirmation" => C2bPayment::from_slice(body).map(|p| p.correlation_id().to_string()),
        _ => QueueTimeout::from_slice(body).map(|p| p.correlation_id().to_string()),
    }
    .expect("fixture parses")
}

#[tokio::test]
async fn every_fixture_is_handled_and_answered_with_its_kinds_body() {
    let seen = Seen::default();
    let routes = table(&seen);
    for (folder, path) in KINDS {
        for (name, body) in common::fixtures(folder) {
            let response = testing::post(&routes, path, body.clone()).await;
            assert_json_response(&response, StatusCode::OK);
            assert_eq!(response.text(), common::acknowledgement(folder), "{folder}/{name}");
            let handled = seen.take();
            assert_eq!(handled.len(), 1, "{folder}/{name}: the handler ran once");
            let (kind, correlation, _) = &handled[0];
            assert_eq!(
                (*kind, correlation.as_str()),
                (folder_kind(folder), expected_correlation(folder, &body).as_str())
            );
        }
    }
}

fn folder_kind(folder: &str) -> &str {
    if folder == "timeout" { "queue_timeout" } else { folder }
}

#[tokio::test]
async fn handlers_see_the_parsed_values() {
    let seen = Seen::default();
    let routes = table(&seen);
    let body =
        std::fs::read(common::fixtures_dir().join("stk/official_v3_success_no_balance_item.json")).expect("fixture");
    testing::post(&routes, "/daraja/stk", body).await;
    assert_eq!(seen.take(), [("stk", "ws_CO_191220191020363925".into(), "paid 1.00 NLJ7RT61SV".into())]);
}

#[tokio::test]
async fn bad_bodies_get_400_naming_the_problem_and_never_reach_a_handler() {
    let seen = Seen::default();
    let routes = table(&seen);
    for (_, path) in KINDS.iter().filter(|(folder, _)| *folder != "c2b_validation") {
        for (name, body) in common::bad_bodies() {
            let response = testing::post(&routes, path, body).await;
            assert_json_response(&response, StatusCode::BAD_REQUEST);
            let error = response.json();
            assert_eq!(error["error"], "invalid_payload", "{path} {name}");
            let layer = error["layer"].as_str().unwrap_or_default();
            assert!(layer == "syntax" || layer == "shape", "{path} {name}: {error}");
            assert!(!error["message"].as_str().unwrap_or_default().is_empty());
        }
        // A body of another kind names the missing wrapper member.
        let other_kind = if *path == "/daraja/stk" { r#"{"Result":{}}"# } else { r#"{"Body":{"stkCallback":{}}}"# };
        let error = testing::post(&routes, path, other_kind).await.json();
        assert_eq!(error["layer"], "shape", "{path}");
        assert!(error["message"].as_str().unwrap_or_default().contains("missing field"), "{path}: {error}");
    }
    let value_error = testing::post(
        &routes,
        "/daraja/confirm",
        r#"{"TransID":"X1","TransTime":"20231301000000","TransAmount":"10","MSISDN":"254708374149"}"#,
    )
    .await
    .json();
    assert_eq!((value_error["layer"].as_str(), value_error["path"].as_str()), (Some("value"), Some("TransTime")));
    assert_eq!(seen.take(), [], "no handler saw a bad body");
}

#[tokio::test]
async fn bad_validation_bodies_are_rejected_with_the_configured_code() {
    let seen = Seen::default();
    for (routes, code) in
        [(table(&seen), "C2B00016"), (table(&seen).invalid_validation_reply(RejectCode::InvalidMsisdn), "C2B00011")]
    {
        for (name, body) in common::bad_bodies() {
            let response = testing::post(&routes, "/daraja/validate", body).await;
            assert_json_response(&response, StatusCode::OK);
            assert_eq!(response.text(), format!(r#"{{"ResultCode":"{code}","ResultDesc":"Rejected"}}"#), "{name}");
        }
    }
    assert_eq!(seen.take(), []);
}

#[tokio::test]
async fn validation_verdicts_are_sent_as_documented() {
    let seen = Seen::default();
    let routes = table(&seen);
    let large = r#"{"TransID":"X1","TransTime":"20191122063845","TransAmount":"10000.00","MSISDN":"254708374149"}"#;
    let response = testing::post(&routes, "/daraja/validate", large).await;
    assert_eq!(response.text(), r#"{"ResultCode":"C2B00013","ResultDesc":"Rejected"}"#);
}

#[tokio::test]
async fn unknown_paths_wrong_methods_and_large_bodies_are_refused() {
    let routes = table(&Seen::default());
    let response = testing::post(&routes, "/daraja/unknown", "{}").await;
    assert_json_response(&response, StatusCode::NOT_FOUND);
    assert_eq!(response.json()["error"], "not_found");

    for method in [Method::GET, Method::PUT, Method::DELETE, Method::HEAD] {
        for (_, path) in KINDS {
            let response = testing::send(&routes, TestRequest::new(method.clone(), path).build()).await;
            assert_json_response(&response, StatusCode::METHOD_NOT_ALLOWED);
            assert_eq!(response.headers()["allow"], "POST", "{method} {path}");
        }
    }

    let limited = table(&Seen::default()).body_limit(1024);
    let response = testing::post(&limited, "/daraja/stk", vec![b' '; 1025]).await;
    assert_json_response(&response, StatusCode::PAYLOAD_TOO_LARGE);
    let over_default = testing::post(&routes, "/daraja/stk", vec![b' '; pesakit::DEFAULT_BODY_LIMIT + 1]).await;
    assert_eq!(over_default.status(), StatusCode::PAYLOAD_TOO_LARGE);
    // The limit is on size only: an invalid body at the limit is parsed and refused as invalid.
    assert_eq!(testing::post(&limited, "/daraja/stk", vec![b' '; 1024]).await.status(), StatusCode::BAD_REQUEST);
}

#[derive(Clone)]
struct Failure(&'static str);

#[daraja::queue_timeout("/healthy/timeout")]
fn healthy(_timeout: QueueTimeout) {}

#[daraja::stk_callback("/failing/stk")]
async fn failing(_callback: StkCallback, State(failure): State<Failure>) -> Result<(), String> {
    match failure.0 {
        "panic" => panic!("handler bug"),
        "error" => Err("database unavailable".to_owned()),
        _ => Ok(()),
    }
}

#[daraja::c2b_confirmation("/failing/confirm")]
fn failing_sync(_payment: C2bPayment, State(failure): State<Failure>) -> Result<(), &'static str> {
    if failure.0 == "panic" {
        panic!("sync handler bug");
    }
    Err("ledger locked")
}

#[daraja::c2b_validation("/failing/validate")]
fn failing_validation(_payment: C2bPayment, State(failure): State<Failure>) -> Result<Validation, String> {
    if failure.0 == "panic" {
        panic!("validation bug");
    }
    Err("rules engine down".into())
}

const CANCELLED: &str = r#"{"Body":{"stkCallback":{"MerchantRequestID":"1","CheckoutRequestID":"ws_CO_1","ResultCode":1032,"ResultDesc":"Request cancelled by user"}}}"#;
const PAYMENT: &str = r#"{"TransID":"X1","TransTime":"20191122063845","TransAmount":"10","MSISDN":"254708374149"}"#;

#[tokio::test]
async fn handler_errors_and_panics_are_500_and_the_table_keeps_serving() {
    for mode in ["error", "panic"] {
        let routes = pesakit::routes![failing, failing_sync, failing_validation].with_state(Failure(mode));
        for (path, body) in [("/failing/stk", CANCELLED), ("/failing/confirm", PAYMENT), ("/failing/validate", PAYMENT)]
        {
            let response = testing::post(&routes, path, body).await;
            assert_json_response(&response, StatusCode::INTERNAL_SERVER_ERROR);
            assert_eq!(response.json()["error"], "handler_failed", "{mode} {path}");
        }
    }
    let healthy = pesakit::routes![failing].with_state(Failure("none"));
    assert_eq!(testing::post(&healthy, "/failing/stk", CANCELLED).await.status(), StatusCode::OK);
}

#[test]
fn a_missing_state_is_found_before_the_table_serves() {
    let routes = pesakit::routes![healthy, failing];
    let error = routes.check().expect_err("`failing` takes a `Failure` the table lacks");
    let state = std::any::type_name::<Failure>();
    assert_eq!(error, pesakit::RouteError::MissingState { handler: "failing", path: "/failing/stk", state });
    let message = error.to_string();
    assert!(message.contains("`failing`") && message.contains(state) && message.contains(".with_state("), "{message}");
    assert_eq!(routes.with_state(Failure("none")).check(), Ok(()));
}

#[tokio::test]
#[should_panic(expected = "the handler `failing` (at `/failing/stk`) takes `State<")]
async fn testing_refuses_a_table_with_a_missing_state() {
    testing::post(&pesakit::routes![failing], "/failing/stk", CANCELLED).await;
}

#[tokio::test]
async fn dispatched_without_the_check_a_missing_state_is_a_500() {
    let routes = pesakit::routes![failing];
    let request = TestRequest::post("/failing/stk").body(CANCELLED).build();
    assert_eq!(routes.dispatch(request).await.status(), StatusCode::INTERNAL_SERVER_ERROR);
}

#[daraja::c2b_validation("/slow/async")]
async fn never_answers(_payment: C2bPayment) -> Validation {
    std::future::pending::<()>().await;
    Validation::Accept
}

#[derive(Clone)]
struct Gate(Arc<Mutex<std::sync::mpsc::Receiver<()>>>);

#[daraja::c2b_validation("/slow/sync")]
fn blocks_until_released(_payment: C2bPayment, State(gate): State<Gate>) -> bool {
    gate.0.lock().expect("not poisoned").recv().is_ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_validation_past_its_deadline_gets_the_fallback_verdict() {
    let (release, gate) = std::sync::mpsc::channel();
    let routes = pesakit::routes![never_answers, blocks_until_released]
        .with_state(Gate(Arc::new(Mutex::new(gate))))
        .validation_deadline(Duration::from_millis(50));
    let default_fallback = testing::post(&routes, "/slow/async", PAYMENT).await;
    assert_json_response(&default_fallback, StatusCode::OK);
    assert_eq!(default_fallback.text(), r#"{"ResultCode":"C2B00016","ResultDesc":"Rejected"}"#);

    // The sync handler is still blocked when its fallback is answered.
    let routes = routes.validation_fallback(Validation::Accept);
    let fallback = testing::post(&routes, "/slow/sync", PAYMENT).await;
    assert_eq!(fallback.text(), r#"{"ResultCode":"0","ResultDesc":"Accepted"}"#);
    release.send(()).expect("handler still waiting");
}

#[tokio::test]
async fn validation_deadline_also_holds_on_a_current_thread_runtime() {
    let routes = pesakit::routes![never_answers].validation_deadline(Duration::from_millis(20));
    let response = testing::post(&routes, "/slow/async", PAYMENT).await;
    assert_eq!(response.text(), r#"{"ResultCode":"C2B00016","ResultDesc":"Rejected"}"#);
}

/// The user agent, peer and body length a handler saw.
type Extracted = (String, Option<PeerAddr>, usize);

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Option<Extracted>>>);

#[daraja::stk_callback("/extract/stk")]
fn extractors(
    _callback: StkCallback,
    headers: http::HeaderMap,
    peer: Option<PeerAddr>,
    RawBody(raw): RawBody,
    State(captured): State<Captured>,
) {
    let agent = headers.get("user-agent").and_then(|value| value.to_str().ok()).unwrap_or_default().to_owned();
    *captured.0.lock().expect("not poisoned") = Some((agent, peer, raw.len()));
}

#[daraja::stk_callback("/extract/peer")]
fn requires_peer(_callback: StkCallback, PeerAddr(_peer): PeerAddr) {}

#[tokio::test]
async fn extractors_see_headers_peer_and_raw_body() {
    let captured = Captured::default();
    let routes = pesakit::routes![extractors, requires_peer].with_state(captured.clone());
    let peer: std::net::SocketAddr = "196.201.214.200:443".parse().expect("address");
    let request = TestRequest::post("/extract/stk").header("user-agent", "Daraja").peer(peer).body(CANCELLED).build();
    assert_eq!(testing::send(&routes, request).await.status(), StatusCode::OK);
    assert_eq!(
        *captured.0.lock().expect("not poisoned"),
        Some(("Daraja".into(), Some(PeerAddr(peer)), CANCELLED.len()))
    );

    assert_eq!(testing::post(&routes, "/extract/peer", CANCELLED).await.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let with_peer = TestRequest::post("/extract/peer").peer(peer).body(CANCELLED).build();
    assert_eq!(testing::send(&routes, with_peer).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn one_state_is_shared_by_every_handler() {
    let seen = Seen::default();
    let routes = table(&seen);
    testing::post(&routes, "/daraja/stk", CANCELLED).await;
    testing::post(&routes, "/daraja/confirm", PAYMENT).await;
    testing::post(&routes, "/daraja/validate", PAYMENT).await;
    let kinds: Vec<_> = seen.take().into_iter().map(|(kind, ..)| kind).collect();
    assert_eq!(kinds, ["stk", "c2b_confirmation", "c2b_validation"]);
}

/// Held shut until the test opens it (or five seconds pass).
#[derive(Clone, Default)]
struct Door(Arc<(Mutex<bool>, std::sync::Condvar)>);

impl Door {
    /// Whether the door opened before the wait gave up.
    fn wait(&self) -> bool {
        let (open, opened) = &*self.0;
        let guard = open.lock().expect("not poisoned");
        let (guard, _) = opened.wait_timeout_while(guard, Duration::from_secs(5), |open| !*open).expect("not poisoned");
        *guard
    }

    fn open(&self) {
        *self.0.0.lock().expect("not poisoned") = true;
        self.0.1.notify_all();
    }
}

#[daraja::stk_callback("/busy/stk")]
fn busy(_callback: StkCallback, State(door): State<Door>) -> Result<(), &'static str> {
    // Blocks its thread until the door opens, as a sync client waiting on a
    // slow database does.
    if door.wait() { Ok(()) } else { Err("the door stayed shut: the validation never got through") }
}

#[daraja::c2b_validation("/busy/validate")]
async fn quick(_payment: C2bPayment) -> Validation {
    Validation::Accept
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn busy_sync_notification_handlers_do_not_hold_up_a_validation() {
    let door = Door::default();
    let routes = pesakit::routes![busy, quick].with_state(door.clone()).validation_deadline(Duration::from_millis(300));
    // More blocked handlers than async threads.
    let busy: Vec<_> = (0..4)
        .map(|_| {
            let routes = routes.clone();
            tokio::spawn(async move { testing::post(&routes, "/busy/stk", CANCELLED).await.status() })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(100)).await;
    // With the async threads blocked, the validation could not be answered
    // until the busy handlers gave up, and they would fail.
    let verdict = testing::post(&routes, "/busy/validate", PAYMENT).await;
    door.open();
    assert_eq!(verdict.text(), r#"{"ResultCode":"0","ResultDesc":"Accepted"}"#);
    for handled in busy {
        assert_eq!(handled.await.expect("the post task"), StatusCode::OK);
    }
}

#[test]
fn settings_that_cannot_serve_daraja_are_refused_before_serving() {
    const MIB: usize = 1024 * 1024;
    let cases = [
        (pesakit::routes![quick].body_limit(0), "body_limit"),
        (pesakit::routes![quick].body_limit(1023), "body_limit"),
        (pesakit::routes![quick].body_limit(16 * MIB + 1), "body_limit"),
        (pesakit::routes![quick].validation_deadline(Duration::ZERO), "validation_deadline"),
        (pesakit::routes![quick].validation_deadline(Duration::from_secs(8)), "validation_deadline"),
        (pesakit::routes![quick].late_validation_grace(Duration::from_millis(600_001)), "late_validation_grace"),
    ];
    for (routes, setting) in cases {
        let error = routes.check().expect_err(setting);
        assert!(matches!(error, pesakit::RouteError::InvalidSetting { setting: named, .. } if named == setting));
        assert!(error.to_string().contains("the default is"), "{error}");
    }
    // The bounds themselves are allowed: 1 KiB and 16 MiB bodies, a 7.9 s
    // deadline, ten minutes of grace.
    for routes in [
        pesakit::routes![quick].body_limit(1024),
        pesakit::routes![quick].body_limit(16 * MIB),
        pesakit::routes![quick].validation_deadline(Duration::from_millis(7_900)),
        pesakit::routes![quick].late_validation_grace(Duration::from_secs(600)),
    ] {
        assert_eq!(routes.check(), Ok(()));
    }
}

#[test]
fn a_table_debugs_as_its_routes_and_never_shows_its_secret() {
    let routes = pesakit::routes![quick].path_secret("Zq8xW2vR5tY7uI9oP3aS").expect("a strong secret");
    let shown = format!("{routes:?}");
    assert!(shown.starts_with("Routes {"), "{shown}");
    assert!(shown.contains(r#"path: "/busy/validate""#) && shown.contains(r#"handler: "quick""#), "{shown}");
    assert!(shown.contains("PathSecret(redacted)") && !shown.contains("Zq8xW2vR5tY7uI9oP3aS"), "{shown}");
}

#[test]
fn a_table_counts_its_routes_and_describes_each_guard_in_order() {
    let empty = pesakit::Routes::new();
    assert_eq!((empty.is_empty(), empty.len()), (true, 0));
    assert!(empty.guard_descriptions().next().is_none());
    let routes = pesakit::routes![quick]
        .guard(pesakit::guard::SourceGuard::safaricom())
        .guard(pesakit::guard::SourceGuard::safaricom().report_only());
    assert_eq!((routes.is_empty(), routes.len()), (false, 1));
    let described: Vec<String> = routes.guard_descriptions().collect();
    assert_eq!(described.len(), 2, "{described:?}");
    assert!(described[0].contains("enforcing") && described[1].contains("report-only"), "{described:?}");
}

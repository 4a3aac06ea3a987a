//! The pipeline's stages and seams: one stage sequence for buffered and
//! streaming requests, guards that refuse before a body byte is read, and a
//! record stage that sees every kind's Daraja ids, stops duplicates and
//! gets each handler's outcome.

#[path = "support/callbacks.rs"]
mod callbacks;
mod common;

use std::collections::HashMap;
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use callbacks::{KINDS, Seen};
use http::{Method, Request, StatusCode};
use http_body::{Body, Frame, SizeHint};
use pesakit::guard::{GuardRequest, GuardVerdict};
use pesakit::record::{IncomingCallback, RecordError, RecordFuture, RecordId, Recorded, Recorder, Settlement};
use pesakit::testing::TestRequest;
use pesakit::{C2bPayment, CallbackKind, PeerAddr, RejectCode, Routes, State, StkCallback, Validation, daraja};
use serde_json::Value;

/// What the stages did, in order.
#[derive(Clone, Default)]
struct Journal(Arc<Mutex<Vec<String>>>);

impl Journal {
    fn write(&self, entry: impl Into<String>) {
        self.0.lock().expect("not poisoned").push(entry.into());
    }

    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().expect("not poisoned"))
    }
}

/// One callback as the record stage received it, with owned values.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Stored {
    kind: CallbackKind,
    dedupe_key: String,
    secondary: Vec<String>,
    body: Bytes,
    peer: Option<PeerAddr>,
    received_at: SystemTime,
}

/// An in-memory recorder: for these tests only, nothing survives a restart.
#[derive(Clone, Default)]
struct MemoryRecorder {
    journal: Journal,
    stored: Arc<Mutex<Vec<Stored>>>,
    index: Arc<Mutex<HashMap<(CallbackKind, String), RecordId>>>,
    verdicts: Arc<Mutex<HashMap<RecordId, Validation>>>,
    outcomes: Arc<Mutex<Vec<(RecordId, String)>>>,
    unavailable: Arc<AtomicBool>,
}

impl Recorder for MemoryRecorder {
    fn record<'a>(&'a self, callback: IncomingCallback<'a>) -> RecordFuture<'a, Recorded> {
        Box::pin(async move {
            self.journal.write("record");
            if self.unavailable.load(Ordering::SeqCst) {
                return Recorded::Unavailable("the disk is full".into());
            }
            let (ids, arrival) = (callback.ids(), callback.arrival());
            let key = (arrival.kind(), ids.dedupe_key().to_owned());
            let mut index = self.index.lock().expect("not poisoned");
            if let Some(&id) = index.get(&key) {
                let verdict = self.verdicts.lock().expect("not poisoned").get(&id).cloned();
                return Recorded::Duplicate { id, verdict };
            }
            let mut stored = self.stored.lock().expect("not poisoned");
            let id = RecordId(stored.len() as u64 + 1);
            stored.push(Stored {
                kind: arrival.kind(),
                dedupe_key: ids.dedupe_key().to_owned(),
                secondary: ids.secondary().map(|id| id.to_string()).collect(),
                body: arrival.body().clone(),
                peer: arrival.peer(),
                received_at: arrival.received_at(),
            });
            index.insert(key, id);
            Recorded::New(id)
        })
    }

    fn settle<'a>(&'a self, id: RecordId, outcome: &'a Settlement) -> RecordFuture<'a, Result<(), RecordError>> {
        Box::pin(async move {
            self.journal.write("settle");
            let outcome = match outcome {
                Settlement::Handled => "handled".to_owned(),
                Settlement::Answered(verdict) => {
                    self.verdicts.lock().expect("not poisoned").insert(id, verdict.clone());
                    format!("answered {verdict:?}")
                }
                Settlement::FellBack(verdict) => format!("fell back {verdict:?}"),
                Settlement::Failed(error) => format!("failed {error:#}"),
                other => format!("{other:?}"),
            };
            self.outcomes.lock().expect("not poisoned").push((id, outcome));
            Ok(())
        })
    }
}

impl MemoryRecorder {
    fn stored(&self) -> Vec<Stored> {
        self.stored.lock().expect("not poisoned").clone()
    }

    /// The outcomes settled so far, once there are `count`: a verdict is
    /// settled after it is sent, on a task of its own.
    async fn outcomes(&self, count: usize) -> Vec<(RecordId, String)> {
        for _ in 0..500 {
            let outcomes = self.outcomes.lock().expect("not poisoned").clone();
            if outcomes.len() >= count {
                return outcomes;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        self.outcomes.lock().expect("not poisoned").clone()
    }
}

#[daraja::stk_callback("/journal/stk")]
fn journalled(callback: StkCallback, State(journal): State<Journal>) {
    journal.write(format!("handle {}", callback.checkout_request_id));
}

#[daraja::c2b_validation("/journal/validate")]
fn validate(payment: C2bPayment, State(journal): State<Journal>) -> Validation {
    journal.write(format!("validate {}", payment.trans_id));
    if payment.bill_ref_number.starts_with("invoice-") {
        Validation::Accept
    } else {
        Validation::Reject(RejectCode::InvalidAccountNumber)
    }
}

const CANCELLED: &str = r#"{"Body":{"stkCallback":{"MerchantRequestID":"29115-1","CheckoutRequestID":"ws_CO_7","ResultCode":1032,"ResultDesc":"Request cancelled by user"}}}"#;
const STK_ACK: &str = r#"{"ResultCode":0,"ResultDesc":"Success"}"#;

fn payment(trans_id: &str, bill_ref: &str) -> String {
    format!(
        r#"{{"TransID":"{trans_id}","TransTime":"20191122063845","TransAmount":"10","BillRefNumber":"{bill_ref}","MSISDN":"254708374149"}}"#
    )
}

/// A table whose guard and recorder write to one journal with the handlers.
fn journalled_table(journal: &Journal) -> (Routes, MemoryRecorder) {
    let recorder = MemoryRecorder { journal: journal.clone(), ..MemoryRecorder::default() };
    let guard_journal = journal.clone();
    let routes = pesakit::routes![journalled, validate]
        .with_state(journal.clone())
        .guard(move |request: &GuardRequest<'_>| {
            guard_journal.write(format!("guard {} {}", request.kind(), request.route_path()));
            GuardVerdict::Allow
        })
        .record_with(recorder.clone());
    (routes, recorder)
}

/// A streaming body that records whether anyone read it, and never ends.
struct UnreadBody {
    read: Arc<AtomicBool>,
    declared: u64,
}

impl Body for UnreadBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.read.store(true, Ordering::SeqCst);
        Poll::Pending
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.declared)
    }
}

#[tokio::test]
async fn buffered_and_streaming_requests_walk_the_same_stages() {
    let journal = Journal::default();
    let (routes, recorder) = journalled_table(&journal);
    let peer = PeerAddr("196.201.214.200:443".parse().expect("an address"));

    let buffered = TestRequest::post("/journal/stk").body(CANCELLED).peer(peer.0).build();
    let response = routes.dispatch(buffered).await;
    assert_eq!((response.status(), response.body().as_ref()), (StatusCode::OK, STK_ACK.as_bytes()));
    let buffered_stages = journal.take();

    let mut streaming =
        Request::post("/journal/stk").body(http_body_util::Full::new(Bytes::from(CANCELLED))).expect("a request");
    streaming.extensions_mut().insert(peer);
    let response = routes.dispatch_streaming(streaming).await;
    // The second delivery of the same callback: recorded as a duplicate.
    assert_eq!((response.status(), response.body().as_ref()), (StatusCode::OK, STK_ACK.as_bytes()));
    let streaming_stages = journal.take();

    assert_eq!(buffered_stages, ["guard stk_callback /journal/stk", "record", "handle ws_CO_7", "settle"]);
    assert_eq!(streaming_stages, ["guard stk_callback /journal/stk", "record"]);
    let stored = recorder.stored();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].peer, Some(peer));
    assert_eq!(stored[0].body, CANCELLED.as_bytes());
    assert_eq!(recorder.outcomes(1).await, [(RecordId(1), "handled".to_owned())]);
}

#[tokio::test]
async fn a_guard_refusal_answers_without_reading_the_body() {
    let journal = Journal::default();
    let recorder = MemoryRecorder { journal: journal.clone(), ..MemoryRecorder::default() };
    let routes = pesakit::routes![journalled]
        .with_state(journal.clone())
        .guard(|request: &GuardRequest<'_>| match request.peer() {
            Some(PeerAddr(address)) if address.ip().is_loopback() => GuardVerdict::Allow,
            Some(_) => GuardVerdict::Forbid("not a Daraja gateway".into()),
            None => GuardVerdict::Conceal("no peer address".into()),
        })
        .record_with(recorder.clone());

    let stranger = PeerAddr("203.0.113.9:5000".parse().expect("an address"));
    let read = Arc::new(AtomicBool::new(false));
    let mut request =
        Request::post("/journal/stk").body(UnreadBody { read: Arc::clone(&read), declared: 100 }).expect("a request");
    request.extensions_mut().insert(stranger);
    // The body never ends: an answer at all shows it was not awaited.
    let response = tokio::time::timeout(Duration::from_secs(5), routes.dispatch_streaming(request))
        .await
        .expect("answered without waiting for the body");
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(!read.load(Ordering::SeqCst), "the body was read");

    // Refused before the method and size checks, which would tell a stranger
    // that the route exists.
    let probe = TestRequest::new(Method::GET, "/journal/stk").peer(stranger.0).build();
    assert_eq!(routes.dispatch(probe).await.status(), StatusCode::FORBIDDEN);

    // Concealed: the very answer an unknown path gets.
    let concealed = routes.dispatch(TestRequest::post("/journal/stk").body(CANCELLED).build()).await;
    let unknown = routes.dispatch(TestRequest::post("/journal/unknown").body(CANCELLED).build()).await;
    assert_eq!(concealed.status(), StatusCode::NOT_FOUND);
    assert_eq!(concealed.headers(), unknown.headers());
    assert_eq!(
        String::from_utf8_lossy(concealed.body()).replace("/journal/stk", "/journal/unknown"),
        String::from_utf8_lossy(unknown.body())
    );

    assert!(journal.take().is_empty(), "nothing was recorded or handled");
    assert!(recorder.stored().is_empty());

    let allowed = TestRequest::post("/journal/stk").body(CANCELLED).peer("127.0.0.1:9".parse().expect("an address"));
    assert_eq!(routes.dispatch(allowed.build()).await.status(), StatusCode::OK);
}

/// The ids a callback body carries, read with `serde_json` alone: the
/// oracle for what the record stage must see.
fn expected_ids(folder: &str, body: &[u8]) -> (String, Vec<String>) {
    let json: Value = serde_json::from_slice(body).expect("fixtures are JSON");
    let text = |value: &Value| match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    };
    match folder {
        "stk" => {
            let callback = &json["Body"]["stkCallback"];
            let mut secondary = vec![format!("MerchantRequestID={}", text(&callback["MerchantRequestID"]))];
            if callback["ResultCode"] == 0 {
                let items = callback["CallbackMetadata"]["Item"].as_array().expect("metadata items");
                let receipt = items.iter().find(|item| item["Name"] == "MpesaReceiptNumber").expect("a receipt");
                secondary.push(format!("Receipt={}", text(&receipt["Value"])));
            }
            (text(&callback["CheckoutRequestID"]), secondary)
        }
        "c2b_validation" | "c2b_confirmation" => (text(&json["TransID"]), Vec::new()),
        _ => {
            let result = &json["Result"];
            let originator = result.get("OriginatorConversationID").or_else(|| result.get("OriginatorCoversationID"));
            let mut secondary = vec![format!("ConversationID={}", text(&result["ConversationID"]))];
            if let Some(transaction) = result.get("TransactionID").map(text) {
                let digits = transaction.trim_start_matches(|c: char| c.is_ascii_alphabetic());
                let placeholder = digits.len() >= 7 && digits.bytes().all(|byte| byte == b'0');
                if folder != "timeout" && !transaction.is_empty() && !placeholder {
                    secondary.push(format!("Receipt={transaction}"));
                }
            }
            (text(originator.expect("an originator conversation id")), secondary)
        }
    }
}

#[tokio::test]
async fn the_record_stage_sees_every_kinds_ids_from_the_shared_fixtures() {
    let seen = Seen::default();
    let mut recorded = 0;
    for (folder, path) in KINDS {
        for (name, body) in common::fixtures(folder) {
            // A store of its own: documentation samples share ids.
            let recorder = MemoryRecorder::default();
            let routes = callbacks::table(&seen).record_with(recorder.clone());
            let before = SystemTime::now();
            // The contract table's guard wants a peer address.
            let request = TestRequest::post(path).body(body.clone()).peer(LOOPBACK.parse().expect("an address"));
            let response = pesakit::testing::send(&routes, request.build()).await;
            assert_eq!(response.status(), StatusCode::OK, "{folder}/{name}: {}", response.text());
            assert_eq!(stored_peer(&recorder).as_deref(), Some(LOOPBACK), "{folder}/{name}");
            let [stored] = <[Stored; 1]>::try_from(recorder.stored()).expect("recorded once");
            assert_eq!(stored.body, body, "{folder}/{name}");
            assert!(stored.received_at >= before, "{folder}/{name}");
            let (dedupe_key, secondary) = expected_ids(folder, &body);
            assert_eq!((stored.dedupe_key, stored.secondary), (dedupe_key, secondary), "{folder}/{name}");
            let kind = match folder {
                "stk" => "stk_callback",
                "timeout" => "queue_timeout",
                other => other,
            };
            assert_eq!(stored.kind.attribute_name(), kind, "{folder}/{name}");
            assert_eq!(recorder.outcomes(1).await, [(RecordId(1), outcome_of(folder))], "{folder}/{name}");
            recorded += 1;
        }
    }
    assert_eq!(seen.ids.lock().expect("not poisoned").len(), recorded, "every fixture was handled once");
}

const LOOPBACK: &str = "127.0.0.1:40000";

fn stored_peer(recorder: &MemoryRecorder) -> Option<String> {
    recorder.stored().first().and_then(|stored| stored.peer).map(|PeerAddr(peer)| peer.to_string())
}

/// How the contract table's handler for `folder` settles every fixture.
fn outcome_of(folder: &str) -> String {
    if folder == "c2b_validation" { "answered Accept" } else { "handled" }.to_owned()
}

#[tokio::test]
async fn duplicates_are_answered_as_before_without_running_the_handler() {
    let journal = Journal::default();
    let (routes, recorder) = journalled_table(&journal);

    for _ in 0..3 {
        let response = pesakit::testing::post(&routes, "/journal/stk", CANCELLED).await;
        assert_eq!(response.text(), STK_ACK);
    }
    let handled: Vec<_> = journal.take().into_iter().filter(|entry| entry.starts_with("handle")).collect();
    assert_eq!(handled, ["handle ws_CO_7"]);

    // A repeated validation gets the verdict given the first time, even
    // though its body now reads differently.
    let first = pesakit::testing::post(&routes, "/journal/validate", payment("RKT1", "other")).await;
    // The verdict is stored after it is sent.
    recorder.outcomes(2).await;
    let again = pesakit::testing::post(&routes, "/journal/validate", payment("RKT1", "invoice-1")).await;
    assert_eq!(first.text(), r#"{"ResultCode":"C2B00012","ResultDesc":"Rejected"}"#);
    assert_eq!(again.text(), first.text());
    let validated: Vec<_> = journal.take().into_iter().filter(|entry| entry.starts_with("validate")).collect();
    assert_eq!(validated, ["validate RKT1"]);
    assert_eq!(
        recorder.outcomes(2).await,
        [(RecordId(1), "handled".to_owned()), (RecordId(2), "answered Reject(InvalidAccountNumber)".to_owned())]
    );
}

#[tokio::test]
async fn a_repeated_validation_without_a_recorded_verdict_is_decided_again() {
    let journal = Journal::default();
    let (routes, recorder) = journalled_table(&journal);
    // Recorded, but its verdict never settled (as after a crash mid-handler).
    recorder.index.lock().expect("not poisoned").insert((CallbackKind::C2bValidation, "RKT2".into()), RecordId(9));

    let response = pesakit::testing::post(&routes, "/journal/validate", payment("RKT2", "invoice-2")).await;
    assert_eq!(response.text(), r#"{"ResultCode":"0","ResultDesc":"Accepted"}"#);
    assert_eq!(recorder.outcomes(1).await, [(RecordId(9), "answered Accept".to_owned())]);
}

#[tokio::test]
async fn a_store_that_cannot_record_is_a_500_and_the_handler_does_not_run() {
    let journal = Journal::default();
    let (routes, recorder) = journalled_table(&journal);
    recorder.unavailable.store(true, Ordering::SeqCst);

    for (path, body) in [("/journal/stk", CANCELLED.to_owned()), ("/journal/validate", payment("RKT3", "invoice-3"))] {
        let response = pesakit::testing::post(&routes, path, body).await;
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR, "{path}");
        assert_eq!(response.json()["error"], "not_recorded", "{path}");
    }
    let stages = journal.take();
    assert!(stages.iter().all(|stage| stage.starts_with("guard") || stage == "record"), "{stages:?}");
}

#[daraja::stk_callback("/settle/failing")]
fn failing(_callback: StkCallback) -> Result<(), String> {
    Err("ledger locked".into())
}

#[daraja::c2b_validation("/settle/slow")]
async fn slow(_payment: C2bPayment) -> Validation {
    std::future::pending::<()>().await;
    Validation::Accept
}

#[tokio::test]
async fn failures_and_fallback_verdicts_are_settled_as_such() {
    let recorder = MemoryRecorder::default();
    let routes = pesakit::routes![failing, slow]
        .validation_deadline(Duration::from_millis(20))
        .validation_fallback(Validation::Accept)
        .record_with(recorder.clone());

    let failed = pesakit::testing::post(&routes, "/settle/failing", CANCELLED).await;
    assert_eq!(failed.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let fell_back = pesakit::testing::post(&routes, "/settle/slow", payment("RKT4", "invoice-4")).await;
    assert_eq!(fell_back.text(), r#"{"ResultCode":"0","ResultDesc":"Accepted"}"#);

    assert_eq!(
        recorder.outcomes(2).await,
        [(RecordId(1), "failed ledger locked".to_owned()), (RecordId(2), "fell back Accept".to_owned())]
    );
}

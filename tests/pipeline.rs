//! The pipeline's stages and seams: one stage sequence for buffered and
//! streaming requests, guards that refuse before a body byte is read, and a
//! record stage (an inbox on a store in memory) that sees every kind's
//! Daraja ids, stops duplicates and gets each handler's outcome.

#[path = "support/callbacks.rs"]
mod callbacks;
mod common;

#[path = "support/troubled_store.rs"]
mod troubled_store;

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
use pesakit::inbox::{
    CallbackState, InboxStore, ListFilter, MemoryStore, NewCallback, RecordId, StoredCallback, StoredVerdict,
};
use pesakit::testing::TestRequest;
use pesakit::{C2bPayment, CallbackKind, Inbox, PeerAddr, RejectCode, Routes, State, StkCallback, Validation, daraja};
use serde_json::Value;
use troubled_store::Troubled;

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

/// An inbox on a store in memory, retrying in milliseconds, and the store.
fn memory_inbox(store: Troubled) -> (Inbox, Troubled) {
    let inbox = Inbox::with_store(store.clone())
        .retry_backoff(Duration::from_millis(10), Duration::from_millis(40))
        .poll_interval(Duration::from_millis(10));
    (inbox, store)
}

/// Everything `store` holds, oldest first.
async fn stored(store: &Troubled) -> Vec<StoredCallback> {
    let mut stored = store.list(ListFilter::default()).await.expect("the store answers");
    stored.reverse();
    stored
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

/// A table whose guard and inbox store write to one journal with the
/// handlers.
fn journalled_table(journal: &Journal) -> (Routes, Troubled) {
    let store_journal = journal.clone();
    let store = Troubled::new(Arc::new(MemoryStore::new())).journalled(move |write| store_journal.write(write));
    let (inbox, store) = memory_inbox(store);
    let guard_journal = journal.clone();
    let routes = pesakit::routes![journalled, validate]
        .with_state(journal.clone())
        .guard(move |request: &GuardRequest<'_>| {
            guard_journal.write(format!("guard {} {}", request.kind(), request.route_path()));
            GuardVerdict::Allow
        })
        .with_inbox(inbox);
    (routes, store)
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
    let (routes, store) = journalled_table(&journal);
    let peer = PeerAddr("196.201.214.200:443".parse().expect("an address"));

    let buffered = TestRequest::post("/journal/stk").body(CANCELLED).peer(peer.0).build();
    let response = routes.dispatch(buffered).await;
    assert_eq!((response.status(), response.body().as_ref()), (StatusCode::OK, STK_ACK.as_bytes()));
    // Answered once stored: the handler runs from the inbox.
    pesakit::testing::settled(&routes).await.expect("the store answers");
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
    let stored = stored(&store).await;
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].arrived.peer, Some(peer.0));
    assert_eq!(stored[0].arrived.body, CANCELLED.as_bytes());
    assert_eq!((stored[0].state, stored[0].seen_count), (CallbackState::Done, 2));
}

#[tokio::test]
async fn a_guard_refusal_answers_without_reading_the_body() {
    let journal = Journal::default();
    let store_journal = journal.clone();
    let (inbox, store) =
        memory_inbox(Troubled::new(Arc::new(MemoryStore::new())).journalled(move |write| store_journal.write(write)));
    let routes = pesakit::routes![journalled]
        .with_state(journal.clone())
        .guard(|request: &GuardRequest<'_>| match request.peer() {
            Some(PeerAddr(address)) if address.ip().is_loopback() => GuardVerdict::Allow,
            Some(_) => GuardVerdict::Forbid("not a Daraja gateway".into()),
            None => GuardVerdict::Conceal("no peer address".into()),
        })
        .with_inbox(inbox);

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
    assert!(stored(&store).await.is_empty());

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
            let (inbox, store) = memory_inbox(Troubled::new(Arc::new(MemoryStore::new())));
            let routes = callbacks::table(&seen).with_inbox(inbox);
            let before = SystemTime::now();
            // The contract table's guard wants a peer address.
            let request = TestRequest::post(path).body(body.clone()).peer(LOOPBACK.parse().expect("an address"));
            let response = pesakit::testing::send(&routes, request.build()).await;
            assert_eq!(response.status(), StatusCode::OK, "{folder}/{name}: {}", response.text());
            pesakit::testing::settled(&routes).await.expect("the store answers");
            let [stored] = <[StoredCallback; 1]>::try_from(stored(&store).await).expect("recorded once");
            assert_eq!(stored.arrived.peer.map(|peer| peer.to_string()).as_deref(), Some(LOOPBACK), "{folder}/{name}");
            assert_eq!(stored.arrived.body, body, "{folder}/{name}");
            assert!(stored.arrived.received_at >= before, "{folder}/{name}");
            let (dedupe_key, secondary) = expected_ids(folder, &body);
            let stored_secondary: Vec<String> =
                stored.secondary_ids.iter().map(|(name, value)| format!("{name}={value}")).collect();
            assert_eq!((stored.dedupe_key, stored_secondary), (Some(dedupe_key), secondary), "{folder}/{name}");
            let kind = match folder {
                "stk" => "stk_callback",
                "timeout" => "queue_timeout",
                other => other,
            };
            assert_eq!(stored.arrived.kind.attribute_name(), kind, "{folder}/{name}");
            assert_eq!(stored.state, CallbackState::Done, "{folder}/{name}");
            let verdict = (folder == "c2b_validation").then(|| StoredVerdict { code: "0".to_owned(), tag: None });
            assert_eq!(stored.verdict, verdict, "{folder}/{name}");
            recorded += 1;
        }
    }
    assert_eq!(seen.ids.lock().expect("not poisoned").len(), recorded, "every fixture was handled once");
}

const LOOPBACK: &str = "127.0.0.1:40000";

#[tokio::test]
async fn duplicates_are_answered_as_before_without_running_the_handler() {
    let journal = Journal::default();
    let (routes, store) = journalled_table(&journal);

    for _ in 0..3 {
        let response = pesakit::testing::post(&routes, "/journal/stk", CANCELLED).await;
        assert_eq!(response.text(), STK_ACK);
    }
    pesakit::testing::settled(&routes).await.expect("the store answers");
    let handled: Vec<_> = journal.take().into_iter().filter(|entry| entry.starts_with("handle")).collect();
    assert_eq!(handled, ["handle ws_CO_7"]);

    // A repeated validation gets the verdict given the first time, even
    // though its body now reads differently.
    let first = pesakit::testing::post(&routes, "/journal/validate", payment("RKT1", "other")).await;
    // The verdict is stored after it is sent.
    pesakit::testing::settled(&routes).await.expect("the store answers");
    let again = pesakit::testing::post(&routes, "/journal/validate", payment("RKT1", "invoice-1")).await;
    assert_eq!(first.text(), r#"{"ResultCode":"C2B00012","ResultDesc":"Rejected"}"#);
    assert_eq!(again.text(), first.text());
    let validated: Vec<_> = journal.take().into_iter().filter(|entry| entry.starts_with("validate")).collect();
    assert_eq!(validated, ["validate RKT1"]);
    let stored = stored(&store).await;
    assert_eq!(
        stored.iter().map(|callback| (callback.id, callback.state)).collect::<Vec<_>>(),
        [(RecordId(1), CallbackState::Done), (RecordId(2), CallbackState::Done)]
    );
    assert_eq!(stored[1].verdict, Some(StoredVerdict { code: "C2B00012".to_owned(), tag: None }));
}

#[tokio::test]
async fn a_repeated_validation_without_a_recorded_verdict_is_decided_again() {
    let journal = Journal::default();
    let (routes, store) = journalled_table(&journal);
    // Recorded, but its verdict never settled (as after a crash mid-handler).
    let arrived = pesakit::inbox::Arrived {
        kind: CallbackKind::C2bValidation,
        route_path: "/journal/validate".to_owned(),
        body: payment("RKT2", "invoice-2").into(),
        content_type: None,
        forwarded: None,
        peer: None,
        client: None,
        received_at: SystemTime::now(),
    };
    let lease_until = SystemTime::now() + Duration::from_secs(3600);
    let first = NewCallback::new(arrived, "RKT2".to_owned(), Vec::new(), None, lease_until);
    let id = store.record(first).await.expect("stored").id();

    let response = pesakit::testing::post(&routes, "/journal/validate", payment("RKT2", "invoice-2")).await;
    assert_eq!(response.text(), r#"{"ResultCode":"0","ResultDesc":"Accepted"}"#);
    pesakit::testing::settled(&routes).await.expect("the store answers");
    let settled = store.get(id).await.expect("the store answers").expect("stored");
    assert_eq!(settled.verdict, Some(StoredVerdict { code: "0".to_owned(), tag: None }));
}

#[tokio::test]
async fn a_store_that_cannot_record_is_a_500_and_the_handler_does_not_run() {
    let journal = Journal::default();
    let (routes, store) = journalled_table(&journal);
    store.down.store(true, Ordering::SeqCst);

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
    let (inbox, store) = memory_inbox(Troubled::new(Arc::new(MemoryStore::new())));
    let routes = pesakit::routes![failing, slow]
        .validation_deadline(Duration::from_millis(20))
        .validation_fallback(Validation::Accept)
        .with_inbox(inbox.max_attempts(1));

    // Stored, so acknowledged; the handler's failure is the inbox's to retry.
    let failed = pesakit::testing::post(&routes, "/settle/failing", CANCELLED).await;
    assert_eq!(failed.status(), StatusCode::OK);
    let fell_back = pesakit::testing::post(&routes, "/settle/slow", payment("RKT4", "invoice-4")).await;
    assert_eq!(fell_back.text(), r#"{"ResultCode":"0","ResultDesc":"Accepted"}"#);
    pesakit::testing::settled(&routes).await.expect("the store answers");

    let [failed, fell_back] = <[StoredCallback; 2]>::try_from(stored(&store).await).expect("both stored");
    assert_eq!((failed.state, failed.last_error.as_deref()), (CallbackState::Dead, Some("ledger locked")));
    assert_eq!(fell_back.verdict, Some(StoredVerdict { code: "0".to_owned(), tag: None }));
    assert!(fell_back.needs_reconciliation.as_deref().is_some_and(|reason| reason.contains("fallback verdict")));
}

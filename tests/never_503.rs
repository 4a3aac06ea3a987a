//! Every way the pipeline can turn a callback away, with the status each
//! gets; none is 503, which Daraja may take as "drop it" rather than "send
//! it again".

#[path = "support/troubled_store.rs"]
mod troubled_store;

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, StatusCode};
use http_body::{Body, Frame};
use pesakit::guard::{GuardRequest, GuardVerdict};
use pesakit::inbox::MemoryStore;
use pesakit::testing::{StkCallbackBuilder, TestRequest};
use pesakit::{C2bPayment, State, StkCallback, Validation, daraja};

#[daraja::stk_callback("/status/stk")]
fn paid(_callback: StkCallback) {}

#[daraja::stk_callback("/status/failing")]
fn failing(_callback: StkCallback) -> Result<(), String> {
    Err("ledger locked".into())
}

#[daraja::stk_callback("/status/panicking")]
fn panicking(_callback: StkCallback) {
    panic!("handler bug");
}

#[daraja::stk_callback("/status/stateful")]
fn stateful(_callback: StkCallback, State(_flag): State<Arc<AtomicBool>>) {}

#[daraja::c2b_validation("/status/validate")]
async fn slow_validation(_payment: C2bPayment) -> Validation {
    std::future::pending::<()>().await;
    Validation::Accept
}

/// Refuses what asks for it in `x-refuse`.
fn guard(request: &GuardRequest<'_>) -> GuardVerdict {
    match request.headers().get("x-refuse").map(|value| value.as_bytes()) {
        Some(b"forbid") => GuardVerdict::Forbid("asked to".into()),
        Some(b"conceal") => GuardVerdict::Conceal("asked to".into()),
        _ => GuardVerdict::Allow,
    }
}

/// A body that fails while it is read.
struct Broken;

impl Body for Broken {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        Poll::Ready(Some(Err(std::io::Error::other("connection reset"))))
    }
}

#[tokio::test]
async fn every_refusal_has_its_status_and_none_is_503() {
    let table = |with_state: bool| {
        let routes = pesakit::routes![paid, failing, panicking, stateful, slow_validation]
            .guard(guard)
            .body_limit(2048)
            .validation_deadline(Duration::from_millis(20));
        if with_state { routes.with_state(Arc::new(AtomicBool::new(true))) } else { routes }
    };
    let routes = table(true);
    let stk = StkCallbackBuilder::cancelled().build();
    let payment = r#"{"TransID":"RKT1","TransTime":"20191122063845","TransAmount":"10","MSISDN":"254708374149"}"#;
    let post = |path: &str, body: &str| TestRequest::post(path).body(body.to_owned());

    let mut cases = vec![
        ("handled", post("/status/stk", &stk), StatusCode::OK),
        ("unknown path", post("/status/nowhere", &stk), StatusCode::NOT_FOUND),
        ("guard forbids", post("/status/stk", &stk).header("x-refuse", "forbid"), StatusCode::FORBIDDEN),
        ("guard conceals", post("/status/stk", &stk).header("x-refuse", "conceal"), StatusCode::NOT_FOUND),
        ("wrong method", TestRequest::new(Method::PUT, "/status/stk"), StatusCode::METHOD_NOT_ALLOWED),
        ("body too large", post("/status/stk", &" ".repeat(4096)), StatusCode::PAYLOAD_TOO_LARGE),
        ("body does not parse", post("/status/stk", "{}"), StatusCode::BAD_REQUEST),
        ("validation body does not parse", post("/status/validate", "{}"), StatusCode::OK),
        ("handler error", post("/status/failing", &stk), StatusCode::INTERNAL_SERVER_ERROR),
        ("handler panic", post("/status/panicking", &stk), StatusCode::INTERNAL_SERVER_ERROR),
        ("validation past its deadline", post("/status/validate", payment), StatusCode::OK),
    ];
    let mut seen = Vec::new();
    for (name, request, expected) in cases.drain(..) {
        let status = routes.dispatch(request.build()).await.status();
        assert_eq!(status, expected, "{name}");
        seen.push(status);
    }

    // With an inbox whose disk is full: nothing can be stored, so nothing
    // is acknowledged.
    let store = troubled_store::Troubled::new(Arc::new(MemoryStore::new()));
    store.down.store(true, Ordering::SeqCst);
    let stored_first = table(true).with_inbox(pesakit::Inbox::with_store(store));
    let unrecorded = stored_first.dispatch(post("/status/stk", &stk).build()).await.status();
    assert_eq!(unrecorded, StatusCode::INTERNAL_SERVER_ERROR, "store unavailable");

    let missing_state = table(false).dispatch(post("/status/stateful", &stk).build()).await.status();
    assert_eq!(missing_state, StatusCode::INTERNAL_SERVER_ERROR, "a state the table lacks, served unchecked");

    let mut broken = Request::post("/status/stk").body(Broken).expect("a request");
    broken.extensions_mut().insert(pesakit::PeerAddr("127.0.0.1:1".parse().expect("an address")));
    let unreadable = routes.dispatch_streaming(broken).await.status();
    assert_eq!(unreadable, StatusCode::BAD_REQUEST, "body unreadable");

    seen.extend([unrecorded, missing_state, unreadable]);
    assert!(seen.iter().all(|status| *status != StatusCode::SERVICE_UNAVAILABLE), "{seen:?}");
    // The bundled runtime's own refusals (408 past the request timeout, the
    // header read cut) are in tests/runtime.rs.
}

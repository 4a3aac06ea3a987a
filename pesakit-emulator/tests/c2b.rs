//! C2B end to end: URLs registered with the emulator, payments simulated;
//! the validation reaches the application's handler, its verdict is
//! honoured, and the confirmation follows only an accepted payment, or the
//! registered default when the validation does not answer in time; the
//! delivery plans a `BillRefNumber` picks.

mod support;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::Method;
use pesakit::{C2bPayment, Inbox, RejectCode, State, Validation, daraja};
use pesakit_emulator::Emulator;
use serde_json::json;
use support::{Scratch, call, token};

/// `("validation" | "confirmation", BillRefNumber)` of every handler run.
type Seen = Arc<Mutex<Vec<(&'static str, String)>>>;

#[daraja::c2b_validation("/c2b/validate")]
async fn validate(payment: C2bPayment, State(seen): State<Seen>) -> Validation {
    seen.lock().expect("not poisoned").push(("validation", payment.bill_ref_number.clone()));
    if payment.bill_ref_number == "slow" {
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    if payment.bill_ref_number.starts_with("invoice-") || payment.bill_ref_number == "slow" {
        Validation::Accept
    } else {
        Validation::Reject(RejectCode::InvalidAccountNumber)
    }
}

#[daraja::c2b_confirmation("/c2b/confirm")]
fn confirm(payment: C2bPayment, State(seen): State<Seen>) {
    seen.lock().expect("not poisoned").push(("confirmation", payment.bill_ref_number.clone()));
}

/// The application, with the durable inbox in `scratch`.
async fn application(seen: &Seen, scratch: &Scratch) -> SocketAddr {
    let server = pesakit::Server::bind("127.0.0.1:0").await.expect("a port");
    let addr = server.local_addr().expect("bound");
    let inbox = Inbox::sqlite(scratch.inbox()).expect("the inbox opens");
    let routes = pesakit::routes![validate, confirm].with_state(seen.clone()).with_inbox(inbox);
    tokio::spawn(server.with_graceful_shutdown(std::future::pending()).serve(routes));
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_verdict_decides_whether_the_confirmation_comes() {
    let scratch = Scratch::new("c2b-verdicts");
    let seen = Seen::default();
    let app = application(&seen, &scratch).await;
    let emulator = Emulator::new()
        .validation_timeout(Duration::from_millis(500))
        .start("127.0.0.1:0".parse().expect("an address"))
        .await
        .expect("starts");
    let bearer = token(&emulator).await;

    let register = json!({
        "ShortCode": "600984",
        "ResponseType": "Cancelled",
        "ConfirmationURL": format!("http://{app}/c2b/confirm"),
        "ValidationURL": format!("http://{app}/c2b/validate"),
    });
    let (status, answer) = call(&emulator, Method::POST, "/mpesa/c2b/v2/registerurl", &bearer, Some(register)).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["ResponseCode"], "0");
    assert_eq!(answer["ResponseDescription"], "Success");
    assert!(answer["OriginatorCoversationID"].is_string(), "Daraja's spelling: {answer}");

    for bill_ref in ["invoice-1", "nonsense", "slow"] {
        let payment = json!({
            "ShortCode": 600984,
            "CommandID": "CustomerPayBillOnline",
            "Amount": 100,
            "Msisdn": "254708374149",
            "BillRefNumber": bill_ref,
        });
        let (status, answer) = call(&emulator, Method::POST, "/mpesa/c2b/v1/simulate", &bearer, Some(payment)).await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(answer["ResponseDescription"], "Accept the service request successfully.");
    }
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let runs = seen.lock().expect("not poisoned").clone();
    let ran = |kind: &str, bill_ref: &str| {
        runs.iter().filter(|(ran, reference)| *ran == kind && reference == bill_ref).count()
    };
    assert_eq!((ran("validation", "invoice-1"), ran("confirmation", "invoice-1")), (1, 1), "accepted: {runs:?}");
    assert_eq!((ran("validation", "nonsense"), ran("confirmation", "nonsense")), (1, 0), "rejected: {runs:?}");
    assert_eq!(
        (ran("validation", "slow"), ran("confirmation", "slow")),
        (1, 0),
        "too slow: the registered default (Cancelled) holds: {runs:?}"
    );

    let banned = json!({
        "ShortCode": "600984",
        "ResponseType": "Completed",
        "ConfirmationURL": format!("http://{app}/c2b/confirm"),
        "ValidationURL": format!("http://{app}/mpesa/validate"),
    });
    let (status, answer) = call(&emulator, Method::POST, "/mpesa/c2b/v1/registerurl", &bearer, Some(banned)).await;
    assert_eq!((status, &answer["errorCode"]), (400, &json!("400.003.02")));
    assert_eq!(answer["errorMessage"], "Bad Request - Invalid ValidationURL - URL has the word MPESA");
    let (status, answer) =
        call(&emulator, Method::POST, "/mpesa/c2b/v1/simulate", "Bearer nope", Some(json!({}))).await;
    assert_eq!((status, &answer["errorCode"]), (400, &json!("400.003.01")), "C2B's own token error");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bill_reference_picks_the_delivery() {
    let scratch = Scratch::new("c2b-plans");
    let seen = Seen::default();
    let app = application(&seen, &scratch).await;
    let emulator = support::emulator(Duration::from_millis(10)).await;
    let bearer = token(&emulator).await;
    // Confirmations only: no validation URL.
    let register = json!({
        "ShortCode": "600985", "ResponseType": "Completed", "ConfirmationURL": format!("http://{app}/c2b/confirm"),
    });
    let (status, answer) = call(&emulator, Method::POST, "/mpesa/c2b/v1/registerurl", &bearer, Some(register)).await;
    assert_eq!(status, 200, "{answer}");
    let started = std::time::Instant::now();
    for bill_ref in ["invoice-dup3", "invoice-silent", "invoice-delay1"] {
        let payment = json!({
            "ShortCode": "600985", "CommandID": "CustomerPayBillOnline", "Amount": "50", "Msisdn": 254708374149_u64,
            "BillRefNumber": bill_ref,
        });
        let (status, answer) = call(&emulator, Method::POST, "/mpesa/c2b/v2/simulate", &bearer, Some(payment)).await;
        assert_eq!(status, 200, "{answer}");
    }
    let confirmed = |bill_ref: &str| {
        let runs = seen.lock().expect("not poisoned");
        runs.iter().filter(|(kind, reference)| *kind == "confirmation" && reference == bill_ref).count()
    };
    while confirmed("invoice-delay1") == 0 {
        assert!(started.elapsed() < Duration::from_secs(5), "the delayed confirmation never came");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(started.elapsed() >= Duration::from_secs(1), "after the delay asked");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(confirmed("invoice-dup3"), 1, "delivered three times, handled once by the inbox");
    assert_eq!(confirmed("invoice-silent"), 0, "no callback at all");
    let recorded = emulator.transactions();
    let by_plan =
        |word: &str| recorded.iter().find(|transaction| transaction.scenario.contains(word)).expect("recorded").clone();
    let dup = by_plan("3 times");
    assert_eq!(dup.deliveries.len(), 3);
    assert!(dup.deliveries.iter().all(|delivery| delivery.acknowledged), "{dup:?}");
    let silent = by_plan("no result");
    assert!(silent.deliveries.is_empty());
    assert_eq!(silent.result_code.as_deref(), Some("0"), "the payment happened; only its callback is lost");
    assert!(silent.receipt.is_some_and(|receipt| receipt == silent.id), "a C2B payment's receipt is its TransID");
}

//! The asynchronous APIs end to end: B2C, account balance, transaction
//! status, reversal and B2B acknowledged as Daraja acknowledges them, the
//! result delivered to a pesakit table with the durable inbox, and the
//! delivery plans: duplicates (handled once), a queue timeout before the
//! result, a queue timeout and never a result, no callback at all.

mod support;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::Method;
use pesakit::{
    AccountBalanceParams, B2bParams, B2cParams, DarajaResult, Inbox, QueueTimeout, ReversalParams, State,
    TransactionStatusParams, daraja,
};
use serde_json::{Value, json};
use support::{call, emulator, token};

/// `(kind, OriginatorConversationID, ResultCode)` of every handler run.
type Seen = Arc<Mutex<Vec<(&'static str, String, String)>>>;

fn note(seen: &Seen, kind: &'static str, originator: &str, code: impl ToString) {
    seen.lock().expect("not poisoned").push((kind, originator.to_owned(), code.to_string()));
}

#[daraja::b2c_result("/results/b2c")]
fn b2c(result: DarajaResult<B2cParams>, State(seen): State<Seen>) {
    note(&seen, "b2c", &result.originator_conversation_id, &result.result_code);
}

#[daraja::account_balance_result("/results/balance")]
fn balance(result: DarajaResult<AccountBalanceParams>, State(seen): State<Seen>) {
    note(&seen, "account_balance", &result.originator_conversation_id, &result.result_code);
}

#[daraja::transaction_status_result("/results/status")]
fn status(result: DarajaResult<TransactionStatusParams>, State(seen): State<Seen>) {
    note(&seen, "transaction_status", &result.originator_conversation_id, &result.result_code);
}

#[daraja::reversal_result("/results/reversal")]
fn reversal(result: DarajaResult<ReversalParams>, State(seen): State<Seen>) {
    note(&seen, "reversal", &result.originator_conversation_id, &result.result_code);
}

#[daraja::b2b_result("/results/b2b")]
fn b2b(result: DarajaResult<B2bParams>, State(seen): State<Seen>) {
    note(&seen, "b2b", &result.originator_conversation_id, &result.result_code);
}

#[daraja::queue_timeout("/results/timeout")]
fn timed_out(timeout: QueueTimeout, State(seen): State<Seen>) {
    let code = timeout.result_code.as_ref().map_or_else(String::new, ToString::to_string);
    note(&seen, "timeout", &timeout.originator_conversation_id, code);
}

/// The application: a pesakit table with the SQLite inbox, on a free port.
async fn application(seen: &Seen, db: &std::path::Path) -> SocketAddr {
    let server = pesakit::Server::bind("127.0.0.1:0").await.expect("a port");
    let addr = server.local_addr().expect("bound");
    let inbox = Inbox::sqlite(db).expect("the inbox opens");
    let routes =
        pesakit::routes![b2c, balance, status, reversal, b2b, timed_out].with_state(seen.clone()).with_inbox(inbox);
    tokio::spawn(server.with_graceful_shutdown(std::future::pending()).serve(routes));
    addr
}

fn request(path: &str, app: SocketAddr, result_path: &str, remarks: &str, originator: &str) -> Value {
    let mut body = json!({
        "OriginatorConversationID": originator,
        "InitiatorName": "testapi",
        "Initiator": "testapi",
        "SecurityCredential": "c2VjcmV0",
        "PartyA": 600996,
        "PartyB": "254708374149",
        "Remarks": remarks,
        "QueueTimeOutURL": format!("http://{app}/results/timeout"),
        "ResultURL": format!("http://{app}{result_path}"),
        "IdentifierType": "4",
    });
    let (command, extra) = match path {
        "/mpesa/b2c/v3/paymentrequest" | "/mpesa/b2c/v1/paymentrequest" => ("BusinessPayment", json!({"Amount": 250})),
        "/mpesa/accountbalance/v1/query" => ("AccountBalance", json!({})),
        "/mpesa/transactionstatus/v1/query" => ("TransactionStatusQuery", json!({"TransactionID": "SH98HPAEJ8"})),
        "/mpesa/reversal/v1/request" => {
            ("TransactionReversal", json!({"TransactionID": "SH98HPAEJ8", "Amount": 250, "ReceiverParty": 600996}))
        }
        _ => ("BusinessPayBill", json!({"Amount": 250, "AccountReference": "invoice-9"})),
    };
    body["CommandID"] = json!(command);
    for (key, value) in extra.as_object().expect("an object") {
        body[key] = value.clone();
    }
    body
}

async fn wait_until(seen: &Seen, done: impl Fn(&[(&'static str, String, String)]) -> bool) {
    for _ in 0..300 {
        if done(&seen.lock().expect("not poisoned")) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("not reached: {:?}", seen.lock().expect("not poisoned"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_result_api_is_acknowledged_then_its_result_delivered() {
    let dir = std::env::temp_dir().join(format!("pesakit-emulator-results-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a directory");
    let seen = Seen::default();
    let app = application(&seen, &dir.join("inbox.db")).await;
    let emulator = emulator(Duration::from_millis(20)).await;
    for (index, (path, result_path, kind)) in [
        ("/mpesa/b2c/v3/paymentrequest", "/results/b2c", "b2c"),
        ("/mpesa/b2c/v1/paymentrequest", "/results/b2c", "b2c"),
        ("/mpesa/accountbalance/v1/query", "/results/balance", "account_balance"),
        ("/mpesa/transactionstatus/v1/query", "/results/status", "transaction_status"),
        ("/mpesa/reversal/v1/request", "/results/reversal", "reversal"),
        ("/mpesa/b2b/v1/paymentrequest", "/results/b2b", "b2b"),
    ]
    .into_iter()
    .enumerate()
    {
        let bearer = token(&emulator).await;
        let originator = format!("origin-{index}");
        let body = request(path, app, result_path, "monthly payout", &originator);
        let (status, answer) = call(&emulator, Method::POST, path, &bearer, Some(body)).await;
        assert_eq!(status, 200, "{path}: {answer}");
        assert_eq!(answer["OriginatorConversationID"], originator.as_str(), "{path}: the caller's, echoed");
        assert_eq!(answer["ResponseCode"], "0");
        assert_eq!(answer["ResponseDescription"], "Accept the service request successfully.");
        assert!(
            answer["ConversationID"].as_str().is_some_and(|id| id.starts_with("AG_") && id.len() == 32),
            "{answer}"
        );
        wait_until(&seen, |runs| runs.iter().any(|(ran, id, code)| *ran == kind && *id == originator && code == "0"))
            .await;
    }
    let recorded = emulator.transactions();
    assert_eq!(recorded.len(), 6);
    assert!(recorded.iter().all(|transaction| transaction.deliveries.iter().all(|delivery| delivery.acknowledged)));
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delivery_plans_play_what_production_does() {
    let dir = std::env::temp_dir().join(format!("pesakit-emulator-plans-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a directory");
    let seen = Seen::default();
    let app = application(&seen, &dir.join("inbox.db")).await;
    let emulator = emulator(Duration::from_millis(20)).await;
    let bearer = token(&emulator).await;
    let b2c = "/mpesa/b2c/v3/paymentrequest";
    for (originator, remarks) in [
        ("dup", "payout dup3"),
        ("late", "payout timeout"),
        ("lost", "payout timeout-only"),
        ("quiet", "payout silent"),
    ] {
        let body = request(b2c, app, "/results/b2c", remarks, originator);
        let (status, answer) = call(&emulator, Method::POST, b2c, &bearer, Some(body)).await;
        assert_eq!(status, 200, "{answer}");
    }
    wait_until(&seen, |runs| {
        runs.iter().any(|(kind, id, _)| *kind == "b2c" && id == "dup")
            && runs.iter().any(|(kind, id, _)| *kind == "b2c" && id == "late")
            && runs.iter().any(|(kind, id, _)| *kind == "timeout" && id == "lost")
    })
    .await;
    // Long enough for anything more to arrive.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let runs = seen.lock().expect("not poisoned").clone();
    let count = |kind: &str, id: &str| runs.iter().filter(|(ran, ran_id, _)| *ran == kind && ran_id == id).count();
    assert_eq!(count("b2c", "dup"), 1, "delivered three times, handled once by the inbox: {runs:?}");
    assert_eq!((count("timeout", "late"), count("b2c", "late")), (1, 1), "a timeout, then the result");
    assert_eq!((count("timeout", "lost"), count("b2c", "lost")), (1, 0), "a timeout and never a result");
    assert_eq!((count("timeout", "quiet"), count("b2c", "quiet")), (0, 0), "no callback at all");
    let dup = emulator.transactions().into_iter().find(|transaction| transaction.id == "dup").expect("recorded");
    assert_eq!(dup.deliveries.len(), 3);
    assert!(dup.deliveries.iter().all(|delivery| delivery.acknowledged), "each copy acknowledged: {dup:?}");

    let again = request(b2c, app, "/results/b2c", "payout", "dup");
    let (status, answer) = call(&emulator, Method::POST, b2c, &bearer, Some(again)).await;
    assert_eq!((status, &answer["errorCode"]), (500, &json!("500.002.1001")), "{answer}");
    assert_eq!(answer["errorMessage"], "Duplicate OriginatorConversationID.");

    let (status, answer) =
        call(&emulator, Method::POST, b2c, "Bearer nope", Some(request(b2c, app, "/results/b2c", "payout", "x"))).await;
    assert_eq!((status, &answer["errorCode"]), (401, &json!("401.002.01")), "B2C's own token error");
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_amount_chooses_a_failed_payout() {
    let dir = std::env::temp_dir().join(format!("pesakit-emulator-failures-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a directory");
    let seen = Seen::default();
    let app = application(&seen, &dir.join("inbox.db")).await;
    let emulator = emulator(Duration::from_millis(10)).await;
    let bearer = token(&emulator).await;
    let b2c = "/mpesa/b2c/v1/paymentrequest";
    for (amount, code) in [(1, "1"), (2001, "2001"), (3, "0")] {
        let originator = format!("amount-{amount}");
        let mut body = request(b2c, app, "/results/b2c", "payout", &originator);
        body["Amount"] = json!(amount);
        let (status, answer) = call(&emulator, Method::POST, b2c, &bearer, Some(body)).await;
        assert_eq!(status, 200, "{answer}");
        wait_until(&seen, |runs| {
            runs.iter().any(|(kind, id, seen_code)| *kind == "b2c" && *id == originator && seen_code == code)
        })
        .await;
    }
    std::fs::remove_dir_all(&dir).ok();
}

//! The asynchronous APIs end to end: B2C, account balance, transaction
//! status, reversal and B2B acknowledged as Daraja acknowledges them, the
//! result delivered to a pesakit table with the durable inbox, the delivery
//! plans on every one of them (duplicates handled once, a queue timeout
//! before the result, a queue timeout and never a result, no callback at
//! all, a delay), and the status and reversal of a payment answered from its
//! state.

mod support;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http::Method;
use pesakit::{
    AccountBalanceParams, B2bParams, B2cParams, DarajaResult, Inbox, QueueTimeout, ReversalParams, State,
    TransactionStatusParams, daraja,
};
use pesakit_emulator::RunningEmulator;
use serde_json::{Value, json};
use support::{Scratch, call, emulator, eventually, token};

/// One handler run.
#[derive(Debug, Clone)]
struct Run {
    kind: &'static str,
    originator: String,
    code: String,
    /// What the kind tells beyond its code: the receipt and amount a status
    /// reports, the transaction a reversal undid.
    detail: String,
    at: Instant,
}

type Seen = Arc<Mutex<Vec<Run>>>;

fn note(seen: &Seen, kind: &'static str, originator: &str, code: impl ToString, detail: String) {
    let run = Run { kind, originator: originator.to_owned(), code: code.to_string(), detail, at: Instant::now() };
    seen.lock().expect("not poisoned").push(run);
}

#[daraja::b2c_result("/results/b2c")]
fn b2c(result: DarajaResult<B2cParams>, State(seen): State<Seen>) {
    let amount = result.params.transaction_amount.map(|amount| amount.to_string()).unwrap_or_default();
    note(&seen, "b2c", &result.originator_conversation_id, &result.result_code, amount);
}

#[daraja::account_balance_result("/results/balance")]
fn balance(result: DarajaResult<AccountBalanceParams>, State(seen): State<Seen>) {
    note(&seen, "account_balance", &result.originator_conversation_id, &result.result_code, String::new());
}

#[daraja::transaction_status_result("/results/status")]
fn status(result: DarajaResult<TransactionStatusParams>, State(seen): State<Seen>) {
    let params = &result.params;
    let amount = params.amount.map(|amount| amount.to_string()).unwrap_or_default();
    let (receipt, reason) = (params.receipt_no.as_deref().unwrap_or_default(), params.reason_type.as_deref());
    let detail = format!("{receipt} {amount} {}", reason.unwrap_or_default()).trim_end().to_owned();
    note(&seen, "transaction_status", &result.originator_conversation_id, &result.result_code, detail);
}

#[daraja::reversal_result("/results/reversal")]
fn reversal(result: DarajaResult<ReversalParams>, State(seen): State<Seen>) {
    let original = result.params.original_transaction_id.clone().unwrap_or_default();
    note(&seen, "reversal", &result.originator_conversation_id, &result.result_code, original);
}

#[daraja::b2b_result("/results/b2b")]
fn b2b(result: DarajaResult<B2bParams>, State(seen): State<Seen>) {
    note(&seen, "b2b", &result.originator_conversation_id, &result.result_code, String::new());
}

#[daraja::queue_timeout("/results/timeout")]
fn timed_out(timeout: QueueTimeout, State(seen): State<Seen>) {
    let code = timeout.result_code.as_ref().map_or_else(String::new, ToString::to_string);
    note(&seen, "timeout", &timeout.originator_conversation_id, code, String::new());
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

/// The API at `path`, with the pesakit route its results go to and the
/// kind its handler notes.
const APIS: [(&str, &str, &str); 5] = [
    ("/mpesa/b2c/v3/paymentrequest", "/results/b2c", "b2c"),
    ("/mpesa/accountbalance/v1/query", "/results/balance", "account_balance"),
    ("/mpesa/transactionstatus/v1/query", "/results/status", "transaction_status"),
    ("/mpesa/reversal/v1/request", "/results/reversal", "reversal"),
    ("/mpesa/b2b/v1/paymentrequest", "/results/b2b", "b2b"),
];

/// A request to the API at `path` whose results go to `result_path`;
/// status queries and reversals name `SH98HPAEJ8`.
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

/// Sends `body` to `path`; the answer must be Daraja's "accepted".
async fn accepted(emulator: &RunningEmulator, bearer: &str, path: &str, body: Value) -> Value {
    let (status, answer) = call(emulator, Method::POST, path, bearer, Some(body)).await;
    assert_eq!((status, &answer["ResponseCode"]), (200, &json!("0")), "{path}: {answer}");
    answer
}

/// The run of `kind` for `originator`, once it happened.
async fn run_of(seen: &Seen, kind: &str, originator: &str) -> Run {
    wait_until(seen, |runs| runs.iter().any(|run| run.kind == kind && run.originator == originator)).await;
    let runs = seen.lock().expect("not poisoned");
    runs.iter().find(|run| run.kind == kind && run.originator == originator).cloned().expect("just seen")
}

async fn wait_until(seen: &Seen, done: impl Fn(&[Run]) -> bool) {
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
    let scratch = Scratch::new("results");
    let seen = Seen::default();
    let app = application(&seen, &scratch.inbox()).await;
    let emulator = emulator(Duration::from_millis(20)).await;
    let bearer = token(&emulator).await;
    let v1 = ("/mpesa/b2c/v1/paymentrequest", "/results/b2c", "b2c");
    let mut receipt = String::new();
    for (index, (path, result_path, kind)) in std::iter::once(v1).chain(APIS).enumerate() {
        let originator = format!("origin-{index}");
        let mut body = request(path, app, result_path, "monthly payout", &originator);
        if !receipt.is_empty() {
            // Status and reversal name the first payout.
            body["TransactionID"] = json!(receipt);
        }
        let answer = accepted(&emulator, &bearer, path, body).await;
        assert_eq!(answer["OriginatorConversationID"], originator.as_str(), "{path}: the caller's, echoed");
        assert_eq!(answer["ResponseDescription"], "Accept the service request successfully.");
        assert!(
            answer["ConversationID"].as_str().is_some_and(|id| id.starts_with("AG_") && id.len() == 32),
            "{answer}"
        );
        let run = run_of(&seen, kind, &originator).await;
        assert_eq!(run.code, "0", "{path}: {run:?}");
        if index == 0 {
            assert_eq!(run.detail, "250.00", "the amount asked is the amount paid");
            let payout = emulator.transactions().into_iter().find(|transaction| transaction.id == originator);
            receipt = payout.and_then(|payout| payout.receipt).expect("a paid payout has a receipt");
        }
    }
    let recorded = emulator.transactions();
    assert_eq!(recorded.len(), 6);
    assert!(recorded.iter().all(|transaction| transaction.deliveries.iter().all(|delivery| delivery.acknowledged)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delivery_plans_play_what_production_does_on_every_api() {
    let scratch = Scratch::new("plans");
    let seen = Seen::default();
    let app = application(&seen, &scratch.inbox()).await;
    let emulator = emulator(Duration::from_millis(20)).await;
    let bearer = token(&emulator).await;
    let plans = ["dup3", "timeout", "timeout-only", "silent", "delay1"];
    let sent = Instant::now();
    for (path, result_path, kind) in APIS {
        for plan in plans {
            let body = request(path, app, result_path, &format!("run {plan}"), &format!("{kind}-{plan}"));
            accepted(&emulator, &bearer, path, body).await;
        }
    }
    wait_until(&seen, |runs| {
        APIS.iter().all(|(_, _, kind)| {
            ["dup3", "timeout", "delay1"]
                .iter()
                .all(|plan| runs.iter().any(|run| run.kind == *kind && run.originator == format!("{kind}-{plan}")))
                && runs.iter().any(|run| run.kind == "timeout" && run.originator == format!("{kind}-timeout-only"))
        })
    })
    .await;
    // Long enough for anything more to arrive.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let runs = seen.lock().expect("not poisoned").clone();
    let recorded = emulator.transactions();
    for (_, _, kind) in APIS {
        let ran = |ran_kind: &str, plan: &str| {
            let originator = format!("{kind}-{plan}");
            runs.iter().filter(|run| run.kind == ran_kind && run.originator == originator).collect::<Vec<_>>()
        };
        let counts = |plan: &str| (ran("timeout", plan).len(), ran(kind, plan).len());
        assert_eq!(counts("dup3"), (0, 1), "{kind}: delivered three times, handled once by the inbox: {runs:?}");
        assert_eq!(counts("timeout"), (1, 1), "{kind}: a timeout, then the result");
        assert_eq!(ran("timeout", "timeout")[0].code, "1", "{kind}: a timeout is never a success");
        assert_eq!(counts("timeout-only"), (1, 0), "{kind}: a timeout and never a result");
        assert_eq!(counts("silent"), (0, 0), "{kind}: no callback at all");
        assert_eq!(counts("delay1"), (0, 1), "{kind}: late, but delivered");
        assert!(ran(kind, "delay1")[0].at - sent >= Duration::from_secs(1), "{kind}: after the delay asked");
        let deliveries = |plan: &str| {
            let transaction = recorded.iter().find(|transaction| transaction.id == format!("{kind}-{plan}"));
            transaction.expect("recorded").deliveries.clone()
        };
        let dup = deliveries("dup3");
        assert_eq!(dup.len(), 3, "{kind}");
        assert!(dup.iter().all(|delivery| delivery.acknowledged), "{kind}: each copy acknowledged: {dup:?}");
        assert!(deliveries("silent").is_empty(), "{kind}");
        let order: Vec<_> =
            deliveries("timeout").iter().map(|delivery| delivery.url.ends_with("/results/timeout")).collect();
        assert_eq!(order, [true, false], "{kind}: the timeout first, then the result");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_queue_timeout_comes_when_set_and_the_result_never_before_it() {
    let scratch = Scratch::new("timeout-delay");
    let seen = Seen::default();
    let app = application(&seen, &scratch.inbox()).await;
    let emulator = pesakit_emulator::Emulator::new()
        .result_delay(Duration::from_millis(20))
        .queue_timeout_delay(Duration::from_millis(400))
        .start("127.0.0.1:0".parse().expect("an address"))
        .await
        .expect("starts");
    let bearer = token(&emulator).await;
    let (path, result_path, kind) = APIS[0];
    let sent = Instant::now();
    accepted(&emulator, &bearer, path, request(path, app, result_path, "late timeout", "late")).await;
    run_of(&seen, kind, "late").await;
    let timeout = run_of(&seen, "timeout", "late").await;
    assert!(timeout.at - sent >= Duration::from_millis(400), "the timeout at the delay set");
    let deliveries = emulator.transactions()[0].deliveries.clone();
    let urls: Vec<_> = deliveries.iter().map(|delivery| delivery.url.rsplit('/').next().unwrap_or_default()).collect();
    assert_eq!(urls, ["timeout", "b2c"], "the result, due earlier, waits for the timeout");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reused_originator_and_a_wrong_token_are_refused_as_daraja_refuses_them() {
    let emulator = emulator(Duration::from_millis(20)).await;
    let bearer = token(&emulator).await;
    let app: SocketAddr = "127.0.0.1:9".parse().expect("an address");
    let b2c = "/mpesa/b2c/v3/paymentrequest";
    accepted(&emulator, &bearer, b2c, request(b2c, app, "/results/b2c", "payout", "once")).await;
    let again = request(b2c, app, "/results/b2c", "payout", "once");
    let (status, answer) = call(&emulator, Method::POST, b2c, &bearer, Some(again)).await;
    assert_eq!((status, &answer["errorCode"]), (500, &json!("500.002.1001")), "{answer}");
    assert_eq!(answer["errorMessage"], "Duplicate OriginatorConversationID.");

    let (status, answer) =
        call(&emulator, Method::POST, b2c, "Bearer nope", Some(request(b2c, app, "/results/b2c", "payout", "x"))).await;
    assert_eq!((status, &answer["errorCode"]), (401, &json!("401.002.01")), "B2C's own token error");
    let mut zero = request(b2c, app, "/results/b2c", "payout", "zero");
    zero["Amount"] = json!(0);
    let (status, answer) = call(&emulator, Method::POST, b2c, &bearer, Some(zero)).await;
    assert_eq!((status, &answer["errorCode"]), (400, &json!("400.002.02")), "{answer}");
    assert_eq!(answer["errorMessage"], "Bad Request - Invalid Amount");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_and_reversal_answer_from_the_payment_s_state() {
    let scratch = Scratch::new("state");
    let seen = Seen::default();
    let app = application(&seen, &scratch.inbox()).await;
    let emulator = emulator(Duration::from_millis(10)).await;
    let bearer = token(&emulator).await;
    let b2c = "/mpesa/b2c/v3/paymentrequest";
    let mut payout = request(b2c, app, "/results/b2c", "payout", "payout");
    payout["Amount"] = json!(420);
    accepted(&emulator, &bearer, b2c, payout).await;
    run_of(&seen, "b2c", "payout").await;
    let paid_out = emulator.transactions()[0].clone();
    assert_eq!(paid_out.api, "b2c");
    let receipt = paid_out.receipt.expect("paid, with a receipt");
    let b2b = "/mpesa/b2b/v1/paymentrequest";
    let mut pay_bill = request(b2b, app, "/results/b2b", "supplier", "pay-bill");
    pay_bill["Amount"] = json!(900);
    accepted(&emulator, &bearer, b2b, pay_bill).await;
    run_of(&seen, "b2b", "pay-bill").await;
    let paid_bill = emulator.transactions().into_iter().find(|transaction| transaction.id == "pay-bill").expect("kept");
    assert_eq!(paid_bill.api, "b2b");
    let bill_receipt = paid_bill.receipt.expect("paid, with a receipt");

    // A customer's payment made through C2B, with no URLs registered: it
    // completes silently, and its TransID can be queried and reversed too.
    let c2b = json!({
        "ShortCode": 600984, "CommandID": "CustomerBuyGoodsOnline", "Amount": 75, "Msisdn": "254708374149",
    });
    accepted(&emulator, &bearer, "/mpesa/c2b/v1/simulate", c2b).await;
    let trans_id = eventually("the C2B payment's TransID", || {
        emulator.transactions().into_iter().find(|transaction| transaction.api == "c2b").and_then(|c2b| c2b.receipt)
    })
    .await;

    let status = "/mpesa/transactionstatus/v1/query";
    let reversal = "/mpesa/reversal/v1/request";
    let named = |path: &str, originator: &str, transaction_id: &str| {
        let result_path = if path == status { "/results/status" } else { "/results/reversal" };
        let mut body = request(path, app, result_path, "support ticket", originator);
        body["TransactionID"] = json!(transaction_id);
        body
    };
    let (kind_status, kind_reversal) = ("transaction_status", "reversal");
    for (path, kind, originator, transaction_id, code, detail) in [
        (status, kind_status, "status-paid", receipt.as_str(), "0", format!("{receipt} 420.00 {PAYOUT}")),
        (
            status,
            kind_status,
            "status-b2b",
            bill_receipt.as_str(),
            "0",
            format!("{bill_receipt} 900.00 Business Pay Bill"),
        ),
        (status, kind_status, "status-c2b", trans_id.as_str(), "0", format!("{trans_id} 75.00 Pay Bill Online")),
        (status, kind_status, "status-unknown", "SKI0000000", "2032", String::new()),
        (reversal, kind_reversal, "reverse", receipt.as_str(), "0", receipt.clone()),
        (reversal, kind_reversal, "reverse-again", receipt.as_str(), "R000001", String::new()),
        (reversal, kind_reversal, "reverse-unknown", "SKI0000000", "R000002", String::new()),
    ] {
        accepted(&emulator, &bearer, path, named(path, originator, transaction_id)).await;
        let run = run_of(&seen, kind, originator).await;
        assert_eq!((run.code.as_str(), &run.detail), (code, &detail), "{originator}");
    }
    let mut by_conversation = request(status, app, "/results/status", "by id", "status-by-conversation");
    by_conversation.as_object_mut().expect("an object").remove("TransactionID");
    by_conversation["OriginalConversationID"] = json!("payout");
    accepted(&emulator, &bearer, status, by_conversation).await;
    let run = run_of(&seen, kind_status, "status-by-conversation").await;
    assert_eq!(
        (run.code.as_str(), run.detail),
        ("0", format!("{receipt} 420.00 {PAYOUT}")),
        "found by the payout's id"
    );
    // A query moves no money: no receipt of its own.
    for query in emulator.transactions().iter().filter(|transaction| transaction.api == "transaction_status") {
        assert_eq!(query.receipt, None, "{}", query.id);
    }
}

/// The `ReasonType` a status query reports for a B2C payout.
const PAYOUT: &str = "Business Payment to Customer via API";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_amount_chooses_a_failed_payout() {
    let scratch = Scratch::new("failures");
    let seen = Seen::default();
    let app = application(&seen, &scratch.inbox()).await;
    let emulator = emulator(Duration::from_millis(10)).await;
    let bearer = token(&emulator).await;
    for (path, result_path, kind) in [APIS[0], APIS[4]] {
        for (amount, code) in [(1, "1"), (2001, "2001"), (3, "0")] {
            let originator = format!("{kind}-{amount}");
            let mut body = request(path, app, result_path, "payout", &originator);
            body["Amount"] = json!(amount);
            accepted(&emulator, &bearer, path, body).await;
            assert_eq!(run_of(&seen, kind, &originator).await.code, code, "{kind}, {amount}");
        }
    }
}

//! M-Pesa Express end to end: a client asks the emulator for a token and an
//! STK push, the emulator delivers the callback to a pesakit route table on
//! the bundled runtime, and the test checks what the handler received, what
//! the emulator recorded, and every answer field by field.

mod support;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http::Method;
use pesakit::{Inbox, State, StkCallback, StkOutcome, daraja};
use pesakit_emulator::{Emulator, RunningEmulator, SANDBOX_PASSKEY, SANDBOX_SHORT_CODE};
use serde_json::{Value, json};
use support::{Scratch, call, emulator, eventually, from_phone, stk_push, timestamp, token};

/// What the application's handler saw: checkout request id, result code,
/// amount paid.
type Seen = Arc<Mutex<Vec<(String, i64, Option<String>)>>>;

#[daraja::stk_callback("/payments/stk")]
fn paid(callback: StkCallback, State(seen): State<Seen>) {
    let amount = match callback.outcome() {
        StkOutcome::Paid(payment) => Some(payment.amount.to_string()),
        _ => None,
    };
    let code = callback.result_code.to_string().parse().unwrap_or(-1);
    seen.lock().expect("not poisoned").push((callback.checkout_request_id.clone(), code, amount));
}

/// The application: a pesakit table with the durable inbox in `scratch`,
/// on a free port.
async fn application(seen: &Seen, scratch: &Scratch) -> SocketAddr {
    let server = pesakit::Server::bind("127.0.0.1:0").await.expect("a port");
    let addr = server.local_addr().expect("bound");
    let inbox = Inbox::sqlite(scratch.inbox()).expect("the inbox opens");
    let routes = pesakit::routes![paid].with_state(seen.clone()).with_inbox(inbox);
    tokio::spawn(server.with_graceful_shutdown(std::future::pending()).serve(routes));
    addr
}

fn push_request(amount: i64, phone: &str, callback_url: &str, timestamp: &str) -> Value {
    let mut push = stk_push(SANDBOX_SHORT_CODE, SANDBOX_PASSKEY, timestamp);
    push["Amount"] = json!(amount);
    push["CallBackURL"] = json!(callback_url);
    from_phone(&mut push, phone);
    push
}

async fn wait_for_callback(seen: &Seen, checkout_request_id: &str) -> (String, i64, Option<String>) {
    let callback = || seen.lock().expect("not poisoned").iter().find(|(id, ..)| id == checkout_request_id).cloned();
    eventually(&format!("a callback for {checkout_request_id}"), callback).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paid_push_reaches_the_handler_and_the_query_says_so() {
    let seen = Seen::default();
    let scratch = Scratch::new("stk-paid");
    let app = application(&seen, &scratch).await;
    let emulator = emulator(Duration::from_millis(50)).await;
    let basic = format!("Basic {}", STANDARD.encode("app-key:app-secret"));
    let (_, issued) =
        call(&emulator, Method::GET, "/oauth/v1/generate?grant_type=client_credentials", &basic, None).await;
    assert_eq!(issued["expires_in"], "3599", "a string, as live Daraja sends it");
    let bearer = token(&emulator).await;
    let url = format!("http://{app}/payments/stk");

    let (status, answer) = call(
        &emulator,
        Method::POST,
        "/mpesa/stkpush/v1/processrequest",
        &bearer,
        Some(push_request(1500, "254708374149", &url, &timestamp(0))),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["ResponseCode"], "0");
    assert_eq!(answer["ResponseDescription"], "Success. Request accepted for processing");
    assert_eq!(answer["CustomerMessage"], "Success. Request accepted for processing");
    let checkout = answer["CheckoutRequestID"].as_str().expect("an id").to_owned();
    assert!(checkout.starts_with("ws_CO_"), "{checkout}");
    let groups: Vec<usize> = answer["MerchantRequestID"].as_str().expect("an id").split('-').map(str::len).collect();
    assert_eq!(groups, [4, 4, 4, 18], "shaped as the real 3b82-4048-94fd-4503f39b858f555160: {answer}");

    let (_, code, amount) = wait_for_callback(&seen, &checkout).await;
    assert_eq!((code, amount.as_deref()), (0, Some("1500.00")));
    let recorded = emulator.transactions();
    let delivery = &recorded[0].deliveries[0];
    assert_eq!((delivery.status, delivery.acknowledged), (Some(200), true), "{delivery:?}");
    assert_eq!(delivery.url, url);

    let query = json!({
        "BusinessShortCode": "174379",
        "Password": STANDARD.encode(format!("{SANDBOX_SHORT_CODE}{SANDBOX_PASSKEY}{}", timestamp(0))),
        "Timestamp": timestamp(0),
        "CheckoutRequestID": checkout,
    });
    let (status, answer) = call(&emulator, Method::POST, "/mpesa/stkpushquery/v1/query", &bearer, Some(query)).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["ResultCode"], "0", "a string in the query, unlike the callback");
    assert_eq!(answer["ResponseCode"], "0");
    assert_eq!(answer["MerchantRequestID"], recorded[0].other_id.as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_amount_chooses_what_the_customer_does() {
    let seen = Seen::default();
    let scratch = Scratch::new("stk-amounts");
    let app = application(&seen, &scratch).await;
    let emulator = emulator(Duration::from_millis(20)).await;
    let bearer = token(&emulator).await;
    let url = format!("http://{app}/payments/stk");
    for (index, amount) in [1, 1019, 1032, 1037, 2001].into_iter().enumerate() {
        // A phone of its own for each, as one subscriber is locked while a push is pending.
        let phone = format!("25470837414{index}");
        let request = push_request(amount, &phone, &url, &timestamp(0));
        let (status, answer) =
            call(&emulator, Method::POST, "/mpesa/stkpush/v1/processrequest", &bearer, Some(request)).await;
        assert_eq!(status, 200, "{answer}");
        let (_, code, paid) = wait_for_callback(&seen, answer["CheckoutRequestID"].as_str().expect("an id")).await;
        assert_eq!((code, paid), (amount, None), "amount {amount}");
    }
    // The record says what each customer did, as the page shows it.
    let scenarios: Vec<String> =
        emulator.transactions().iter().map(|transaction| transaction.scenario.clone()).collect();
    for said in
        ["insufficient funds (1)", "expired (1019)", "cancelled (1032)", "no response (1037)", "wrong PIN (2001)"]
    {
        assert!(scenarios.iter().any(|scenario| scenario.starts_with(said)), "{said} in {scenarios:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_are_daraja_s_bodies_field_by_field() {
    let emulator = emulator(Duration::from_secs(60)).await;
    let bearer = token(&emulator).await;
    let url = "http://127.0.0.1:9/payments/stk";
    let push = "/mpesa/stkpush/v1/processrequest";

    let (status, answer) = call(
        &emulator,
        Method::POST,
        push,
        "Bearer not-a-token",
        Some(push_request(10, "254708374149", url, &timestamp(0))),
    )
    .await;
    assert_eq!(
        (status, &answer["errorCode"], &answer["errorMessage"]),
        (404, &json!("404.001.03"), &json!("Invalid Access Token"))
    );
    assert!(answer["requestId"].as_str().is_some_and(|id| !id.is_empty()), "{answer}");

    let utc = push_request(10, "254708374149", url, &timestamp(-3));
    let (status, answer) = call(&emulator, Method::POST, push, &bearer, Some(utc)).await;
    assert_eq!(
        (status, &answer["errorCode"], &answer["errorMessage"]),
        (400, &json!("400.002.02"), &json!("Bad Request - Invalid Timestamp"))
    );

    let mut wrong_password = push_request(10, "254708374149", url, &timestamp(0));
    wrong_password["Password"] = json!(STANDARD.encode("174379wrong"));
    let (status, answer) = call(&emulator, Method::POST, push, &bearer, Some(wrong_password)).await;
    assert_eq!((status, &answer["errorCode"]), (500, &json!("500.001.1001")));

    let banned = push_request(10, "254708374149", "http://127.0.0.1:9/mpesa/stk", &timestamp(0));
    let (status, answer) = call(&emulator, Method::POST, push, &bearer, Some(banned)).await;
    assert_eq!((status, &answer["errorCode"]), (400, &json!("400.003.02")));
    assert_eq!(answer["errorMessage"], "Bad Request - Invalid CallBackURL - URL has the word MPESA");

    let (status, accepted) =
        call(&emulator, Method::POST, push, &bearer, Some(push_request(10, "254708374149", url, &timestamp(0)))).await;
    assert_eq!(status, 200, "{accepted}");
    let checkout = accepted["CheckoutRequestID"].as_str().expect("an id");
    let (status, answer) =
        call(&emulator, Method::POST, push, &bearer, Some(push_request(10, "254708374149", url, &timestamp(0)))).await;
    assert_eq!((status, &answer["errorCode"]), (500, &json!("500.001.1001")));
    assert!(answer["errorMessage"].as_str().is_some_and(|message| message.starts_with("Unable to lock subscriber")));

    // While the customer has not answered, the query is a 500 naming the push.
    let query = json!({
        "BusinessShortCode": 174379,
        "Password": STANDARD.encode(format!("{SANDBOX_SHORT_CODE}{SANDBOX_PASSKEY}{}", timestamp(0))),
        "Timestamp": timestamp(0),
        "CheckoutRequestID": checkout,
    });
    let (status, answer) = call(&emulator, Method::POST, "/mpesa/stkpushquery/v1/query", &bearer, Some(query)).await;
    assert_eq!(status, 500);
    assert_eq!(
        answer,
        json!({"requestId": checkout, "errorCode": "500.001.1001", "errorMessage": "The transaction is being processed"})
    );

    let basic = format!("Basic {}", STANDARD.encode("key:secret"));
    let (status, answer) = call(&emulator, Method::GET, "/oauth/v1/generate?grant_type=password", &basic, None).await;
    assert_eq!((status, &answer["errorCode"]), (400, &json!("400.008.02")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_lists_transactions_from_the_json_record_as_text() {
    let emulator = emulator(Duration::from_millis(10)).await;
    let (status, page) = call(&emulator, Method::GET, "/", "", None).await;
    assert_eq!(status, 200);
    let page = page.as_str().expect("HTML, not JSON");
    assert!(page.contains(r#"fetch("/emulator/transactions")"#), "the page reads the record");
    assert!(page.contains("textContent") && !page.contains("innerHTML"), "receivers' answers are shown as text");
    let (status, record) = call(&emulator, Method::GET, "/emulator/transactions", "", None).await;
    assert_eq!((status, record), (200, json!({ "transactions": [] })));
}

/// The browser the page test drives: `$PESAKIT_TEST_CHROMIUM` (`.ci/run`
/// installs Debian's `chromium` and sets it).
const CHROMIUM_VARIABLE: &str = "PESAKIT_TEST_CHROMIUM";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_shows_a_delivery_that_just_happened_in_a_real_browser() {
    let Some(chromium) = std::env::var(CHROMIUM_VARIABLE).ok().filter(|path| !path.is_empty()) else {
        eprintln!(
            "skipped: {CHROMIUM_VARIABLE} is not set; set it to a Chromium binary (apt-get install chromium) to run this test"
        );
        return;
    };
    let seen = Seen::default();
    let scratch = Scratch::new("stk-page");
    let app = application(&seen, &scratch).await;
    let emulator = emulator(Duration::from_millis(10)).await;
    let bearer = token(&emulator).await;
    let url = format!("http://{app}/payments/stk");
    let request = push_request(1500, "254708374149", &url, &timestamp(0));
    let (_, answer) = call(&emulator, Method::POST, "/mpesa/stkpush/v1/processrequest", &bearer, Some(request)).await;
    let checkout = answer["CheckoutRequestID"].as_str().expect("an id").to_owned();
    wait_for_callback(&seen, &checkout).await;
    for _ in 0..100 {
        if emulator.transactions().iter().any(|transaction| !transaction.deliveries.is_empty()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    let page = format!("{}/", emulator.base_url());
    let dom = tokio::task::spawn_blocking(move || {
        std::process::Command::new(&chromium)
            .args(["--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=3000", "--dump-dom", &page])
            .output()
            .unwrap_or_else(|error| panic!("{CHROMIUM_VARIABLE}={chromium} does not run: {error}"))
    })
    .await
    .expect("the browser process");
    let dom = String::from_utf8_lossy(&dom.stdout).into_owned();
    let row = dom
        .split("<tr class=\"transaction\">")
        .find(|row| row.contains(&checkout))
        .unwrap_or_else(|| panic!("the page does not list {checkout}: {dom}"));
    assert!(row.contains("stk_push") && row.contains("paid"), "{row}");
    assert!(row.contains("delivery ok") && row.contains(&url) && row.contains("right answer"), "{row}");
}

/// Answers 500 to the first delivery (its handler fails), 200 after.
#[daraja::stk_callback("/payments/flaky")]
fn flaky(callback: StkCallback, State(seen): State<Seen>) -> Result<(), String> {
    let mut seen = seen.lock().expect("not poisoned");
    let first = !seen.iter().any(|(id, ..)| *id == callback.checkout_request_id);
    seen.push((callback.checkout_request_id.clone(), -1, None));
    if first { Err("the ledger is down".to_owned()) } else { Ok(()) }
}

async fn flaky_application(seen: &Seen) -> SocketAddr {
    let server = pesakit::Server::bind("127.0.0.1:0").await.expect("a port");
    let addr = server.local_addr().expect("bound");
    tokio::spawn(
        server.with_graceful_shutdown(std::future::pending()).serve(pesakit::routes![flaky].with_state(seen.clone())),
    );
    addr
}

async fn push(
    emulator: &RunningEmulator,
    bearer: &str,
    amount: i64,
    phone: &str,
    url: &str,
    reference: &str,
) -> String {
    let mut request = push_request(amount, phone, url, &timestamp(0));
    request["AccountReference"] = json!(reference);
    let (status, answer) =
        call(emulator, Method::POST, "/mpesa/stkpush/v1/processrequest", bearer, Some(request)).await;
    assert_eq!(status, 200, "{answer}");
    answer["CheckoutRequestID"].as_str().expect("an id").to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keywords_and_the_control_api_choose_the_delivery() {
    let seen = Seen::default();
    let scratch = Scratch::new("stk-keywords");
    let app = application(&seen, &scratch).await;
    let emulator = emulator(Duration::from_millis(10)).await;
    let bearer = token(&emulator).await;
    let url = format!("http://{app}/payments/stk");

    let twice = push(&emulator, &bearer, 100, "254708374140", &url, "dup2").await;
    let silent = push(&emulator, &bearer, 100, "254708374141", &url, "silent").await;
    let started = std::time::Instant::now();
    let late = push(&emulator, &bearer, 100, "254708374142", &url, "delay1").await;
    wait_for_callback(&seen, &late).await;
    assert!(started.elapsed() >= Duration::from_secs(1), "delivered after the delay the request asked");
    let copies = |id: &str| seen.lock().expect("not poisoned").iter().filter(|(seen_id, ..)| seen_id == id).count();
    assert_eq!(copies(&twice), 1, "the same callback twice, handled once by the inbox");
    let twice_record = emulator.transactions().into_iter().find(|transaction| transaction.id == twice);
    let deliveries = twice_record.expect("recorded").deliveries;
    assert_eq!(deliveries.len(), 2);
    assert!(deliveries.iter().all(|delivery| delivery.acknowledged), "each copy acknowledged: {deliveries:?}");
    assert_eq!(copies(&silent), 0, "no callback at all");
    let recorded = emulator.transactions();
    let silent_record = recorded.iter().find(|transaction| transaction.id == silent).expect("recorded");
    assert_eq!(silent_record.result_code.as_deref(), Some("0"), "the payment happened; only its callback is lost");

    let (status, _) =
        call(&emulator, Method::POST, "/emulator/next", "", Some(json!({ "result_code": 1032, "plan": "dup1" }))).await;
    assert_eq!(status, 200);
    let cancelled = push(&emulator, &bearer, 1500, "254708374143", &url, "invoice-9").await;
    let (_, code, paid) = wait_for_callback(&seen, &cancelled).await;
    assert_eq!((code, paid), (1032, None), "the control API's choice over the amount's");
    let after = push(&emulator, &bearer, 1500, "254708374144", &url, "invoice-10").await;
    assert_eq!(wait_for_callback(&seen, &after).await.1, 0, "the override holds for one request");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_delivery_is_lost_as_on_daraja_unless_retries_are_set() {
    for retries in [0, 2] {
        let seen = Seen::default();
        let app = flaky_application(&seen).await;
        let emulator = Emulator::new()
            .result_delay(Duration::from_millis(10))
            .delivery_retries(retries)
            .start("127.0.0.1:0".parse().expect("an address"))
            .await
            .expect("starts");
        let bearer = token(&emulator).await;
        let checkout =
            push(&emulator, &bearer, 100, "254708374149", &format!("http://{app}/payments/flaky"), "x").await;
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let deliveries = emulator.transactions()[0].deliveries.clone();
        let statuses: Vec<_> = deliveries.iter().map(|delivery| (delivery.status, delivery.acknowledged)).collect();
        match retries {
            0 => assert_eq!(statuses, [(Some(500), false)], "{checkout}: lost, as Daraja may lose it"),
            _ => assert_eq!(statuses, [(Some(500), false), (Some(200), true)], "{checkout}: retried once, then taken"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_token_is_refused_as_a_wrong_one_is() {
    let emulator = Emulator::new()
        .token_lifetime(Duration::from_millis(300))
        .start("127.0.0.1:0".parse().expect("an address"))
        .await
        .expect("starts");
    let bearer = token(&emulator).await;
    let request = push_request(10, "254708374149", "http://127.0.0.1:9/payments/stk", &timestamp(0));
    let push = "/mpesa/stkpush/v1/processrequest";
    let (status, _) = call(&emulator, Method::POST, push, &bearer, Some(request.clone())).await;
    assert_eq!(status, 200, "fresh");
    tokio::time::sleep(Duration::from_millis(400)).await;
    let (status, answer) = call(&emulator, Method::POST, push, &bearer, Some(request)).await;
    assert_eq!((status, &answer["errorCode"]), (404, &json!("404.001.03")), "expired: {answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_behind_https_gets_its_callback_once_its_certificate_is_trusted() {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).expect("a certificate");
    let tls =
        pesakit::TlsConfig::from_pem(certified.cert.pem().as_bytes(), certified.signing_key.serialize_pem().as_bytes())
            .expect("a valid pair");
    let scratch = Scratch::new("stk-https");
    let seen = Seen::default();
    let server = pesakit::Server::bind("127.0.0.1:0").await.expect("a port").tls(tls);
    let port = server.local_addr().expect("bound").port();
    let inbox = Inbox::sqlite(scratch.inbox()).expect("the inbox opens");
    let routes = pesakit::routes![paid].with_state(seen.clone()).with_inbox(inbox);
    tokio::spawn(server.with_graceful_shutdown(std::future::pending()).serve(routes));
    let url = format!("https://localhost:{port}/payments/stk");

    let trusting = Emulator::new()
        .result_delay(Duration::from_millis(10))
        .trust_certificate(certified.cert.der().clone())
        .start("127.0.0.1:0".parse().expect("an address"))
        .await
        .expect("starts");
    let bearer = token(&trusting).await;
    let checkout = push(&trusting, &bearer, 100, "254708374149", &url, "invoice-1").await;
    assert_eq!(wait_for_callback(&seen, &checkout).await.1, 0, "delivered over TLS");
    let delivery = trusting.transactions()[0].deliveries[0].clone();
    assert!(delivery.acknowledged && delivery.status == Some(200), "{delivery:?}");

    // As on Daraja, a certificate nobody vouches for loses the callback.
    let default = emulator(Duration::from_millis(10)).await;
    let bearer = token(&default).await;
    push(&default, &bearer, 100, "254708374149", &url, "invoice-2").await;
    let delivery = loop {
        if let Some(delivery) = default.transactions()[0].deliveries.first() {
            break delivery.clone();
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    assert_eq!(delivery.status, None, "{delivery:?}");
    assert!(delivery.answer.contains("TLS with localhost failed"), "{delivery:?}");
}

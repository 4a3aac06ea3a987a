//! The `pesakit` binary end to end against a real pesakit server on
//! loopback: every scenario, the C2B sequence both ways, endpoints that
//! answer wrongly or not at all, `payload` and `check-url`.

use std::net::SocketAddr;
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};

use pesakit::{
    AccountBalanceParams, B2bParams, B2cParams, C2bPayment, DarajaResult, Payload, QueueTimeout, RejectCode,
    ReversalParams, State, StkCallback, TransactionStatusParams, Validation, daraja,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// `(kind, correlation id)` of every callback the server handled.
#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Vec<(&'static str, String)>>>);

impl Seen {
    fn push(&self, kind: &'static str, id: impl ToString) {
        self.0.lock().expect("not poisoned").push((kind, id.to_string()));
    }

    fn take(&self) -> Vec<(&'static str, String)> {
        std::mem::take(&mut *self.0.lock().expect("not poisoned"))
    }
}

#[daraja::stk_callback]
fn stk(callback: StkCallback, State(seen): State<Seen>) {
    seen.push("stk", callback.correlation_id());
}

#[daraja::c2b_validation]
fn validation(payment: C2bPayment, State(seen): State<Seen>) -> Validation {
    seen.push("c2b_validation", payment.correlation_id());
    if payment.bill_ref_number == "reject-me" {
        Validation::Reject(RejectCode::InvalidAccountNumber)
    } else {
        Validation::accept_tagged("ORDER-7").unwrap_or(Validation::Accept)
    }
}

#[daraja::c2b_confirmation]
fn confirmation(payment: C2bPayment, State(seen): State<Seen>) {
    let tag = payment.third_party_trans_id.clone().unwrap_or_default();
    seen.push("c2b_confirmation", format!("{}/{tag}", payment.correlation_id()));
}

#[daraja::b2c_result]
fn b2c(result: DarajaResult<B2cParams>, State(seen): State<Seen>) {
    seen.push("b2c_result", result.correlation_id());
}

#[daraja::account_balance_result]
fn balance(result: DarajaResult<AccountBalanceParams>, State(seen): State<Seen>) {
    seen.push("account_balance_result", result.correlation_id());
}

#[daraja::transaction_status_result]
fn status(result: DarajaResult<TransactionStatusParams>, State(seen): State<Seen>) {
    seen.push("transaction_status_result", result.correlation_id());
}

#[daraja::reversal_result]
fn reversal(result: DarajaResult<ReversalParams>, State(seen): State<Seen>) {
    seen.push("reversal_result", result.correlation_id());
}

#[daraja::b2b_result]
fn b2b(result: DarajaResult<B2bParams>, State(seen): State<Seen>) {
    seen.push("b2b_result", result.correlation_id());
}

#[daraja::queue_timeout]
fn timeout(timeout: QueueTimeout, State(seen): State<Seen>) {
    seen.push("queue_timeout", timeout.correlation_id());
}

async fn start_server(seen: &Seen) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("loopback port");
    let addr = listener.local_addr().expect("bound");
    let routes = pesakit::routes![stk, validation, confirmation, b2c, balance, status, reversal, b2b, timeout]
        .with_state(seen.clone());
    tokio::spawn(pesakit::Server::from_listener(listener).with_graceful_shutdown(std::future::pending()).serve(routes));
    addr
}

/// Runs the binary off the async threads, with CI-style quiet output.
async fn pesakit(args: Vec<String>) -> Output {
    tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_pesakit")).args(&args).env("CI", "true").output().expect("the binary runs")
    })
    .await
    .expect("blocking task")
}

fn text(output: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

fn args(parts: &[&str]) -> Vec<String> {
    parts.iter().map(|part| (*part).to_owned()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_scenario_reaches_its_handler_and_passes_the_check() {
    let seen = Seen::default();
    let addr = start_server(&seen).await;
    let cases = [
        ("stk-paid", "/callbacks/stk", "stk"),
        ("stk-cancelled", "/callbacks/stk", "stk"),
        ("stk-timeout", "/callbacks/stk", "stk"),
        ("stk-insufficient-funds", "/callbacks/stk", "stk"),
        ("stk-wrong-pin", "/callbacks/stk", "stk"),
        ("stk-expired", "/callbacks/stk", "stk"),
        ("c2b-validation", "/callbacks/c2b/validation", "c2b_validation"),
        ("c2b-confirmation", "/callbacks/c2b/confirmation", "c2b_confirmation"),
        ("c2b-buy-goods", "/callbacks/c2b/confirmation", "c2b_confirmation"),
        ("b2c-success", "/callbacks/b2c/result", "b2c_result"),
        ("b2c-failure", "/callbacks/b2c/result", "b2c_result"),
        ("account-balance", "/callbacks/account-balance/result", "account_balance_result"),
        ("transaction-status", "/callbacks/transaction-status/result", "transaction_status_result"),
        ("reversal", "/callbacks/reversal/result", "reversal_result"),
        ("b2b", "/callbacks/b2b/result", "b2b_result"),
        ("queue-timeout", "/callbacks/queue-timeout", "queue_timeout"),
    ];
    for (scenario, path, kind) in cases {
        let url = format!("http://{addr}{path}");
        let output =
            pesakit(args(&["simulate", scenario, "--to", &url, "--amount", "250.50", "--phone", "0712345678"])).await;
        assert!(output.status.success(), "{scenario}: {}", text(&output));
        // The line names the scenario as it is typed.
        assert!(text(&output).contains(&format!("ok {scenario}: ")), "{scenario}: {}", text(&output));
        let handled = seen.take();
        assert_eq!(handled.len(), 1, "{scenario}: {handled:?}");
        assert_eq!(handled[0].0, kind, "{scenario}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_c2b_sequence_confirms_only_what_validation_accepted() {
    let seen = Seen::default();
    let addr = start_server(&seen).await;
    let validate = format!("http://{addr}/callbacks/c2b/validation");
    let confirm = format!("http://{addr}/callbacks/c2b/confirmation");

    let accepted =
        pesakit(args(&["simulate", "c2b", "--to", &validate, "--confirm", &confirm, "--bill-ref", "invoice-9"])).await;
    assert!(accepted.status.success(), "{}", text(&accepted));
    let handled = seen.take();
    assert_eq!(handled.iter().map(|(kind, _)| *kind).collect::<Vec<_>>(), ["c2b_validation", "c2b_confirmation"]);
    assert_eq!(handled[1].1, format!("{}/ORDER-7", handled[0].1), "same TransID, tagged by the validation reply");

    let rejected =
        pesakit(args(&["simulate", "c2b", "--to", &validate, "--confirm", &confirm, "--bill-ref", "reject-me"])).await;
    assert!(rejected.status.success(), "a rejection is a valid outcome: {}", text(&rejected));
    let output = text(&rejected);
    assert!(output.contains("C2B00012 (Invalid Account Number)"), "{output}");
    assert!(output.contains("no confirmation"), "{output}");
    assert_eq!(seen.take().iter().map(|(kind, _)| *kind).collect::<Vec<_>>(), ["c2b_validation"]);

    let missing = pesakit(args(&["simulate", "c2b", "--to", &validate])).await;
    assert!(!missing.status.success());
    assert!(text(&missing).contains("--confirm"), "{}", text(&missing));
}

/// A server that answers every request with `response`, verbatim.
async fn fixed_answer_server(response: &'static str) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("loopback port");
    let addr = listener.local_addr().expect("bound");
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let mut buffer = vec![0u8; 16 * 1024];
            let _ = stream.read(&mut buffer).await;
            let _ = stream.write_all(response.as_bytes()).await;
        }
    });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_answer_fails_with_what_to_fix() {
    let cases = [
        ("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nOK", "stk-paid", "not JSON"),
        ("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}", "c2b-validation", "ResultCode"),
        (
            "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            "b2c-success",
            "is the path right",
        ),
        (
            "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            "stk-paid",
            "handler failed",
        ),
        (
            "HTTP/1.1 200 OK\r\nContent-Length: 18\r\nConnection: close\r\n\r\n{\"ResultCode\":\"1\"}",
            "queue-timeout",
            "ResultCode 0",
        ),
    ];
    for (response, scenario, words) in cases {
        let addr = fixed_answer_server(response).await;
        let output = pesakit(args(&["simulate", scenario, "--to", &format!("http://{addr}/callbacks/x")])).await;
        assert!(!output.status.success(), "{scenario} passed against {response:?}");
        assert!(text(&output).contains(words), "{scenario}: {}", text(&output));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_endpoint_fails_and_says_so() {
    let closed = TcpListener::bind("127.0.0.1:0").await.expect("port").local_addr().expect("bound");
    let output = pesakit(args(&["simulate", "stk-paid", "--to", &format!("http://{closed}/callbacks/stk")])).await;
    assert!(!output.status.success());
    assert!(text(&output).contains("cannot reach"), "{}", text(&output));
    let bad_url = pesakit(args(&["simulate", "stk-paid", "--to", "not a url"])).await;
    assert!(!bad_url.status.success());
    let no_scheme = pesakit(args(&["simulate", "stk-paid", "--to", "localhost:3000/callbacks/stk"])).await;
    assert!(!no_scheme.status.success());
    let said = String::from_utf8_lossy(&no_scheme.stderr);
    assert!(said.contains("did you mean \"http://localhost:3000/callbacks/stk\""), "{said}");
}

#[tokio::test]
async fn payload_prints_a_body_that_parses_as_its_kind() {
    let output = pesakit(args(&["payload", "stk-paid", "--amount", "99.95", "--phone", "254700000101"])).await;
    assert!(output.status.success(), "{}", text(&output));
    let callback = StkCallback::from_slice(&output.stdout).expect("an STK body");
    let payment = callback.payment().expect("paid");
    assert_eq!((payment.amount.to_string(), payment.phone.as_str()), ("99.95".to_owned(), "254700000101"));

    let output = pesakit(args(&["payload", "c2b-confirmation", "--masked", "--bill-ref", "acct-1"])).await;
    let payment = C2bPayment::from_slice(&output.stdout).expect("a C2B body");
    assert_eq!(payment.bill_ref_number, "acct-1");
    assert_eq!(payment.msisdn.normalised(), None);

    let bad = pesakit(args(&["payload", "stk-paid", "--amount", "1.005"])).await;
    assert!(!bad.status.success());
    assert!(text(&bad).contains("--amount"), "{}", text(&bad));

    for (phone, sent) in
        [("0712345678", "254712345678"), ("+254712345678", "254712345678"), ("712345678", "254712345678")]
    {
        let output = pesakit(args(&["payload", "stk-paid", "--phone", phone])).await;
        let callback = StkCallback::from_slice(&output.stdout).unwrap_or_else(|error| panic!("{phone}: {error}"));
        assert_eq!(callback.payment().expect("paid").phone.as_str(), sent, "{phone}");
    }
    // Errors go to standard error, so `pesakit payload … | jq` sees nothing.
    for phone in ["abc", "+1 555 0100", "0812345678"] {
        let refused = pesakit(args(&["payload", "stk-paid", "--phone", phone])).await;
        assert!(!refused.status.success(), "{phone}");
        assert!(refused.stdout.is_empty(), "{phone}: {}", String::from_utf8_lossy(&refused.stdout));
        let error = String::from_utf8_lossy(&refused.stderr);
        assert!(error.contains("--phone") && error.contains("07XXXXXXXX"), "{phone}: {error}");
    }
}

#[tokio::test]
async fn check_url_passes_good_urls_and_explains_bad_ones() {
    let good = pesakit(args(&["check-url", "https://pay.example.co.ke/callbacks/stk", "--production"])).await;
    assert!(good.status.success(), "{}", text(&good));
    for (url, words) in [
        ("http://pay.example.co.ke/callbacks/stk", "https://"),
        ("https://pay.example.co.ke/mpesa/stk", "`mpesa`"),
        ("https://abc.ngrok-free.app/callbacks/stk", "tunnel"),
        ("https://10.0.0.5/callbacks/stk", "not reachable"),
        ("https://pay.example.co.ke/", "no path"),
    ] {
        let output = pesakit(args(&["check-url", url, "--production"])).await;
        assert!(!output.status.success(), "{url} passed");
        assert!(text(&output).contains(words), "{url}: {}", text(&output));
    }
    // A local host cannot be reached from Safaricom in either environment:
    // one verdict, a failure, with no "usable" after it.
    for url in ["http://localhost:3000/callbacks/stk", "http://127.0.0.1:3000/callbacks/stk"] {
        let sandbox = pesakit(args(&["check-url", url])).await;
        assert!(!sandbox.status.success(), "{url}: {}", text(&sandbox));
        assert!(text(&sandbox).contains("pesakit simulate"), "{url}: {}", text(&sandbox));
        assert!(!text(&sandbox).contains("usable"), "{url}: {}", text(&sandbox));
    }
    // No flag that does nothing there.
    let help = pesakit(args(&["check-url", "--help"])).await;
    assert!(!text(&help).contains("--verbose"), "{}", text(&help));
}

#[tokio::test]
async fn check_url_warns_when_nothing_protects_a_production_url() {
    let open = pesakit(args(&["check-url", "https://pay.example.co.ke/callbacks/stk", "--production"])).await;
    assert!(open.status.success(), "a warning, not a failure: {}", text(&open));
    assert!(text(&open).contains("no secret segment"), "{}", text(&open));
    for protected in [
        vec!["check-url", "https://pay.example.co.ke/callbacks/stk", "--production", "--allowlist"],
        vec!["check-url", "https://pay.example.co.ke/callbacks/Zq8xW2vR5tY7uI9o/stk", "--production"],
    ] {
        let output = pesakit(args(&protected)).await;
        assert!(!text(&output).contains("no secret segment"), "{protected:?}: {}", text(&output));
    }
}

#[tokio::test]
async fn simulate_can_send_through_a_proxy_to_an_allowlist() {
    let seen = Seen::default();
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
    let addr = listener.local_addr().expect("bound");
    let guard = pesakit::guard::SourceGuard::safaricom().trust_proxy("127.0.0.1").expect("an address");
    let routes = pesakit::routes![stk].with_state(seen.clone()).guard(guard);
    tokio::spawn(pesakit::Server::from_listener(listener).with_graceful_shutdown(std::future::pending()).serve(routes));
    let url = format!("http://{addr}/callbacks/stk");

    let from_gateway =
        pesakit(args(&["simulate", "stk-paid", "--to", &url, "--forwarded-for", "196.201.214.200"])).await;
    assert!(from_gateway.status.success(), "{}", text(&from_gateway));
    let from_elsewhere = pesakit(args(&["simulate", "stk-paid", "--to", &url, "--forwarded-for", "203.0.113.9"])).await;
    assert!(!from_elsewhere.status.success(), "{}", text(&from_elsewhere));
    assert!(text(&from_elsewhere).contains("403"), "{}", text(&from_elsewhere));
    let not_an_address = pesakit(args(&["simulate", "stk-paid", "--to", &url, "--forwarded-for", "gateway"])).await;
    assert!(!not_an_address.status.success());
    assert_eq!(seen.take().len(), 1);
}

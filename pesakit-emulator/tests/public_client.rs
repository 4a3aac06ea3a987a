//! A Daraja client nobody here wrote, the `mpesa` crate, pointed at the
//! emulator's base URL, completes an STK push, and its callback reaches a
//! pesakit table.
//!
//! That client stamps its `Timestamp` with the machine's local time, as
//! Daraja wants East Africa Time; it runs in a child process (this test
//! binary, running the ignored `mpesa_crate_client`) with `TZ` set to
//! Nairobi. On a UTC machine without it, the emulator refuses the push with
//! `400.002.02 Invalid Timestamp`, as Daraja does.

use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pesakit::{State, StkCallback, daraja};
use pesakit_emulator::Emulator;

const EMULATOR_ENV: &str = "PESAKIT_EMULATOR_TEST_URL";
const CALLBACK_ENV: &str = "PESAKIT_EMULATOR_TEST_CALLBACK";

/// The emulator's base URL as the `mpesa` crate's environment.
#[derive(Clone)]
struct AtEmulator(String);

impl mpesa::ApiEnvironment for AtEmulator {
    fn base_url(&self) -> &str {
        &self.0
    }

    fn get_certificate(&self) -> &str {
        // Only the B2C, balance, status and reversal requests encrypt with it.
        ""
    }
}

/// The client process: one STK push through the `mpesa` crate; prints the
/// checkout request id Daraja (here, the emulator) answered with.
#[test]
#[ignore = "the client process of `the_mpesa_crate_completes_an_stk_push`, which starts it"]
fn mpesa_crate_client() {
    let base_url = std::env::var(EMULATOR_ENV).expect("started by the test");
    let callback_url = std::env::var(CALLBACK_ENV).expect("started by the test");
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
    runtime.block_on(async {
        let client = mpesa::Mpesa::new("emulator-key", "emulator-secret", AtEmulator(base_url));
        let answer = client
            .express_request("174379")
            .phone_number("254708374149")
            .amount(750)
            .callback_url(&callback_url)
            .send()
            .await
            .expect("the push is accepted");
        assert_eq!(answer.response_code, "0");
        println!("checkout {}", answer.checkout_request_id);
    });
}

type Seen = Arc<Mutex<Vec<String>>>;

#[daraja::stk_callback("/payments/stk")]
fn paid(callback: StkCallback, State(seen): State<Seen>) {
    seen.lock().expect("not poisoned").push(callback.checkout_request_id.clone());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_mpesa_crate_completes_an_stk_push() {
    let seen = Seen::default();
    let server = pesakit::Server::bind("127.0.0.1:0").await.expect("a port");
    let app = server.local_addr().expect("bound");
    tokio::spawn(
        server.with_graceful_shutdown(std::future::pending()).serve(pesakit::routes![paid].with_state(seen.clone())),
    );
    let emulator = Emulator::new()
        .result_delay(Duration::from_millis(20))
        .start("127.0.0.1:0".parse().expect("an address"))
        .await
        .expect("starts");
    let (base_url, callback_url) = (emulator.base_url(), format!("http://{app}/payments/stk"));
    let output = tokio::task::spawn_blocking(move || {
        Command::new(std::env::current_exe().expect("the test binary"))
            .args(["--ignored", "--exact", "mpesa_crate_client", "--nocapture", "--test-threads=1"])
            .env(EMULATOR_ENV, base_url)
            .env(CALLBACK_ENV, callback_url)
            .env("TZ", "Africa/Nairobi")
            .output()
            .expect("the client runs")
    })
    .await
    .expect("the client process");
    let printed = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "{printed}{}", String::from_utf8_lossy(&output.stderr));
    let checkout = printed
        .lines()
        .find_map(|line| line.split_once("checkout ").map(|(_, id)| id.trim().to_owned()))
        .expect("the client printed the checkout request id");
    for _ in 0..300 {
        if seen.lock().expect("not poisoned").contains(&checkout) {
            let recorded = emulator.transactions();
            assert!(recorded[0].deliveries[0].acknowledged, "{recorded:?}");
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the callback of {checkout} never reached the table");
}

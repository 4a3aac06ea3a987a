//! What a caller sends reaches the emulator's log escaped and cut short.
//!
//! A test binary of its own: `tracing` caches whether a log statement is
//! wanted, and a test logging through a scoped subscriber can miss lines
//! while other tests of the same binary hit the same statements with none.

mod support;

use http::Method;
use serde_json::json;
use support::{call, emulator, token};

// The pesakit tests' log capture, shared rather than copied.
#[path = "../../tests/support/log_text.rs"]
mod log_text;

#[tokio::test(flavor = "current_thread")]
async fn a_caller_s_values_reach_the_log_escaped_and_cut_short() {
    let (log, _guard) = log_text::LogText::capture();
    let emulator = emulator(std::time::Duration::from_millis(20)).await;
    let bearer = token(&emulator).await;
    let forged = format!("o-1\r\n2026-12-02T00:00:00Z  INFO forged: all paid\u{1b}[2J{}", "9".repeat(5_000));
    let payout = support::payout(&forged, "payout");
    let (status, answer) = call(&emulator, Method::POST, "/mpesa/b2c/v3/paymentrequest", &bearer, Some(payout)).await;
    assert_eq!((status, &answer["ResponseCode"]), (200, &json!("0")), "{answer}");
    let text = log.text();
    let accepted = text.lines().find(|line| line.contains("request accepted")).expect("logged");
    assert!(accepted.contains(r"o-1\r\n2026-12-02T00:00:00Z  INFO forged: all paid\u{1b}[2J"), "{accepted}");
    assert!(accepted.contains("bytes)") && accepted.len() < 1_000, "cut short: {accepted}");
    assert!(!text.lines().any(|line| line.starts_with("2026-12-02T00:00:00Z")), "no forged line: {text}");
    assert!(!text.contains('\u{1b}'), "no terminal escape: {text}");
}

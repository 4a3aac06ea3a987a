//! Values from a request cannot flood or forge what pesakit writes: a huge
//! bad value comes back and is logged cut short, and ids with line breaks
//! or terminal escapes are logged escaped.

#[path = "support/log_text.rs"]
mod log_text;

use http::StatusCode;
use log_text::LogText;
use pesakit::testing::{self, StkCallbackBuilder};
use pesakit::{StkCallback, daraja};

#[daraja::stk_callback("/hostile/stk")]
fn paid(_callback: StkCallback) {
    tracing::info!("handled");
}

#[tokio::test]
async fn a_huge_bad_value_is_answered_and_logged_in_a_few_hundred_bytes() {
    let (log, _guard) = LogText::capture();
    let routes = pesakit::routes![paid];
    let huge = "9".repeat(60_000);
    let body = format!(
        r#"{{"Body":{{"stkCallback":{{"MerchantRequestID":"1","CheckoutRequestID":"ws_CO_1","ResultCode":{huge},"ResultDesc":"x"}}}}}}"#
    );
    let response = testing::post(&routes, "/hostile/stk", body).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.body().len() < 500, "{} bytes: {}", response.body().len(), response.text());
    assert!(response.text().contains("(60000 bytes)"), "{}", response.text());
    let text = log.text();
    let longest = text.lines().map(str::len).max().unwrap_or_default();
    assert!(longest < 600, "a log line of {longest} bytes");
    assert!(text.contains("(60000 bytes)"), "{text}");
}

#[tokio::test]
async fn ids_with_line_breaks_and_escapes_are_logged_escaped() {
    let (log, _guard) = LogText::capture();
    let routes = pesakit::routes![paid];
    let forged = "ws_CO_1\r\n2026-12-01T00:00:00Z  INFO forged line\u{1b}[2J";
    let body = StkCallbackBuilder::cancelled().checkout_request_id(forged).build();
    assert_eq!(testing::post(&routes, "/hostile/stk", body).await.status(), StatusCode::OK);
    let text = log.text();
    assert!(text.contains(r"ws_CO_1\r\n2026-12-01T00:00:00Z  INFO forged line\u{1b}[2J"), "{text}");
    assert!(!text.contains('\u{1b}'), "a raw escape reached the log: {text:?}");
    assert!(!text.lines().any(|line| line.starts_with("2026-12-01T00:00:00Z")), "a forged line: {text}");
}

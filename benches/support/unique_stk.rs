//! Requests that are each a new STK payment, for the inbox benchmarks: a
//! repeated body would only be counted as a duplicate.

#![allow(dead_code, unreachable_pub)]

use std::sync::Arc;

use bytes::Bytes;

use super::loopback::Requests;

pub const STK_SUCCESS: &str =
    include_str!("../../tests/fixtures/stk/real_2024_success_new_style_merchant_request_id.json");
pub const CHECKOUT_ID: &str = "ws_CO_09082024154834053700000404";
pub const MERCHANT_REQUEST_ID: &str = "3b82-4048-94fd-4503f39b858f555160";
pub const RECEIPT: &str = "SH98HPAEJ8";
pub const ACK: &[u8] = br#"{"ResultCode":0,"ResultDesc":"Success"}"#;

/// Each request a new STK payment: the fixture with a fresh
/// `CheckoutRequestID`, `MerchantRequestID` and receipt, each the length of
/// the one it replaces.
pub fn unique_stk_requests() -> Requests {
    assert!(STK_SUCCESS.contains(MERCHANT_REQUEST_ID) && STK_SUCCESS.contains(RECEIPT), "the fixture's ids");
    let body = move |client: usize, number: u64| {
        let unique = format!("{:05}{:021}", client % 100_000, number);
        let body = STK_SUCCESS
            .replacen(CHECKOUT_ID, &format!("ws_CO_{unique}"), 1)
            .replacen(MERCHANT_REQUEST_ID, &format!("{:0>33}", format!("{client}-{number}")), 1)
            .replacen(RECEIPT, &format!("{:0>4}{:0>6}", client % 10_000, number % 1_000_000), 1);
        Bytes::from(body)
    };
    Requests { path: "/payments/stk", body: Arc::new(body), ack: ACK }
}

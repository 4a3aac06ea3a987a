//! Requests that are each a new STK payment, for the inbox benchmarks: a
//! repeated body would only be counted as a duplicate.

#![allow(dead_code, unreachable_pub)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;

use super::loopback::Requests;

pub const STK_SUCCESS: &str =
    include_str!("../../tests/fixtures/stk/real_2024_success_new_style_merchant_request_id.json");
pub const CHECKOUT_ID: &str = "ws_CO_09082024154834053700000404";
pub const MERCHANT_REQUEST_ID: &str = "3b82-4048-94fd-4503f39b858f555160";
pub const RECEIPT: &str = "SH98HPAEJ8";
pub const ACK: &[u8] = br#"{"ResultCode":0,"ResultDesc":"Success"}"#;

/// How the ids of the load's payments are shaped: which parts of each id
/// index the inserts land in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdMix {
    /// As Daraja shapes them: a `CheckoutRequestID` of `ws_CO_`, the East
    /// Africa Time `DDMMYYYYHHMMSS` and sequence digits, receipts in time
    /// order, and random `MerchantRequestID`s.
    Daraja,
    /// Every id a per-connection sequence: each index takes inserts at one
    /// point per connection.
    PerConnection,
}

impl IdMix {
    pub const ALL: [Self; 2] = [Self::Daraja, Self::PerConnection];

    pub fn name(self) -> &'static str {
        match self {
            Self::Daraja => "Daraja-shaped ids",
            Self::PerConnection => "per-connection sequences",
        }
    }
}

/// Each request a new STK payment: the fixture with a fresh
/// `CheckoutRequestID`, `MerchantRequestID` and receipt, each the length of
/// the one it replaces, shaped as `mix` says.
pub fn unique_stk_requests(mix: IdMix) -> Requests {
    assert!(STK_SUCCESS.contains(MERCHANT_REQUEST_ID) && STK_SUCCESS.contains(RECEIPT), "the fixture's ids");
    let sequence = Arc::new(AtomicU64::new(0));
    let body = move |client: usize, number: u64| {
        let (checkout, merchant, receipt) = match mix {
            IdMix::Daraja => {
                let next = sequence.fetch_add(1, Ordering::Relaxed);
                (
                    format!("ws_CO_{}{next:012}", eat_now()),
                    random_merchant_request_id(next),
                    format!("TL{}", base36(next, 8)),
                )
            }
            IdMix::PerConnection => (
                format!("ws_CO_{:05}{number:021}", client % 100_000),
                format!("{:0>33}", format!("{client}-{number}")),
                format!("{:0>4}{:0>6}", client % 10_000, number % 1_000_000),
            ),
        };
        let body = STK_SUCCESS
            .replacen(CHECKOUT_ID, &checkout, 1)
            .replacen(MERCHANT_REQUEST_ID, &merchant, 1)
            .replacen(RECEIPT, &receipt, 1);
        Bytes::from(body)
    };
    Requests { path: "/payments/stk", body: Arc::new(body), ack: ACK }
}

/// The time now in East Africa Time, as `DDMMYYYYHHMMSS`.
fn eat_now() -> String {
    let local = pesakit::DarajaTime::now().local();
    let (date, clock) = (local.date(), local.time());
    format!(
        "{:02}{:02}{:04}{:02}{:02}{:02}",
        date.day(),
        u8::from(date.month()),
        date.year(),
        clock.hour(),
        clock.minute(),
        clock.second()
    )
}

/// A `MerchantRequestID` of Daraja's shape (`3b82-4048-94fd-4503f39b858f555160`)
/// whose hex digits are random.
fn random_merchant_request_id(seed: u64) -> String {
    // SplitMix64: a different, evenly spread value per seed.
    let mix = |mut value: u64| {
        value = value.wrapping_add(0x9e37_79b9_7f4a_7c15);
        value = (value ^ (value >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        value = (value ^ (value >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        value ^ (value >> 31)
    };
    let (high, low) = (mix(seed), mix(seed ^ 0x5555_5555_5555_5555));
    let hex = format!("{high:016x}{low:016x}");
    format!("{}-{}-{}-{}", &hex[0..4], &hex[4..8], &hex[8..12], &hex[12..30])
}

/// `value` in upper-case base 36, `width` digits, zero-padded.
fn base36(mut value: u64, width: usize) -> String {
    let mut digits = vec![b'0'; width];
    for digit in digits.iter_mut().rev() {
        *digit = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"[usize::try_from(value % 36).unwrap_or(0)];
        value /= 36;
    }
    String::from_utf8(digits).unwrap_or_default()
}

//! Fresh, realistic-looking Daraja ids for the builders. Not random enough
//! for anything but tests: a process-wide counter mixed with the clock.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::payload::DarajaTime;

/// A new 64-bit value on every call (splitmix64 of counter and clock).
fn fresh() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |elapsed| elapsed.subsec_nanos());
    let mut mixed = COUNTER.fetch_add(1, Ordering::Relaxed).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ u64::from(nanos);
    mixed = (mixed ^ (mixed >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    mixed = (mixed ^ (mixed >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    mixed ^ (mixed >> 31)
}

fn characters(alphabet: &[u8], count: usize) -> String {
    let mut value = fresh();
    let base = alphabet.len() as u64;
    (0..count)
        .map(|index| {
            if index % 12 == 11 {
                value = fresh();
            }
            let digit = usize::try_from(value % base).unwrap_or(0);
            value /= base;
            char::from(alphabet[digit])
        })
        .collect()
}

const UPPER_ALPHANUMERIC: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const HEX: &[u8] = b"0123456789abcdef";

/// An M-Pesa receipt or `TransID`: ten upper-case letters and digits.
pub(crate) fn receipt() -> String {
    characters(UPPER_ALPHANUMERIC, 10)
}

/// A `MerchantRequestID` in the newer style: `xxxx-xxxx-xxxx-xxxxxxxxxxxxxxxxxx`.
pub(crate) fn merchant_request_id() -> String {
    format!("{}-{}-{}-{}", characters(HEX, 4), characters(HEX, 4), characters(HEX, 4), characters(HEX, 18))
}

/// Three digits: the millisecond part of a `CheckoutRequestID`, the only
/// part that tells apart two payments from one phone in one second. Taken
/// in turn from a random start, so that the first thousand built in one
/// second by a process all differ (random digits repeat after about 40).
pub(crate) fn checkout_millis() -> String {
    static START: OnceLock<u64> = OnceLock::new();
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let start = *START.get_or_init(fresh);
    format!("{:03}", start.wrapping_add(NEXT.fetch_add(1, Ordering::Relaxed)) % 1000)
}

/// A `CheckoutRequestID` as Daraja has made them since about 2022:
/// `ws_CO_` + `ddMMyyyyHHmmss` + `millis` + the payer's number.
pub(crate) fn checkout_request_id(time: DarajaTime, millis: &str, phone: &str) -> String {
    let local = time.local();
    let (date, clock) = (local.date(), local.time());
    format!(
        "ws_CO_{:02}{:02}{:04}{:02}{:02}{:02}{millis}{phone}",
        date.day(),
        u8::from(date.month()),
        date.year(),
        clock.hour(),
        clock.minute(),
        clock.second(),
    )
}

/// An `OriginatorConversationID` in the v3 style.
pub(crate) fn originator_conversation_id() -> String {
    merchant_request_id()
}

/// A `ConversationID`: `AG_` + `yyyyMMdd` + `_` + twenty hex digits.
pub(crate) fn conversation_id(time: DarajaTime) -> String {
    let compact = time.with_layout(crate::payload::TimestampLayout::Compact).original();
    format!("AG_{}_{}", &compact[..8], characters(HEX, 20))
}

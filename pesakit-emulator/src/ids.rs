//! Ids and tokens as Daraja shapes them, from a per-process random source.

use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicU64, Ordering};

use time::OffsetDateTime;

/// 64 fresh pseudo-random bits: the standard library's random hash keys
/// over a counter (ids to tell apart, not secrets).
pub(crate) fn random() -> u64 {
    static STATE: std::sync::OnceLock<RandomState> = std::sync::OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    STATE.get_or_init(RandomState::new).hash_one(COUNTER.fetch_add(1, Ordering::Relaxed))
}

/// `n` random digits.
pub(crate) fn digits(count: usize) -> String {
    (0..count).map(|_| char::from(b'0' + u8::try_from(random() % 10).unwrap_or(0))).collect()
}

/// A bearer token of 28 letters and digits.
pub(crate) fn token() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    (0..28).map(|_| char::from(ALPHABET[usize::try_from(random() % 62).unwrap_or(0)])).collect()
}

/// `2654-4b64-97ff-b827b542881d3130`.
pub(crate) fn merchant_request_id() -> String {
    let hex = format!("{:016x}{:016x}", random(), random());
    format!("{}-{}-{}-{}", &hex[..4], &hex[4..8], &hex[8..12], &hex[12..28])
}

/// `ws_CO_` with the time in East Africa Time (`ddMMyyyyHHmmss`) and
/// digits, as `ws_CO_1007202409152617172396192`.
pub(crate) fn checkout_request_id(now: OffsetDateTime) -> String {
    let local = now.to_offset(pesakit::EAT);
    format!(
        "ws_CO_{:02}{:02}{:04}{:02}{:02}{:02}{}",
        local.day(),
        u8::from(local.month()),
        local.year(),
        local.hour(),
        local.minute(),
        local.second(),
        digits(12)
    )
}

/// An M-Pesa receipt: ten capital letters and digits, as `SH98HPAEJ8`.
pub(crate) fn receipt() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    (0..10).map(|_| char::from(ALPHABET[usize::try_from(random() % 36).unwrap_or(0)])).collect()
}

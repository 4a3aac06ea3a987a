//! Tokens and request ids of the emulator's own answers, from a
//! per-process random source (the callbacks' ids come from pesakit's
//! builders).

use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicU64, Ordering};

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

/// An `OriginatorConversationID` as Daraja makes them: `29115-34620561-1`.
pub(crate) fn originator_conversation_id() -> String {
    format!("{}-{}-1", digits(5), digits(8))
}

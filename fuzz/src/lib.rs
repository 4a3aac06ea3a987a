//! What the payload fuzz targets check of every parse: a body is accepted
//! whole, with a correlation id, or refused with an error that names where
//! (a path, unless the fault is the body's as a whole) and
//! that is short and escaped, so that it can go into a log line or an error
//! body as it is.
//! A failed check panics, which libFuzzer reports as a finding.

use pesakit::{Payload, PayloadError, PayloadErrorKind};

/// The most characters an error may show: its path and message are each
/// cut short by the parser.
const MAX_ERROR_CHARS: usize = 1024;

/// Parses `body` as `P` and checks the outcome.
pub fn check_payload<P: Payload>(body: &[u8]) {
    match P::from_slice(body) {
        Ok(payload) => assert!(!payload.correlation_id().to_string().is_empty(), "accepted without a correlation id"),
        Err(error) => check_refusal(&error),
    }
}

fn check_refusal(error: &PayloadError) {
    // An empty path means the body as a whole: JSON that does not parse, a
    // root that is not an object or misses a member. A value is always
    // somewhere.
    assert!(
        error.kind() != PayloadErrorKind::Value || !error.path().is_empty(),
        "a value refusal without a path: {error}"
    );
    let shown = error.to_string();
    assert!(shown.chars().count() <= MAX_ERROR_CHARS, "an error of {} characters", shown.chars().count());
    assert!(!shown.chars().any(char::is_control), "an unescaped control character in {shown:?}");
}

//! What the payload fuzz targets check of every parse: a body is accepted
//! whole, with a correlation id, or refused with an error that names where
//! (a path, unless the body as a whole is not JSON) and that is short and
//! escaped, so that it can go into a log line or an error body as it is.
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
    assert!(
        error.kind() == PayloadErrorKind::Syntax || !error.path().is_empty(),
        "a {:?} refusal without a path: {error}",
        error.kind()
    );
    let shown = error.to_string();
    assert!(shown.chars().count() <= MAX_ERROR_CHARS, "an error of {} characters", shown.chars().count());
    assert!(!shown.chars().any(char::is_control), "an unescaped control character in {shown:?}");
}

//! Delivering a callback like Daraja: one POST of JSON to the URL the
//! application gave, over http:// or https://; a receiver that cannot be
//! reached, or answers anything, is recorded as it answered, and the
//! callback is not sent again (unless retries are set).

use std::time::{Duration, Instant};

use http::HeaderMap;
use pesakit::Untrusted;

use crate::client::Poster;
use crate::ledger::Delivery;

/// Longest wait for a receiver's answer to a notification.
const TIMEOUT: Duration = Duration::from_secs(10);

/// What answer a callback expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Expected {
    /// A notification: `ResultCode` 0.
    Acknowledgement,
    /// A C2B validation, within `timeout`: `"0"` to accept, or one of
    /// Daraja's reject codes (`C2B00011` to `C2B00016`).
    Verdict { timeout: Duration },
}

/// Most of a receiver's answer kept in the ledger.
const ANSWER_KEPT: usize = 4096;

/// Posts `body` to `url` and records what came back, judged against what
/// `expected` says is a right answer.
pub(crate) async fn deliver_expecting(poster: &Poster, url: &str, body: String, expected: Expected) -> Delivery {
    let started = Instant::now();
    let timeout = match expected {
        Expected::Acknowledgement => TIMEOUT,
        Expected::Verdict { timeout } => timeout,
    };
    let outcome = tokio::time::timeout(timeout, poster.post(url, body, &HeaderMap::new())).await;
    let latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let (status, answer) = match outcome {
        Ok(Ok(answer)) => (Some(answer.status.as_u16()), String::from_utf8_lossy(&answer.body).into_owned()),
        Ok(Err(error)) => (None, error),
        Err(_) => (None, format!("no answer within {} ms", timeout.as_millis())),
    };
    let acknowledged = status == Some(200)
        && match expected {
            Expected::Acknowledgement => is_acknowledgement(&answer),
            Expected::Verdict { .. } => verdict(&answer).is_some(),
        };
    let mut answer = answer;
    if answer.len() > ANSWER_KEPT {
        let mut cut = ANSWER_KEPT;
        while !answer.is_char_boundary(cut) {
            cut -= 1;
        }
        answer.truncate(cut);
    }
    tracing::info!(url = %Untrusted(url), ?status, latency_ms, acknowledged, "callback delivered");
    Delivery { url: url.to_owned(), status, answer, latency_ms, acknowledged }
}

/// `{"ResultCode": 0 …}` or `"0"`: what Daraja takes as received.
fn is_acknowledgement(answer: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(answer).is_ok_and(|value| {
        let code = &value["ResultCode"];
        code.as_i64() == Some(0) || code.as_str() == Some("0")
    })
}

/// The verdict in a validation answer: `Some(true)` to accept,
/// `Some(false)` for one of Daraja's reject codes, `None` for anything else.
pub(crate) fn verdict(answer: &str) -> Option<bool> {
    let value = serde_json::from_str::<serde_json::Value>(answer).ok()?;
    match value["ResultCode"].as_str()? {
        "0" => Some(true),
        "C2B00011" | "C2B00012" | "C2B00013" | "C2B00014" | "C2B00015" | "C2B00016" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_zero_result_code_acknowledges() {
        assert!(is_acknowledgement(r#"{"ResultCode":0,"ResultDesc":"Success"}"#));
        assert!(is_acknowledgement(r#"{"ResultCode":"0","ResultDesc":"Accepted"}"#));
        assert!(!is_acknowledgement(r#"{"ResultCode":1}"#));
        assert!(!is_acknowledgement("OK"));
    }

    #[test]
    fn a_verdict_is_an_accept_or_one_of_daraja_s_reject_codes() {
        assert_eq!(verdict(r#"{"ResultCode":"0","ResultDesc":"Accepted"}"#), Some(true));
        assert_eq!(verdict(r#"{"ResultCode":"C2B00012","ResultDesc":"Rejected"}"#), Some(false));
        assert_eq!(verdict(r#"{"ResultCode":"C2B00017"}"#), None);
        assert_eq!(verdict(r#"{"ResultCode":0}"#), None, "a verdict's code is a string");
    }
}

//! The emulator's own answers: fresh ids shaped as Daraja's, and callback
//! URLs checked as Daraja checks them.

mod support;

use http::Method;
use serde_json::{Value, json};
use support::{call, emulator, token};

/// `text` is `groups` runs of that many ASCII digits joined by `-`.
fn is_digit_groups(text: &str, groups: &[usize]) -> bool {
    let parts: Vec<&str> = text.split('-').collect();
    parts.len() == groups.len()
        && parts
            .iter()
            .zip(groups)
            .all(|(part, length)| part.len() == *length && part.bytes().all(|b| b.is_ascii_digit()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_and_ids_are_fresh_and_shaped_as_daraja_s() {
    let emulator = emulator(std::time::Duration::from_millis(20)).await;
    let (first, second) = (token(&emulator).await, token(&emulator).await);
    assert_ne!(first, second);
    let bare = first.trim_start_matches("Bearer ");
    assert!(bare.len() == 28 && bare.bytes().all(|b| b.is_ascii_alphanumeric()), "{bare}");

    // A payout that names no OriginatorConversationID gets one, as the
    // v1 API gave them: `29115-34620561-1`.
    let mut originators = Vec::new();
    for _ in 0..2 {
        let mut payout = support::payout("", "payout");
        payout.as_object_mut().expect("an object").remove("OriginatorConversationID");
        let (status, answer) =
            call(&emulator, Method::POST, "/mpesa/b2c/v3/paymentrequest", &first, Some(payout)).await;
        assert_eq!(status, 200, "{answer}");
        let originator = answer["OriginatorConversationID"].as_str().expect("one").to_owned();
        assert!(is_digit_groups(originator.strip_suffix("-1").expect("ends -1"), &[5, 8]), "{originator}");
        originators.push(originator);
    }
    assert_ne!(originators[0], originators[1]);

    // Every error names a request id, `12345-12345678`, fresh each time.
    let mut request_ids = Vec::new();
    for _ in 0..2 {
        let (status, answer) = call(&emulator, Method::POST, "/mpesa/b2c/v3/paymentrequest", "Bearer nope", None).await;
        assert_eq!(status, 401, "{answer}");
        let request_id = answer["requestId"].as_str().expect("a request id").to_owned();
        assert!(is_digit_groups(&request_id, &[5, 8]), "{request_id}");
        request_ids.push(request_id);
    }
    assert_ne!(request_ids[0], request_ids[1]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_callback_url_must_be_http_or_https_with_a_host() {
    let emulator = emulator(std::time::Duration::from_millis(20)).await;
    let bearer = token(&emulator).await;
    let register = |url: &str| -> Value {
        json!({"ShortCode": "600984", "ResponseType": "Completed", "ConfirmationURL": url, "ValidationURL": url})
    };
    for url in ["ftp://example.com/c2b", "/c2b/confirm", "http://example.com/c2b confirm", "example.com/c2b"] {
        let (status, answer) =
            call(&emulator, Method::POST, "/mpesa/c2b/v2/registerurl", &bearer, Some(register(url))).await;
        assert_eq!(status, 400, "{url}: {answer}");
        assert_eq!(answer["errorMessage"], "Bad Request - Invalid ConfirmationURL", "{url}");
    }
    for url in ["http://example.com/c2b/confirm", "https://example.com:8443/c2b/confirm"] {
        let (status, answer) =
            call(&emulator, Method::POST, "/mpesa/c2b/v2/registerurl", &bearer, Some(register(url))).await;
        assert_eq!(status, 200, "{url}: {answer}");
    }
}

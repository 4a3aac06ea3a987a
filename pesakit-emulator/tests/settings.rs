//! Each of the emulator's settings does what it says: whose credentials get
//! a token, which short codes and passkeys an STK push may use, when
//! results and queue timeouts come, how often a failed delivery is tried,
//! and how a receiver's answer is judged and kept.

mod support;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use http::{Method, Response, StatusCode};
use http_body_util::Full;
use hyper_util::rt::TokioIo;
use pesakit_emulator::client::Poster;
use pesakit_emulator::{Emulator, RunningEmulator};
use serde_json::{Value, json};
use support::{call, eventually, from_phone, stk_push, timestamp, timestamp_minutes_off, token};

async fn started(emulator: Emulator) -> RunningEmulator {
    emulator.start("127.0.0.1:0".parse().expect("an address")).await.expect("starts")
}

/// An STK push for `short_code` whose password is built with `passkey`, now.
fn push_for(short_code: &str, passkey: &str) -> Value {
    stk_push(short_code, passkey, &timestamp(0))
}

const PUSH: &str = "/mpesa/stkpush/v1/processrequest";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_configured_credentials_get_a_token() {
    let emulator = started(Emulator::new().credentials("app-key", "app-secret")).await;
    token(&emulator).await;
    let other = format!("Basic {}", STANDARD.encode("app-key:another-secret"));
    let (status, answer) =
        call(&emulator, Method::GET, "/oauth/v1/generate?grant_type=client_credentials", &other, None).await;
    assert_ne!(status, 200, "{answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_credentials_set_any_key_and_secret_get_a_token_but_not_an_empty_one() {
    let emulator = started(Emulator::new()).await;
    for (pair, granted) in [("any-key:any-secret", true), ("app-key:", false), (":app-secret", false)] {
        let basic = format!("Basic {}", STANDARD.encode(pair));
        let (status, answer) =
            call(&emulator, Method::GET, "/oauth/v1/generate?grant_type=client_credentials", &basic, None).await;
        assert_eq!(status == 200, granted, "{pair}: {answer}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_code_given_its_passkey_takes_pushes_signed_with_it() {
    let emulator = started(Emulator::new().passkey("600100", "own-passkey")).await;
    let bearer = token(&emulator).await;
    let (status, answer) = call(&emulator, Method::POST, PUSH, &bearer, Some(push_for("600100", "own-passkey"))).await;
    assert_eq!((status, &answer["ResponseCode"]), (200, &json!("0")), "{answer}");
    let (status, answer) = call(&emulator, Method::POST, PUSH, &bearer, Some(push_for("600100", "a-guess"))).await;
    assert_ne!(status, 200, "a password built with another passkey: {answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_s_timestamp_may_be_half_an_hour_off_east_africa_time_and_no_more() {
    let emulator = started(Emulator::new()).await;
    let bearer = token(&emulator).await;
    for (phone, minutes, accepted) in [(41, -20, true), (42, 20, true), (43, -40, false), (44, 40, false)] {
        let mut push = stk_push("174379", pesakit_emulator::SANDBOX_PASSKEY, &timestamp_minutes_off(minutes));
        from_phone(&mut push, &format!("2547083741{phone}"));
        let (status, answer) = call(&emulator, Method::POST, PUSH, &bearer, Some(push)).await;
        assert_eq!(status == 200, accepted, "{minutes} minutes off: {answer}");
        if !accepted {
            assert_eq!(answer["errorMessage"], "Bad Request - Invalid Timestamp", "{minutes}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_s_fields_are_taken_up_to_daraja_s_bounds_and_refused_past_them() {
    let emulator = started(Emulator::new()).await;
    let bearer = token(&emulator).await;
    let stamp = timestamp(0);
    let cases = [
        ("Amount", json!(250_000), true),
        ("Amount", json!(250_001), false),
        ("AccountReference", json!("invoice-0012"), true),
        ("AccountReference", json!("invoice-00123"), false),
        ("TransactionDesc", json!("Payment of 13"), true),
        ("TransactionDesc", json!("Payment of 14."), false),
        ("Timestamp", json!(format!("{stamp}0")), false),
    ];
    for (index, (field, value, accepted)) in cases.into_iter().enumerate() {
        let mut push = stk_push("174379", pesakit_emulator::SANDBOX_PASSKEY, &stamp);
        from_phone(&mut push, &format!("2547083741{:02}", 50 + index));
        push[field] = value.clone();
        let (status, answer) = call(&emulator, Method::POST, PUSH, &bearer, Some(push)).await;
        assert_eq!(status == 200, accepted, "{field} {value}: {answer}");
        if !accepted {
            assert_eq!(answer["errorMessage"], format!("Bad Request - Invalid {field}"), "{field} {value}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn results_and_queue_timeouts_wait_for_their_delays() {
    // Both delays well past the defaults (2 s and 1 s): nothing may come
    // before them.
    let emulator =
        started(Emulator::new().result_delay(Duration::from_secs(5)).queue_timeout_delay(Duration::from_secs(4))).await;
    let bearer = token(&emulator).await;
    let (status, answer) =
        call(&emulator, Method::POST, PUSH, &bearer, Some(push_for("174379", pesakit_emulator::SANDBOX_PASSKEY))).await;
    assert_eq!(status, 200, "{answer}");
    let payout = support::payout("settings-1", "timeout");
    let (status, answer) = call(&emulator, Method::POST, "/mpesa/b2c/v3/paymentrequest", &bearer, Some(payout)).await;
    assert_eq!(status, 200, "{answer}");
    tokio::time::sleep(Duration::from_millis(2500)).await;
    for transaction in emulator.transactions() {
        assert!(
            transaction.deliveries.is_empty(),
            "{}: delivered early: {:?}",
            transaction.api,
            transaction.deliveries
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_that_keeps_failing_is_tried_once_and_then_as_often_as_the_retries_allow() {
    let emulator = started(Emulator::new().result_delay(Duration::from_millis(10)).delivery_retries(2)).await;
    let bearer = token(&emulator).await;
    let (status, answer) =
        call(&emulator, Method::POST, PUSH, &bearer, Some(push_for("174379", pesakit_emulator::SANDBOX_PASSKEY))).await;
    assert_eq!(status, 200, "{answer}");
    // Tries at 0, 1 and 2 s; a fourth would come a second after the third.
    let tries = || emulator.transactions()[0].deliveries.clone();
    eventually("a third try", || (tries().len() >= 3).then_some(())).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let deliveries = tries();
    assert_eq!(deliveries.len(), 3, "{deliveries:?}");
    assert!(deliveries.iter().all(|delivery| delivery.status.is_none() && !delivery.acknowledged));
}

/// A receiver that answers every request with `status` and `body`.
async fn receiver(status: StatusCode, body: &'static str) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a port");
    let addr = listener.local_addr().expect("an address");
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let answer = hyper::service::service_fn(move |_request| async move {
                Ok::<_, Infallible>(
                    Response::builder()
                        .status(status)
                        .body(Full::new(Bytes::from_static(body.as_bytes())))
                        .expect("an answer"),
                )
            });
            tokio::spawn(hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), answer));
        }
    });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_a_200_carrying_result_code_0_acknowledges_and_long_answers_are_kept_cut_short() {
    // Two-byte characters after one byte: byte 4,096 falls inside one.
    let long: &'static str = Box::leak(format!("x{}", "é".repeat(5000)).into_boxed_str());
    let cases = [
        (StatusCode::OK, r#"{"ResultCode":0,"ResultDesc":"Accepted"}"#, true),
        (StatusCode::INTERNAL_SERVER_ERROR, r#"{"ResultCode":0,"ResultDesc":"Accepted"}"#, false),
        (StatusCode::OK, r#"{"ResultCode":1,"ResultDesc":"Rejected"}"#, false),
        (StatusCode::OK, long, false),
    ];
    for (status, body, acknowledged) in cases {
        let app = receiver(status, body).await;
        let emulator = started(Emulator::new().result_delay(Duration::from_millis(10))).await;
        let bearer = token(&emulator).await;
        let mut push = push_for("174379", pesakit_emulator::SANDBOX_PASSKEY);
        push["CallBackURL"] = json!(format!("http://{app}/payments/stk"));
        let (code, answer) = call(&emulator, Method::POST, PUSH, &bearer, Some(push)).await;
        assert_eq!(code, 200, "{answer}");
        let delivery = eventually("the delivery", || emulator.transactions()[0].deliveries.first().cloned()).await;
        assert_eq!((delivery.status, delivery.acknowledged), (Some(status.as_u16()), acknowledged), "{body:.40}");
        // At most 4 KiB of an answer is kept, cut between characters.
        assert!(delivery.answer.len() <= 4096 && body.starts_with(&delivery.answer), "{:.40}", delivery.answer);
        assert!(delivery.answer.len() >= 4094.min(body.len()), "kept what fits: {}", delivery.answer.len());
    }
}

#[test]
fn a_poster_s_debug_output_counts_the_roots_it_trusts() {
    let poster = Poster::new().expect("the public roots");
    let debug = format!("{poster:?}");
    assert!(debug.starts_with("Poster { trusted_roots: ") && !debug.contains("trusted_roots: 0"), "{debug}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_emulator_stops_listening() {
    let emulator = started(Emulator::new()).await;
    let addr = emulator.addr();
    drop(emulator);
    for _ in 0..500 {
        if tokio::net::TcpStream::connect(addr).await.is_err() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{addr} still takes connections");
}

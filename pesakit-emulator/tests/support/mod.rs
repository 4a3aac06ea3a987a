//! What the emulator's tests share: an emulator on a free port, one
//! request to it, a token, a directory for an inbox.

#![allow(dead_code, unreachable_pub)]

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use http::{Method, Request};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use pesakit_emulator::{Emulator, RunningEmulator};
use serde_json::Value;
use tokio::net::TcpStream;

pub async fn emulator(delay: Duration) -> RunningEmulator {
    Emulator::new()
        .result_delay(delay)
        .queue_timeout_delay(delay / 2)
        .start("127.0.0.1:0".parse().expect("an address"))
        .await
        .expect("starts")
}

/// One request to the emulator; the status and the JSON answer.
pub async fn call(
    emulator: &RunningEmulator,
    method: Method,
    path: &str,
    auth: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let stream = TcpStream::connect(emulator.addr()).await.expect("connects");
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.expect("HTTP");
    tokio::spawn(connection);
    let request = Request::builder()
        .method(method)
        .uri(path)
        .header("host", emulator.addr().to_string())
        .header("authorization", auth)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.map(|body| body.to_string()).unwrap_or_default())))
        .expect("a request");
    let response = sender.send_request(request).await.expect("an answer");
    let status = response.status().as_u16();
    let bytes = response.into_body().collect().await.expect("a body").to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into())))
}

pub async fn token(emulator: &RunningEmulator) -> String {
    let basic = format!("Basic {}", STANDARD.encode("app-key:app-secret"));
    let (status, answer) =
        call(emulator, Method::GET, "/oauth/v1/generate?grant_type=client_credentials", &basic, None).await;
    assert_eq!(status, 200, "{answer}");
    format!("Bearer {}", answer["access_token"].as_str().expect("a token"))
}

/// `Timestamp` now in East Africa Time, or `hours` off it.
pub fn timestamp(hours: i64) -> String {
    timestamp_minutes_off(hours * 60)
}

/// `Timestamp` `minutes` off now in East Africa Time.
pub fn timestamp_minutes_off(minutes: i64) -> String {
    let now = time::OffsetDateTime::now_utc().to_offset(pesakit::EAT) + time::Duration::minutes(minutes);
    format!(
        "{:04}{:02}{:02}{:02}{:02}{:02}",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second()
    )
}

/// A directory of its own for a test's inbox, removed when dropped.
pub struct Scratch(std::path::PathBuf);

impl Scratch {
    pub fn new(test: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("pesakit-emulator-{test}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a directory");
        Self(dir)
    }

    pub fn inbox(&self) -> std::path::PathBuf {
        self.0.join("inbox.db")
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.0).ok();
    }
}

/// A B2C payment request for `originator`, its delivery plan in `remarks`,
/// with both callbacks going to a port nothing listens on.
pub fn payout(originator: &str, remarks: &str) -> Value {
    serde_json::json!({
        "OriginatorConversationID": originator,
        "InitiatorName": "testapi",
        "SecurityCredential": "c2VjcmV0",
        "CommandID": "BusinessPayment",
        "Amount": 250,
        "PartyA": 600996,
        "PartyB": "254708374149",
        "Remarks": remarks,
        "QueueTimeOutURL": "http://127.0.0.1:9/results/timeout",
        "ResultURL": "http://127.0.0.1:9/results/b2c",
    })
}

/// An STK push for `short_code`, its password built with `passkey` and
/// `timestamp`: 10 shillings from 254708374149, calling back to a port
/// nothing listens on.
pub fn stk_push(short_code: &str, passkey: &str, timestamp: &str) -> Value {
    let mut push = serde_json::json!({
        "BusinessShortCode": short_code,
        "Password": STANDARD.encode(format!("{short_code}{passkey}{timestamp}")),
        "Timestamp": timestamp,
        "TransactionType": "CustomerPayBillOnline",
        "Amount": 10,
        "PartyB": short_code,
        "CallBackURL": "http://127.0.0.1:9/payments/stk",
        "AccountReference": "invoice-42",
        "TransactionDesc": "Payment",
    });
    from_phone(&mut push, "254708374149");
    push
}

/// Makes `push` ask `phone` to pay (its payer and its party A): one phone
/// asked to pay is busy until it answers, as on Daraja.
pub fn from_phone(push: &mut Value, phone: &str) {
    push["PhoneNumber"] = Value::from(phone);
    push["PartyA"] = Value::from(phone);
}

/// What `found` finds, asking every 10 ms for up to 5 s; `what` names it
/// when it never comes.
pub async fn eventually<T>(what: &str, mut found: impl FnMut() -> Option<T>) -> T {
    for _ in 0..500 {
        if let Some(value) = found() {
            return value;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{what} never came");
}

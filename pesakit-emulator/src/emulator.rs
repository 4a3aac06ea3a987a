//! The emulator's settings, its state, and the HTTP server that routes
//! Daraja's paths.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::c2b::{self, Registrations};
use crate::daraja_error::{ApiFamily, DarajaError};
use crate::delivery::{Expected, deliver_expecting};
use crate::ledger::{Delivery, Ledger, Transaction};
use crate::oauth::Tokens;
use crate::results::{Originators, ResultApi};
use crate::stk;

/// The sandbox's public short code for M-Pesa Express.
pub const SANDBOX_SHORT_CODE: &str = "174379";

/// The sandbox's public passkey for [`SANDBOX_SHORT_CODE`].
pub const SANDBOX_PASSKEY: &str = "bfb279f9aa9bdbcf158e97dd71a467cd2e0c893059b10f78e6b72ada1ed2c919";

/// Largest request body read.
const MAX_BODY: usize = 64 * 1024;

/// How the emulator behaves; sandbox defaults out of the box.
///
/// ```
/// use std::time::Duration;
/// use pesakit_emulator::Emulator;
///
/// let emulator = Emulator::new()
///     .credentials("my-key", "my-secret")
///     .passkey("600000", "a-passkey")
///     .result_delay(Duration::from_millis(50));
/// ```
#[derive(Debug, Clone)]
pub struct Emulator {
    pub(crate) config: Config,
}

#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub(crate) credentials: Option<(String, String)>,
    pub(crate) token_lifetime: Duration,
    pub(crate) passkeys: HashMap<String, String>,
    pub(crate) result_delay: Duration,
    pub(crate) validation_timeout: Duration,
    pub(crate) delivery_retries: u32,
}

/// What the request handlers share.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) config: Config,
    pub(crate) tokens: Tokens,
    pub(crate) ledger: Ledger,
    pub(crate) originators: Originators,
    pub(crate) registrations: Registrations,
    next: std::sync::Mutex<Option<Override>>,
}

/// What `POST /emulator/next` sets for the next request, whatever its
/// amount or keywords say.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Override {
    /// The result code to play (the same codes the amounts choose).
    pub(crate) result_code: Option<i64>,
    /// A delivery plan, in the keywords of [`DeliveryPlan`](crate::DeliveryPlan).
    pub(crate) plan: Option<String>,
}

impl Shared {
    /// The override set for the next request, once.
    pub(crate) fn take_override(&self) -> Override {
        self.next.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take().unwrap_or_default()
    }

    /// Delivers `body` to `url` for transaction `id`, again on failure as
    /// the settings allow, recording every attempt; the last one.
    pub(crate) async fn deliver(&self, id: &str, url: &str, body: &str, expected: Expected) -> Delivery {
        let mut attempt = 0;
        loop {
            let delivery = deliver_expecting(url, body.to_owned(), expected).await;
            self.ledger.delivered(id, delivery.clone());
            let failed = delivery.status.is_none_or(|status| !(200..300).contains(&status));
            if !failed || attempt >= self.config.delivery_retries {
                return delivery;
            }
            attempt += 1;
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
}

impl Default for Emulator {
    fn default() -> Self {
        Self::new()
    }
}

impl Emulator {
    /// Sandbox defaults: any consumer key and secret get a token, tokens
    /// live 3,600 s, short code 174379 with its public passkey, results
    /// after 2 s.
    pub fn new() -> Self {
        let passkeys = HashMap::from([(SANDBOX_SHORT_CODE.to_owned(), SANDBOX_PASSKEY.to_owned())]);
        let config = Config {
            credentials: None,
            token_lifetime: Duration::from_secs(3600),
            passkeys,
            result_delay: Duration::from_secs(2),
            validation_timeout: Duration::from_secs(8),
            delivery_retries: 0,
        };
        Self { config }
    }

    /// Only this consumer key and secret get a token.
    pub fn credentials(mut self, key: impl Into<String>, secret: impl Into<String>) -> Self {
        self.config.credentials = Some((key.into(), secret.into()));
        self
    }

    /// How long a token lives (Daraja: 3,600 s).
    pub fn token_lifetime(mut self, lifetime: Duration) -> Self {
        self.config.token_lifetime = lifetime;
        self
    }

    /// Accepts M-Pesa Express requests for `short_code`, whose password is
    /// built with `passkey`.
    pub fn passkey(mut self, short_code: impl Into<String>, passkey: impl Into<String>) -> Self {
        self.config.passkeys.insert(short_code.into(), passkey.into());
        self
    }

    /// How long the customer takes to answer (default 2 s): the result
    /// callback comes this long after the request. Daraja publishes no
    /// figure.
    pub fn result_delay(mut self, delay: Duration) -> Self {
        self.config.result_delay = delay;
        self
    }

    /// How long a C2B validation may take before the registered
    /// `ResponseType` decides (about 8 s on Daraja).
    pub fn validation_timeout(mut self, timeout: Duration) -> Self {
        self.config.validation_timeout = timeout;
        self
    }

    /// Delivers a callback again, up to `retries` times a second apart, when
    /// the receiver cannot be reached or does not answer 2xx. Daraja makes
    /// no such promise (a receiver that answers 503 may lose the callback):
    /// the default is 0, as Daraja behaves.
    pub fn delivery_retries(mut self, retries: u32) -> Self {
        self.config.delivery_retries = retries;
        self
    }

    /// Serves on `addr` (use port 0 for a free one) until the returned
    /// handle is dropped or [`shut down`](RunningEmulator::shutdown).
    pub async fn start(self, addr: SocketAddr) -> std::io::Result<RunningEmulator> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            config: self.config,
            tokens: Tokens::default(),
            ledger: Ledger::default(),
            originators: Originators::default(),
            registrations: Registrations::default(),
            next: std::sync::Mutex::default(),
        });
        let serving = tokio::spawn(accept(listener, Arc::clone(&shared)));
        tracing::info!(%addr, "Daraja emulator listening");
        Ok(RunningEmulator { addr, shared, serving })
    }
}

/// A running emulator.
#[derive(Debug)]
pub struct RunningEmulator {
    addr: SocketAddr,
    shared: Arc<Shared>,
    serving: JoinHandle<()>,
}

impl RunningEmulator {
    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The base URL to give a Daraja client instead of
    /// `https://sandbox.safaricom.co.ke`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every transaction so far, oldest first, with its deliveries.
    pub fn transactions(&self) -> Vec<Transaction> {
        self.shared.ledger.snapshot()
    }

    /// Stops listening.
    pub fn shutdown(self) {
        self.serving.abort();
    }
}

impl Drop for RunningEmulator {
    fn drop(&mut self) {
        self.serving.abort();
    }
}

async fn accept(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(error) => {
                // Out of file descriptors, say: wait rather than spin.
                tracing::warn!(%error, "the emulator could not accept a connection");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let shared = Arc::clone(&shared);
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| answer(Arc::clone(&shared), request));
            let _ = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
        });
    }
}

async fn answer(shared: Arc<Shared>, request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let (parts, body) = request.into_parts();
    let path = parts.uri.path().to_owned();
    tracing::info!(method = %parts.method, path, "Daraja request");
    let json_answer = |status: StatusCode, body: String| {
        let mut response = Response::new(Full::new(Bytes::from(body)));
        *response.status_mut() = status;
        response.headers_mut().insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/json"));
        response
    };
    let error = |error: DarajaError, request_id: &str| json_answer(error.status, error.body(request_id));
    let request_id = format!("{}-{}", crate::ids::digits(5), crate::ids::digits(8));
    if parts.method == Method::GET {
        return Ok(match path.as_str() {
            "/oauth/v1/generate" => {
                match shared.tokens.issue(
                    parts.uri.query(),
                    &parts.headers,
                    shared.config.credentials.as_ref(),
                    shared.config.token_lifetime,
                ) {
                    Ok((token, lifetime)) => json_answer(
                        StatusCode::OK,
                        // Live Daraja sends `expires_in` as a string.
                        json!({ "access_token": token, "expires_in": (lifetime.as_secs().saturating_sub(1)).to_string() })
                            .to_string(),
                    ),
                    Err(refusal) => error(refusal, &request_id),
                }
            }
            "/emulator/transactions" => json_answer(StatusCode::OK, shared.ledger.to_json().to_string()),
            "/" => {
                let mut page = Response::new(Full::new(Bytes::from_static(crate::page::PAGE.as_bytes())));
                page.headers_mut()
                    .insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("text/html; charset=utf-8"));
                page
            }
            _ => error(DarajaError::new(StatusCode::NOT_FOUND, "404.001.01", "Resource not found"), &request_id),
        });
    }
    if parts.method == Method::POST && path == "/emulator/next" {
        let collected = Limited::new(body, MAX_BODY).collect().await.map(|collected| collected.to_bytes());
        let parsed: Option<Value> = collected.ok().and_then(|bytes| serde_json::from_slice(&bytes).ok());
        let Some(control) = parsed else {
            return Ok(error(DarajaError::invalid_field("JSON body"), &request_id));
        };
        let next = Override {
            result_code: control["result_code"].as_i64(),
            plan: control["plan"].as_str().map(str::to_owned),
        };
        let answer = json!({ "next": { "result_code": next.result_code, "plan": next.plan } });
        *shared.next.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(next);
        return Ok(json_answer(StatusCode::OK, answer.to_string()));
    }
    if parts.method != Method::POST {
        return Ok(error(
            DarajaError::new(StatusCode::METHOD_NOT_ALLOWED, "405.001", "Method Not Allowed"),
            &request_id,
        ));
    }
    let result_api = ResultApi::at(&path);
    let c2b_call = match path.as_str() {
        "/mpesa/c2b/v1/registerurl" | "/mpesa/c2b/v2/registerurl" => Some(true),
        "/mpesa/c2b/v1/simulate" | "/mpesa/c2b/v2/simulate" => Some(false),
        _ => None,
    };
    let family = match (path.as_str(), result_api) {
        ("/mpesa/stkpush/v1/processrequest" | "/mpesa/stkpushquery/v1/query", _) => ApiFamily::Stk,
        _ if c2b_call.is_some() => ApiFamily::C2b,
        (_, Some(api)) => api.family(),
        _ => {
            return Ok(error(DarajaError::new(StatusCode::NOT_FOUND, "404.001.01", "Resource not found"), &request_id));
        }
    };
    if let Err(refusal) = shared.tokens.check(&parts.headers, family) {
        return Ok(error(refusal, &request_id));
    }
    let body: Value = match Limited::new(body, MAX_BODY).collect().await.map(|collected| collected.to_bytes()) {
        Ok(bytes) => match serde_json::from_slice(&bytes) {
            Ok(value) => value,
            Err(_) => return Ok(error(DarajaError::invalid_field("JSON body"), &request_id)),
        },
        Err(_) => return Ok(error(DarajaError::invalid_field("request body"), &request_id)),
    };
    if let Some(registering) = c2b_call {
        let answered = if registering { c2b::register(&shared, &body) } else { c2b::simulate(&shared, &body) };
        return Ok(match answered {
            Ok(answer) => json_answer(StatusCode::OK, answer.to_string()),
            Err(refusal) => error(refusal, &request_id),
        });
    }
    if let Some(api) = result_api {
        return Ok(match crate::results::request(&shared, api, &body) {
            Ok(answer) => json_answer(StatusCode::OK, answer.to_string()),
            Err(refusal) => error(refusal, &request_id),
        });
    }
    Ok(match path.as_str() {
        "/mpesa/stkpush/v1/processrequest" => match stk::push(&shared, &body) {
            Ok(answer) => json_answer(StatusCode::OK, answer.to_string()),
            Err(refusal) => error(refusal, &request_id),
        },
        _ => match stk::query(&shared, &body) {
            Ok(answer) => json_answer(StatusCode::OK, answer.to_string()),
            Err((refusal, checkout_request_id)) => error(refusal, &checkout_request_id),
        },
    })
}

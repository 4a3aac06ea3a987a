//! The emulator's settings, its shared state, and the handle of a running
//! one.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rustls_pki_types::CertificateDer;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::c2b::Registrations;
use crate::client::Poster;
use crate::delivery::{Expected, deliver_expecting};
use crate::ledger::{Delivery, Ledger, Transaction};
use crate::oauth::Tokens;
use crate::results::ResultMemory;

/// The sandbox's public short code for M-Pesa Express.
pub const SANDBOX_SHORT_CODE: &str = "174379";

/// The sandbox's public passkey for [`SANDBOX_SHORT_CODE`].
pub const SANDBOX_PASSKEY: &str = "bfb279f9aa9bdbcf158e97dd71a467cd2e0c893059b10f78e6b72ada1ed2c919";

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
    pub(crate) queue_timeout_delay: Duration,
    pub(crate) validation_timeout: Duration,
    pub(crate) delivery_retries: u32,
    pub(crate) trusted: Vec<CertificateDer<'static>>,
}

/// What the request handlers share.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) config: Config,
    pub(crate) tokens: Tokens,
    pub(crate) ledger: Ledger,
    pub(crate) results: ResultMemory,
    pub(crate) registrations: Registrations,
    pub(crate) next: std::sync::Mutex<Option<Override>>,
    pub(crate) poster: Poster,
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
            let delivery = deliver_expecting(&self.poster, url, body.to_owned(), expected).await;
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
    /// after 2 s, queue timeouts (when a request asks for one) after 1 s.
    pub fn new() -> Self {
        let passkeys = HashMap::from([(SANDBOX_SHORT_CODE.to_owned(), SANDBOX_PASSKEY.to_owned())]);
        let config = Config {
            credentials: None,
            token_lifetime: Duration::from_secs(3600),
            passkeys,
            result_delay: Duration::from_secs(2),
            queue_timeout_delay: Duration::from_secs(1),
            validation_timeout: Duration::from_secs(8),
            delivery_retries: 0,
            trusted: Vec::new(),
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

    /// When a queue timeout is delivered, for a request whose plan asks for
    /// one (default 1 s after the request; the result, if any, follows at
    /// its own time, and never before the timeout). Daraja publishes no
    /// figure: this is not Safaricom's.
    pub fn queue_timeout_delay(mut self, delay: Duration) -> Self {
        self.config.queue_timeout_delay = delay;
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

    /// Trusts `certificate` (DER) for deliveries to https:// URLs besides
    /// the Mozilla roots: a receiver's self-signed certificate on a
    /// developer's machine.
    pub fn trust_certificate(mut self, certificate: CertificateDer<'static>) -> Self {
        self.config.trusted.push(certificate);
        self
    }

    /// Serves on `addr` (use port 0 for a free one) until the returned
    /// handle is dropped or [`shut down`](RunningEmulator::shutdown).
    ///
    /// Fails if the address cannot be bound, or a certificate given to
    /// [`trust_certificate`](Self::trust_certificate) is not one.
    pub async fn start(self, addr: SocketAddr) -> std::io::Result<RunningEmulator> {
        let mut poster = Poster::new().map_err(std::io::Error::other)?;
        for certificate in &self.config.trusted {
            poster = poster.trust(certificate.clone()).map_err(std::io::Error::other)?;
        }
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            config: self.config,
            tokens: Tokens::default(),
            ledger: Ledger::default(),
            results: ResultMemory::default(),
            registrations: Registrations::default(),
            next: std::sync::Mutex::default(),
            poster,
        });
        let serving = tokio::spawn(crate::server::accept(listener, Arc::clone(&shared)));
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

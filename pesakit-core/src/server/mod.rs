//! The bundled runtime: a hyper 1 HTTP/1.1 server on tokio with the limits
//! a public callback endpoint needs.
//!
//! ```no_run
//! # async fn run(routes: pesakit::Routes) -> std::io::Result<()> {
//! // The common case: defaults, shutdown on Ctrl-C or SIGTERM.
//! pesakit::serve("0.0.0.0:3000", routes).await
//! # }
//! ```
//!
//! | limit | default | setter |
//! | --- | --- | --- |
//! | request body | 64 KiB, answered 413 without reading further | [`Routes::body_limit`](crate::Routes::body_limit) |
//! | reading the request headers (and, with TLS, the handshake) | 10 s | [`Server::header_read_timeout`] |
//! | a whole request, body and handler | 30 s, answered 408 | [`Server::request_timeout`] |
//! | an idle keep-alive connection | 60 s, and never past the header read timeout | [`Server::keep_alive_timeout`] |
//! | request line and headers | 16 KiB and 100 headers, answered 431 | [`Server::max_header_bytes`] |
//! | open connections | 1024; at the cap, the connection waiting longest for a request is cut to make room | [`Server::max_connections`] |
//! | open connections from one address | 128; past it, that address's longest-waiting connection gives way, or the new one is closed | [`Server::max_connections_per_address`] |
//! | requests on one connection | 1,000, the last answered with `Connection: close` | [`Server::max_requests_per_connection`] |
//! | a connection's age | 10 minutes, then it finishes its request and closes | [`Server::max_connection_age`] |
//! | pause after `accept` runs out of descriptors, buffers or memory | 100 ms, doubling to 1 s | [`Server::accept_error_backoff`] |
//! | finishing in-flight requests at shutdown | 30 s | [`Server::shutdown_deadline`] |
//!
//! The header read, request and idle timeouts are checked by one watcher
//! task per connection every quarter of the shortest of the three, so that
//! requests never pay for a timer; each fires up to a quarter of that period
//! late.
//!
//! No client can take the places others need: a connection is held to the
//! header read timeout whenever it has no request in progress, and at the
//! cap the one that has waited longest gives way to a new client (see
//! `max_connections`). Behind a proxy every connection comes from the
//! proxy's address: raise [`Server::max_connections_per_address`] to the
//! cap there, and let the proxy limit each client. When a
//! [`SourceGuard`](crate::guard::SourceGuard) guards the table, a
//! connection from an address it could never allow is closed as soon as it
//! is accepted, before a byte is read. The server never answers 503.

mod accept;
mod backoff;
mod connection;
mod fair_share;
mod shutdown;
#[cfg(feature = "tls")]
mod tls;

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, ToSocketAddrs};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};

#[cfg(feature = "tls")]
pub use tls::TlsConfig;

use self::backoff::Backoff;
use self::connection::{Connection, Place, Shared};
use self::fair_share::{OpenConnections, Registration};
use crate::route::Routes;

/// Default cap on a request's line and headers: Daraja sends a handful of
/// small headers.
const DEFAULT_MAX_HEADER_BYTES: usize = 16 * 1024;

/// The largest connection cap accepted; far beyond what one process serves.
const MAX_CONNECTIONS: usize = 1_000_000;

/// Default share of the cap one address may hold: Safaricom calls from a
/// dozen gateways, each well inside it.
const DEFAULT_MAX_CONNECTIONS_PER_ADDRESS: usize = 128;

/// Serves `routes` on `addr` with default limits until Ctrl-C or SIGTERM,
/// then finishes in-flight requests and returns.
///
/// ```no_run
/// # async fn run(routes: pesakit::Routes) -> std::io::Result<()> {
/// pesakit::serve("127.0.0.1:3000", routes).await
/// # }
/// ```
pub async fn serve(addr: impl ToSocketAddrs, routes: Routes) -> io::Result<()> {
    Server::bind(addr).await?.serve(routes).await
}

/// A configurable bundled server; [`serve`] covers the common case.
///
/// ```no_run
/// use std::time::Duration;
/// use pesakit::{Routes, Server};
///
/// # async fn run(routes: Routes) -> std::io::Result<()> {
/// let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
/// Server::bind("0.0.0.0:8443")
///     .await?
///     .max_connections(256)
///     .request_timeout(Duration::from_secs(10))
///     .with_graceful_shutdown(async move { stopped.await.ok(); })
///     .serve(routes)
///     .await
/// # }
/// ```
pub struct Server {
    listener: TcpListener,
    settings: Arc<ServerSettings>,
    max_connections: usize,
    max_connections_per_address: usize,
    accept_error_backoff: Backoff,
    shutdown_deadline: Duration,
    shutdown_signal: Option<Pin<Box<dyn Future<Output = ()> + Send>>>,
    #[cfg(feature = "tls")]
    tls: Option<tokio_rustls::TlsAcceptor>,
}

/// What each connection needs to know.
#[derive(Debug, Clone)]
pub(crate) struct ServerSettings {
    pub(crate) header_read_timeout: Duration,
    pub(crate) request_timeout: Duration,
    pub(crate) keep_alive_timeout: Duration,
    pub(crate) max_header_bytes: usize,
    pub(crate) max_requests_per_connection: u64,
    pub(crate) max_connection_age: Duration,
}

impl ServerSettings {
    /// Refuses timeouts of zero (which would cut every connection) or over
    /// a day (a connection's age) or an hour (the others, which would let a
    /// client hold a connection that long), and a request limit of zero.
    fn check(&self) -> io::Result<()> {
        let refuse = |message: String| Err(io::Error::new(io::ErrorKind::InvalidInput, message));
        for (setting, timeout, most, most_said) in [
            ("header_read_timeout", self.header_read_timeout, HOUR, "an hour"),
            ("request_timeout", self.request_timeout, HOUR, "an hour"),
            ("keep_alive_timeout", self.keep_alive_timeout, HOUR, "an hour"),
            ("max_connection_age", self.max_connection_age, 24 * HOUR, "a day"),
        ] {
            if timeout.is_zero() || timeout > most {
                return refuse(format!("`{setting}` is {timeout:?}: give more than zero and at most {most_said}"));
            }
        }
        if self.max_requests_per_connection == 0 {
            return refuse("`max_requests_per_connection` is 0: give at least 1 (the default is 1,000)".to_owned());
        }
        Ok(())
    }
}

const HOUR: Duration = Duration::from_secs(60 * 60);

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("local_addr", &self.listener.local_addr().ok())
            .field("settings", &self.settings)
            .field("max_connections", &self.max_connections)
            .field("max_connections_per_address", &self.max_connections_per_address)
            .finish_non_exhaustive()
    }
}

impl Server {
    /// Binds a listener on `addr` (`"0.0.0.0:3000"`, `"[::]:443"`, …).
    pub async fn bind(addr: impl ToSocketAddrs) -> io::Result<Self> {
        Ok(Self::from_listener(TcpListener::bind(addr).await?))
    }

    /// Serves on a listener you bound yourself, such as one on port 0 in a
    /// test.
    pub fn from_listener(listener: TcpListener) -> Self {
        Self {
            listener,
            settings: Arc::new(ServerSettings {
                header_read_timeout: Duration::from_secs(10),
                request_timeout: Duration::from_secs(30),
                keep_alive_timeout: Duration::from_secs(60),
                max_header_bytes: DEFAULT_MAX_HEADER_BYTES,
                max_requests_per_connection: 1_000,
                max_connection_age: Duration::from_secs(10 * 60),
            }),
            max_connections: 1024,
            max_connections_per_address: DEFAULT_MAX_CONNECTIONS_PER_ADDRESS,
            accept_error_backoff: Backoff::new(Duration::from_millis(100), Duration::from_secs(1)),
            shutdown_deadline: Duration::from_secs(30),
            shutdown_signal: None,
            #[cfg(feature = "tls")]
            tls: None,
        }
    }

    /// The address the listener is bound to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// How long a client may take to send the request headers (and, with
    /// TLS, to finish the handshake) before the connection is closed.
    ///
    /// The clock starts when the connection opens and, on a keep-alive
    /// connection, again when each request ends, so a client that trickles
    /// its headers a byte at a time is cut off all the same.
    pub fn header_read_timeout(mut self, timeout: Duration) -> Self {
        Arc::make_mut(&mut self.settings).header_read_timeout = timeout;
        self
    }

    /// How long one request may take, body and handler, before it is
    /// answered 408.
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        Arc::make_mut(&mut self.settings).request_timeout = timeout;
        self
    }

    /// How long a keep-alive connection may sit idle before it is closed.
    ///
    /// The wait for the next request's headers also counts against the
    /// [header read timeout](Self::header_read_timeout), as in hyper, so an
    /// idle connection is closed once the shorter of the two passes.
    pub fn keep_alive_timeout(mut self, timeout: Duration) -> Self {
        Arc::make_mut(&mut self.settings).keep_alive_timeout = timeout;
        self
    }

    /// The most bytes of request line and headers a request may have
    /// (default 16 KiB, from 1 KiB to 1 MiB); more is answered 431 and the
    /// connection closed, so an unfinished header holds at most this much
    /// memory. The header count is capped at 100 the same way.
    pub fn max_header_bytes(mut self, bytes: usize) -> Self {
        Arc::make_mut(&mut self.settings).max_header_bytes = bytes;
        self
    }

    /// The most connections served at once (default 1,024, from 1 to
    /// 1,000,000).
    ///
    /// At the cap, a new client takes the place of the connection that has
    /// waited longest for its next request, idle or still sending headers;
    /// a connection with a request in progress is never cut. Only when
    /// every connection is busy does a new client wait in the listen
    /// backlog, for the first request to finish.
    pub fn max_connections(mut self, connections: usize) -> Self {
        self.max_connections = connections.clamp(1, MAX_CONNECTIONS);
        self
    }

    /// The most connections one peer address may hold (default 128, from 1
    /// to the connection cap).
    ///
    /// A new connection from an address at its limit takes the place of
    /// that address's longest-waiting connection, or is closed unanswered
    /// if all of them are busy, so one client cannot starve another. Behind
    /// a proxy or load balancer every connection comes from its address:
    /// set this to the cap there and let the proxy limit each client.
    pub fn max_connections_per_address(mut self, connections: usize) -> Self {
        self.max_connections_per_address = connections.clamp(1, MAX_CONNECTIONS);
        self
    }

    /// The most requests one connection may carry (default 1,000); the
    /// last is answered with `Connection: close` and the connection closes,
    /// so no client keeps one connection forever.
    pub fn max_requests_per_connection(mut self, requests: u64) -> Self {
        Arc::make_mut(&mut self.settings).max_requests_per_connection = requests;
        self
    }

    /// How long one connection may stay open (default 10 minutes, at most
    /// a day); then it finishes the request in progress, answering it with
    /// `Connection: close`, and closes.
    pub fn max_connection_age(mut self, age: Duration) -> Self {
        Arc::make_mut(&mut self.settings).max_connection_age = age;
        self
    }

    /// The pause after `accept` fails for lack of resources (file
    /// descriptors, buffers, memory), doubling up to `max` while failures
    /// continue. A connection that failed on its own (reset while waiting
    /// in the backlog) is skipped without a pause.
    pub fn accept_error_backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.accept_error_backoff = Backoff::new(initial, max);
        self
    }

    /// How long in-flight requests get to finish once shutdown starts.
    pub fn shutdown_deadline(mut self, deadline: Duration) -> Self {
        self.shutdown_deadline = deadline;
        self
    }

    /// Shuts down when `signal` completes instead of on Ctrl-C or SIGTERM.
    pub fn with_graceful_shutdown(mut self, signal: impl Future<Output = ()> + Send + 'static) -> Self {
        self.shutdown_signal = Some(Box::pin(signal));
        self
    }

    /// Serves HTTPS with `config` (Daraja requires HTTPS callback URLs in
    /// production).
    #[cfg(feature = "tls")]
    pub fn tls(mut self, config: TlsConfig) -> Self {
        self.tls = Some(config.acceptor());
        self
    }

    /// Serves `routes` until the shutdown signal, then stops accepting and
    /// gives in-flight requests the shutdown deadline to finish.
    ///
    /// A table that cannot serve (a handler takes a state it was not given,
    /// see [`Routes::check`]) is refused before the first connection, with
    /// an error of kind [`io::ErrorKind::InvalidInput`].
    pub async fn serve(self, routes: Routes) -> io::Result<()> {
        routes.check().map_err(|error| io::Error::new(io::ErrorKind::InvalidInput, error))?;
        self.settings.check()?;
        // Callbacks a crash left pending are taken up now, not at the first request.
        routes.start_inbox();
        let local_addr = self.listener.local_addr()?;
        self.log_routes(local_addr, &routes);
        let places = Arc::new(Semaphore::new(self.max_connections));
        let open = Arc::new(OpenConnections::new(self.max_connections_per_address.min(self.max_connections)));
        let (stop_connections, stopping) = watch::channel(false);
        let mut signal = self.shutdown_signal.unwrap_or_else(|| Box::pin(shutdown::terminate_signal()));
        let mut backoff = self.accept_error_backoff;
        loop {
            let (stream, peer) = tokio::select! {
                accepted = self.listener.accept() => match accepted {
                    Ok(accepted) => accepted,
                    Err(error) => {
                        if let Some(pause) = accept::pause_after(&error, &mut backoff) {
                            tokio::time::sleep(pause).await;
                        }
                        continue;
                    }
                },
                () = &mut signal => break,
            };
            backoff.reset();
            let accepted = tokio::time::Instant::now();
            if !routes.admits_connection(peer.ip()) {
                tracing::debug!(%peer, "closed a connection from an address the guards refuse");
                continue;
            }
            let shared = Arc::new(Shared::new(routes.clone()));
            let Some(registration) = open.admit(peer.ip(), Arc::clone(&shared)) else {
                tracing::debug!(%peer, "closed a connection past its address's limit; all of them are busy");
                continue;
            };
            let permit = tokio::select! {
                permit = take_place(&places, &open, &registration) => permit,
                () = &mut signal => break,
            };
            // Each answer is one small write: send it now rather than wait to
            // batch it (Nagle), which can hold it back by a delayed ACK.
            if let Err(error) = stream.set_nodelay(true) {
                tracing::debug!(%peer, %error, "could not turn off Nagle's algorithm");
            }
            let connection =
                Connection { shared, settings: Arc::clone(&self.settings), peer, stopping: stopping.clone(), accepted };
            let place = Place { _permit: permit, _registration: registration };
            #[cfg(feature = "tls")]
            if let Some(acceptor) = &self.tls {
                tokio::spawn(connection.serve_tls(stream, acceptor.clone(), place));
                continue;
            }
            tokio::spawn(connection.serve(stream, place));
        }
        drop(self.listener);
        shutdown::drain(&places, self.max_connections, &stop_connections, self.shutdown_deadline).await;
        Ok(())
    }

    /// Logs how the table is served, and the limits that keep it fair.
    fn log_routes(&self, local_addr: SocketAddr, routes: &Routes) {
        #[cfg(feature = "tls")]
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        #[cfg(not(feature = "tls"))]
        let scheme = "http";
        for guard in routes.guard_descriptions() {
            tracing::info!(guard = %guard, "guarding every callback route");
        }
        for route in routes {
            tracing::info!(
                kind = route.kind().attribute_name(),
                handler = route.handler_name(),
                "serving {scheme}://{local_addr}{}",
                route.path()
            );
        }
    }
}

/// A place under the cap, cutting the connection that has waited longest
/// for a request if there is none free; with every connection busy, waits
/// for one to finish. The cap's semaphore is never closed.
async fn take_place(places: &Arc<Semaphore>, open: &OpenConnections, newcomer: &Registration) -> OwnedSemaphorePermit {
    loop {
        if let Ok(permit) = Arc::clone(places).try_acquire_owned() {
            return permit;
        }
        if !open.make_room(newcomer) {
            tracing::debug!("every connection is busy; the new one waits for a place");
        }
        if let Ok(permit) = Arc::clone(places).acquire_owned().await {
            return permit;
        }
    }
}

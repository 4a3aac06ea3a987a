//! The bundled runtime: a hyper 1 HTTP/1.1 server on tokio with the limits
//! a public callback endpoint needs.
//!
//! ```no_run
//! # async fn run(routes: pesakit_core::Routes) -> std::io::Result<()> {
//! // The common case: defaults, shutdown on Ctrl-C or SIGTERM.
//! pesakit_core::serve("0.0.0.0:3000", routes).await
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
//! | open connections | 1024; more wait in the listen backlog | [`Server::max_connections`] |
//! | pause after `accept` runs out of descriptors, buffers or memory | 100 ms, doubling to 1 s | [`Server::accept_error_backoff`] |
//! | finishing in-flight requests at shutdown | 30 s | [`Server::shutdown_deadline`] |
//!
//! The header read, request and idle timeouts are checked by one watcher
//! task per connection every quarter of the shortest of the three, so that
//! requests never pay for a timer; each fires up to a quarter of that period
//! late.

mod accept;
mod backoff;
mod connection;
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
use tokio::sync::{Semaphore, watch};

#[cfg(feature = "tls")]
pub use tls::TlsConfig;

use self::accept::AcceptFailure;
use self::backoff::Backoff;
use crate::route::Routes;

/// Default cap on a request's line and headers: Daraja sends a handful of
/// small headers.
const DEFAULT_MAX_HEADER_BYTES: usize = 16 * 1024;

/// The largest connection cap accepted; far beyond what one process serves.
const MAX_CONNECTIONS: usize = 1_000_000;

/// Serves `routes` on `addr` with default limits until Ctrl-C or SIGTERM,
/// then finishes in-flight requests and returns.
///
/// ```no_run
/// # async fn run(routes: pesakit_core::Routes) -> std::io::Result<()> {
/// pesakit_core::serve("127.0.0.1:3000", routes).await
/// # }
/// ```
pub async fn serve(addr: impl ToSocketAddrs, routes: Routes) -> io::Result<()> {
    Server::bind(addr).await?.serve(routes).await
}

/// A configurable bundled server; [`serve`] covers the common case.
///
/// ```no_run
/// use std::time::Duration;
/// use pesakit_core::{Routes, Server};
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
}

impl ServerSettings {
    /// Refuses timeouts of zero (which would cut every connection) or over
    /// an hour (which would let a client hold a connection that long).
    fn check(&self) -> io::Result<()> {
        let in_range = |timeout: Duration| !timeout.is_zero() && timeout <= Duration::from_secs(60 * 60);
        for (setting, timeout) in [
            ("header_read_timeout", self.header_read_timeout),
            ("request_timeout", self.request_timeout),
            ("keep_alive_timeout", self.keep_alive_timeout),
        ] {
            if !in_range(timeout) {
                let message =
                    format!("`{setting}` is {timeout:?}: give a timeout of more than zero and at most an hour");
                return Err(io::Error::new(io::ErrorKind::InvalidInput, message));
            }
        }
        Ok(())
    }
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("local_addr", &self.listener.local_addr().ok())
            .field("settings", &self.settings)
            .field("max_connections", &self.max_connections)
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
            }),
            max_connections: 1024,
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

    /// The most connections served at once (1 to 1,000,000); further
    /// clients wait in the listen backlog until one closes.
    pub fn max_connections(mut self, connections: usize) -> Self {
        self.max_connections = connections.clamp(1, MAX_CONNECTIONS);
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
        let connections = Arc::new(Semaphore::new(self.max_connections));
        let (stop_connections, stopping) = watch::channel(false);
        let mut signal = self.shutdown_signal.unwrap_or_else(|| Box::pin(shutdown::terminate_signal()));
        let mut backoff = self.accept_error_backoff;
        loop {
            let permit = tokio::select! {
                permit = Arc::clone(&connections).acquire_owned() => match permit {
                    Ok(permit) => permit,
                    Err(_) => break,
                },
                () = &mut signal => break,
            };
            let (stream, peer) = tokio::select! {
                accepted = self.listener.accept() => match accepted {
                    Ok(accepted) => accepted,
                    Err(error) => {
                        let pause = match AcceptFailure::of(&error) {
                            AcceptFailure::Connection => {
                                tracing::debug!(%error, "a connection failed before it was accepted; skipped");
                                continue;
                            }
                            AcceptFailure::Exhausted => {
                                let pause = backoff.pause();
                                tracing::warn!(%error, ?pause, "out of resources to accept connections; pausing");
                                pause
                            }
                            AcceptFailure::Listener => {
                                let pause = backoff.pause();
                                tracing::error!(%error, ?pause, "the listener failed to accept; pausing");
                                pause
                            }
                        };
                        tokio::time::sleep(pause).await;
                        continue;
                    }
                },
                () = &mut signal => break,
            };
            backoff.reset();
            // Each answer is one small write: send it now rather than wait to
            // batch it (Nagle), which can hold it back by a delayed ACK.
            if let Err(error) = stream.set_nodelay(true) {
                tracing::debug!(%peer, %error, "could not turn off Nagle's algorithm");
            }
            let connection = connection::Connection {
                routes: routes.clone(),
                settings: Arc::clone(&self.settings),
                peer,
                stopping: stopping.clone(),
            };
            #[cfg(feature = "tls")]
            if let Some(acceptor) = &self.tls {
                tokio::spawn(connection.serve_tls(stream, acceptor.clone(), permit));
                continue;
            }
            tokio::spawn(connection.serve(stream, permit));
        }
        drop(self.listener);
        shutdown::drain(&connections, self.max_connections, &stop_connections, self.shutdown_deadline).await;
        Ok(())
    }

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

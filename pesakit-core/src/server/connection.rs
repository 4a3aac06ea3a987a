//! One client connection: HTTP/1.1 through hyper, with the peer address,
//! the request timeout, the idle keep-alive timeout and graceful shutdown.
//!
//! A connection is two tasks. The connection task runs hyper; a watcher
//! task keeps time and raises lock-free signals, so that serving a request
//! polls no timer and takes no lock for the timeouts.

use std::convert::Infallible;
use std::future::{Future, poll_fn};
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::task::Poll;
use std::time::Duration;

use atomic_waker::AtomicWaker;
use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{OwnedSemaphorePermit, watch};
use tokio::time::MissedTickBehavior;

use super::ServerSettings;
use crate::extract::PeerAddr;
use crate::route::Routes;

pub(super) struct Connection {
    pub(super) routes: Routes,
    pub(super) settings: Arc<ServerSettings>,
    pub(super) peer: SocketAddr,
    pub(super) stopping: watch::Receiver<bool>,
}

impl Connection {
    /// Completes the TLS handshake within the header read timeout, then
    /// serves the connection.
    #[cfg(feature = "tls")]
    pub(super) async fn serve_tls(
        self,
        stream: tokio::net::TcpStream,
        acceptor: tokio_rustls::TlsAcceptor,
        permit: OwnedSemaphorePermit,
    ) {
        match tokio::time::timeout(self.settings.header_read_timeout, acceptor.accept(stream)).await {
            Ok(Ok(tls_stream)) => self.serve(tls_stream, permit).await,
            Ok(Err(error)) => tracing::debug!(peer = %self.peer, %error, "TLS handshake failed"),
            Err(_) => tracing::debug!(peer = %self.peer, "TLS handshake timed out"),
        }
    }

    /// Serves the connection; `_permit` holds its place under the cap.
    pub(super) async fn serve<IO>(self, io: IO, _permit: OwnedSemaphorePermit)
    where
        IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let Connection { routes, settings, peer, stopping } = self;
        // One per connection: cloning it per request touches no cache line
        // that other connections' threads write.
        let shared = Arc::new((routes, Activity::default()));
        let watcher = tokio::spawn(watch_connection(Arc::clone(&shared), Arc::clone(&settings), peer, stopping));
        let service = {
            let shared = Arc::clone(&shared);
            service_fn(move |request: Request<Incoming>| {
                let shared = Arc::clone(&shared);
                async move {
                    let (routes, activity) = &*shared;
                    let _busy = activity.begin();
                    Ok::<_, Infallible>(respond(routes, activity, peer, request).await)
                }
            })
        };
        let mut http = hyper::server::conn::http1::Builder::new();
        http.timer(TokioTimer::new()).header_read_timeout(settings.header_read_timeout).keep_alive(true);
        let mut connection = pin!(http.serve_connection(TokioIo::new(io), service));
        let close = &shared.1.close;
        let mut closing = false;
        loop {
            tokio::select! {
                biased;
                finished = connection.as_mut() => {
                    if let Err(error) = finished {
                        tracing::debug!(%peer, %error, "connection ended with an error");
                    }
                    watcher.abort();
                    return;
                }
                () = close.raised(), if !closing => {
                    connection.as_mut().graceful_shutdown();
                    closing = true;
                }
            }
        }
    }
}

/// Keeps time for one connection: raises `overdue` for a request past the
/// request timeout and `close` for shutdown or an idle keep-alive. It
/// counts checks, one every quarter of the shorter timeout, so requests
/// never read the clock; either timeout fires at most one check late.
async fn watch_connection(
    shared: Arc<(Routes, Activity)>,
    settings: Arc<ServerSettings>,
    peer: SocketAddr,
    mut stopping: watch::Receiver<bool>,
) {
    let activity = &shared.1;
    let tick = (settings.keep_alive_timeout.min(settings.request_timeout) / 4).max(Duration::from_millis(5));
    let checks_for = |timeout: Duration| timeout.as_nanos().div_ceil(tick.as_nanos().max(1));
    let (request_checks, idle_checks) = (checks_for(settings.request_timeout), checks_for(settings.keep_alive_timeout));
    let mut checks = tokio::time::interval(tick);
    checks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let (mut last_started, mut busy_for, mut idle_for) = (0, 0u128, 0u128);
    loop {
        tokio::select! {
            changed = stopping.changed() => {
                if changed.is_err() || *stopping.borrow() {
                    activity.close.raise();
                    return;
                }
            }
            _ = checks.tick() => {
                let started = activity.started.load(Ordering::SeqCst);
                let busy = activity.in_flight.load(Ordering::SeqCst) > 0;
                let same_request = started == last_started;
                last_started = started;
                (busy_for, idle_for) = match (busy, same_request) {
                    (true, true) => (busy_for + 1, 0),
                    (true, false) => (0, 0),
                    (false, true) => (0, idle_for + 1),
                    (false, false) => (0, 0),
                };
                if busy_for >= request_checks {
                    activity.overdue.raise();
                } else if idle_for >= idle_checks {
                    tracing::debug!(%peer, "closing an idle keep-alive connection");
                    activity.close.raise();
                    return;
                }
            }
        }
    }
}

/// Runs one request until it finishes or the watcher finds it past the
/// request timeout.
async fn respond(
    routes: &Routes,
    activity: &Activity,
    peer: SocketAddr,
    request: Request<Incoming>,
) -> Response<Full<Bytes>> {
    tokio::select! {
        biased;
        response = routes.handle_from(request, Some(PeerAddr(peer))) => response.map(Full::new),
        () = activity.overdue.raised() => {
            tracing::warn!(%peer, "request timed out");
            let body = serde_json::json!({
                "error": "request_timeout",
                "message": "the request took longer than the server's request timeout",
            });
            let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
            *response.status_mut() = StatusCode::REQUEST_TIMEOUT;
            response.headers_mut().insert(http::header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
            response
        }
    }
}

/// A flag one task raises and another awaits, without a lock.
#[derive(Default)]
struct Signal {
    raised: AtomicBool,
    waker: AtomicWaker,
}

impl Signal {
    fn raise(&self) {
        self.raised.store(true, Ordering::SeqCst);
        self.waker.wake();
    }

    fn lower(&self) {
        self.raised.store(false, Ordering::SeqCst);
    }

    fn raised(&self) -> impl Future<Output = ()> + '_ {
        poll_fn(|cx| {
            if self.raised.load(Ordering::SeqCst) {
                return Poll::Ready(());
            }
            self.waker.register(cx.waker());
            // Raised between the check and the registration: do not sleep.
            if self.raised.load(Ordering::SeqCst) { Poll::Ready(()) } else { Poll::Pending }
        })
    }
}

/// Requests in flight and how many have started, for the watcher.
#[derive(Default)]
struct Activity {
    in_flight: AtomicUsize,
    started: AtomicU64,
    /// Raised when the in-flight request is past the request timeout.
    overdue: Signal,
    /// Raised when the connection should finish its request and close.
    close: Signal,
}

/// Marks a request finished when dropped, however it ends.
struct Busy<'a>(&'a Activity);

impl Activity {
    fn begin(&self) -> Busy<'_> {
        self.overdue.lower();
        self.started.fetch_add(1, Ordering::SeqCst);
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        Busy(self)
    }
}

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

//! One client connection: HTTP/1.1 through hyper, with the peer address,
//! the header read, request and idle keep-alive timeouts and graceful
//! shutdown.
//!
//! A connection is two tasks. The connection task runs hyper; a watcher
//! task keeps time for it and raises lock-free signals, so that serving a
//! request touches no timer and takes no lock for its timeouts.
//!
//! hyper's own header read timeout stays off: with it on, hyper arms a
//! sleep and makes one more pass of its read loop after every response,
//! about 5% of the cost of a request. The watcher enforces the same rule: a
//! connection with no request in progress — one still sending headers,
//! or idle between keep-alive requests — is cut once it has been so for the
//! header read timeout (or the idle timeout, if shorter).

use std::convert::Infallible;
use std::future::{Future, poll_fn};
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::Poll;
use std::time::Duration;

use atomic_waker::AtomicWaker;
use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
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
        let max_header_bytes = settings.max_header_bytes;
        // One per connection: cloning it per request touches no cache line
        // that other connections' threads write.
        let shared = Arc::new((routes, Activity::default()));
        let watcher = tokio::spawn(watch_connection(Arc::clone(&shared), settings, peer, stopping));
        let service = {
            let shared = Arc::clone(&shared);
            service_fn(move |request: Request<Incoming>| {
                let shared = Arc::clone(&shared);
                async move {
                    let (routes, activity) = &*shared;
                    let (number, _busy) = activity.begin();
                    // Runs the request until it finishes or the watcher finds
                    // it past the request timeout.
                    let mut handling = pin!(routes.dispatch_from(request, PeerAddr(peer)));
                    let mut overdue = pin!(activity.overdue.raised(number));
                    let response = poll_fn(|cx| match handling.as_mut().poll(cx) {
                        Poll::Ready(response) => Poll::Ready(response),
                        Poll::Pending => overdue.as_mut().poll(cx).map(|()| timed_out(peer)),
                    })
                    .await;
                    Ok::<_, Infallible>(response.map(Full::new))
                }
            })
        };
        let mut http = hyper::server::conn::http1::Builder::new();
        // The watcher enforces the header read timeout (see the module docs).
        http.header_read_timeout(None).keep_alive(true).max_header_size(max_header_bytes);
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
                // Dropping the connection closes the socket; the watcher has
                // already ended.
                () = close.raised(CUT) => return,
                () = close.raised(CLOSE), if !closing => {
                    connection.as_mut().graceful_shutdown();
                    closing = true;
                }
            }
        }
    }
}

/// Keeps time for one connection: raises `overdue` for a request past the
/// request timeout, `close` with [`CUT`] for a connection that has had no
/// request in progress for the header read (or idle) timeout, and `close`
/// with [`CLOSE`] at shutdown, after which the timeouts still hold. It
/// checks every quarter of the shortest timeout and counts checks, so
/// requests never read the clock; every timeout fires at most one check
/// late.
async fn watch_connection(
    shared: Arc<(Routes, Activity)>,
    settings: Arc<ServerSettings>,
    peer: SocketAddr,
    mut stopping: watch::Receiver<bool>,
) {
    let activity = &shared.1;
    let waiting_timeout = settings.header_read_timeout.min(settings.keep_alive_timeout);
    let tick = (waiting_timeout.min(settings.request_timeout) / 4).max(Duration::from_millis(5));
    let checks_for = |timeout: Duration| timeout.as_nanos().div_ceil(tick.as_nanos().max(1));
    let (request_checks, waiting_checks) = (checks_for(settings.request_timeout), checks_for(waiting_timeout));
    let mut checks = tokio::time::interval(tick);
    checks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut phases = PhaseClock::default();
    let mut stopped = false;
    loop {
        tokio::select! {
            changed = stopping.changed(), if !stopped => {
                if changed.is_err() || *stopping.borrow() {
                    activity.close.raise(CLOSE);
                    stopped = true;
                }
            }
            _ = checks.tick() => {
                let (started, busy) = (activity.started.load(Ordering::Acquire), activity.busy.load(Ordering::Acquire));
                let checks_in_phase = phases.observe(started, busy);
                if busy && checks_in_phase >= request_checks {
                    activity.overdue.raise(started);
                } else if !busy && checks_in_phase >= waiting_checks {
                    tracing::debug!(%peer, ?waiting_timeout, "no request within the header read or idle timeout");
                    activity.close.raise(CUT);
                    return;
                }
            }
        }
    }
}

/// Counts a connection's checks since its current phase — one request in
/// progress, or the wait after it (or after connecting) — was first seen.
/// A phase begins at most one check before it is first seen, so a timeout
/// of `n` checks fires after at least `n` check periods and at most `n + 1`.
#[derive(Default)]
struct PhaseClock {
    /// The last phase seen: the latest request's number, and whether it
    /// was in progress.
    phase: Option<(u64, bool)>,
    checks: u128,
}

impl PhaseClock {
    /// Records one check; returns how many checks ago this phase was
    /// first seen (0 for a new one).
    fn observe(&mut self, started: u64, busy: bool) -> u128 {
        let phase = Some((started, busy));
        self.checks = if self.phase == phase { self.checks + 1 } else { 0 };
        self.phase = phase;
        self.checks
    }
}

/// The 408 for a request past the request timeout.
#[cold]
fn timed_out(peer: SocketAddr) -> Response<Bytes> {
    tracing::warn!(%peer, "request timed out");
    let body = serde_json::json!({
        "error": "request_timeout",
        "message": "the request took longer than the server's request timeout",
    });
    let mut response = Response::new(Bytes::from(body.to_string()));
    *response.status_mut() = StatusCode::REQUEST_TIMEOUT;
    response.headers_mut().insert(http::header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// A mark one task raises and another awaits, without a lock.
#[derive(Default)]
struct Signal {
    /// The last mark raised; 0 before any.
    mark: AtomicU64,
    waker: AtomicWaker,
}

impl Signal {
    fn raise(&self, mark: u64) {
        self.mark.store(mark, Ordering::SeqCst);
        self.waker.wake();
    }

    /// Ready once `mark` is raised.
    fn raised(&self, mark: u64) -> impl Future<Output = ()> + '_ {
        poll_fn(move |cx| {
            if self.mark.load(Ordering::SeqCst) == mark {
                return Poll::Ready(());
            }
            self.waker.register(cx.waker());
            // Raised between the check and the registration: do not sleep.
            if self.mark.load(Ordering::SeqCst) == mark { Poll::Ready(()) } else { Poll::Pending }
        })
    }
}

/// The mark of [`Activity::close`] for finishing the request in progress,
/// if any, and closing.
const CLOSE: u64 = 1;
/// The mark of [`Activity::close`] for closing at once.
const CUT: u64 = 2;

/// What the connection task tells the watcher, and the signals back. Only
/// the connection task writes `started` and `busy`, and HTTP/1 serves one
/// request at a time, so a request pays plain stores, no read-modify-write.
#[derive(Default)]
struct Activity {
    /// How many requests have started; the latest one's number.
    started: AtomicU64,
    busy: AtomicBool,
    /// Raised with a request's number when it is past the request timeout,
    /// so a late mark never cuts off the next request.
    overdue: Signal,
    /// Raised with [`CLOSE`] when the connection should finish its request
    /// and close, and with [`CUT`] when it should close at once.
    close: Signal,
}

/// Marks a request finished when dropped, however it ends.
struct Busy<'a>(&'a Activity);

impl Activity {
    /// Starts a request: its number, and the guard that ends it.
    fn begin(&self) -> (u64, Busy<'_>) {
        let number = self.started.load(Ordering::Relaxed) + 1;
        self.started.store(number, Ordering::Release);
        self.busy.store(true, Ordering::Release);
        (number, Busy(self))
    }
}

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        self.0.busy.store(false, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use std::task::{Context, Waker};

    use super::*;

    #[test]
    fn a_signal_is_raised_only_for_its_own_mark() {
        let signal = Signal::default();
        let mut second_request = pin!(signal.raised(2));
        let mut poll = || second_request.as_mut().poll(&mut Context::from_waker(Waker::noop()));
        assert!(poll().is_pending());
        signal.raise(1);
        assert!(poll().is_pending(), "a late mark for the previous request");
        signal.raise(2);
        assert!(poll().is_ready());
    }

    #[test]
    fn a_phase_counts_checks_from_when_it_was_first_seen() {
        let mut phases = PhaseClock::default();
        // Waiting after connecting, then request 1, then waiting after it.
        assert_eq!(phases.observe(0, false), 0);
        assert_eq!(phases.observe(0, false), 1);
        assert_eq!(phases.observe(1, true), 0, "a request starting ends the wait");
        assert_eq!(phases.observe(1, true), 1);
        assert_eq!(phases.observe(1, false), 0, "the wait after a request is a new phase");
        // Request 2 ran from start to end between two checks.
        assert_eq!(phases.observe(2, false), 0);
        assert_eq!(phases.observe(2, false), 1);
        // Requests 3 and 4 each seen in progress at one check only.
        assert_eq!(phases.observe(3, true), 0);
        assert_eq!(phases.observe(4, true), 0, "the next request is a new phase");
    }

    #[test]
    fn each_request_gets_the_next_number_and_is_busy_until_its_guard_drops() {
        let activity = Activity::default();
        let (first, guard) = activity.begin();
        assert!(activity.busy.load(Ordering::Acquire));
        drop(guard);
        assert!(!activity.busy.load(Ordering::Acquire));
        let (second, _guard) = activity.begin();
        assert_eq!((first, second), (1, 2));
        assert_eq!(activity.started.load(Ordering::Acquire), 2);
    }
}

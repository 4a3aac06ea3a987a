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
use tokio::time::{Instant, MissedTickBehavior};

use super::ServerSettings;
use super::fair_share::Registration;
use crate::extract::PeerAddr;
use crate::route::Routes;

pub(super) struct Connection {
    pub(super) shared: Arc<Shared>,
    pub(super) settings: Arc<ServerSettings>,
    pub(super) peer: SocketAddr,
    pub(super) stopping: watch::Receiver<bool>,
    /// When the connection was accepted: the header read timeout of its
    /// first request counts from here, TLS handshake included.
    pub(super) accepted: Instant,
}

/// What a connection's task, its watcher and the register of open
/// connections share. One per connection: cloning it per request touches
/// no cache line that other connections' threads write.
#[derive(Debug)]
pub(super) struct Shared {
    routes: Routes,
    activity: Activity,
}

impl Shared {
    pub(super) fn new(routes: Routes) -> Self {
        Self { routes, activity: Activity::default() }
    }

    /// How many watcher checks the connection has waited for its next
    /// request; `None` while a request is in progress or once it is
    /// closing, when it cannot make room.
    pub(super) fn waiting_checks(&self) -> Option<u64> {
        let activity = &self.activity;
        let waiting = !activity.is_closing() && !activity.busy.load(Ordering::Acquire);
        waiting.then(|| activity.waited.load(Ordering::Relaxed))
    }

    /// Closes the connection at once, to make room for a new one.
    pub(super) fn cut(&self) {
        self.activity.close.raise(CUT);
    }
}

/// What holds a connection's place: its permit under the cap and its entry
/// in the register, both given back when the connection ends.
#[derive(Debug)]
pub(super) struct Place {
    pub(super) _permit: OwnedSemaphorePermit,
    pub(super) _registration: Registration,
}

impl Connection {
    /// Completes the TLS handshake within the header read timeout, then
    /// serves the connection with what is left of it for the first request.
    #[cfg(feature = "tls")]
    pub(super) async fn serve_tls(
        self,
        stream: tokio::net::TcpStream,
        acceptor: tokio_rustls::TlsAcceptor,
        place: Place,
    ) {
        match tokio::time::timeout(self.settings.header_read_timeout, acceptor.accept(stream)).await {
            Ok(Ok(tls_stream)) => self.serve(tls_stream, place).await,
            Ok(Err(error)) => tracing::debug!(peer = %self.peer, %error, "TLS handshake failed"),
            Err(_) => tracing::debug!(peer = %self.peer, "TLS handshake timed out"),
        }
    }

    /// Serves the connection; `_place` holds its place under the cap.
    pub(super) async fn serve<IO>(self, io: IO, _place: Place)
    where
        IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let Connection { shared, settings, peer, stopping, accepted } = self;
        let (max_header_bytes, max_requests) = (settings.max_header_bytes, settings.max_requests_per_connection);
        let watcher = tokio::spawn(watch_connection(Arc::clone(&shared), settings, peer, stopping, accepted));
        let service = {
            let shared = Arc::clone(&shared);
            service_fn(move |request: Request<Incoming>| {
                let shared = Arc::clone(&shared);
                async move {
                    let Shared { routes, activity } = &*shared;
                    let (number, _busy) = activity.begin();
                    let mut response = match refuse_ambiguous_framing(&request) {
                        Some(refusal) => refusal,
                        None => {
                            // Runs the request until it finishes or the
                            // watcher finds it past the request timeout.
                            let mut handling = pin!(routes.dispatch_from(request, PeerAddr(peer)));
                            let mut overdue = pin!(activity.overdue.raised(number));
                            poll_fn(|cx| match handling.as_mut().poll(cx) {
                                Poll::Ready(response) => Poll::Ready(response),
                                Poll::Pending => overdue.as_mut().poll(cx).map(|()| timed_out(peer)),
                            })
                            .await
                        }
                    };
                    // The last request a connection may carry, or one
                    // answered while it is closing, says so.
                    if number >= max_requests || activity.is_closing() {
                        response.headers_mut().insert(http::header::CONNECTION, HeaderValue::from_static("close"));
                    }
                    Ok::<_, Infallible>(response.map(Full::new))
                }
            })
        };
        let mut http = hyper::server::conn::http1::Builder::new();
        // The watcher enforces the header read timeout (see the module docs).
        // The read buffer never grows past what a whole head may take (hyper's
        // default lets it reach about 400 KiB), nor below hyper's minimum.
        http.header_read_timeout(None)
            .keep_alive(true)
            .max_header_size(max_header_bytes)
            .max_buf_size(max_header_bytes.max(8 * 1024));
        let mut connection = pin!(http.serve_connection(TokioIo::new(io), service));
        let close = &shared.activity.close;
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
                // Dropping the connection closes the socket.
                () = close.raised(CUT) => {
                    watcher.abort();
                    return;
                }
                () = close.raised(CLOSE), if !closing => {
                    connection.as_mut().graceful_shutdown();
                    closing = true;
                }
            }
        }
    }
}

/// The 400 for a request whose body framing two parsers could read
/// differently, or an HTTP/1.1 request without `Host` (RFC 9112, 3.2 and
/// 6.1): a proxy in front could take the next request from a different
/// byte than this server does. hyper serves both, so the runtime refuses
/// them, and the connection closes after the answer.
fn refuse_ambiguous_framing<B>(request: &Request<B>) -> Option<Response<Bytes>> {
    let headers = request.headers();
    let mut codings = headers.get_all(http::header::TRANSFER_ENCODING).iter();
    let single_chunked = match (codings.next(), codings.next()) {
        (None, _) => true,
        (Some(coding), None) => coding.as_bytes().eq_ignore_ascii_case(b"chunked"),
        (Some(_), Some(_)) => false,
    };
    let (error, message) = if !single_chunked {
        ("ambiguous_transfer_encoding", "Transfer-Encoding must be `chunked` alone, or absent")
    } else if request.version() == http::Version::HTTP_11 && !headers.contains_key(http::header::HOST) {
        ("missing_host", "an HTTP/1.1 request must carry a Host header")
    } else {
        return None;
    };
    tracing::warn!(error, "refused a request with ambiguous framing");
    let mut response = json_error(StatusCode::BAD_REQUEST, error, message);
    response.headers_mut().insert(http::header::CONNECTION, HeaderValue::from_static("close"));
    Some(response)
}

/// Keeps time for one connection: raises `overdue` for a request past the
/// request timeout, `close` with [`CUT`] for a connection that has had no
/// request in progress for the header read (or idle) timeout, and `close`
/// with [`CLOSE`] at shutdown or when the connection reaches its maximum
/// age, after which the timeouts still hold. It checks every quarter of the
/// shortest timeout (or age) and counts checks, so requests never read the
/// clock; every timeout fires at most one check late. The time before the first
/// check (a TLS handshake) counts against the first request's headers.
async fn watch_connection(
    shared: Arc<Shared>,
    settings: Arc<ServerSettings>,
    peer: SocketAddr,
    mut stopping: watch::Receiver<bool>,
    accepted: Instant,
) {
    let activity = &shared.activity;
    let waiting_timeout = settings.header_read_timeout.min(settings.keep_alive_timeout);
    let max_age = settings.max_connection_age;
    let tick = (waiting_timeout.min(settings.request_timeout).min(max_age) / 4).max(Duration::from_millis(5));
    let checks_for = |timeout: Duration| timeout.as_nanos().div_ceil(tick.as_nanos().max(1));
    let (request_checks, waiting_checks) = (checks_for(settings.request_timeout), checks_for(waiting_timeout));
    let mut checks = tokio::time::interval(tick);
    checks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut phases = PhaseClock::waited(accepted.elapsed().as_nanos() / tick.as_nanos().max(1));
    let mut closing = false;
    loop {
        tokio::select! {
            changed = stopping.changed(), if !closing => {
                if changed.is_err() || *stopping.borrow() {
                    activity.close.raise(CLOSE);
                    closing = true;
                }
            }
            _ = checks.tick() => {
                let (started, busy) = (activity.started.load(Ordering::Acquire), activity.busy.load(Ordering::Acquire));
                let checks_in_phase = phases.observe(started, busy);
                let waited = if busy { 0 } else { checks_in_phase };
                activity.waited.store(u64::try_from(waited).unwrap_or(u64::MAX), Ordering::Relaxed);
                if busy && checks_in_phase >= request_checks {
                    activity.overdue.raise(started);
                } else if !busy && checks_in_phase >= waiting_checks {
                    tracing::debug!(%peer, ?waiting_timeout, "no request within the header read or idle timeout");
                    activity.close.raise(CUT);
                    return;
                }
                if !closing && accepted.elapsed() >= max_age {
                    tracing::debug!(%peer, ?max_age, "connection reached its maximum age");
                    activity.close.raise(CLOSE);
                    closing = true;
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
    /// A clock for a connection that has waited `checks` check periods for
    /// its first request before the first check: that check counts them.
    fn waited(checks: u128) -> Self {
        match checks.checked_sub(1) {
            Some(before) => Self { phase: Some((0, false)), checks: before },
            None => Self::default(),
        }
    }

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
    json_error(
        StatusCode::REQUEST_TIMEOUT,
        "request_timeout",
        "the request took longer than the server's request timeout",
    )
}

/// An error answer of the runtime's own, in the pipeline's shape.
#[cold]
fn json_error(status: StatusCode, error: &str, message: &str) -> Response<Bytes> {
    let body = serde_json::json!({ "error": error, "message": message });
    let mut response = Response::new(Bytes::from(body.to_string()));
    *response.status_mut() = status;
    response.headers_mut().insert(http::header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// A mark one task raises and another awaits, without a lock.
#[derive(Debug, Default)]
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
#[derive(Debug, Default)]
struct Activity {
    /// How many requests have started; the latest one's number.
    started: AtomicU64,
    busy: AtomicBool,
    /// Written by the watcher: how many checks the connection has waited
    /// for its next request (0 while one is in progress).
    waited: AtomicU64,
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
    /// Whether the connection was told to close.
    fn is_closing(&self) -> bool {
        self.close.mark.load(Ordering::Acquire) != 0
    }

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
    fn time_spent_before_the_first_check_counts_against_the_first_wait() {
        let mut handshake_took_three = PhaseClock::waited(3);
        assert_eq!(handshake_took_three.observe(0, false), 3);
        assert_eq!(handshake_took_three.observe(0, false), 4);
        assert_eq!(handshake_took_three.observe(1, true), 0);
        assert_eq!(PhaseClock::waited(0).observe(0, false), 0);
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

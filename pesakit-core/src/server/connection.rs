//! One client connection: HTTP/1.1 through hyper, with the peer address,
//! the request timeout, the idle keep-alive timeout and graceful shutdown.
//!
//! A connection is two tasks. The connection task runs hyper; a watcher
//! task keeps time for it: it raises lock-free signals for the request and
//! idle timeouts and sets the clock of hyper's timer, so that serving a
//! request touches no timer wheel and takes no lock for its timeouts.

use std::convert::Infallible;
use std::future::{Future, poll_fn};
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::{Poll, Waker};
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
use super::timer::{self, CheckedTimer};
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
        let connection_task = poll_fn(|cx| Poll::Ready(cx.waker().clone())).await;
        let watcher =
            tokio::spawn(watch_connection(Arc::clone(&shared), connection_task, Arc::clone(&settings), peer, stopping));
        let service = {
            let shared = Arc::clone(&shared);
            service_fn(move |request: Request<Incoming>| {
                let shared = Arc::clone(&shared);
                async move {
                    let (routes, activity) = &*shared;
                    let (number, _busy) = activity.begin();
                    // Runs the request until it finishes or the watcher finds
                    // it past the request timeout.
                    let mut handling = pin!(routes.handle_from(request, Some(PeerAddr(peer))));
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
        http.timer(CheckedTimer).header_read_timeout(settings.header_read_timeout).keep_alive(true);
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
                () = close.raised(CLOSE), if !closing => {
                    connection.as_mut().graceful_shutdown();
                    closing = true;
                }
            }
        }
    }
}

/// Keeps time for one connection: raises `overdue` for a request past the
/// request timeout and `close` for shutdown or an idle keep-alive, and moves
/// the clock of hyper's timer, waking the connection task so that hyper
/// looks at its header read timeout. It checks every quarter of the
/// shortest timeout and counts checks, so requests never read the clock;
/// every timeout fires at most one check late.
async fn watch_connection(
    shared: Arc<(Routes, Activity)>,
    connection_task: Waker,
    settings: Arc<ServerSettings>,
    peer: SocketAddr,
    mut stopping: watch::Receiver<bool>,
) {
    let activity = &shared.1;
    let shortest = settings.header_read_timeout.min(settings.keep_alive_timeout).min(settings.request_timeout);
    let tick = (shortest / 4).max(Duration::from_millis(5));
    let checks_for = |timeout: Duration| timeout.as_nanos().div_ceil(tick.as_nanos().max(1));
    let (request_checks, idle_checks) = (checks_for(settings.request_timeout), checks_for(settings.keep_alive_timeout));
    let mut checks = tokio::time::interval(tick);
    checks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let (mut last_started, mut busy_for, mut idle_for) = (0, 0u128, 0u128);
    loop {
        tokio::select! {
            changed = stopping.changed() => {
                if changed.is_err() || *stopping.borrow() {
                    activity.close.raise(CLOSE);
                    return;
                }
            }
            _ = checks.tick() => {
                timer::check();
                connection_task.wake_by_ref();
                let started = activity.started.load(Ordering::Acquire);
                let busy = activity.busy.load(Ordering::Acquire);
                let same_request = started == last_started;
                last_started = started;
                (busy_for, idle_for) = match (busy, same_request) {
                    (true, true) => (busy_for + 1, 0),
                    (true, false) => (0, 0),
                    (false, true) => (0, idle_for + 1),
                    (false, false) => (0, 0),
                };
                if busy_for >= request_checks {
                    activity.overdue.raise(started);
                } else if idle_for >= idle_checks {
                    tracing::debug!(%peer, "closing an idle keep-alive connection");
                    activity.close.raise(CLOSE);
                    return;
                }
            }
        }
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

/// The mark of [`Activity::close`].
const CLOSE: u64 = 1;

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
    /// and close.
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
    use std::task::Context;

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

//! One client connection: HTTP/1.1 through hyper, with the peer address,
//! the request timeout, the idle keep-alive timeout and graceful shutdown.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{OwnedSemaphorePermit, watch};
use tokio::time::Instant;

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
        let Connection { routes, settings, peer, mut stopping } = self;
        let activity = Arc::new(Activity::new());
        let service = {
            let (settings, activity) = (Arc::clone(&settings), Arc::clone(&activity));
            service_fn(move |request: Request<Incoming>| {
                let (routes, settings, activity) = (routes.clone(), Arc::clone(&settings), Arc::clone(&activity));
                async move {
                    let _busy = activity.begin();
                    Ok::<_, Infallible>(respond(&routes, &settings, peer, request).await)
                }
            })
        };
        let mut http = hyper::server::conn::http1::Builder::new();
        http.timer(TokioTimer::new()).header_read_timeout(settings.header_read_timeout).keep_alive(true);
        let mut connection = pin!(http.serve_connection(TokioIo::new(io), service));
        let mut closing = false;
        loop {
            let idle_until = activity.idle_deadline(settings.keep_alive_timeout);
            tokio::select! {
                finished = connection.as_mut() => {
                    if let Err(error) = finished {
                        tracing::debug!(%peer, %error, "connection ended with an error");
                    }
                    return;
                }
                changed = stopping.changed(), if !closing => {
                    if changed.is_err() || *stopping.borrow() {
                        connection.as_mut().graceful_shutdown();
                        closing = true;
                    }
                }
                () = tokio::time::sleep_until(idle_until), if !closing => {
                    if activity.is_idle_since(settings.keep_alive_timeout) {
                        tracing::debug!(%peer, "closing an idle keep-alive connection");
                        connection.as_mut().graceful_shutdown();
                        closing = true;
                    }
                }
            }
        }
    }
}

/// Runs one request under the whole-request timeout.
async fn respond(
    routes: &Routes,
    settings: &ServerSettings,
    peer: SocketAddr,
    mut request: Request<Incoming>,
) -> Response<Full<Bytes>> {
    request.extensions_mut().insert(PeerAddr(peer));
    let path = request.uri().path().to_owned();
    match tokio::time::timeout(settings.request_timeout, routes.handle(request)).await {
        Ok(response) => response.map(Full::new),
        Err(_) => {
            tracing::warn!(%peer, path, timeout = ?settings.request_timeout, "request timed out");
            let body = serde_json::json!({
                "error": "request_timeout",
                "message": format!("the request took longer than {:?}", settings.request_timeout),
            });
            let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
            *response.status_mut() = StatusCode::REQUEST_TIMEOUT;
            response.headers_mut().insert(http::header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
            response
        }
    }
}

/// Requests in flight and when the last one finished, for the idle timeout.
struct Activity {
    in_flight: AtomicUsize,
    last_finished: Mutex<Instant>,
}

/// Marks a request finished when dropped, however it ends.
struct Busy<'a>(&'a Activity);

impl Activity {
    fn new() -> Self {
        Self { in_flight: AtomicUsize::new(0), last_finished: Mutex::new(Instant::now()) }
    }

    fn begin(&self) -> Busy<'_> {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        Busy(self)
    }

    fn last_finished(&self) -> Instant {
        *self.last_finished.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// When the connection would next count as idle: a busy connection is
    /// checked again a whole timeout from now.
    fn idle_deadline(&self, timeout: Duration) -> Instant {
        if self.in_flight.load(Ordering::SeqCst) > 0 {
            Instant::now() + timeout
        } else {
            self.last_finished() + timeout
        }
    }

    fn is_idle_since(&self, timeout: Duration) -> bool {
        self.in_flight.load(Ordering::SeqCst) == 0 && self.last_finished().elapsed() >= timeout
    }
}

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        *self.0.last_finished.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Instant::now();
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

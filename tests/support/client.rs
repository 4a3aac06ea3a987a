//! A small HTTP/1.1 client over loopback for the socket tests, built on
//! hyper's client connection (no pool: one connection per request).

#![allow(dead_code, unreachable_pub)]

use std::net::SocketAddr;

use bytes::Bytes;
use http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

/// What came back.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Reply {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|error| panic!("not JSON ({error}): {}", self.text()))
    }
}

/// Sends one request on a new connection.
pub async fn request(addr: SocketAddr, method: Method, path: &str, body: impl Into<Bytes>) -> Reply {
    let stream = TcpStream::connect(addr).await.unwrap_or_else(|error| panic!("connecting to {addr}: {error}"));
    request_on(stream, method, path, body).await
}

/// POSTs `body` on a new connection.
pub async fn post(addr: SocketAddr, path: &str, body: impl Into<Bytes>) -> Reply {
    request(addr, Method::POST, path, body).await
}

/// POSTs `body` on a new connection; `None` if the server went away before
/// it answered.
pub async fn try_post(addr: SocketAddr, path: &str, body: impl Into<Bytes>) -> Option<Reply> {
    let stream = TcpStream::connect(addr).await.ok()?;
    try_send_on(stream, Method::POST, path, None, body).await
}

/// POSTs `body` with one extra header on a new connection from the local
/// address `source` (any 127.x.y.z is loopback on Linux); `None` if the
/// server closed the connection unanswered.
pub async fn post_from(
    source: std::net::IpAddr,
    addr: SocketAddr,
    path: &str,
    header: (&str, &str),
    body: impl Into<Bytes>,
) -> Option<Reply> {
    let socket = tokio::net::TcpSocket::new_v4().expect("a socket");
    socket.bind(SocketAddr::new(source, 0)).unwrap_or_else(|error| panic!("binding {source}: {error}"));
    let stream = socket.connect(addr).await.unwrap_or_else(|error| panic!("connecting to {addr}: {error}"));
    try_send_on(stream, Method::POST, path, Some(header), body).await
}

/// POSTs `body` on a new connection with one extra header.
pub async fn post_with_header(addr: SocketAddr, path: &str, header: (&str, &str), body: impl Into<Bytes>) -> Reply {
    let stream = TcpStream::connect(addr).await.unwrap_or_else(|error| panic!("connecting to {addr}: {error}"));
    send_on(stream, Method::POST, path, Some(header), body).await
}

/// Sends one request over an established stream (plain or TLS).
pub async fn request_on<IO>(io: IO, method: Method, path: &str, body: impl Into<Bytes>) -> Reply
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    send_on(io, method, path, None, body).await
}

async fn send_on<IO>(io: IO, method: Method, path: &str, header: Option<(&str, &str)>, body: impl Into<Bytes>) -> Reply
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    try_send_on(io, method, path, header, body).await.expect("a whole response")
}

/// Sends one request; `None` if the connection failed or closed before a
/// whole response came back.
async fn try_send_on<IO>(
    io: IO,
    method: Method,
    path: &str,
    header: Option<(&str, &str)>,
    body: impl Into<Bytes>,
) -> Option<Reply>
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(io)).await.ok()?;
    tokio::spawn(connection);
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .header("host", "localhost")
        .header("content-type", "application/json");
    if let Some((name, value)) = header {
        request = request.header(name, value);
    }
    let request = request.body(Full::new(body.into())).expect("valid request");
    let response = sender.send_request(request).await.ok()?;
    let (parts, body) = response.into_parts();
    let body = body.collect().await.ok()?.to_bytes();
    Some(Reply { status: parts.status, headers: parts.headers, body })
}

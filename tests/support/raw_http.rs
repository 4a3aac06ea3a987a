//! Raw HTTP/1.1 over loopback sockets, for tests that need to send what a
//! well-behaved client would not: partial headers, pipelined requests,
//! connections from chosen local addresses.

#![allow(dead_code, unreachable_pub)]

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::net::TcpStream;

/// Longest any test waits for something that should happen.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// Connects to `addr` from the local address `source` (any 127.x.y.z is
/// loopback on Linux).
pub async fn connect_from(source: IpAddr, addr: SocketAddr) -> TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().expect("a socket");
    socket.bind(SocketAddr::new(source, 0)).unwrap_or_else(|error| panic!("binding {source}: {error}"));
    socket.connect(addr).await.unwrap_or_else(|error| panic!("connecting to {addr}: {error}"))
}

/// Reads until the peer closes or `PATIENCE` passes; returns what arrived
/// and whether the connection closed.
pub async fn read_until_closed(stream: &mut (impl AsyncRead + Unpin)) -> (String, bool) {
    let mut received = Vec::new();
    let closed = tokio::time::timeout(PATIENCE, async {
        let mut buffer = [0u8; 4096];
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(read) => received.extend_from_slice(&buffer[..read]),
            }
        }
    })
    .await
    .is_ok();
    (String::from_utf8_lossy(&received).into_owned(), closed)
}

/// Reads until the first response line arrived or the peer closed.
pub async fn read_until_closed_or_answered(stream: &mut TcpStream) -> (String, bool) {
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    let closed = tokio::time::timeout(PATIENCE, async {
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => return true,
                Ok(read) => received.extend_from_slice(&buffer[..read]),
            }
            if received.windows(2).any(|pair| pair == b"\r\n") {
                return false;
            }
        }
    })
    .await
    .expect("an answer in time");
    (String::from_utf8_lossy(&received).into_owned(), closed)
}

/// Reads until `responses` complete HTTP responses (by `Content-Length`) arrived.
pub async fn read_responses(stream: &mut TcpStream, responses: usize) -> Vec<String> {
    split_responses(&read_until_responses(stream, responses).await)
}

/// Reads one whole response, head and body, as text.
pub async fn read_raw_response(stream: &mut TcpStream) -> String {
    read_until_responses(stream, 1).await
}

/// Reads until `responses` complete responses arrived; returns the text.
async fn read_until_responses(stream: &mut TcpStream, responses: usize) -> String {
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    tokio::time::timeout(PATIENCE, async {
        loop {
            let text = String::from_utf8_lossy(&received).into_owned();
            if split_responses(&text).len() >= responses {
                return text;
            }
            let read = stream.read(&mut buffer).await.expect("reading responses");
            assert!(read > 0, "connection closed after {text:?}");
            received.extend_from_slice(&buffer[..read]);
        }
    })
    .await
    .expect("responses in time")
}

/// The bodies of the complete responses in `text`.
pub fn split_responses(mut text: &str) -> Vec<String> {
    let mut bodies = Vec::new();
    while let Some(head_end) = text.find("\r\n\r\n") {
        let head = &text[..head_end];
        let length = head
            .lines()
            .find_map(|line| line.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_owned()))
            .and_then(|value| value.parse::<usize>().ok())
            .unwrap_or(0);
        let body_start = head_end + 4;
        if text.len() < body_start + length {
            break;
        }
        bodies.push(format!("{} {}", &head[..12], &text[body_start..body_start + length]));
        text = &text[body_start + length..];
    }
    bodies
}

pub fn post_bytes(path: &str, body: &str) -> String {
    format!(
        "POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

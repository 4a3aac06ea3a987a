//! The bundled runtime's own promises, over real sockets: limits,
//! timeouts, keep-alive, pipelining, the connection cap, graceful shutdown
//! and TLS. Waits are bounded; no test asserts how long anything took.

#[path = "support/client.rs"]
mod client;
#[path = "support/raw_http.rs"]
mod raw_http;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http::{Method, StatusCode};
use pesakit::guard::{GuardRequest, GuardVerdict};
use pesakit::{Server, State, StkCallback, daraja};
use raw_http::{PATIENCE, post_bytes, read_responses, read_until_closed, read_until_closed_or_answered};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

const CANCELLED: &str = r#"{"Body":{"stkCallback":{"MerchantRequestID":"1","CheckoutRequestID":"ws_CO_1","ResultCode":1032,"ResultDesc":"Request cancelled by user"}}}"#;

#[daraja::stk_callback("/stk")]
fn stk(_callback: StkCallback) {}

#[daraja::b2c_result("/b2c")]
fn b2c(_result: pesakit::DarajaResult<pesakit::B2cParams>) {}

/// Signals `started`, then waits for `release`.
#[derive(Clone, Default)]
struct Gate {
    started: Arc<Notify>,
    release: Arc<Notify>,
}

#[daraja::stk_callback("/slow")]
async fn slow(_callback: StkCallback, State(gate): State<Gate>) {
    gate.started.notify_one();
    gate.release.notified().await;
}

struct Running {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Running {
    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            stop.send(()).ok();
        }
        tokio::time::timeout(PATIENCE, self.task).await.expect("stopped in time").expect("task").expect("clean stop");
    }
}

async fn start(configure: impl FnOnce(Server) -> Server, gate: Gate) -> Running {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
    let addr = listener.local_addr().expect("bound");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = configure(Server::from_listener(listener)).with_graceful_shutdown(async move {
        stopped.await.ok();
    });
    let task = tokio::spawn(server.serve(pesakit::routes![stk, b2c, slow].with_state(gate)));
    Running { addr, stop: Some(stop), task }
}

#[tokio::test]
async fn an_oversized_body_is_refused_before_it_is_sent() {
    let server = start(|server| server, Gate::default()).await;
    let mut stream = TcpStream::connect(server.addr).await.expect("connect");
    stream
        .write_all(b"POST /stk HTTP/1.1\r\nHost: localhost\r\nContent-Length: 10000000\r\n\r\n{\"Body\":")
        .await
        .expect("headers");
    let replies = read_responses(&mut stream, 1).await;
    assert!(replies[0].starts_with("HTTP/1.1 413"), "{replies:?}");

    // Without a declared length, reading stops at the limit.
    let mut stream = TcpStream::connect(server.addr).await.expect("connect");
    stream
        .write_all(b"POST /stk HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n")
        .await
        .expect("headers");
    let chunk = format!("{:x}\r\n{}\r\n", 16 * 1024, " ".repeat(16 * 1024));
    for _ in 0..5 {
        if stream.write_all(chunk.as_bytes()).await.is_err() {
            break;
        }
    }
    let replies = read_responses(&mut stream, 1).await;
    assert!(replies[0].starts_with("HTTP/1.1 413"), "{replies:?}");
    server.stop().await;
}

#[tokio::test]
async fn a_guard_refuses_a_request_whose_body_is_held_back_at_once() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
    let addr = listener.local_addr().expect("bound");
    let routes = pesakit::routes![stk].guard(|request: &GuardRequest<'_>| {
        if request.peer().is_some_and(|peer| peer.0.ip().is_loopback()) {
            GuardVerdict::Forbid("a test that refuses loopback peers".into())
        } else {
            GuardVerdict::Allow
        }
    });
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = Server::from_listener(listener).with_graceful_shutdown(async move {
        stopped.await.ok();
    });
    let task = tokio::spawn(server.serve(routes));

    // The headers promise a body that never comes; the answer cannot wait
    // for it (the request timeout, 30 s, is past what `read_responses` waits).
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream
        .write_all(
            b"POST /stk HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n",
        )
        .await
        .expect("headers");
    let replies = read_responses(&mut stream, 1).await;
    assert!(replies[0].starts_with("HTTP/1.1 403"), "{replies:?}");

    Running { addr, stop: Some(stop), task }.stop().await;
}

#[tokio::test]
async fn a_zero_or_absurd_timeout_is_refused_when_serving_starts() {
    for configure in [
        (|server: Server| server.header_read_timeout(Duration::ZERO)) as fn(Server) -> Server,
        |server: Server| server.request_timeout(Duration::from_secs(2 * 60 * 60)),
        |server: Server| server.keep_alive_timeout(Duration::ZERO),
    ] {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
        let served = configure(Server::from_listener(listener)).serve(pesakit::routes![stk]).await;
        let error = served.expect_err("refused");
        assert_eq!(error.kind(), std::io::ErrorKind::InvalidInput);
        assert!(error.to_string().contains("at most an hour"), "{error}");
    }
}

#[tokio::test]
async fn headers_past_the_limit_are_answered_431() {
    let server = start(|server| server, Gate::default()).await;
    for (header_bytes, expected) in [(10 * 1024, "HTTP/1.1 200"), (20 * 1024, "HTTP/1.1 431")] {
        let mut stream = TcpStream::connect(server.addr).await.expect("connect");
        let request = format!(
            "POST /stk HTTP/1.1\r\nHost: localhost\r\nX-Padding: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{CANCELLED}",
            "a".repeat(header_bytes),
            CANCELLED.len()
        );
        // A refused client may see its write cut short: the answer is what counts.
        stream.write_all(request.as_bytes()).await.ok();
        let (received, _) = read_until_closed_or_answered(&mut stream).await;
        assert!(received.starts_with(expected), "{header_bytes} bytes of headers: {received:?}");
    }
    server.stop().await;
}

#[tokio::test]
async fn a_client_sending_headers_slowly_is_cut_off() {
    let server = start(|server| server.header_read_timeout(Duration::from_millis(200)), Gate::default()).await;
    let mut stream = TcpStream::connect(server.addr).await.expect("connect");
    stream.write_all(b"POST /stk HTTP/1.1\r\nHo").await.expect("partial headers");
    let (received, closed) = read_until_closed(&mut stream).await;
    assert!(closed, "the connection stayed open");
    assert!(received.is_empty() || received.starts_with("HTTP/1.1 408"), "{received:?}");
    server.stop().await;
}

#[tokio::test]
async fn a_client_trickling_header_bytes_is_cut_off_all_the_same() {
    let server = start(|server| server.header_read_timeout(Duration::from_millis(200)), Gate::default()).await;
    let (mut reader, mut writer) = TcpStream::connect(server.addr).await.expect("connect").into_split();
    // A header line that never ends, one byte every 20 ms: each byte is
    // progress, but the headers never arrive.
    let trickle = tokio::spawn(async move {
        writer.write_all(b"POST /stk HTTP/1.1\r\nX-Slow: ").await.expect("request line");
        while writer.write_all(b"a").await.is_ok() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
    let (received, closed) = read_until_closed(&mut reader).await;
    trickle.abort();
    assert!(closed, "the trickling connection stayed open");
    assert!(received.is_empty(), "{received:?}");
    server.stop().await;
}

#[tokio::test]
async fn shutdown_does_not_wait_for_a_client_still_sending_headers() {
    let server = start(
        |server| server.header_read_timeout(Duration::from_millis(200)).shutdown_deadline(PATIENCE * 6),
        Gate::default(),
    )
    .await;
    let mut sending_headers = TcpStream::connect(server.addr).await.expect("connect");
    sending_headers.write_all(b"POST /stk HTTP/1.1\r\nHo").await.expect("partial headers");
    // A whole request on a second connection: the server accepts in order,
    // so by its answer it is serving the first one, whose request it has
    // begun to read; hyper's graceful shutdown waits for such a request.
    let reply = client::post(server.addr, "/stk", CANCELLED).await;
    assert_eq!(reply.status, StatusCode::OK);
    // Stops within PATIENCE, far inside the shutdown deadline: the header
    // read timeout still holds while the server drains.
    server.stop().await;
    assert!(read_until_closed(&mut sending_headers).await.1, "the connection stayed open");
}

/// Serves one request on a fresh connection, then waits for the server to
/// close it; says whether it did within [`PATIENCE`].
async fn closed_after_one_request(configure: impl FnOnce(Server) -> Server) -> bool {
    let server = start(configure, Gate::default()).await;
    let mut stream = TcpStream::connect(server.addr).await.expect("connect");
    stream.write_all(post_bytes("/stk", CANCELLED).as_bytes()).await.expect("request");
    let replies = read_responses(&mut stream, 1).await;
    assert!(replies[0].starts_with("HTTP/1.1 200"), "{replies:?}");
    let (_, closed) = read_until_closed(&mut stream).await;
    server.stop().await;
    closed
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed() {
    let closed = closed_after_one_request(|server| server.keep_alive_timeout(Duration::from_millis(200))).await;
    assert!(closed, "the idle connection stayed open");
}

#[tokio::test]
async fn waiting_for_the_next_request_counts_against_the_header_read_timeout() {
    let closed = closed_after_one_request(|server| {
        server.header_read_timeout(Duration::from_millis(200)).keep_alive_timeout(Duration::from_secs(60))
    })
    .await;
    assert!(closed, "the connection outlived the header read timeout while idle");
}

#[tokio::test]
async fn keep_alive_and_pipelined_requests_are_answered_in_order() {
    let server = start(|server| server, Gate::default()).await;
    let result = r#"{"Result":{"ResultCode":1,"ResultDesc":"x","OriginatorConversationID":"o","ConversationID":"c"}}"#;
    let mut stream = TcpStream::connect(server.addr).await.expect("connect");
    let pipelined = [post_bytes("/stk", CANCELLED), post_bytes("/b2c", result), post_bytes("/stk", "{")].concat();
    stream.write_all(pipelined.as_bytes()).await.expect("three requests in one write");
    let replies = read_responses(&mut stream, 3).await;
    assert_eq!(
        replies,
        [
            r#"HTTP/1.1 200 {"ResultCode":0,"ResultDesc":"Success"}"#.to_owned(),
            r#"HTTP/1.1 200 {"ResultCode":0,"ResultDesc":"Accepted"}"#.to_owned(),
            replies[2].clone(),
        ]
    );
    assert!(replies[2].starts_with("HTTP/1.1 400"), "{replies:?}");
    // The same connection keeps serving.
    stream.write_all(post_bytes("/stk", CANCELLED).as_bytes()).await.expect("fourth request");
    assert!(read_responses(&mut stream, 1).await[0].starts_with("HTTP/1.1 200"));
    server.stop().await;
}

#[tokio::test]
async fn ambiguous_framing_and_a_missing_host_are_answered_400_and_the_connection_closed() {
    let server = start(|server| server, Gate::default()).await;
    let chunked = "5\r\nhello\r\n0\r\n\r\n";
    for (request, error) in [
        (
            format!("POST /stk HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n{chunked}"),
            "ambiguous_transfer_encoding",
        ),
        (
            format!("POST /stk HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n{chunked}"),
            "ambiguous_transfer_encoding",
        ),
        (format!("POST /stk HTTP/1.1\r\nContent-Length: {}\r\n\r\n{CANCELLED}", CANCELLED.len()), "missing_host"),
    ] {
        let mut stream = TcpStream::connect(server.addr).await.expect("connect");
        stream.write_all(request.as_bytes()).await.expect("request");
        let (received, closed) = read_until_closed(&mut stream).await;
        assert!(received.starts_with("HTTP/1.1 400"), "{request:?}: {received}");
        assert!(received.contains(error), "{request:?}: {received}");
        assert!(closed, "{request:?}: the connection stayed open");
    }
    // HTTP/1.0 has no Host requirement, and one plain chunked coding is fine.
    let mut stream = TcpStream::connect(server.addr).await.expect("connect");
    let request = format!("POST /stk HTTP/1.0\r\nContent-Length: {}\r\n\r\n{CANCELLED}", CANCELLED.len());
    stream.write_all(request.as_bytes()).await.expect("request");
    assert!(read_until_closed(&mut stream).await.0.starts_with("HTTP/1.0 200"));
    let mut stream = TcpStream::connect(server.addr).await.expect("connect");
    let body = format!("{:x}\r\n{CANCELLED}\r\n0\r\n\r\n", CANCELLED.len());
    let request = format!("POST /stk HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n{body}");
    stream.write_all(request.as_bytes()).await.expect("request");
    assert!(read_responses(&mut stream, 1).await[0].starts_with("HTTP/1.1 200"));
    server.stop().await;
}

#[tokio::test]
async fn graceful_shutdown_lets_an_in_flight_request_finish() {
    let gate = Gate::default();
    let server = start(|server| server.shutdown_deadline(PATIENCE), gate.clone()).await;
    let addr = server.addr;
    let in_flight = tokio::spawn(async move { client::post(addr, "/slow", CANCELLED).await });
    tokio::time::timeout(PATIENCE, gate.started.notified()).await.expect("the handler started");

    let Running { stop, task, .. } = server;
    stop.expect("running").send(()).expect("server listening for shutdown");
    tokio::task::yield_now().await;
    assert!(!task.is_finished(), "the server stopped before its in-flight request finished");

    gate.release.notify_one();
    let reply = tokio::time::timeout(PATIENCE, in_flight).await.expect("answered").expect("client task");
    assert_eq!((reply.status, reply.text()), (StatusCode::OK, r#"{"ResultCode":0,"ResultDesc":"Success"}"#.to_owned()));
    tokio::time::timeout(PATIENCE, task).await.expect("stopped").expect("task").expect("clean stop");
    assert!(TcpStream::connect(addr).await.is_err(), "the listener is closed after shutdown");
}

/// A server certificate for `localhost` and a connector that trusts it.
fn tls_pair() -> (pesakit::TlsConfig, tokio_rustls::TlsConnector) {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).expect("certificate");
    let certificate_pem = certified.cert.pem();
    let key_pem = certified.signing_key.serialize_pem();
    let tls = pesakit::TlsConfig::from_pem(certificate_pem.as_bytes(), key_pem.as_bytes()).expect("valid pair");
    let mut roots = rustls::RootCertStore::empty();
    roots.add(certified.cert.der().clone()).expect("trusted root");
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    (tls, tokio_rustls::TlsConnector::from(Arc::new(config)))
}

async fn tls_connect(
    connector: &tokio_rustls::TlsConnector,
    stream: TcpStream,
) -> tokio_rustls::client::TlsStream<TcpStream> {
    let name = rustls_pki_types::ServerName::try_from("localhost").expect("name");
    connector.connect(name, stream).await.expect("TLS handshake")
}

#[tokio::test]
async fn tls_handshake_and_request_with_a_generated_certificate() {
    let (tls, connector) = tls_pair();
    let server = start(|server| server.tls(tls), Gate::default()).await;
    let tls_stream = tls_connect(&connector, TcpStream::connect(server.addr).await.expect("connect")).await;
    let reply = client::request_on(tls_stream, Method::POST, "/stk", CANCELLED).await;
    assert_eq!((reply.status, reply.text()), (StatusCode::OK, r#"{"ResultCode":0,"ResultDesc":"Success"}"#.to_owned()));

    // Plain HTTP on the TLS port is not served.
    let mut plain = TcpStream::connect(server.addr).await.expect("connect");
    plain.write_all(post_bytes("/stk", CANCELLED).as_bytes()).await.expect("request");
    let (received, _) = read_until_closed(&mut plain).await;
    assert!(!received.contains("200"), "{received:?}");
    server.stop().await;
}

#[tokio::test]
async fn the_tls_handshake_counts_against_the_header_read_timeout() {
    let (tls, connector) = tls_pair();
    let server = start(|server| server.tls(tls).header_read_timeout(Duration::from_secs(1)), Gate::default()).await;
    // 0.8 s before the handshake and 0.8 s inside the headers: each within
    // the timeout, together past it (and past the watcher's quarter-period
    // slack), so the connection is cut before the request is whole.
    let stream = TcpStream::connect(server.addr).await.expect("connect");
    tokio::time::sleep(Duration::from_millis(800)).await;
    let mut tls_stream = tls_connect(&connector, stream).await;
    let request = post_bytes("/stk", CANCELLED);
    let (head, rest) = request.split_at(20);
    tls_stream.write_all(head.as_bytes()).await.expect("the first bytes");
    tokio::time::sleep(Duration::from_millis(800)).await;
    tls_stream.write_all(rest.as_bytes()).await.ok();
    let (received, closed) = read_until_closed(&mut tls_stream).await;
    assert!(closed && !received.contains("200"), "served after 1.6 s of a 1 s budget: {received:?}");
    server.stop().await;
}

#[test]
fn tls_configuration_errors_say_what_is_wrong() {
    let error = pesakit::TlsConfig::from_pem(b"", b"").expect_err("no certificate");
    assert!(error.to_string().contains("BEGIN CERTIFICATE"), "{error}");
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).expect("certificate");
    let error = pesakit::TlsConfig::from_pem(certified.cert.pem().as_bytes(), b"not a key").expect_err("no key");
    assert!(error.to_string().contains("private key"), "{error}");
    let error =
        pesakit::TlsConfig::from_pem_files("/nonexistent/cert.pem", "/nonexistent/key.pem").expect_err("no file");
    assert!(error.to_string().contains("/nonexistent/cert.pem"), "{error}");
}

#[tokio::test]
async fn a_request_past_the_request_timeout_is_answered_408_and_the_connection_keeps_serving() {
    let gate = Gate::default();
    let server = start(|server| server.request_timeout(Duration::from_millis(200)), gate.clone()).await;
    let mut stream = TcpStream::connect(server.addr).await.expect("connect");
    stream.write_all(post_bytes("/slow", CANCELLED).as_bytes()).await.expect("request");
    let replies = read_responses(&mut stream, 1).await;
    assert!(replies[0].starts_with("HTTP/1.1 408"), "{replies:?}");
    assert!(replies[0].contains("request_timeout"), "{replies:?}");
    stream.write_all(post_bytes("/stk", CANCELLED).as_bytes()).await.expect("next request");
    assert!(read_responses(&mut stream, 1).await[0].starts_with("HTTP/1.1 200"));
    server.stop().await;
}

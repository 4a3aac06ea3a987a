//! No client can take the places others need: at the connection cap, a
//! connection waiting for a request makes room for a new client; one
//! address cannot hold more than its share; no connection lives forever.
//! Over real sockets, with a small cap standing in for the default 1,024.
//! Connections come from chosen 127.x.y.z addresses, all loopback.

#[path = "support/raw_http.rs"]
mod raw_http;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use pesakit::{Server, State, StkCallback, daraja};
use raw_http::{connect_from, post_bytes, read_raw_response, read_until_closed};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

const CANCELLED: &str = r#"{"Body":{"stkCallback":{"MerchantRequestID":"1","CheckoutRequestID":"ws_CO_1","ResultCode":1032,"ResultDesc":"Request cancelled by user"}}}"#;

/// What the issue asks of a new client at the cap.
const ANSWERED_WITHIN: Duration = Duration::from_secs(1);

#[daraja::stk_callback("/stk")]
fn stk(_callback: StkCallback) {}

/// Holds its request until the test ends.
#[daraja::stk_callback("/held")]
async fn held(_callback: StkCallback, State(release): State<Arc<Notify>>) {
    release.notified().await;
}

struct Running {
    addr: SocketAddr,
    stop: tokio::sync::oneshot::Sender<()>,
    /// Lets one held request finish.
    release: Arc<Notify>,
}

async fn start(configure: impl FnOnce(Server) -> Server) -> Running {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
    let addr = listener.local_addr().expect("bound");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = configure(Server::from_listener(listener))
        .shutdown_deadline(Duration::from_millis(100))
        .with_graceful_shutdown(async move {
            stopped.await.ok();
        });
    let release = Arc::new(Notify::new());
    tokio::spawn(server.serve(pesakit::routes![stk, held].with_state(Arc::clone(&release))));
    Running { addr, stop, release }
}

fn loopback(last: u8) -> IpAddr {
    IpAddr::from([127, 0, 0, last])
}

/// A new client's request, answered within [`ANSWERED_WITHIN`] of
/// connecting, or a failure naming what happened.
async fn answered_promptly(source: IpAddr, addr: SocketAddr) -> String {
    let exchange = async {
        let mut stream = connect_from(source, addr).await;
        stream.write_all(post_bytes("/stk", CANCELLED).as_bytes()).await.expect("request");
        read_raw_response(&mut stream).await
    };
    tokio::time::timeout(ANSWERED_WITHIN, exchange).await.expect("the new client was answered within a second")
}

/// A keep-alive connection that has had one request answered and sits idle.
async fn idle_connection(source: IpAddr, addr: SocketAddr) -> TcpStream {
    let mut stream = connect_from(source, addr).await;
    stream.write_all(post_bytes("/stk", CANCELLED).as_bytes()).await.expect("request");
    assert!(read_raw_response(&mut stream).await.starts_with("HTTP/1.1 200"));
    stream
}

/// Whether the server closed `stream` (at once, or already).
async fn closed_by_server(stream: &mut TcpStream) -> bool {
    let mut buffer = [0u8; 256];
    matches!(tokio::time::timeout(Duration::from_millis(200), stream.read(&mut buffer)).await, Ok(Ok(0) | Err(_)))
}

#[tokio::test]
async fn at_the_cap_an_idle_keep_alive_connection_makes_room_for_a_new_client() {
    let server = start(|server| server.max_connections(8).max_connections_per_address(8)).await;
    let mut idle = Vec::new();
    for _ in 0..8 {
        idle.push(idle_connection(loopback(2), server.addr).await);
    }
    let reply = answered_promptly(loopback(3), server.addr).await;
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    // The oldest idle connection gave way.
    assert!(closed_by_server(&mut idle[0]).await, "the longest-waiting connection is still open");
    server.stop.send(()).ok();
}

#[tokio::test]
async fn at_the_cap_slow_senders_make_room_for_a_new_client() {
    let server = start(|server| server.max_connections(8).max_connections_per_address(8)).await;
    let addr = server.addr;
    // Four send a header line now and then and never finish; four send a
    // small request now and then on one keep-alive connection, so neither
    // kind is ever idle for the header read timeout (10 s).
    let mut attackers = Vec::new();
    for index in 0..8 {
        attackers.push(tokio::spawn(async move {
            let mut stream = connect_from(loopback(2), addr).await;
            for round in 0.. {
                let sent = if index % 2 == 0 {
                    let line =
                        if round == 0 { "POST /stk HTTP/1.1\r\n".to_owned() } else { format!("X-{round}: a\r\n") };
                    stream.write_all(line.as_bytes()).await
                } else {
                    let sent = stream.write_all(post_bytes("/stk", CANCELLED).as_bytes()).await;
                    let mut buffer = [0u8; 1024];
                    sent.and(stream.read(&mut buffer).await.map(drop))
                };
                if sent.is_err() {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    for _ in 0..3 {
        let reply = answered_promptly(loopback(3), addr).await;
        assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    }
    attackers.iter().for_each(tokio::task::JoinHandle::abort);
    server.stop.send(()).ok();
}

#[tokio::test]
async fn with_every_connection_busy_a_new_client_waits_for_a_request_to_finish() {
    let Running { addr, release, stop: _running } = start(|server| server.max_connections(1)).await;

    let mut busy = connect_from(loopback(2), addr).await;
    busy.write_all(post_bytes("/held", CANCELLED).as_bytes()).await.expect("request");
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut waiting = connect_from(loopback(3), addr).await;
    waiting.write_all(post_bytes("/stk", CANCELLED).as_bytes()).await.expect("request");
    let mut buffer = [0u8; 64];
    let early = tokio::time::timeout(Duration::from_millis(300), waiting.read(&mut buffer)).await;
    assert!(early.is_err(), "a request in progress was cut to make room");

    release.notify_one();
    assert!(read_raw_response(&mut busy).await.starts_with("HTTP/1.1 200"));
    drop(busy);
    assert!(read_raw_response(&mut waiting).await.starts_with("HTTP/1.1 200"));
}

#[tokio::test]
async fn one_address_over_its_limit_cannot_starve_another() {
    let server = start(|server| server.max_connections(8).max_connections_per_address(3)).await;
    // Twenty connections from one address, each holding a request forever:
    // without the per-address limit they would take every place.
    let mut held = Vec::new();
    for _ in 0..20 {
        let mut stream = connect_from(loopback(2), server.addr).await;
        stream.write_all(post_bytes("/held", CANCELLED).as_bytes()).await.ok();
        held.push(stream);
    }
    let mut refused = 0;
    for stream in &mut held {
        if closed_by_server(stream).await {
            refused += 1;
        }
    }
    assert_eq!(refused, 17, "all but the address's three connections were closed");
    for last in [3, 4, 5] {
        let reply = answered_promptly(loopback(last), server.addr).await;
        assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    }
    server.stop.send(()).ok();
}

#[tokio::test]
async fn past_its_limit_an_address_gives_up_its_own_waiting_connection() {
    let server = start(|server| server.max_connections_per_address(2)).await;
    let mut first = idle_connection(loopback(2), server.addr).await;
    let _second = idle_connection(loopback(2), server.addr).await;
    let reply = answered_promptly(loopback(2), server.addr).await;
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    assert!(closed_by_server(&mut first).await, "the address's oldest waiting connection is still open");
    server.stop.send(()).ok();
}

#[tokio::test]
async fn a_connection_closes_after_its_last_allowed_request() {
    let server = start(|server| server.max_requests_per_connection(3)).await;
    let mut stream = connect_from(loopback(1), server.addr).await;
    for request in 1..=3 {
        stream.write_all(post_bytes("/stk", CANCELLED).as_bytes()).await.expect("request");
        let reply = read_raw_response(&mut stream).await;
        assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
        let says_close = reply.to_ascii_lowercase().contains("\r\nconnection: close\r\n");
        assert_eq!(says_close, request == 3, "request {request}: {reply}");
    }
    assert!(read_until_closed(&mut stream).await.1, "the connection stayed open after its last request");
    server.stop.send(()).ok();
}

#[tokio::test]
async fn a_connection_closes_at_its_maximum_age_after_finishing_its_request() {
    let Running { addr, release, stop: _running } =
        start(|server| server.max_connection_age(Duration::from_millis(600))).await;

    // Young, it serves as usual; idle at its age, it is closed.
    let mut idle = connect_from(loopback(1), addr).await;
    idle.write_all(post_bytes("/stk", CANCELLED).as_bytes()).await.expect("request");
    let reply = read_raw_response(&mut idle).await;
    assert!(!reply.to_ascii_lowercase().contains("connection: close"), "closed while young: {reply}");
    assert!(read_until_closed(&mut idle).await.1, "an idle connection outlived its maximum age");

    // Busy at its age: the request finishes, says so, then the connection closes.
    let mut busy = connect_from(loopback(1), addr).await;
    busy.write_all(post_bytes("/held", CANCELLED).as_bytes()).await.expect("request");
    tokio::time::sleep(Duration::from_millis(900)).await;
    release.notify_one();
    let reply = read_raw_response(&mut busy).await;
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    assert!(reply.to_ascii_lowercase().contains("\r\nconnection: close\r\n"), "{reply}");
    assert!(read_until_closed(&mut busy).await.1, "the connection stayed open past its age");
}

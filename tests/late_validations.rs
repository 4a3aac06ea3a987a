//! Validation handlers that never return cannot pile up: each is answered
//! with the fallback at its deadline, runs on for the grace period at most,
//! and no more than the bound run late at once. Over real sockets.

#[path = "support/raw_http.rs"]
mod raw_http;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use pesakit::testing::C2bPaymentBuilder;
use pesakit::{C2bPayment, Routes, Server, State, Validation, daraja};
use raw_http::{PATIENCE, post_bytes, read_raw_response};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};

/// How many validation handlers are alive: each holds one count while its
/// future exists.
#[derive(Clone, Default)]
struct Alive(Arc<AtomicUsize>);

struct Counted(Arc<AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Alive {
    fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

#[daraja::c2b_validation("/validate")]
async fn hangs(_payment: C2bPayment, State(alive): State<Alive>) -> Validation {
    alive.0.fetch_add(1, Ordering::SeqCst);
    let _counted = Counted(Arc::clone(&alive.0));
    std::future::pending::<Validation>().await
}

const DEADLINE: Duration = Duration::from_millis(100);

async fn start(routes: Routes) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
    let addr = listener.local_addr().expect("bound");
    tokio::spawn(Server::from_listener(listener).max_connections_per_address(1024).serve(routes));
    addr
}

/// Sends `requests` validations on each of `connections` keep-alive
/// connections; every answer must be the fallback, a reject.
async fn validations(addr: SocketAddr, connections: usize, requests: usize) {
    let body = C2bPaymentBuilder::pay_bill().build();
    let clients: Vec<_> = (0..connections)
        .map(|_| {
            let request = post_bytes("/validate", &body);
            tokio::spawn(async move {
                let mut stream = TcpStream::connect(addr).await.expect("connect");
                for _ in 0..requests {
                    stream.write_all(request.as_bytes()).await.expect("request");
                    let reply = read_raw_response(&mut stream).await;
                    assert!(reply.starts_with("HTTP/1.1 200") && reply.contains("C2B00016"), "{reply}");
                }
            })
        })
        .collect();
    for client in clients {
        client.await.expect("a client");
    }
}

/// Waits until `done` holds, for up to [`PATIENCE`].
async fn eventually(what: &str, done: impl Fn() -> bool) {
    tokio::time::timeout(PATIENCE, async {
        while !done() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("{what}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_hung_validation_handlers_leave_nothing_behind_after_the_grace_period() {
    let alive = Alive::default();
    let routes = pesakit::routes![hangs]
        .with_state(alive.clone())
        .validation_deadline(DEADLINE)
        .late_validation_grace(Duration::from_secs(2));
    let addr = start(routes.clone()).await;
    validations(addr, 50, 20).await;
    // The last ones are still within their grace (2 s, far longer than the
    // moment between the last answer and this check, even on a busy machine).
    assert!(routes.late_validations() > 0, "no handler ran on past its deadline");
    eventually("every late handler was cancelled after its grace", || {
        alive.count() == 0 && routes.late_validations() == 0
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_bound_a_late_handler_is_cancelled_at_once() {
    let alive = Alive::default();
    let routes = pesakit::routes![hangs]
        .with_state(alive.clone())
        .validation_deadline(DEADLINE)
        .late_validation_grace(Duration::from_secs(60))
        .max_late_validations(10);
    let addr = start(routes.clone()).await;
    validations(addr, 30, 1).await;
    eventually("the handlers past the bound were cancelled", || alive.count() == 10).await;
    assert_eq!(routes.late_validations(), 10);
}

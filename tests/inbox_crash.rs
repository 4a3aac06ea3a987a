//! Nothing acknowledged is lost: the server runs as a child process with
//! the SQLite inbox; clients post callbacks concurrently, a third of them
//! followed by a conflicting delivery (the same CheckoutRequestID, 1037
//! after the payment), and note each body answered 200; the server is
//! killed with SIGKILL at a random moment, several times; after each kill
//! every acknowledged body is in the store, and after a last restart every
//! one of them has been handled.
//!
//! The child is this test binary itself, running the ignored
//! `crash_test_server` test.

#[path = "support/client.rs"]
mod client;

use std::collections::HashSet;
use std::hash::{BuildHasher, RandomState};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::StatusCode;
use pesakit::testing::StkCallbackBuilder;
use pesakit::{Delivery, Inbox, StkCallback, daraja};

const DB_ENV: &str = "PESAKIT_CRASH_TEST_DB";
const KILLS: usize = 4;
const CLIENTS: usize = 8;

#[daraja::stk_callback("/crash/stk")]
async fn paid(callback: StkCallback, delivery: Delivery) {
    // Long enough that kills land while handlers run.
    let pause = RandomState::new().hash_one(&callback.checkout_request_id) % 20;
    tokio::time::sleep(Duration::from_millis(pause)).await;
    println!(
        "handled {} ResultCode {} attempt {}",
        callback.checkout_request_id, callback.result_code, delivery.attempt
    );
}

/// The server process: the SQLite inbox at `$PESAKIT_CRASH_TEST_DB`, on a
/// free loopback port it prints first.
#[test]
#[ignore = "the server process of `acknowledged_callbacks_survive_sigkill`, which starts it"]
fn crash_test_server() {
    let path = std::env::var(DB_ENV).expect("started by the crash test");
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    runtime.block_on(async {
        let inbox = Inbox::sqlite(path).expect("the inbox opens").poll_interval(Duration::from_millis(20));
        let server = pesakit::Server::bind("127.0.0.1:0").await.expect("a loopback port");
        println!("listening on {}", server.local_addr().expect("bound"));
        server.serve(pesakit::routes![paid].with_inbox(inbox)).await.expect("serving");
    });
}

/// A running server process and what it printed.
struct ServerProcess {
    child: Child,
    addr: std::net::SocketAddr,
    handled: Arc<Mutex<HashSet<String>>>,
}

impl ServerProcess {
    fn start(db: &Path, handled: &Arc<Mutex<HashSet<String>>>) -> Self {
        let mut child = Command::new(std::env::current_exe().expect("the test binary"))
            .args(["--ignored", "--exact", "crash_test_server", "--nocapture", "--test-threads=1"])
            .env(DB_ENV, db)
            .stdout(Stdio::piped())
            .spawn()
            .expect("the server process starts");
        let mut lines = BufReader::new(child.stdout.take().expect("piped")).lines();
        let addr = loop {
            let line = lines.next().expect("the server prints its address").expect("readable");
            // The test harness prints the test's name first, on the same line.
            if let Some((_, addr)) = line.split_once("listening on ") {
                break addr.trim().parse().expect("an address");
            }
        };
        let handled_by_this = Arc::clone(handled);
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                if let Some((body, _)) = line.strip_prefix("handled ").and_then(|rest| rest.split_once(" attempt")) {
                    handled_by_this.lock().expect("not poisoned").insert(body.to_owned());
                }
            }
        });
        Self { child, addr, handled: Arc::clone(handled) }
    }

    fn kill(mut self) {
        // SIGKILL on Unix: no shutdown, no flush, no destructor.
        self.child.kill().expect("killed");
        self.child.wait().expect("reaped");
    }
}

/// The bodies the store holds, as `{dedupe key} ResultCode {code}`, and
/// for each whether it is done.
fn stored(db: &Path) -> Vec<(String, bool)> {
    let connection = rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .expect("the store opens read-only");
    let mut query = connection
        .prepare("SELECT dedupe_key, body, state = 'done' FROM callbacks JOIN callback_bodies USING (id)")
        .expect("a query");
    query
        .query_map([], |row| {
            let (key, body, done): (String, Vec<u8>, bool) = (row.get(0)?, row.get(1)?, row.get(2)?);
            Ok((format!("{key} {}", pesakit::inbox::summary(&body).unwrap_or_default()), done))
        })
        .expect("rows")
        .collect::<Result<_, _>>()
        .expect("readable rows")
}

/// Posts new callbacks from `CLIENTS` tasks until `stop`, every third
/// followed by a conflicting delivery, noting the bodies answered 200.
async fn post_until_stopped(
    addr: std::net::SocketAddr,
    round: usize,
    stop: Arc<AtomicBool>,
    acknowledged: Arc<Mutex<HashSet<String>>>,
    sent: Arc<AtomicUsize>,
) {
    let clients: Vec<_> = (0..CLIENTS)
        .map(|client| {
            let (stop, acknowledged, sent) = (Arc::clone(&stop), Arc::clone(&acknowledged), Arc::clone(&sent));
            tokio::spawn(async move {
                for number in 0.. {
                    if stop.load(Ordering::SeqCst) {
                        return;
                    }
                    let id = format!("ws_CO_crash_{round}_{client}_{number}");
                    let mut bodies = vec![(0, StkCallbackBuilder::paid().checkout_request_id(&id).build())];
                    if number % 3 == 0 {
                        bodies.push((1037, StkCallbackBuilder::timeout().checkout_request_id(&id).build()));
                    }
                    for (code, body) in bodies {
                        sent.fetch_add(1, Ordering::SeqCst);
                        // A kill makes the connection fail: the body was not
                        // acknowledged, which is fine.
                        let Some(reply) = client::try_post(addr, "/crash/stk", body).await else {
                            return;
                        };
                        if reply.status == StatusCode::OK {
                            acknowledged.lock().expect("not poisoned").insert(format!("{id} ResultCode {code}"));
                        }
                    }
                }
            })
        })
        .collect();
    for client in clients {
        client.await.ok();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_callbacks_survive_sigkill() {
    let dir = std::env::temp_dir().join(format!("pesakit-crash-{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    let db: PathBuf = dir.join("inbox.db");
    let acknowledged = Arc::new(Mutex::new(HashSet::new()));
    let handled = Arc::new(Mutex::new(HashSet::new()));
    let sent = Arc::new(AtomicUsize::new(0));

    for round in 0..KILLS {
        let server = ServerProcess::start(&db, &handled);
        let stop = Arc::new(AtomicBool::new(false));
        let posting = tokio::spawn(post_until_stopped(
            server.addr,
            round,
            Arc::clone(&stop),
            Arc::clone(&acknowledged),
            Arc::clone(&sent),
        ));
        let kill_after = Duration::from_millis(150 + RandomState::new().hash_one(round) % 600);
        tokio::time::sleep(kill_after).await;
        server.kill();
        stop.store(true, Ordering::SeqCst);
        posting.await.expect("the clients stop");

        let in_store: HashSet<String> = stored(&db).into_iter().map(|(key, _)| key).collect();
        let acknowledged = acknowledged.lock().expect("not poisoned");
        let lost: Vec<_> = acknowledged.difference(&in_store).collect();
        assert!(lost.is_empty(), "round {round}: acknowledged but not stored: {lost:?}");
    }
    let acknowledged = acknowledged.lock().expect("not poisoned").clone();
    assert!(acknowledged.len() >= KILLS, "the test acknowledged too little to show anything: {acknowledged:?}");
    let conflicting = acknowledged.iter().filter(|body| body.ends_with("ResultCode 1037")).count();
    assert!(conflicting > 0, "no conflicting delivery was acknowledged: {acknowledged:?}");

    // The last restart finishes every handler the kills interrupted.
    let server = ServerProcess::start(&db, &handled);
    let mut pending = acknowledged.len();
    for _ in 0..1000 {
        let done: HashSet<String> = stored(&db).into_iter().filter(|(_, done)| *done).map(|(key, _)| key).collect();
        pending = acknowledged.difference(&done).count();
        if pending == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let handled_ids = server.handled.lock().expect("not poisoned").clone();
    server.kill();
    assert_eq!(pending, 0, "acknowledged callbacks not handled after the restart");
    let unhandled: Vec<_> = acknowledged.difference(&handled_ids).collect();
    assert!(unhandled.is_empty(), "no handler ran for {unhandled:?}");
    println!(
        "{} bodies sent, {} acknowledged ({conflicting} conflicting deliveries) across {KILLS} kills, all stored and handled",
        sent.load(Ordering::SeqCst),
        acknowledged.len()
    );
    std::fs::remove_dir_all(&dir).ok();
}

//! Several instances, one PostgreSQL inbox, over real sockets: each
//! instance is a child process (this test binary, running the ignored
//! `instance_server` test) serving the same route table on its own port,
//! all sharing one schema. Needs `PESAKIT_TEST_POSTGRES_URL` (`.ci/run`
//! sets it); without it every test says how to run it and passes without
//! running.

#[path = "support/client.rs"]
mod client;
#[path = "support/postgres.rs"]
mod postgres;

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, RandomState};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use http::StatusCode;
use pesakit::inbox::PostgresStore;
use pesakit::testing::StkCallbackBuilder;
use pesakit::{Delivery, Inbox, StkCallback, daraja};

const URL_ENV: &str = "PESAKIT_INSTANCE_TEST_URL";
const SCHEMA_ENV: &str = "PESAKIT_INSTANCE_TEST_SCHEMA";
/// Short, so that a dead instance's callbacks are taken over quickly.
const LEASE: Duration = Duration::from_secs(1);

#[daraja::stk_callback("/instances/stk")]
async fn paid(callback: StkCallback, delivery: Delivery) {
    let id = &callback.checkout_request_id;
    println!("started {id} attempt {}", delivery.attempt);
    if id.starts_with("ws_CO_slow") && !delivery.is_retry() {
        // Killed long before this ends.
        tokio::time::sleep(Duration::from_secs(60)).await;
    } else {
        tokio::time::sleep(Duration::from_millis(RandomState::new().hash_one(id) % 10)).await;
    }
    println!("handled {id} attempt {}", delivery.attempt);
}

/// One instance: the PostgreSQL inbox in `$PESAKIT_INSTANCE_TEST_SCHEMA`,
/// on a free loopback port it prints first; stops on SIGTERM.
#[test]
#[ignore = "an instance of the multi-instance tests, which start it"]
fn instance_server() {
    let url = std::env::var(URL_ENV).expect("started by a multi-instance test");
    let schema = std::env::var(SCHEMA_ENV).expect("started by a multi-instance test");
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    runtime.block_on(async {
        let store = PostgresStore::builder(url).schema(schema).max_connections(8).connect().await.expect("the store");
        let inbox = Inbox::with_store(store).lease(LEASE).poll_interval(Duration::from_millis(50));
        let server = pesakit::Server::bind("127.0.0.1:0").await.expect("a loopback port");
        println!("listening on {}", server.local_addr().expect("bound"));
        server.serve(pesakit::routes![paid].with_inbox(inbox)).await.expect("serving");
    });
}

/// Every handler run the instances printed: checkout request id → the
/// attempts that ended, with the instance that ran each.
type Runs = Arc<Mutex<HashMap<String, Vec<(usize, u32)>>>>;

/// A running instance; killed if the test ends without stopping it.
struct Instance {
    child: Child,
    addr: SocketAddr,
    started: Arc<Mutex<HashSet<String>>>,
}

impl Instance {
    fn start(url: &str, schema: &str, number: usize, runs: &Runs) -> Self {
        let mut child = Command::new(std::env::current_exe().expect("the test binary"))
            .args(["--ignored", "--exact", "instance_server", "--nocapture", "--test-threads=1"])
            .env(URL_ENV, url)
            .env(SCHEMA_ENV, schema)
            .stdout(Stdio::piped())
            .spawn()
            .expect("the instance starts");
        let mut lines = BufReader::new(child.stdout.take().expect("piped")).lines();
        let addr = loop {
            let line = lines.next().expect("the instance prints its address").expect("readable");
            // The test harness prints the test's name first, on the same line.
            if let Some((_, addr)) = line.split_once("listening on ") {
                break addr.trim().parse().expect("an address");
            }
        };
        let started = Arc::new(Mutex::new(HashSet::new()));
        let (runs, started_here) = (Arc::clone(runs), Arc::clone(&started));
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                let mut words = line.split(' ');
                match (words.next(), words.next(), words.next(), words.next()) {
                    (Some("handled"), Some(id), Some("attempt"), Some(attempt)) => {
                        let attempt = attempt.parse().expect("an attempt number");
                        runs.lock().expect("not poisoned").entry(id.to_owned()).or_default().push((number, attempt));
                    }
                    (Some("started"), Some(id), ..) => {
                        started_here.lock().expect("not poisoned").insert(id.to_owned());
                    }
                    _ => {}
                }
            }
        });
        Self { child, addr, started }
    }

    fn has_started(&self, id: &str) -> bool {
        self.started.lock().expect("not poisoned").contains(id)
    }

    /// SIGTERM, as an orchestrator stops an instance, then waits for it.
    fn stop_gracefully(mut self) {
        let pid = self.child.id().to_string();
        let status = Command::new("kill").args(["-TERM", &pid]).status().expect("kill runs");
        assert!(status.success(), "SIGTERM to {pid}");
        self.child.wait().expect("reaped");
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        // SIGKILL on Unix: no shutdown, no flush, no destructor.
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

/// A schema of the test's own, dropped at the end.
struct Schema {
    url: String,
    name: String,
}

impl Schema {
    fn new() -> Option<Self> {
        postgres::url_or_skip().map(|url| Self { url, name: postgres::new_schema() })
    }

    /// Checkout request id, state, attempts and copies seen of every stored callback.
    fn stored(&self) -> HashMap<String, (String, i32, i32)> {
        let sql = format!("SELECT dedupe_key, state, attempts, seen_count FROM {}.callbacks", self.name);
        postgres::execute(&self.url, &sql)
            .expect("the callbacks read")
            .iter()
            .map(|row| (row.get(0), (row.get(1), row.get(2), row.get(3))))
            .collect()
    }

    /// Waits until every one of `ids` is stored done.
    async fn wait_until_done(&self, ids: &HashSet<String>) -> HashMap<String, (String, i32, i32)> {
        let mut stored = self.stored();
        for _ in 0..600 {
            let not_done: Vec<_> =
                ids.iter().filter(|id| stored.get(*id).is_none_or(|(state, ..)| state != "done")).collect();
            if not_done.is_empty() {
                return stored;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
            stored = self.stored();
        }
        panic!("not all done after 30 s: {stored:?}");
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        postgres::drop_schema(&self.url, &self.name);
    }
}

/// The first instance creates the schema; the others find it.
fn start_instances(schema: &Schema, count: usize, runs: &Runs) -> Vec<Instance> {
    (0..count).map(|number| Instance::start(&schema.url, &schema.name, number, runs)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_identical_callbacks_across_three_instances_run_the_handler_once() {
    let Some(schema) = Schema::new() else { return };
    let runs = Runs::default();
    let instances = start_instances(&schema, 3, &runs);
    let builder = StkCallbackBuilder::paid();
    let body = builder.build();
    let posts: Vec<_> = (0..50)
        .map(|number| {
            let (addr, body) = (instances[number % instances.len()].addr, body.clone());
            tokio::spawn(async move { client::post(addr, "/instances/stk", body).await })
        })
        .collect();
    for post in posts {
        let reply = post.await.expect("the post task");
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    }
    let id = builder.checkout_id();
    let stored = schema.wait_until_done(&HashSet::from([id.clone()])).await;
    // Long enough for a second run, if there were one, to show.
    tokio::time::sleep(LEASE + Duration::from_millis(500)).await;
    assert_eq!(stored[&id].2, 50, "every copy counted");
    let handled = runs.lock().expect("not poisoned").get(&id).cloned().unwrap_or_default();
    assert_eq!(handled.len(), 1, "handled once across the instances: {handled:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_killed_mid_handler_has_its_callback_finished_by_another_after_the_lease() {
    let Some(schema) = Schema::new() else { return };
    let runs = Runs::default();
    let mut instances = start_instances(&schema, 2, &runs);
    let slow = StkCallbackBuilder::paid().checkout_request_id("ws_CO_slow_1");
    let reply = client::post(instances[0].addr, "/instances/stk", slow.build()).await;
    assert_eq!(reply.status, StatusCode::OK);
    for _ in 0..200 {
        if instances[0].has_started("ws_CO_slow_1") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(instances[0].has_started("ws_CO_slow_1"), "the first instance runs the handler");
    drop(instances.remove(0));

    let stored = schema.wait_until_done(&HashSet::from(["ws_CO_slow_1".to_owned()])).await;
    assert_eq!(stored["ws_CO_slow_1"].1, 2, "the killed run counts as an attempt");
    let handled = runs.lock().expect("not poisoned").get("ws_CO_slow_1").cloned().unwrap_or_default();
    assert_eq!(handled, [(1, 2)], "finished by the second instance, as its second attempt");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rolling_restart_loses_nothing_acknowledged() {
    let Some(schema) = Schema::new() else { return };
    let runs = Runs::default();
    let mut instances = start_instances(&schema, 3, &runs);
    let addrs = Arc::new(RwLock::new(instances.iter().map(|instance| instance.addr).collect::<Vec<_>>()));
    let acknowledged = Arc::new(Mutex::new(HashSet::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicUsize::new(0));
    let clients: Vec<_> = (0..6)
        .map(|client| {
            let (addrs, acknowledged, stop, sent) =
                (Arc::clone(&addrs), Arc::clone(&acknowledged), Arc::clone(&stop), Arc::clone(&sent));
            tokio::spawn(async move {
                for number in 0.. {
                    if stop.load(Ordering::SeqCst) {
                        return;
                    }
                    let addr = {
                        let addrs = addrs.read().expect("not poisoned");
                        addrs[number % addrs.len()]
                    };
                    let id = format!("ws_CO_rolling_{client}_{number}");
                    sent.fetch_add(1, Ordering::SeqCst);
                    let body = StkCallbackBuilder::paid().checkout_request_id(&id).build();
                    // An instance on its way out refuses or drops the
                    // connection: not acknowledged, which is fine.
                    if let Some(reply) = client::try_post(addr, "/instances/stk", body).await
                        && reply.status == StatusCode::OK
                    {
                        acknowledged.lock().expect("not poisoned").insert(id);
                    }
                }
            })
        })
        .collect();

    // Replace each instance in turn while the others take traffic.
    for position in 0..instances.len() {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let replacement = Instance::start(&schema.url, &schema.name, instances.len() + position, &runs);
        let new_addr = replacement.addr;
        // Stopped while still in rotation: some clients reach it as it goes.
        let old = std::mem::replace(&mut instances[position], replacement);
        tokio::task::spawn_blocking(move || old.stop_gracefully()).await.expect("stopped");
        addrs.write().expect("not poisoned")[position] = new_addr;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::SeqCst);
    for client in clients {
        client.await.expect("a client");
    }

    let acknowledged = acknowledged.lock().expect("not poisoned").clone();
    assert!(acknowledged.len() > 100, "too little traffic to show anything: {}", acknowledged.len());
    schema.wait_until_done(&acknowledged).await;
    let runs = runs.lock().expect("not poisoned");
    let unhandled: Vec<_> = acknowledged.iter().filter(|id| !runs.contains_key(*id)).collect();
    assert!(unhandled.is_empty(), "stored done but no handler run seen: {unhandled:?}");
    let twice = acknowledged.iter().filter(|id| runs.get(*id).is_some_and(|ran| ran.len() > 1)).count();
    println!(
        "{} sent, {} acknowledged over a rolling restart of {} instances, all handled ({twice} twice: \
         their instance stopped between the handler and its settlement)",
        sent.load(Ordering::SeqCst),
        acknowledged.len(),
        instances.len()
    );
}

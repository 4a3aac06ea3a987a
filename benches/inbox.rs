//! The durable inbox under load: pesakit with the SQLite inbox against
//! pesakit without it, over loopback, each in its own process, and the
//! physical limit of the same disk: a bare loop of SQLite commits of the
//! same row with the same settings (WAL, `synchronous=FULL`).
//!
//! ```sh
//! cargo bench -p pesakit-benches --bench inbox            # 1, 64, 256 connections; 1 s warm-up, 3 s measured, 3 rounds
//! cargo bench -p pesakit-benches --bench inbox -- 1 3 5   # warm-up s, measured s, rounds
//! ```
//!
//! Every request carries a new `CheckoutRequestID`, so each one is a new
//! callback the inbox must store before it answers (a repeated body would
//! only be counted as a duplicate). The ids come in two mixes, each run:
//! shaped as Daraja's (time-ordered checkout ids and receipts, random
//! merchant request ids) and per-connection sequences. Reported per connection count, as
//! medians over the rounds: durable callbacks per second, p50 and p99 of the
//! time to the acknowledgement, commits per second (each one fsync of the
//! write-ahead log) and callbacks per commit (group commit at work). First,
//! the store alone, with no HTTP: callbacks per second, and bytes written
//! and CPU time per callback.

#![allow(missing_docs)]
// Statistics over latencies, not money: floats are the right tool here.
#![allow(clippy::float_arithmetic, clippy::cast_possible_truncation, clippy::cast_precision_loss)]

use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use pesakit::{Inbox, StkCallback, StkOutcome, daraja};
use tokio::net::TcpListener;

#[path = "support/loopback.rs"]
mod loopback;
#[path = "support/unique_stk.rs"]
mod unique_stk;

use loopback::{measure, median};
use unique_stk::{IdMix, STK_SUCCESS, unique_stk_requests};

/// The non-durable server, then the inbox with each id mix.
const SERVERS: [(&str, IdMix); 3] =
    [("pesakit", IdMix::Daraja), ("pesakit-inbox", IdMix::Daraja), ("pesakit-inbox", IdMix::PerConnection)];
const CONNECTIONS: [usize; 3] = [1, 64, 256];

fn main() {
    let (warm_up, measured, rounds) = match loopback::arguments() {
        loopback::Arguments::Serve(server, port) => return serve(&server, port),
        loopback::Arguments::Measure { warm_up, measured, rounds } => (warm_up, measured, rounds),
    };
    println!("{warm_up:?} warm-up, {measured:?} measured, {rounds} rounds per connection count\n");

    let floor = sqlite_floor(measured);
    println!("SQLite floor on this disk: {floor:.0} commits/s (one row per fsync'd commit, one writer)\n");
    println!("The store alone (record, then settle done), no HTTP:\n");
    println!(
        "| ids | callers | callbacks/s | KiB written per callback | µs of store CPU per callback | µs making each \
         callback | operations per commit |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    for mix in IdMix::ALL {
        for callers in [64, 256] {
            let alone = store_alone(callers, measured, mix);
            println!(
                "| {} | {callers} | {:.0} | {:.1} | {:.0} | {:.0} | {:.1} |",
                mix.name(),
                alone.per_second,
                alone.kib_written,
                alone.cpu_micros,
                alone.making_micros,
                alone.per_commit
            );
        }
    }
    println!();
    println!("| connections | server | ids | callbacks/s | p50 ack | p99 ack | commits/s | callbacks per commit |");
    println!("| --- | --- | --- | --- | --- | --- | --- | --- |");
    let mut summaries = Vec::new();
    for connections in CONNECTIONS {
        let mut reports: Vec<Vec<Measured>> = SERVERS.iter().map(|_| Vec::new()).collect();
        for round in 0..rounds {
            for offset in 0..SERVERS.len() {
                let index = (usize::try_from(round).unwrap_or(0) + offset) % SERVERS.len();
                let (server, mix) = SERVERS[index];
                let report = measure(server, connections, warm_up, measured, &unique_stk_requests(mix));
                let commits = (server == "pesakit-inbox").then(|| commits_in(&report));
                std::fs::remove_dir_all(server_dir(report.port)).ok();
                eprintln!(
                    "{connections} connections, round {}: {server} ({}) {:.0} callbacks/s",
                    round + 1,
                    mix.name(),
                    report.requests_per_second
                );
                reports[index].push((report, commits));
            }
        }
        for ((server, mix), results) in SERVERS.iter().zip(&reports) {
            let median_of =
                |value: fn(&loopback::Report) -> f64| median(results.iter().map(|(report, _)| value(report)).collect());
            let commits: Vec<(f64, f64)> = results.iter().filter_map(|(_, commits)| *commits).collect();
            let (per_second, per_commit) = if commits.is_empty() {
                ("—".to_owned(), "—".to_owned())
            } else {
                let per_second = median(commits.iter().map(|(commits, _)| *commits).collect());
                let per_commit = median(commits.iter().map(|(_, callbacks)| *callbacks).collect());
                (format!("{per_second:.0}"), format!("{per_commit:.1}"))
            };
            println!(
                "| {connections} | {server} | {} | {:.0} | {:.0} µs | {:.0} µs | {per_second} | {per_commit} |",
                if *server == "pesakit" { "—" } else { mix.name() },
                median_of(|report| report.requests_per_second),
                median_of(|report| report.p50_micros),
                median_of(|report| report.p99_micros),
            );
        }
        for (index, (_, mix)) in SERVERS.iter().enumerate().skip(1) {
            let ratios: Vec<f64> = reports[0]
                .iter()
                .zip(&reports[index])
                .map(|((plain, _), (inbox, _))| inbox.requests_per_second / plain.requests_per_second)
                .collect();
            let inbox_rate = median(reports[index].iter().map(|(report, _)| report.requests_per_second).collect());
            summaries.push(format!(
                "{connections} connections, {}: inbox/plain throughput per round {} (median {:.3}); inbox/SQLite \
                 floor {:.2}",
                mix.name(),
                ratios.iter().map(|ratio| format!("{ratio:.3}")).collect::<Vec<_>>().join(", "),
                median(ratios.clone()),
                inbox_rate / floor,
            ));
        }
    }
    println!();
    for summary in summaries {
        println!("{summary}");
    }
}

/// One round of one server, with its commits per second and callbacks per
/// commit when it has an inbox.
type Measured = (loopback::Report, Option<(f64, f64)>);

/// Commits per second and callbacks per commit in `report`'s window, from
/// the stats the inbox server writes.
fn commits_in(report: &loopback::Report) -> (f64, f64) {
    let stats = std::fs::read_to_string(stats_path(report.port)).unwrap_or_default();
    let samples: Vec<(u128, f64, f64)> = stats
        .lines()
        .filter_map(|line| {
            let mut fields = line.split(' ').map(str::parse::<u128>);
            match (fields.next(), fields.next(), fields.next()) {
                (Some(Ok(at)), Some(Ok(commits)), Some(Ok(operations))) => {
                    Some((at, commits as f64, operations as f64))
                }
                _ => None,
            }
        })
        .collect();
    let nanos = |time: SystemTime| time.duration_since(UNIX_EPOCH).map_or(0, |since| since.as_nanos());
    let (start, end) = (nanos(report.window.0), nanos(report.window.1));
    let at = |moment: u128| samples.iter().rev().find(|(at, ..)| *at <= moment).or(samples.first()).copied();
    match (at(start), at(end)) {
        (Some((from, commits_before, operations_before)), Some((to, commits_after, operations_after))) if to > from => {
            let commits = commits_after - commits_before;
            let seconds = (to - from) as f64 / 1e9;
            (commits / seconds, (operations_after - operations_before) / commits.max(1.0))
        }
        _ => (f64::NAN, f64::NAN),
    }
}

/// Where the inbox server on `port` keeps its database and its stats.
fn server_dir(port: u16) -> PathBuf {
    std::env::temp_dir().join(format!("pesakit-bench-inbox-{port}"))
}

fn stats_path(port: u16) -> PathBuf {
    server_dir(port).join("stats")
}

/// The physical limit: one writer committing one row per transaction, in
/// WAL mode with `synchronous=FULL`, as fast as the disk allows.
fn sqlite_floor(duration: Duration) -> f64 {
    let dir = std::env::temp_dir().join(format!("pesakit-bench-floor-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    let connection = rusqlite::Connection::open(dir.join("floor.db")).expect("a database");
    let _: String = connection.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0)).expect("WAL");
    connection.pragma_update(None, "synchronous", "FULL").expect("FULL");
    connection
        .execute_batch("CREATE TABLE rows (id INTEGER PRIMARY KEY, key TEXT UNIQUE, body BLOB)")
        .expect("a table");
    let mut insert = connection.prepare("INSERT INTO rows (key, body) VALUES (?1, ?2)").expect("a statement");
    let started = Instant::now();
    let mut commits = 0_u64;
    while started.elapsed() < duration {
        insert.execute(rusqlite::params![format!("{commits:032}"), STK_SUCCESS.as_bytes()]).expect("a commit");
        commits += 1;
    }
    drop(insert);
    drop(connection);
    std::fs::remove_dir_all(&dir).ok();
    commits as f64 / started.elapsed().as_secs_f64()
}

/// What the SQLite store costs with no HTTP around it.
struct StoreAlone {
    per_second: f64,
    kib_written: f64,
    /// The store's CPU per callback, what making the callback cost taken off.
    cpu_micros: f64,
    /// Making one callback: its body, parsed for its ids.
    making_micros: f64,
    per_commit: f64,
}

/// A new callback of the load, as the pipeline hands it to the store: the
/// body parsed for its ids.
fn new_callback(route_path: &str, body: bytes::Bytes) -> pesakit::inbox::NewCallback {
    use pesakit::Payload;
    use pesakit::inbox::{Arrived, NewCallback};

    let parsed = StkCallback::from_slice(&body).expect("the load's body parses");
    let ids = parsed.daraja_ids();
    NewCallback::new(
        Arrived {
            kind: pesakit::CallbackKind::StkCallback,
            route_path: route_path.to_owned(),
            body: body.clone(),
            content_type: Some("application/json".to_owned()),
            forwarded: None,
            peer: Some(std::net::SocketAddr::from(([127, 0, 0, 1], 40_000))),
            client: None,
            received_at: SystemTime::now(),
        },
        ids.dedupe_key().to_owned(),
        ids.secondary().map(|id| (id.name().to_owned(), id.value().to_owned())).collect(),
        None,
        SystemTime::now() + Duration::from_secs(60),
    )
}

/// The SQLite store driven directly by `callers` tasks on two threads, each
/// recording a new payment with the load's ids and body (parsed for its
/// ids, as the pipeline does) and settling it done, as the inbox does per
/// callback. What it costs per callback: bytes written (`wchar` of
/// `/proc/self/io`: the write-ahead log and its checkpoints) and CPU time of
/// this process, which does nothing else then, less what making the
/// callbacks cost (measured apart, reported beside it).
fn store_alone(callers: usize, duration: Duration, mix: IdMix) -> StoreAlone {
    use std::sync::Arc;

    use pesakit::inbox::{InboxStore, Outcome, SqliteStore};
    use pesakit::record::Recorded;

    let dir = std::env::temp_dir().join(format!("pesakit-bench-store-{}-{callers}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    let store = Arc::new(SqliteStore::open(dir.join("inbox.db")).expect("the store opens"));
    let requests = unique_stk_requests(mix);
    let written = || {
        let io = std::fs::read_to_string("/proc/self/io").unwrap_or_default();
        io.lines().find_map(|line| line.strip_prefix("wchar:")).and_then(|bytes| bytes.trim().parse::<f64>().ok())
    };
    let cpu = || loopback::stat_cpu_time(&std::fs::read_to_string("/proc/self/stat").unwrap_or_default(), false);
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).build().expect("a runtime");
    let (bytes_before, cpu_before, stats_before) = (written(), cpu(), store.stats());
    let started = Instant::now();
    let callbacks: u64 = runtime.block_on(async {
        let tasks: Vec<_> = (0..callers)
            .map(|caller| {
                let (store, body) = (Arc::clone(&store), Arc::clone(&requests.body));
                tokio::spawn(async move {
                    let mut number = 0_u64;
                    while started.elapsed() < duration {
                        let callback = new_callback(requests.path, body(caller, number));
                        let Ok(Recorded::New(id)) = store.record(callback).await else { panic!("a new callback") };
                        store.settle(id, Outcome::Done).await.expect("settled");
                        number += 1;
                    }
                    number
                })
            })
            .collect();
        let mut callbacks = 0;
        for task in tasks {
            callbacks += task.await.expect("a caller");
        }
        callbacks
    });
    let seconds = started.elapsed().as_secs_f64();
    let (bytes_after, cpu_after, stats) = (written(), cpu(), store.stats());
    let count = callbacks.max(1) as f64;
    // What making the callbacks cost (the load's bodies, parsed for their
    // ids, as the pipeline does): the same number made again, on this
    // thread alone, and taken off.
    let making = {
        let (requests, before) = (unique_stk_requests(mix), cpu());
        for number in 0..callbacks {
            std::hint::black_box(new_callback(requests.path, (requests.body)(0, number)));
        }
        (cpu() - before).as_secs_f64() * 1e6 / count
    };
    let alone = StoreAlone {
        per_second: callbacks as f64 / seconds,
        kib_written: (bytes_after.unwrap_or(0.0) - bytes_before.unwrap_or(0.0)) / count / 1024.0,
        cpu_micros: (cpu_after - cpu_before).as_secs_f64() * 1e6 / count - making,
        making_micros: making,
        per_commit: (stats.operations - stats_before.operations) as f64
            / (stats.commits - stats_before.commits).max(1) as f64,
    };
    drop(runtime);
    std::fs::remove_dir_all(&dir).ok();
    alone
}

#[daraja::stk_callback("/payments/stk")]
async fn paid(callback: StkCallback) {
    if let StkOutcome::Paid(payment) = callback.outcome() {
        std::hint::black_box(payment.amount);
    }
}

fn serve(server: &str, port: u16) {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("server runtime");
    runtime.block_on(async {
        let listener = TcpListener::bind(("127.0.0.1", port)).await.expect("bind");
        let routes = match server {
            "pesakit" => pesakit::routes![paid],
            "pesakit-inbox" => {
                let dir = server_dir(port);
                std::fs::remove_dir_all(&dir).ok();
                std::fs::create_dir_all(&dir).expect("a temporary directory");
                let inbox = Inbox::sqlite(dir.join("inbox.db")).expect("the inbox opens");
                write_stats(inbox.clone(), stats_path(port));
                pesakit::routes![paid].with_inbox(inbox)
            }
            other => panic!("unknown server {other}"),
        };
        loopback::bench_server(listener).serve(routes).await.expect("pesakit");
    });
}

/// Appends `time commits operations` to `path` every 20 ms.
fn write_stats(inbox: Inbox, path: PathBuf) {
    std::thread::spawn(move || {
        use std::io::Write;
        let mut file = std::fs::File::create(&path).expect("a stats file");
        loop {
            let stats = inbox.store().stats();
            let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |since| since.as_nanos());
            if writeln!(file, "{now} {} {}", stats.commits, stats.operations).is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    });
}

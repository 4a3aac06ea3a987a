//! The PostgreSQL inbox under load, side by side in one run: pesakit with
//! the PostgreSQL store (one instance, and two instances sharing the
//! database), pesakit with the SQLite store, and the physical limit of the
//! database on this machine: `pgbench` inserting the same row into the same
//! table, with the same number of clients.
//!
//! ```sh
//! cargo bench -p pesakit-benches --bench inbox_postgres            # 64 and 256 connections; 1 s warm-up, 3 s measured, 3 rounds
//! cargo bench -p pesakit-benches --bench inbox_postgres -- 1 5 5   # warm-up s, measured s, rounds
//! ```
//!
//! The database is `$PESAKIT_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`); each measurement uses a
//! schema of its own, dropped after it. Every request is a new STK payment,
//! so each one is a callback the inbox commits before it answers, then
//! handles and settles (a second write); `pgbench` does only the first.

#![allow(missing_docs)]
// Statistics over latencies, not money: floats are the right tool here.
#![allow(clippy::float_arithmetic, clippy::cast_possible_truncation, clippy::cast_precision_loss)]

use std::process::Command;
use std::time::Duration;

use pesakit::inbox::PostgresStore;
use pesakit::{Inbox, StkCallback, StkOutcome, daraja};
use tokio::net::TcpListener;

#[path = "support/loopback.rs"]
mod loopback;
#[path = "support/unique_stk.rs"]
mod unique_stk;

use loopback::{measure_instances, median};
use unique_stk::{IdMix, STK_SUCCESS, unique_stk_requests};

const CONNECTIONS: [usize; 2] = [64, 256];
/// The server allows 100 connections; the benchmark's own and psql's need a few.
const MOST_PGBENCH_CLIENTS: usize = 90;
/// Connections each pesakit instance keeps to the database.
const POOL: usize = 32;

/// What is measured: a server (with how many instances) or pgbench.
#[derive(Clone, Copy)]
enum Contender {
    Pesakit { store: &'static str, instances: usize },
    Pgbench,
}

const CONTENDERS: [Contender; 4] = [
    Contender::Pesakit { store: "sqlite", instances: 1 },
    Contender::Pesakit { store: "postgres", instances: 1 },
    Contender::Pesakit { store: "postgres", instances: 2 },
    Contender::Pgbench,
];

impl Contender {
    fn label(self) -> String {
        match self {
            Self::Pesakit { store, instances: 1 } => format!("pesakit + {store}"),
            Self::Pesakit { store, instances } => format!("pesakit + {store}, {instances} instances"),
            Self::Pgbench => "pgbench (same row, same table)".to_owned(),
        }
    }
}

fn database_url() -> String {
    std::env::var("PESAKIT_TEST_POSTGRES_URL")
        .ok()
        .filter(|url| !url.is_empty())
        .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

fn main() {
    let (warm_up, measured, rounds) = match loopback::arguments() {
        loopback::Arguments::Serve(server, port) => return serve(&server, port),
        loopback::Arguments::Measure { warm_up, measured, rounds } => (warm_up, measured, rounds),
    };
    let url = database_url();
    println!("{warm_up:?} warm-up, {measured:?} measured, {rounds} rounds per connection count; database {url}\n");
    println!(
        "| connections | contender | callbacks/s | p50 ack | p99 ack | server CPU per callback | database CPU per callback | callbacks per transaction |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- |");
    let mut summaries = Vec::new();
    let mut schemas = 0_usize;
    for connections in CONNECTIONS {
        let mut rates: Vec<Vec<Measurement>> = CONTENDERS.iter().map(|_| Vec::new()).collect();
        for round in 0..rounds {
            for offset in 0..CONTENDERS.len() {
                let index = (usize::try_from(round).unwrap_or(0) + offset) % CONTENDERS.len();
                schemas += 1;
                let schema = format!("pesakit_bench_{}_{schemas}", std::process::id());
                let (database_cpu_before, transactions_before) = (postgres_cpu_time(), transactions(&url));
                let mut measurement = match CONTENDERS[index] {
                    Contender::Pesakit { store, instances } => {
                        let server = format!("{store}:{schema}");
                        let report = measure_instances(
                            &server,
                            instances,
                            connections,
                            warm_up,
                            measured,
                            &unique_stk_requests(IdMix::PerConnection),
                        );
                        std::fs::remove_dir_all(sqlite_dir(&schema)).ok();
                        Measurement {
                            rate: report.requests_per_second,
                            p50_micros: report.p50_micros,
                            p99_micros: report.p99_micros,
                            server_cpu_micros: report.cpu_micros_per_request,
                            database_cpu_micros: f64::NAN,
                            per_transaction: f64::NAN,
                        }
                    }
                    Contender::Pgbench => pgbench(&url, &schema, connections.min(MOST_PGBENCH_CLIENTS), measured),
                };
                if !matches!(CONTENDERS[index], Contender::Pesakit { store: "sqlite", .. }) {
                    // Over everything stored, warm-up included.
                    let stored = stored_callbacks(&url, &schema);
                    let cpu = postgres_cpu_time().saturating_sub(database_cpu_before);
                    measurement.database_cpu_micros = cpu.as_secs_f64() * 1e6 / stored.max(1) as f64;
                    let committed = transactions(&url).saturating_sub(transactions_before);
                    measurement.per_transaction = stored as f64 / committed.max(1) as f64;
                }
                drop_schema(&url, &schema);
                eprintln!(
                    "{connections} connections, round {}: {} {:.0}/s",
                    round + 1,
                    CONTENDERS[index].label(),
                    measurement.rate
                );
                rates[index].push(measurement);
            }
        }
        for (contender, results) in CONTENDERS.iter().zip(&rates) {
            let median_of = |pick: fn(&Measurement) -> f64| median(results.iter().map(pick).collect());
            let micros = |value: f64| if value.is_nan() { "—".to_owned() } else { format!("{value:.0} µs") };
            let label = match contender {
                Contender::Pgbench if connections > MOST_PGBENCH_CLIENTS => {
                    format!("{} ({MOST_PGBENCH_CLIENTS} clients: the server's limit)", contender.label())
                }
                _ => contender.label(),
            };
            println!(
                "| {connections} | {label} | {:.0} | {} | {} | {} | {} | {} |",
                median_of(|result| result.rate),
                micros(median_of(|result| result.p50_micros)),
                micros(median_of(|result| result.p99_micros)),
                micros(median_of(|result| result.server_cpu_micros)),
                micros(median_of(|result| result.database_cpu_micros)),
                match median_of(|result| result.per_transaction) {
                    ratio if ratio.is_nan() => "—".to_owned(),
                    ratio => format!("{ratio:.1}"),
                },
            );
        }
        let ratio_to_pgbench = |index: usize| -> Vec<String> {
            rates[index]
                .iter()
                .zip(&rates[3])
                .map(|(ours, pgbench)| format!("{:.2}", ours.rate / pgbench.rate))
                .collect()
        };
        summaries.push(format!(
            "{connections} connections, per round against pgbench: postgres 1 instance {}; 2 instances {}; sqlite {}",
            ratio_to_pgbench(1).join(", "),
            ratio_to_pgbench(2).join(", "),
            ratio_to_pgbench(0).join(", "),
        ));
    }
    println!();
    for summary in summaries {
        println!("{summary}");
    }
}

/// One contender's figures in one round.
struct Measurement {
    rate: f64,
    p50_micros: f64,
    p99_micros: f64,
    server_cpu_micros: f64,
    database_cpu_micros: f64,
    /// Callbacks stored per transaction the database committed.
    per_transaction: f64,
}

/// CPU time PostgreSQL's processes have used, backends that have exited
/// included (their parent, the postmaster, counts them once reaped).
fn postgres_cpu_time() -> Duration {
    let stats = std::fs::read_dir("/proc").into_iter().flatten().flatten();
    stats
        .filter_map(|entry| std::fs::read_to_string(entry.path().join("stat")).ok())
        .filter(|stat| stat.contains("(postgres)"))
        .map(|stat| loopback::stat_cpu_time(&stat, true))
        .sum()
}

/// Callbacks stored in `schema`.
fn stored_callbacks(url: &str, schema: &str) -> u64 {
    count(url, &format!("SELECT count(*) FROM {schema}.callbacks"))
}

/// Transactions the database has committed so far (its statistics lag by
/// up to a second).
fn transactions(url: &str) -> u64 {
    std::thread::sleep(Duration::from_millis(1100));
    count(url, "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()")
}

/// The number a query answers.
fn count(url: &str, sql: &str) -> u64 {
    let output = Command::new("psql").args([url, "-qtA", "-c", sql]).output().expect("psql runs");
    String::from_utf8_lossy(&output.stdout).trim().parse().unwrap_or(0)
}

/// Transactions per second and mean latency of pgbench inserting the
/// benchmark's row, each with a new dedupe key, into pesakit's own table
/// (created by the store's migrations, indexes and all).
fn pgbench(url: &str, schema: &str, clients: usize, measured: Duration) -> Measurement {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
    runtime.block_on(async {
        PostgresStore::builder(url).schema(schema).connect().await.expect("the schema is created");
    });
    let body = STK_SUCCESS.replace('\'', "''");
    let script = format!(
        "\\set number random(1, 9000000000000000)\n\
         INSERT INTO {schema}.callbacks (kind, route_path, dedupe_key, state, body, received_at, last_seen_at, \
         due_at, is_final, attempts) VALUES ('stk_callback', '/payments/stk', 'ws_CO_' || :client_id || '_' || \
         :number, 'pending', convert_to('{body}', 'UTF8'), now(), now(), now(), TRUE, 1) ON CONFLICT DO NOTHING;\n"
    );
    let dir = std::env::temp_dir().join(format!("pesakit-pgbench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    let script_path = dir.join("insert.sql");
    std::fs::write(&script_path, script).expect("the script is written");
    let output = Command::new("pgbench")
        .args(["-n", "-j", "2", "-c", &clients.to_string(), "-T", &measured.as_secs().max(1).to_string(), "-f"])
        .arg(&script_path)
        .arg(url)
        .output()
        .expect("pgbench runs (Debian's postgresql-client package)");
    std::fs::remove_dir_all(&dir).ok();
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "pgbench failed: {text}{}", String::from_utf8_lossy(&output.stderr));
    let figure = |prefix: &str| {
        text.lines()
            .find_map(|line| line.strip_prefix(prefix))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|value| value.parse::<f64>().ok())
            .unwrap_or(f64::NAN)
    };
    Measurement {
        rate: figure("tps = "),
        p50_micros: figure("latency average = ") * 1000.0,
        p99_micros: f64::NAN,
        server_cpu_micros: f64::NAN,
        database_cpu_micros: f64::NAN,
        per_transaction: f64::NAN,
    }
}

fn drop_schema(url: &str, schema: &str) {
    let status = Command::new("psql")
        .args([url, "-q", "-c", &format!("DROP SCHEMA IF EXISTS {schema} CASCADE")])
        .status()
        .expect("psql runs");
    assert!(status.success(), "dropping {schema}");
}

fn sqlite_dir(schema: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(schema)
}

#[daraja::stk_callback("/payments/stk")]
async fn paid(callback: StkCallback) {
    if let StkOutcome::Paid(payment) = callback.outcome() {
        std::hint::black_box(payment.amount);
    }
}

/// One server process: `sqlite:NAME` (a file under the temporary
/// directory) or `postgres:SCHEMA`.
fn serve(server: &str, port: u16) {
    let (store, name) = server.split_once(':').expect("store:name");
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("server runtime");
    runtime.block_on(async {
        let listener = TcpListener::bind(("127.0.0.1", port)).await.expect("bind");
        let inbox = match store {
            "sqlite" => {
                let dir = sqlite_dir(name);
                std::fs::create_dir_all(&dir).expect("a temporary directory");
                Inbox::sqlite(dir.join("inbox.db")).expect("the inbox opens")
            }
            "postgres" => {
                let store = PostgresStore::builder(database_url()).schema(name).max_connections(POOL).connect();
                Inbox::with_store(store.await.expect("the inbox connects"))
            }
            other => panic!("unknown store {other}"),
        };
        loopback::bench_server(listener).serve(pesakit::routes![paid].with_inbox(inbox)).await.expect("pesakit");
    });
}

//! Load over loopback with keep-alive: the same STK callback route served by
//! a hand-written hyper + serde_json server (the floor of this stack), a
//! hand-written axum handler, and pesakit's bundled runtime, each in its own
//! process, driven by the same load generator.
//!
//! ```sh
//! cargo bench -p pesakit-benches --bench load              # 256 connections, 1 s warm-up, 3 s measured, 11 rounds
//! cargo bench -p pesakit-benches --bench load -- 64 1 3 1  # connections, warm-up s, measured s, rounds
//! ```
//!
//! The servers take turns, round after round, each round starting with the
//! next server, so that drift in the machine's speed lands on all of them.
//! Reports requests/s, p50/p99 latency, server CPU time per request and the
//! server's peak resident memory (`VmHWM`), each the median over the rounds
//! (peak memory: the highest), then pesakit against the hyper floor round by
//! round. Figures live in `BENCHMARKS.md`.

#![allow(missing_docs)]
// Statistics over latencies, not money: floats are the right tool here.
#![allow(clippy::float_arithmetic, clippy::cast_possible_truncation)]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use pesakit::{StkCallback, StkOutcome, daraja};
use tokio::net::TcpListener;

#[path = "support/baseline.rs"]
mod baseline;
#[path = "support/loopback.rs"]
mod loopback;

use loopback::{Report, Requests, measure, median};

const STK_SUCCESS: &[u8] = include_bytes!("../tests/fixtures/stk/real_2024_success_new_style_merchant_request_id.json");
const ACK: &[u8] = br#"{"ResultCode":0,"ResultDesc":"Success"}"#;
/// The floor first and pesakit last; `hyper-timeout` is the floor with
/// hyper's own header read timeout on, to show what that costs (pesakit's
/// runtime enforces its header read timeout in its connection watcher).
const SERVERS: [&str; 4] = ["hyper", "hyper-timeout", "axum", "pesakit"];

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|arg| arg != "--bench").collect();
    match args.as_slice() {
        [flag, server, port] if flag == "--serve" => return serve(server, port.parse().expect("port")),
        [flag, port, connections, seconds] if flag == "--load-only" => {
            // Drives a server started separately, for profiling it.
            let addr = SocketAddr::from(([127, 0, 0, 1], port.parse().expect("port")));
            let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("load runtime");
            let measured = Duration::from_secs(seconds.parse().expect("seconds"));
            let connections = connections.parse().expect("connections");
            let done =
                runtime.block_on(loopback::run_load(vec![addr], connections, Duration::ZERO, measured, stk_requests()));
            return println!("{} requests/s", done.len() as f64 / measured.as_secs_f64());
        }
        _ => {}
    }
    let number = |index: usize, default: u64| args.get(index).and_then(|arg| arg.parse().ok()).unwrap_or(default);
    let connections = usize::try_from(number(0, 256)).expect("connection count");
    let (warm_up, measured) = (Duration::from_secs(number(1, 1)), Duration::from_secs(number(2, 3)));
    let rounds = number(3, 11).max(1);
    println!("{connections} keep-alive connections, {warm_up:?} warm-up, {measured:?} measured, {rounds} rounds\n");
    let mut reports: Vec<Vec<Report>> = SERVERS.iter().map(|_| Vec::new()).collect();
    for round in 0..rounds {
        // Each round starts with the next server, so no server always runs first.
        for offset in 0..SERVERS.len() {
            let index = (usize::try_from(round).unwrap_or(0) + offset) % SERVERS.len();
            let report = measure(SERVERS[index], connections, warm_up, measured, &stk_requests());
            eprintln!("round {}: {} {:.0} requests/s", round + 1, SERVERS[index], report.requests_per_second);
            reports[index].push(report);
        }
    }
    println!("| server | requests/s | p50 | p99 | server CPU per request | peak memory |");
    println!("| --- | --- | --- | --- | --- | --- |");
    for (server, results) in SERVERS.iter().zip(&reports) {
        let median = |value: fn(&Report) -> f64| median(results.iter().map(value).collect());
        let peak = results.iter().map(|report| report.peak_mebibytes).fold(0.0, f64::max);
        println!(
            "| {server} | {:.0} | {:.0} µs | {:.0} µs | {:.1} µs | {peak:.1} MiB |",
            median(|report| report.requests_per_second),
            median(|report| report.p50_micros),
            median(|report| report.p99_micros),
            median(|report| report.cpu_micros_per_request),
        );
    }
    let pesakit = &reports[SERVERS.len() - 1];
    for (baseline, results) in [("hyper", &reports[0]), ("hyper-timeout", &reports[1])] {
        let ratios = |value: fn(&Report) -> f64| -> Vec<f64> {
            results.iter().zip(pesakit).map(|(baseline, pesakit)| value(pesakit) / value(baseline)).collect()
        };
        for (label, per_round) in [
            ("throughput", ratios(|report| report.requests_per_second)),
            ("p99 latency", ratios(|report| report.p99_micros)),
        ] {
            let listed: Vec<String> = per_round.iter().map(|ratio| format!("{ratio:.3}")).collect();
            println!("pesakit/{baseline} {label}, per round: {} (median {:.3})", listed.join(", "), median(per_round));
        }
    }
}

// --- The three servers, each doing the same work per request: parse the
// --- STK body, read the amount, answer the acknowledgement.

/// The same STK success body on every request.
fn stk_requests() -> Requests {
    Requests { path: "/payments/stk", body: std::sync::Arc::new(|_, _| Bytes::from_static(STK_SUCCESS)), ack: ACK }
}

fn serve(server: &str, port: u16) {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("server runtime");
    runtime.block_on(async {
        let listener = TcpListener::bind(("127.0.0.1", port)).await.expect("bind");
        match server {
            "hyper" => serve_hyper(listener, None).await,
            "hyper-timeout" => serve_hyper(listener, Some(Duration::from_secs(10))).await,
            "axum" => serve_axum(listener).await,
            "pesakit" => serve_pesakit(listener, None).await,
            // For profiling the guard stage: Safaricom's allowlist, with loopback allowed.
            "pesakit-allowlist" => {
                let guard = pesakit::guard::SourceGuard::safaricom().allow("127.0.0.1").expect("an address");
                serve_pesakit(listener, Some(guard)).await;
            }
            other => panic!("unknown server {other}"),
        }
    });
}

async fn serve_hyper(listener: TcpListener, header_read_timeout: Option<Duration>) {
    loop {
        let (stream, _) = listener.accept().await.expect("accept");
        stream.set_nodelay(true).ok();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(|request: Request<Incoming>| async move {
                let accepted = request.uri().path() == "/payments/stk" && request.method() == http::Method::POST;
                let body = request.into_body().collect().await.map(|collected| collected.to_bytes());
                let parsed = body.ok().filter(|_| accepted).and_then(|body| baseline::parse_stk(&body).ok());
                let mut response = Response::new(Full::new(Bytes::from_static(ACK)));
                if parsed.is_none() {
                    *response.status_mut() = StatusCode::BAD_REQUEST;
                }
                response.headers_mut().insert("content-type", http::HeaderValue::from_static("application/json"));
                Ok::<_, Infallible>(response)
            });
            let mut http = hyper::server::conn::http1::Builder::new();
            if let Some(timeout) = header_read_timeout {
                http.timer(hyper_util::rt::TokioTimer::new()).header_read_timeout(timeout);
            }
            http.serve_connection(TokioIo::new(stream), service).await.ok();
        });
    }
}

async fn serve_axum(listener: TcpListener) {
    async fn stk(body: Bytes) -> (StatusCode, [(&'static str, &'static str); 1], &'static [u8]) {
        let status = if baseline::parse_stk(&body).is_ok() { StatusCode::OK } else { StatusCode::BAD_REQUEST };
        (status, [("content-type", "application/json")], ACK)
    }
    use axum::serve::ListenerExt;

    let app = axum::Router::new().route("/payments/stk", axum::routing::post(stk));
    // Nagle off, as in the other two servers.
    let listener = listener.tap_io(|stream| {
        stream.set_nodelay(true).ok();
    });
    axum::serve(listener, app).await.expect("axum");
}

#[daraja::stk_callback("/payments/stk")]
async fn paid(callback: StkCallback) {
    if let StkOutcome::Paid(payment) = callback.outcome() {
        std::hint::black_box(payment.amount);
    }
}

async fn serve_pesakit(listener: TcpListener, guard: Option<pesakit::guard::SourceGuard>) {
    let routes = pesakit::routes![paid];
    let routes = match guard {
        Some(guard) => routes.guard(guard),
        None => routes,
    };
    loopback::bench_server(listener).serve(routes).await.expect("pesakit");
}

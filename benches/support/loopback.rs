//! Load over loopback, shared by the load benchmarks: server processes,
//! keep-alive clients, and the figures they report.

// Statistics over latencies, not money: floats are the right tool here.
#![allow(clippy::float_arithmetic, clippy::cast_possible_truncation, dead_code, unreachable_pub)]

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// What the clients send, and the answer they expect.
#[derive(Clone)]
pub struct Requests {
    pub path: &'static str,
    /// The body of request `number` on connection `connection`.
    pub body: std::sync::Arc<dyn Fn(usize, u64) -> Bytes + Send + Sync>,
    pub ack: &'static [u8],
}

/// The bundled server as the load runs it: every load connection comes
/// from one loopback address and stays open for the whole run, so the
/// per-address and per-connection limits are lifted, as the hand-written
/// baselines have none.
pub fn bench_server(listener: tokio::net::TcpListener) -> pesakit::Server {
    pesakit::Server::from_listener(listener)
        .max_connections(4096)
        .max_connections_per_address(4096)
        .max_requests_per_connection(u64::MAX)
        .max_connection_age(std::time::Duration::from_secs(24 * 60 * 60))
}

/// What a load benchmark's command line asks: serve one server (the
/// benchmark runs itself as its servers), or measure.
pub enum Arguments {
    /// `--serve NAME PORT`.
    Serve(String, u16),
    /// `[WARM-UP-S [MEASURED-S [ROUNDS]]]`, defaults 1, 3 and 3.
    Measure { warm_up: Duration, measured: Duration, rounds: u64 },
}

pub fn arguments() -> Arguments {
    let args: Vec<String> = std::env::args().skip(1).filter(|arg| arg != "--bench").collect();
    if let [flag, server, port] = args.as_slice()
        && flag == "--serve"
    {
        return Arguments::Serve(server.clone(), port.parse().expect("port"));
    }
    let number = |index: usize, default: u64| args.get(index).and_then(|arg| arg.parse().ok()).unwrap_or(default);
    Arguments::Measure {
        warm_up: Duration::from_secs(number(0, 1)),
        measured: Duration::from_secs(number(1, 3)),
        rounds: number(2, 3).max(1),
    }
}

pub fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

pub struct Report {
    pub requests_per_second: f64,
    pub cpu_micros_per_request: f64,
    pub p50_micros: f64,
    pub p99_micros: f64,
    pub peak_mebibytes: f64,
    /// When the measured window began and ended.
    pub window: (std::time::SystemTime, std::time::SystemTime),
    /// The port the server listened on.
    pub port: u16,
}

/// Runs `server` in its own process and drives it with `connections`
/// keep-alive clients posting `body(connection, number)` to `path`, each
/// answer checked against `ack`.
pub fn measure(server: &str, connections: usize, warm_up: Duration, measured: Duration, requests: &Requests) -> Report {
    measure_instances(server, 1, connections, warm_up, measured, requests)
}

/// As [`measure`], with `instances` processes of `server`, the clients
/// spread over them evenly; CPU is their sum, memory the largest.
pub fn measure_instances(
    server: &str,
    instances: usize,
    connections: usize,
    warm_up: Duration,
    measured: Duration,
    requests: &Requests,
) -> Report {
    let ports: Vec<u16> = (0..instances.max(1)).map(|_| free_port()).collect();
    let children: Vec<ServerProcess> = ports.iter().map(|port| ServerProcess::spawn(server, *port)).collect();
    let addrs: Vec<SocketAddr> = ports.iter().map(|port| SocketAddr::from(([127, 0, 0, 1], *port))).collect();
    let cpu_time = || children.iter().map(ServerProcess::cpu_time).sum::<Duration>();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("load runtime");
    let mut window_start = std::time::SystemTime::now();
    let (latencies, cpu) = runtime.block_on(async {
        for addr in &addrs {
            wait_until_listening(*addr).await;
        }
        let load = tokio::spawn(run_load(addrs.clone(), connections, warm_up, measured, requests.clone()));
        tokio::time::sleep(warm_up).await;
        window_start = std::time::SystemTime::now();
        let cpu_before = cpu_time();
        let latencies = load.await.expect("load");
        (latencies, cpu_time().saturating_sub(cpu_before))
    });
    let peak_mebibytes = children.iter().map(ServerProcess::peak_mebibytes).fold(f64::NAN, f64::max);
    for child in children {
        child.stop();
    }
    let mut latencies = latencies;
    latencies.sort_unstable();
    let percentile = |fraction: f64| {
        let index = ((latencies.len() as f64 - 1.0) * fraction).round() as usize;
        latencies.get(index).copied().unwrap_or_default() as f64
    };
    Report {
        cpu_micros_per_request: cpu.as_secs_f64() * 1e6 / latencies.len().max(1) as f64,
        requests_per_second: latencies.len() as f64 / measured.as_secs_f64(),
        p50_micros: percentile(0.50),
        p99_micros: percentile(0.99),
        peak_mebibytes,
        window: (window_start, window_start + measured),
        port: ports[0],
    }
}

/// Latencies in microseconds of the requests completed in the measured
/// window; client `n` talks to `addrs[n % addrs.len()]`.
pub async fn run_load(
    addrs: Vec<SocketAddr>,
    connections: usize,
    warm_up: Duration,
    measured: Duration,
    requests: Requests,
) -> Vec<u64> {
    let start = Instant::now() + warm_up;
    let end = start + measured;
    let workers: Vec<_> = (0..connections)
        .map(|client| {
            let requests = requests.clone();
            let addr = addrs[client % addrs.len()];
            tokio::spawn(async move {
                let stream = TcpStream::connect(addr).await.expect("connect");
                stream.set_nodelay(true).expect("nodelay");
                let (mut sender, connection) =
                    hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.expect("handshake");
                tokio::spawn(connection);
                let mut latencies = Vec::new();
                for number in 0_u64.. {
                    let request = Request::post(requests.path)
                        .header("host", "localhost")
                        .header("content-type", "application/json")
                        .body(Full::new((requests.body)(client, number)))
                        .expect("request");
                    let sent = Instant::now();
                    if sent >= end {
                        return latencies;
                    }
                    let response = sender.send_request(request).await.expect("response");
                    assert_eq!(response.status(), StatusCode::OK);
                    let body = response.into_body().collect().await.expect("body").to_bytes();
                    assert_eq!(&body[..], requests.ack);
                    if sent >= start {
                        latencies.push(u64::try_from(sent.elapsed().as_micros()).unwrap_or(u64::MAX));
                    }
                }
                latencies
            })
        })
        .collect();
    let mut all = Vec::new();
    for worker in workers {
        all.extend(worker.await.expect("load worker"));
    }
    all
}

pub async fn wait_until_listening(addr: SocketAddr) {
    for _ in 0..200 {
        if TcpStream::connect(addr).await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("server at {addr} did not start");
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|listener| listener.local_addr()).expect("a free port").port()
}

pub struct ServerProcess(Child);

impl ServerProcess {
    pub fn spawn(server: &str, port: u16) -> Self {
        let executable = std::env::current_exe().expect("this benchmark's path");
        let child = Command::new(executable)
            .args(["--serve", server, &port.to_string()])
            .stdout(Stdio::null())
            .spawn()
            .expect("spawning the server");
        Self(child)
    }

    /// Peak resident set size (`VmHWM`) of the server process.
    pub fn peak_mebibytes(&self) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.0.id())).unwrap_or_default();
        let kibibytes: f64 = status
            .lines()
            .find_map(|line| line.strip_prefix("VmHWM:"))
            .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(f64::NAN);
        kibibytes / 1024.0
    }

    /// CPU time the server process has used (user + system).
    pub fn cpu_time(&self) -> Duration {
        stat_cpu_time(&std::fs::read_to_string(format!("/proc/{}/stat", self.0.id())).unwrap_or_default(), false)
    }

    pub fn stop(mut self) {
        self.0.kill().ok();
        self.0.wait().ok();
    }
}

/// The CPU time in a `/proc/PID/stat` line: user and system, and with
/// `children` that of its reaped children too.
pub fn stat_cpu_time(stat: &str, children: bool) -> Duration {
    // Fields after the parenthesised command name; utime, stime, cutime and
    // cstime are the 12th to the 15th, in ticks of 10 ms.
    let fields: Vec<&str> = stat.rsplit(')').next().unwrap_or_default().split_whitespace().collect();
    let end = if children { 15 } else { 13 };
    let ticks: u64 = fields.get(11..end).map_or(0, |times| times.iter().filter_map(|f| f.parse::<u64>().ok()).sum());
    Duration::from_millis(ticks * 10)
}

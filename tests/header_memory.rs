//! Memory held by clients that never finish their headers: 1,000
//! connections, each 15 KiB into a request line and headers that never end,
//! with the default 16 KiB header cap. Measured as the growth of this
//! process's resident set, server and clients together; a test binary of
//! its own so that no other test's allocations count.

#[path = "support/raw_http.rs"]
mod raw_http;

use std::net::IpAddr;
use std::time::Duration;

use pesakit::{Server, StkCallback, daraja};
use raw_http::connect_from;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;

#[daraja::stk_callback("/stk")]
fn stk(_callback: StkCallback) {}

/// The bound stated in BENCHMARKS.md's attack table.
const BOUND_MIB: u64 = 48;

/// This process's resident set, in KiB, from `/proc`.
fn resident_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let line = status.lines().find(|line| line.starts_with("VmRSS:")).expect("a VmRSS line");
    line.split_whitespace().nth(1).and_then(|kib| kib.parse().ok()).expect("VmRSS in kB")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_unfinished_15_kib_headers_stay_under_the_bound() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
    let addr = listener.local_addr().expect("bound");
    // The header read timeout stays well past the measurement.
    let server = Server::from_listener(listener).header_read_timeout(Duration::from_secs(60));
    tokio::spawn(server.serve(pesakit::routes![stk]));
    tokio::time::sleep(Duration::from_millis(100)).await;
    let before = resident_kib();

    let mut head = String::from("POST /stk HTTP/1.1\r\nHost: localhost\r\n");
    while head.len() < 15 * 1024 {
        head.push_str("X-Padding: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n");
    }
    let mut open = Vec::new();
    // Eight addresses of 125 connections, inside the per-address default.
    for index in 0..1000u16 {
        let source = IpAddr::from([127, 0, 1, u8::try_from(index % 8).expect("small") + 1]);
        let mut stream = connect_from(source, addr).await;
        stream.write_all(head.as_bytes()).await.expect("an unfinished header");
        open.push(stream);
    }
    // Time for the server to read what was sent.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let grown_kib = resident_kib().saturating_sub(before);
    println!("1,000 unfinished 15 KiB headers: resident set grew by {} KiB", grown_kib);
    assert!(grown_kib < BOUND_MIB * 1024, "grew by {grown_kib} KiB, over {BOUND_MIB} MiB");
    drop(open);
}

//! In-process `Routes::dispatch` of an STK success through a one-route table,
//! against the same bare `serde_json::from_slice` baseline as
//! `benches/payload.rs`.
//!
//! Run with `cargo bench -p pesakit-benches --bench dispatch`; figures live in `BENCHMARKS.md`.

#![allow(missing_docs)]

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use divan::{Bencher, black_box};
use pesakit::{StkCallback, StkOutcome, daraja};

#[path = "support/baseline.rs"]
mod baseline;

fn main() {
    divan::Divan::from_args().sample_count(2000).sample_size(64).main();
}

const STK_SUCCESS: &[u8] = include_bytes!("../tests/fixtures/stk/real_2024_success_new_style_merchant_request_id.json");

#[daraja::stk_callback("/payments/stk")]
async fn paid(callback: StkCallback) {
    if let StkOutcome::Paid(payment) = callback.outcome() {
        black_box(payment.amount);
    }
}

/// Polls a future that never waits, as dispatch of a notification is.
fn complete<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
            return output;
        }
    }
}

#[divan::bench(name = "stk_success/serde_json_baseline")]
fn stk_baseline(bencher: Bencher<'_, '_>) {
    bencher.bench(|| baseline::parse_stk(black_box(STK_SUCCESS)));
}

#[divan::bench(name = "stk_success/pesakit_dispatch")]
fn stk_dispatch(bencher: Bencher<'_, '_>) {
    let routes = pesakit::routes![paid];
    let request = http::Request::post("/payments/stk").body(Bytes::from_static(STK_SUCCESS)).expect("valid request");
    bencher.with_inputs(|| request.clone()).bench_local_values(|request| complete(routes.dispatch(request)));
}

//! `StkCallback::from_slice` against the floor: a bare `serde_json::from_slice`
//! into a minimal hand-written struct of the same body.
//!
//! Run with `cargo bench -p pesakit-benches --bench payload`; figures live in `BENCHMARKS.md`.

#![allow(missing_docs)]

use divan::{Bencher, black_box};
use pesakit::{B2cParams, C2bPayment, DarajaResult, Payload, StkCallback};

fn main() {
    // Many iterations per sample keep the timer's resolution out of the figures.
    divan::Divan::from_args().sample_count(2000).sample_size(64).main();
}

const STK_SUCCESS: &[u8] = include_bytes!("../tests/fixtures/stk/real_2024_success_new_style_merchant_request_id.json");
const C2B_CONFIRMATION: &[u8] = include_bytes!("../tests/fixtures/c2b_confirmation/official_v3_masked_msisdn.json");
const B2C_SUCCESS: &[u8] = include_bytes!("../tests/fixtures/b2c_result/official_v3_success.json");

#[path = "support/baseline.rs"]
mod baseline;

#[divan::bench(name = "stk_success/serde_json_baseline")]
fn stk_baseline(bencher: Bencher<'_, '_>) {
    bencher.bench(|| baseline::parse_stk(black_box(STK_SUCCESS)));
}

#[divan::bench(name = "stk_success/pesakit")]
fn stk_pesakit(bencher: Bencher<'_, '_>) {
    bencher.bench(|| StkCallback::from_slice(black_box(STK_SUCCESS)));
}

#[divan::bench(name = "c2b_confirmation/pesakit")]
fn c2b_pesakit(bencher: Bencher<'_, '_>) {
    bencher.bench(|| C2bPayment::from_slice(black_box(C2B_CONFIRMATION)));
}

#[divan::bench(name = "b2c_result/pesakit")]
fn b2c_pesakit(bencher: Bencher<'_, '_>) {
    bencher.bench(|| DarajaResult::<B2cParams>::from_slice(black_box(B2C_SUCCESS)));
}

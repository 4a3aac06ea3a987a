//! `StkCallback::from_slice` against the floor: a bare `serde_json::from_slice`
//! into a minimal hand-written struct of the same body.
//!
//! Run with `cargo bench --bench payload`; figures live in `BENCHMARKS.md`.

#![allow(missing_docs)]

use divan::{Bencher, black_box};
use pesakit::{B2cParams, C2bPayment, DarajaResult, Payload, StkCallback};
use serde::Deserialize;

fn main() {
    // Many iterations per sample keep the timer's resolution out of the figures.
    divan::Divan::from_args().sample_count(2000).sample_size(64).main();
}

const STK_SUCCESS: &[u8] =
    include_bytes!("../../shared/fixtures/stk/real_2024_success_new_style_merchant_request_id.json");
const C2B_CONFIRMATION: &[u8] = include_bytes!("../../shared/fixtures/c2b_confirmation/official_v3_masked_msisdn.json");
const B2C_SUCCESS: &[u8] = include_bytes!("../../shared/fixtures/b2c_result/official_v3_success.json");

/// What a team writes by hand today: no validation, amounts as `f64`.
mod baseline {
    use super::Deserialize;

    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    pub(super) struct Envelope {
        pub(super) body: Body,
    }

    #[derive(Deserialize)]
    pub(super) struct Body {
        #[serde(rename = "stkCallback")]
        pub(super) stk_callback: Callback,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    pub(super) struct Callback {
        #[serde(rename = "MerchantRequestID")]
        pub(super) merchant_request_id: String,
        #[serde(rename = "CheckoutRequestID")]
        pub(super) checkout_request_id: String,
        pub(super) result_code: i64,
        pub(super) result_desc: String,
        pub(super) callback_metadata: Option<Metadata>,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    pub(super) struct Metadata {
        pub(super) item: Vec<Item>,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    pub(super) struct Item {
        pub(super) name: String,
        pub(super) value: Option<serde_json::Value>,
    }
}

#[divan::bench(name = "stk_success/serde_json_baseline")]
fn stk_baseline(bencher: Bencher<'_, '_>) {
    bencher.bench(|| {
        serde_json::from_slice::<baseline::Envelope>(black_box(STK_SUCCESS)).map(|envelope| {
            let callback = envelope.body.stk_callback;
            let items = callback.callback_metadata.map(|metadata| metadata.item);
            let amount = items.iter().flatten().find(|item| item.name == "Amount").and_then(|item| item.value.clone());
            (
                callback.result_code,
                callback.merchant_request_id,
                callback.checkout_request_id,
                callback.result_desc,
                amount,
            )
        })
    });
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

//! The floor every pesakit benchmark is measured against: what a team writes
//! by hand today, a bare `serde_json::from_slice` into a minimal struct (no
//! validation, amounts as JSON values, no error paths).

use serde::Deserialize;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Envelope {
    body: Body,
}

#[derive(Deserialize)]
struct Body {
    #[serde(rename = "stkCallback")]
    stk_callback: Callback,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Callback {
    #[serde(rename = "MerchantRequestID")]
    merchant_request_id: String,
    #[serde(rename = "CheckoutRequestID")]
    checkout_request_id: String,
    result_code: i64,
    result_desc: String,
    callback_metadata: Option<Metadata>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Metadata {
    item: Vec<Item>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Item {
    name: String,
    value: Option<serde_json::Value>,
}

/// The result code, ids, description and amount of an STK callback.
pub(crate) type StkSummary = (i64, String, String, String, Option<serde_json::Value>);

/// Parses an STK callback the hand-written way.
pub(crate) fn parse_stk(body: &[u8]) -> serde_json::Result<StkSummary> {
    serde_json::from_slice::<Envelope>(body).map(|envelope| {
        let callback = envelope.body.stk_callback;
        let items = callback.callback_metadata.map(|metadata| metadata.item);
        let amount = items.iter().flatten().find(|item| item.name == "Amount").and_then(|item| item.value.clone());
        (callback.result_code, callback.merchant_request_id, callback.checkout_request_id, callback.result_desc, amount)
    })
}

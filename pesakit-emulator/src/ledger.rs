//! What the emulator did: every transaction it accepted, its scenario, its
//! state and each delivery of its callback, as `GET /emulator/transactions`
//! lists them.

use std::sync::Mutex;
use std::time::SystemTime;

use serde_json::{Value, json};

/// One delivery attempt of a callback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// Where it was posted.
    pub url: String,
    /// The receiver's status, or `None` when it could not be reached.
    pub status: Option<u16>,
    /// The receiver's body (at most 4 KiB kept), or why it was not reached.
    pub answer: String,
    /// How long the receiver took, in milliseconds.
    pub latency_ms: u64,
    /// Whether the answer is the acknowledgement Daraja expects (HTTP 200
    /// with `ResultCode` 0).
    pub acknowledged: bool,
}

/// A transaction the emulator accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transaction {
    /// `stk_push`, …
    pub api: &'static str,
    /// The ids Daraja answered with (`CheckoutRequestID`, …).
    pub id: String,
    /// The other id it answered with (`MerchantRequestID`, …).
    pub other_id: String,
    /// Who pays or is paid (the phone of an STK push).
    pub party: String,
    /// The scenario played, such as `paid` or `cancelled (1032)`.
    pub scenario: String,
    /// `pending` until the result is decided, then the result code.
    pub result_code: Option<String>,
    /// The result's description.
    pub result_desc: Option<String>,
    /// Every delivery of its callback.
    pub deliveries: Vec<Delivery>,
    /// When the request arrived.
    pub created_at: SystemTime,
}

/// Every transaction, oldest first.
#[derive(Debug, Default)]
pub(crate) struct Ledger {
    transactions: Mutex<Vec<Transaction>>,
}

impl Ledger {
    fn with<T>(&self, change: impl FnOnce(&mut Vec<Transaction>) -> T) -> T {
        change(&mut self.transactions.lock().unwrap_or_else(std::sync::PoisonError::into_inner))
    }

    pub(crate) fn add(&self, transaction: Transaction) {
        self.with(|transactions| transactions.push(transaction));
    }

    pub(crate) fn find(&self, id: &str) -> Option<Transaction> {
        self.with(|transactions| transactions.iter().find(|transaction| transaction.id == id).cloned())
    }

    /// Records the final result of `id`.
    pub(crate) fn decide(&self, id: &str, code: String, desc: String) {
        self.with(|transactions| {
            if let Some(transaction) = transactions.iter_mut().find(|transaction| transaction.id == id) {
                transaction.result_code = Some(code);
                transaction.result_desc = Some(desc);
            }
        });
    }

    pub(crate) fn delivered(&self, id: &str, delivery: Delivery) {
        self.with(|transactions| {
            if let Some(transaction) = transactions.iter_mut().find(|transaction| transaction.id == id) {
                transaction.deliveries.push(delivery);
            }
        });
    }

    /// Whether a transaction of `api` for `party` is still pending.
    pub(crate) fn pending_for(&self, api: &str, party: &str) -> bool {
        self.with(|transactions| {
            transactions.iter().any(|transaction| {
                transaction.api == api && transaction.result_code.is_none() && transaction.party == party
            })
        })
    }

    pub(crate) fn snapshot(&self) -> Vec<Transaction> {
        self.with(|transactions| transactions.clone())
    }

    pub(crate) fn to_json(&self) -> Value {
        let transactions: Vec<Value> = self
            .snapshot()
            .iter()
            .map(|transaction| {
                let deliveries: Vec<Value> = transaction
                    .deliveries
                    .iter()
                    .map(|delivery| {
                        json!({
                            "url": delivery.url,
                            "status": delivery.status,
                            "answer": delivery.answer,
                            "latency_ms": delivery.latency_ms,
                            "acknowledged": delivery.acknowledged,
                        })
                    })
                    .collect();
                json!({
                    "api": transaction.api,
                    "id": transaction.id,
                    "other_id": transaction.other_id,
                    "scenario": transaction.scenario,
                    "state": if transaction.result_code.is_some() { "done" } else { "pending" },
                    "result_code": transaction.result_code,
                    "result_desc": transaction.result_desc,
                    "deliveries": deliveries,
                })
            })
            .collect();
        json!({ "transactions": transactions })
    }
}

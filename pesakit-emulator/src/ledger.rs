//! What the emulator did: every transaction it accepted, its scenario, its
//! state and each delivery of its callback, as `GET /emulator/transactions`
//! lists them.

use std::sync::Mutex;
use std::time::SystemTime;

use pesakit::Amount;
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
    /// The M-Pesa receipt of the money it moved (`MpesaReceiptNumber`,
    /// `TransID`, a result's `TransactionID`), once it succeeded.
    pub receipt: Option<String>,
    /// The amount asked, where the API takes one.
    pub amount: Option<Amount>,
    /// Every delivery of its callback.
    pub deliveries: Vec<Delivery>,
    /// When the request arrived.
    pub created_at: SystemTime,
}

/// How a transaction ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Decision {
    /// The result code, as the STK query reports it (a string).
    pub(crate) code: String,
    pub(crate) desc: String,
    /// The receipt of a success that moved money.
    pub(crate) receipt: Option<String>,
}

impl Decision {
    /// Reads the decision from a built `Result` body (B2C, B2B, …).
    pub(crate) fn of_result(body: &str) -> Self {
        let parsed: Value = serde_json::from_str(body).unwrap_or_default();
        let result = &parsed["Result"];
        let code = code_text(&result["ResultCode"]);
        let receipt = result["TransactionID"].as_str().filter(|_| code == "0").map(str::to_owned);
        Self { code, desc: result["ResultDesc"].as_str().unwrap_or_default().to_owned(), receipt }
    }
}

/// A result code as text, whether the body wrote a number or a string.
fn code_text(code: &Value) -> String {
    code.as_str().map_or_else(|| code.to_string(), str::to_owned)
}

/// A transaction that moved money, as a status query or a reversal finds
/// it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Payment {
    pub(crate) receipt: String,
    /// The API that made it.
    pub(crate) api: &'static str,
    pub(crate) amount: Option<Amount>,
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

    /// The payment whose receipt or id (a B2C payout's
    /// `OriginatorConversationID`, an STK push's `CheckoutRequestID`) is
    /// `id`: what a transaction status query or a reversal names.
    pub(crate) fn find_payment(&self, id: &str) -> Option<Payment> {
        self.with(|transactions| {
            transactions.iter().find_map(|transaction| {
                let receipt = transaction.receipt.as_deref()?;
                (receipt == id || transaction.id == id).then(|| Payment {
                    receipt: receipt.to_owned(),
                    api: transaction.api,
                    amount: transaction.amount,
                })
            })
        })
    }

    /// Records the final result of `id`.
    pub(crate) fn decide(&self, id: &str, decision: Decision) {
        self.with(|transactions| {
            if let Some(transaction) = transactions.iter_mut().find(|transaction| transaction.id == id) {
                transaction.result_code = Some(decision.code);
                transaction.result_desc = Some(decision.desc);
                transaction.receipt = decision.receipt;
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
                    "receipt": transaction.receipt,
                    "amount": transaction.amount.map(|amount| amount.to_string()),
                    "deliveries": deliveries,
                })
            })
            .collect();
        json!({ "transactions": transactions })
    }
}

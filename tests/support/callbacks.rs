//! One handler per callback kind, plus failing and slow ones, for the
//! contract suite that every host runs.

#![allow(dead_code, unreachable_pub)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use pesakit::guard::{GuardRequest, GuardVerdict, SourceGuard};
use pesakit::{
    AccountBalanceParams, B2bParams, B2cParams, C2bPayment, DarajaResult, PeerAddr, QueueTimeout, ReversalParams,
    Routes, State, StkCallback, TransactionStatusParams, Validation, daraja,
};

/// Correlation ids the handlers saw, and the last peer address.
#[derive(Clone, Default)]
pub struct Seen {
    pub ids: Arc<Mutex<Vec<String>>>,
    pub peer: Arc<Mutex<Option<PeerAddr>>>,
}

impl Seen {
    fn saw(&self, id: impl ToString) {
        self.ids.lock().expect("not poisoned").push(id.to_string());
    }
}

use pesakit::Payload;

#[daraja::stk_callback("/contract/stk")]
async fn stk(callback: StkCallback, State(seen): State<Seen>, peer: Option<PeerAddr>) {
    seen.saw(callback.correlation_id());
    *seen.peer.lock().expect("not poisoned") = peer;
}

#[daraja::c2b_validation("/contract/validate")]
async fn validate(payment: C2bPayment, State(seen): State<Seen>) -> Validation {
    seen.saw(payment.correlation_id());
    Validation::Accept
}

#[daraja::c2b_confirmation("/contract/confirm")]
fn confirm(payment: C2bPayment, State(seen): State<Seen>) {
    seen.saw(payment.correlation_id());
}

#[daraja::b2c_result("/contract/b2c")]
fn b2c(result: DarajaResult<B2cParams>, State(seen): State<Seen>) {
    seen.saw(result.correlation_id());
}

#[daraja::account_balance_result("/contract/balance")]
async fn balance(result: DarajaResult<AccountBalanceParams>, State(seen): State<Seen>) {
    seen.saw(result.correlation_id());
}

#[daraja::transaction_status_result("/contract/status")]
async fn status(result: DarajaResult<TransactionStatusParams>, State(seen): State<Seen>) {
    seen.saw(result.correlation_id());
}

#[daraja::reversal_result("/contract/reversal")]
fn reversal(result: DarajaResult<ReversalParams>, State(seen): State<Seen>) {
    seen.saw(result.correlation_id());
}

#[daraja::b2b_result("/contract/b2b")]
async fn b2b(result: DarajaResult<B2bParams>, State(seen): State<Seen>) {
    seen.saw(result.correlation_id());
}

#[daraja::queue_timeout("/contract/timeout")]
fn timeout(timeout: QueueTimeout, State(seen): State<Seen>) {
    seen.saw(timeout.correlation_id());
}

#[daraja::stk_callback("/contract/{secret}/stk")]
async fn secret_stk(callback: StkCallback, State(seen): State<Seen>) {
    seen.saw(callback.correlation_id());
}

/// The contract table's path secret.
pub const SECRET: &str = "contract-Secret_0123456789";

#[daraja::stk_callback("/contract/failing")]
fn failing(_callback: StkCallback) -> Result<(), String> {
    Err("ledger unavailable".into())
}

#[daraja::stk_callback("/contract/panicking")]
async fn panicking(_callback: StkCallback) {
    panic!("handler bug");
}

#[daraja::c2b_validation("/contract/slow-validate")]
async fn slow_validation(_payment: C2bPayment) -> Validation {
    std::future::pending::<()>().await;
    Validation::Accept
}

/// The contract's test guard: refuses a request that asks for it in
/// `x-contract-guard`, and any request whose host passed no peer address
/// (every host must).
fn contract_guard(request: &GuardRequest<'_>) -> GuardVerdict {
    match request.headers().get("x-contract-guard").map(|value| value.as_bytes()) {
        Some(b"forbid") => GuardVerdict::Forbid("the request asked to be forbidden".into()),
        Some(b"conceal") => GuardVerdict::Conceal("the request asked to be concealed".into()),
        _ if request.peer().is_none() => GuardVerdict::Forbid("the host gave no peer address".into()),
        _ => GuardVerdict::Allow,
    }
}

/// Safaricom's gateways, and loopback, the contract's client, which is also
/// its trusted proxy: a forwarded address decides when there is one.
fn source_guard() -> SourceGuard {
    SourceGuard::safaricom().allow("127.0.0.1").and_then(|guard| guard.trust_proxy("127.0.0.1")).expect("valid sources")
}

/// The table every host serves.
pub fn table(seen: &Seen) -> Routes {
    pesakit::routes![
        stk,
        validate,
        confirm,
        b2c,
        balance,
        status,
        reversal,
        b2b,
        timeout,
        failing,
        panicking,
        slow_validation,
        secret_stk
    ]
    .with_state(seen.clone())
    .validation_deadline(Duration::from_millis(100))
    .guard(contract_guard)
    .guard(source_guard())
    .path_secret(SECRET)
    .expect("a valid secret")
}

/// Fixture folder and path of every kind.
pub const KINDS: [(&str, &str); 9] = [
    ("stk", "/contract/stk"),
    ("c2b_validation", "/contract/validate"),
    ("c2b_confirmation", "/contract/confirm"),
    ("b2c_result", "/contract/b2c"),
    ("account_balance_result", "/contract/balance"),
    ("transaction_status_result", "/contract/status"),
    ("reversal_result", "/contract/reversal"),
    ("b2b_result", "/contract/b2b"),
    ("timeout", "/contract/timeout"),
];

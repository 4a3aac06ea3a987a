//! A handler for every Daraja callback kind at its default path, on the
//! bundled runtime at http://127.0.0.1:3000.
//!
//! ```sh
//! cargo run --example quickstart
//! ```
//!
//! Every callback is stored in a durable inbox, `pesakit-inbox.db` in the
//! working directory, before it is acknowledged; its handler then runs from
//! the inbox, once, retried if it fails. Each handled callback logs one line
//! with its kind, correlation id and outcome. Stop with Ctrl-C: in-flight
//! requests finish first.

use pesakit::{
    AccountBalanceParams, B2bParams, B2cParams, C2bPayment, DarajaResult, Payload, QueueTimeout, RejectCode,
    ReversalParams, StkCallback, StkOutcome, TransactionStatusParams, Untrusted, Validation, daraja,
};
use tracing::info;

const ADDRESS: &str = "127.0.0.1:3000";
const INBOX: &str = "pesakit-inbox.db";

#[daraja::stk_callback]
async fn stk(callback: StkCallback) {
    let id = safe(callback.correlation_id());
    match callback.outcome() {
        StkOutcome::Paid(payment) => {
            info!(kind = "stk_callback", %id, amount = %payment.amount, receipt = %safe(&payment.receipt), "paid");
        }
        outcome => {
            let outcome = safe(format_args!("{outcome:?}"));
            info!(kind = "stk_callback", %id, code = %safe(&callback.result_code), %outcome, "not paid");
        }
    }
}

#[daraja::c2b_validation]
fn c2b_validation(payment: C2bPayment) -> Validation {
    let verdict = if payment.bill_ref_number.trim().is_empty() {
        Validation::Reject(RejectCode::InvalidAccountNumber)
    } else {
        Validation::Accept
    };
    info!(kind = "c2b_validation", id = %safe(payment.correlation_id()), amount = %payment.trans_amount, ?verdict, "validated");
    verdict
}

#[daraja::c2b_confirmation]
async fn c2b_confirmation(payment: C2bPayment) {
    info!(
        kind = "c2b_confirmation",
        id = %safe(payment.correlation_id()),
        amount = %payment.trans_amount,
        account = %safe(&payment.bill_ref_number),
        "received"
    );
}

#[daraja::b2c_result]
async fn b2c_result(result: DarajaResult<B2cParams>) {
    let amount = result.params.transaction_amount.map(|amount| amount.to_string()).unwrap_or_default();
    let receipt = result.params.transaction_receipt.as_deref().unwrap_or_default();
    let receipt = safe(receipt);
    info!(kind = "b2c_result", id = %safe(result.correlation_id()), code = %safe(&result.result_code), amount, %receipt, "result");
}

#[daraja::account_balance_result]
async fn account_balance_result(result: DarajaResult<AccountBalanceParams>) {
    for account in &result.params.accounts {
        info!(kind = "account_balance_result", id = %safe(result.correlation_id()), account = %safe(&account.name), available = %account.amounts[0], "balance");
    }
}

#[daraja::transaction_status_result]
async fn transaction_status_result(result: DarajaResult<TransactionStatusParams>) {
    let status = result.params.transaction_status.as_deref().unwrap_or("unknown");
    info!(kind = "transaction_status_result", id = %safe(result.correlation_id()), code = %safe(&result.result_code), status = %safe(status), "status");
}

#[daraja::reversal_result]
async fn reversal_result(result: DarajaResult<ReversalParams>) {
    info!(kind = "reversal_result", id = %safe(result.correlation_id()), code = %safe(&result.result_code), "result");
}

#[daraja::b2b_result]
async fn b2b_result(result: DarajaResult<B2bParams>) {
    let amount = result.params.amount.map(|amount| amount.to_string()).unwrap_or_default();
    info!(kind = "b2b_result", id = %safe(result.correlation_id()), code = %safe(&result.result_code), amount, "result");
}

#[daraja::queue_timeout]
async fn queue_timeout(timeout: QueueTimeout) {
    info!(kind = "queue_timeout", id = %safe(timeout.correlation_id()), "timed out in the queue: reconcile with a status query");
}

/// A value from a callback, escaped and cut short for the log: a caller
/// must not be able to forge log lines or flood them.
fn safe(value: impl std::fmt::Display) -> String {
    Untrusted(&value.to_string()).to_string()
}

const SAMPLE_STK: &str = r#"{"Body":{"stkCallback":{"MerchantRequestID":"29115-34620561-1","CheckoutRequestID":"ws_CO_191220191020363925","ResultCode":0,"ResultDesc":"The service request is processed successfully.","CallbackMetadata":{"Item":[{"Name":"Amount","Value":1.00},{"Name":"MpesaReceiptNumber","Value":"NLJ7RT61SV"},{"Name":"TransactionDate","Value":20191219102115},{"Name":"PhoneNumber","Value":254708374149}]}}}}"#;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Logs at info unless RUST_LOG says otherwise; colours only on a terminal.
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .init();
    let routes = pesakit::routes![
        stk,
        c2b_validation,
        c2b_confirmation,
        b2c_result,
        account_balance_result,
        transaction_status_result,
        reversal_result,
        b2b_result,
        queue_timeout,
    ]
    .with_inbox(pesakit::Inbox::sqlite(INBOX)?);
    println!("pesakit quickstart: callbacks are stored in {INBOX} before they are acknowledged");
    println!("Daraja callback URLs:");
    for route in &routes {
        println!("  {:<26} http://{ADDRESS}{}", route.kind().attribute_name(), route.path());
    }
    println!("\nPost a sample STK payment from another terminal:\n");
    println!(
        "  curl -s -X POST http://{ADDRESS}/callbacks/stk -H 'Content-Type: application/json' -d '{SAMPLE_STK}'\n"
    );
    pesakit::serve(ADDRESS, routes).await?;
    Ok(())
}

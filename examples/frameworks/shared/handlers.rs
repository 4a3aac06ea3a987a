//! The handlers the framework examples mount beside their own routes.

use pesakit::{C2bPayment, Payload, RejectCode, State, StkCallback, StkOutcome, Validation, daraja};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Application state shared by the app's routes and pesakit's handlers.
#[derive(Clone, Default)]
pub(crate) struct Shop {
    /// Total paid through STK, in cents.
    pub(crate) paid_cents: Arc<AtomicU64>,
}

#[daraja::stk_callback("/payments/stk")]
pub(crate) async fn paid(callback: StkCallback, State(shop): State<Shop>) {
    if let StkOutcome::Paid(payment) = callback.outcome() {
        let cents = u64::try_from(payment.amount.minor_units()).unwrap_or_default();
        shop.paid_cents.fetch_add(cents, Ordering::Relaxed);
        tracing::info!(id = %callback.correlation_id(), amount = %payment.amount, receipt = %payment.receipt, "paid");
    } else {
        tracing::info!(id = %callback.correlation_id(), code = %callback.result_code, "not paid");
    }
}

#[daraja::c2b_validation("/payments/c2b/validate")]
pub(crate) fn validate(payment: C2bPayment) -> Validation {
    if payment.bill_ref_number.starts_with("invoice-") {
        Validation::Accept
    } else {
        Validation::Reject(RejectCode::InvalidAccountNumber)
    }
}

#[daraja::c2b_confirmation("/payments/c2b/confirm")]
pub(crate) async fn confirmed(payment: C2bPayment) {
    tracing::info!(id = %payment.correlation_id(), amount = %payment.trans_amount, "confirmed");
}

/// The pesakit table, with the shop as state.
pub(crate) fn routes(shop: Shop) -> pesakit::Routes {
    pesakit::routes![paid, validate, confirmed].with_state(shop)
}

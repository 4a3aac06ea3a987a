//! C2B: `registerurl` (v1 and v2) records where a short code's callbacks
//! go; `simulate` plays a customer's payment: the validation first when a
//! validation URL is registered, the verdict honoured, then the
//! confirmation. A validation that does not answer in time (about 8 s on
//! Daraja; a setting here) follows the registered `ResponseType`:
//! `Completed` confirms, `Cancelled` does not.
//!
//! A [`DeliveryPlan`] keyword in `BillRefNumber` (or `POST /emulator/next`)
//! delays the payment, delivers its confirmation several times, or sends
//! nothing at all (`silent`; `timeout-only` is the same, as C2B has no queue
//! timeout).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use pesakit::testing::{C2bPaymentBuilder, kenyan_mobile_number};
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::daraja_error::DarajaError;
use crate::delivery::{Expected, verdict};
use crate::emulator::Shared;
use crate::fields::{check_callback_url, text, whole_shillings};
use crate::ids;
use crate::ledger::{Decision, Transaction};
use crate::plan::DeliveryPlan;

/// Where a short code's C2B callbacks go.
#[derive(Debug, Clone)]
pub(crate) struct Registration {
    confirmation_url: String,
    validation_url: Option<String>,
    completes_without_verdict: bool,
}

/// Registrations by short code.
#[derive(Debug, Default)]
pub(crate) struct Registrations(Mutex<HashMap<String, Registration>>);

/// `registerurl`.
pub(crate) fn register(shared: &Shared, body: &Value) -> Result<Value, DarajaError> {
    let short_code = text(body, "ShortCode")?;
    let completes_without_verdict = match text(body, "ResponseType")?.as_str() {
        "Completed" => true,
        "Cancelled" => false,
        _ => return Err(DarajaError::invalid_field("ResponseType")),
    };
    let confirmation_url = text(body, "ConfirmationURL")?;
    check_callback_url(&confirmation_url, "ConfirmationURL")?;
    let validation_url = match body.get("ValidationURL") {
        Some(_) => {
            let url = text(body, "ValidationURL")?;
            check_callback_url(&url, "ValidationURL")?;
            Some(url)
        }
        None => None,
    };
    let registration = Registration { confirmation_url, validation_url, completes_without_verdict };
    shared.registrations.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(short_code, registration);
    Ok(
        json!({ "OriginatorCoversationID": ids::originator_conversation_id(), "ResponseCode": "0", "ResponseDescription": "Success" }),
    )
}

/// `simulate`.
pub(crate) fn simulate(shared: &Arc<Shared>, body: &Value) -> Result<Value, DarajaError> {
    let short_code = text(body, "ShortCode")?;
    let (builder, bill_ref) = match text(body, "CommandID")?.as_str() {
        "CustomerPayBillOnline" => {
            let bill_ref = text(body, "BillRefNumber")?;
            (C2bPaymentBuilder::pay_bill().bill_ref(&bill_ref), bill_ref)
        }
        "CustomerBuyGoodsOnline" => (C2bPaymentBuilder::buy_goods(), String::new()),
        _ => return Err(DarajaError::invalid_field("CommandID")),
    };
    let amount = whole_shillings(body, "Amount")?;
    let msisdn = text(body, "Msisdn")?;
    let msisdn = kenyan_mobile_number(&msisdn)
        .ok()
        .filter(|normalised| *normalised == msisdn)
        .ok_or_else(|| DarajaError::invalid_field("Msisdn"))?;
    let payment = builder.short_code(&short_code).amount(amount.exact).msisdn(&msisdn);
    let trans_id = payment.id().to_owned();
    let registration =
        shared.registrations.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get(&short_code).cloned();
    // C2B has no queue timeout: of a plan, the copies and the delay apply.
    let plan = DeliveryPlan::from_text(shared.take_override().plan.as_deref().unwrap_or(&bill_ref));
    let flow = match &registration {
        None => "no URLs registered: completes silently",
        Some(Registration { validation_url: Some(_), .. }) => "validation, then confirmation if accepted",
        Some(_) => "confirmation",
    };
    shared.ledger.add(Transaction {
        api: "c2b",
        id: trans_id.clone(),
        other_id: short_code.clone(),
        party: msisdn,
        scenario: format!("{flow}; {}", plan.describe()),
        result_code: None,
        result_desc: None,
        receipt: None,
        amount: Some(amount.exact),
        deliveries: Vec::new(),
        created_at: OffsetDateTime::now_utc().into(),
    });
    tokio::spawn(play(Arc::clone(shared), trans_id, payment, registration, plan));
    Ok(json!({
        "OriginatorCoversationID": ids::originator_conversation_id(),
        "ResponseCode": "0",
        "ResponseDescription": "Accept the service request successfully.",
    }))
}

/// The payment after `simulate` answered: the validation, the verdict
/// honoured, the confirmation as many times as the plan says.
async fn play(
    shared: Arc<Shared>,
    trans_id: String,
    payment: C2bPaymentBuilder,
    registration: Option<Registration>,
    plan: DeliveryPlan,
) {
    if let Some(delay) = plan.delay {
        tokio::time::sleep(delay).await;
    }
    let completed =
        |desc: &str| Decision { code: "0".to_owned(), desc: desc.to_owned(), receipt: Some(trans_id.clone()) };
    let Some(registration) = registration else {
        shared.ledger.decide(&trans_id, completed("completed; nothing registered to tell"));
        return;
    };
    let confirm = match (&registration.validation_url, plan.copies) {
        // A silent plan loses the validation too: the registered default decides.
        (Some(_), 0) => registration.completes_without_verdict,
        (Some(url), _) => {
            let timeout = shared.config.validation_timeout;
            let validation = payment.clone().for_validation().build();
            let delivery = shared.deliver(&trans_id, url, &validation, Expected::Verdict { timeout }).await;
            match (delivery.status, verdict(&delivery.answer)) {
                (Some(200), Some(accepted)) => accepted,
                // No verdict in time: the registered default.
                _ => registration.completes_without_verdict,
            }
        }
        (None, _) => true,
    };
    if !confirm {
        let rejected =
            Decision { code: "rejected".to_owned(), desc: "the validation rejected it".to_owned(), receipt: None };
        shared.ledger.decide(&trans_id, rejected);
        return;
    }
    shared.ledger.decide(&trans_id, completed("completed"));
    let confirmation = payment.build();
    for _ in 0..plan.copies {
        shared.deliver(&trans_id, &registration.confirmation_url, &confirmation, Expected::Acknowledgement).await;
    }
}

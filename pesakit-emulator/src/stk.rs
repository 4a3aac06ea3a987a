//! M-Pesa Express: `POST /mpesa/stkpush/v1/processrequest` checks the
//! request as Daraja does, answers at once, then delivers the STK callback
//! the scenario calls for; `POST /mpesa/stkpushquery/v1/query` reports the
//! transaction's real state.
//!
//! The scenario is chosen by the amount, in whole shillings, so that a test
//! picks an outcome without a control call: 1 is insufficient funds (1),
//! 1019 expired, 1032 cancelled by the customer, 1037 no response, 2001 a
//! wrong PIN; any other amount is paid. `AccountReference` may carry a
//! [`DeliveryPlan`](crate::DeliveryPlan) keyword (`dup3`, `silent`,
//! `delay5`), and `POST /emulator/next` sets both for the next request.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use pesakit::testing::{StkCallbackBuilder, kenyan_mobile_number};
use pesakit::{Payload, StkCallback};
use serde_json::{Value, json};
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time};

use crate::daraja_error::DarajaError;
use crate::delivery::Expected;
use crate::emulator::Shared;
use crate::fields::{check_callback_url, text, whole_shillings};
use crate::ledger::{Decision, Transaction};
use crate::plan::DeliveryPlan;

/// The API name in the ledger.
const API: &str = "stk_push";

/// How far a request's `Timestamp` may be from now, in East Africa Time (a
/// UTC timestamp is three hours off).
const TIMESTAMP_TOLERANCE_SECONDS: i64 = 30 * 60;

/// What the customer does, by the amount asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StkScenario {
    /// Pays.
    Paid,
    /// Has too little money: 1.
    InsufficientFunds,
    /// Lets the prompt expire: 1019.
    Expired,
    /// Cancels: 1032.
    Cancelled,
    /// Cannot be reached: 1037.
    NoResponse,
    /// Enters a wrong PIN: 2001.
    WrongPin,
}

impl StkScenario {
    /// The scenario an amount in whole shillings selects.
    ///
    /// ```
    /// use pesakit_emulator::StkScenario;
    ///
    /// assert_eq!(StkScenario::for_amount(1032), StkScenario::Cancelled);
    /// assert_eq!(StkScenario::for_amount(1500), StkScenario::Paid);
    /// ```
    pub fn for_amount(shillings: i64) -> Self {
        match shillings {
            1 => Self::InsufficientFunds,
            1019 => Self::Expired,
            1032 => Self::Cancelled,
            1037 => Self::NoResponse,
            2001 => Self::WrongPin,
            _ => Self::Paid,
        }
    }

    fn builder(self) -> StkCallbackBuilder {
        match self {
            Self::Paid => StkCallbackBuilder::paid(),
            Self::InsufficientFunds => StkCallbackBuilder::insufficient_funds(),
            Self::Expired => StkCallbackBuilder::expired(),
            Self::Cancelled => StkCallbackBuilder::cancelled(),
            Self::NoResponse => StkCallbackBuilder::timeout(),
            Self::WrongPin => StkCallbackBuilder::wrong_pin(),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Paid => "paid",
            Self::InsufficientFunds => "insufficient funds (1)",
            Self::Expired => "expired (1019)",
            Self::Cancelled => "cancelled (1032)",
            Self::NoResponse => "no response (1037)",
            Self::WrongPin => "wrong PIN (2001)",
        }
    }
}

/// `yyyyMMddHHmmss` in East Africa Time.
fn parse_timestamp(text: &str) -> Option<OffsetDateTime> {
    if text.len() != 14 || !text.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    let part = |range: std::ops::Range<usize>| text[range].parse::<u16>().ok();
    let date = Date::from_calendar_date(
        i32::from(part(0..4)?),
        Month::try_from(u8::try_from(part(4..6)?).ok()?).ok()?,
        u8::try_from(part(6..8)?).ok()?,
    )
    .ok()?;
    let time = Time::from_hms(
        u8::try_from(part(8..10)?).ok()?,
        u8::try_from(part(10..12)?).ok()?,
        u8::try_from(part(12..14)?).ok()?,
    )
    .ok()?;
    Some(PrimitiveDateTime::new(date, time).assume_offset(pesakit::EAT))
}

/// Checks `BusinessShortCode`, `Password` and `Timestamp`; returns the
/// short code.
fn check_credentials(shared: &Shared, body: &Value, now: OffsetDateTime) -> Result<String, DarajaError> {
    let short_code = text(body, "BusinessShortCode")?;
    let timestamp = text(body, "Timestamp")?;
    let sent = parse_timestamp(&timestamp).ok_or_else(|| DarajaError::invalid_field("Timestamp"))?;
    if (sent - now).whole_seconds().abs() > TIMESTAMP_TOLERANCE_SECONDS {
        return Err(DarajaError::invalid_field("Timestamp"));
    }
    let passkey =
        shared.config.passkeys.get(&short_code).ok_or_else(|| DarajaError::processing("Merchant does not exist"))?;
    let password = text(body, "Password")?;
    if password != STANDARD.encode(format!("{short_code}{passkey}{timestamp}")) {
        return Err(DarajaError::processing("Wrong credentials"));
    }
    Ok(short_code)
}

/// A Kenyan mobile number as Daraja takes it: `2547…` or `2541…`, 12 digits.
fn check_phone(body: &Value, field: &str) -> Result<String, DarajaError> {
    let phone = text(body, field)?;
    // As Daraja sends it back: the normalised form, nothing else.
    kenyan_mobile_number(&phone)
        .ok()
        .filter(|normalised| *normalised == phone)
        .ok_or_else(|| DarajaError::invalid_field(field))
}

/// `processrequest`: the synchronous answer, and the callback scheduled.
pub(crate) fn push(shared: &Arc<Shared>, body: &Value) -> Result<Value, DarajaError> {
    let now = OffsetDateTime::now_utc();
    let short_code = check_credentials(shared, body, now)?;
    let transaction_type = text(body, "TransactionType")?;
    if !matches!(transaction_type.as_str(), "CustomerPayBillOnline" | "CustomerBuyGoodsOnline") {
        return Err(DarajaError::invalid_field("TransactionType"));
    }
    let amount = whole_shillings(body, "Amount")?;
    if amount.whole > 250_000 {
        return Err(DarajaError::invalid_field("Amount"));
    }
    let phone = check_phone(body, "PhoneNumber")?;
    check_phone(body, "PartyA")?;
    text(body, "PartyB")?;
    let callback_url = text(body, "CallBackURL")?;
    check_callback_url(&callback_url, "CallBackURL")?;
    let reference = text(body, "AccountReference")?;
    if reference.chars().count() > 12 {
        return Err(DarajaError::invalid_field("AccountReference"));
    }
    if body["TransactionDesc"].as_str().is_some_and(|desc| desc.chars().count() > 13) {
        return Err(DarajaError::invalid_field("TransactionDesc"));
    }
    if shared.ledger.pending_for(API, &phone) {
        return Err(DarajaError::processing(
            "Unable to lock subscriber, a transaction is already in process for the current subscriber",
        ));
    }
    let next = shared.take_override();
    let scenario = StkScenario::for_amount(next.result_code.unwrap_or(amount.whole));
    let plan = DeliveryPlan::from_text(next.plan.as_deref().unwrap_or(&reference));
    // The builder's ids are the ones the answer gives and the callback carries.
    let mut builder = scenario.builder().phone(&phone);
    if scenario == StkScenario::Paid {
        // Daraja's paid callbacks often end with a `Balance` item without a value.
        builder = builder.amount(amount.exact).with_balance_item();
    }
    let (merchant_request_id, checkout_request_id) = (builder.merchant_id().to_owned(), builder.checkout_id());
    shared.ledger.add(Transaction {
        api: API,
        id: checkout_request_id.clone(),
        other_id: merchant_request_id.clone(),
        party: phone.clone(),
        scenario: format!("{} (short code {short_code}); {}", scenario.name(), plan.describe()),
        result_code: None,
        result_desc: None,
        receipt: None,
        amount: Some(amount.exact),
        deliveries: Vec::new(),
        created_at: now.into(),
    });
    let delay = plan.delay.unwrap_or(shared.config.result_delay);
    let (shared, id) = (Arc::clone(shared), checkout_request_id.clone());
    tokio::spawn(async move {
        tokio::time::sleep(delay).await;
        let callback = builder.build();
        shared.ledger.decide(&id, decision_of(&callback));
        for _ in 0..plan.copies {
            shared.deliver(&id, &callback_url, &callback, Expected::Acknowledgement).await;
        }
    });
    tracing::info!(checkout_request_id, scenario = scenario.name(), "STK push accepted");
    Ok(json!({
        "MerchantRequestID": merchant_request_id,
        "CheckoutRequestID": checkout_request_id,
        "ResponseCode": "0",
        "ResponseDescription": "Success. Request accepted for processing",
        "CustomerMessage": "Success. Request accepted for processing",
    }))
}

/// How a built callback ends the push, read with pesakit's own parser: the
/// result code (as the query sends it, a string), its description, and the
/// receipt of a payment.
fn decision_of(callback: &str) -> Decision {
    match StkCallback::from_slice(callback.as_bytes()) {
        Ok(parsed) => Decision {
            code: parsed.result_code.to_string(),
            receipt: parsed.payment().map(|payment| payment.receipt.clone()),
            desc: parsed.result_desc,
        },
        // The builders make only bodies pesakit reads; say so if one is not.
        Err(error) => Decision { code: "unreadable".to_owned(), desc: error.to_string(), receipt: None },
    }
}

/// `query`: the state of a push, as Daraja reports it.
pub(crate) fn query(shared: &Shared, body: &Value) -> Result<Value, (DarajaError, String)> {
    let now = OffsetDateTime::now_utc();
    let checkout_request_id = body["CheckoutRequestID"].as_str().unwrap_or_default().to_owned();
    check_credentials(shared, body, now).map_err(|error| (error, checkout_request_id.clone()))?;
    let transaction = shared
        .ledger
        .find(&checkout_request_id)
        .ok_or_else(|| (DarajaError::invalid_field("CheckoutRequestID"), checkout_request_id.clone()))?;
    match (&transaction.result_code, &transaction.result_desc) {
        (Some(code), Some(desc)) => Ok(json!({
            "ResponseCode": "0",
            "ResponseDescription": "The service request has been accepted successfully",
            "MerchantRequestID": transaction.other_id,
            "CheckoutRequestID": checkout_request_id,
            "ResultCode": code,
            "ResultDesc": desc,
        })),
        // While the customer has not answered, Daraja answers 500 with the
        // checkout request id as the request id.
        _ => Err((DarajaError::processing("The transaction is being processed"), checkout_request_id)),
    }
}

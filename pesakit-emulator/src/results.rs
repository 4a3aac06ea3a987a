//! The asynchronous APIs (B2C, account balance, transaction status,
//! reversal, B2B): checked, acknowledged at once with Daraja's "accepted"
//! answer, then the result delivered to `ResultURL` (or a queue timeout to
//! `QueueTimeOutURL`) as the request's [`DeliveryPlan`] says.
//!
//! The outcome is chosen by the amount where there is one, as for STK:
//! 1 fails with result code 1 (insufficient funds), 2001 with 2001 (the
//! initiator is invalid); anything else succeeds.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use http::StatusCode;
use pesakit::Amount;
use pesakit::testing::ResultBuilder;
use serde_json::{Value, json};

use crate::daraja_error::{ApiFamily, DarajaError};
use crate::delivery::Expected;
use crate::emulator::Shared;
use crate::fields::{check_callback_url, text, whole_shillings};
use crate::ids;
use crate::ledger::Transaction;
use crate::plan::DeliveryPlan;

/// One of the asynchronous APIs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ResultApi {
    B2c,
    AccountBalance,
    TransactionStatus,
    Reversal,
    B2b,
}

impl ResultApi {
    /// The API served at `path`.
    pub(crate) fn at(path: &str) -> Option<Self> {
        match path {
            "/mpesa/b2c/v1/paymentrequest" | "/mpesa/b2c/v3/paymentrequest" => Some(Self::B2c),
            "/mpesa/accountbalance/v1/query" => Some(Self::AccountBalance),
            "/mpesa/transactionstatus/v1/query" => Some(Self::TransactionStatus),
            "/mpesa/reversal/v1/request" => Some(Self::Reversal),
            "/mpesa/b2b/v1/paymentrequest" => Some(Self::B2b),
            _ => None,
        }
    }

    /// Whose token errors it answers with (B2B's are not documented: B2C's).
    pub(crate) fn family(self) -> ApiFamily {
        match self {
            Self::B2c | Self::AccountBalance | Self::B2b => ApiFamily::B2c,
            Self::TransactionStatus => ApiFamily::C2b,
            Self::Reversal => ApiFamily::Stk,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::B2c => "b2c",
            Self::AccountBalance => "account_balance",
            Self::TransactionStatus => "transaction_status",
            Self::Reversal => "reversal",
            Self::B2b => "b2b",
        }
    }

    /// The fields it requires, and the `CommandID`s it takes.
    fn required(self) -> (&'static [&'static str], &'static [&'static str]) {
        match self {
            Self::B2c => (
                &["InitiatorName", "SecurityCredential", "Amount", "PartyA", "PartyB", "Remarks"],
                &["SalaryPayment", "BusinessPayment", "PromotionPayment"],
            ),
            Self::AccountBalance => {
                (&["Initiator", "SecurityCredential", "PartyA", "IdentifierType", "Remarks"], &["AccountBalance"])
            }
            Self::TransactionStatus => (
                &["Initiator", "SecurityCredential", "PartyA", "IdentifierType", "Remarks"],
                &["TransactionStatusQuery"],
            ),
            Self::Reversal => (
                &["Initiator", "SecurityCredential", "TransactionID", "Amount", "ReceiverParty", "Remarks"],
                &["TransactionReversal"],
            ),
            Self::B2b => (
                &["Initiator", "SecurityCredential", "Amount", "PartyA", "PartyB", "AccountReference", "Remarks"],
                &[
                    "BusinessPayBill",
                    "BusinessBuyGoods",
                    "DisburseFundsToBusiness",
                    "BusinessToBusinessTransfer",
                    "MerchantToMerchantTransfer",
                ],
            ),
        }
    }

    fn success(self) -> ResultBuilder {
        match self {
            // Daraja writes these two results' lone ReferenceItem as an object.
            Self::B2c => ResultBuilder::b2c_success().single_reference_item(),
            Self::AccountBalance => ResultBuilder::account_balance().single_reference_item(),
            Self::TransactionStatus => ResultBuilder::transaction_status(),
            Self::Reversal => ResultBuilder::reversal(),
            Self::B2b => ResultBuilder::b2b(),
        }
    }
}

/// The `OriginatorConversationID`s seen, for refusing a reused one.
#[derive(Debug, Default)]
pub(crate) struct Originators(Mutex<HashSet<String>>);

/// Checks, acknowledges and schedules the result of a request to `api`.
pub(crate) fn request(shared: &Arc<Shared>, api: ResultApi, body: &Value) -> Result<Value, DarajaError> {
    let (fields, commands) = api.required();
    for field in fields {
        text(body, field)?;
    }
    let command = text(body, "CommandID")?;
    if !commands.contains(&command.as_str()) {
        return Err(DarajaError::invalid_field("CommandID"));
    }
    let remarks = text(body, "Remarks")?;
    if !(2..=100).contains(&remarks.chars().count()) {
        return Err(DarajaError::invalid_field("Remarks"));
    }
    let result_url = text(body, "ResultURL")?;
    check_callback_url(&result_url, "ResultURL")?;
    let timeout_url = text(body, "QueueTimeOutURL")?;
    check_callback_url(&timeout_url, "QueueTimeOutURL")?;
    let amount = match body.get("Amount") {
        Some(_) => {
            let amount = whole_shillings(body, "Amount")?;
            if amount < 1 {
                return Err(DarajaError::invalid_field("Amount"));
            }
            Some(amount)
        }
        None => None,
    };
    let originator = match body["OriginatorConversationID"].as_str().filter(|id| !id.is_empty()) {
        Some(id) => id.to_owned(),
        None => ids::originator_conversation_id(),
    };
    let fresh =
        shared.originators.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(originator.clone());
    if !fresh {
        return Err(DarajaError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "500.002.1001",
            "Duplicate OriginatorConversationID.",
        ));
    }
    let next = shared.take_override();
    let plan = DeliveryPlan::from_text(next.plan.as_deref().unwrap_or(&remarks));
    let (builder, outcome) = match next.result_code.or(amount) {
        Some(1) => (
            ResultBuilder::b2c_failure(1, "The balance is insufficient for the transaction."),
            "insufficient funds (1)",
        ),
        Some(2001) => {
            (ResultBuilder::b2c_failure(2001, "The initiator information is invalid."), "initiator invalid (2001)")
        }
        _ => (api.success(), "success"),
    };
    let mut builder = builder.originator_conversation_id(&originator);
    let conversation = builder.ids().1.to_owned();
    if let (Some(amount), "success", ResultApi::B2c | ResultApi::B2b | ResultApi::Reversal) = (amount, outcome, api) {
        builder = builder.amount(Amount::from_minor_units(amount * 100).unwrap_or_default());
    }
    shared.ledger.add(Transaction {
        api: api.name(),
        id: originator.clone(),
        other_id: conversation.clone(),
        party: text(body, "PartyB").or_else(|_| text(body, "PartyA")).unwrap_or_default(),
        scenario: format!("{outcome}; {}", plan.describe()),
        result_code: None,
        result_desc: None,
        deliveries: Vec::new(),
        created_at: std::time::SystemTime::now(),
    });
    let timeout = ResultBuilder::queue_timeout().originator_conversation_id(&originator).conversation_id(&conversation);
    let (shared, id) = (Arc::clone(shared), originator.clone());
    tokio::spawn(async move {
        tokio::time::sleep(plan.delay.unwrap_or(shared.config.result_delay)).await;
        if plan.timeout_first {
            shared.deliver(&id, &timeout_url, &timeout.build(), Expected::Acknowledgement).await;
        }
        let result = builder.build();
        let parsed: Value = serde_json::from_str(&result).unwrap_or_default();
        let code = parsed["Result"]["ResultCode"].to_string().trim_matches('"').to_owned();
        let desc = parsed["Result"]["ResultDesc"].as_str().unwrap_or_default().to_owned();
        shared.ledger.decide(&id, code, desc);
        for _ in 0..plan.copies {
            shared.deliver(&id, &result_url, &result, Expected::Acknowledgement).await;
        }
    });
    tracing::info!(api = api.name(), originator, conversation, "request accepted");
    Ok(json!({
        "OriginatorConversationID": originator,
        "ConversationID": conversation,
        "ResponseCode": "0",
        "ResponseDescription": "Accept the service request successfully.",
    }))
}

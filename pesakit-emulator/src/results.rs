//! The asynchronous APIs (B2C, account balance, transaction status,
//! reversal, B2B): checked, acknowledged at once with Daraja's "accepted"
//! answer, then the result delivered to `ResultURL` (or a queue timeout to
//! `QueueTimeOutURL`) as the request's [`DeliveryPlan`] says.
//!
//! The outcome of a payment (B2C, B2B) is chosen by its amount, as for STK:
//! 1 fails with result code 1 (insufficient funds), 2001 with 2001 (the
//! initiator is invalid); anything else succeeds. A transaction status
//! query and a reversal name a payment the emulator made (an STK push, a C2B
//! payment, a B2C or B2B payout, by receipt or id) and answer from its
//! state: a status query for one it does not know fails with 2032, a
//! reversal with `R000002`, a second reversal of the same payment with
//! `R000001` (string codes, as Daraja writes them). `POST /emulator/next`
//! can choose 1 or 2001 for any of them.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use http::StatusCode;
use pesakit::testing::ResultBuilder;
use pesakit::{Amount, Untrusted};
use serde_json::{Value, json};

use crate::daraja_error::{ApiFamily, DarajaError};
use crate::delivery::Expected;
use crate::emulator::Shared;
use crate::fields::{check_callback_url, text, whole_shillings};
use crate::ids;
use crate::ledger::{Decision, Transaction};
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

    /// Whether its success moves money under a receipt of its own (a
    /// status query or a balance does not).
    fn moves_money(self) -> bool {
        matches!(self, Self::B2c | Self::B2b | Self::Reversal)
    }

    fn success(self) -> ResultBuilder {
        match self {
            Self::B2c => ResultBuilder::b2c_success(),
            // The current samples of these two write their codes as strings.
            Self::AccountBalance => ResultBuilder::account_balance().string_codes(),
            Self::TransactionStatus => ResultBuilder::transaction_status(),
            Self::Reversal => ResultBuilder::reversal(),
            Self::B2b => ResultBuilder::b2b().string_codes(),
        }
    }

    /// A failure of this API: the plain envelope; B2B's carries a lone
    /// `BOCompletedTime` as one object, as Daraja sends it.
    fn failure(self, code: &str, desc: &str) -> ResultBuilder {
        let failure = failure_envelope(code, desc);
        match self {
            Self::B2b => failure
                .parameter("BOCompletedTime", Some(&pesakit::DarajaTime::now().original()))
                .single_result_parameter(),
            _ => failure,
        }
    }

    /// How Daraja writes its `ReferenceData`: one object for a lone item,
    /// except in B2B results, where it is always a list.
    fn reference_data(self, builder: ResultBuilder) -> ResultBuilder {
        match self {
            Self::B2b => builder,
            _ => builder.single_reference_item(),
        }
    }
}

/// What the result APIs remember: the `OriginatorConversationID`s seen (a
/// reused one is refused) and the receipts reversed (a second reversal
/// fails).
#[derive(Debug, Default)]
pub(crate) struct ResultMemory {
    originators: Mutex<HashSet<String>>,
    reversed: Mutex<HashSet<String>>,
}

impl ResultMemory {
    /// Remembers `originator`; whether it is new.
    fn first_use_of(&self, originator: &str) -> bool {
        self.originators.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(originator.to_owned())
    }

    /// Remembers `receipt` as reversed; whether it was not already.
    fn reverse(&self, receipt: &str) -> bool {
        self.reversed.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(receipt.to_owned())
    }
}

/// A JSON string.
fn quoted(text: &str) -> String {
    Value::from(text).to_string()
}

/// The result of a failure: the plain envelope, with `code` written as a
/// string where the API writes it so (`R000002`), as a number otherwise.
fn failure_envelope(code: &str, desc: &str) -> ResultBuilder {
    // The builder's failure is the envelope every kind shares.
    let builder = ResultBuilder::b2c_failure(0, desc);
    match code.parse() {
        Ok(numeric) => builder.result_code(numeric),
        Err(_) => builder.result_code_text(code),
    }
}

/// What a transaction status query finds: the named transaction as it
/// ended, or 2032 when no payment carries that receipt or id.
fn status_of(shared: &Shared, body: &Value) -> (ResultBuilder, &'static str) {
    let found = ["TransactionID", "OriginalConversationID"]
        .into_iter()
        .filter_map(|field| text(body, field).ok())
        .find_map(|named| shared.ledger.find_payment(&named));
    let Some(found) = found else {
        return (failure_envelope("2032", "The receipt number does not exist."), "receipt unknown (2032)");
    };
    let receipt = found.receipt;
    let reason = match found.api {
        "b2c" => "Business Payment to Customer via API",
        "b2b" => "Business Pay Bill",
        _ => "Pay Bill Online",
    };
    let mut builder = ResultBuilder::transaction_status()
        .transaction_id(Some(&receipt))
        .parameter("ReceiptNo", Some(&quoted(&receipt)))
        .parameter("ReasonType", Some(&quoted(reason)));
    if let Some(amount) = found.amount {
        builder = builder.amount(amount);
    }
    (builder, "the transaction found")
}

/// What a reversal does: the named payment reversed once; `R000001` when
/// it already was, `R000002` when no payment carries that receipt.
fn reversal_of(shared: &Shared, body: &Value, amount: Option<Amount>) -> (ResultBuilder, &'static str) {
    let named = text(body, "TransactionID").unwrap_or_default();
    let Some(found) = shared.ledger.find_payment(&named) else {
        return (failure_envelope("R000002", "The OriginalTransactionID is invalid."), "original unknown (R000002)");
    };
    let receipt = found.receipt;
    if !shared.results.reverse(&receipt) {
        return (
            failure_envelope("R000001", "The transaction has already been reversed."),
            "already reversed (R000001)",
        );
    }
    let mut builder = ResultBuilder::reversal().parameter("OriginalTransactionID", Some(&quoted(&receipt)));
    if let Some(amount) = amount.or(found.amount) {
        builder = builder.amount(amount);
    }
    (builder, "reversed")
}

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
        Some(_) => Some(whole_shillings(body, "Amount")?),
        None => None,
    };
    let originator = match body["OriginatorConversationID"].as_str().filter(|id| !id.is_empty()) {
        Some(id) => id.to_owned(),
        None => ids::originator_conversation_id(),
    };
    if !shared.results.first_use_of(&originator) {
        return Err(DarajaError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "500.002.1001",
            "Duplicate OriginatorConversationID.",
        ));
    }
    let next = shared.take_override();
    let plan = DeliveryPlan::from_text(next.plan.as_deref().unwrap_or(&remarks));
    let payment_amount = amount.filter(|_| matches!(api, ResultApi::B2c | ResultApi::B2b));
    let (builder, outcome) = match (next.result_code.or(payment_amount.map(|amount| amount.whole)), api) {
        (Some(1), _) => {
            (api.failure("1", "The balance is insufficient for the transaction."), "insufficient funds (1)")
        }
        (Some(2001), _) => (api.failure("2001", "The initiator information is invalid."), "initiator invalid (2001)"),
        (_, ResultApi::TransactionStatus) => status_of(shared, body),
        (_, ResultApi::Reversal) => reversal_of(shared, body, amount.map(|amount| amount.exact)),
        (_, ResultApi::B2c | ResultApi::B2b | ResultApi::AccountBalance) => {
            let success = api.success();
            (
                match payment_amount {
                    Some(amount) => success.amount(amount.exact),
                    None => success,
                },
                "success",
            )
        }
    };
    let builder = api.reference_data(builder).originator_conversation_id(&originator);
    let conversation = builder.ids().1.to_owned();
    shared.ledger.add(Transaction {
        api: api.name(),
        id: originator.clone(),
        other_id: conversation.clone(),
        party: text(body, "PartyB").or_else(|_| text(body, "PartyA")).unwrap_or_default(),
        scenario: format!("{outcome}; {}", plan.describe()),
        result_code: None,
        result_desc: None,
        receipt: None,
        amount: amount.map(|amount| amount.exact),
        deliveries: Vec::new(),
        created_at: std::time::SystemTime::now(),
    });
    let timeout = ResultBuilder::queue_timeout().originator_conversation_id(&originator).conversation_id(&conversation);
    let (shared, id) = (Arc::clone(shared), originator.clone());
    tokio::spawn(async move {
        let started = tokio::time::Instant::now();
        if plan.timeout_first {
            tokio::time::sleep(shared.config.queue_timeout_delay).await;
            shared.deliver(&id, &timeout_url, &timeout.build(), Expected::Acknowledgement).await;
        }
        tokio::time::sleep_until(started + plan.delay.unwrap_or(shared.config.result_delay)).await;
        let result = builder.build();
        let mut decision = Decision::of_result(&result);
        if !api.moves_money() {
            decision.receipt = None;
        }
        shared.ledger.decide(&id, decision);
        for _ in 0..plan.copies {
            shared.deliver(&id, &result_url, &result, Expected::Acknowledgement).await;
        }
    });
    tracing::info!(api = api.name(), originator = %Untrusted(&originator), conversation, "request accepted");
    Ok(json!({
        "OriginatorConversationID": originator,
        "ConversationID": conversation,
        "ResponseCode": "0",
        "ResponseDescription": "Accept the service request successfully.",
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The body `api` delivers for `builder`.
    fn body(api: ResultApi, builder: ResultBuilder) -> String {
        api.reference_data(builder).build()
    }

    #[test]
    fn results_carry_the_quirks_of_their_api() {
        let balance = body(ResultApi::AccountBalance, ResultApi::AccountBalance.success());
        assert!(balance.contains(r#""ResultType":"0","ResultCode":"0""#), "string codes: {balance}");
        assert!(balance.contains(r#""ReferenceItem":{"#), "a lone reference item as an object: {balance}");
        let b2b = body(ResultApi::B2b, ResultApi::B2b.success());
        assert!(b2b.contains(r#""ResultCode":"0""#) && b2b.contains(r#""ReferenceItem":["#), "{b2b}");
        let b2b_failure = body(ResultApi::B2b, ResultApi::B2b.failure("2001", "The initiator information is invalid."));
        assert!(b2b_failure.contains(r#""ResultParameter":{"Key":"BOCompletedTime","Value":2"#), "{b2b_failure}");
        assert!(b2b_failure.contains(r#""ResultCode":2001"#), "{b2b_failure}");
        assert!(b2b_failure.contains(r#""ReferenceItem":["#), "B2B's lone reference item in a list: {b2b_failure}");
        for api in [ResultApi::B2c, ResultApi::TransactionStatus, ResultApi::Reversal] {
            let success = body(api, api.success());
            assert!(success.contains(r#""ResultCode":0,"#) && success.contains(r#""ReferenceItem":{"#), "{success}");
        }
        let b2c_failure = body(ResultApi::B2c, ResultApi::B2c.failure("2001", "The initiator information is invalid."));
        assert!(b2c_failure.contains(r#""ReferenceItem":{"#), "{b2c_failure}");
        let reversal =
            body(ResultApi::Reversal, failure_envelope("R000001", "The transaction has already been reversed."));
        assert!(reversal.contains(r#""ResultCode":"R000001""#) && !reversal.contains("ResultParameters"), "{reversal}");
    }
}

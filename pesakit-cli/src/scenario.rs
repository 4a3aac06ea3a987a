//! Scenario names to bodies, through pesakit's own test builders.

use pesakit::Amount;
use pesakit::testing::{C2bPaymentBuilder, ResultBuilder, StkCallbackBuilder, kenyan_mobile_number};

use crate::cli::{Scenario, Values};

/// What Daraja expects an endpoint to answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Expectation {
    /// Any 200 with a JSON object; the documented acknowledgement is noted.
    Acknowledgement,
    /// A 200 with a JSON object whose `ResultCode` accepts or rejects.
    Verdict,
}

/// A body ready to send.
#[derive(Debug, Clone)]
pub(crate) struct Built {
    pub(crate) body: String,
    pub(crate) expectation: Expectation,
}

/// The body of `scenario` with `values` applied. For `c2b`, the validation
/// request; see [`c2b_pair`].
pub(crate) fn build(scenario: &Scenario, values: &Values) -> Result<Built, String> {
    let amount = values.amount.as_deref().map(parse_amount).transpose()?;
    let phone = values.phone.as_deref().map(parse_phone).transpose()?;
    let stk = |builder: StkCallbackBuilder| {
        let builder = match &phone {
            Some(phone) => builder.phone(phone),
            None => builder,
        };
        match amount {
            Some(amount) => builder.amount(amount),
            None => builder,
        }
    };
    let result = |builder: ResultBuilder| match amount {
        Some(amount) => builder.amount(amount),
        None => builder,
    };
    let failure_code = |default: i64| values.result_code.unwrap_or(default);
    let body = match scenario {
        Scenario::StkPaid => stk(StkCallbackBuilder::paid()).build(),
        Scenario::StkCancelled => stk(StkCallbackBuilder::cancelled()).build(),
        Scenario::StkTimeout => stk(StkCallbackBuilder::timeout()).build(),
        Scenario::StkInsufficientFunds => stk(StkCallbackBuilder::insufficient_funds()).build(),
        Scenario::StkWrongPin => stk(StkCallbackBuilder::wrong_pin()).build(),
        Scenario::StkExpired => stk(StkCallbackBuilder::expired()).build(),
        Scenario::C2b | Scenario::C2bValidation => {
            let built = c2b(C2bPaymentBuilder::pay_bill(), values, amount, phone.as_deref()).for_validation().build();
            return Ok(Built { body: built, expectation: Expectation::Verdict });
        }
        Scenario::C2bConfirmation => c2b(C2bPaymentBuilder::pay_bill(), values, amount, phone.as_deref()).build(),
        Scenario::C2bBuyGoods => c2b(C2bPaymentBuilder::buy_goods(), values, amount, phone.as_deref()).build(),
        Scenario::B2cSuccess => result(ResultBuilder::b2c_success()).build(),
        Scenario::B2cFailure => {
            ResultBuilder::b2c_failure(failure_code(2001), "The initiator information is invalid.").build()
        }
        Scenario::AccountBalance => ResultBuilder::account_balance().build(),
        Scenario::TransactionStatus => result(ResultBuilder::transaction_status()).build(),
        Scenario::Reversal => result(ResultBuilder::reversal()).build(),
        Scenario::B2b => result(ResultBuilder::b2b()).build(),
        Scenario::QueueTimeout => ResultBuilder::queue_timeout().build(),
    };
    Ok(Built { body, expectation: Expectation::Acknowledgement })
}

/// The C2B sequence: a validation request and the confirmation that follows
/// it, sharing one `TransID`.
pub(crate) fn c2b_pair(values: &Values) -> Result<(C2bPaymentBuilder, C2bPaymentBuilder), String> {
    let amount = values.amount.as_deref().map(parse_amount).transpose()?;
    let phone = values.phone.as_deref().map(parse_phone).transpose()?;
    let confirmation = c2b(C2bPaymentBuilder::pay_bill(), values, amount, phone.as_deref());
    Ok((confirmation.clone().for_validation(), confirmation))
}

fn c2b(builder: C2bPaymentBuilder, values: &Values, amount: Option<Amount>, phone: Option<&str>) -> C2bPaymentBuilder {
    let mut builder = builder;
    if let Some(amount) = amount {
        builder = builder.amount(amount);
    }
    if let Some(phone) = phone {
        builder = builder.msisdn(phone);
    }
    if let Some(bill_ref) = &values.bill_ref {
        builder = builder.bill_ref(bill_ref);
    }
    if let Some(short_code) = &values.short_code {
        builder = builder.short_code(short_code);
    }
    if values.masked { builder.masked_msisdn() } else { builder }
}

/// `--phone` as Daraja sends it; the builders would panic on anything else.
fn parse_phone(text: &str) -> Result<String, String> {
    kenyan_mobile_number(text).map_err(|error| format!("--phone: {error}"))
}

fn parse_amount(text: &str) -> Result<Amount, String> {
    text.parse().map_err(|error| format!("--amount {text:?}: {error}"))
}

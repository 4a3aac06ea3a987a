//! Every body the test builders make parses back, through pesakit's own
//! parsers, into the values it was given.

use pesakit::testing::{C2bPaymentBuilder, ResultBuilder, StkCallbackBuilder};
use pesakit::{
    AccountBalanceParams, Amount, B2bParams, B2cParams, Balance, C2bPayment, DarajaResult, DarajaTime, MsisdnForm,
    Payload, QueueTimeout, ResultCode, ReversalParams, StkCallback, StkOutcome, TransactionStatusParams,
};
use proptest::prelude::*;

fn amount(cents: i64) -> Amount {
    Amount::from_minor_units(cents).expect("non-negative")
}

fn stk(builder: &StkCallbackBuilder) -> StkCallback {
    StkCallback::from_slice(builder.build().as_bytes()).unwrap_or_else(|error| panic!("{error}: {}", builder.build()))
}

#[test]
fn stk_builders_make_every_outcome() {
    let date = DarajaTime::parse_compact("20240809154848").expect("date");
    let paid = StkCallbackBuilder::paid()
        .amount(amount(250_050))
        .phone("254712000111")
        .receipt("SH98HPAEJ8")
        .transaction_date(date)
        .merchant_request_id("3b82-4048")
        .with_balance_item();
    let callback = stk(&paid);
    let StkOutcome::Paid(payment) = callback.outcome() else { panic!("not paid: {:?}", callback.outcome()) };
    assert_eq!(
        (payment.amount, payment.receipt.as_str(), payment.transaction_date, payment.phone.normalised()),
        (amount(250_050), "SH98HPAEJ8", date, Some("254712000111"))
    );
    assert_eq!(callback.merchant_request_id, "3b82-4048");
    assert_eq!(callback.checkout_request_id, paid.checkout_id());
    assert!(callback.checkout_request_id.starts_with("ws_CO_09082024154848"));
    assert!(callback.checkout_request_id.ends_with("254712000111"));
    assert!(paid.build().contains(r#"{"Name":"Balance"}"#));

    for (builder, outcome) in [
        (StkCallbackBuilder::cancelled(), StkOutcome::Cancelled),
        (StkCallbackBuilder::timeout(), StkOutcome::Timeout),
        (StkCallbackBuilder::insufficient_funds(), StkOutcome::InsufficientFunds),
        (StkCallbackBuilder::wrong_pin(), StkOutcome::WrongPin),
        (StkCallbackBuilder::expired(), StkOutcome::Expired),
    ] {
        assert_eq!(stk(&builder).outcome(), outcome);
    }
    let failed = stk(&StkCallbackBuilder::failed(26, "System busy.").checkout_request_id("ws_CO_X"));
    assert_eq!((failed.result_code, failed.checkout_request_id.as_str()), (ResultCode::Numeric(26), "ws_CO_X"));
}

#[test]
fn fresh_ids_differ_and_timestamps_are_now_in_eat() {
    let first = stk(&StkCallbackBuilder::paid());
    let second = stk(&StkCallbackBuilder::paid());
    assert_ne!(first.checkout_request_id, second.checkout_request_id);
    assert_ne!(first.payment().map(|p| &p.receipt), second.payment().map(|p| &p.receipt));
    let stamped = first.payment().expect("paid").transaction_date.unix_timestamp();
    let now = DarajaTime::now().unix_timestamp();
    assert!((now - stamped).abs() <= 5, "{stamped} vs {now}");
}

#[test]
fn payments_built_in_one_second_have_ids_of_their_own() {
    // The three digits after the time are taken in turn: a thousand a
    // second for the whole process, so other tests building at the same
    // time share them; half of that is this test's.
    let ids: std::collections::HashSet<String> = (0..500).map(|_| StkCallbackBuilder::paid().checkout_id()).collect();
    assert_eq!(ids.len(), 500);
}

fn c2b(builder: &C2bPaymentBuilder) -> C2bPayment {
    C2bPayment::from_slice(builder.build().as_bytes()).unwrap_or_else(|error| panic!("{error}: {}", builder.build()))
}

#[test]
fn c2b_builders_make_pay_bill_and_buy_goods_validations_and_confirmations() {
    let time = DarajaTime::parse_compact("20231121121325").expect("time");
    let confirmation = C2bPaymentBuilder::pay_bill()
        .trans_id("RKL51ZDR4F")
        .trans_time(time)
        .amount(amount(500))
        .short_code("600966")
        .bill_ref("Sample Transaction")
        .org_account_balance(Some(Balance::from_minor_units(2500)))
        .third_party_trans_id("1234567890")
        .names("NICHOLAS", "", "SONGOK");
    let payment = c2b(&confirmation);
    assert_eq!(payment.transaction_type, "Pay Bill");
    assert_eq!(
        (payment.trans_id.as_str(), payment.trans_time, payment.trans_amount, payment.business_short_code.as_str()),
        ("RKL51ZDR4F", time, amount(500), "600966")
    );
    assert_eq!(payment.bill_ref_number, "Sample Transaction");
    assert_eq!(payment.org_account_balance, Some(Balance::from_minor_units(2500)));
    assert_eq!(payment.third_party_trans_id.as_deref(), Some("1234567890"));
    assert_eq!(
        (payment.first_name.as_deref(), payment.middle_name, payment.last_name.as_deref()),
        (Some("NICHOLAS"), None, Some("SONGOK"))
    );
    assert_eq!(payment.msisdn.normalised(), Some("254708374149"));

    let validation = c2b(&confirmation.clone().for_validation().masked_msisdn());
    assert_eq!((validation.transaction_type.as_str(), validation.org_account_balance), ("", None));
    assert_eq!((validation.msisdn.as_str(), validation.msisdn.form()), ("2547 ***** 149", MsisdnForm::Masked));
    assert_eq!(validation.trans_id, payment.trans_id, "validation and confirmation share the TransID");

    let till = c2b(&C2bPaymentBuilder::buy_goods().msisdn("2******9"));
    assert_eq!((till.transaction_type.as_str(), till.bill_ref_number.as_str()), ("Customer Merchant Payment", ""));
    assert_eq!(till.msisdn.form(), MsisdnForm::Masked);
}

fn result<P: pesakit::ResultParams>(builder: &ResultBuilder) -> DarajaResult<P> {
    DarajaResult::<P>::from_slice(builder.build().as_bytes())
        .unwrap_or_else(|error| panic!("{error}: {}", builder.build()))
}

#[test]
fn result_builders_make_every_kind() {
    let b2c = ResultBuilder::b2c_success().amount(amount(800_000)).originator_conversation_id("mine-1");
    let parsed = result::<B2cParams>(&b2c);
    assert!(parsed.is_success());
    assert_eq!(parsed.originator_conversation_id, "mine-1");
    assert_eq!(parsed.conversation_id, b2c.ids().1);
    assert_eq!(parsed.params.transaction_amount, Some(amount(800_000)));
    assert_eq!(parsed.params.transaction_receipt, parsed.transaction_id);
    assert_eq!(parsed.params.charges_paid_account_available_funds, Some(Balance::from_minor_units(-451_000)));
    assert_eq!(parsed.params.recipient_is_registered_customer, Some(true));
    assert!(parsed.params.transaction_completed_at.is_some());

    let failure =
        result::<B2cParams>(&ResultBuilder::b2c_failure(1, "The balance is insufficient for the transaction."));
    assert_eq!((failure.result_code, failure.parameters.len()), (ResultCode::Numeric(1), 0));

    let balance = result::<AccountBalanceParams>(&ResultBuilder::account_balance());
    let accounts: Vec<_> = balance.params.accounts.iter().map(|account| account.name.as_str()).collect();
    assert_eq!(accounts, ["Working Account", "Utility Account", "Charges Paid Account"]);
    assert!(balance.params.bo_completed_time.is_some());

    let status = result::<TransactionStatusParams>(&ResultBuilder::transaction_status().amount(amount(30_000)));
    assert_eq!(status.params.amount, Some(amount(30_000)));
    assert_eq!(status.params.transaction_status.as_deref(), Some("Completed"));
    assert_eq!(status.params.credit_party_name.as_deref(), Some("254708374149 - John Doe"));

    let reversal = result::<ReversalParams>(
        &ResultBuilder::reversal().parameter("OriginalTransactionID", Some(r#""SKC82PACB8""#)),
    );
    assert_eq!(reversal.params.original_transaction_id.as_deref(), Some("SKC82PACB8"));
    assert_eq!(reversal.params.amount, Some(amount(100)));
    let failed_reversal = result::<ReversalParams>(
        &ResultBuilder::b2c_failure(0, "x")
            .result_code_text("R000002")
            .result_desc("The OriginalTransactionID is invalid."),
    );
    assert_eq!(failed_reversal.result_code, ResultCode::Text("R000002".into()));

    let b2b = result::<B2bParams>(&ResultBuilder::b2b().reference_item("BillReferenceNumber", Some("12323333")));
    assert_eq!(b2b.params.amount, Some(amount(19_000)));
    assert_eq!(b2b.params.bill_reference_number.as_deref(), Some("12323333"));
    assert_eq!(b2b.params.debit_account_balance, Some(Balance::from_minor_units(618_683)));
    assert!(b2b.reference_data.contains_key("Occasion"));

    let timeout_builder = ResultBuilder::queue_timeout().conversation_id("AG_20191219_00005797af5d7d75f652");
    let timeout = QueueTimeout::from_slice(timeout_builder.build().as_bytes()).expect("timeout");
    assert_eq!(timeout.conversation_id, "AG_20191219_00005797af5d7d75f652");
    assert_eq!(timeout.result_code, Some(ResultCode::Numeric(1)));
    assert!(!timeout.raw_json().contains("TransactionID"));
}

/// A Kenyan mobile number in one of the forms people write, and the twelve
/// digits Daraja sends for it.
fn written_phone() -> impl Strategy<Value = (String, String)> {
    let subscriber =
        (prop_oneof![Just('7'), Just('1')], 0u64..100_000_000).prop_map(|(first, rest)| format!("{first}{rest:08}"));
    (subscriber, 0..4usize).prop_map(|(subscriber, form)| {
        let written = match form {
            0 => format!("0{subscriber}"),
            1 => format!("+254{subscriber}"),
            2 => format!("254{subscriber}"),
            _ => subscriber.clone(),
        };
        (written, format!("254{subscriber}"))
    })
}

/// Every STK scenario the builders make.
fn stk_scenario() -> impl Strategy<Value = StkCallbackBuilder> {
    prop_oneof![
        Just(StkCallbackBuilder::paid()),
        Just(StkCallbackBuilder::cancelled()),
        Just(StkCallbackBuilder::timeout()),
        Just(StkCallbackBuilder::insufficient_funds()),
        Just(StkCallbackBuilder::wrong_pin()),
        Just(StkCallbackBuilder::expired()),
    ]
}

proptest! {
    #[test]
    fn any_amount_and_written_phone_round_trip_through_every_stk_scenario(
        builder in stk_scenario(),
        cents in 0i64..10_000_000_000,
        (written, expected) in written_phone(),
    ) {
        let body = builder.amount(amount(cents)).phone(&written).build();
        prop_assert!(serde_json::from_str::<serde_json::Value>(&body).is_ok(), "not JSON: {}", body);
        let callback = StkCallback::from_slice(body.as_bytes()).map_err(|error| TestCaseError::fail(format!("{error}: {body}")))?;
        if let Some(payment) = callback.payment() {
            prop_assert_eq!(payment.amount, amount(cents));
            prop_assert_eq!(payment.phone.normalised(), Some(expected.as_str()));
        }
    }

    #[test]
    fn any_amount_and_written_phone_round_trip_through_every_c2b_scenario(
        buy_goods in any::<bool>(),
        validation in any::<bool>(),
        cents in 0i64..10_000_000_000,
        (written, expected) in written_phone(),
    ) {
        let builder = if buy_goods { C2bPaymentBuilder::buy_goods() } else { C2bPaymentBuilder::pay_bill() };
        let builder = builder.amount(amount(cents)).msisdn(&written);
        let body = if validation { builder.for_validation().build() } else { builder.build() };
        prop_assert!(serde_json::from_str::<serde_json::Value>(&body).is_ok(), "not JSON: {}", body);
        let payment = C2bPayment::from_slice(body.as_bytes()).map_err(|error| TestCaseError::fail(format!("{error}: {body}")))?;
        prop_assert_eq!(payment.trans_amount, amount(cents));
        prop_assert_eq!(payment.msisdn.normalised(), Some(expected.as_str()));
    }

    #[test]
    fn text_that_is_not_a_kenyan_mobile_number_is_refused(text in "\\PC{0,16}") {
        let written = text.trim_start_matches('+');
        let plain = written.bytes().all(|byte| byte.is_ascii_digit())
            && matches!(
                (written.len(), written.get(..1), written.get(..4)),
                (9, Some("7" | "1"), _) | (10, Some("0"), _) | (12, _, Some("2547" | "2541"))
            )
            && (written.len() != 10 || matches!(written.get(1..2), Some("7" | "1")))
            && (!text.starts_with('+') || written.len() == 12);
        prop_assert_eq!(pesakit::testing::kenyan_mobile_number(&text).is_ok(), plain, "{:?}", text);
    }

    #[test]
    fn any_text_round_trips_through_the_c2b_builder(bill_ref in "\\PC{0,20}", first in "\\PC{0,12}") {
        let payment = c2b(&C2bPaymentBuilder::pay_bill().bill_ref(&bill_ref).names(&first, "", ""));
        prop_assert_eq!(payment.bill_ref_number, bill_ref);
        prop_assert_eq!(payment.first_name, Some(first).filter(|name| !name.is_empty()));
    }
}

#[test]
#[should_panic(expected = "is not a Kenyan mobile number")]
fn a_builder_refuses_a_phone_daraja_would_never_send() {
    let _ = StkCallbackBuilder::paid().phone("abc");
}

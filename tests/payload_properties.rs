//! Properties no fixture can cover: nothing panics on any input, and the
//! value types round-trip.

mod common;

use pesakit::{
    AccountBalanceParams, Amount, B2bParams, B2cParams, Balance, C2bPayment, DarajaResult, DarajaTime, Payload,
    QueueTimeout, ReversalParams, StkCallback, TransactionStatusParams,
};
use proptest::prelude::*;
use serde_json::{Map, Value};

/// Parses with every payload type; a panic fails the property.
fn parse_with_every_type(body: &[u8]) {
    let _ = StkCallback::from_slice(body);
    let _ = C2bPayment::from_slice(body);
    let _ = DarajaResult::<B2cParams>::from_slice(body);
    let _ = DarajaResult::<AccountBalanceParams>::from_slice(body);
    let _ = DarajaResult::<TransactionStatusParams>::from_slice(body);
    let _ = DarajaResult::<ReversalParams>::from_slice(body);
    let _ = DarajaResult::<B2bParams>::from_slice(body);
    let _ = QueueTimeout::from_slice(body);
}

/// Keys Daraja uses, so generated documents reach deep into the parsers.
const KEYS: &[&str] = &[
    "Body",
    "stkCallback",
    "MerchantRequestID",
    "CheckoutRequestID",
    "ResultCode",
    "ResultDesc",
    "CallbackMetadata",
    "Item",
    "Name",
    "Key",
    "Value",
    "Amount",
    "MpesaReceiptNumber",
    "TransactionDate",
    "PhoneNumber",
    "Balance",
    "TransID",
    "TransTime",
    "TransAmount",
    "MSISDN",
    "OrgAccountBalance",
    "Result",
    "ResultType",
    "OriginatorConversationID",
    "ConversationID",
    "TransactionID",
    "ResultParameters",
    "ResultParameter",
    "ReferenceData",
    "ReferenceItem",
    "AccountBalance",
    "TransactionCompletedDateTime",
    "DebitAccountBalance",
    "DebitPartyCharges",
    "Occasion",
    "Occassion",
    "BOCompletedTime",
    "B2CRecipientIsRegisteredCustomer",
];

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        "[0-9]{0,16}(\\.[0-9]{0,3})?".prop_map(Value::from),
        "[0-9A-Za-z|&=.,{} *-]{0,40}".prop_map(Value::from),
        prop::sample::select(KEYS).prop_map(Value::from),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    scalar().prop_recursive(6, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(KEYS), inner), 0..8).prop_map(|members| {
                Value::Object(members.into_iter().map(|(k, v)| (k.to_owned(), v)).collect::<Map<_, _>>())
            }),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic(body in prop::collection::vec(any::<u8>(), 0..512)) {
        parse_with_every_type(&body);
    }

    #[test]
    fn arbitrary_json_never_panics(document in json_value()) {
        let body = serde_json::to_vec(&document).expect("serialisable");
        parse_with_every_type(&body);
    }

    #[test]
    fn mutated_fixtures_never_panic(
        fixture in prop::sample::select(all_fixtures()),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
    ) {
        let mut body = fixture;
        for (index, byte) in edits {
            let at = index.index(body.len());
            body[at] = byte;
        }
        parse_with_every_type(&body);
    }

    #[test]
    fn amounts_round_trip(cents in 0i64..=i64::MAX) {
        let amount = Amount::from_minor_units(cents).expect("non-negative");
        prop_assert_eq!(amount.to_string().parse::<Amount>(), Ok(amount));
    }

    #[test]
    fn balances_round_trip(cents in (i64::MIN + 1)..=i64::MAX) {
        let balance = Balance::from_minor_units(cents);
        prop_assert_eq!(balance.to_string().parse::<Balance>(), Ok(balance));
    }

    #[test]
    fn amount_text_round_trips_to_the_same_cents(whole in 0u64..100_000_000_000, fraction in 0u8..100, long in any::<bool>()) {
        let text = if long || fraction % 10 != 0 { format!("{whole}.{fraction:02}") } else { format!("{whole}.{}", fraction / 10) };
        let amount: Amount = text.parse().expect("valid amount");
        prop_assert_eq!(u64::try_from(amount.minor_units()).ok(), Some(whole * 100 + u64::from(fraction)));
    }

    #[test]
    fn timestamps_round_trip(seconds in -2_208_988_800i64..253_402_300_799) {
        let instant = time::OffsetDateTime::from_unix_timestamp(seconds).expect("in range").to_offset(pesakit::EAT);
        let (date, clock) = (instant.date(), instant.time());
        let compact = format!(
            "{:04}{:02}{:02}{:02}{:02}{:02}",
            date.year(), u8::from(date.month()), date.day(), clock.hour(), clock.minute(), clock.second()
        );
        let parsed = DarajaTime::parse_compact(&compact).expect("a real instant");
        prop_assert_eq!(parsed.unix_timestamp(), seconds);
        prop_assert_eq!(parsed.original(), compact);
        let dotted = DarajaTime::parse_dotted(&format!(
            "{:02}.{:02}.{:04} {:02}:{:02}:{:02}",
            date.day(), u8::from(date.month()), date.year(), clock.hour(), clock.minute(), clock.second()
        )).expect("a real instant");
        prop_assert_eq!(dotted.unix_timestamp(), seconds);
        prop_assert_eq!(dotted.original().parse::<DarajaTime>(), Ok(dotted));
    }

    #[test]
    fn fourteen_digit_strings_parse_only_when_they_name_a_real_instant(digits in "[0-9]{14}") {
        let expected_valid = {
            let field = |from: usize, to: usize| digits[from..to].parse::<u32>().expect("digits");
            let (year, month, day) = (field(0, 4), field(4, 6), field(6, 8));
            let days_in_month = match month {
                1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
                4 | 6 | 9 | 11 => 30,
                2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
                2 => 28,
                _ => 0,
            };
            (1..=days_in_month).contains(&day) && field(8, 10) < 24 && field(10, 12) < 60 && field(12, 14) < 60
        };
        prop_assert_eq!(DarajaTime::parse_compact(&digits).is_ok(), expected_valid);
    }
}

fn all_fixtures() -> Vec<Vec<u8>> {
    [
        "stk",
        "c2b_validation",
        "c2b_confirmation",
        "b2c_result",
        "account_balance_result",
        "transaction_status_result",
        "reversal_result",
        "b2b_result",
        "timeout",
    ]
    .into_iter()
    .flat_map(common::fixtures)
    .map(|(_, body)| body)
    .collect()
}

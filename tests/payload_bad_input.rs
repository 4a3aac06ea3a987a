//! Bad input is refused whole, with an error that names the problem
//! (no second JSON value, no duplicate keys, bounded depth), by every payload type.

mod common;

use pesakit::{
    AccountBalanceParams, B2bParams, B2cParams, C2bPayment, DarajaResult, MAX_DEPTH, MAX_ID_BYTES, Payload,
    PayloadError, PayloadErrorKind, QueueTimeout, ReversalParams, StkCallback, TransactionStatusParams,
};

/// Parses `body` as a `P`, keeping only the error.
fn attempt<P: Payload>(body: &[u8]) -> Result<(), PayloadError> {
    P::from_slice(body).map(drop)
}

/// Parses `body` with every payload type, returning each error by type name.
fn errors_from_every_type(body: &[u8]) -> Vec<(&'static str, Result<(), PayloadError>)> {
    vec![
        ("StkCallback", attempt::<StkCallback>(body)),
        ("C2bPayment", attempt::<C2bPayment>(body)),
        ("DarajaResult<B2cParams>", attempt::<DarajaResult<B2cParams>>(body)),
        ("DarajaResult<AccountBalanceParams>", attempt::<DarajaResult<AccountBalanceParams>>(body)),
        ("DarajaResult<TransactionStatusParams>", attempt::<DarajaResult<TransactionStatusParams>>(body)),
        ("DarajaResult<ReversalParams>", attempt::<DarajaResult<ReversalParams>>(body)),
        ("DarajaResult<B2bParams>", attempt::<DarajaResult<B2bParams>>(body)),
        ("QueueTimeout", attempt::<QueueTimeout>(body)),
    ]
}

#[test]
fn every_shared_bad_body_is_refused_by_every_type() {
    for (name, body) in common::bad_bodies() {
        for (payload_type, outcome) in errors_from_every_type(&body) {
            let error = outcome.expect_err(&format!("{payload_type} accepted bad/{name}"));
            let expected_kind =
                if name == "json_null.json" { PayloadErrorKind::Shape } else { PayloadErrorKind::Syntax };
            assert_eq!(error.kind(), expected_kind, "{payload_type} on {name}: {error}");
            let text = error.to_string();
            let names_problem = match name.as_str() {
                "empty_body.json" => text.contains("empty"),
                "json_null.json" => text.contains("found null"),
                "truncated_stk_callback.json" => text.contains("EOF"),
                "official_doc_validation_response_trailing_comma.json" => text.contains("trailing comma"),
                _ => text.contains("line") && text.contains("column"),
            };
            assert!(names_problem, "{payload_type} on {name}: unclear error: {text}");
        }
    }
}

fn stk_error(body: &str) -> PayloadError {
    StkCallback::from_slice(body.as_bytes()).expect_err(body)
}

fn c2b_error(body: &str) -> PayloadError {
    C2bPayment::from_slice(body.as_bytes()).expect_err(body)
}

fn result_error(body: &str) -> PayloadError {
    DarajaResult::<B2cParams>::from_slice(body.as_bytes()).expect_err(body)
}

fn stk_success(items: &str) -> String {
    format!(
        r#"{{"Body":{{"stkCallback":{{"MerchantRequestID":"1","CheckoutRequestID":"ws_CO_1","ResultCode":0,"ResultDesc":"ok","CallbackMetadata":{{"Item":[{items}]}}}}}}}}"#
    )
}

const PAID_ITEMS: &str = r#"{"Name":"Amount","Value":1.00},{"Name":"MpesaReceiptNumber","Value":"NLJ7RT61SV"},{"Name":"TransactionDate","Value":20191219102115},{"Name":"PhoneNumber","Value":254708374149}"#;

const CANCELLED: &str = r#"{"Body":{"stkCallback":{"MerchantRequestID":"1","CheckoutRequestID":"ws_CO_1","ResultCode":1032,"ResultDesc":"Request cancelled by user"}}}"#;

const C2B: &str = r#"{"TransID":"RKTQDM7W6S","TransTime":"20191122063845","TransAmount":"10","MSISDN":"254708374149"}"#;

const RESULT: &str = r#"{"Result":{"ResultType":0,"ResultCode":0,"ResultDesc":"ok","OriginatorConversationID":"o","ConversationID":"c"}}"#;

/// [`RESULT`] with `members` added to the `Result` object.
fn result_with(members: &str) -> String {
    RESULT.replace(r#""ConversationID":"c""#, &format!(r#""ConversationID":"c",{members}"#))
}

fn assert_error(error: &PayloadError, kind: PayloadErrorKind, path: &str, words: &str) {
    assert_eq!((error.kind(), error.path()), (kind, path), "{error}");
    assert!(error.to_string().contains(words), "`{error}` does not say `{words}`");
}

#[test]
fn the_valid_baselines_parse() {
    assert!(StkCallback::from_slice(stk_success(PAID_ITEMS).as_bytes()).is_ok());
    assert!(StkCallback::from_slice(CANCELLED.as_bytes()).is_ok());
    assert!(C2bPayment::from_slice(C2B.as_bytes()).is_ok());
    assert!(DarajaResult::<B2cParams>::from_slice(RESULT.as_bytes()).is_ok());
}

#[test]
fn only_one_strict_object_is_accepted() {
    for (body, words) in [
        ("   \n", "empty"),
        ("[]", "found an array"),
        ("\"x\"", "found a string"),
        (&format!("{C2B}{{}}"), "trailing characters"),
        (&format!("{C2B} x"), "trailing characters"),
        ("{/* c */}", "key must be a string"),
        ("{'a':1}", "key must be a string"),
    ] {
        let error = c2b_error(body);
        assert!(error.to_string().contains(words), "{body:?}: {error}");
    }
    let with_nul = format!("{C2B}\0");
    assert_error(&c2b_error(&with_nul), PayloadErrorKind::Syntax, "", "trailing characters");
    let with_nan = C2B.replace(r#""10""#, "NaN");
    assert_eq!(c2b_error(&with_nan).kind(), PayloadErrorKind::Syntax);
}

#[test]
fn encoding_problems_are_syntax_errors() {
    let with_bom = [b"\xEF\xBB\xBF".as_slice(), C2B.as_bytes()].concat();
    let error = C2bPayment::from_slice(&with_bom).expect_err("BOM");
    assert_error(&error, PayloadErrorKind::Syntax, "", "byte-order mark");

    let invalid_utf8 = C2B.replace("RKTQDM7W6S", "RKTQ\u{1}").into_bytes();
    let invalid_utf8 = [&invalid_utf8[..10], b"\xFF", &invalid_utf8[10..]].concat();
    assert_error(&C2bPayment::from_slice(&invalid_utf8).expect_err("utf8"), PayloadErrorKind::Syntax, "", "UTF-8");

    // An unpaired surrogate is refused even in a member nobody reads.
    for escaped in [r#""\ud800""#, r#""\udc00x""#, r#""\ud800\u0041""#] {
        let body = C2B.replace('}', &format!(r#","Extra":{escaped}}}"#));
        assert_error(&c2b_error(&body), PayloadErrorKind::Syntax, "", "surrogate");
    }
    let paired = C2B.replace('}', r#","FirstName":"\ud83d\ude00"}"#);
    assert_eq!(C2bPayment::from_slice(paired.as_bytes()).map(|p| p.first_name), Ok(Some("😀".into())));
}

#[test]
fn nesting_is_limited() {
    let nested = |depth: usize| format!("{}1{}", "[".repeat(depth), "]".repeat(depth));
    let deep = C2B.replace('}', &format!(r#","Extra":{}}}"#, nested(MAX_DEPTH)));
    assert_error(&c2b_error(&deep), PayloadErrorKind::Syntax, "", "nesting deeper than 32");
    let allowed = C2B.replace('}', &format!(r#","Extra":{}}}"#, nested(MAX_DEPTH - 1)));
    assert!(C2bPayment::from_slice(allowed.as_bytes()).is_ok());
    // Brackets inside strings do not count.
    let in_string = C2B.replace('}', &format!(r#","Extra":"{}"}}"#, "[".repeat(100)));
    assert!(C2bPayment::from_slice(in_string.as_bytes()).is_ok());
    let pathological = "[".repeat(100_000);
    assert_eq!(c2b_error(&pathological).kind(), PayloadErrorKind::Syntax);
    let pathological = format!("{{\"a\":{}", "[".repeat(100_000));
    assert_eq!(c2b_error(&pathological).kind(), PayloadErrorKind::Syntax);
}

#[test]
fn duplicate_members_we_read_are_refused() {
    let twice = CANCELLED.replace(r#""ResultCode":1032"#, r#""ResultCode":1032,"ResultCode":0"#);
    assert_error(&stk_error(&twice), PayloadErrorKind::Shape, "Body.stkCallback", "duplicate field `ResultCode`");
    let twice = C2B.replace(r#""TransAmount":"10""#, r#""TransAmount":"10","TransAmount":"1000""#);
    assert_error(&c2b_error(&twice), PayloadErrorKind::Shape, "", "duplicate field `TransAmount`");
    let twice = stk_success(&format!(r#"{PAID_ITEMS},{{"Name":"Amount","Value":1000}}"#));
    assert_error(
        &stk_error(&twice),
        PayloadErrorKind::Shape,
        "Body.stkCallback.CallbackMetadata.Item[Amount]",
        "more than once",
    );
    // Duplicates among members nobody reads may pass.
    let ignored = C2B.replace('}', r#","Extra":1,"Extra":2}"#);
    assert!(C2bPayment::from_slice(ignored.as_bytes()).is_ok());
}

#[test]
fn wrappers_must_match_the_route() {
    let inner = r#"{"MerchantRequestID":"1","CheckoutRequestID":"ws_CO_1","ResultCode":1032,"ResultDesc":"x"}"#;
    assert_error(&stk_error(inner), PayloadErrorKind::Shape, "", "missing field `Body`");
    let array_wrapper = format!(r#"{{"Body":[{{"stkCallback":{inner}}}]}}"#);
    assert_error(&stk_error(&array_wrapper), PayloadErrorKind::Shape, "Body", "expected a JSON object");
    let positional = format!(r#"{{"Body":{{"stkCallback":[{}]}}}}"#, r#""1","ws_CO_1",1032,"x""#);
    assert_error(&stk_error(&positional), PayloadErrorKind::Shape, "Body.stkCallback", "expected a JSON object");
    let extra_level = format!(r#"{{"Body":{{"Body":{{"stkCallback":{inner}}}}}}}"#);
    assert_error(&stk_error(&extra_level), PayloadErrorKind::Shape, "Body", "missing field `stkCallback`");
    assert_error(&stk_error(C2B), PayloadErrorKind::Shape, "", "missing field `Body`");
    assert_error(&c2b_error(CANCELLED), PayloadErrorKind::Shape, "", "missing field `TransID`");
    assert_error(&result_error(C2B), PayloadErrorKind::Shape, "", "missing field `Result`");
    let string_wrapper = r#"{"Result":"{}"}"#;
    assert_error(&result_error(string_wrapper), PayloadErrorKind::Shape, "Result", "expected a JSON object");
}

#[test]
fn keys_are_case_sensitive() {
    let lower = CANCELLED.replace("\"ResultCode\"", "\"resultCode\"");
    assert_error(&stk_error(&lower), PayloadErrorKind::Shape, "Body.stkCallback", "missing field `ResultCode`");
    let lower = CANCELLED.replace("\"Body\"", "\"body\"");
    assert_error(&stk_error(&lower), PayloadErrorKind::Shape, "", "missing field `Body`");
    let upper = C2B.replace("\"TransID\"", "\"TRANSID\"");
    assert_error(&c2b_error(&upper), PayloadErrorKind::Shape, "", "missing field `TransID`");
}

#[test]
fn types_must_match() {
    for code in ["true", "{}", "[]"] {
        let body = CANCELLED.replace("1032", code);
        assert_error(&stk_error(&body), PayloadErrorKind::Shape, "Body.stkCallback.ResultCode", "invalid type");
    }
    let null_code = CANCELLED.replace("1032", "null");
    assert_error(&stk_error(&null_code), PayloadErrorKind::Shape, "Body.stkCallback.ResultCode", "null");
    let number_id = C2B.replace(r#""RKTQDM7W6S""#, "12");
    assert_error(&c2b_error(&number_id), PayloadErrorKind::Shape, "TransID", "invalid type");
    // null in a required member is a missing member.
    let null_amount = C2B.replace(r#""10""#, "null");
    assert_error(&c2b_error(&null_amount), PayloadErrorKind::Shape, "TransAmount", "missing");
    let bool_msisdn = C2B.replace(r#""254708374149""#, "false");
    assert_error(&c2b_error(&bool_msisdn), PayloadErrorKind::Shape, "MSISDN", "invalid type");
    // null in an optional member means absent.
    let null_balance = C2B.replace('}', r#","OrgAccountBalance":null,"MiddleName":null}"#);
    assert!(C2bPayment::from_slice(null_balance.as_bytes()).is_ok());
}

#[test]
fn result_codes_are_integers_or_non_empty_strings() {
    for (code, words) in
        [("0.0", "not an integer"), ("1.5", "not an integer"), ("1e3", "not an integer"), (r#""""#, "empty")]
    {
        let body = CANCELLED.replace("1032", code);
        assert_error(&stk_error(&body), PayloadErrorKind::Value, "Body.stkCallback.ResultCode", words);
    }
    // 2^32 + 1032 stays itself: never wrapped to a cancellation.
    let body = CANCELLED.replace("1032", "4294968328");
    let callback = StkCallback::from_slice(body.as_bytes()).expect("fits i64");
    assert_eq!(callback.result_code.as_i64(), Some(4_294_968_328));
    assert!(!matches!(callback.outcome(), pesakit::StkOutcome::Cancelled));
    for huge in ["18446744073709552648", "9223372036854775808", r#""99999999999999999999""#] {
        let body = CANCELLED.replace("1032", huge);
        assert_error(&stk_error(&body), PayloadErrorKind::Value, "Body.stkCallback.ResultCode", "64-bit");
    }
}

#[test]
fn correlation_ids_must_not_be_empty() {
    let body = CANCELLED.replace("ws_CO_1", "");
    assert_error(&stk_error(&body), PayloadErrorKind::Value, "Body.stkCallback.CheckoutRequestID", "empty");
    let body = C2B.replace("RKTQDM7W6S", "");
    assert_error(&c2b_error(&body), PayloadErrorKind::Value, "TransID", "empty");
    let body = RESULT.replace(r#""ConversationID":"c""#, r#""ConversationID":"""#);
    assert_error(&result_error(&body), PayloadErrorKind::Value, "Result.ConversationID", "empty");
    let body = RESULT.replace(r#""OriginatorConversationID":"o","#, "");
    assert_error(&result_error(&body), PayloadErrorKind::Shape, "Result.OriginatorConversationID", "missing");
}

#[test]
fn every_id_is_bounded_at_max_id_bytes_and_a_longer_one_is_named() {
    let paid = stk_success(PAID_ITEMS);
    let timeout = RESULT.replace(r#""ResultType":0,"ResultCode":0,"#, "");
    // (body, id in it, field, parser)
    type Parse = fn(&[u8]) -> Result<(), PayloadError>;
    let b2c: Parse = attempt::<DarajaResult<B2cParams>>;
    let cases: [(&str, &str, &str, Parse); 8] = [
        (&paid, "ws_CO_1", "Body.stkCallback.CheckoutRequestID", attempt::<StkCallback>),
        (&paid, r#""MerchantRequestID":"1""#, "Body.stkCallback.MerchantRequestID", attempt::<StkCallback>),
        (
            &paid,
            "NLJ7RT61SV",
            "Body.stkCallback.CallbackMetadata.Item[MpesaReceiptNumber].Value",
            attempt::<StkCallback>,
        ),
        (C2B, "RKTQDM7W6S", "TransID", attempt::<C2bPayment>),
        (RESULT, r#""OriginatorConversationID":"o""#, "Result.OriginatorConversationID", b2c),
        (RESULT, r#""ConversationID":"c""#, "Result.ConversationID", b2c),
        (&timeout, r#""ConversationID":"c""#, "Result.ConversationID", attempt::<QueueTimeout>),
        (&result_with(r#""TransactionID":"SG632NMUAB""#), "SG632NMUAB", "Result.TransactionID", b2c),
    ];
    for (body, id, field, parse) in cases {
        let with_id = |length: usize| {
            let long = "7".repeat(length);
            match id.split_once(":") {
                // A `"Name":"value"` member: the value is replaced.
                Some((name, _)) => body.replacen(id, &format!(r#"{name}:"{long}""#), 1),
                None => body.replacen(id, &long, 1),
            }
        };
        assert!(parse(with_id(MAX_ID_BYTES).as_bytes()).is_ok(), "{field} at the bound");
        let error = parse(with_id(MAX_ID_BYTES + 1).as_bytes()).expect_err(field);
        assert_error(&error, PayloadErrorKind::Value, field, &format!("{} bytes long", MAX_ID_BYTES + 1));
        assert!(error.to_string().len() < 400, "the error does not echo the id: {error}");
    }
}

#[test]
fn originator_id_misspelling_is_an_alias_that_must_agree() {
    let misspelt = RESULT.replace("OriginatorConversationID", "OriginatorCoversationID");
    let result = DarajaResult::<B2cParams>::from_slice(misspelt.as_bytes()).expect("alias");
    assert_eq!(result.originator_conversation_id, "o");
    let both = result_with(r#""OriginatorCoversationID":"o""#);
    assert!(DarajaResult::<B2cParams>::from_slice(both.as_bytes()).is_ok());
    let disagree = result_with(r#""OriginatorCoversationID":"x""#);
    assert_error(&result_error(&disagree), PayloadErrorKind::Value, "Result.OriginatorCoversationID", "disagrees");
}

#[test]
fn amounts_are_exact() {
    for (amount, words) in [
        (r#""1.005""#, "more than 2 decimal places"),
        (r#""1.000""#, "more than 2 decimal places"),
        (r#""1e3""#, "expected digits"),
        (r#""-10""#, "cannot be negative"),
        (r#"" 10""#, "expected digits"),
        (r#""""#, "empty"),
        ("1.005", "more than 2 decimal places"),
        ("-1", "cannot be negative"),
        ("1E2", "expected digits"),
        ("99999999999999999999", "too large"),
    ] {
        let body = C2B.replace(r#""10""#, amount);
        let error = c2b_error(&body);
        assert_eq!(error.path(), "TransAmount", "{amount}: {error}");
        assert!(error.to_string().contains(words), "{amount}: {error}");
    }
    let stk = stk_success(&PAID_ITEMS.replace("1.00", "2.345"));
    assert_error(
        &stk_error(&stk),
        PayloadErrorKind::Value,
        "Body.stkCallback.CallbackMetadata.Item[Amount].Value",
        "decimal",
    );
    let negative = stk_success(&PAID_ITEMS.replace("1.00", "-1.00"));
    assert_error(
        &stk_error(&negative),
        PayloadErrorKind::Value,
        "Body.stkCallback.CallbackMetadata.Item[Amount].Value",
        "negative",
    );
    let b2c = result_with(r#""ResultParameters":{"ResultParameter":[{"Key":"TransactionAmount","Value":10.001}]}"#);
    assert_error(
        &result_error(&b2c),
        PayloadErrorKind::Value,
        "Result.ResultParameters.ResultParameter[TransactionAmount].Value",
        "decimal",
    );
}

#[test]
fn timestamps_are_real_calendar_instants() {
    for (time, words) in [
        (r#""20230230120000""#, "real calendar"),
        (r#""20231301120000""#, "real calendar"),
        (r#""20230101250000""#, "real calendar"),
        (r#""2023010112000""#, "14 digits"),
        (r#""20230101120000 ""#, "14 digits"),
        ("20230101120000", ""),
        ("20230101120000.0", "14 digits"),
        ("20230101120000000000", "14 digits"),
        ("2.0230101120000e13", "14 digits"),
    ] {
        let body = C2B.replace(r#""20191122063845""#, time);
        match C2bPayment::from_slice(body.as_bytes()) {
            Ok(_) => assert!(words.is_empty(), "{time} was accepted"),
            Err(error) => {
                assert_error(&error, PayloadErrorKind::Value, "TransTime", words);
            }
        }
    }
    let stk = stk_success(&PAID_ITEMS.replace("20191219102115", "20191219102175"));
    assert_error(
        &stk_error(&stk),
        PayloadErrorKind::Value,
        "Body.stkCallback.CallbackMetadata.Item[TransactionDate].Value",
        "calendar",
    );
}

#[test]
fn an_stk_success_without_complete_metadata_is_never_paid() {
    let no_metadata = CANCELLED.replace("1032", "0");
    assert_error(
        &stk_error(&no_metadata),
        PayloadErrorKind::Shape,
        "Body.stkCallback.CallbackMetadata",
        "ResultCode 0",
    );
    let string_zero = CANCELLED.replace("1032", r#""0""#);
    assert_eq!(stk_error(&string_zero).path(), "Body.stkCallback.CallbackMetadata");
    for item in ["Amount", "MpesaReceiptNumber", "TransactionDate", "PhoneNumber"] {
        let items: Vec<&str> =
            PAID_ITEMS.split("},").filter(|entry| !entry.contains(&format!(r#""{item}""#))).collect();
        let body = stk_success(&format!("{}}}", items.join("},").trim_end_matches('}')));
        let error = stk_error(&body);
        assert_error(
            &error,
            PayloadErrorKind::Shape,
            &format!("Body.stkCallback.CallbackMetadata.Item[{item}]"),
            "missing",
        );
        let without_value =
            PAID_ITEMS.replace(&format!(r#""Name":"{item}","Value""#), &format!(r#""Name":"{item}","Other""#));
        let error = stk_error(&stk_success(&without_value));
        assert_eq!(error.path(), format!("Body.stkCallback.CallbackMetadata.Item[{item}].Value"), "{error}");
    }
    let empty_receipt = stk_success(&PAID_ITEMS.replace("NLJ7RT61SV", ""));
    assert_eq!(stk_error(&empty_receipt).kind(), PayloadErrorKind::Value);
    let no_items = stk_success("");
    assert_eq!(stk_error(&no_items).path(), "Body.stkCallback.CallbackMetadata.Item[Amount]");
    let unlabelled = stk_success(&format!(r#"{PAID_ITEMS},{{"Value":5}}"#));
    assert_error(
        &stk_error(&unlabelled),
        PayloadErrorKind::Shape,
        "Body.stkCallback.CallbackMetadata.Item[4]",
        "neither",
    );
}

#[test]
fn metadata_on_a_failure_is_ignored() {
    let body = CANCELLED.replace(r#""ResultDesc""#, r#""CallbackMetadata":{"Item":"garbage"},"ResultDesc""#);
    let callback = StkCallback::from_slice(body.as_bytes()).expect("metadata ignored");
    assert_eq!(callback.payment(), None);
}

#[test]
fn c2b_minimum_is_enforced() {
    for member in ["TransID", "TransTime", "TransAmount", "MSISDN"] {
        let without: String = {
            let value: serde_json::Value = serde_json::from_str(C2B).expect("json");
            let mut object = value.as_object().expect("object").clone();
            object.remove(member);
            serde_json::to_string(&object).expect("json")
        };
        let error = c2b_error(&without);
        assert_eq!(error.kind(), PayloadErrorKind::Shape, "{error}");
        assert!(error.to_string().contains(member), "{member}: {error}");
    }
}

#[test]
fn lists_may_be_a_single_object_but_not_a_scalar() {
    let single = result_with(r#""ResultParameters":{"ResultParameter":{"Key":"TransactionAmount","Value":"10"}}"#);
    let result = DarajaResult::<B2cParams>::from_slice(single.as_bytes()).expect("single object list");
    assert_eq!(result.params.transaction_amount.map(|a| a.minor_units()), Some(1000));
    let scalar = result_with(r#""ResultParameters":{"ResultParameter":7}"#);
    assert_error(
        &result_error(&scalar),
        PayloadErrorKind::Shape,
        "Result.ResultParameters.ResultParameter",
        "invalid type",
    );
    let object_value = result_with(r#""ReferenceData":{"ReferenceItem":[{"Key":"Occasion","Value":{}}]}"#);
    assert_error(
        &result_error(&object_value),
        PayloadErrorKind::Shape,
        "Result.ReferenceData.ReferenceItem[Occasion].Value",
        "object",
    );
}

/// Found by the `stk_callback` fuzz target: a root object without the
/// member every STK body has is refused as the body's shape, naming the
/// member, with the empty path that means the body as a whole.
#[test]
fn a_root_without_its_member_is_the_whole_body_s_shape() {
    let error = stk_error(r#"{"doBy":{"stkCallback":{"MerchantRequestID":"1"}}}"#);
    assert_eq!((error.kind(), error.path()), (PayloadErrorKind::Shape, ""));
    assert!(error.to_string().starts_with("wrong shape in the body: missing field `Body`"), "{error}");
}

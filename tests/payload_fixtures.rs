//! Every shared fixture parses as its kind, with its important values checked.

mod common;

use pesakit::{
    AccountBalanceParams, B2bParams, B2cParams, C2bPayment, ConfirmationAck, DarajaResponse, DarajaResult, MsisdnForm,
    Payload, QueueTimeout, RejectCode, ResultCode, ReversalParams, StkCallback, StkOutcome, TransactionStatusParams,
    Validation,
};

fn parse<P: Payload>(name: &str, body: &[u8]) -> P {
    P::from_slice(body).unwrap_or_else(|error| panic!("{name}: {error}"))
}

fn cents(text: &str) -> i64 {
    text.parse::<pesakit::Balance>().expect("test amount").minor_units()
}

/// `(amount, receipt, transaction date, phone)` of a paid STK callback.
fn paid(callback: &StkCallback) -> (String, &str, String, Option<&str>) {
    let StkOutcome::Paid(payment) = callback.outcome() else {
        panic!("expected a payment, got {:?}", callback.outcome())
    };
    (payment.amount.to_string(), &payment.receipt, payment.transaction_date.original(), payment.phone.normalised())
}

#[test]
fn stk_callbacks() {
    for (name, body) in common::fixtures("stk") {
        let callback: StkCallback = parse(&name, &body);
        assert!(!callback.merchant_request_id.is_empty(), "{name}");
        assert_eq!(callback.correlation_id().to_string(), callback.checkout_request_id, "{name}");
        let outcome = callback.outcome();
        match name.as_str() {
            "official_v3_success_no_balance_item.json" => {
                assert_eq!(
                    paid(&callback),
                    ("1.00".into(), "NLJ7RT61SV", "20191219102115".into(), Some("254708374149"))
                );
                assert_eq!(callback.checkout_request_id, "ws_CO_191220191020363925");
                assert_eq!(callback.payment().map(|p| p.balance), Some(None));
            }
            "official_v1_success_with_balance_item.json" => {
                assert_eq!(
                    paid(&callback),
                    ("1.00".into(), "LGR7OWQX0R", "20170727154800".into(), Some("254721566839"))
                );
                assert_eq!(callback.payment().map(|p| p.balance), Some(None));
            }
            "real_2018_success_amount_1_00_balance_no_value.json" => {
                assert_eq!(
                    paid(&callback),
                    ("1.00".into(), "MAO0DO9BYO", "20180124144754".into(), Some("254700000606"))
                );
            }
            "real_2020_success_amount_int_no_balance_item.json" => {
                assert_eq!(
                    paid(&callback),
                    ("1.00".into(), "OH32AH8NC2", "20200803110636".into(), Some("254700000505"))
                );
            }
            "real_2022_success_amount_1_00_balance_item.json" => {
                assert_eq!(
                    paid(&callback),
                    ("1.00".into(), "QKH94M1Z11", "20221117155745".into(), Some("254700000101"))
                );
            }
            "real_2024_success_new_style_merchant_request_id.json" => {
                assert_eq!(
                    paid(&callback),
                    ("1.00".into(), "SH98HPAEJ8", "20240809154848".into(), Some("254700000404"))
                );
                assert_eq!(callback.merchant_request_id, "3b82-4048-94fd-4503f39b858f555160");
                let date = callback.payment().expect("paid").transaction_date;
                assert_eq!(date.to_string(), "2024-08-09T15:48:48+03:00");
            }
            "official_v1_cancelled_stk_cb_prefix_1032.json"
            | "official_v3_cancelled_1032.json"
            | "real_2023_cancelled_1032_msisdn_in_checkout_id.json"
            | "real_2024_cancelled_1032_new_style_ids.json" => {
                assert_eq!(outcome, StkOutcome::Cancelled, "{name}");
                assert_eq!(callback.result_code, ResultCode::Numeric(1032));
            }
            "real_2020_ds_timeout_1037_short_desc.json" => {
                assert_eq!(outcome, StkOutcome::Timeout);
                assert_eq!(callback.result_desc, "DS timeout.");
            }
            "real_2021_insufficient_funds_1.json" => {
                assert_eq!(outcome, StkOutcome::InsufficientFunds)
            }
            "real_2023_transaction_expired_1019.json" => {
                assert_eq!(outcome, StkOutcome::Expired);
                assert_eq!(callback.checkout_request_id, "ws_CO_30122023190932350700000202");
            }
            "real_2024_system_busy_26.json" => {
                assert_eq!(outcome, StkOutcome::Failed(&ResultCode::Numeric(26)));
            }
            "real_2024_wrong_pin_2001.json" => assert_eq!(outcome, StkOutcome::WrongPin),
            other => panic!("new STK fixture {other}: add its expected values here"),
        }
    }
}

/// `(TransID, amount, time, short code, bill ref, MSISDN form)`.
fn c2b_summary(payment: &C2bPayment) -> (&str, String, String, &str, &str, MsisdnForm) {
    (
        &payment.trans_id,
        payment.trans_amount.to_string(),
        payment.trans_time.original(),
        &payment.business_short_code,
        &payment.bill_ref_number,
        payment.msisdn.form(),
    )
}

#[test]
fn c2b_validation_requests() {
    for (name, body) in common::fixtures("c2b_validation") {
        let payment: C2bPayment = parse(&name, &body);
        assert_eq!(payment.org_account_balance, None, "{name}: validation carries no balance");
        assert_eq!(payment.correlation_id().to_string(), payment.trans_id);
        let summary = c2b_summary(&payment);
        match name.as_str() {
            "official_registerurl_doc_sample_commas_fixed.json" => {
                assert_eq!(
                    summary,
                    ("RKTQDM7W6S", "10.00".into(), "20191122063845".into(), "600638", "invoice008", MsisdnForm::Masked)
                );
                assert_eq!(payment.msisdn.as_str(), "25470****149");
                assert_eq!(payment.transaction_type, "Pay Bill");
            }
            "official_v1_doc_validation_empty_type.json" => {
                assert_eq!(
                    summary,
                    ("LGR219G3EY", "10.00".into(), "20170727104247".into(), "600134", "xyz", MsisdnForm::Plain)
                );
                assert_eq!(payment.transaction_type, "");
                assert_eq!(payment.middle_name.as_deref(), Some("Doe"));
                assert_eq!(payment.last_name, None);
            }
            "real_2020_sandbox_validation_empty_type_and_balance.json" => {
                assert_eq!(
                    summary,
                    ("OJL91HDCWJ", "4000.00".into(), "20201021004705".into(), "600502", "inv10", MsisdnForm::Plain)
                );
            }
            "real_2021_sandbox_validation.json" => {
                assert_eq!(
                    summary,
                    ("PB721HIFZ6", "761.00".into(), "20210207203916".into(), "600502", "Inkjl892", MsisdnForm::Plain)
                );
                assert_eq!(payment.msisdn.normalised(), Some("254708374149"));
            }
            other => panic!("new validation fixture {other}: add its expected values here"),
        }
    }
}

#[test]
fn c2b_confirmations() {
    for (name, body) in common::fixtures("c2b_confirmation") {
        let payment: C2bPayment = parse(&name, &body);
        let summary = c2b_summary(&payment);
        let balance = payment.org_account_balance.map(|balance| balance.to_string());
        match name.as_str() {
            "official_v1_doc_confirmation.json" => {
                assert_eq!(
                    summary,
                    ("LGR219G3EY", "10.00".into(), "20170727104247".into(), "600134", "xyz", MsisdnForm::Plain)
                );
                assert_eq!(balance.as_deref(), Some("49197.00"));
                assert_eq!(payment.third_party_trans_id.as_deref(), Some("1234567890"));
            }
            "official_v3_masked_msisdn.json" => {
                assert_eq!(
                    summary,
                    (
                        "RKL51ZDR4F",
                        "5.00".into(),
                        "20231121121325".into(),
                        "600966",
                        "Sample Transaction",
                        MsisdnForm::Masked
                    )
                );
                assert_eq!(payment.msisdn.as_str(), "2547 ***** 126");
                assert_eq!(payment.first_name.as_deref(), Some("NICHOLAS"));
                assert_eq!(payment.third_party_trans_id, None);
            }
            "real_2020_prod_paybill_plain_msisdn.json" => {
                assert_eq!(
                    summary,
                    ("OHG2OIQVQC", "10.00".into(), "20200816204116".into(), "499555", "0700001111", MsisdnForm::Plain)
                );
                assert_eq!(balance.as_deref(), Some("879409.00"));
            }
            "real_2020_sandbox_empty_type_and_balance.json" => {
                assert_eq!(
                    summary,
                    ("OIO01HCT1K", "67.00".into(), "20200924013956".into(), "600610", "SIMULATE004", MsisdnForm::Plain)
                );
                assert_eq!((payment.transaction_type.as_str(), balance), ("", None));
            }
            "real_2020_sandbox_paybill.json" => {
                assert_eq!(
                    summary,
                    ("OJL91HDCWJ", "4000.00".into(), "20201021004705".into(), "600502", "inv10", MsisdnForm::Plain)
                );
                assert_eq!(balance.as_deref(), Some("1522079.00"));
            }
            "real_2021_prod_till_customer_merchant_payment.json" => {
                assert_eq!(
                    summary,
                    ("PH85DLFPD3", "1.00".into(), "20210808204334".into(), "515021", "", MsisdnForm::Plain)
                );
                assert_eq!(payment.transaction_type, "Customer Merchant Payment");
                assert_eq!(balance.as_deref(), Some("102.00"));
            }
            "real_2022_sandbox_star_masked_msisdn_and_middlename.json" => {
                assert_eq!(
                    summary,
                    ("QKL21LNLDS", "4.00".into(), "20221121110445".into(), "600978", "test2", MsisdnForm::Masked)
                );
                assert_eq!(payment.middle_name.as_deref(), Some("******"));
                assert_eq!(balance.as_deref(), Some("9993931.40"));
            }
            other => panic!("new confirmation fixture {other}: add its expected values here"),
        }
    }
}

fn conversation<P>(result: &DarajaResult<P>) -> (&str, &str, String) {
    (&result.originator_conversation_id, &result.conversation_id, result.result_code.to_string())
}

#[test]
fn b2c_results() {
    for (name, body) in common::fixtures("b2c_result") {
        let result: DarajaResult<B2cParams> = parse(&name, &body);
        let params = &result.params;
        match name.as_str() {
            "official_v3_success.json" => {
                assert_eq!(
                    conversation(&result),
                    ("53e3-4aa8-9fe0-8fb5e4092cdd3533373", "AG_20240706_2010364430d9bbdaf872", "0".into())
                );
                assert_eq!(params.transaction_amount.map(|a| a.minor_units()), Some(1000));
                assert_eq!(params.transaction_receipt.as_deref(), Some("SG632NMUAB"));
                assert_eq!(params.utility_account_available_funds.map(|b| b.minor_units()), Some(cents("8959269.60")));
                assert_eq!(
                    params.charges_paid_account_available_funds.map(|b| b.minor_units()),
                    Some(cents("-1980.00"))
                );
                assert_eq!(
                    params.transaction_completed_at.map(|t| t.to_string()),
                    Some("2024-07-06T22:48:52+03:00".into())
                );
                assert_eq!(params.receiver_party_public_name.as_deref(), Some("254705912645 - NICHOLAS JOHN SONGOK"));
                assert_eq!(params.recipient_is_registered_customer, Some(true));
            }
            "official_v1_doc_success_2017.json" => {
                assert_eq!(params.transaction_amount.map(|a| a.minor_units()), Some(800_000));
                assert_eq!(params.working_account_available_funds.map(|b| b.minor_units()), Some(15_000_000));
                assert_eq!(params.charges_paid_account_available_funds.map(|b| b.minor_units()), Some(0));
                assert_eq!(params.transaction_completed_at.map(|t| t.original()), Some("17.07.2017 10:54:57".into()));
            }
            "doc_2019_success_escaped_slashes.json" => {
                assert_eq!(params.charges_paid_account_available_funds.map(|b| b.minor_units()), Some(-451_000));
                let queue_url = result.reference_data.get("QueueTimeoutURL").map(|v| v.as_str().to_owned());
                assert_eq!(
                    queue_url.as_deref(),
                    Some("https://internalsandbox.safaricom.co.ke/mpesa/b2cresults/v1/submit")
                );
            }
            "real_2023_prod_success_http_internalapi.json" => {
                assert!(result.is_success());
                assert_eq!(params.utility_account_available_funds.map(|b| b.minor_units()), Some(48_857));
                assert_eq!(params.transaction_receipt.as_deref(), Some("RBH7V5GG0J"));
                assert_eq!(result.real_transaction_id(), Some("RBH7V5GG0J"));
            }
            "official_v3_failure_2001_initiator_invalid.json" | "real_2024_sandbox_v3_uuid_originator_2001.json" => {
                assert_eq!(result.result_code, ResultCode::Numeric(2001));
                assert!(!result.is_success());
                assert_eq!(*params, B2cParams::default(), "{name}: failures carry no parameters");
            }
            "real_2023_prod_insufficient_balance_1.json" => {
                assert_eq!(
                    conversation(&result),
                    ("37389-104729544-1", "AG_20230320_207069900d30418d9616", "1".into())
                );
                assert!(result.parameters.is_empty());
            }
            other => panic!("new B2C fixture {other}: add its expected values here"),
        }
        if name.contains("uuid") {
            assert_eq!(result.originator_conversation_id, "9378b6f5-6d44-43a1-8c36-53fddb8414c0");
        }
    }
}

#[test]
fn account_balance_results() {
    for (name, body) in common::fixtures("account_balance_result") {
        let result: DarajaResult<AccountBalanceParams> = parse(&name, &body);
        assert!(result.is_success(), "{name}");
        let accounts: Vec<(&str, i64)> = result
            .params
            .accounts
            .iter()
            .map(|account| (account.name.as_str(), account.amounts[0].minor_units()))
            .collect();
        let completed = result.params.bo_completed_time.map(|time| time.original());
        match name.as_str() {
            "official_v1_doc_2017_typo_desc.json" => {
                assert_eq!(accounts.len(), 5);
                assert_eq!(accounts[3], ("Charges Paid Account", -22_000));
                assert_eq!(completed.as_deref(), Some("20170728095642"));
            }
            "official_v3_string_result_codes.json" => {
                assert_eq!(result.result_type, Some(0));
                assert_eq!(accounts[0], ("Working Account", 70_000_000));
                assert_eq!(accounts[2], ("Utility Account", 22_803_700));
                assert_eq!(completed.as_deref(), Some("20200109125710"));
            }
            "real_2024_action_type_key_no_float.json" => {
                assert_eq!(accounts.len(), 4);
                assert!(accounts.iter().all(|(account, _)| *account != "Float Account"));
                assert_eq!(result.params.action_type.as_deref(), Some("AccountBalance"));
                assert_eq!(completed.as_deref(), Some("20240124163140"));
            }
            other => panic!("new account balance fixture {other}: add its expected values here"),
        }
    }
}

#[test]
fn transaction_status_results() {
    for (name, body) in common::fixtures("transaction_status_result") {
        let result: DarajaResult<TransactionStatusParams> = parse(&name, &body);
        let status = &result.params;
        assert_eq!(status.transaction_status.as_deref(), Some("Completed"), "{name}");
        match name.as_str() {
            "official_v1_doc_2017_spaced_keys.json" => {
                assert_eq!(status.receipt_no.as_deref(), Some("LGR919G2AV"));
                assert_eq!(status.conversation_id.as_deref(), Some("AG_20170727_00004492b1b6d0078fbe"));
                assert_eq!(status.originator_conversation_id.as_deref(), Some("19455-773836-1"));
                assert_eq!(status.amount.map(|a| a.minor_units()), Some(1000));
                assert_eq!(status.debit_party_charges[0].amount.minor_units(), 3300);
                assert_eq!(status.credit_party_name.as_deref(), Some("254708374149 - John Doe"));
                assert_eq!(status.transaction_reason, None);
                assert_eq!(status.occasion.as_deref(), Some("aaaa"));
            }
            "official_v3_duplicate_debitpartyname_key.json" => {
                assert_eq!(status.debit_party_name.as_deref(), Some("600310 - Safaricom333"));
                assert_eq!(status.credit_party_name.as_deref(), Some("254708374149 - John Doe"));
                assert_eq!(result.parameters.get_all("DebitPartyName").count(), 2);
                assert_eq!(status.amount.map(|a| a.minor_units()), Some(30_000));
                assert_eq!(status.initiated_time.map(|t| t.original()), Some("20180223054112".into()));
                assert_eq!(result.originator_conversation_id, "3213-416199-2");
                assert_eq!(status.originator_conversation_id.as_deref(), Some("3211-416020-3"));
            }
            "real_2024_stk_receipt_pay_bill_online.json" => {
                assert_eq!(status.receipt_no.as_deref(), Some("SFT1ABC2DE"));
                assert_eq!(status.reason_type.as_deref(), Some("Pay Bill Online"));
                assert_eq!(status.credit_party_name.as_deref(), Some("490742 - FINGO  AFRICA BY ECOBANK"));
                assert!(result.parameters.contains_key("CreditPartyCharges"));
                assert_eq!(result.parameters.get("CreditPartyCharges"), None);
                assert_eq!(status.finalised_time.map(|t| t.original()), Some("20240629184302".into()));
            }
            other => panic!("new transaction status fixture {other}: add its expected values here"),
        }
    }
}

#[test]
fn reversal_results() {
    for (name, body) in common::fixtures("reversal_result") {
        let result: DarajaResult<ReversalParams> = parse(&name, &body);
        match name.as_str() {
            "official_v3_success.json" => {
                let params = &result.params;
                assert_eq!(params.amount.map(|a| a.minor_units()), Some(100));
                assert_eq!(params.charge.map(|a| a.minor_units()), Some(0));
                assert_eq!(params.original_transaction_id.as_deref(), Some("SKC82PACB8"));
                assert_eq!(params.trans_completed_time.map(|t| t.original()), Some("20211114132711".into()));
                assert_eq!(params.debit_account_balance[0].amounts[0].minor_units(), cents("7722179.62"));
                assert_eq!(params.debit_party_public_name.as_deref(), Some("600992 - Safaricom Daraja 992"));
            }
            "official_v3_failure_R000002_string_code.json" => {
                assert_eq!(result.result_code, ResultCode::Text("R000002".into()));
                assert!(!result.is_success());
                assert_eq!(result.real_transaction_id(), None);
            }
            other => panic!("new reversal fixture {other}: add its expected values here"),
        }
    }
}

#[test]
fn b2b_results() {
    for (name, body) in common::fixtures("b2b_result") {
        let result: DarajaResult<B2bParams> = parse(&name, &body);
        let params = &result.params;
        match name.as_str() {
            "official_paybill_success_value_quoted.json" => {
                assert_eq!(result.result_code, ResultCode::Numeric(0));
                assert_eq!(params.amount.map(|a| a.minor_units()), Some(19_000));
                assert_eq!(params.debit_account_balance.map(|b| b.minor_units()), Some(618_683));
                assert_eq!(params.initiator_account_current_balance.map(|b| b.minor_units()), Some(618_683));
                assert_eq!(params.debit_party_affected_account_balance[0].amounts[2].minor_units(), 34_038_200);
                assert_eq!(params.receiver_party_public_name.as_deref(), Some("000000– Biller Companty"));
                assert!(params.debit_party_charges.is_empty());
                assert_eq!(params.bill_reference_number.as_deref(), Some("19008"));
            }
            "official_v1_doc_2017_occasion_without_value.json" => {
                assert_eq!(params.amount.map(|a| a.minor_units()), Some(1000));
                assert_eq!(params.debit_account_current_balance.map(|b| b.minor_units()), Some(4_671_300));
                assert_eq!(params.debit_party_charges[0].amount.minor_units(), 7700);
                assert_eq!(params.trans_completed_time.map(|t| t.original()), Some("20170727102524".into()));
                assert_eq!(params.occasion, None);
                assert!(result.reference_data.contains_key("Occasion"));
            }
            "official_b2c_topup_failure_single_param_numeric_value.json" => {
                assert_eq!(result.result_code, ResultCode::Numeric(2001));
                assert_eq!(result.parameters.get("BillReferenceNumber").map(|v| v.as_str()), Some("12323333"));
                assert_eq!(params.bill_reference_number.as_deref(), Some("12323333"));
                assert!(result.reference_data.contains_key("Occassion"));
            }
            "official_buygoods_failure_single_object_result_parameter.json" => {
                assert_eq!(result.parameters.len(), 1);
                assert_eq!(result.parameters.get("BOCompletedTime").map(|v| v.as_str()), Some("20200120164825"));
                assert_eq!(result.real_transaction_id(), None);
            }
            "real_2024_sandbox_failure_17_sixteen_zero_transaction_id.json" => {
                assert_eq!(result.result_code, ResultCode::Numeric(17));
                assert_eq!(result.transaction_id.as_deref(), Some("0000000000000000"));
                assert_eq!(result.real_transaction_id(), None);
                assert_eq!(params.bill_reference_number.as_deref(), Some("1d2ea2b9"));
            }
            "real_2024_sandbox_tax_remittance_failure_numeric_billref.json" => {
                assert_eq!(params.bill_reference_number.as_deref(), Some("353353"));
                assert_eq!(result.real_transaction_id(), Some("SBR12IFWUT"), "a failure may carry a receipt-like id");
                assert!(!result.is_success());
            }
            other => panic!("new B2B fixture {other}: add its expected values here"),
        }
    }
}

#[test]
fn queue_timeouts() {
    for (name, body) in common::fixtures("timeout") {
        let timeout: QueueTimeout = parse(&name, &body);
        match name.as_str() {
            "community_assumed_b2c_queue_timeout.json" => {
                assert_eq!(timeout.originator_conversation_id, "29115-34620561-1");
                assert_eq!(timeout.conversation_id, "AG_20191219_00005797af5d7d75f652");
                assert_eq!(timeout.result_code, Some(ResultCode::Numeric(1)));
                assert_eq!(timeout.raw_json().as_bytes(), body.as_slice());
            }
            other => panic!("new timeout fixture {other}: add its expected values here"),
        }
        // A timeout is also a well-formed, failed result.
        assert!(!DarajaResult::<B2cParams>::from_slice(&body).expect("generic envelope").is_success());
    }
}

fn json(bytes: &[u8]) -> serde_json::Value {
    serde_json::from_slice(bytes).expect("response fixture is JSON")
}

#[test]
fn validation_responses_match_the_documented_bodies() {
    for (name, expected) in common::responses("c2b_validation") {
        let verdict = match name.as_str() {
            "accept.json" => Validation::Accept,
            "accept_with_third_party_trans_id.json" => Validation::accept_tagged("1234567890").expect("valid id"),
            "reject_C2B00011_invalid_msisdn.json" => Validation::Reject(RejectCode::InvalidMsisdn),
            "reject_C2B00012_invalid_account_number.json" => Validation::Reject(RejectCode::InvalidAccountNumber),
            "reject_C2B00013_invalid_amount.json" => Validation::Reject(RejectCode::InvalidAmount),
            "reject_C2B00014_invalid_kyc_details.json" => Validation::Reject(RejectCode::InvalidKycDetails),
            "reject_C2B00015_invalid_shortcode.json" => Validation::Reject(RejectCode::InvalidShortcode),
            "reject_C2B00016_other_error.json" => Validation::Reject(RejectCode::OtherError),
            other => panic!("new validation response {other}: map it to a verdict here"),
        };
        let sent = verdict.to_json();
        assert_eq!(json(&sent), json(&expected), "{name}");
        // Our bytes are the compact form of the same document.
        assert_eq!(sent.as_ref(), serde_json::to_vec(&json(&expected)).expect("compact").as_slice(), "{name}");
    }
}

#[test]
fn confirmation_ack_matches_the_documented_body() {
    for (name, expected) in common::responses("c2b_confirmation") {
        assert_eq!(json(&ConfirmationAck.to_json()), json(&expected), "{name}");
    }
}

#[test]
fn custom_reject_codes_are_sent_verbatim() {
    let verdict = Validation::Reject(RejectCode::custom("C2B00099").expect("valid code"));
    assert_eq!(verdict.to_json().as_ref(), br#"{"ResultCode":"C2B00099","ResultDesc":"Rejected"}"#);
    for bad in ["", "0", "000", "C2B 1", "C2B\"1", &"X".repeat(33)] {
        assert!(RejectCode::custom(bad).is_err(), "{bad:?}");
    }
}

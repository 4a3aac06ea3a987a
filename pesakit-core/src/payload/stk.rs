//! The STK push (M-Pesa Express) result sent to `CallBackURL` .

use serde::Deserialize;
use serde_json::value::RawValue;

use super::Payload;
use super::amount::{Amount, Balance};
use super::correlation::CorrelationId;
use super::error::PayloadError;
use super::field::{self, required_scalar};
use super::ids::{DarajaId, DarajaIds};
use super::json::{self, Object, OneOrMany, RawEntry, Scalar};
use super::msisdn::Msisdn;
use super::result_code::ResultCode;
use super::timestamp::DarajaTime;

const CALLBACK: &str = "Body.stkCallback";
const METADATA: &str = "Body.stkCallback.CallbackMetadata";

/// The result of an STK push: `{"Body":{"stkCallback":{…}}}`.
///
/// A success (`ResultCode` 0) only parses with complete metadata — amount,
/// receipt, transaction date and phone — so a `StkCallback` with code 0 is
/// always a real payment ([`StkOutcome::Paid`]). Metadata on a failure is
/// ignored: it is never evidence of payment.
///
/// ```
/// use pesakit::{Payload, StkCallback, StkOutcome};
///
/// let body = br#"{"Body":{"stkCallback":{
///     "MerchantRequestID":"29115-34620561-1",
///     "CheckoutRequestID":"ws_CO_191220191020363925",
///     "ResultCode":0,
///     "ResultDesc":"The service request is processed successfully.",
///     "CallbackMetadata":{"Item":[
///         {"Name":"Amount","Value":1.00},
///         {"Name":"MpesaReceiptNumber","Value":"NLJ7RT61SV"},
///         {"Name":"TransactionDate","Value":20191219102115},
///         {"Name":"PhoneNumber","Value":254708374149}]}}}}"#;
///
/// let callback = StkCallback::from_slice(body)?;
/// let StkOutcome::Paid(payment) = callback.outcome() else { panic!("a payment") };
/// assert_eq!(payment.amount.to_string(), "1.00");
/// assert_eq!(payment.receipt, "NLJ7RT61SV");
/// assert_eq!(payment.phone.normalised(), Some("254708374149"));
/// assert_eq!(payment.transaction_date.to_string(), "2019-12-19T10:21:15+03:00");
/// # Ok::<(), pesakit::PayloadError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StkCallback {
    /// `MerchantRequestID`, returned when the push was sent.
    pub merchant_request_id: String,
    /// `CheckoutRequestID`, the id to correlate on. Treat it as personal
    /// data: newer ids embed the payer's number.
    pub checkout_request_id: String,
    /// `ResultCode`, kept as sent.
    pub result_code: ResultCode,
    /// `ResultDesc`. Free text whose wording changes; never branch on it.
    pub result_desc: String,
    payment: Option<StkPayment>,
}

/// The metadata of a successful STK payment.
///
/// ```
/// # use pesakit::{Payload, StkCallback};
/// # let body = std::fs::read("../tests/fixtures/stk/official_v1_success_with_balance_item.json").unwrap();
/// let payment = StkCallback::from_slice(&body)?.payment().cloned().unwrap();
/// assert_eq!(payment.amount.minor_units(), 100);
/// assert_eq!(payment.balance, None); // the Balance item never carries a value
/// # Ok::<(), pesakit::PayloadError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct StkPayment {
    /// `Amount`, exact.
    pub amount: Amount,
    /// `MpesaReceiptNumber`, e.g. `NLJ7RT61SV`.
    pub receipt: String,
    /// `TransactionDate`, in East Africa Time.
    pub transaction_date: DarajaTime,
    /// `PhoneNumber`, the payer.
    pub phone: Msisdn,
    /// `Balance`, which Daraja sends without a value or not at all.
    pub balance: Option<Balance>,
}

/// What an STK push came to, classified by result code: 0 is paid, the codes
/// Daraja documents as final failures are failed, and any other code is kept
/// as unknown, never read as paid.
///
/// ```
/// use pesakit::{Payload, StkCallback, StkOutcome};
///
/// let body = br#"{"Body":{"stkCallback":{"MerchantRequestID":"1","CheckoutRequestID":"ws_CO_1",
///     "ResultCode":1032,"ResultDesc":"Request cancelled by user"}}}"#;
/// assert_eq!(StkCallback::from_slice(body)?.outcome(), StkOutcome::Cancelled);
/// # Ok::<(), pesakit::PayloadError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StkOutcome<'a> {
    /// Code 0 with complete metadata: the customer paid.
    Paid(&'a StkPayment),
    /// 1032 or 1031: the customer dismissed the prompt.
    Cancelled,
    /// 1037: the phone could not be reached or did not answer. Query the
    /// outcome before telling the customer it failed.
    Timeout,
    /// 1: not enough money in the customer's account.
    InsufficientFunds,
    /// 2001: the customer entered a wrong PIN.
    WrongPin,
    /// 1019: the request expired before the customer acted.
    Expired,
    /// Any other code, known or not. Never a payment.
    Failed(&'a ResultCode),
}

impl StkCallback {
    /// The classified result.
    pub fn outcome(&self) -> StkOutcome<'_> {
        if let Some(payment) = &self.payment {
            return StkOutcome::Paid(payment);
        }
        match self.result_code.as_i64() {
            Some(1031 | 1032) => StkOutcome::Cancelled,
            Some(1037) => StkOutcome::Timeout,
            Some(1) => StkOutcome::InsufficientFunds,
            Some(2001) => StkOutcome::WrongPin,
            Some(1019) => StkOutcome::Expired,
            _ => StkOutcome::Failed(&self.result_code),
        }
    }

    /// The payment, when the push succeeded.
    pub fn payment(&self) -> Option<&StkPayment> {
        self.payment.as_ref()
    }
}

impl Payload for StkCallback {
    fn from_slice(body: &[u8]) -> Result<Self, PayloadError> {
        // Fast path: metadata parsed in the same pass. If that fails, parse
        // again with the metadata left raw, to ignore it on a failure and to
        // name the field otherwise.
        if let Some(Envelope { body: Object(Body { callback: Object(raw) }) }) =
            json::try_parse_document::<Envelope<'_, Object<Metadata<'_>>>>(body)
        {
            return Self::validate(raw, |Object(metadata)| Ok(metadata));
        }
        let Envelope { body: Object(Body { callback: Object(raw) }) } =
            json::parse_document::<Envelope<'_, &RawValue>>(body)?;
        Self::validate(raw, |metadata| json::parse_nested(metadata, METADATA).map(|Object(metadata)| metadata))
    }

    fn correlation_id(&self) -> CorrelationId<'_> {
        CorrelationId::CheckoutRequest(&self.checkout_request_id)
    }

    fn outcome_unknown(&self) -> Option<&'static str> {
        (!self.result_code.is_final_stk_outcome())
            .then_some("the STK result code is not a final outcome (expired, unanswered or unknown): query it")
    }

    fn daraja_ids(&self) -> DarajaIds<'_> {
        let receipt = self.payment.as_ref().map(|payment| DarajaId::Receipt(&payment.receipt));
        DarajaIds::new(&self.checkout_request_id, [Some(DarajaId::MerchantRequest(&self.merchant_request_id)), receipt])
    }
}

impl StkCallback {
    fn validate<'a, M>(
        raw: RawCallback<'a, M>,
        metadata: impl FnOnce(M) -> Result<Metadata<'a>, PayloadError>,
    ) -> Result<Self, PayloadError> {
        let result_code = required_scalar(Some(raw.result_code), &|| format!("{CALLBACK}.ResultCode"))?;
        let result_code = ResultCode::from_scalar(result_code, "Body.stkCallback.ResultCode")?;
        let payment = match (result_code.is_success(), raw.callback_metadata) {
            (true, Some(raw_metadata)) => Some(read_payment(metadata(raw_metadata)?)?),
            (true, None) => {
                return Err(PayloadError::shape(
                    METADATA,
                    "missing field; ResultCode 0 needs CallbackMetadata, so this success cannot be trusted as paid",
                ));
            }
            (false, _) => None,
        };
        Ok(Self {
            merchant_request_id: field::daraja_id(raw.merchant_request_id, "Body.stkCallback.MerchantRequestID")?,
            checkout_request_id: field::daraja_id(raw.checkout_request_id, "Body.stkCallback.CheckoutRequestID")?,
            result_code,
            result_desc: raw.result_desc,
            payment,
        })
    }
}

/// The body as sent, with the metadata as `M`: parsed, or left raw.
#[derive(Deserialize)]
#[serde(bound(deserialize = "M: Deserialize<'de>"))]
struct Envelope<'a, M> {
    #[serde(rename = "Body", borrow)]
    body: Object<Body<'a, M>>,
}

#[derive(Deserialize)]
#[serde(bound(deserialize = "M: Deserialize<'de>"))]
struct Body<'a, M> {
    #[serde(rename = "stkCallback", borrow)]
    callback: Object<RawCallback<'a, M>>,
}

#[derive(Deserialize)]
#[serde(bound(deserialize = "M: Deserialize<'de>"))]
struct RawCallback<'a, M> {
    #[serde(rename = "MerchantRequestID")]
    merchant_request_id: String,
    #[serde(rename = "CheckoutRequestID")]
    checkout_request_id: String,
    #[serde(rename = "ResultCode", borrow)]
    result_code: &'a RawValue,
    #[serde(rename = "ResultDesc")]
    result_desc: String,
    #[serde(rename = "CallbackMetadata", default = "Option::default")]
    callback_metadata: Option<M>,
}

#[derive(Deserialize)]
struct Metadata<'a> {
    #[serde(rename = "Item", borrow)]
    items: OneOrMany<Object<RawEntry<'a>>>,
}

/// The metadata items we read, each at most once.
#[derive(Default)]
struct PaymentItems<'a> {
    amount: Option<Option<&'a RawValue>>,
    receipt: Option<Option<&'a RawValue>>,
    transaction_date: Option<Option<&'a RawValue>>,
    phone: Option<Option<&'a RawValue>>,
    balance: Option<Option<&'a RawValue>>,
}

fn read_payment(Metadata { items: OneOrMany(entries) }: Metadata<'_>) -> Result<StkPayment, PayloadError> {
    let mut items = PaymentItems::default();
    for (index, Object(entry)) in entries.iter().enumerate() {
        let label = entry.label(|| format!("{METADATA}.Item[{index}]"))?;
        let slot = match label {
            "Amount" => &mut items.amount,
            "MpesaReceiptNumber" => &mut items.receipt,
            "TransactionDate" => &mut items.transaction_date,
            "PhoneNumber" => &mut items.phone,
            "Balance" => &mut items.balance,
            _ => continue,
        };
        if slot.replace(entry.value).is_some() {
            // Two differing copies would let the last one decide what was paid.
            return Err(PayloadError::shape(format!("{METADATA}.Item[{label}]"), "the item appears more than once"));
        }
    }
    let amount = required_item("Amount", items.amount)?;
    let receipt = required_item("MpesaReceiptNumber", items.receipt)?;
    let transaction_date = required_item("TransactionDate", items.transaction_date)?;
    let phone = required_item("PhoneNumber", items.phone)?;
    let balance = field::optional_scalar(items.balance.flatten(), &|| format!("{METADATA}.Item[Balance].Value"))?;
    Ok(StkPayment {
        amount: field::amount(&amount, &|| format!("{METADATA}.Item[Amount].Value"))?,
        receipt: receipt_text(receipt)?,
        transaction_date: field::timestamp(&transaction_date, &|| format!("{METADATA}.Item[TransactionDate].Value"))?,
        phone: Msisdn::new(phone.text()),
        balance: balance
            .map(|value| field::balance(&value, &|| format!("{METADATA}.Item[Balance].Value")))
            .transpose()?,
    })
}

fn required_item<'a>(name: &'static str, value: Option<Option<&'a RawValue>>) -> Result<Scalar<'a>, PayloadError> {
    match value {
        Some(raw) => required_scalar(raw, &|| format!("{METADATA}.Item[{name}].Value")),
        None => Err(field::missing(format!("{METADATA}.Item[{name}]"))),
    }
}

fn receipt_text(value: Scalar<'_>) -> Result<String, PayloadError> {
    let path = "Body.stkCallback.CallbackMetadata.Item[MpesaReceiptNumber].Value";
    match value {
        Scalar::Text(text) if !text.is_empty() => field::bounded_id(text.into_owned(), path),
        Scalar::Text(_) => Err(PayloadError::value(path, "the receipt number is an empty string")),
        Scalar::Number(literal) => {
            Err(PayloadError::shape(path, format!("invalid type: number {literal}, expected a string")))
        }
    }
}

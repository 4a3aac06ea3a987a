//! The C2B validation and confirmation requests.

use serde::Deserialize;
use serde_json::value::RawValue;

use super::Payload;
use super::amount::{Amount, Balance};
use super::correlation::CorrelationId;
use super::error::PayloadError;
use super::field::{self, required_scalar};
use super::ids::DarajaIds;
use super::json::{self, Object};
use super::msisdn::Msisdn;
use super::timestamp::DarajaTime;

/// A customer payment into a Pay Bill or Buy Goods (till) number.
///
/// Validation and confirmation share this flat body and the same `TransID`.
/// Validation asks whether to accept the payment; confirmation reports money
/// that has already moved.
///
/// Beyond Daraja's minimum — a non-empty `TransID`, a valid `TransTime` and
/// `TransAmount`, and an `MSISDN` string — members may be
/// absent without refusing the payment: a confirmation refused is a payment
/// forgotten.
///
/// ```
/// use pesakit::{C2bPayment, Payload};
///
/// let body = br#"{"TransactionType":"Pay Bill","TransID":"RKL51ZDR4F",
///     "TransTime":"20231121121325","TransAmount":"5.00","BusinessShortCode":"600966",
///     "BillRefNumber":"invoice-42","InvoiceNumber":"","OrgAccountBalance":"25.00",
///     "ThirdPartyTransID":"","MSISDN":"2547 ***** 126","FirstName":"NICHOLAS",
///     "MiddleName":"","LastName":""}"#;
///
/// let payment = C2bPayment::from_slice(body)?;
/// assert_eq!(payment.trans_amount.to_string(), "5.00");
/// assert_eq!(payment.bill_ref_number, "invoice-42");
/// assert_eq!(payment.msisdn.normalised(), None); // masked by Daraja
/// assert_eq!(payment.middle_name, None);
/// # Ok::<(), pesakit::PayloadError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct C2bPayment {
    /// `TransactionType`: `"Pay Bill"`, `"Customer Merchant Payment"` (till),
    /// `"Organization To Organization Transfer"`, or `""` (common on
    /// validation). An open set.
    pub transaction_type: String,
    /// `TransID`, the M-Pesa receipt and the id to correlate on.
    pub trans_id: String,
    /// `TransTime`, in East Africa Time.
    pub trans_time: DarajaTime,
    /// `TransAmount`, exact.
    pub trans_amount: Amount,
    /// `BusinessShortCode`, the paybill or till that was paid.
    pub business_short_code: String,
    /// `BillRefNumber`, the account number the customer typed: `""` for
    /// tills; any letter case; may carry trailing spaces.
    pub bill_ref_number: String,
    /// `InvoiceNumber`, when not empty.
    pub invoice_number: Option<String>,
    /// `OrgAccountBalance` after the payment; empty on validation.
    pub org_account_balance: Option<Balance>,
    /// `ThirdPartyTransID`, the tag our validation reply set, if any.
    pub third_party_trans_id: Option<String>,
    /// `MSISDN`: plain, masked or hashed.
    pub msisdn: Msisdn,
    /// `FirstName`, verbatim, when not empty.
    pub first_name: Option<String>,
    /// `MiddleName`, verbatim, when present and not empty.
    pub middle_name: Option<String>,
    /// `LastName`, verbatim, when present and not empty.
    pub last_name: Option<String>,
}

impl Payload for C2bPayment {
    fn from_slice(body: &[u8]) -> Result<Self, PayloadError> {
        let Object(raw) = json::parse_document::<Object<RawPayment<'_>>>(body)?;
        let trans_time = required_scalar(raw.trans_time, &|| "TransTime".to_owned())?;
        let trans_amount = required_scalar(raw.trans_amount, &|| "TransAmount".to_owned())?;
        let balance = field::optional_scalar(raw.org_account_balance, &|| "OrgAccountBalance".to_owned())?;
        Ok(Self {
            transaction_type: raw.transaction_type.unwrap_or_default(),
            trans_id: field::daraja_id(raw.trans_id, "TransID")?,
            trans_time: field::timestamp(&trans_time, &|| "TransTime".to_owned())?,
            trans_amount: field::amount(&trans_amount, &|| "TransAmount".to_owned())?,
            business_short_code: raw.business_short_code.unwrap_or_default(),
            bill_ref_number: raw.bill_ref_number.unwrap_or_default(),
            invoice_number: field::non_empty_or_none(raw.invoice_number),
            org_account_balance: balance
                .map(|value| field::balance(&value, &|| "OrgAccountBalance".to_owned()))
                .transpose()?,
            third_party_trans_id: field::non_empty_or_none(raw.third_party_trans_id),
            msisdn: Msisdn::new(raw.msisdn),
            first_name: field::non_empty_or_none(raw.first_name),
            middle_name: field::non_empty_or_none(raw.middle_name),
            last_name: field::non_empty_or_none(raw.last_name),
        })
    }

    fn correlation_id(&self) -> CorrelationId<'_> {
        CorrelationId::Transaction(&self.trans_id)
    }

    /// `TransID` is the receipt itself, and the dedupe key.
    fn daraja_ids(&self) -> DarajaIds<'_> {
        DarajaIds::new(&self.trans_id, [None, None])
    }
}

#[derive(Deserialize)]
struct RawPayment<'a> {
    #[serde(rename = "TransactionType", default)]
    transaction_type: Option<String>,
    #[serde(rename = "TransID")]
    trans_id: String,
    #[serde(rename = "TransTime", borrow, default)]
    trans_time: Option<&'a RawValue>,
    #[serde(rename = "TransAmount", borrow, default)]
    trans_amount: Option<&'a RawValue>,
    #[serde(rename = "BusinessShortCode", default)]
    business_short_code: Option<String>,
    #[serde(rename = "BillRefNumber", default)]
    bill_ref_number: Option<String>,
    #[serde(rename = "InvoiceNumber", default)]
    invoice_number: Option<String>,
    #[serde(rename = "OrgAccountBalance", borrow, default)]
    org_account_balance: Option<&'a RawValue>,
    #[serde(rename = "ThirdPartyTransID", default)]
    third_party_trans_id: Option<String>,
    #[serde(rename = "MSISDN")]
    msisdn: String,
    #[serde(rename = "FirstName", default)]
    first_name: Option<String>,
    #[serde(rename = "MiddleName", default)]
    middle_name: Option<String>,
    #[serde(rename = "LastName", default)]
    last_name: Option<String>,
}

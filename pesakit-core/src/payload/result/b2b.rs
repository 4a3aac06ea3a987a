//! B2B results: Business PayBill, BuyGoods, B2C top-up, tax remittance.

use super::super::amount::{Amount, Balance};
use super::super::error::PayloadError;
use super::super::timestamp::DarajaTime;
use super::formats::{AccountBalance, Charge, java_map_amount};
use super::{PARAMETERS, ParamReader, Parameters, REFERENCE_ITEMS, ResultParams};

/// The documented parameters and reference items of a B2B result.
///
/// ```
/// # let body = std::fs::read("../tests/fixtures/b2b_result/official_paybill_success_value_quoted.json").unwrap();
/// use pesakit::{B2bParams, DarajaResult, Payload};
///
/// let result = DarajaResult::<B2bParams>::from_slice(&body)?;
/// assert_eq!(result.params.amount.map(|a| a.to_string()), Some("190.00".into()));
/// assert_eq!(result.params.debit_account_balance.map(|b| b.minor_units()), Some(618_683));
/// assert_eq!(result.params.bill_reference_number.as_deref(), Some("19008"));
/// # Ok::<(), pesakit::PayloadError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct B2bParams {
    /// `Amount` sent.
    pub amount: Option<Amount>,
    /// `TransCompletedTime` (also spelt `TransactionCompletedTime`).
    pub trans_completed_time: Option<DarajaTime>,
    /// `DebitAccountBalance`, the `BasicAmount` of its Java-map text.
    pub debit_account_balance: Option<Balance>,
    /// `DebitAccountCurrentBalance`, the `BasicAmount` of its Java-map text.
    pub debit_account_current_balance: Option<Balance>,
    /// `InitiatorAccountCurrentBalance`, the `BasicAmount` of its Java-map text.
    pub initiator_account_current_balance: Option<Balance>,
    /// `DebitPartyAffectedAccountBalance`, split into accounts.
    pub debit_party_affected_account_balance: Vec<AccountBalance>,
    /// `CreditAccountBalance`, split into accounts.
    pub credit_account_balance: Vec<AccountBalance>,
    /// `DebitPartyCharges`; empty when `""` or without a value.
    pub debit_party_charges: Vec<Charge>,
    /// `ReceiverPartyPublicName`, e.g. `603094 - Safaricom3117`.
    pub receiver_party_public_name: Option<String>,
    /// `Currency`, e.g. `KES`.
    pub currency: Option<String>,
    /// Reference item `BillReferenceNumber`; a number is read as its digits.
    pub bill_reference_number: Option<String>,
    /// Reference item `Occasion` (or the misspelt `Occassion`).
    pub occasion: Option<String>,
}

impl ResultParams for B2bParams {
    fn from_parameters(parameters: &Parameters, reference_data: &Parameters) -> Result<Self, PayloadError> {
        let read = ParamReader::new(parameters, PARAMETERS);
        let references = ParamReader::new(reference_data, REFERENCE_ITEMS);
        Ok(Self {
            amount: read.amount("Amount")?,
            trans_completed_time: read.timestamp(&["TransCompletedTime", "TransactionCompletedTime"])?,
            debit_account_balance: read.parsed("DebitAccountBalance", java_map_amount)?,
            debit_account_current_balance: read.parsed("DebitAccountCurrentBalance", java_map_amount)?,
            initiator_account_current_balance: read.parsed("InitiatorAccountCurrentBalance", java_map_amount)?,
            debit_party_affected_account_balance: read
                .parsed("DebitPartyAffectedAccountBalance", AccountBalance::parse_list)?
                .unwrap_or_default(),
            credit_account_balance: read
                .parsed("CreditAccountBalance", AccountBalance::parse_list)?
                .unwrap_or_default(),
            debit_party_charges: read.parsed("DebitPartyCharges", Charge::parse_list)?.unwrap_or_default(),
            receiver_party_public_name: read.text(&["ReceiverPartyPublicName"]),
            currency: read.text(&["Currency"]),
            bill_reference_number: references.text(&["BillReferenceNumber"]),
            occasion: references.agreeing_text(&["Occasion", "Occassion"])?,
        })
    }
}

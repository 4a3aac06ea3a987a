//! Reversal results.

use super::super::amount::Amount;
use super::super::error::PayloadError;
use super::super::timestamp::DarajaTime;
use super::formats::AccountBalance;
use super::{PARAMETERS, ParamReader, Parameters, ResultParams};

/// The documented parameters of a reversal result.
///
/// ```
/// # let body = std::fs::read("../tests/fixtures/reversal_result/official_v3_success.json").unwrap();
/// use pesakit::{DarajaResult, Payload, ReversalParams};
///
/// let result = DarajaResult::<ReversalParams>::from_slice(&body)?;
/// assert_eq!(result.params.original_transaction_id.as_deref(), Some("SKC82PACB8"));
/// assert_eq!(result.params.amount.map(|a| a.minor_units()), Some(100));
/// # Ok::<(), pesakit::PayloadError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct ReversalParams {
    /// `DebitAccountBalance`, split into accounts.
    pub debit_account_balance: Vec<AccountBalance>,
    /// `Amount` reversed.
    pub amount: Option<Amount>,
    /// `TransCompletedTime`.
    pub trans_completed_time: Option<DarajaTime>,
    /// `OriginalTransactionID`, the receipt that was reversed.
    pub original_transaction_id: Option<String>,
    /// `Charge`.
    pub charge: Option<Amount>,
    /// `CreditPartyPublicName`.
    pub credit_party_public_name: Option<String>,
    /// `DebitPartyPublicName`.
    pub debit_party_public_name: Option<String>,
}

impl ResultParams for ReversalParams {
    fn from_parameters(parameters: &Parameters, _reference_data: &Parameters) -> Result<Self, PayloadError> {
        let read = ParamReader::new(parameters, PARAMETERS);
        Ok(Self {
            debit_account_balance: read.parsed("DebitAccountBalance", AccountBalance::parse_list)?.unwrap_or_default(),
            amount: read.amount("Amount")?,
            trans_completed_time: read.timestamp(&["TransCompletedTime"])?,
            original_transaction_id: read.text(&["OriginalTransactionID"]),
            charge: read.amount("Charge")?,
            credit_party_public_name: read.text(&["CreditPartyPublicName"]),
            debit_party_public_name: read.text(&["DebitPartyPublicName"]),
        })
    }
}

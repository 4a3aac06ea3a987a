//! B2C payment results.

use super::super::amount::{Amount, Balance};
use super::super::error::PayloadError;
use super::super::timestamp::DarajaTime;
use super::{PARAMETERS, ParamReader, Parameters, ResultParams};

/// The documented parameters of a B2C result, present on success.
///
/// ```
/// # let body = std::fs::read("../tests/fixtures/b2c_result/official_v3_success.json").unwrap();
/// use pesakit::{B2cParams, DarajaResult, Payload};
///
/// let result = DarajaResult::<B2cParams>::from_slice(&body)?;
/// let params = &result.params;
/// assert_eq!(params.transaction_receipt.as_deref(), Some("SG632NMUAB"));
/// assert_eq!(params.recipient_is_registered_customer, Some(true));
/// assert_eq!(params.transaction_completed_at.map(|t| t.original()), Some("06.07.2024 22:48:52".into()));
/// # Ok::<(), pesakit::PayloadError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct B2cParams {
    /// `TransactionAmount`, the amount sent.
    pub transaction_amount: Option<Amount>,
    /// `TransactionReceipt`.
    pub transaction_receipt: Option<String>,
    /// `ReceiverPartyPublicName`, e.g. `254705912645 - NICHOLAS JOHN SONGOK`.
    pub receiver_party_public_name: Option<String>,
    /// `TransactionCompletedDateTime` (`dd.MM.yyyy HH:mm:ss`).
    pub transaction_completed_at: Option<DarajaTime>,
    /// `B2CUtilityAccountAvailableFunds`.
    pub utility_account_available_funds: Option<Balance>,
    /// `B2CWorkingAccountAvailableFunds`.
    pub working_account_available_funds: Option<Balance>,
    /// `B2CChargesPaidAccountAvailableFunds`; often negative.
    pub charges_paid_account_available_funds: Option<Balance>,
    /// `B2CRecipientIsRegisteredCustomer`: `Y` or `N`.
    pub recipient_is_registered_customer: Option<bool>,
}

impl ResultParams for B2cParams {
    fn from_parameters(parameters: &Parameters, _reference_data: &Parameters) -> Result<Self, PayloadError> {
        let read = ParamReader::new(parameters, PARAMETERS);
        Ok(Self {
            transaction_amount: read.amount("TransactionAmount")?,
            transaction_receipt: read.text(&["TransactionReceipt"]),
            receiver_party_public_name: read.text(&["ReceiverPartyPublicName"]),
            transaction_completed_at: read.timestamp(&["TransactionCompletedDateTime"])?,
            utility_account_available_funds: read.balance("B2CUtilityAccountAvailableFunds")?,
            working_account_available_funds: read.balance("B2CWorkingAccountAvailableFunds")?,
            charges_paid_account_available_funds: read.balance("B2CChargesPaidAccountAvailableFunds")?,
            recipient_is_registered_customer: read.parsed("B2CRecipientIsRegisteredCustomer", |flag| match flag {
                "Y" => Ok(true),
                "N" => Ok(false),
                other => Err(format!("expected \"Y\" or \"N\", got {other:?}")),
            })?,
        })
    }
}

//! Account balance results.

use super::super::error::PayloadError;
use super::super::timestamp::DarajaTime;
use super::formats::AccountBalance;
use super::{PARAMETERS, ParamReader, Parameters, ResultParams};

/// The documented parameters of an account balance result.
///
/// ```
/// # let body = std::fs::read("../tests/fixtures/account_balance_result/official_v3_string_result_codes.json").unwrap();
/// use pesakit::{AccountBalanceParams, DarajaResult, Payload};
///
/// let result = DarajaResult::<AccountBalanceParams>::from_slice(&body)?;
/// let working = &result.params.accounts[0];
/// assert_eq!((working.name.as_str(), working.amounts[0].to_string()), ("Working Account", "700000.00".into()));
/// # Ok::<(), pesakit::PayloadError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct AccountBalanceParams {
    /// `AccountBalance`, split into accounts. Which accounts appear varies.
    pub accounts: Vec<AccountBalance>,
    /// `BOCompletedTime`.
    pub bo_completed_time: Option<DarajaTime>,
    /// `ActionType` (undocumented), e.g. `AccountBalance`.
    pub action_type: Option<String>,
}

impl ResultParams for AccountBalanceParams {
    fn from_parameters(parameters: &Parameters, _reference_data: &Parameters) -> Result<Self, PayloadError> {
        let read = ParamReader::new(parameters, PARAMETERS);
        Ok(Self {
            accounts: read.parsed("AccountBalance", AccountBalance::parse_list)?.unwrap_or_default(),
            bo_completed_time: read.timestamp(&["BOCompletedTime"])?,
            action_type: read.text(&["ActionType"]),
        })
    }
}

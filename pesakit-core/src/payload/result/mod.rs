//! The `{"Result":{…}}` envelope shared by B2C, account balance, transaction
//! status, reversal, B2B and queue-timeout callbacks.

mod account_balance;
mod b2b;
mod b2c;
mod formats;
mod parameters;
mod reversal;
mod transaction_status;

pub use account_balance::AccountBalanceParams;
pub use b2b::B2bParams;
pub use b2c::B2cParams;
pub use formats::{AccountBalance, Charge, ListFormatError};
pub use parameters::{ParamValue, Parameter, Parameters};
pub use reversal::ReversalParams;
pub use transaction_status::TransactionStatusParams;

pub(crate) use parameters::ParamReader;

use serde::Deserialize;
use serde_json::value::RawValue;

use super::Payload;
use super::correlation::CorrelationId;
use super::error::PayloadError;
use super::field::{self, required_scalar};
use super::ids::{DarajaId, DarajaIds};
use super::json::{self, Object, OneOrMany, RawEntry};
use super::result_code::ResultCode;

const PARAMETERS: &str = "Result.ResultParameters.ResultParameter";
const REFERENCE_ITEMS: &str = "Result.ReferenceData.ReferenceItem";

/// A result posted to a `ResultURL`, with a typed view `P` of its parameters.
///
/// `P` is one of [`B2cParams`], [`AccountBalanceParams`],
/// [`TransactionStatusParams`], [`ReversalParams`] or [`B2bParams`]; every
/// parameter list is also kept whole in [`parameters`](Self::parameters) and
/// [`reference_data`](Self::reference_data). Only result code 0 is success;
/// a failure usually has no parameters, so every typed field is optional.
///
/// ```
/// use pesakit::{B2cParams, DarajaResult, Payload};
///
/// let body = br#"{"Result":{"ResultType":0,"ResultCode":0,
///   "ResultDesc":"The service request is processed successfully.",
///   "OriginatorConversationID":"53e3-4aa8-9fe0-8fb5e4092cdd3533373",
///   "ConversationID":"AG_20240706_2010364430d9bbdaf872","TransactionID":"SG632NMUAB",
///   "ResultParameters":{"ResultParameter":[
///     {"Key":"TransactionAmount","Value":10},
///     {"Key":"B2CChargesPaidAccountAvailableFunds","Value":-1980.00}]}}}"#;
///
/// let result = DarajaResult::<B2cParams>::from_slice(body)?;
/// assert!(result.is_success());
/// assert_eq!(result.params.transaction_amount.map(|a| a.minor_units()), Some(1000));
/// assert_eq!(result.params.charges_paid_account_available_funds.map(|b| b.to_string()), Some("-1980.00".into()));
/// # Ok::<(), pesakit::PayloadError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DarajaResult<P> {
    /// `ResultType`, "usually 0"; absent in some bodies.
    pub result_type: Option<i64>,
    /// `ResultCode`, kept as sent; only 0 is success.
    pub result_code: ResultCode,
    /// `ResultDesc`, free text; never branch on it.
    pub result_desc: String,
    /// `OriginatorConversationID` (or its misspelling `OriginatorCoversationID`).
    pub originator_conversation_id: String,
    /// `ConversationID`.
    pub conversation_id: String,
    /// `TransactionID`: a receipt, or a placeholder such as `OAK0000000` on
    /// failure. Never proof of payment on its own.
    pub transaction_id: Option<String>,
    /// `ResultParameters.ResultParameter`, normalised to a list.
    pub parameters: Parameters,
    /// `ReferenceData.ReferenceItem`, normalised to a list.
    pub reference_data: Parameters,
    /// The typed view of the documented parameters.
    pub params: P,
}

/// A typed view of a result's parameters, one per result kind.
///
/// Implemented by [`B2cParams`], [`AccountBalanceParams`],
/// [`TransactionStatusParams`], [`ReversalParams`] and [`B2bParams`].
///
/// ```
/// use pesakit::{Parameters, ResultParams, ReversalParams};
///
/// let empty = ReversalParams::from_parameters(&Parameters::default(), &Parameters::default())?;
/// assert_eq!(empty.amount, None);
/// # Ok::<(), pesakit::PayloadError>(())
/// ```
pub trait ResultParams: Sized + Send + Sync + 'static {
    /// Reads the typed view, failing on a documented item with a bad value.
    fn from_parameters(parameters: &Parameters, reference_data: &Parameters) -> Result<Self, PayloadError>;
}

impl<P> DarajaResult<P> {
    /// Whether `ResultCode` is 0.
    pub fn is_success(&self) -> bool {
        self.result_code.is_success()
    }

    /// `TransactionID`, unless it is a failure placeholder made of zeros
    /// after an optional three-letter prefix (`OAK0000000`,
    /// `0000000000000000`).
    ///
    /// ```
    /// # use pesakit::{B2bParams, DarajaResult, Payload};
    /// # let body = br#"{"Result":{"ResultCode":17,"ResultDesc":"System internal error.",
    /// #   "OriginatorConversationID":"1","ConversationID":"AG_1","TransactionID":"0000000000000000"}}"#;
    /// let result = DarajaResult::<B2bParams>::from_slice(body)?;
    /// assert_eq!(result.transaction_id.as_deref(), Some("0000000000000000"));
    /// assert_eq!(result.real_transaction_id(), None);
    /// # Ok::<(), pesakit::PayloadError>(())
    /// ```
    pub fn real_transaction_id(&self) -> Option<&str> {
        self.transaction_id.as_deref().filter(|id| {
            let digits = id.trim_start_matches(|c: char| c.is_ascii_alphabetic());
            !(digits.len() >= 7 && digits.bytes().all(|byte| byte == b'0'))
        })
    }
}

impl<P: ResultParams> Payload for DarajaResult<P> {
    fn from_slice(body: &[u8]) -> Result<Self, PayloadError> {
        let envelope = Envelope::parse(body)?;
        let result_code = required_scalar(envelope.raw.result_code, &|| "Result.ResultCode".to_owned())?;
        let result_desc = envelope.raw.result_desc.ok_or_else(|| field::missing("Result.ResultDesc".to_owned()))?;
        let result_type = read_result_type(envelope.raw.result_type)?;
        let params = P::from_parameters(&envelope.parameters, &envelope.reference_data)?;
        Ok(Self {
            result_type,
            result_code: ResultCode::from_scalar(result_code, "Result.ResultCode")?,
            result_desc,
            originator_conversation_id: envelope.originator_conversation_id,
            conversation_id: envelope.conversation_id,
            transaction_id: envelope
                .raw
                .transaction_id
                .map(|id| field::bounded_id(id, "Result.TransactionID"))
                .transpose()?,
            parameters: envelope.parameters,
            reference_data: envelope.reference_data,
            params,
        })
    }

    fn correlation_id(&self) -> CorrelationId<'_> {
        CorrelationId::Conversation {
            originator_conversation_id: &self.originator_conversation_id,
            conversation_id: &self.conversation_id,
        }
    }

    fn outcome_unknown(&self) -> Option<&'static str> {
        (!self.result_code.is_documented_result())
            .then_some("the result code is not one Daraja documents: query the transaction status")
    }

    fn daraja_ids(&self) -> DarajaIds<'_> {
        let conversation = Some(DarajaId::Conversation(&self.conversation_id));
        DarajaIds::new(
            &self.originator_conversation_id,
            [conversation, self.real_transaction_id().map(DarajaId::Receipt)],
        )
    }
}

fn read_result_type(raw: Option<&RawValue>) -> Result<Option<i64>, PayloadError> {
    let path = "Result.ResultType";
    let Some(value) = field::optional_scalar(raw, &|| path.to_owned())? else {
        return Ok(None);
    };
    value.text().parse().map(Some).map_err(|_| PayloadError::value(path, format!("expected an integer, got {value}")))
}

/// The parts of the envelope every `Result` kind, timeouts included, needs.
pub(crate) struct Envelope<'a> {
    pub(crate) raw: RawResult<'a>,
    pub(crate) originator_conversation_id: String,
    pub(crate) conversation_id: String,
    pub(crate) parameters: Parameters,
    pub(crate) reference_data: Parameters,
}

impl<'a> Envelope<'a> {
    /// Parses the wrapper, the correlation ids and the two lists.
    pub(crate) fn parse(body: &'a [u8]) -> Result<Self, PayloadError> {
        let RawEnvelope { result: Object(mut raw) } = json::parse_document(body)?;
        let originator_conversation_id = match (raw.originator_conversation_id.take(), raw.originator_misspelt.take()) {
            (Some(id), None) | (None, Some(id)) => id,
            (Some(id), Some(misspelt)) if id == misspelt => id,
            (Some(_), Some(_)) => {
                return Err(PayloadError::value(
                    "Result.OriginatorCoversationID",
                    "disagrees with `OriginatorConversationID`; both spellings name one id",
                ));
            }
            (None, None) => {
                return Err(field::missing("Result.OriginatorConversationID".to_owned()));
            }
        };
        let conversation_id =
            raw.conversation_id.take().ok_or_else(|| field::missing("Result.ConversationID".to_owned()))?;
        let parameters =
            Parameters::from_raw(raw.result_parameters.take().and_then(|Object(list)| list.items), PARAMETERS)?;
        let reference_data =
            Parameters::from_raw(raw.reference_data.take().and_then(|Object(list)| list.items), REFERENCE_ITEMS)?;
        Ok(Self {
            originator_conversation_id: field::daraja_id(
                originator_conversation_id,
                "Result.OriginatorConversationID",
            )?,
            conversation_id: field::daraja_id(conversation_id, "Result.ConversationID")?,
            raw,
            parameters,
            reference_data,
        })
    }
}

#[derive(Deserialize)]
struct RawEnvelope<'a> {
    #[serde(rename = "Result", borrow)]
    result: Object<RawResult<'a>>,
}

#[derive(Deserialize)]
pub(crate) struct RawResult<'a> {
    #[serde(rename = "ResultType", borrow, default)]
    pub(crate) result_type: Option<&'a RawValue>,
    #[serde(rename = "ResultCode", borrow, default)]
    pub(crate) result_code: Option<&'a RawValue>,
    #[serde(rename = "ResultDesc", default)]
    pub(crate) result_desc: Option<String>,
    #[serde(rename = "OriginatorConversationID", default)]
    originator_conversation_id: Option<String>,
    #[serde(rename = "OriginatorCoversationID", default)]
    originator_misspelt: Option<String>,
    #[serde(rename = "ConversationID", default)]
    conversation_id: Option<String>,
    #[serde(rename = "TransactionID", default)]
    pub(crate) transaction_id: Option<String>,
    #[serde(rename = "ResultParameters", borrow, default)]
    result_parameters: Option<Object<RawParameterList<'a>>>,
    #[serde(rename = "ReferenceData", borrow, default)]
    reference_data: Option<Object<RawReferenceList<'a>>>,
}

#[derive(Deserialize)]
struct RawParameterList<'a> {
    #[serde(rename = "ResultParameter", borrow, default)]
    items: Option<OneOrMany<Object<RawEntry<'a>>>>,
}

#[derive(Deserialize)]
struct RawReferenceList<'a> {
    #[serde(rename = "ReferenceItem", borrow, default)]
    items: Option<OneOrMany<Object<RawEntry<'a>>>>,
}

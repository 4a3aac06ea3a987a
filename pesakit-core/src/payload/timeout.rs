//! Queue timeouts posted to `QueueTimeOutURL`.

use super::Payload;
use super::correlation::CorrelationId;
use super::error::PayloadError;
use super::field::optional_scalar;
use super::ids::{DarajaId, DarajaIds};
use super::result::{Envelope, Parameters};
use super::result_code::ResultCode;

/// A queue-timeout notification: the request expired in M-Pesa's queue and
/// its outcome is unknown. Reconcile with a status query; a timeout never
/// means success and never overrides a final result.
///
/// Safaricom documents no body for this, so only the `Result` wrapper and the
/// two conversation ids are required; the rest is read when present, and the
/// whole body is kept as [`raw_json`](Self::raw_json).
///
/// ```
/// use pesakit::{Payload, QueueTimeout};
///
/// let body = br#"{"Result":{"ResultType":1,"ResultCode":1,
///   "ResultDesc":"The service request has timed out.",
///   "OriginatorConversationID":"29115-34620561-1",
///   "ConversationID":"AG_20191219_00005797af5d7d75f652"}}"#;
/// let timeout = QueueTimeout::from_slice(body)?;
/// assert_eq!(timeout.conversation_id, "AG_20191219_00005797af5d7d75f652");
/// assert_eq!(timeout.result_code.as_ref().map(|code| code.to_string()), Some("1".into()));
/// assert!(timeout.raw_json().contains("timed out"));
/// # Ok::<(), pesakit::PayloadError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct QueueTimeout {
    /// `OriginatorConversationID` of the request that timed out.
    pub originator_conversation_id: String,
    /// `ConversationID` of the request that timed out.
    pub conversation_id: String,
    /// `ResultCode`, if sent.
    pub result_code: Option<ResultCode>,
    /// `ResultDesc`, if sent.
    pub result_desc: Option<String>,
    /// `ResultParameters.ResultParameter`, if sent.
    pub parameters: Parameters,
    /// `ReferenceData.ReferenceItem`, if sent.
    pub reference_data: Parameters,
    raw_json: String,
}

impl QueueTimeout {
    /// The body exactly as received.
    pub fn raw_json(&self) -> &str {
        &self.raw_json
    }
}

impl Payload for QueueTimeout {
    fn from_slice(body: &[u8]) -> Result<Self, PayloadError> {
        let envelope = Envelope::parse(body)?;
        let result_code = optional_scalar(envelope.raw.result_code, &|| "Result.ResultCode".to_owned())?
            .map(|code| ResultCode::from_scalar(code, "Result.ResultCode"))
            .transpose()?;
        Ok(Self {
            originator_conversation_id: envelope.originator_conversation_id,
            conversation_id: envelope.conversation_id,
            result_code,
            result_desc: envelope.raw.result_desc,
            parameters: envelope.parameters,
            reference_data: envelope.reference_data,
            // `Envelope::parse` accepted only valid UTF-8.
            raw_json: String::from_utf8_lossy(body).into_owned(),
        })
    }

    fn correlation_id(&self) -> CorrelationId<'_> {
        CorrelationId::Conversation {
            originator_conversation_id: &self.originator_conversation_id,
            conversation_id: &self.conversation_id,
        }
    }

    fn outcome_unknown(&self) -> Option<&'static str> {
        Some("a queue timeout: the result may still come, or must be queried")
    }

    /// The same key as the result it stands in for, under its own kind.
    fn daraja_ids(&self) -> DarajaIds<'_> {
        DarajaIds::new(&self.originator_conversation_id, [Some(DarajaId::Conversation(&self.conversation_id)), None])
    }
}

//! The id that ties a callback to the request or payment it is about.

use std::fmt;

/// The correlation id of a payload for logs and deduplication:
/// the `CheckoutRequestID` of an STK result, the `TransID` of a C2B payment,
/// the `ConversationID` of a result or queue timeout.
///
/// ```
/// use pesakit::{CorrelationId, Payload, StkCallback};
///
/// let body = br#"{"Body":{"stkCallback":{"MerchantRequestID":"8555-67195-1",
///     "CheckoutRequestID":"ws_CO_27072017151044001","ResultCode":1032,
///     "ResultDesc":"Request cancelled by user"}}}"#;
/// let callback = StkCallback::from_slice(body)?;
/// assert_eq!(callback.correlation_id(), CorrelationId::CheckoutRequest("ws_CO_27072017151044001"));
/// assert_eq!(callback.correlation_id().to_string(), "ws_CO_27072017151044001");
/// # Ok::<(), pesakit::PayloadError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CorrelationId<'a> {
    /// STK: `CheckoutRequestID`, returned when the push was sent.
    CheckoutRequest(&'a str),
    /// C2B: `TransID`, shared by validation and confirmation.
    Transaction(&'a str),
    /// `ResultURL` and queue-timeout callbacks: both conversation ids,
    /// returned when the request was sent.
    Conversation {
        /// `OriginatorConversationID`.
        originator_conversation_id: &'a str,
        /// `ConversationID`.
        conversation_id: &'a str,
    },
}

impl fmt::Display for CorrelationId<'_> {
    /// The id alone; conversations as `originator/conversation`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::CheckoutRequest(id) | Self::Transaction(id) => f.write_str(id),
            Self::Conversation { originator_conversation_id, conversation_id } => {
                write!(f, "{originator_conversation_id}/{conversation_id}")
            }
        }
    }
}

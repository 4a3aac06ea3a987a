//! The Daraja ids a callback carries: the one that identifies it among
//! repeated deliveries, and the others it can be found by.

use std::fmt;

/// Longest id accepted, in bytes: Daraja's are under 40 characters, and a
/// caller-chosen `OriginatorConversationID` has room to spare. A body with a
/// longer id is refused naming the field (and, with an inbox, quarantined),
/// so that every store can index every id it accepts.
///
/// ```
/// use pesakit::{C2bPayment, MAX_ID_BYTES, Payload};
///
/// let body = |trans_id: &str| format!(r#"{{"TransactionType":"Pay Bill","TransID":"{trans_id}",
///     "TransTime":"20191122063845","TransAmount":"10","BusinessShortCode":"600638",
///     "BillRefNumber":"invoice-1","MSISDN":"254708374149"}}"#);
/// assert!(C2bPayment::from_slice(body(&"R".repeat(MAX_ID_BYTES)).as_bytes()).is_ok());
/// let error = C2bPayment::from_slice(body(&"R".repeat(MAX_ID_BYTES + 1)).as_bytes()).unwrap_err();
/// assert_eq!(error.path(), "TransID");
/// ```
pub const MAX_ID_BYTES: usize = 1024;

/// The ids of one callback, borrowed from its payload.
///
/// The [dedupe key](Self::dedupe_key) is the id Daraja repeats on every
/// delivery of the same callback, so `(kind, dedupe key)` identifies a
/// callback: `CheckoutRequestID` for STK, `TransID` for C2B, and
/// `OriginatorConversationID` for results and queue timeouts. The
/// [secondary ids](Self::secondary) are the other ids it carries, by which a
/// support engineer looks it up: an STK receipt, for example, comes back as
/// the `TransID` of a C2B confirmation when the payment went to a paybill.
///
/// ```
/// use pesakit::{DarajaId, Payload, StkCallback};
///
/// let body = br#"{"Body":{"stkCallback":{"MerchantRequestID":"29115-34620561-1",
///     "CheckoutRequestID":"ws_CO_191220191020363925","ResultCode":0,
///     "ResultDesc":"The service request is processed successfully.",
///     "CallbackMetadata":{"Item":[{"Name":"Amount","Value":1.00},
///     {"Name":"MpesaReceiptNumber","Value":"NLJ7RT61SV"},
///     {"Name":"TransactionDate","Value":20191219102115},
///     {"Name":"PhoneNumber","Value":254708374149}]}}}}"#;
/// let callback = StkCallback::from_slice(body)?;
/// let ids = callback.daraja_ids();
/// assert_eq!(ids.dedupe_key(), "ws_CO_191220191020363925");
/// let secondary: Vec<_> = ids.secondary().collect();
/// assert_eq!(secondary, [DarajaId::MerchantRequest("29115-34620561-1"), DarajaId::Receipt("NLJ7RT61SV")]);
/// # Ok::<(), pesakit::PayloadError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DarajaIds<'a> {
    dedupe_key: &'a str,
    secondary: [Option<DarajaId<'a>>; 2],
}

impl<'a> DarajaIds<'a> {
    /// Ids with `dedupe_key` and up to two secondary ids; `None`s are
    /// skipped.
    pub fn new(dedupe_key: &'a str, secondary: [Option<DarajaId<'a>>; 2]) -> Self {
        Self { dedupe_key, secondary }
    }

    /// The id that stays the same across repeated deliveries of this
    /// callback.
    pub fn dedupe_key(&self) -> &'a str {
        self.dedupe_key
    }

    /// The other ids the callback carries.
    pub fn secondary(&self) -> impl Iterator<Item = DarajaId<'a>> + use<'a> {
        self.secondary.into_iter().flatten()
    }
}

/// An id a callback carries besides its dedupe key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DarajaId<'a> {
    /// STK `MerchantRequestID`, returned when the push was sent.
    MerchantRequest(&'a str),
    /// An M-Pesa receipt: STK `MpesaReceiptNumber`, or the `TransactionID`
    /// of a result (never a failure placeholder such as `OAK0000000`). The
    /// same value is the `TransID` of a C2B payment.
    Receipt(&'a str),
    /// `ConversationID` of a result or queue timeout, returned when the
    /// request was sent.
    Conversation(&'a str),
}

impl<'a> DarajaId<'a> {
    /// The id itself.
    pub fn value(&self) -> &'a str {
        match *self {
            Self::MerchantRequest(id) | Self::Receipt(id) | Self::Conversation(id) => id,
        }
    }

    /// What the id is, as Daraja names it: `MerchantRequestID`,
    /// `Receipt` or `ConversationID`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::MerchantRequest(_) => "MerchantRequestID",
            Self::Receipt(_) => "Receipt",
            Self::Conversation(_) => "ConversationID",
        }
    }
}

impl fmt::Display for DarajaId<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.name(), self.value())
    }
}

//! Typed Daraja callback bodies and the one way to parse them.
//!
//! Each kind has one type; all parse through [`Payload::from_slice`] under
//! strict input rules: exactly one RFC 8259 object, no
//! trailing data, no byte-order mark, valid UTF-8 without unpaired surrogate
//! escapes, nesting at most [`MAX_DEPTH`] deep, no duplicated member among
//! those read, exact wrappers and case-sensitive keys.

mod amount;
mod c2b;
mod correlation;
mod error;
mod field;
mod ids;
mod json;
mod msisdn;
mod result;
mod result_code;
mod stk;
mod timeout;
mod timestamp;

pub use amount::{Amount, AmountError, Balance};
pub use c2b::C2bPayment;
pub use correlation::CorrelationId;
pub use error::{PayloadError, PayloadErrorKind};
pub use ids::{DarajaId, DarajaIds, MAX_ID_BYTES};
pub use json::MAX_DEPTH;
pub use msisdn::{Msisdn, MsisdnForm};
pub use result::{
    AccountBalance, AccountBalanceParams, B2bParams, B2cParams, Charge, DarajaResult, ListFormatError, ParamValue,
    Parameter, Parameters, ResultParams, ReversalParams, TransactionStatusParams,
};
pub use result_code::ResultCode;
pub use stk::{StkCallback, StkOutcome, StkPayment};
pub use timeout::QueueTimeout;
pub use timestamp::{DarajaTime, EAT, TimestampError, TimestampLayout};

/// A Daraja callback body: parsed strictly from bytes, correlated by one id.
///
/// Implemented by [`StkCallback`], [`C2bPayment`], [`DarajaResult`] and
/// [`QueueTimeout`]. A body that parses is complete and valid; a body that
/// does not is refused whole with a [`PayloadError`] naming the field. Each
/// also implements `TryFrom<&str>`, the same parse on a body's text with no
/// trait to import: `C2bPayment::try_from(body)?` in a unit test that calls
/// a handler by name.
///
/// ```
/// use pesakit::{C2bPayment, Payload};
///
/// let body = br#"{"TransID":"RKTQDM7W6S","TransTime":"20191122063845",
///     "TransAmount":"10","MSISDN":"25470****149"}"#;
/// let payment = C2bPayment::from_slice(body)?;
/// assert_eq!(payment.correlation_id().to_string(), "RKTQDM7W6S");
///
/// let err = C2bPayment::from_slice(br#"{"TransID":"X","TransTime":"20191122063845","TransAmount":"1.005","MSISDN":""}"#)
///     .unwrap_err();
/// assert_eq!(err.path(), "TransAmount");
/// # Ok::<(), pesakit::PayloadError>(())
/// ```
pub trait Payload: Sized + Send + Sync + 'static {
    /// Parses a callback body.
    fn from_slice(body: &[u8]) -> Result<Self, PayloadError>;

    /// The id that ties this callback to its request or payment, shown in
    /// logs.
    fn correlation_id(&self) -> CorrelationId<'_>;

    /// The ids the callback carries: its dedupe key and the ids it can be
    /// found by (see [`DarajaIds`]).
    fn daraja_ids(&self) -> DarajaIds<'_>;

    /// Why the outcome this callback reports is not final, when it is not:
    /// a queue timeout, or a result code Daraja does not document as final.
    /// Such a callback needs reconciling (a status query) before anyone is
    /// told that a payment failed.
    fn outcome_unknown(&self) -> Option<&'static str> {
        None
    }
}

/// `TryFrom<&str>` for every payload: [`Payload::from_slice`] on a body's
/// text, with nothing to import, so that a unit test can call a handler by
/// name.
///
/// ```
/// use pesakit::C2bPayment;
///
/// fn validate(payment: C2bPayment) -> bool {
///     payment.bill_ref_number.starts_with("invoice-")
/// }
///
/// let body = r#"{"TransID":"RKTQDM7W6S","TransTime":"20191122063845","TransAmount":"10",
///     "BillRefNumber":"invoice-7","MSISDN":"25470****149"}"#;
/// assert!(validate(C2bPayment::try_from(body)?));
/// # Ok::<(), pesakit::PayloadError>(())
/// ```
macro_rules! payload_from_text {
    ($(impl$(<$param:ident: $bound:path>)? for $payload:ty;)*) => {$(
        impl$(<$param: $bound>)? TryFrom<&str> for $payload {
            type Error = PayloadError;

            fn try_from(body: &str) -> Result<Self, PayloadError> {
                <Self as Payload>::from_slice(body.as_bytes())
            }
        }
    )*};
}

payload_from_text! {
    impl for StkCallback;
    impl for C2bPayment;
    impl<P: ResultParams> for DarajaResult<P>;
    impl for QueueTimeout;
}

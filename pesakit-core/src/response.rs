//! The bodies pesakit answers Daraja with, byte for byte as documented.
//!
//! | callback | body |
//! | --- | --- |
//! | STK | `{"ResultCode":0,"ResultDesc":"Success"}` ([`StkAck`]) |
//! | C2B validation | `{"ResultCode":"0","ResultDesc":"Accepted"}` or `{"ResultCode":"C2B000xx","ResultDesc":"Rejected"}` ([`Validation`]) |
//! | C2B confirmation | `{"ResultCode":0,"ResultDesc":"Success"}` ([`ConfirmationAck`]) |
//! | results, queue timeouts | `{"ResultCode":0,"ResultDesc":"Accepted"}` ([`ResultAck`]) |

use std::borrow::Cow;
use std::fmt;

/// A body pesakit sends back to Daraja.
///
/// ```
/// use pesakit::{DarajaResponse, ResultAck};
///
/// assert_eq!(&*ResultAck.to_json(), br#"{"ResultCode":0,"ResultDesc":"Accepted"}"#);
/// ```
pub trait DarajaResponse {
    /// The exact JSON bytes to send with `Content-Type: application/json`.
    fn to_json(&self) -> Cow<'static, [u8]>;
}

/// The acknowledgement of an STK callback.
///
/// ```
/// use pesakit::{DarajaResponse, StkAck};
/// assert_eq!(&*StkAck.to_json(), br#"{"ResultCode":0,"ResultDesc":"Success"}"#);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StkAck;

/// The acknowledgement of a C2B confirmation (`ResultCode` integer 0,
/// documented as "always 0": the money has already moved).
///
/// ```
/// use pesakit::{ConfirmationAck, DarajaResponse};
/// assert_eq!(&*ConfirmationAck.to_json(), br#"{"ResultCode":0,"ResultDesc":"Success"}"#);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ConfirmationAck;

/// The acknowledgement of a `ResultURL` or `QueueTimeOutURL` callback.
///
/// ```
/// use pesakit::{DarajaResponse, ResultAck};
/// assert_eq!(&*ResultAck.to_json(), br#"{"ResultCode":0,"ResultDesc":"Accepted"}"#);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ResultAck;

impl StkAck {
    /// The exact body.
    pub const BODY: &'static [u8] = br#"{"ResultCode":0,"ResultDesc":"Success"}"#;
}

impl DarajaResponse for StkAck {
    fn to_json(&self) -> Cow<'static, [u8]> {
        Cow::Borrowed(Self::BODY)
    }
}

impl ConfirmationAck {
    /// The exact body.
    pub const BODY: &'static [u8] = br#"{"ResultCode":0,"ResultDesc":"Success"}"#;
}

impl DarajaResponse for ConfirmationAck {
    fn to_json(&self) -> Cow<'static, [u8]> {
        Cow::Borrowed(Self::BODY)
    }
}

impl ResultAck {
    /// The exact body.
    pub const BODY: &'static [u8] = br#"{"ResultCode":0,"ResultDesc":"Accepted"}"#;
}

impl DarajaResponse for ResultAck {
    fn to_json(&self) -> Cow<'static, [u8]> {
        Cow::Borrowed(Self::BODY)
    }
}

/// The verdict on a C2B validation request.
///
/// `ResultCode` is sent as a JSON string, as documented: `"0"` to accept, a
/// `C2B000xx` code to reject. Daraja waits about 8 seconds for it.
///
/// ```
/// use pesakit::{DarajaResponse, RejectCode, Validation};
///
/// assert_eq!(&*Validation::Accept.to_json(), br#"{"ResultCode":"0","ResultDesc":"Accepted"}"#);
/// assert_eq!(
///     &*Validation::Reject(RejectCode::InvalidAccountNumber).to_json(),
///     br#"{"ResultCode":"C2B00012","ResultDesc":"Rejected"}"#,
/// );
/// let tagged = Validation::accept_tagged("1234567890")?;
/// assert_eq!(
///     &*tagged.to_json(),
///     br#"{"ResultCode":"0","ResultDesc":"Accepted","ThirdPartyTransID":"1234567890"}"#,
/// );
/// # Ok::<(), pesakit::ResponseValueError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Validation {
    /// Let the payment through.
    Accept,
    /// Let the payment through and tag it: Daraja echoes the id as
    /// `ThirdPartyTransID` in the confirmation.
    AcceptTagged(ThirdPartyTransId),
    /// Refuse the payment; the customer's money does not move.
    Reject(RejectCode),
}

impl Validation {
    /// Accepts and tags the payment with `id` (see [`ThirdPartyTransId`]).
    pub fn accept_tagged(id: &str) -> Result<Self, ResponseValueError> {
        ThirdPartyTransId::new(id).map(Self::AcceptTagged)
    }

    /// Whether the payment is accepted.
    pub fn is_accept(&self) -> bool {
        !matches!(self, Self::Reject(_))
    }
}

impl From<bool> for Validation {
    /// `true` accepts; `false` rejects with [`RejectCode::OtherError`].
    fn from(accept: bool) -> Self {
        if accept { Self::Accept } else { Self::Reject(RejectCode::OtherError) }
    }
}

impl DarajaResponse for Validation {
    fn to_json(&self) -> Cow<'static, [u8]> {
        match self {
            Self::Accept => Cow::Borrowed(br#"{"ResultCode":"0","ResultDesc":"Accepted"}"#),
            // Both inserted values are checked to need no JSON escaping.
            Self::AcceptTagged(id) => Cow::Owned(
                format!(r#"{{"ResultCode":"0","ResultDesc":"Accepted","ThirdPartyTransID":"{}"}}"#, id.0).into_bytes(),
            ),
            Self::Reject(code) => {
                Cow::Owned(format!(r#"{{"ResultCode":"{}","ResultDesc":"Rejected"}}"#, code.as_str()).into_bytes())
            }
        }
    }
}

/// Why a C2B validation payment is rejected: the six documented `C2B000xx`
/// codes, or one agreed with Safaricom.
///
/// ```
/// use pesakit::RejectCode;
///
/// assert_eq!(RejectCode::InvalidMsisdn.as_str(), "C2B00011");
/// assert_eq!(RejectCode::custom("C2B00099")?.as_str(), "C2B00099");
/// assert!(RejectCode::custom("0").is_err()); // "0" means accept
/// # Ok::<(), pesakit::ResponseValueError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RejectCode {
    /// `C2B00011`, invalid MSISDN.
    InvalidMsisdn,
    /// `C2B00012`, invalid account number.
    InvalidAccountNumber,
    /// `C2B00013`, invalid amount.
    InvalidAmount,
    /// `C2B00014`, invalid KYC details.
    InvalidKycDetails,
    /// `C2B00015`, invalid shortcode.
    InvalidShortcode,
    /// `C2B00016`, other error; pesakit's default reject.
    OtherError,
    /// A code Safaricom has agreed with you; build it with
    /// [`RejectCode::custom`].
    Custom(CustomRejectCode),
}

impl RejectCode {
    /// A code other than the documented six: 1–32 ASCII letters, digits or
    /// `_`, and not zero (which would accept).
    pub fn custom(code: &str) -> Result<Self, ResponseValueError> {
        let token = checked_token(code, 32, |byte| byte.is_ascii_alphanumeric() || byte == b'_', "reject code")?;
        if token.bytes().all(|byte| byte == b'0') {
            return Err(ResponseValueError { what: "reject code", reason: "zero means accept, so it cannot reject" });
        }
        Ok(Self::Custom(CustomRejectCode(token)))
    }

    /// The code sent as `code`: one of the documented six, or a custom
    /// one.
    ///
    /// ```
    /// use pesakit::RejectCode;
    /// assert_eq!(RejectCode::from_code("C2B00012")?, RejectCode::InvalidAccountNumber);
    /// assert_eq!(RejectCode::from_code("C2B00099")?.as_str(), "C2B00099");
    /// # Ok::<(), pesakit::ResponseValueError>(())
    /// ```
    pub fn from_code(code: &str) -> Result<Self, ResponseValueError> {
        Ok(match code {
            "C2B00011" => Self::InvalidMsisdn,
            "C2B00012" => Self::InvalidAccountNumber,
            "C2B00013" => Self::InvalidAmount,
            "C2B00014" => Self::InvalidKycDetails,
            "C2B00015" => Self::InvalidShortcode,
            "C2B00016" => Self::OtherError,
            other => return Self::custom(other),
        })
    }

    /// The code as sent in `ResultCode`.
    pub fn as_str(&self) -> &str {
        match self {
            Self::InvalidMsisdn => "C2B00011",
            Self::InvalidAccountNumber => "C2B00012",
            Self::InvalidAmount => "C2B00013",
            Self::InvalidKycDetails => "C2B00014",
            Self::InvalidShortcode => "C2B00015",
            Self::OtherError => "C2B00016",
            Self::Custom(code) => &code.0,
        }
    }
}

impl fmt::Display for RejectCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A checked custom reject code; see [`RejectCode::custom`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CustomRejectCode(String);

/// A checked `ThirdPartyTransID`: 1–64 ASCII letters, digits, `-`, `_` or `.`.
///
/// ```
/// use pesakit::ThirdPartyTransId;
///
/// assert_eq!(ThirdPartyTransId::new("order-42")?.as_str(), "order-42");
/// assert!(ThirdPartyTransId::new("has space").is_err());
/// # Ok::<(), pesakit::ResponseValueError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ThirdPartyTransId(String);

impl ThirdPartyTransId {
    /// Checks `id` and wraps it.
    pub fn new(id: &str) -> Result<Self, ResponseValueError> {
        let allowed = |byte: u8| byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.');
        checked_token(id, 64, allowed, "ThirdPartyTransID").map(Self)
    }

    /// The id as it will be sent.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A value that cannot go into a Daraja response.
///
/// ```
/// use pesakit::RejectCode;
///
/// let err = RejectCode::custom("").unwrap_err();
/// assert_eq!(err.to_string(), "invalid reject code: it is empty");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResponseValueError {
    what: &'static str,
    reason: &'static str,
}

impl fmt::Display for ResponseValueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid {}: {}", self.what, self.reason)
    }
}

impl std::error::Error for ResponseValueError {}

fn checked_token(
    text: &str,
    max_len: usize,
    allowed: impl Fn(u8) -> bool,
    what: &'static str,
) -> Result<String, ResponseValueError> {
    let reason = if text.is_empty() {
        "it is empty"
    } else if text.len() > max_len {
        "it is too long"
    } else if !text.bytes().all(allowed) {
        "it has a character Daraja does not expect there"
    } else {
        return Ok(text.to_owned());
    };
    Err(ResponseValueError { what, reason })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_acknowledgement_is_its_exact_body() {
        assert_eq!(&*StkAck.to_json(), br#"{"ResultCode":0,"ResultDesc":"Success"}"#);
        assert_eq!(&*ConfirmationAck.to_json(), br#"{"ResultCode":0,"ResultDesc":"Success"}"#);
        assert_eq!(&*ResultAck.to_json(), br#"{"ResultCode":0,"ResultDesc":"Accepted"}"#);
    }

    #[test]
    fn only_a_reject_refuses() {
        assert!(Validation::Accept.is_accept());
        assert!(Validation::accept_tagged("order-42").expect("a valid id").is_accept());
        assert!(!Validation::Reject(RejectCode::OtherError).is_accept());
    }

    #[test]
    fn a_custom_reject_code_is_a_short_token_of_letters_digits_and_underscores_not_all_zero() {
        for code in ["C2B00099", "A_1", "_", "0a", &"x".repeat(32)] {
            let custom = RejectCode::custom(code).unwrap_or_else(|error| panic!("{code:?}: {error}"));
            assert_eq!((custom.as_str(), custom.to_string()), (code, code.to_owned()));
        }
        for (code, reason) in [
            ("", "invalid reject code: it is empty"),
            ("0", "invalid reject code: zero means accept, so it cannot reject"),
            ("000", "invalid reject code: zero means accept, so it cannot reject"),
            ("a-b", "invalid reject code: it has a character Daraja does not expect there"),
            ("a b", "invalid reject code: it has a character Daraja does not expect there"),
            (&"x".repeat(33), "invalid reject code: it is too long"),
            (&"x".repeat(40), "invalid reject code: it is too long"),
        ] {
            let error = RejectCode::custom(code).expect_err(code);
            assert_eq!(error.to_string(), reason, "{code:?}");
        }
    }

    #[test]
    fn a_third_party_id_is_sent_as_given() {
        for id in ["order-42", "1234567890", &"9".repeat(64)] {
            assert_eq!(ThirdPartyTransId::new(id).expect("a valid id").as_str(), id);
        }
        assert!(ThirdPartyTransId::new(&"9".repeat(65)).is_err());
    }
}

//! Value conversions shared by every payload kind: scalar → typed value,
//! with errors that name the field.

use std::fmt;

use serde_json::value::RawValue;

use super::amount::{Amount, Balance};
use super::error::PayloadError;
use super::ids::MAX_ID_BYTES;
use super::json::{Scalar, scalar};
use super::timestamp::DarajaTime;

impl Scalar<'_> {
    /// The literal text: a string's contents or a number's digits.
    pub(crate) fn text(&self) -> &str {
        match self {
            Scalar::Text(text) => text,
            Scalar::Number(literal) => literal,
        }
    }
}

impl fmt::Display for Scalar<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scalar::Text(text) => write!(f, "{text:?}"),
            Scalar::Number(literal) => f.write_str(literal),
        }
    }
}

/// A required member that must be a string or number and not `null`.
pub(crate) fn required_scalar<'a>(
    raw: Option<&'a RawValue>,
    path: &dyn Fn() -> String,
) -> Result<Scalar<'a>, PayloadError> {
    match raw {
        Some(raw) => {
            scalar(raw, path)?.ok_or_else(|| PayloadError::shape(path(), "the member is null; a value is required"))
        }
        None => Err(missing(path())),
    }
}

/// An optional member: absent, `null` and `""` all mean "no value".
pub(crate) fn optional_scalar<'a>(
    raw: Option<&'a RawValue>,
    path: &dyn Fn() -> String,
) -> Result<Option<Scalar<'a>>, PayloadError> {
    match raw {
        Some(raw) => Ok(scalar(raw, path)?.filter(|value| !value.text().is_empty())),
        None => Ok(None),
    }
}

pub(crate) fn missing(path: String) -> PayloadError {
    PayloadError::shape(path, "missing field; a value is required")
}

/// A transaction amount: never negative, at most two decimals.
pub(crate) fn amount(value: &Scalar<'_>, path: &dyn Fn() -> String) -> Result<Amount, PayloadError> {
    value.text().parse().map_err(|error| PayloadError::value(path(), format!("{error}, got {value}")))
}

/// A balance: like [`amount`] but may be negative.
pub(crate) fn balance(value: &Scalar<'_>, path: &dyn Fn() -> String) -> Result<Balance, PayloadError> {
    value.text().parse().map_err(|error| PayloadError::value(path(), format!("{error}, got {value}")))
}

/// A timestamp: a JSON number must be the 14-digit layout; a string may be
/// either layout.
pub(crate) fn timestamp(value: &Scalar<'_>, path: &dyn Fn() -> String) -> Result<DarajaTime, PayloadError> {
    let parsed = match value {
        Scalar::Number(literal) => DarajaTime::parse_compact(literal),
        Scalar::Text(text) => text.parse(),
    };
    parsed.map_err(|error| PayloadError::value(path(), format!("{error}, got {value}")))
}

/// A correlation id: a non-empty string, as every id that ties a callback
/// to its request must be, within [`MAX_ID_BYTES`].
pub(crate) fn daraja_id(value: String, path: &str) -> Result<String, PayloadError> {
    if value.is_empty() {
        Err(PayloadError::value(path, "the id is an empty string; Daraja always sends one"))
    } else {
        bounded_id(value, path)
    }
}

/// An id that may be empty (a failed result's `TransactionID`), within
/// [`MAX_ID_BYTES`]: ids are stored and indexed, and a store's index has
/// a bound of its own (PostgreSQL's is about 2.7 KB).
pub(crate) fn bounded_id(value: String, path: &str) -> Result<String, PayloadError> {
    if value.len() > MAX_ID_BYTES {
        Err(PayloadError::value(
            path,
            format!(
                "the id is {} bytes long; Daraja's ids are short, and at most {MAX_ID_BYTES} are accepted",
                value.len()
            ),
        ))
    } else {
        Ok(value)
    }
}

/// An optional string member where `""` means "not given".
pub(crate) fn non_empty_or_none(value: Option<String>) -> Option<String> {
    value.filter(|text| !text.is_empty())
}

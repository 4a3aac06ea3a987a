//! Result codes that keep whatever Daraja sent.

use std::fmt;

use super::error::PayloadError;
use super::json::Scalar;

/// A Daraja `ResultCode`, numeric or textual, never coerced: Daraja sends
/// numbers (`0`, `1032`) and, for some APIs, text (`"R000002"`).
///
/// Daraja sends integers (`0`, `1032`, `2001`), numeric strings (`"0"`,
/// `"1032"`) and opaque strings (`"R000002"`, `"SFC_IC0003"`). A string of
/// ASCII digits reads as its number; anything else is kept as text. Only
/// `0` is success.
///
/// ```
/// use pesakit::ResultCode;
///
/// assert!(ResultCode::Numeric(0).is_success());
/// assert!(!ResultCode::Text("SFC_IC0003".into()).is_success());
/// assert_eq!(ResultCode::Numeric(1032).to_string(), "1032");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ResultCode {
    /// An integer code, from a JSON integer or a string of digits.
    Numeric(i64),
    /// Any other non-empty string, verbatim.
    Text(String),
}

impl ResultCode {
    /// Whether this is `0`, the only success code.
    pub fn is_success(&self) -> bool {
        *self == Self::Numeric(0)
    }

    /// Whether Daraja documents this STK code as a final outcome: paid, or a
    /// failure that a query would only confirm. 1019 (expired), 1037 (no
    /// answer from the phone) and codes pesakit does not know are not: query
    /// the outcome before telling the customer.
    ///
    /// ```
    /// use pesakit::ResultCode;
    /// assert!(ResultCode::Numeric(1032).is_final_stk_outcome());
    /// assert!(!ResultCode::Numeric(1037).is_final_stk_outcome());
    /// assert!(!ResultCode::Numeric(4242).is_final_stk_outcome());
    /// ```
    pub fn is_final_stk_outcome(&self) -> bool {
        const FINAL: [i64; 16] = [0, 1, 2, 3, 4, 8, 17, 26, 1001, 1025, 1031, 1032, 2001, 2028, 8006, 9999];
        match self {
            Self::Numeric(code) => FINAL.contains(code),
            Self::Text(code) => code == "SFC_IC0003",
        }
    }

    /// Whether this is a `ResultURL` code Daraja documents (success or a
    /// known failure); an unknown code leaves the outcome to be queried.
    ///
    /// ```
    /// use pesakit::ResultCode;
    /// assert!(ResultCode::Text("R000001".into()).is_documented_result());
    /// assert!(!ResultCode::Numeric(77).is_documented_result());
    /// ```
    pub fn is_documented_result(&self) -> bool {
        const DOCUMENTED: [i64; 23] =
            [0, 1, 2, 3, 4, 8, 11, 15, 17, 18, 19, 20, 21, 22, 24, 25, 26, 29, 2001, 2006, 2028, 2040, 8006];
        match self {
            Self::Numeric(code) => DOCUMENTED.contains(code),
            Self::Text(code) => matches!(code.as_str(), "R000001" | "R000002" | "SFC_IC0003"),
        }
    }

    /// The numeric value, if the code is numeric.
    ///
    /// ```
    /// use pesakit::ResultCode;
    /// assert_eq!(ResultCode::Numeric(17).as_i64(), Some(17));
    /// assert_eq!(ResultCode::Text("R000002".into()).as_i64(), None);
    /// ```
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Self::Numeric(code) => Some(*code),
            Self::Text(_) => None,
        }
    }

    /// Reads a code from a JSON scalar: an integer, or a non-empty string
    /// (one of digits only reads as that integer).
    pub(crate) fn from_scalar(scalar: Scalar<'_>, path: &str) -> Result<Self, PayloadError> {
        match scalar {
            Scalar::Number(literal) => literal.parse().map(Self::Numeric).map_err(|_| {
                let problem = if literal.contains(['.', 'e', 'E']) {
                    "is not an integer"
                } else {
                    "does not fit a 64-bit integer"
                };
                PayloadError::value(path, format!("result code {literal} {problem}"))
            }),
            Scalar::Text(text) if text.is_empty() => {
                Err(PayloadError::value(path, "the result code is an empty string"))
            }
            Scalar::Text(text) if text.bytes().all(|byte| byte.is_ascii_digit()) => {
                text.parse().map(Self::Numeric).map_err(|_| {
                    PayloadError::value(path, format!("result code \"{text}\" does not fit a 64-bit integer"))
                })
            }
            Scalar::Text(text) => Ok(Self::Text(text.into_owned())),
        }
    }
}

impl fmt::Display for ResultCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Numeric(code) => write!(f, "{code}"),
            Self::Text(code) => f.write_str(code),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn final_stk_outcomes_are_the_documented_final_codes_only() {
        for code in [0, 1, 1032, 1037, 2001, 4242, -1] {
            let final_code = matches!(code, 0 | 1 | 1032 | 2001);
            assert_eq!(ResultCode::Numeric(code).is_final_stk_outcome(), final_code, "{code}");
        }
        assert!(ResultCode::Text("SFC_IC0003".into()).is_final_stk_outcome());
        assert!(!ResultCode::Text("SFC_IC0004".into()).is_final_stk_outcome());
        assert!(!ResultCode::Text(String::new()).is_final_stk_outcome());
    }

    #[test]
    fn documented_results_are_the_listed_codes_only() {
        for (code, documented) in [(0, true), (2040, true), (8006, true), (77, false), (1032, false), (-1, false)] {
            assert_eq!(ResultCode::Numeric(code).is_documented_result(), documented, "{code}");
        }
        for (code, documented) in [("R000001", true), ("R000002", true), ("SFC_IC0003", true), ("R000003", false)] {
            assert_eq!(ResultCode::Text(code.into()).is_documented_result(), documented, "{code}");
        }
    }
    use std::borrow::Cow;

    fn read(scalar: Scalar<'_>) -> Result<ResultCode, PayloadError> {
        ResultCode::from_scalar(scalar, "ResultCode")
    }

    #[test]
    fn digit_strings_read_as_numbers() {
        assert_eq!(read(Scalar::Text(Cow::Borrowed("1032"))), Ok(ResultCode::Numeric(1032)));
        assert_eq!(read(Scalar::Text(Cow::Borrowed("R000002"))), Ok(ResultCode::Text("R000002".into())));
    }

    #[test]
    fn huge_and_fractional_codes_are_refused_not_wrapped() {
        assert!(read(Scalar::Number("4294968328")).is_ok());
        assert!(read(Scalar::Number("18446744073709552648")).is_err());
        assert!(read(Scalar::Number("0.0")).is_err());
        assert!(read(Scalar::Text(Cow::Borrowed(""))).is_err());
    }
}

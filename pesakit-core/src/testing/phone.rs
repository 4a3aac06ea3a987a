//! Phone numbers as people write them, turned into the form Daraja sends.

use std::fmt;

use crate::payload::Msisdn;
use crate::untrusted::Untrusted;

/// `text` as the twelve digits Daraja sends (`2547…` or `2541…`), when it
/// is a Kenyan mobile number in a form people write: `0712345678`,
/// `+254712345678`, `254712345678` or `712345678`.
///
/// The builders' `phone` and `msisdn` use it; call it yourself to check
/// input before building.
///
/// ```
/// use pesakit::testing::kenyan_mobile_number;
///
/// assert_eq!(kenyan_mobile_number("0712345678").unwrap(), "254712345678");
/// assert_eq!(kenyan_mobile_number("+254 712 345 678").unwrap_err().to_string(),
///     "\"+254 712 345 678\" is not a Kenyan mobile number: give 07XXXXXXXX, +2547XXXXXXXX, \
///      2547XXXXXXXX or 7XXXXXXXX (numbers starting 01 likewise), digits only");
/// ```
pub fn kenyan_mobile_number(text: &str) -> Result<String, PhoneError> {
    Msisdn::new(text).normalised().map(str::to_owned).ok_or_else(|| PhoneError { given: text.to_owned() })
}

/// Text that is not a Kenyan mobile number; says which forms are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneError {
    given: String,
}

impl fmt::Display for PhoneError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "\"{}\" is not a Kenyan mobile number: give 07XXXXXXXX, +2547XXXXXXXX, 2547XXXXXXXX or 7XXXXXXXX \
             (numbers starting 01 likewise), digits only",
            Untrusted(&self.given)
        )
    }
}

impl std::error::Error for PhoneError {}

//! Exact money: Kenyan shillings held as whole cents, never as a float.

use std::fmt;
use std::str::FromStr;

/// A transaction amount in KES: exact, never negative. Daraja sends
/// amounts as JSON numbers or strings (`1`, `1.0`, `"1.00"`); all are read
/// as the same whole cents.
///
/// Held as integer cents. Parsing accepts `1`, `1.0` and `1.00` alike and
/// refuses anything that would need rounding or could not be a payment:
/// a sign, an exponent, a third decimal place, whitespace, or more cents than
/// an `i64` holds.
///
/// ```
/// use pesakit::Amount;
///
/// let amount: Amount = "1500.5".parse()?;
/// assert_eq!(amount.minor_units(), 150_050);
/// assert_eq!(amount.to_string(), "1500.50");
/// assert!("1.005".parse::<Amount>().is_err());
/// assert!("-1".parse::<Amount>().is_err());
/// // Debug output says what the number is.
/// assert_eq!(format!("{amount:?}"), "KES 1500.50");
/// # Ok::<(), pesakit::AmountError>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Amount(i64);

/// An account balance or available-funds figure in KES: exact, and unlike
/// [`Amount`] it may be negative (a Charges Paid account often is).
///
/// ```
/// use pesakit::Balance;
///
/// let charges: Balance = "-1980.00".parse()?;
/// assert_eq!(charges.minor_units(), -198_000);
/// assert_eq!(charges.to_string(), "-1980.00");
/// assert_eq!(format!("{charges:?}"), "KES -1980.00");
/// # Ok::<(), pesakit::AmountError>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Balance(i64);

/// Why a text is not an exact KES amount.
///
/// ```
/// use pesakit::{Amount, AmountError};
///
/// assert_eq!("2.345".parse::<Amount>(), Err(AmountError::TooManyDecimals));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AmountError {
    /// The text is empty.
    Empty,
    /// A minus sign on a transaction amount, which is never negative.
    Negative,
    /// More than two decimal places: rounding would change the money.
    TooManyDecimals,
    /// Not digits with an optional `.` and one or two more digits.
    Malformed,
    /// More cents than an `i64` holds.
    TooLarge,
}

impl fmt::Display for AmountError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Empty => "the amount is empty",
            Self::Negative => "a transaction amount cannot be negative",
            Self::TooManyDecimals => "more than 2 decimal places; amounts are never rounded",
            Self::Malformed => "expected digits with an optional `.` and 1 or 2 decimals (no sign, exponent or spaces)",
            Self::TooLarge => "the amount is too large to hold exactly",
        })
    }
}

impl std::error::Error for AmountError {}

impl Amount {
    /// Zero shillings.
    pub const ZERO: Self = Self(0);

    /// An amount of `cents` hundredths of a shilling, or `None` if negative.
    ///
    /// ```
    /// use pesakit::Amount;
    /// assert_eq!(Amount::from_minor_units(100).map(|a| a.to_string()), Some("1.00".into()));
    /// assert_eq!(Amount::from_minor_units(-1), None);
    /// ```
    pub const fn from_minor_units(cents: i64) -> Option<Self> {
        if cents < 0 { None } else { Some(Self(cents)) }
    }

    /// The amount in cents (hundredths of a shilling).
    pub const fn minor_units(self) -> i64 {
        self.0
    }
}

impl Balance {
    /// A balance of `cents` hundredths of a shilling.
    ///
    /// ```
    /// use pesakit::Balance;
    /// assert_eq!(Balance::from_minor_units(-5).to_string(), "-0.05");
    /// ```
    pub const fn from_minor_units(cents: i64) -> Self {
        Self(cents)
    }

    /// The balance in cents (hundredths of a shilling).
    pub const fn minor_units(self) -> i64 {
        self.0
    }
}

impl From<Amount> for Balance {
    fn from(amount: Amount) -> Self {
        Self(amount.0)
    }
}

impl FromStr for Amount {
    type Err = AmountError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text.starts_with('-') {
            return Err(AmountError::Negative);
        }
        parse_cents(text).map(Self)
    }
}

impl FromStr for Balance {
    type Err = AmountError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.strip_prefix('-') {
            Some(magnitude) => parse_cents(magnitude).map(|cents| Self(-cents)),
            None => parse_cents(text).map(Self),
        }
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_cents(self.0, f)
    }
}

impl fmt::Display for Balance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_cents(self.0, f)
    }
}

// In debug output (a handler's `{:?}` of a payload), the currency and the
// decimal point, never the raw cents.
impl fmt::Debug for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KES {self}")
    }
}

impl fmt::Debug for Balance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KES {self}")
    }
}

/// Parses unsigned `digits[.d[d]]` into cents without any floating point.
fn parse_cents(text: &str) -> Result<i64, AmountError> {
    if text.is_empty() {
        return Err(AmountError::Empty);
    }
    // A byte scan: amounts are a few characters, too short for `split_once`'s searcher to pay off.
    let (whole, fraction) = match text.bytes().position(|byte| byte == b'.') {
        Some(dot) => (&text[..dot], Some(&text[dot + 1..])),
        None => (text, None),
    };
    let all_digits = |part: &str| !part.is_empty() && part.bytes().all(|byte| byte.is_ascii_digit());
    if !all_digits(whole) {
        return Err(AmountError::Malformed);
    }
    let fraction_cents = match fraction {
        None => 0,
        Some(fraction) if !all_digits(fraction) => return Err(AmountError::Malformed),
        Some(fraction) if fraction.len() > 2 => return Err(AmountError::TooManyDecimals),
        Some(fraction) => {
            let tenths = i64::from(fraction.as_bytes()[0] - b'0') * 10;
            tenths + fraction.as_bytes().get(1).map_or(0, |hundredths| i64::from(hundredths - b'0'))
        }
    };
    whole
        .bytes()
        .try_fold(0i64, |shillings, digit| shillings.checked_mul(10)?.checked_add(i64::from(digit - b'0')))
        .and_then(|shillings| shillings.checked_mul(100)?.checked_add(fraction_cents))
        .ok_or(AmountError::TooLarge)
}

fn write_cents(cents: i64, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    let sign = if cents < 0 { "-" } else { "" };
    let magnitude = cents.unsigned_abs();
    write!(f, "{sign}{}.{:02}", magnitude / 100, magnitude % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_is_written_without_a_sign() {
        assert_eq!(Amount(0).to_string(), "0.00");
        assert_eq!(Balance(0).to_string(), "0.00");
        assert_eq!(Balance(-1).to_string(), "-0.01");
    }

    #[test]
    fn an_amount_is_zero_or_more_cents_and_a_balance_takes_it_unchanged() {
        assert_eq!(Amount::from_minor_units(0), Some(Amount(0)));
        assert_eq!(Amount::from_minor_units(1), Some(Amount(1)));
        assert_eq!(Amount::from_minor_units(-1), None);
        assert_eq!(Amount::from_minor_units(i64::MIN), None);
        assert_eq!(Balance::from(Amount(150_050)), Balance(150_050));
    }

    #[test]
    fn debug_output_shows_shillings_not_cents() {
        assert_eq!(format!("{:?}", Amount(150_050)), "KES 1500.50");
        assert_eq!(format!("{:?}", Balance(-5)), "KES -0.05");
        assert_eq!(format!("{:?}", Some(Amount(1))), "Some(KES 0.01)");
    }

    #[test]
    fn equal_literals_are_equal_amounts() {
        for text in ["1", "1.0", "1.00"] {
            assert_eq!(text.parse::<Amount>(), Ok(Amount(100)), "{text}");
        }
    }

    #[test]
    fn refuses_what_would_need_rounding_or_guessing() {
        let cases = [
            ("", AmountError::Empty),
            ("1.005", AmountError::TooManyDecimals),
            ("1.000", AmountError::TooManyDecimals),
            ("1e3", AmountError::Malformed),
            ("+1", AmountError::Malformed),
            (".5", AmountError::Malformed),
            ("5.", AmountError::Malformed),
            (" 5", AmountError::Malformed),
            ("NaN", AmountError::Malformed),
            ("-5", AmountError::Negative),
            ("92233720368547758.08", AmountError::TooLarge),
        ];
        for (text, expected) in cases {
            assert_eq!(text.parse::<Amount>(), Err(expected), "{text:?}");
        }
    }

    #[test]
    fn largest_amount_fits_exactly() {
        let largest: Amount = "92233720368547758.07".parse().expect("i64::MAX cents");
        assert_eq!(largest.minor_units(), i64::MAX);
    }

    #[test]
    fn balances_may_be_negative() {
        assert_eq!("-0.05".parse::<Balance>().map(Balance::minor_units), Ok(-5));
        assert_eq!("--5".parse::<Balance>(), Err(AmountError::Malformed));
        assert_eq!(Balance(-198_000).to_string(), "-1980.00");
    }
}

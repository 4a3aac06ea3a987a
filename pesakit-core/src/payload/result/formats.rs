//! Mini-formats embedded in result parameter values: `|`-separated account
//! balances and charges, and Java map dumps.

use std::fmt;

use super::super::amount::{Amount, Balance};

/// One account of an `Name|Currency|a|b|c|d` list, as in `AccountBalance`
/// and `DebitAccountBalance`.
///
/// Safaricom's documents disagree on what the four figures mean (available,
/// current, reserved, uncleared are the usual reading; one sample has the
/// first equal to the second plus the third), so all four are kept in order.
///
/// ```
/// use pesakit::AccountBalance;
///
/// let accounts = AccountBalance::parse_list("Working Account|KES|46713.00|46713.00|0.00|0.00&Charges Paid Account|KES|-220.00|-220.00|0.00|0.00")?;
/// assert_eq!(accounts[1].name, "Charges Paid Account");
/// assert_eq!(accounts[1].amounts[0].to_string(), "-220.00");
/// # Ok::<(), pesakit::ListFormatError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AccountBalance {
    /// The account name, e.g. `Working Account`, `Utility Account`.
    pub name: String,
    /// The currency code, e.g. `KES`.
    pub currency: String,
    /// The four figures, in the order sent; any may be negative.
    pub amounts: [Balance; 4],
}

impl AccountBalance {
    /// Parses accounts joined by `&`, each `Name|Currency|a|b|c|d`. The
    /// error names the account and the figure that is wrong.
    pub fn parse_list(text: &str) -> Result<Vec<Self>, ListFormatError> {
        text.split('&').enumerate().map(|(index, account)| Self::parse_one(index, account)).collect()
    }

    fn parse_one(index: usize, text: &str) -> Result<Self, ListFormatError> {
        let columns: Vec<&str> = text.split('|').collect();
        let [name, currency, figures @ ..] = columns.as_slice() else {
            return Err(ListFormatError::new(index, format!("account {index} is empty")));
        };
        if figures.len() != 4 {
            let message =
                format!("account {index} ({name}) has {} figures; expected `Name|Currency|a|b|c|d`", figures.len());
            return Err(ListFormatError::new(index, message));
        }
        let mut amounts = [Balance::default(); 4];
        for (column, (slot, figure)) in amounts.iter_mut().zip(figures).enumerate() {
            *slot = figure.parse().map_err(|error| {
                ListFormatError::new(
                    index,
                    format!("account {index} ({name}) figure {}: {error}, got {figure:?}", column + 1),
                )
            })?;
        }
        Ok(Self { name: (*name).to_owned(), currency: (*currency).to_owned(), amounts })
    }
}

/// A charge written `Label|Currency|Amount`, as in `DebitPartyCharges`.
///
/// ```
/// use pesakit::Charge;
///
/// let charges = Charge::parse_list("Business Pay Bill Charge|KES|77.00")?;
/// assert_eq!(charges[0].amount.to_string(), "77.00");
/// # Ok::<(), pesakit::ListFormatError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Charge {
    /// What the charge is for, e.g. `Fee For B2C Payment`.
    pub label: String,
    /// The currency code.
    pub currency: String,
    /// The amount charged.
    pub amount: Amount,
}

impl Charge {
    /// Parses charges joined by `&`, each `Label|Currency|Amount`.
    pub fn parse_list(text: &str) -> Result<Vec<Self>, ListFormatError> {
        text.split('&')
            .enumerate()
            .map(|(index, charge)| {
                let [label, currency, amount] = charge.split('|').collect::<Vec<_>>()[..] else {
                    let message = format!("charge {index} is not `Label|Currency|Amount`: {charge:?}");
                    return Err(ListFormatError::new(index, message));
                };
                let amount = amount.parse().map_err(|error| {
                    ListFormatError::new(index, format!("charge {index} ({label}): {error}, got {amount:?}"))
                })?;
                Ok(Self { label: label.to_owned(), currency: currency.to_owned(), amount })
            })
            .collect()
    }
}

impl fmt::Display for Charge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}|{}|{}", self.label, self.currency, self.amount)
    }
}

/// Why an `&`-joined list of `|`-separated entries (accounts, charges) could
/// not be read; it names the entry and the column.
///
/// ```
/// use pesakit::Charge;
///
/// let error = Charge::parse_list("Fee|KES|1.00&Fee|KES").unwrap_err();
/// assert_eq!(error.entry(), 1);
/// assert!(error.to_string().starts_with("charge 1 is not `Label|Currency|Amount`"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListFormatError {
    entry: usize,
    message: String,
}

impl ListFormatError {
    fn new(entry: usize, message: String) -> Self {
        Self { entry, message }
    }

    /// Which entry of the list is wrong, counting from 0.
    pub fn entry(&self) -> usize {
        self.entry
    }
}

impl fmt::Display for ListFormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ListFormatError {}

/// Reads `BasicAmount` from a Java map dump such as
/// `{Amount={CurrencyCode=KES, MinimumAmount=618683, BasicAmount=6186.83}}`,
/// checking it against `MinimumAmount` (the same figure in cents) when both
/// are there.
pub(crate) fn java_map_amount(text: &str) -> Result<Balance, String> {
    let entry = |name: &str| {
        text.split(['{', '}', ','])
            .filter_map(|pair| pair.split_once('='))
            .find(|(key, _)| key.trim() == name)
            .map(|(_, value)| value.trim())
    };
    let basic = entry("BasicAmount").ok_or_else(|| format!("no `BasicAmount` in {text:?}"))?;
    let amount: Balance = basic.parse().map_err(|error| format!("BasicAmount: {error}, got {basic:?}"))?;
    if let Some(minimum) = entry("MinimumAmount") {
        let cents: i64 = minimum.parse().map_err(|_| format!("MinimumAmount is not whole cents: {minimum:?}"))?;
        if cents != amount.minor_units() {
            return Err(format!("BasicAmount {basic} and MinimumAmount {minimum} cents disagree"));
        }
    }
    Ok(amount)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_map_key_order_and_spacing_vary() {
        for text in [
            "{Amount={CurrencyCode=KES, MinimumAmount=618683, BasicAmount=6186.83}}",
            "{ Amount={BasicAmount=6186.83, MinimumAmount=618683, CurrencyCode=KES}}",
        ] {
            assert_eq!(java_map_amount(text).map(Balance::minor_units), Ok(618_683), "{text}");
        }
        assert!(java_map_amount("{Amount={MinimumAmount=1, BasicAmount=6186.83}}").is_err());
        assert!(java_map_amount("{Amount={CurrencyCode=KES}}").is_err());
    }

    #[test]
    fn account_lists_name_the_bad_figure() {
        let error = AccountBalance::parse_list("Working Account|KES|1.00|1.00|0.00").unwrap_err();
        assert!(error.to_string().contains("Working Account"), "{error}");
        let error = AccountBalance::parse_list("A|KES|1|1|0|0&Working Account|KES|1.00|x|0.00|0.00").unwrap_err();
        assert!(error.to_string().contains("figure 2"), "{error}");
        assert_eq!(error.entry(), 1);
    }

    #[test]
    fn charges_need_three_columns() {
        assert!(Charge::parse_list("Fee|KES").is_err());
        assert_eq!(Charge::parse_list("Fee For B2C Payment|KES|22.40").map(|c| c[0].amount.minor_units()), Ok(2240));
    }
}

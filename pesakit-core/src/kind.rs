//! The nine kinds of callback Daraja sends.

use std::fmt;

use crate::path_rules;

/// A kind of Daraja callback: what was sent, what it parses into, and what
/// pesakit answers.
///
/// ```
/// use pesakit_core::CallbackKind;
///
/// let kind = CallbackKind::C2bValidation;
/// assert_eq!(kind.attribute_name(), "c2b_validation");
/// assert_eq!(kind.default_path(), "/callbacks/c2b/validation");
/// assert_eq!(kind.payload_type(), "C2bPayment");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CallbackKind {
    /// The STK push result, to `CallBackURL`.
    StkCallback,
    /// C2B validation, to `ValidationURL`; the only kind that answers with a
    /// verdict.
    C2bValidation,
    /// C2B confirmation, to `ConfirmationURL`.
    C2bConfirmation,
    /// B2C result, to `ResultURL`.
    B2cResult,
    /// Account balance result, to `ResultURL`.
    AccountBalanceResult,
    /// Transaction status result, to `ResultURL`.
    TransactionStatusResult,
    /// Reversal result, to `ResultURL`.
    ReversalResult,
    /// B2B result, to `ResultURL`.
    B2bResult,
    /// Queue timeout, to `QueueTimeOutURL`.
    QueueTimeout,
}

impl CallbackKind {
    /// Every kind, in the order of the documentation.
    pub const ALL: [Self; 9] = [
        Self::StkCallback,
        Self::C2bValidation,
        Self::C2bConfirmation,
        Self::B2cResult,
        Self::AccountBalanceResult,
        Self::TransactionStatusResult,
        Self::ReversalResult,
        Self::B2bResult,
        Self::QueueTimeout,
    ];

    /// The name of the kind's attribute macro, also used in logs.
    pub const fn attribute_name(self) -> &'static str {
        match self {
            Self::StkCallback => "stk_callback",
            Self::C2bValidation => "c2b_validation",
            Self::C2bConfirmation => "c2b_confirmation",
            Self::B2cResult => "b2c_result",
            Self::AccountBalanceResult => "account_balance_result",
            Self::TransactionStatusResult => "transaction_status_result",
            Self::ReversalResult => "reversal_result",
            Self::B2bResult => "b2b_result",
            Self::QueueTimeout => "queue_timeout",
        }
    }

    /// The path a handler of this kind gets when its attribute names none.
    pub fn default_path(self) -> &'static str {
        path_rules::default_path(self.attribute_name()).unwrap_or("/callbacks")
    }

    /// The name of the payload type a handler of this kind takes first.
    pub const fn payload_type(self) -> &'static str {
        match self {
            Self::StkCallback => "StkCallback",
            Self::C2bValidation | Self::C2bConfirmation => "C2bPayment",
            Self::B2cResult => "DarajaResult<B2cParams>",
            Self::AccountBalanceResult => "DarajaResult<AccountBalanceParams>",
            Self::TransactionStatusResult => "DarajaResult<TransactionStatusParams>",
            Self::ReversalResult => "DarajaResult<ReversalParams>",
            Self::B2bResult => "DarajaResult<B2bParams>",
            Self::QueueTimeout => "QueueTimeout",
        }
    }
}

impl fmt::Display for CallbackKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.attribute_name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_a_valid_default_path_of_its_own() {
        let mut paths: Vec<_> = CallbackKind::ALL.iter().map(|kind| kind.default_path()).collect();
        for path in &paths {
            assert_eq!(path_rules::check_path(path), Ok(()), "{path}");
        }
        paths.sort_unstable();
        paths.dedup();
        assert_eq!(paths.len(), CallbackKind::ALL.len());
    }
}

//! What the macros need to know about each callback kind.

use proc_macro2::{Ident, Span, TokenStream};
use quote::quote;

use crate::path_rules;

/// One callback kind, as its attribute sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Kind {
    /// The attribute's name, such as `stk_callback`.
    pub(crate) attribute: &'static str,
    /// The `CallbackKind` variant.
    variant: &'static str,
    /// The payload type's name and, for results, its parameter view.
    payload: (&'static str, Option<&'static str>),
}

const KINDS: [Kind; 9] = [
    Kind { attribute: "stk_callback", variant: "StkCallback", payload: ("StkCallback", None) },
    Kind { attribute: "c2b_validation", variant: "C2bValidation", payload: ("C2bPayment", None) },
    Kind { attribute: "c2b_confirmation", variant: "C2bConfirmation", payload: ("C2bPayment", None) },
    Kind { attribute: "b2c_result", variant: "B2cResult", payload: ("DarajaResult", Some("B2cParams")) },
    Kind {
        attribute: "account_balance_result",
        variant: "AccountBalanceResult",
        payload: ("DarajaResult", Some("AccountBalanceParams")),
    },
    Kind {
        attribute: "transaction_status_result",
        variant: "TransactionStatusResult",
        payload: ("DarajaResult", Some("TransactionStatusParams")),
    },
    Kind { attribute: "reversal_result", variant: "ReversalResult", payload: ("DarajaResult", Some("ReversalParams")) },
    Kind { attribute: "b2b_result", variant: "B2bResult", payload: ("DarajaResult", Some("B2bParams")) },
    Kind { attribute: "queue_timeout", variant: "QueueTimeout", payload: ("QueueTimeout", None) },
];

impl Kind {
    /// The kind whose attribute is `attribute`; entry points pass only
    /// names from this table.
    pub(crate) fn named(attribute: &str) -> Self {
        Self::find(attribute).unwrap_or(KINDS[0])
    }

    pub(crate) fn find(attribute: &str) -> Option<Self> {
        KINDS.iter().copied().find(|kind| kind.attribute == attribute)
    }

    pub(crate) fn is_validation(self) -> bool {
        self.attribute == "c2b_validation"
    }

    pub(crate) fn default_path(self) -> &'static str {
        path_rules::default_path(self.attribute).unwrap_or("/callbacks")
    }

    /// `CallbackKind::Variant`, below `private`.
    pub(crate) fn variant(self, private: &TokenStream) -> TokenStream {
        let variant = Ident::new(self.variant, Span::call_site());
        quote!(#private::CallbackKind::#variant)
    }

    /// The payload type, below `private`.
    pub(crate) fn payload_type(self, private: &TokenStream) -> TokenStream {
        let name = Ident::new(self.payload.0, Span::call_site());
        match self.payload.1 {
            Some(params) => {
                let params = Ident::new(params, Span::call_site());
                quote!(#private::#name<#private::#params>)
            }
            None => quote!(#private::#name),
        }
    }

    /// The payload type as users write it, for messages.
    pub(crate) fn payload_name(self) -> String {
        match self.payload.1 {
            Some(params) => format!("{}<{params}>", self.payload.0),
            None => self.payload.0.to_owned(),
        }
    }
}

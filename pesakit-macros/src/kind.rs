//! What the macros need to know about each callback kind. `KINDS`, made in
//! `lib.rs` with the attributes, reads the table the runtime is generated
//! from.

use proc_macro2::{Ident, Span, TokenStream};
use quote::quote;

/// One callback kind, as its attribute sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Kind {
    /// The attribute's name, such as `stk_callback`.
    pub(crate) attribute: &'static str,
    /// The kind's marker type, below `__private::kind`.
    marker: &'static str,
    /// The path an attribute without one gets.
    default_path: &'static str,
    /// The payload type as users write it, for messages.
    payload_name: &'static str,
    /// Whether the handler's verdict is the answer (C2B validation).
    answers_with_verdict: bool,
}

impl Kind {
    /// The kind of one row of the table.
    pub(crate) const fn from_row(
        attribute: &'static str,
        marker: &'static str,
        default_path: &'static str,
        payload_name: &'static str,
        answer: &'static str,
    ) -> Self {
        let answers_with_verdict = matches!(answer.as_bytes(), b"Verdict");
        Self { attribute, marker, default_path, payload_name, answers_with_verdict }
    }

    /// The kind whose attribute is `attribute`.
    pub(crate) fn find(attribute: &str) -> Option<Self> {
        crate::KINDS.iter().copied().find(|kind| kind.attribute == attribute)
    }

    pub(crate) fn is_validation(self) -> bool {
        self.answers_with_verdict
    }

    pub(crate) fn default_path(self) -> &'static str {
        self.default_path
    }

    /// The kind's marker type, below `private`.
    pub(crate) fn marker(self, private: &TokenStream) -> TokenStream {
        let marker = Ident::new(self.marker, Span::call_site());
        quote!(#private::kind::#marker)
    }

    /// The payload type, below `private`: the marker's associated type.
    pub(crate) fn payload_type(self, private: &TokenStream) -> TokenStream {
        let marker = self.marker(private);
        quote!(<#marker as #private::Kind>::Payload)
    }

    /// The payload type as users write it, for messages.
    pub(crate) fn payload_name(self) -> &'static str {
        self.payload_name
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::path_rules;

    use crate::KINDS;

    #[test]
    fn the_table_has_nine_kinds_with_distinct_names_and_valid_default_paths() {
        assert_eq!(KINDS.len(), 9);
        for (index, kind) in KINDS.iter().enumerate() {
            assert_eq!(Kind::find(kind.attribute), Some(*kind));
            assert_eq!(path_rules::check_path(kind.default_path), Ok(()), "{}", kind.attribute);
            assert!(KINDS[..index].iter().all(|other| other.default_path != kind.default_path));
        }
        let validations: Vec<_> = KINDS.iter().filter(|kind| kind.is_validation()).map(|kind| kind.attribute).collect();
        assert_eq!(validations, ["c2b_validation"]);
        assert_eq!(Kind::find("stk"), None);
    }
}

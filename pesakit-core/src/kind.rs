//! The nine kinds of callback Daraja sends, and a marker type for each that
//! ties the kind to its payload type.

use std::fmt;

use crate::payload::Payload;
use crate::response::{ConfirmationAck, ResultAck, StkAck};

macro_rules! define_kinds {
    ($($marker:ident {
        attribute: $attribute:ident,
        default_path: $default_path:literal,
        payload: $payload:ty,
        payload_name: $payload_name:literal,
        answer: $answer:ident,
        summary: $summary:literal,
    })*) => {
        /// A kind of Daraja callback: what was sent, and what pesakit answers.
        ///
        /// ```
        /// use pesakit::CallbackKind;
        ///
        /// let kind = CallbackKind::C2bValidation;
        /// assert_eq!(kind.attribute_name(), "c2b_validation");
        /// assert_eq!(kind.default_path(), "/callbacks/c2b/validation");
        /// assert_eq!(kind.acknowledgement(), None); // answered with the handler's verdict
        /// ```
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum CallbackKind {
            $(#[doc = $summary] $marker,)*
        }

        impl CallbackKind {
            /// Every kind, in the order of the documentation.
            pub const ALL: [Self; 9] = [$(Self::$marker),*];

            /// The name of the kind's attribute macro, also used in logs and
            /// stored with recorded callbacks.
            pub const fn attribute_name(self) -> &'static str {
                match self {
                    $(Self::$marker => stringify!($attribute),)*
                }
            }

            /// The path a handler of this kind gets when its attribute names
            /// none; every default is under `/callbacks/`.
            pub const fn default_path(self) -> &'static str {
                match self {
                    $(Self::$marker => $default_path,)*
                }
            }

            /// The kind whose [attribute name](Self::attribute_name) is `name`.
            ///
            /// ```
            /// use pesakit::CallbackKind;
            /// assert_eq!(CallbackKind::from_attribute_name("b2c_result"), Some(CallbackKind::B2cResult));
            /// assert_eq!(CallbackKind::from_attribute_name("b2c"), None);
            /// ```
            pub fn from_attribute_name(name: &str) -> Option<Self> {
                Self::ALL.into_iter().find(|kind| kind.attribute_name() == name)
            }

            /// The exact body Daraja is answered with once a callback of this
            /// kind is handled, or `None` for C2B validation, which is
            /// answered with the handler's [`Validation`](crate::Validation).
            pub const fn acknowledgement(self) -> Option<&'static [u8]> {
                match self {
                    $(Self::$marker => acknowledgement!($answer),)*
                }
            }
        }

        $(
            #[doc = $summary]
            #[doc = ""]
            #[doc = concat!("The marker of [`CallbackKind::", stringify!($marker), "`]: its payload is `", $payload_name, "`.")]
            #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
            pub struct $marker;

            impl sealed::Sealed for $marker {}
        )*

        /// Where payload names resolve to the payload types, not to the
        /// markers that share two of them.
        mod payloads {
            use crate::payload::*;

            use super::{CallbackKind, Kind};

            $(
                impl Kind for super::$marker {
                    type Payload = $payload;
                    const KIND: CallbackKind = CallbackKind::$marker;
                }
            )*
        }
    };
}

macro_rules! acknowledgement {
    (Verdict) => {
        None
    };
    ($ack:ident) => {
        Some($ack::BODY)
    };
}

with_callback_kinds!(define_kinds);

/// A callback kind as a type, tying it to its payload type: a route of kind
/// `K` can only be made from a handler that takes `K::Payload`.
///
/// ```
/// use pesakit::kind::{self, Kind};
/// use pesakit::{C2bPayment, CallbackKind};
///
/// fn payload_of<K: Kind>() -> CallbackKind { K::KIND }
/// assert_eq!(payload_of::<kind::C2bConfirmation>(), CallbackKind::C2bConfirmation);
/// let _: Option<<kind::C2bValidation as Kind>::Payload> = None::<C2bPayment>;
/// ```
pub trait Kind: sealed::Sealed + Send + Sync + 'static {
    /// What a callback of this kind parses into.
    type Payload: Payload;
    /// The kind as a value.
    const KIND: CallbackKind;
}

mod sealed {
    /// Only the nine kinds are kinds.
    pub trait Sealed {}
}

impl fmt::Display for CallbackKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.attribute_name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::path_rules;

    #[test]
    fn every_kind_has_a_valid_default_path_of_its_own() {
        let mut paths: Vec<_> = CallbackKind::ALL.iter().map(|kind| kind.default_path()).collect();
        for path in &paths {
            assert_eq!(path_rules::check_path(path), Ok(()), "{path}");
            assert!(path.starts_with("/callbacks/"), "{path}");
        }
        paths.sort_unstable();
        paths.dedup();
        assert_eq!(paths.len(), CallbackKind::ALL.len());
    }

    #[test]
    fn attribute_names_are_distinct_and_find_their_kind() {
        for kind in CallbackKind::ALL {
            assert_eq!(CallbackKind::from_attribute_name(kind.attribute_name()), Some(kind));
        }
    }

    #[test]
    fn only_validation_is_answered_with_a_verdict() {
        let verdict_kinds: Vec<_> =
            CallbackKind::ALL.into_iter().filter(|kind| kind.acknowledgement().is_none()).collect();
        assert_eq!(verdict_kinds, [CallbackKind::C2bValidation]);
        assert_eq!(CallbackKind::StkCallback.acknowledgement(), Some(StkAck::BODY));
        assert_eq!(CallbackKind::C2bConfirmation.acknowledgement(), Some(ConfirmationAck::BODY));
        assert_eq!(CallbackKind::QueueTimeout.acknowledgement(), Some(ResultAck::BODY));
    }
}

//! Procedural macros of [pesakit](https://docs.rs/pesakit); use them through
//! `pesakit::daraja` and `pesakit::routes!`.
//!
//! Each entry point is a thin shim over an `expand` function working on
//! `proc_macro2` tokens, so expansions are unit-testable.

// The kind table comes first: the modules below expand it.
#[macro_use]
mod kind_table;

mod args;
mod callbacks;
mod handler;
mod kind;
#[allow(unreachable_pub, dead_code)]
mod path_rules;
mod routes;
#[cfg(test)]
mod snapshot_tests;

use proc_macro::TokenStream;

use kind::Kind;

/// One attribute per row of the kind table, and the table of kinds.
macro_rules! handler_attributes {
    ($($marker:ident {
        attribute: $attribute:ident,
        default_path: $default_path:literal,
        payload: $payload:ty,
        payload_name: $payload_name:literal,
        answer: $answer:ident,
        summary: $summary:literal,
    })*) => {
        /// Every kind, in the table's order.
        const KINDS: &[Kind] = &[$(
            Kind::from_row(stringify!($attribute), stringify!($marker), $default_path, $payload_name, stringify!($answer))
        ),*];
        $(
            #[doc = $summary]
            #[doc = ""]
            #[doc = concat!(
                "The handler takes `", $payload_name, "` first. Without a path, it serves `", $default_path,
                "`. See the `pesakit::daraja` docs."
            )]
            #[proc_macro_attribute]
            pub fn $attribute(attr: TokenStream, item: TokenStream) -> TokenStream {
                let kind = Kind::from_row(
                    stringify!($attribute), stringify!($marker), $default_path, $payload_name, stringify!($answer),
                );
                handler::expand(kind, attr.into(), item.into()).into()
            }
        )*
    };
}

with_callback_kinds!(handler_attributes);

/// Gathers the handlers of an inline module into a generated
/// `routes()` function, refusing two handlers on one path.
#[proc_macro_attribute]
pub fn callbacks(attr: TokenStream, item: TokenStream) -> TokenStream {
    callbacks::expand(attr.into(), item.into()).into()
}

/// The implementation of `pesakit::routes!`, which passes `$crate` first.
#[doc(hidden)]
#[proc_macro]
pub fn routes_impl(input: TokenStream) -> TokenStream {
    routes::expand(input.into()).into()
}

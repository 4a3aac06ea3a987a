//! Procedural macros of [pesakit](https://docs.rs/pesakit); use them through
//! `pesakit::daraja` and `pesakit::routes!`.
//!
//! Each entry point is a thin shim over an `expand` function working on
//! `proc_macro2` tokens, so expansions are unit-testable.

mod args;
mod callbacks;
mod handler;
mod kind;
#[allow(unreachable_pub)]
mod path_rules;
mod routes;
#[cfg(test)]
mod snapshot_tests;

use proc_macro::TokenStream;

use kind::Kind;

macro_rules! handler_attributes {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {$(
        $(#[$doc])*
        #[proc_macro_attribute]
        pub fn $name(attr: TokenStream, item: TokenStream) -> TokenStream {
            handler::expand(Kind::named(stringify!($name)), attr.into(), item.into()).into()
        }
    )*};
}

handler_attributes! {
    /// Serves STK push results (`StkCallback`) at the given path, default
    /// `/callbacks/stk`. See the `pesakit::daraja` docs.
    stk_callback,
    /// Serves C2B validation requests (`C2bPayment`), answering the
    /// handler's `Validation`; default path `/callbacks/c2b/validation`.
    c2b_validation,
    /// Serves C2B confirmations (`C2bPayment`); default path
    /// `/callbacks/c2b/confirmation`.
    c2b_confirmation,
    /// Serves B2C results (`DarajaResult<B2cParams>`); default path
    /// `/callbacks/b2c/result`.
    b2c_result,
    /// Serves account balance results (`DarajaResult<AccountBalanceParams>`);
    /// default path `/callbacks/account-balance/result`.
    account_balance_result,
    /// Serves transaction status results
    /// (`DarajaResult<TransactionStatusParams>`); default path
    /// `/callbacks/transaction-status/result`.
    transaction_status_result,
    /// Serves reversal results (`DarajaResult<ReversalParams>`); default path
    /// `/callbacks/reversal/result`.
    reversal_result,
    /// Serves B2B results (`DarajaResult<B2bParams>`); default path
    /// `/callbacks/b2b/result`.
    b2b_result,
    /// Serves queue timeouts (`QueueTimeout`); default path
    /// `/callbacks/queue-timeout`.
    queue_timeout,
}

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

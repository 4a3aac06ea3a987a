//! # pesakit
//!
//! Receive Safaricom M-Pesa **Daraja** callbacks — STK push results, C2B
//! validation and confirmation, B2C, account balance, transaction status,
//! reversal and B2B results, and queue timeouts — by annotating plain
//! functions. The attributes generate the payload parsing, the answer Daraja
//! expects and a route table.
//!
//! ```
//! use pesakit::{daraja, C2bPayment, RejectCode, State, StkCallback, StkOutcome, Validation};
//!
//! #[derive(Clone, Default)]
//! struct Shop;
//!
//! #[daraja::stk_callback("/payments/stk")]
//! async fn paid(callback: StkCallback, State(_shop): State<Shop>) -> Result<(), std::io::Error> {
//!     if let StkOutcome::Paid(payment) = callback.outcome() {
//!         println!("{} paid {} KES", callback.checkout_request_id, payment.amount);
//!     }
//!     Ok(())
//! }
//!
//! #[daraja::c2b_validation] // default path: /callbacks/c2b/validation
//! fn validate(payment: C2bPayment) -> Validation {
//!     if payment.bill_ref_number.starts_with("invoice-") {
//!         Validation::Accept
//!     } else {
//!         Validation::Reject(RejectCode::InvalidAccountNumber)
//!     }
//! }
//!
//! let routes = pesakit::routes![paid, validate].with_state(Shop);
//! assert_eq!(routes.len(), 2);
//!
//! // Handlers stay ordinary functions.
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let response = pesakit::testing::post(&routes, "/callbacks/c2b/validation", r#"{"TransID":"RKTQDM7W6S",
//!     "TransTime":"20191122063845","TransAmount":"10","BillRefNumber":"invoice-7","MSISDN":"254708374149"}"#).await;
//! assert_eq!(response.text(), r#"{"ResultCode":"0","ResultDesc":"Accepted"}"#);
//! # });
//! ```
//!
//! Money is never a float ([`Amount`], [`Balance`]); times are real calendar
//! instants in East Africa Time ([`DarajaTime`]); unknown result codes are
//! kept ([`ResultCode`]); a body that parses is complete, and one that does
//! not is refused with a [`PayloadError`] naming the field.
//!
//! - [`daraja`]: the attributes, their paths, handler arguments and returns.
//! - [`routes!`] and [`Routes`]: the table, its settings and
//!   [`Routes::dispatch`], the HTTP contract every host shares.
//! - Serving: `serve` and `Server`, the bundled hyper runtime (feature
//!   `runtime`, on by default; HTTPS with feature `tls`), or [`adapter`]:
//!   plug the table into axum, actix-web, hyper or any framework.
//! - [`Inbox`] and [`Routes::with_inbox`]: every callback stored durably
//!   before it is acknowledged, handled once, retried until done (feature
//!   `sqlite` for the embedded store, `postgres` for a store several
//!   instances share).
//! - [`testing`]: post callbacks to a table in your tests.
//!
//! ## Features
//!
//! | feature | default | what it adds |
//! | --- | --- | --- |
//! | `runtime` | yes | `pesakit::serve` and `Server`: hyper 1 HTTP/1.1 on tokio with limits and graceful shutdown |
//! | `sqlite` | yes | `Inbox::sqlite`: the durable inbox's embedded store (SQLite, bundled) |
//! | `postgres` | no | `Inbox::postgres` and `PostgresStore`: one inbox shared by several instances (tokio-postgres, deadpool) |
//! | `postgres-tls` | no | `PostgresStoreBuilder::tls`: TLS to that database with rustls (ring provider) |
//! | `tls` | no | `Server::tls` and `TlsConfig`: rustls (ring provider), certificates from PEM |
//! | `axum-08` | no | [`MountRoutes`] for `axum::Router` (axum 0.8) |
//! | `actix-web-4` | no | [`MountRoutes`] for `actix_web::App` and `Scope` (actix-web 4) |

// docs.rs (`--cfg docsrs`) marks each item with the features it needs.
#![cfg_attr(docsrs, feature(doc_cfg))]

pub use pesakit_core::*;

/// The attributes that turn functions into Daraja callback handlers.
///
/// | attribute | payload (first argument) | default path |
/// | --- | --- | --- |
/// | `#[daraja::stk_callback]` | [`StkCallback`] | `/callbacks/stk` |
/// | `#[daraja::c2b_validation]` | [`C2bPayment`] | `/callbacks/c2b/validation` |
/// | `#[daraja::c2b_confirmation]` | [`C2bPayment`] | `/callbacks/c2b/confirmation` |
/// | `#[daraja::b2c_result]` | [`DarajaResult<B2cParams>`] | `/callbacks/b2c/result` |
/// | `#[daraja::account_balance_result]` | [`DarajaResult<AccountBalanceParams>`] | `/callbacks/account-balance/result` |
/// | `#[daraja::transaction_status_result]` | [`DarajaResult<TransactionStatusParams>`] | `/callbacks/transaction-status/result` |
/// | `#[daraja::reversal_result]` | [`DarajaResult<ReversalParams>`] | `/callbacks/reversal/result` |
/// | `#[daraja::b2b_result]` | [`DarajaResult<B2bParams>`] | `/callbacks/b2b/result` |
/// | `#[daraja::queue_timeout]` | [`QueueTimeout`] | `/callbacks/queue-timeout` |
///
/// - **Path**: `#[daraja::stk_callback("/payments/stk")]`. It is checked at
///   compile time: an absolute path without scheme, host, query, fragment,
///   spaces, empty or dot segments, and without a word Safaricom rejects in
///   callback URLs (mpesa, m-pesa, safaricom, sql, query, cmd, exe, exec).
/// - **Handlers** are sync or `async` free functions; sync ones run on
///   Tokio's blocking pool, at most 64 at once. After the payload they
///   take any of [`State<T>`], [`http::HeaderMap`], [`PeerAddr`],
///   [`ClientAddr`] (the client behind trusted proxies), [`RawBody`] and,
///   run from an [`Inbox`], [`Delivery`]; `Option`s of the last three where
///   they may be missing. Notification handlers return `()` or `Result<(), E>`;
///   validation handlers return [`Validation`], `bool` or
///   `Result<Validation, E>`, where `E` is an error type, `String` or
///   `&str`. An `Err` or a panic is answered 500 and logged with its chain
///   of causes.
/// - Each function stays callable by its name. A hidden companion carries
///   the route for [`routes!`]; a handler no table lists warns as unused.
/// - `crate = "…"` names pesakit when the dependency is renamed:
///   `#[daraja::stk_callback("/stk", crate = "::my_pesakit")]`.
/// - `#[daraja::callbacks] mod name { … }` generates `name::routes()` for the
///   handlers of an inline module, refusing two on one path.
///
/// ```
/// #[pesakit::daraja::callbacks]
/// mod payments {
///     use pesakit::{daraja, DarajaResult, B2cParams, StkCallback};
///
///     #[daraja::stk_callback("/payments/stk")]
///     pub fn stk(_callback: StkCallback) {}
///
///     #[daraja::b2c_result]
///     pub async fn payout(_result: DarajaResult<B2cParams>) {}
/// }
///
/// let paths: Vec<_> = payments::routes().iter().map(|route| route.path()).collect();
/// assert_eq!(paths, ["/payments/stk", "/callbacks/b2c/result"]);
/// ```
pub mod daraja {
    // Every attribute the macro crate exports: one per kind, and `callbacks`.
    pub use pesakit_macros::*;
}

/// Builds a [`Routes`] table from `#[daraja::…]` handlers, by name or path.
///
/// Two handlers serving one path are a compile error. Merging tables with
/// [`Routes::merge`] checks the same at run time.
///
/// ```
/// use pesakit::{daraja, QueueTimeout};
///
/// mod results {
///     #[pesakit::daraja::reversal_result("/results/reversal")]
///     pub fn reversed(_result: pesakit::DarajaResult<pesakit::ReversalParams>) {}
/// }
///
/// #[daraja::queue_timeout]
/// fn timed_out(_timeout: QueueTimeout) {}
///
/// let routes = pesakit::routes![results::reversed, timed_out];
/// assert_eq!(routes.len(), 2);
/// ```
#[macro_export]
macro_rules! routes {
    ($($handlers:tt)*) => {
        $crate::__private::routes_impl!($crate; $($handlers)*)
    };
}

/// What generated code names; not a public API.
#[doc(hidden)]
pub mod __private {
    pub use core::result::Result::{Err, Ok};
    pub use core::{panic, unreachable};

    pub use pesakit_core::kind::{self, Kind};
    pub use pesakit_core::macro_support::*;
    pub use pesakit_core::{
        CallbackRequest, FromCallbackRequest, HandlerFuture, IntoAck, IntoVerdict, Reply, Route, Routes,
    };
    pub use pesakit_macros::routes_impl;
}

/// The README's Rust snippets, compiled (and, but for the servers, run) as
/// doctests, so that what the README shows cannot rot. They use the
/// bundled server and both inbox stores: the test command's
/// `--all-features` turns them on.
#[cfg(all(doctest, feature = "runtime", feature = "sqlite", feature = "postgres"))]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

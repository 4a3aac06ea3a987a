//! The runtime of [pesakit](https://docs.rs/pesakit): typed Safaricom M-Pesa
//! Daraja callback payloads, the responses Daraja expects, and the route
//! table that connects them.
//!
//! Most applications depend on `pesakit`, which re-exports this crate and
//! adds the attribute macros.
//!
//! - Payloads: one type per callback kind, parsed strictly by
//!   [`Payload::from_slice`], with exact [`Amount`]s, East Africa Time
//!   [`DarajaTime`]s, [`Msisdn`]s that keep what Daraja sent, and
//!   [`ResultCode`]s that never turn unknown into success.
//! - [`response`]: the exact bodies to answer with.
//! - [`Routes`]: the route table and [`Routes::dispatch`], the pipeline and
//!   HTTP contract every host shares; handler arguments in [`State`],
//!   [`PeerAddr`], [`RawBody`].
//! - [`guard`]: where source checks plug in; [`inbox`]: the durable store
//!   of callbacks, with retries, deduplication, conflicting deliveries and
//!   reconciliation, on SQLite, PostgreSQL, in memory or any
//!   [`InboxStore`](inbox::InboxStore); [`record`]: the ids and answers of
//!   its record stage.
//! - [`kind`]: the nine callback kinds, as values and as marker types.
//! - [`testing`]: post callbacks to a table in-process.
//!
//! | callback | payload type | answer |
//! | --- | --- | --- |
//! | STK push result | [`StkCallback`] | [`StkAck`] |
//! | C2B validation | [`C2bPayment`] | [`Validation`] |
//! | C2B confirmation | [`C2bPayment`] | [`ConfirmationAck`] |
//! | B2C result | [`DarajaResult<B2cParams>`](DarajaResult) | [`ResultAck`] |
//! | account balance result | [`DarajaResult<AccountBalanceParams>`](DarajaResult) | [`ResultAck`] |
//! | transaction status result | [`DarajaResult<TransactionStatusParams>`](DarajaResult) | [`ResultAck`] |
//! | reversal result | [`DarajaResult<ReversalParams>`](DarajaResult) | [`ResultAck`] |
//! | B2B result | [`DarajaResult<B2bParams>`](DarajaResult) | [`ResultAck`] |
//! | queue timeout | [`QueueTimeout`] | [`ResultAck`] |

// docs.rs (`--cfg docsrs`) marks each item with the features it needs.
#![cfg_attr(docsrs, feature(doc_cfg))]

// The kind table comes first: `kind` expands it.
#[macro_use]
mod kind_table;

pub mod adapter;
mod extract;
pub mod guard;
mod handler;
pub mod inbox;
pub mod kind;
#[doc(hidden)]
pub mod macro_support;
pub mod path_rules;
mod payload;
pub mod record;
pub mod response;
mod route;
#[cfg(feature = "runtime")]
mod server;
pub mod testing;
mod untrusted;

/// The `http` crate, whose `HeaderMap`, `Request` and `Response` pesakit uses.
pub use http;

/// The `bytes` crate, whose `Bytes` carries request and response bodies.
pub use bytes;

pub use adapter::MountRoutes;
pub use extract::{
    CallbackRequest, ClientAddr, Delivery, ExtractError, FromCallbackRequest, PeerAddr, RawBody, RequiredState, State,
};
pub use handler::{HandlerError, IntoAck, IntoVerdict};
#[doc(hidden)]
pub use handler::{HandlerFuture, Reply};
pub use inbox::Inbox;
pub use kind::CallbackKind;
pub use payload::*;
pub use response::{
    ConfirmationAck, CustomRejectCode, DarajaResponse, RejectCode, ResponseValueError, ResultAck, StkAck,
    ThirdPartyTransId, Validation,
};
pub use route::{DEFAULT_BODY_LIMIT, DEFAULT_VALIDATION_DEADLINE, ResponseBody, Route, RouteError, Routes};
#[cfg(feature = "tls")]
pub use server::TlsConfig;
#[cfg(feature = "runtime")]
pub use server::{Server, serve};
pub use untrusted::Untrusted;

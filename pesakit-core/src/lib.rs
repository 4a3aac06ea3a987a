//! The runtime of [pesakit](https://docs.rs/pesakit): typed Safaricom M-Pesa
//! Daraja callback payloads and the responses Daraja expects.
//!
//! Most applications depend on `pesakit`, which re-exports this crate.
//!
//! - [`payload`](crate::Payload): one type per callback kind, parsed strictly
//!   by [`Payload::from_slice`], with exact [`Amount`]s, East Africa Time
//!   [`DarajaTime`]s, [`Msisdn`]s that keep what Daraja sent, and
//!   [`ResultCode`]s that never turn unknown into success.
//! - [`response`]: the exact bodies to answer with.
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

mod payload;
pub mod response;

pub use payload::*;
pub use response::{
    ConfirmationAck, CustomRejectCode, DarajaResponse, RejectCode, ResponseValueError, ResultAck, StkAck,
    ThirdPartyTransId, Validation,
};

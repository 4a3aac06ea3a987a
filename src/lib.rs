//! # pesakit
//!
//! Receive Safaricom M-Pesa **Daraja** callbacks — STK push results, C2B
//! validation and confirmation, B2C, account balance, transaction status,
//! reversal and B2B results, and queue timeouts — as exact, strictly parsed
//! Rust types, and answer each with the body Daraja expects.
//!
//! ```
//! use pesakit::{Payload, StkCallback, StkOutcome};
//!
//! let body = br#"{"Body":{"stkCallback":{"MerchantRequestID":"29115-34620561-1",
//!     "CheckoutRequestID":"ws_CO_191220191020363925","ResultCode":0,
//!     "ResultDesc":"The service request is processed successfully.",
//!     "CallbackMetadata":{"Item":[{"Name":"Amount","Value":1.00},
//!     {"Name":"MpesaReceiptNumber","Value":"NLJ7RT61SV"},
//!     {"Name":"TransactionDate","Value":20191219102115},
//!     {"Name":"PhoneNumber","Value":254708374149}]}}}}"#;
//!
//! match StkCallback::from_slice(body)?.outcome() {
//!     StkOutcome::Paid(payment) => println!("paid {} KES, receipt {}", payment.amount, payment.receipt),
//!     StkOutcome::Cancelled => println!("the customer cancelled"),
//!     other => println!("not paid: {other:?}"),
//! }
//! # Ok::<(), pesakit::PayloadError>(())
//! ```
//!
//! Money is never a float ([`Amount`], [`Balance`]); times are real calendar
//! instants in East Africa Time ([`DarajaTime`]); unknown result codes are
//! kept ([`ResultCode`]); a body that parses is complete, and one that does
//! not is refused with a [`PayloadError`] naming the field.

pub use pesakit_core::*;

//! What handlers return, how their failures are reported, and the erased
//! form the route table runs.

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::response::Validation;

/// What a handler's future yields once its return value is interpreted.
#[doc(hidden)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// A notification was handled: answer the kind's acknowledgement.
    Ack,
    /// A validation verdict.
    Verdict(Validation),
}

/// The boxed future of one handler call.
#[doc(hidden)]
pub type HandlerFuture = Pin<Box<dyn Future<Output = Result<Reply, HandlerError>> + Send>>;

/// Why a handler call failed: it returned `Err`, panicked, or an argument
/// could not be extracted. Answered with HTTP 500 and logged with the
/// callback's correlation id.
///
/// ```
/// use pesakit_core::HandlerError;
///
/// let error = HandlerError::new("database unavailable");
/// assert_eq!(error.to_string(), "database unavailable");
/// assert!(!error.is_panic());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandlerError {
    message: String,
    panicked: bool,
}

impl HandlerError {
    /// An error with `message`.
    pub fn new(message: impl Into<String>) -> Self {
        Self { message: message.into(), panicked: false }
    }

    pub(crate) fn from_panic(payload: &(dyn Any + Send)) -> Self {
        let detail = payload
            .downcast_ref::<&str>()
            .map(|text| (*text).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a non-string panic payload".to_owned());
        Self { message: format!("the handler panicked: {detail}"), panicked: true }
    }

    /// Whether the handler panicked rather than returning an error.
    pub fn is_panic(&self) -> bool {
        self.panicked
    }
}

impl fmt::Display for HandlerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for HandlerError {}

/// A return type of a notification handler (every kind but C2B
/// validation): `()` or `Result<(), E>` where `E: Display`.
///
/// ```
/// use pesakit_core::IntoAck;
///
/// assert!(().into_ack().is_ok());
/// assert!(Err::<(), _>("card declined").into_ack().is_err());
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be returned by a Daraja notification handler",
    label = "return `()` or `Result<(), E>` where `E: Display`",
    note = "Daraja is answered with the kind's acknowledgement on `Ok` and HTTP 500 on `Err`"
)]
pub trait IntoAck {
    /// `Ok(())` when the callback was handled.
    fn into_ack(self) -> Result<(), HandlerError>;
}

impl IntoAck for () {
    fn into_ack(self) -> Result<(), HandlerError> {
        Ok(())
    }
}

impl<E: fmt::Display> IntoAck for Result<(), E> {
    fn into_ack(self) -> Result<(), HandlerError> {
        self.map_err(|error| HandlerError::new(error.to_string()))
    }
}

/// A return type of a C2B validation handler: [`Validation`], `bool`
/// (`false` rejects with `C2B00016`) or `Result<Validation, E>` where
/// `E: Display`.
///
/// ```
/// use pesakit_core::{IntoVerdict, Validation};
///
/// assert_eq!(true.into_verdict(), Ok(Validation::Accept));
/// assert!(Err::<Validation, _>("ledger offline").into_verdict().is_err());
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be returned by a C2B validation handler",
    label = "return `Validation`, `bool` or `Result<Validation, E>` where `E: Display`"
)]
pub trait IntoVerdict {
    /// The verdict to send.
    fn into_verdict(self) -> Result<Validation, HandlerError>;
}

impl IntoVerdict for Validation {
    fn into_verdict(self) -> Result<Validation, HandlerError> {
        Ok(self)
    }
}

impl IntoVerdict for bool {
    fn into_verdict(self) -> Result<Validation, HandlerError> {
        Ok(Validation::from(self))
    }
}

impl<E: fmt::Display> IntoVerdict for Result<Validation, E> {
    fn into_verdict(self) -> Result<Validation, HandlerError> {
        self.map_err(|error| HandlerError::new(error.to_string()))
    }
}

/// Runs a handler future, turning a panic into a [`HandlerError`].
pub(crate) struct CatchUnwind(pub(crate) HandlerFuture);

impl Future for CatchUnwind {
    type Output = Result<Reply, HandlerError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let future = &mut self.get_mut().0;
        match catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(cx))) {
            Ok(poll) => poll,
            Err(payload) => Poll::Ready(Err(HandlerError::from_panic(payload.as_ref()))),
        }
    }
}

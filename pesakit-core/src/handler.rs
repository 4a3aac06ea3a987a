//! What handlers return, how their failures are reported, and the erased
//! form the route table runs.

use std::any::Any;
use std::error::Error;
use std::fmt;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::Arc;
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
/// callback's correlation id and the error's whole chain of causes.
///
/// `Display` shows the outermost message; the alternate form (`{:#}`) adds
/// every cause, as `outer: cause: root cause`.
///
/// ```
/// use pesakit::{HandlerError, IntoAck};
///
/// let error = HandlerError::new("database unavailable");
/// assert_eq!(error.to_string(), "database unavailable");
/// assert!(!error.is_panic());
///
/// let refused = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "connection refused");
/// let wrapped = std::io::Error::other(Wrapped("could not save the payment", refused));
/// let error = Err::<(), _>(wrapped).into_ack().unwrap_err();
/// assert_eq!(format!("{error:#}"), "could not save the payment: connection refused");
/// # #[derive(Debug)] struct Wrapped(&'static str, std::io::Error);
/// # impl std::fmt::Display for Wrapped {
/// #     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str(self.0) }
/// # }
/// # impl std::error::Error for Wrapped {
/// #     fn source(&self) -> Option<&(dyn std::error::Error + 'static)> { Some(&self.1) }
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct HandlerError {
    message: String,
    cause: Option<Arc<dyn Error + Send + Sync>>,
    panicked: bool,
}

impl HandlerError {
    /// An error with `message`.
    pub fn new(message: impl Into<String>) -> Self {
        Self { message: message.into(), cause: None, panicked: false }
    }

    /// An error that keeps `error` and its chain of causes.
    pub fn from_error(error: impl Into<Box<dyn Error + Send + Sync>>) -> Self {
        let error: Box<dyn Error + Send + Sync> = error.into();
        Self { message: error.to_string(), cause: Some(Arc::from(error)), panicked: false }
    }

    pub(crate) fn from_panic(payload: &(dyn Any + Send)) -> Self {
        let detail = payload
            .downcast_ref::<&str>()
            .map(|text| (*text).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a non-string panic payload".to_owned());
        Self { message: format!("the handler panicked: {detail}"), cause: None, panicked: true }
    }

    /// Whether the handler panicked rather than returning an error.
    pub fn is_panic(&self) -> bool {
        self.panicked
    }
}

impl fmt::Display for HandlerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if f.alternate() {
            let mut cause = self.source();
            while let Some(error) = cause {
                write!(f, ": {error}")?;
                cause = error.source();
            }
        }
        Ok(())
    }
}

impl Error for HandlerError {
    /// The cause of the handler's error: the handler's error itself is
    /// this one's message.
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        self.cause.as_deref().and_then(|error| error.source())
    }
}

/// Errors are equal when they read the same and both panicked or not.
impl PartialEq for HandlerError {
    fn eq(&self, other: &Self) -> bool {
        self.panicked == other.panicked && format!("{self:#}") == format!("{other:#}")
    }
}

impl Eq for HandlerError {}

/// A return type of a notification handler (every kind but C2B
/// validation): `()` or `Result<(), E>` where `E` converts into
/// `Box<dyn Error + Send + Sync>` (any error type, `String`, `&str`,
/// `anyhow::Error`), whose chain of causes is logged.
///
/// ```
/// use pesakit::IntoAck;
///
/// assert!(().into_ack().is_ok());
/// assert!(Err::<(), _>("card declined").into_ack().is_err());
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be returned by a Daraja notification handler",
    label = "return `()` or `Result<(), E>` where `E` is an error type, `String` or `&str`",
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

impl<E: Into<Box<dyn Error + Send + Sync>>> IntoAck for Result<(), E> {
    fn into_ack(self) -> Result<(), HandlerError> {
        self.map_err(HandlerError::from_error)
    }
}

/// A return type of a C2B validation handler: [`Validation`], `bool`
/// (`false` rejects with `C2B00016`) or `Result<Validation, E>` with `E` as
/// for [`IntoAck`].
///
/// ```
/// use pesakit::{IntoVerdict, Validation};
///
/// assert_eq!(true.into_verdict(), Ok(Validation::Accept));
/// assert!(Err::<Validation, _>("ledger offline").into_verdict().is_err());
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be returned by a C2B validation handler",
    label = "return `Validation`, `bool` or `Result<Validation, E>` where `E` is an error type, `String` or `&str`"
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

impl<E: Into<Box<dyn Error + Send + Sync>>> IntoVerdict for Result<Validation, E> {
    fn into_verdict(self) -> Result<Validation, HandlerError> {
        self.map_err(HandlerError::from_error)
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

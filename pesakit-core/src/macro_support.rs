//! Items the attribute macros' generated code calls, through the facade's
//! `__private` module. Not a public API.

use std::future::Future;

use crate::extract::RequiredState;
use crate::handler::{HandlerError, HandlerFuture, Reply};
use crate::route::Route;

/// What the companion item of a `#[daraja::…]` handler implements.
pub trait Handler {
    /// The path the handler serves, checked at compile time.
    const PATH: &'static str;
    /// The handler function's name.
    const NAME: &'static str;
    /// The route serving the handler.
    fn route(self) -> Route;
}

/// Converts a parsed payload into the handler's first argument, which must
/// be the same type.
#[diagnostic::on_unimplemented(
    message = "this handler's first argument must be the payload `{Self}`",
    label = "expected `{Self}` here: the payload of this callback kind",
    note = "take extractors such as `State<T>` after the payload"
)]
pub trait IsPayload<T> {
    /// The payload itself.
    fn into_argument(self) -> T;
}

impl<T> IsPayload<T> for T {
    fn into_argument(self) -> T {
        self
    }
}

/// Hands `payload` to the handler as its first argument.
pub fn expect_payload<P: IsPayload<T>, T>(payload: P) -> T {
    payload.into_argument()
}

/// The states a handler's arguments need, from each argument's
/// [`FromCallbackRequest::required_state`](crate::FromCallbackRequest::required_state).
pub fn required_states<const N: usize>(arguments: [Option<RequiredState>; N]) -> Vec<RequiredState> {
    arguments.into_iter().flatten().collect()
}

/// Boxes a handler call; generated with the handler's span, so a future
/// that is not `Send` is reported at the handler.
pub fn boxed_handler_future<F>(future: F) -> HandlerFuture
where
    F: Future<Output = Result<Reply, HandlerError>> + Send + 'static,
{
    Box::pin(future)
}

/// How many synchronous handlers run at once; more wait for a turn without
/// holding an async thread.
pub const MAX_BLOCKING_HANDLERS: usize = 64;

/// Runs a synchronous handler on Tokio's blocking pool, so that it cannot
/// stall the async threads (and a validation's deadline can fire while it
/// blocks); at most [`MAX_BLOCKING_HANDLERS`] run at once.
pub async fn run_blocking<T, F>(call: F) -> Result<T, HandlerError>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    static TURNS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(MAX_BLOCKING_HANDLERS);
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return Ok(call());
    };
    // The semaphore is never closed.
    let turn = TURNS.acquire().await.map_err(|error| HandlerError::new(error.to_string()))?;
    // With the caller's subscriber, in the request's span, so that the
    // handler's log lines go where the request's go and carry its fields.
    let (dispatch, span) = (tracing::dispatcher::get_default(Clone::clone), tracing::Span::current());
    // The turn goes with the thread: a handler abandoned by a cancelled
    // caller (a validation past its grace) still counts until it returns.
    let outcome = runtime
        .spawn_blocking(move || {
            let _turn = turn;
            tracing::dispatcher::with_default(&dispatch, || span.in_scope(call))
        })
        .await;
    outcome.map_err(|error| match error.try_into_panic() {
        Ok(payload) => HandlerError::from_panic(payload.as_ref()),
        Err(error) => HandlerError::new(format!("the handler task failed: {error}")),
    })
}

/// Compares two paths in a constant, for `routes![…]`'s duplicate check.
pub const fn str_eq(left: &str, right: &str) -> bool {
    let (left, right) = (left.as_bytes(), right.as_bytes());
    if left.len() != right.len() {
        return false;
    }
    let mut index = 0;
    while index < left.len() {
        if left[index] != right[index] {
            return false;
        }
        index += 1;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn str_eq_compares_every_byte() {
        assert!(str_eq("/a/b", "/a/b"));
        assert!(!str_eq("/a/b", "/a/c"));
        assert!(!str_eq("/a", "/a/"));
        assert!(str_eq("", ""));
    }

    #[tokio::test]
    async fn blocking_handlers_report_their_panics() {
        let outcome = run_blocking(|| -> u8 { panic!("boom") }).await;
        assert!(outcome.is_err_and(|error| error.is_panic() && error.to_string().contains("boom")));
        assert_eq!(run_blocking(|| 7).await, Ok(7));
    }
}

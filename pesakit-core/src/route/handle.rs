//! The handle stage: the user's function runs, panics become errors, and a
//! C2B validation is held to its deadline.

use std::future::{Future, poll_fn};
use std::pin::{Pin, pin};
use std::task::{Context, Poll};
use std::time::Duration;

use tracing::instrument::WithSubscriber;
use tracing::{Instrument, Span};

use crate::handler::{CatchUnwind, HandlerError, HandlerFuture, Reply};
use crate::kind::CallbackKind;
use crate::record::Settlement;
use crate::response::Validation;

/// The handle stage of one request: its handler runs to a [`Settlement`].
///
/// A small future of its own rather than an `async fn`, so that a request's
/// future holds two words for it while the handler runs.
pub(super) struct Handling<'a>(Call<'a>);

enum Call<'a> {
    Notification(CatchUnwind),
    /// Under the validation deadline; boxed, as its timer and task handle
    /// would otherwise enlarge every request's future.
    Validation(Pin<Box<dyn Future<Output = Settlement> + Send + 'a>>),
}

impl<'a> Handling<'a> {
    /// Starts handling `call`, a handler of `kind`; a validation gets
    /// `deadline`, then `fallback`.
    pub(super) fn start(kind: CallbackKind, call: HandlerFuture, deadline: Duration, fallback: &'a Validation) -> Self {
        match kind.acknowledgement() {
            Some(_) => Self(Call::Notification(CatchUnwind(call))),
            None => Self(Call::Validation(Box::pin(handle_validation(call, deadline, fallback)))),
        }
    }
}

impl Future for Handling<'_> {
    type Output = Settlement;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Settlement> {
        match &mut self.get_mut().0 {
            Call::Notification(call) => Pin::new(call).poll(cx).map(settlement),
            Call::Validation(call) => call.as_mut().poll(cx),
        }
    }
}

fn settlement(outcome: Result<Reply, HandlerError>) -> Settlement {
    match outcome {
        Ok(Reply::Ack) => Settlement::Handled,
        Ok(Reply::Verdict(verdict)) => Settlement::Answered(verdict),
        Err(error) => Settlement::Failed(error),
    }
}

/// Handle a validation under its deadline. The handler runs as its own
/// task, in the request's span, so that past the deadline it can finish and
/// have its late verdict logged while the fallback is sent.
async fn handle_validation(call: HandlerFuture, deadline: Duration, fallback: &Validation) -> Settlement {
    let Some(sleep) = deadline_timer(deadline) else {
        tracing::error!("no Tokio runtime with timers: C2B validation runs without its deadline");
        return settlement(CatchUnwind(call).await);
    };
    let mut task = tokio::spawn(CatchUnwind(call).instrument(Span::current()).with_current_subscriber());
    let mut sleep = pin!(sleep);
    let joined = poll_fn(|cx| match Pin::new(&mut task).poll(cx) {
        Poll::Ready(joined) => Poll::Ready(Some(joined)),
        Poll::Pending => sleep.as_mut().poll(cx).map(|()| None),
    })
    .await;
    match joined {
        Some(Ok(outcome)) => settlement(outcome),
        Some(Err(error)) => Settlement::Failed(HandlerError::from_error(error)),
        None => {
            tracing::warn!(
                ?deadline,
                ?fallback,
                "validation handler missed its deadline; sending the fallback verdict"
            );
            tokio::spawn(log_late_verdict(task).instrument(Span::current()).with_current_subscriber());
            Settlement::FellBack(fallback.clone())
        }
    }
}

/// `future`'s output if it finishes within `deadline`, `None` if the
/// deadline passes first. Without a Tokio timer it runs to completion.
pub(super) async fn before_deadline<F: Future>(future: F, deadline: Duration) -> Option<F::Output> {
    let Some(sleep) = deadline_timer(deadline) else {
        return Some(future.await);
    };
    let (mut future, mut sleep) = (pin!(future), pin!(sleep));
    poll_fn(|cx| match future.as_mut().poll(cx) {
        Poll::Ready(output) => Poll::Ready(Some(output)),
        Poll::Pending => sleep.as_mut().poll(cx).map(|()| None),
    })
    .await
}

/// A timer for `deadline`, or `None` outside a Tokio runtime with timers
/// (where Tokio would panic).
fn deadline_timer(deadline: Duration) -> Option<tokio::time::Sleep> {
    tokio::runtime::Handle::try_current().ok()?;
    std::panic::catch_unwind(|| tokio::time::sleep(deadline)).ok()
}

async fn log_late_verdict(task: tokio::task::JoinHandle<Result<Reply, HandlerError>>) {
    match task.await {
        Ok(Ok(Reply::Verdict(verdict))) => tracing::warn!(?verdict, "late validation verdict was not sent"),
        Ok(Ok(Reply::Ack)) => {}
        Ok(Err(error)) => {
            tracing::error!(error = %format_args!("{error:#}"), "validation handler failed after its deadline");
        }
        Err(error) => tracing::error!(%error, "validation handler task failed after its deadline"),
    }
}

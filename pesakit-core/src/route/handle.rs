//! The handle stage: the user's function runs, panics become errors, and a
//! C2B validation is held to its deadline.

use std::future::{Future, poll_fn};
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use tracing::instrument::WithSubscriber;
use tracing::{Instrument, Span};

use crate::handler::{CatchUnwind, HandlerError, HandlerFuture, Reply};
use crate::kind::CallbackKind;
use crate::response::Validation;

/// How a handled callback ended.
#[derive(Debug)]
pub(super) enum Settlement {
    /// A notification's handler returned `Ok`.
    Handled,
    /// A validation handler gave this verdict, which was sent.
    Answered(Validation),
    /// A validation handler missed its deadline and this fallback verdict
    /// was sent instead: the payment needs reconciling.
    FellBack(Validation),
    /// The handler returned an error or panicked; Daraja was answered 500.
    Failed(HandlerError),
}

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
    /// `deadline`, then `fallback`, and may run on as one of the `late`.
    pub(super) fn start(
        kind: CallbackKind,
        call: HandlerFuture,
        deadline: Duration,
        fallback: &'a Validation,
        late: &'a LateValidations,
    ) -> Self {
        match kind.acknowledgement() {
            Some(_) => Self(Call::Notification(CatchUnwind(call))),
            None => Self(Call::Validation(Box::pin(handle_validation(call, deadline, fallback, late)))),
        }
    }
}

/// Validation handlers still running past their deadline: how long each
/// may run on, how many may at once, and how many do.
///
/// Past its deadline a validation's verdict can no longer be sent, but the
/// handler may be midway through work worth finishing (a reservation, a
/// write). It gets a grace period, then it is cancelled: an async handler
/// is dropped at its next `.await`; a sync one cannot be stopped, so it is
/// abandoned to finish on its thread, which stays counted against the
/// bound on sync handlers running at once. Past the bound on late
/// handlers, a handler that misses its deadline is cancelled at once.
#[derive(Debug, Clone)]
pub(super) struct LateValidations {
    pub(super) grace: Duration,
    pub(super) max_alive: usize,
    /// Shared by every clone of the table.
    alive: Arc<AtomicUsize>,
}

/// One late validation handler, counted while it lives.
struct LateHandler(Arc<AtomicUsize>);

impl LateValidations {
    pub(super) fn new(grace: Duration, max_alive: usize) -> Self {
        Self { grace, max_alive, alive: Arc::default() }
    }

    /// How many validation handlers are running past their deadline.
    pub(super) fn alive(&self) -> usize {
        self.alive.load(Ordering::Acquire)
    }

    /// Counts one more late handler, unless the bound is reached.
    fn admit(&self) -> Option<LateHandler> {
        self.alive
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |alive| (alive < self.max_alive).then_some(alive + 1))
            .ok()
            .map(|_| LateHandler(Arc::clone(&self.alive)))
    }
}

impl Drop for LateHandler {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
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
/// task, in the request's span, so that past the deadline it can finish
/// within its grace and have its late verdict logged while the fallback is
/// sent.
async fn handle_validation(
    call: HandlerFuture,
    deadline: Duration,
    fallback: &Validation,
    late: &LateValidations,
) -> Settlement {
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
            match late.admit() {
                Some(counted) => {
                    tracing::warn!(
                        ?deadline,
                        ?fallback,
                        grace = ?late.grace,
                        late_handlers = late.alive(),
                        "validation handler missed its deadline; sending the fallback verdict"
                    );
                    let finishing = finish_late(task, late.grace, counted);
                    tokio::spawn(finishing.instrument(Span::current()).with_current_subscriber());
                }
                None => {
                    task.abort();
                    tracing::warn!(
                        ?deadline,
                        ?fallback,
                        max_late_handlers = late.max_alive,
                        "validation handler missed its deadline and was cancelled at once, as the most late \
                         handlers allowed are running; sending the fallback verdict"
                    );
                }
            }
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

/// Lets a late validation handler finish within `grace` and logs what it
/// did, or cancels it; `_counted` keeps it counted until then.
async fn finish_late(
    mut task: tokio::task::JoinHandle<Result<Reply, HandlerError>>,
    grace: Duration,
    _counted: LateHandler,
) {
    let Ok(joined) = tokio::time::timeout(grace, &mut task).await else {
        task.abort();
        tracing::warn!(?grace, "validation handler still running after its grace period; cancelled");
        return;
    };
    match joined {
        Ok(Ok(Reply::Verdict(verdict))) => tracing::warn!(?verdict, "late validation verdict was not sent"),
        Ok(Ok(Reply::Ack)) => {}
        Ok(Err(error)) => {
            tracing::error!(error = %format_args!("{error:#}"), "validation handler failed after its deadline");
        }
        Err(error) => tracing::error!(%error, "validation handler task failed after its deadline"),
    }
}

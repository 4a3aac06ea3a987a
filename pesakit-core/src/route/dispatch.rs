//! The pipeline every request walks, and the HTTP contract with Daraja.
//!
//! **receive** (path, method, size) → **parse** (bytes to a typed payload)
//! → **record** (the seam for a durable inbox that stores the raw body and
//! suppresses duplicates before the handler runs) → **handle** (the user's
//! function, with the validation deadline) → **answer** (the kind's body).
//! Source guards (IP allowlists, path secrets) belong between receive and
//! parse.

use std::borrow::Cow;
use std::future::{Future, poll_fn};
use std::pin::{Pin, pin};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::header::{ALLOW, CONTENT_TYPE};
use http::request::Parts;
use http::{HeaderValue, Method, Request, Response, StatusCode};
use tracing::{Instrument, Span};

use super::{Route, Routes};
use crate::extract::{CallbackRequest, PeerAddr};
use crate::handler::{CatchUnwind, HandlerError, HandlerFuture, Reply};
use crate::kind::CallbackKind;
use crate::payload::PayloadError;
use crate::response::{ConfirmationAck, DarajaResponse, ResultAck, StkAck, Validation};

impl Routes {
    /// Serves one request under the HTTP contract:
    ///
    /// | request | answer |
    /// | --- | --- |
    /// | POST to a known path, valid payload, handler `Ok` | 200 with the kind's body |
    /// | unknown path | 404 |
    /// | known path, method not POST | 405 with `Allow: POST` |
    /// | body over the limit | 413 |
    /// | invalid body on a notification route | 400 with a JSON error naming the field path |
    /// | invalid body on C2B validation | 200 rejecting with `C2B00016` (configurable) |
    /// | handler returned `Err` or panicked | 500, logged with the correlation id |
    /// | C2B validation handler past its deadline | 200 with the fallback verdict, in time |
    ///
    /// Every body is JSON. Each handled request runs in one `tracing` span,
    /// `daraja_callback`, with the kind, the path and the correlation id.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use pesakit_core::Routes;
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let request = http::Request::post("/nowhere").body(Bytes::new()).unwrap();
    /// let response = Routes::new().dispatch(request).await;
    /// assert_eq!(response.status(), 404);
    /// # });
    /// ```
    pub fn dispatch(&self, request: Request<Bytes>) -> impl Future<Output = Response<Bytes>> + Send + '_ {
        // Taken apart before the future is built, so that it holds the
        // request once.
        let (parts, body) = request.into_parts();
        async move {
            let route = match self.receive(&parts, body.len()) {
                Ok(route) => route,
                Err(refusal) => return refusal.into_response(&parts, body.len()),
            };
            let handling = match self.start(route, &parts, &body, None) {
                Started::Handling(handling) => handling,
                Started::Answered(response) => return response,
            };
            handling.await
        }
    }

    /// Parse and record for a route already found, then start its handler;
    /// a body that does not parse is answered at once.
    ///
    /// Stages that need no waiting are plain calls, so a request's future
    /// holds little more than the handler's while the handler runs.
    pub(super) fn start(&self, route: &Route, parts: &Parts, body: &Bytes, peer: Option<PeerAddr>) -> Started<'_> {
        let span = tracing::info_span!(
            "daraja_callback",
            kind = route.kind.attribute_name(),
            path = route.path,
            correlation_id = tracing::field::Empty,
        );
        let request = CallbackRequest { parts, body, states: &self.states, peer };
        let handler_call = match within(&span, || route.endpoint.prepare(&request, &span)) {
            Ok(handler_call) => handler_call,
            Err(error) => return Started::Answered(within(&span, || self.refuse(route.kind, &error))),
        };
        within(&span, || self.record(body));
        let call = match route.kind {
            // Boxed: its timer and task handle would otherwise enlarge every
            // request's future, which hosts move around.
            CallbackKind::C2bValidation => HandlerCall::Validation(Box::pin(self.handle_validation(handler_call))),
            _ => HandlerCall::Notification(CatchUnwind(handler_call)),
        };
        // Without a subscriber the span is disabled; `Span::none()` is the
        // one that costs nothing to enter on every poll.
        let span = if span.is_disabled() { Span::none() } else { span };
        Started::Handling(Handling { kind: route.kind, span, call })
    }

    /// Receive: find the route and check the method and size.
    pub(super) fn receive(&self, parts: &Parts, body_length: usize) -> Result<&Route, Refusal> {
        let path = parts.uri.path();
        let route = self.find(path).ok_or(Refusal::NotFound)?;
        if parts.method != Method::POST {
            return Err(Refusal::MethodNotAllowed);
        }
        if body_length > self.settings.body_limit {
            return Err(Refusal::TooLarge { limit: self.settings.body_limit });
        }
        Ok(route)
    }

    /// Parse failed: a notification gets 400 naming the field; validation
    /// gets a reject code, which is what Daraja can act on.
    fn refuse(&self, kind: CallbackKind, error: &PayloadError) -> Response<Bytes> {
        tracing::warn!(%error, "refused a callback body");
        if kind == CallbackKind::C2bValidation {
            let verdict = Validation::Reject(self.settings.invalid_validation_reply.clone());
            return json_response(StatusCode::OK, response_bytes(verdict.to_json()));
        }
        let body = serde_json::json!({
            "error": "invalid_payload",
            "layer": error.kind().as_str(),
            "path": error.path(),
            "message": error.to_string(),
        });
        json_response(StatusCode::BAD_REQUEST, Bytes::from(body.to_string()))
    }

    /// Record: where a durable inbox will store the raw body under the
    /// span's correlation id and stop duplicates before the handler runs.
    fn record(&self, body: &Bytes) {
        tracing::debug!(bytes = body.len(), "callback accepted for handling");
    }

    /// Handle a validation under its deadline. The handler runs as its own
    /// task so that, past the deadline, it can finish and have its late
    /// verdict logged while the fallback is sent.
    async fn handle_validation(&self, future: HandlerFuture) -> Result<Reply, HandlerError> {
        let deadline = self.settings.validation_deadline;
        let Some(sleep) = deadline_timer(deadline) else {
            tracing::error!("no Tokio runtime with timers: C2B validation runs without its deadline");
            return CatchUnwind(future).await;
        };
        let mut task = tokio::spawn(CatchUnwind(future));
        let mut sleep = pin!(sleep);
        let joined = poll_fn(|cx| match Pin::new(&mut task).poll(cx) {
            Poll::Ready(joined) => Poll::Ready(Some(joined)),
            Poll::Pending => sleep.as_mut().poll(cx).map(|()| None),
        })
        .await;
        match joined {
            Some(joined) => {
                joined.unwrap_or_else(|error| Err(HandlerError::new(format!("the handler task failed: {error}"))))
            }
            None => {
                let fallback = self.settings.validation_fallback.clone();
                tracing::warn!(
                    ?deadline,
                    ?fallback,
                    "validation handler missed its deadline; sending the fallback verdict"
                );
                tokio::spawn(log_late_verdict(task).instrument(Span::current()));
                Ok(Reply::Verdict(fallback))
            }
        }
    }
}

/// Why the receive stage turned a request away.
pub(super) enum Refusal {
    NotFound,
    MethodNotAllowed,
    TooLarge { limit: usize },
    BodyUnreadable { reason: String },
}

impl Refusal {
    pub(super) fn into_response(self, parts: &Parts, bytes: usize) -> Response<Bytes> {
        let path = parts.uri.path();
        match self {
            Self::NotFound => {
                tracing::debug!(path, "no callback route for this path");
                error_response(StatusCode::NOT_FOUND, "not_found", &format!("no callback route at `{path}`"))
            }
            Self::MethodNotAllowed => {
                tracing::debug!(path, method = %parts.method, "callback route called without POST");
                let message = format!("`{path}` accepts only POST");
                let mut response = error_response(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", &message);
                response.headers_mut().insert(ALLOW, HeaderValue::from_static("POST"));
                response
            }
            Self::TooLarge { limit } => {
                tracing::warn!(path, bytes, limit, "callback body over the limit");
                let message = format!("the body is over the {limit} byte limit");
                error_response(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", &message)
            }
            Self::BodyUnreadable { reason } => {
                tracing::warn!(path, %reason, "the request body could not be read");
                error_response(
                    StatusCode::BAD_REQUEST,
                    "body_unreadable",
                    &format!("the body could not be read: {reason}"),
                )
            }
        }
    }
}

/// What [`Routes::start`] leaves to do.
pub(super) enum Started<'a> {
    /// The handler runs: await it for the answer.
    Handling(Handling<'a>),
    /// Answered without the handler: the body did not parse.
    Answered(Response<Bytes>),
}

/// The handle stage of one request: its handler runs inside the request's
/// span, and its outcome becomes the kind's answer.
pub(super) struct Handling<'a> {
    kind: CallbackKind,
    span: Span,
    call: HandlerCall<'a>,
}

enum HandlerCall<'a> {
    Notification(CatchUnwind),
    /// Under the validation deadline.
    Validation(Pin<Box<dyn Future<Output = Result<Reply, HandlerError>> + Send + 'a>>),
}

impl Future for Handling<'_> {
    type Output = Response<Bytes>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Response<Bytes>> {
        let this = self.get_mut();
        let _entered = this.span.enter();
        let outcome = match &mut this.call {
            HandlerCall::Notification(call) => Pin::new(call).poll(cx),
            HandlerCall::Validation(call) => call.as_mut().poll(cx),
        };
        outcome.map(|outcome| answer(this.kind, outcome))
    }
}

/// Runs `work` inside `span`. Without a subscriber the span is disabled:
/// entering it would only cost time, on every request.
fn within<R>(span: &Span, work: impl FnOnce() -> R) -> R {
    if span.is_disabled() { work() } else { span.in_scope(work) }
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
        Ok(Err(error)) => tracing::error!(%error, "validation handler failed after its deadline"),
        Err(error) => tracing::error!(%error, "validation handler task failed after its deadline"),
    }
}

/// Answer: the kind's body on success, 500 on failure.
fn answer(kind: CallbackKind, outcome: Result<Reply, HandlerError>) -> Response<Bytes> {
    match outcome {
        Ok(Reply::Verdict(verdict)) => {
            tracing::debug!(?verdict, "validation answered");
            json_response(StatusCode::OK, response_bytes(verdict.to_json()))
        }
        Ok(Reply::Ack) => {
            tracing::debug!("callback handled");
            let ack = match kind {
                CallbackKind::StkCallback => StkAck.to_json(),
                CallbackKind::C2bConfirmation => ConfirmationAck.to_json(),
                _ => ResultAck.to_json(),
            };
            json_response(StatusCode::OK, response_bytes(ack))
        }
        Err(error) => {
            tracing::error!(%error, panicked = error.is_panic(), "callback handler failed");
            error_response(StatusCode::INTERNAL_SERVER_ERROR, "handler_failed", "the callback handler failed")
        }
    }
}

fn response_bytes(body: Cow<'static, [u8]>) -> Bytes {
    match body {
        Cow::Borrowed(fixed) => Bytes::from_static(fixed),
        Cow::Owned(built) => Bytes::from(built),
    }
}

fn error_response(status: StatusCode, code: &str, message: &str) -> Response<Bytes> {
    let body = serde_json::json!({ "error": code, "message": message });
    json_response(status, Bytes::from(body.to_string()))
}

fn json_response(status: StatusCode, body: Bytes) -> Response<Bytes> {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

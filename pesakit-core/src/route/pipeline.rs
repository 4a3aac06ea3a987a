//! The pipeline every request walks, in one driver for buffered and
//! streaming bodies alike:
//!
//! **receive** (find the route by path) → **guard** (the table's guards
//! see the method, headers and peer; nothing of the body is read) →
//! **admit** (POST only, declared size under the limit) → **read** (the
//! body, never buffered past the limit) → **parse** (bytes to the typed
//! payload and its Daraja ids) → **record** (the table's inbox stores it,
//! or finds it stored before) → **handle** (the user's function) →
//! **answer** (the kind's body) → **settle** (the outcome back to the
//! inbox).
//!
//! Stages that never wait are plain calls; without guards or an inbox
//! theirs cost a branch.

use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::{Arc, Weak};
use std::task::{Context, Poll};
use std::time::{Instant, SystemTime};

use bytes::Bytes;
use http::request::Parts;
use http::{Method, Request, Response};
use http_body::Body;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use tracing::instrument::Instrumented;
use tracing::instrument::WithSubscriber;
use tracing::{Instrument, Span};

use super::endpoint::ParsedCallback;
use super::handle::{self, Handling, Settlement};
use super::refusal::Refusal;
use super::{Route, Routes, Table, answer};
use crate::extract::{CallbackRequest, Delivery, PeerAddr, StateMap};
use crate::guard::{GuardRequest, GuardVerdict};
use crate::inbox::worker::Handlers;
use crate::inbox::{Arrived, Inbox, NewCallback, Outcome, QuarantinedCallback, StoredVerdict};
use crate::kind::CallbackKind;
use crate::payload::PayloadError;
use crate::record::{RecordId, Recorded};
use crate::untrusted::Untrusted;

/// The error type a streaming request body may have.
type BodyError = Box<dyn std::error::Error + Send + Sync>;

impl Routes {
    /// Serves one request whose body is already in memory, under the HTTP
    /// contract every host shares:
    ///
    /// | request | answer |
    /// | --- | --- |
    /// | POST to a known path, valid payload, handler `Ok` | 200 with the kind's body |
    /// | unknown path | 404 |
    /// | refused by a [guard](crate::guard) | 403, or 404 as for an unknown path |
    /// | known path, method not POST | 405 with `Allow: POST` |
    /// | body over the limit | 413 |
    /// | invalid body on a notification route | 400 with a JSON error naming the field path |
    /// | invalid body on C2B validation | 200 rejecting with `C2B00016` (configurable) |
    /// | recorded before (with an [inbox](crate::inbox)) | the same success; the handler does not run again |
    /// | the inbox cannot store it | 500 |
    /// | handler returned `Err` or panicked | 500, logged with the correlation id |
    /// | C2B validation handler past its deadline | 200 with the fallback verdict, in time |
    ///
    /// No answer is ever 503. Every body is JSON. Each parsed request runs
    /// in one `tracing` span, `daraja_callback`, with the kind, the path and
    /// the correlation id. A [`PeerAddr`] in the request's extensions is the
    /// peer guards and handlers see.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use pesakit::Routes;
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
        let peer = parts.extensions.get::<PeerAddr>().copied();
        self.drive(parts, Buffered(body), peer)
    }

    /// [`dispatch`](Self::dispatch) for a request whose body is still
    /// streaming, as hosts receive it: a declared `Content-Length` over the
    /// limit is refused unread, guards run before any body byte is read, and
    /// the body is never buffered past the limit.
    ///
    /// ```
    /// use http_body_util::Full;
    /// use pesakit::Routes;
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let request = http::Request::post("/callbacks/stk").body(Full::new(bytes::Bytes::new())).unwrap();
    /// assert_eq!(Routes::new().dispatch_streaming(request).await.status(), 404);
    /// # });
    /// ```
    pub fn dispatch_streaming<B>(&self, request: Request<B>) -> impl Future<Output = Response<Bytes>>
    where
        B: Body,
        B::Error: Into<BodyError>,
    {
        let (parts, body) = request.into_parts();
        let peer = parts.extensions.get::<PeerAddr>().copied();
        self.drive(parts, Streaming(body), peer)
    }

    /// [`dispatch_streaming`](Self::dispatch_streaming) with the peer the
    /// bundled runtime knows, passed directly to spare an extensions map.
    #[cfg(feature = "runtime")]
    pub(crate) fn dispatch_from<B>(&self, request: Request<B>, peer: PeerAddr) -> impl Future<Output = Response<Bytes>>
    where
        B: Body,
        B::Error: Into<BodyError>,
    {
        let (parts, body) = request.into_parts();
        self.drive(parts, Streaming(body), Some(peer))
    }

    /// The one stage sequence.
    ///
    /// Stages that never wait are plain calls, and this is a function
    /// returning an `async` block rather than an `async fn` (which would
    /// keep its arguments apart from its locals): hosts move a request's
    /// future around, so it holds the request's parts once and, while the
    /// handler runs, little more than the handler's own future.
    #[allow(clippy::manual_async_fn, reason = "an `async fn` would hold the request's parts twice")]
    fn drive<B: RequestBody>(
        &self,
        parts: Parts,
        body: B,
        peer: Option<PeerAddr>,
    ) -> impl Future<Output = Response<Bytes>> {
        async move {
            let table = &*self.table;
            let route = match table.receive(&parts) {
                Some(route) => route,
                None => return Refusal::NotFound.into_response(&parts, &table.redact(parts.uri.path())),
            };
            let declared = body.declared_len();
            if let Err(refusal) = table.guard(route, &parts, peer).and_then(|()| table.admit(&parts, declared)) {
                return refusal.into_response(&parts, &table.redact(parts.uri.path()));
            }
            // Read only by the record stage.
            let received_at = match &table.inbox {
                Some(inbox) => {
                    inbox.start_background(Arc::downgrade(&self.table) as Weak<dyn Handlers>);
                    SystemTime::now()
                }
                None => SystemTime::UNIX_EPOCH,
            };
            let raw = match body.read(table.settings.body_limit).await {
                Ok(raw) => raw,
                Err(refusal) => return refusal.into_response(&parts, &table.redact(parts.uri.path())),
            };
            let client = table.client_of(peer, &parts.headers);
            let rest = match table.start(Received { route, parts: &parts, raw, peer, client, received_at }) {
                Ok(rest) => rest,
                Err(unparsed) => return unparsed,
            };
            rest.await
        }
    }
}

/// What is left to do once the body parsed.
enum Rest<'a> {
    /// Without an inbox: handle, then answer.
    Handling(HandleAndAnswer<'a>),
    /// With an inbox: record, handle, settle, answer (or quarantine);
    /// boxed, so that tables without an inbox do not pay for what it
    /// holds across its waits.
    Recording(Instrumented<RecordingStages<'a>>),
}

type RecordingStages<'a> = Pin<Box<dyn Future<Output = Response<Bytes>> + Send + 'a>>;

impl Future for Rest<'_> {
    type Output = Response<Bytes>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Response<Bytes>> {
        match self.get_mut() {
            Self::Handling(handling) => Pin::new(handling).poll(cx),
            Self::Recording(stages) => Pin::new(stages).poll(cx),
        }
    }
}

impl Table {
    /// Receive: the route serving the request's path.
    fn receive(&self, parts: &Parts) -> Option<&Route> {
        self.route_for(parts.uri.path())
    }

    /// Guard: every guard of the table lets the request through.
    fn guard(&self, route: &Route, parts: &Parts, peer: Option<PeerAddr>) -> Result<(), Refusal> {
        if self.guards.is_empty() {
            return Ok(());
        }
        let request = GuardRequest {
            kind: route.kind,
            route_path: route.path,
            method: &parts.method,
            headers: &parts.headers,
            peer,
        };
        for guard in &self.guards {
            match guard.check(&request) {
                GuardVerdict::Allow => {}
                GuardVerdict::Forbid(reason) => return Err(Refusal::Forbidden { reason: reason.into_owned() }),
                GuardVerdict::Conceal(reason) => return Err(Refusal::Concealed { reason: reason.into_owned() }),
            }
        }
        Ok(())
    }

    /// The client behind `peer`: the first guard that resolves one (behind
    /// trusted proxies), else the peer's address.
    fn client_of(&self, peer: Option<PeerAddr>, headers: &http::HeaderMap) -> Option<IpAddr> {
        let peer = peer?.0.ip();
        Some(self.guards.iter().find_map(|guard| guard.resolve_client(peer, headers)).unwrap_or(peer))
    }

    /// Admit: POST only, with a declared size under the limit.
    fn admit(&self, parts: &Parts, declared: usize) -> Result<(), Refusal> {
        if parts.method != Method::POST {
            return Err(Refusal::MethodNotAllowed);
        }
        let limit = self.settings.body_limit;
        if declared > limit {
            return Err(Refusal::TooLarge { limit, declared: Some(declared) });
        }
        Ok(())
    }

    /// Parse the body, in the request's span, then start what follows; a
    /// body that does not parse is answered at once, unless it must be
    /// quarantined first.
    #[allow(clippy::result_large_err, reason = "the answer is sent at once, never held")]
    fn start<'a>(&'a self, received: Received<'a>) -> Result<Rest<'a>, Response<Bytes>> {
        let route = received.route;
        let mut span = tracing::info_span!(
            "daraja_callback",
            kind = route.kind.attribute_name(),
            path = route.path,
            correlation_id = tracing::field::Empty,
        );
        let parsed = match within(&span, || route.endpoint.parse(&received.raw)) {
            Ok(parsed) => parsed,
            Err(error) => {
                let reply = &self.settings.invalid_validation_reply;
                let refusal = within(&span, || answer::unparsed(route.kind, &error, reply));
                return match (&self.inbox, route.kind.acknowledgement()) {
                    (Some(inbox), Some(_)) => {
                        let stages = quarantine(inbox, received, error, refusal);
                        Ok(Rest::Recording(boxed(stages).instrument(span)))
                    }
                    _ => Err(refusal),
                };
            }
        };
        if span.is_disabled() {
            // Without a subscriber, `Span::none()` is the span that costs
            // nothing to enter on every poll.
            span = Span::none();
        } else {
            let correlation_id = parsed.correlation_id().to_string();
            span.record("correlation_id", tracing::field::display(Untrusted(&correlation_id)));
        }
        let settings = &self.settings;
        match &self.inbox {
            None => {
                let request = received.request(&self.states, None);
                let call = within(&span, || parsed.bind(&request));
                let handling = settings.handling(route.kind, call, settings.validation_deadline);
                Ok(Rest::Handling(HandleAndAnswer { kind: route.kind, span, handling }))
            }
            Some(inbox) => {
                let stages = self.record_and_handle(inbox, received, parsed, span.clone());
                Ok(Rest::Recording(boxed(stages).instrument(span)))
            }
        }
    }

    /// Record, handle, settle and answer a callback that parsed.
    ///
    /// With an inbox, a notification is answered once it is stored; its
    /// handler runs from the inbox. A C2B validation is held to its deadline
    /// from the moment recording starts, so a slow store cannot make it late.
    async fn record_and_handle(
        &self,
        inbox: &Inbox,
        received: Received<'_>,
        parsed: Box<dyn ParsedCallback + '_>,
        span: Span,
    ) -> Response<Bytes> {
        let route = received.route;
        let settings = &self.settings;
        let deadline = Instant::now() + settings.validation_deadline;
        let ids = parsed.daraja_ids();
        let callback = NewCallback::new(
            received.arrived(),
            ids.dedupe_key().to_owned(),
            ids.secondary().map(|id| (id.name().to_owned(), id.value().to_owned())).collect(),
            parsed.outcome_unknown().map(str::to_owned),
            inbox.lease_until(SystemTime::now()),
        );
        let recording = inbox.store.record(callback);
        let recorded = match route.kind.acknowledgement() {
            Some(_) => recording.await,
            None => {
                let remaining = deadline.saturating_duration_since(Instant::now());
                match handle::before_deadline(recording, remaining).await {
                    Some(recorded) => recorded,
                    None => {
                        tracing::error!("the store did not record the validation before its deadline");
                        return answer::verdict(&settings.validation_fallback);
                    }
                }
            }
        };
        let recorded = match recorded {
            Ok(recorded) => recorded,
            Err(error) => return answer::unrecorded(&error),
        };
        let (record_id, number) = match admit_recorded(route.kind, recorded) {
            Admission::Handle { id, number } => (id, number),
            Admission::Answered(response) => return response,
        };
        if let Some(ack) = route.kind.acknowledgement() {
            let delivery = Delivery { id: record_id, attempt: 1, first_received: received.received_at, number };
            let call = parsed.bind(&received.request(&self.states, Some(delivery)));
            match tokio::runtime::Handle::try_current() {
                Ok(runtime) => inbox.spawn_attempt(&runtime, record_id, 1, call, span),
                // No runtime to run it on later: run it now, then answer.
                Err(_) => inbox.run_attempt(record_id, 1, call).instrument(span).await,
            }
            return answer::acknowledgement(ack);
        }
        let call = parsed.bind(&received.request(&self.states, None));
        let remaining = deadline.saturating_duration_since(Instant::now());
        let settlement = settings.handling(route.kind, call, remaining).await;
        let response = answer::settled(route.kind, &settlement);
        let settling = settle(Arc::clone(&inbox.store), record_id, settlement);
        match tokio::runtime::Handle::try_current() {
            // A verdict is sent at once; storing it must not delay it.
            Ok(runtime) => {
                runtime.spawn(settling.instrument(span).with_current_subscriber());
            }
            Err(_) => settling.await,
        }
        response
    }
}

/// The request as the stages after the read stage see it.
struct Received<'a> {
    route: &'a Route,
    parts: &'a Parts,
    raw: Bytes,
    peer: Option<PeerAddr>,
    client: Option<IpAddr>,
    received_at: SystemTime,
}

impl<'a> Received<'a> {
    /// What the inbox keeps of the request.
    fn arrived(&self) -> Arrived {
        let headers = &self.parts.headers;
        Arrived {
            kind: self.route.kind,
            route_path: self.route.path.to_owned(),
            body: self.raw.clone(),
            content_type: header_text(headers, &[http::header::CONTENT_TYPE.as_str()]),
            forwarded: header_text(headers, FORWARDING_HEADERS),
            peer: self.peer.map(|peer| peer.0),
            client: self.client,
            received_at: self.received_at,
        }
    }

    fn request<'r>(&'r self, states: &'r StateMap, delivery: Option<Delivery>) -> CallbackRequest<'r> {
        CallbackRequest { parts: self.parts, body: &self.raw, states, peer: self.peer, client: self.client, delivery }
    }
}

/// The headers that say who sent a request through a proxy.
const FORWARDING_HEADERS: &[&str] = &["forwarded", "x-forwarded-for"];

/// The values of `names` in `headers`, one `name: value` per line, with
/// bytes that are not visible ASCII escaped; `None` when there are none.
fn header_text(headers: &http::HeaderMap, names: &[&str]) -> Option<String> {
    let lines: Vec<String> = names
        .iter()
        .flat_map(|name| headers.get_all(*name).iter().map(move |value| (name, value)))
        .map(|(name, value)| {
            let text: String =
                value.as_bytes().iter().flat_map(|byte| std::ascii::escape_default(*byte)).map(char::from).collect();
            if names.len() == 1 { text } else { format!("{name}: {text}") }
        })
        .collect();
    (!lines.is_empty()).then(|| lines.join("\n"))
}

/// Settle: a validation's verdict back to the inbox (notifications are
/// settled by the attempts the inbox runs itself).
async fn settle(store: Arc<dyn crate::inbox::InboxStore>, record_id: RecordId, settlement: Settlement) {
    let outcome = match settlement {
        Settlement::Handled => Outcome::Done,
        Settlement::Answered(verdict) => {
            Outcome::Verdict { verdict: StoredVerdict::from_validation(&verdict), fell_back: false }
        }
        Settlement::FellBack(verdict) => {
            Outcome::Verdict { verdict: StoredVerdict::from_validation(&verdict), fell_back: true }
        }
        // Daraja was answered 500: a validation is never retried.
        Settlement::Failed(error) => Outcome::Failed { error: format!("{error:#}"), retry_at: None },
    };
    if let Err(error) = store.settle(record_id, outcome).await {
        tracing::error!(record = %record_id, error = %format_args!("{error:#}"), "the callback's outcome was not stored");
    }
}

/// Stores a body that did not parse, then sends its refusal; 500 if it
/// could not be stored, so that nothing is lost that Daraja may resend.
async fn quarantine(
    inbox: &Inbox,
    received: Received<'_>,
    error: PayloadError,
    refusal: Response<Bytes>,
) -> Response<Bytes> {
    let unparsed = QuarantinedCallback { arrived: received.arrived(), parse_error: error.to_string() };
    match inbox.store.quarantine(unparsed).await {
        Ok(_) => refusal,
        Err(failure) => answer::unrecorded(&failure),
    }
}

fn boxed<'a>(stages: impl Future<Output = Response<Bytes>> + Send + 'a) -> RecordingStages<'a> {
    Box::pin(stages)
}

/// What the record stage's answer means for the request.
fn admit_recorded(kind: CallbackKind, recorded: Recorded) -> Admission {
    match recorded {
        Recorded::New(id) => Admission::Handle { id, number: 1 },
        Recorded::Conflicting { id, number } => {
            tracing::warn!(record = %id, delivery = number, "a different body under an id already stored: handled, and marked for reconciliation");
            Admission::Handle { id, number }
        }
        Recorded::Duplicate { id, verdict } => match (kind.acknowledgement(), verdict) {
            (Some(body), _) => Admission::Answered(answer::duplicate(id, answer::acknowledgement(body))),
            (None, Some(given)) => Admission::Answered(answer::duplicate(id, answer::verdict(&given))),
            (None, None) => {
                tracing::info!(record = %id, "repeated validation with no verdict recorded; deciding again");
                Admission::Handle { id, number: 1 }
            }
        },
    }
}

/// What the record stage decided.
enum Admission {
    /// Run the handler for delivery `number`, and settle record `id`
    /// afterwards.
    Handle { id: RecordId, number: u32 },
    /// Answered without the handler.
    Answered(Response<Bytes>),
}

/// The handle and answer stages of a request without an inbox: the
/// handler runs inside the request's span, and its settlement becomes the
/// kind's answer.
struct HandleAndAnswer<'a> {
    kind: CallbackKind,
    span: Span,
    handling: Handling<'a>,
}

impl Future for HandleAndAnswer<'_> {
    type Output = Response<Bytes>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Response<Bytes>> {
        let this = self.get_mut();
        let _entered = this.span.enter();
        Pin::new(&mut this.handling).poll(cx).map(|settlement| answer::settled(this.kind, &settlement))
    }
}

/// A request body, in memory or streaming: the read stage.
trait RequestBody {
    /// The size the request declares (`Content-Length`), 0 if unknown.
    fn declared_len(&self) -> usize;

    /// Reads the whole body, refusing one over `limit` bytes.
    fn read(self, limit: usize) -> impl Future<Output = Result<Bytes, Refusal>>;
}

struct Buffered(Bytes);

impl RequestBody for Buffered {
    fn declared_len(&self) -> usize {
        self.0.len()
    }

    /// Already read; `admit` checked its size.
    async fn read(self, _limit: usize) -> Result<Bytes, Refusal> {
        Ok(self.0)
    }
}

struct Streaming<B>(B);

impl<B> RequestBody for Streaming<B>
where
    B: Body,
    B::Error: Into<BodyError>,
{
    fn declared_len(&self) -> usize {
        // Hosts derive the size hint from `Content-Length`.
        usize::try_from(self.0.size_hint().lower()).unwrap_or(usize::MAX)
    }

    async fn read(self, limit: usize) -> Result<Bytes, Refusal> {
        match Limited::new(self.0, limit).collect().await {
            Ok(collected) => Ok(collected.to_bytes()),
            Err(error) if error.downcast_ref::<LengthLimitError>().is_some() => {
                Err(Refusal::TooLarge { limit, declared: None })
            }
            Err(error) => Err(Refusal::BodyUnreadable { reason: error.to_string() }),
        }
    }
}

/// Runs `work` inside `span`. Without a subscriber the span is disabled:
/// entering it would only cost time, on every request.
fn within<R>(span: &Span, work: impl FnOnce() -> R) -> R {
    if span.is_disabled() { work() } else { span.in_scope(work) }
}

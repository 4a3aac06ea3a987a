//! A route's handler with its payload type erased: the parse stage, and
//! the binding of a parsed payload to its handler call.

use std::marker::PhantomData;

use crate::extract::{CallbackRequest, RequiredState};
use crate::handler::HandlerFuture;
use crate::payload::{CorrelationId, DarajaIds, Payload, PayloadError};

/// What the pipeline needs of a route's handler, whatever its payload type.
pub(super) trait Endpoint: Send + Sync {
    /// Parse: the body into the route's payload.
    fn parse(&self, body: &[u8]) -> Result<Box<dyn ParsedCallback + '_>, PayloadError>;

    /// The states the handler's arguments take from the table.
    fn required_states(&self) -> &[RequiredState];
}

/// A payload that parsed, waiting for the record stage to let its handler
/// run.
pub(super) trait ParsedCallback: Send + Sync {
    /// The id shown in the request's span.
    fn correlation_id(&self) -> CorrelationId<'_>;

    /// The ids the record stage stores it under.
    fn daraja_ids(&self) -> DarajaIds<'_>;

    /// Why its outcome is not final, when it is not.
    fn outcome_unknown(&self) -> Option<&'static str>;

    /// The handler call, its arguments extracted from `request`; it runs
    /// once awaited.
    fn bind(self: Box<Self>, request: &CallbackRequest<'_>) -> HandlerFuture;
}

pub(super) struct TypedEndpoint<P, F> {
    handler: F,
    required_states: Vec<RequiredState>,
    payload: PhantomData<fn() -> P>,
}

impl<P, F> TypedEndpoint<P, F> {
    pub(super) fn new(handler: F, required_states: Vec<RequiredState>) -> Self {
        Self { handler, required_states, payload: PhantomData }
    }
}

impl<P, F> Endpoint for TypedEndpoint<P, F>
where
    P: Payload,
    F: Fn(P, &CallbackRequest<'_>) -> HandlerFuture + Send + Sync,
{
    fn parse(&self, body: &[u8]) -> Result<Box<dyn ParsedCallback + '_>, PayloadError> {
        let payload = P::from_slice(body)?;
        Ok(Box::new(Parsed { payload, handler: &self.handler }))
    }

    fn required_states(&self) -> &[RequiredState] {
        &self.required_states
    }
}

struct Parsed<'e, P, F> {
    payload: P,
    handler: &'e F,
}

impl<P, F> ParsedCallback for Parsed<'_, P, F>
where
    P: Payload,
    F: Fn(P, &CallbackRequest<'_>) -> HandlerFuture + Send + Sync,
{
    fn correlation_id(&self) -> CorrelationId<'_> {
        self.payload.correlation_id()
    }

    fn daraja_ids(&self) -> DarajaIds<'_> {
        self.payload.daraja_ids()
    }

    fn outcome_unknown(&self) -> Option<&'static str> {
        self.payload.outcome_unknown()
    }

    fn bind(self: Box<Self>, request: &CallbackRequest<'_>) -> HandlerFuture {
        let Parsed { payload, handler } = *self;
        handler(payload, request)
    }
}

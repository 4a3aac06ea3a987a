//! A stored callback's handler, bound again for the inbox: the route table
//! as the inbox sees it when it retries a handler or takes up one a crash
//! interrupted.

use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::{HeaderName, HeaderValue, Method, Request};
use tracing::Span;

use super::Table;
use crate::extract::{CallbackRequest, PeerAddr};
use crate::handler::HandlerFuture;
use crate::inbox::worker::Handlers;
use crate::inbox::{Delivery, StoredCallback};
use crate::untrusted::Untrusted;

impl Handlers for Table {
    fn bind_stored(&self, callback: &StoredCallback, delivery: Delivery) -> Result<(HandlerFuture, Span), String> {
        let route =
            self.find(&callback.arrived.route_path).filter(|route| route.kind == callback.arrived.kind).ok_or_else(
                || format!("no {} route serves `{}` any more", callback.arrived.kind, callback.arrived.route_path),
            )?;
        let span = tracing::info_span!(
            "daraja_callback",
            kind = route.kind.attribute_name(),
            path = route.path,
            correlation_id = tracing::field::Empty,
            record = %delivery.id,
            attempt = delivery.attempt,
        );
        let _entered = span.enter();
        let parsed = route
            .endpoint
            .parse(&callback.arrived.body)
            .map_err(|error| format!("the body no longer parses: {error}"))?;
        let correlation_id = parsed.correlation_id().to_string();
        span.record("correlation_id", tracing::field::display(Untrusted(&correlation_id)));
        let parts = stored_parts(callback);
        let request = CallbackRequest {
            parts: &parts,
            body: &callback.arrived.body,
            states: &self.states,
            peer: callback.arrived.peer.map(PeerAddr),
            client: callback.arrived.client,
            delivery: Some(delivery),
        };
        let call = parsed.bind(&request);
        drop(_entered);
        Ok((call, span))
    }
}

/// The request as far as the inbox kept it: a POST to the route's path with
/// the content type and forwarding headers it arrived with.
fn stored_parts(callback: &StoredCallback) -> http::request::Parts {
    let mut request = Request::new(Bytes::new());
    *request.method_mut() = Method::POST;
    if let Ok(uri) = callback.arrived.route_path.parse() {
        *request.uri_mut() = uri;
    }
    let headers = request.headers_mut();
    if let Some(value) = callback.arrived.content_type.as_deref().and_then(|value| HeaderValue::from_str(value).ok()) {
        headers.insert(CONTENT_TYPE, value);
    }
    for line in callback.arrived.forwarded.iter().flat_map(|text| text.lines()) {
        let Some((name, value)) = line.split_once(": ") else { continue };
        if let (Ok(name), Ok(value)) = (HeaderName::try_from(name), HeaderValue::from_str(value)) {
            headers.append(name, value);
        }
    }
    request.into_parts().0
}

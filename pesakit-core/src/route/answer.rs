//! The answer stage: every response the pipeline sends once a route is
//! found and its body read.

use std::borrow::Cow;

use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::{HeaderValue, Response, StatusCode};

use super::handle::Settlement;
use crate::inbox::StoreError;
use crate::kind::CallbackKind;
use crate::payload::PayloadError;
use crate::record::RecordId;
use crate::response::{DarajaResponse, RejectCode, Validation};

/// The answer to a handled callback: the kind's acknowledgement or the
/// verdict, or 500 when the handler failed.
pub(super) fn settled(kind: CallbackKind, settlement: &Settlement) -> Response<Bytes> {
    match settlement {
        Settlement::Handled => {
            tracing::debug!("callback handled");
            acknowledged(kind)
        }
        Settlement::Answered(given) | Settlement::FellBack(given) => {
            tracing::debug!(verdict = ?given, "validation answered");
            verdict(given)
        }
        Settlement::Failed(error) => {
            tracing::error!(error = %format_args!("{error:#}"), panicked = error.is_panic(), "callback handler failed");
            error_response(StatusCode::INTERNAL_SERVER_ERROR, "handler_failed", "the callback handler failed")
        }
    }
}

/// The answer to a callback recorded before: the success it got then,
/// without running the handler again.
pub(super) fn duplicate(id: RecordId, success: Response<Bytes>) -> Response<Bytes> {
    tracing::info!(record = %id, "duplicate callback; answered without running the handler again");
    success
}

/// The store could not take the callback: 500, so that Daraja may retry;
/// never 503, and never a success for what was not stored.
pub(super) fn unrecorded(error: &StoreError) -> Response<Bytes> {
    tracing::error!(error = %format_args!("{error:#}"), "the callback could not be recorded; answered 500");
    error_response(StatusCode::INTERNAL_SERVER_ERROR, "not_recorded", "the callback could not be stored")
}

/// Parse failed: a notification gets 400 naming the field; validation gets
/// a reject code, which is what Daraja can act on.
pub(super) fn unparsed(
    kind: CallbackKind,
    error: &PayloadError,
    invalid_validation_reply: &RejectCode,
) -> Response<Bytes> {
    tracing::warn!(%error, "refused a callback body");
    if kind.acknowledgement().is_none() {
        return verdict(&Validation::Reject(invalid_validation_reply.clone()));
    }
    let body = serde_json::json!({
        "error": "invalid_payload",
        "layer": error.kind().as_str(),
        "path": error.path(),
        "message": error.to_string(),
    });
    json_response(StatusCode::BAD_REQUEST, Bytes::from(body.to_string()))
}

/// 200 with an acknowledgement body.
pub(super) fn acknowledgement(body: &'static [u8]) -> Response<Bytes> {
    json_response(StatusCode::OK, Bytes::from_static(body))
}

fn acknowledged(kind: CallbackKind) -> Response<Bytes> {
    match kind.acknowledgement() {
        Some(body) => acknowledgement(body),
        // Only a route built by hand can pair a validation with a handler
        // that gives no verdict; the macros cannot.
        None => {
            tracing::error!("the validation handler gave no verdict");
            error_response(StatusCode::INTERNAL_SERVER_ERROR, "handler_failed", "the callback handler failed")
        }
    }
}

/// 200 with a validation verdict.
pub(super) fn verdict(verdict: &Validation) -> Response<Bytes> {
    let body = match verdict.to_json() {
        Cow::Borrowed(fixed) => Bytes::from_static(fixed),
        Cow::Owned(built) => Bytes::from(built),
    };
    json_response(StatusCode::OK, body)
}

pub(super) fn error_response(status: StatusCode, code: &str, message: &str) -> Response<Bytes> {
    let body = serde_json::json!({ "error": code, "message": message });
    json_response(status, Bytes::from(body.to_string()))
}

fn json_response(status: StatusCode, body: Bytes) -> Response<Bytes> {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

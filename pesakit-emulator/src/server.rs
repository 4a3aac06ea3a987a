//! The HTTP server: Daraja's paths routed to the APIs, token checks per
//! family, and the emulator's own paths (`/`, `/emulator/transactions`,
//! `/emulator/next`).

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use pesakit::Untrusted;
use serde_json::{Value, json};
use tokio::net::TcpListener;

use crate::c2b;
use crate::daraja_error::{ApiFamily, DarajaError};
use crate::emulator::{Override, Shared};
use crate::results::ResultApi;
use crate::stk;

/// Largest request body read.
const MAX_BODY: usize = 64 * 1024;

pub(crate) async fn accept(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(error) => {
                // Out of file descriptors, say: wait rather than spin.
                tracing::warn!(%error, "the emulator could not accept a connection");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let shared = Arc::clone(&shared);
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| answer(Arc::clone(&shared), request));
            let _ = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
        });
    }
}

async fn answer(shared: Arc<Shared>, request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let (parts, body) = request.into_parts();
    let path = parts.uri.path().to_owned();
    tracing::info!(method = %parts.method, path = %Untrusted(&path), "Daraja request");
    let json_answer = |status: StatusCode, body: String| {
        let mut response = Response::new(Full::new(Bytes::from(body)));
        *response.status_mut() = status;
        response.headers_mut().insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/json"));
        response
    };
    let error = |error: DarajaError, request_id: &str| json_answer(error.status, error.body(request_id));
    let request_id = format!("{}-{}", crate::ids::digits(5), crate::ids::digits(8));
    if parts.method == Method::GET {
        return Ok(match path.as_str() {
            "/oauth/v1/generate" => {
                match shared.tokens.issue(
                    parts.uri.query(),
                    &parts.headers,
                    shared.config.credentials.as_ref(),
                    shared.config.token_lifetime,
                ) {
                    Ok((token, lifetime)) => json_answer(
                        StatusCode::OK,
                        // Live Daraja sends `expires_in` as a string.
                        json!({ "access_token": token, "expires_in": (lifetime.as_secs().saturating_sub(1)).to_string() })
                            .to_string(),
                    ),
                    Err(refusal) => error(refusal, &request_id),
                }
            }
            "/emulator/transactions" => json_answer(StatusCode::OK, shared.ledger.to_json().to_string()),
            "/" => {
                let mut page = Response::new(Full::new(Bytes::from_static(crate::page::PAGE.as_bytes())));
                page.headers_mut()
                    .insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("text/html; charset=utf-8"));
                page
            }
            _ => error(DarajaError::new(StatusCode::NOT_FOUND, "404.001.01", "Resource not found"), &request_id),
        });
    }
    if parts.method == Method::POST && path == "/emulator/next" {
        let collected = Limited::new(body, MAX_BODY).collect().await.map(|collected| collected.to_bytes());
        let parsed: Option<Value> = collected.ok().and_then(|bytes| serde_json::from_slice(&bytes).ok());
        let Some(control) = parsed else {
            return Ok(error(DarajaError::invalid_field("JSON body"), &request_id));
        };
        let next = Override {
            result_code: control["result_code"].as_i64(),
            plan: control["plan"].as_str().map(str::to_owned),
        };
        let answer = json!({ "next": { "result_code": next.result_code, "plan": next.plan } });
        *shared.next.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(next);
        return Ok(json_answer(StatusCode::OK, answer.to_string()));
    }
    if parts.method != Method::POST {
        return Ok(error(
            DarajaError::new(StatusCode::METHOD_NOT_ALLOWED, "405.001", "Method Not Allowed"),
            &request_id,
        ));
    }
    let result_api = ResultApi::at(&path);
    let c2b_call = match path.as_str() {
        "/mpesa/c2b/v1/registerurl" | "/mpesa/c2b/v2/registerurl" => Some(true),
        "/mpesa/c2b/v1/simulate" | "/mpesa/c2b/v2/simulate" => Some(false),
        _ => None,
    };
    let family = match (path.as_str(), result_api) {
        ("/mpesa/stkpush/v1/processrequest" | "/mpesa/stkpushquery/v1/query", _) => ApiFamily::Stk,
        _ if c2b_call.is_some() => ApiFamily::C2b,
        (_, Some(api)) => api.family(),
        _ => {
            return Ok(error(DarajaError::new(StatusCode::NOT_FOUND, "404.001.01", "Resource not found"), &request_id));
        }
    };
    if let Err(refusal) = shared.tokens.check(&parts.headers, family) {
        return Ok(error(refusal, &request_id));
    }
    let body: Value = match Limited::new(body, MAX_BODY).collect().await.map(|collected| collected.to_bytes()) {
        Ok(bytes) => match serde_json::from_slice(&bytes) {
            Ok(value) => value,
            Err(_) => return Ok(error(DarajaError::invalid_field("JSON body"), &request_id)),
        },
        Err(_) => return Ok(error(DarajaError::invalid_field("request body"), &request_id)),
    };
    if let Some(registering) = c2b_call {
        let answered = if registering { c2b::register(&shared, &body) } else { c2b::simulate(&shared, &body) };
        return Ok(match answered {
            Ok(answer) => json_answer(StatusCode::OK, answer.to_string()),
            Err(refusal) => error(refusal, &request_id),
        });
    }
    if let Some(api) = result_api {
        return Ok(match crate::results::request(&shared, api, &body) {
            Ok(answer) => json_answer(StatusCode::OK, answer.to_string()),
            Err(refusal) => error(refusal, &request_id),
        });
    }
    Ok(match path.as_str() {
        "/mpesa/stkpush/v1/processrequest" => match stk::push(&shared, &body) {
            Ok(answer) => json_answer(StatusCode::OK, answer.to_string()),
            Err(refusal) => error(refusal, &request_id),
        },
        _ => match stk::query(&shared, &body) {
            Ok(answer) => json_answer(StatusCode::OK, answer.to_string()),
            Err((refusal, checkout_request_id)) => error(refusal, &checkout_request_id),
        },
    })
}

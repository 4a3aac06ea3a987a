//! `GET /oauth/v1/generate?grant_type=client_credentials`: Basic
//! credentials in, a bearer token out, valid for its lifetime.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http::{HeaderMap, StatusCode};

use crate::daraja_error::{ApiFamily, DarajaError};
use crate::ids;

/// The tokens issued and when each expires.
#[derive(Debug, Default)]
pub(crate) struct Tokens {
    issued: Mutex<HashMap<String, Instant>>,
}

impl Tokens {
    /// A new token for the Basic credentials in `headers`, if they are
    /// `credentials` (any non-empty key and secret when `None`).
    pub(crate) fn issue(
        &self,
        query: Option<&str>,
        headers: &HeaderMap,
        credentials: Option<&(String, String)>,
        lifetime: Duration,
    ) -> Result<(String, Duration), DarajaError> {
        let grant =
            query.into_iter().flat_map(|query| query.split('&')).find_map(|pair| pair.strip_prefix("grant_type="));
        if grant != Some("client_credentials") {
            return Err(DarajaError::new(StatusCode::BAD_REQUEST, "400.008.02", "Invalid grant type passed"));
        }
        let invalid = || DarajaError::new(StatusCode::BAD_REQUEST, "400.008.01", "Invalid Authentication passed");
        let basic = headers
            .get(http::header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Basic "))
            .ok_or_else(invalid)?;
        let decoded = STANDARD.decode(basic.trim()).map_err(|_| invalid())?;
        let decoded = String::from_utf8(decoded).map_err(|_| invalid())?;
        let (key, secret) = decoded.split_once(':').ok_or_else(invalid)?;
        let accepted = match credentials {
            Some((expected_key, expected_secret)) => key == expected_key && secret == expected_secret,
            None => !key.is_empty() && !secret.is_empty(),
        };
        if !accepted {
            return Err(invalid());
        }
        let token = ids::token();
        let mut issued = self.issued.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let now = Instant::now();
        issued.retain(|_, expiry| *expiry > now);
        issued.insert(token.clone(), now + lifetime);
        Ok((token, lifetime))
    }

    /// Whether `headers` carry a bearer token issued and not expired; the
    /// error is the one `family` answers.
    pub(crate) fn check(&self, headers: &HeaderMap, family: ApiFamily) -> Result<(), DarajaError> {
        let token = headers
            .get(http::header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
            .map(str::trim);
        let issued = self.issued.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        match token.and_then(|token| issued.get(token)) {
            Some(expiry) if *expiry > Instant::now() => Ok(()),
            _ => Err(DarajaError::invalid_token(family)),
        }
    }
}

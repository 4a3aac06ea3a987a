//! Reading a request's fields as Daraja does: numbers or strings alike,
//! and callback URLs by Daraja's rules.

use pesakit::path_rules::BANNED_WORDS;
use serde_json::Value;

use crate::daraja_error::DarajaError;

/// `BusinessShortCode` and the rest, as text whether sent as a number or a
/// string.
pub(crate) fn text(body: &Value, field: &str) -> Result<String, DarajaError> {
    match &body[field] {
        Value::String(text) if !text.is_empty() => Ok(text.clone()),
        Value::Number(number) => Ok(number.to_string()),
        _ => Err(DarajaError::invalid_field(field)),
    }
}

/// A callback URL Daraja would accept: http(s), a host, no blocked word.
pub(crate) fn check_callback_url(url: &str, field: &str) -> Result<(), DarajaError> {
    let parsed: Option<http::Uri> = url.parse().ok();
    let scheme_and_host =
        parsed.as_ref().is_some_and(|uri| matches!(uri.scheme_str(), Some("http" | "https")) && uri.host().is_some());
    if !scheme_and_host || url.contains(char::is_whitespace) {
        return Err(DarajaError::invalid_field(field));
    }
    let lowered = url.to_ascii_lowercase();
    match BANNED_WORDS.iter().find(|word| lowered.contains(*word)) {
        Some(word) => Err(DarajaError::new(
            http::StatusCode::BAD_REQUEST,
            "400.003.02",
            format!("Bad Request - Invalid {field} - URL has the word {}", word.to_ascii_uppercase()),
        )),
        None => Ok(()),
    }
}

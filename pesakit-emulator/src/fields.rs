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

/// An amount in whole shillings, sent as `500`, `"500"` or `500.0` (as
/// clients that keep amounts in floats send it); a fraction is refused.
pub(crate) fn whole_shillings(body: &Value, field: &str) -> Result<i64, DarajaError> {
    let invalid = || DarajaError::invalid_field(field);
    let amount = text(body, field)?;
    match amount.split_once('.') {
        Some((whole, fraction)) if fraction.bytes().all(|digit| digit == b'0') => whole.parse().map_err(|_| invalid()),
        Some(_) => Err(invalid()),
        None => amount.parse().map_err(|_| invalid()),
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn amounts_are_whole_shillings_however_they_are_written() {
        for written in [json!(500), json!("500"), json!(500.0), json!("500.00")] {
            assert_eq!(whole_shillings(&json!({ "Amount": written }), "Amount"), Ok(500), "{written}");
        }
        for refused in [json!(500.5), json!("5e2"), json!("abc"), json!(null)] {
            assert!(whole_shillings(&json!({ "Amount": refused }), "Amount").is_err(), "{refused}");
        }
    }
}

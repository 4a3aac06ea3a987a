//! Reading a request's fields as Daraja does: numbers or strings alike,
//! and callback URLs by Daraja's rules.

use pesakit::Amount;
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

/// An amount Daraja takes: whole shillings, at least one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Shillings {
    /// In whole shillings, which choose a scenario.
    pub(crate) whole: i64,
    /// The same, exact, as callbacks carry it.
    pub(crate) exact: Amount,
}

/// An amount in whole shillings, sent as `500`, `"500"` or `500.0` (as
/// clients that keep amounts in floats send it); a fraction, zero, a
/// negative amount or one too large for cents in an `i64` is refused.
pub(crate) fn whole_shillings(body: &Value, field: &str) -> Result<Shillings, DarajaError> {
    let invalid = || DarajaError::invalid_field(field);
    let amount = text(body, field)?;
    let whole: i64 = match amount.split_once('.') {
        Some((whole, fraction)) if fraction.bytes().all(|digit| digit == b'0') => {
            whole.parse().map_err(|_| invalid())?
        }
        Some(_) => return Err(invalid()),
        None => amount.parse().map_err(|_| invalid())?,
    };
    let exact = whole.checked_mul(100).filter(|_| whole >= 1).and_then(Amount::from_minor_units).ok_or_else(invalid)?;
    Ok(Shillings { whole, exact })
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
    fn a_field_is_text_or_a_number_and_never_empty() {
        let body = json!({ "PartyA": 600_996, "PartyB": "254708374149", "Remarks": "", "Occasion": null });
        assert_eq!(text(&body, "PartyA"), Ok("600996".to_owned()));
        assert_eq!(text(&body, "PartyB"), Ok("254708374149".to_owned()));
        for missing in ["Remarks", "Occasion", "AccountReference"] {
            assert_eq!(text(&body, missing), Err(DarajaError::invalid_field(missing)), "{missing}");
        }
    }

    #[test]
    fn amounts_are_whole_shillings_however_they_are_written() {
        for written in [json!(500), json!("500"), json!(500.0), json!("500.00")] {
            let amount = whole_shillings(&json!({ "Amount": written }), "Amount").map(|amount| amount.whole);
            assert_eq!(amount, Ok(500), "{written}");
        }
        let exact = whole_shillings(&json!({ "Amount": 1 }), "Amount").map(|amount| amount.exact.minor_units());
        assert_eq!(exact, Ok(100));
        let too_large = i64::MAX / 100 + 1;
        for refused in [json!(500.5), json!("5e2"), json!("abc"), json!(null), json!(0), json!(-5), json!(too_large)] {
            assert!(whole_shillings(&json!({ "Amount": refused }), "Amount").is_err(), "{refused}");
        }
    }
}

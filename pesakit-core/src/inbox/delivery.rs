//! Telling a repeated callback from a conflicting one: what makes two bodies
//! under the same id the same callback, how a store recognises them, and
//! which fields differ when they are not the same.
//!
//! Two bodies are the same callback when they are the same JSON value:
//! whitespace and the order of an object's keys do not matter, everything
//! else does. A store compares them by [`BodyDigest`], the SHA-256 of the
//! body in one canonical form (keys sorted, no whitespace), so that no body
//! can be forged to look like another: PostgreSQL keeps each body's digest
//! in its unique index; SQLite compares only when a first delivery is
//! already stored, byte for byte first, then by digest.

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::kind::CallbackKind;

/// How a store recognises a body it holds already: the SHA-256 of the body
/// as one canonical JSON text.
///
/// A C2B validation's digest is the same whatever its body ([`Self::ANY`]),
/// because a repeated validation gets the verdict already given, never a
/// second decision.
///
/// ```
/// use pesakit::CallbackKind;
/// use pesakit::inbox::BodyDigest;
///
/// let compact = BodyDigest::of(CallbackKind::C2bConfirmation, br#"{"TransID":"RKTQDM7W6S","TransAmount":"10"}"#);
/// let spaced = BodyDigest::of(CallbackKind::C2bConfirmation, b"{ \"TransAmount\": \"10\",\n  \"TransID\": \"RKTQDM7W6S\" }");
/// let other = BodyDigest::of(CallbackKind::C2bConfirmation, br#"{"TransID":"RKTQDM7W6S","TransAmount":"500"}"#);
/// assert_eq!(compact, spaced);
/// assert_ne!(compact, other);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BodyDigest(pub [u8; 32]);

impl BodyDigest {
    /// The digest every C2B validation has: any two validations under one
    /// `TransID` are the same callback.
    pub const ANY: Self = Self([0; 32]);

    /// The digest of `body`, a callback of `kind`. A body that is not JSON
    /// (which no parsed callback is) is digested as its bytes.
    pub fn of(kind: CallbackKind, body: &[u8]) -> Self {
        fingerprint(kind, body).0
    }
}

/// The digest and the [`summary`] of `body`, from one parse.
pub(crate) fn fingerprint(kind: CallbackKind, body: &[u8]) -> (BodyDigest, Option<String>) {
    let parsed = serde_json::from_slice::<Value>(body);
    let digest = match &parsed {
        _ if kind == CallbackKind::C2bValidation => BodyDigest::ANY,
        Ok(value) => {
            let mut hashing = Hashing(Sha256::new());
            write_canonical(value, &mut hashing);
            BodyDigest(hashing.0.finalize().into())
        }
        Err(_) => BodyDigest(Sha256::digest(body).into()),
    };
    (digest, parsed.ok().as_ref().and_then(summary_of))
}

/// A hasher that JSON text is written to.
struct Hashing(Sha256);

impl std::io::Write for Hashing {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.update(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Writes `value` as compact JSON with every object's keys sorted, whatever
/// order the map keeps them in. Keys and scalars are written by serde_json,
/// escaped as JSON, so that no key can pose as structure.
fn write_canonical(value: &Value, out: &mut Hashing) {
    match value {
        Value::Array(items) => {
            out.0.update(b"[");
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.0.update(b",");
                }
                write_canonical(item, out);
            }
            out.0.update(b"]");
        }
        Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_unstable_by(|left, right| left.0.cmp(right.0));
            out.0.update(b"{");
            for (index, (key, item)) in entries.into_iter().enumerate() {
                if index > 0 {
                    out.0.update(b",");
                }
                // Writing to a hasher cannot fail.
                let _ = serde_json::to_writer(&mut *out, key);
                out.0.update(b":");
                write_canonical(item, out);
            }
            out.0.update(b"}");
        }
        scalar => {
            let _ = serde_json::to_writer(out, scalar);
        }
    }
}

/// The most characters of a value a summary or a field change keeps:
/// values come from the request and are hostile.
const VALUE_CHARS: usize = 40;

/// What a body says, in a few words, for the reason a conflicting delivery
/// needs reconciling: its `ResultCode` where it has one (the first found),
/// else its `TransAmount` (C2B), else nothing. Cut to 40 characters.
///
/// ```
/// use pesakit::inbox::summary;
///
/// assert_eq!(summary(br#"{"Body":{"stkCallback":{"ResultCode":1037}}}"#).as_deref(), Some("ResultCode 1037"));
/// assert_eq!(summary(br#"{"TransID":"RKTQDM7W6S","TransAmount":"10.00"}"#).as_deref(), Some("TransAmount \"10.00\""));
/// assert_eq!(summary(b"[]"), None);
/// ```
pub fn summary(body: &[u8]) -> Option<String> {
    summary_of(&serde_json::from_slice::<Value>(body).ok()?)
}

fn summary_of(value: &Value) -> Option<String> {
    ["ResultCode", "TransAmount"]
        .into_iter()
        .find_map(|key| find_key(value, key).map(|found| format!("{key} {}", clipped(found))))
}

/// The first value under `key`, depth first.
fn find_key<'a>(value: &'a Value, key: &str) -> Option<&'a Value> {
    match value {
        Value::Object(map) => map.get(key).or_else(|| map.values().find_map(|item| find_key(item, key))),
        Value::Array(items) => items.iter().find_map(|item| find_key(item, key)),
        _ => None,
    }
}

fn clipped(value: &Value) -> String {
    let text = value.to_string();
    match text.char_indices().nth(VALUE_CHARS) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text,
    }
}

/// Why a conflicting delivery needs reconciling, from the summaries of the
/// delivery before it and of itself: `conflicting deliveries: ResultCode
/// 1037 then ResultCode 0`, or, where both say the same, `conflicting
/// deliveries: ResultCode 0 both times, other fields differ`.
/// PostgreSQL's store writes the same words in SQL; the conformance suite
/// holds both to them.
pub(crate) fn conflict_reason(earlier: Option<&str>, later: Option<&str>) -> String {
    let (earlier_says, later_says) = (earlier.unwrap_or("a body"), later.unwrap_or("a body"));
    if earlier == later {
        format!("conflicting deliveries: {later_says} both times, other fields differ")
    } else {
        format!("conflicting deliveries: {earlier_says} then {later_says}")
    }
}

/// One field in which two deliveries of a callback differ.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldChange {
    /// Where the field is: object keys joined by `.`, list positions in
    /// brackets (`Body.stkCallback.CallbackMetadata.Item[1].Value`).
    pub path: String,
    /// The earlier delivery's value as JSON, cut to 40 characters; `None`
    /// where it had no such field.
    pub earlier: Option<String>,
    /// The later delivery's value, likewise.
    pub later: Option<String>,
}

/// The fields in which two deliveries of a callback differ, in path order;
/// empty when they are the same JSON value. Bodies that are not JSON
/// compare as a whole, under the path `body`.
///
/// ```
/// use pesakit::inbox::differing_fields;
///
/// let changes = differing_fields(
///     br#"{"Body":{"stkCallback":{"ResultCode":1037,"ResultDesc":"No response from user."}}}"#,
///     br#"{"Body":{"stkCallback":{"ResultDesc":"Success","ResultCode":0}}}"#,
/// );
/// let paths: Vec<_> = changes.iter().map(|change| change.path.as_str()).collect();
/// assert_eq!(paths, ["Body.stkCallback.ResultCode", "Body.stkCallback.ResultDesc"]);
/// assert_eq!(changes[0].earlier.as_deref(), Some("1037"));
/// assert_eq!(changes[0].later.as_deref(), Some("0"));
/// ```
pub fn differing_fields(earlier: &[u8], later: &[u8]) -> Vec<FieldChange> {
    let mut changes = Vec::new();
    match (serde_json::from_slice::<Value>(earlier), serde_json::from_slice::<Value>(later)) {
        (Ok(earlier), Ok(later)) => diff(String::new(), Some(&earlier), Some(&later), &mut changes),
        _ if earlier != later => changes.push(FieldChange {
            path: "body".to_owned(),
            earlier: Some(clipped(&Value::String(String::from_utf8_lossy(earlier).into_owned()))),
            later: Some(clipped(&Value::String(String::from_utf8_lossy(later).into_owned()))),
        }),
        _ => {}
    }
    changes
}

fn diff(path: String, earlier: Option<&Value>, later: Option<&Value>, changes: &mut Vec<FieldChange>) {
    let join = |key: &str| if path.is_empty() { key.to_owned() } else { format!("{path}.{key}") };
    match (earlier, later) {
        (Some(Value::Object(left)), Some(Value::Object(right))) => {
            let mut keys: Vec<&String> = left.keys().chain(right.keys()).collect();
            keys.sort();
            keys.dedup();
            for key in keys {
                diff(join(key), left.get(key), right.get(key), changes);
            }
        }
        (Some(Value::Array(left)), Some(Value::Array(right))) => {
            for index in 0..left.len().max(right.len()) {
                diff(format!("{path}[{index}]"), left.get(index), right.get(index), changes);
            }
        }
        (left, right) if left != right => {
            changes.push(FieldChange { path, earlier: left.map(clipped), later: right.map(clipped) });
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_order_and_whitespace_do_not_make_another_body_and_values_do() {
        let kind = CallbackKind::StkCallback;
        let base = BodyDigest::of(kind, br#"{"a":1,"b":[1,{"c":"x","d":null}]}"#);
        assert_eq!(base, BodyDigest::of(kind, b" { \"b\" : [ 1 , { \"d\" : null , \"c\" : \"x\" } ] , \"a\" : 1 }\n"));
        for other in [
            &br#"{"a":2,"b":[1,{"c":"x","d":null}]}"#[..],
            br#"{"a":1,"b":[{"c":"x","d":null},1]}"#,
            br#"{"a":1,"b":[1,{"c":"x"}]}"#,
            br#"{"a":"1","b":[1,{"c":"x","d":null}]}"#,
            br#"{"a":1.0,"b":[1,{"c":"x","d":null}]}"#,
        ] {
            assert_ne!(base, BodyDigest::of(kind, other), "{}", String::from_utf8_lossy(other));
        }
    }

    #[test]
    fn every_validation_is_the_same_callback_and_no_other_kind_digests_to_that() {
        assert_eq!(BodyDigest::of(CallbackKind::C2bValidation, b"{}"), BodyDigest::ANY);
        assert_eq!(BodyDigest::of(CallbackKind::C2bValidation, br#"{"TransAmount":"9"}"#), BodyDigest::ANY);
        assert_ne!(BodyDigest::of(CallbackKind::C2bConfirmation, b"{}"), BodyDigest::ANY);
    }

    #[test]
    fn a_body_that_is_not_json_is_digested_as_its_bytes() {
        let kind = CallbackKind::StkCallback;
        assert_eq!(BodyDigest::of(kind, b"not json"), BodyDigest::of(kind, b"not json"));
        assert_ne!(BodyDigest::of(kind, b"not json"), BodyDigest::of(kind, b"not json "));
    }

    #[test]
    fn a_key_is_written_as_a_json_string_so_no_key_can_pose_as_structure() {
        // Without escaping, {"a\":1,\"b":2} and {"a":1,"b":2} would read alike.
        let kind = CallbackKind::StkCallback;
        assert_ne!(BodyDigest::of(kind, br#"{"a\":1,\"b":2}"#), BodyDigest::of(kind, br#"{"a":1,"b":2}"#));
    }

    #[test]
    fn a_summary_is_the_result_code_else_the_amount_and_is_bounded() {
        let long = format!(r#"{{"Result":{{"ResultCode":"{}"}}}}"#, "9".repeat(500));
        let summary = summary(long.as_bytes()).expect("a result code");
        assert_eq!(summary.chars().count(), "ResultCode ".len() + VALUE_CHARS + 1);
        assert_eq!(super::summary(br#"{"ResultCode":0,"TransAmount":"5"}"#).as_deref(), Some("ResultCode 0"));
        assert_eq!(super::summary(b"not json"), None);
    }

    #[test]
    fn a_conflict_reason_names_both_summaries() {
        assert_eq!(
            conflict_reason(Some("ResultCode 1037"), Some("ResultCode 0")),
            "conflicting deliveries: ResultCode 1037 then ResultCode 0"
        );
        assert_eq!(conflict_reason(None, Some("TransAmount 5")), "conflicting deliveries: a body then TransAmount 5");
        assert_eq!(
            conflict_reason(Some("ResultCode 0"), Some("ResultCode 0")),
            "conflicting deliveries: ResultCode 0 both times, other fields differ"
        );
        assert_eq!(conflict_reason(None, None), "conflicting deliveries: a body both times, other fields differ");
    }

    #[test]
    fn differing_fields_name_added_removed_and_changed_values_and_cut_them_short() {
        let changes = differing_fields(
            br#"{"a":{"b":[1,2]},"gone":true}"#,
            format!(r#"{{"a":{{"b":[1,3,4]}},"new":"{}"}}"#, "x".repeat(100)).as_bytes(),
        );
        let paths: Vec<_> = changes.iter().map(|change| change.path.as_str()).collect();
        assert_eq!(paths, ["a.b[1]", "a.b[2]", "gone", "new"]);
        assert_eq!((changes[1].earlier.as_deref(), changes[1].later.as_deref()), (None, Some("4")));
        assert_eq!((changes[2].earlier.as_deref(), changes[2].later.as_deref()), (Some("true"), None));
        assert_eq!(changes[3].later.as_ref().map(|value| value.chars().count()), Some(VALUE_CHARS + 1));
        assert!(differing_fields(br#"{"a":1, "b":2}"#, br#"{"b":2,"a":1}"#).is_empty());
        assert_eq!(differing_fields(b"x", b"y")[0].path, "body");
    }
}

//! Strict JSON intake shared by every payload kind: one JSON value, no
//! duplicate keys, bounded depth, and objects where Daraja sends objects.
//!
//! Parsing runs in two stages. This module turns bytes into private `serde`
//! structs that borrow from the body, so syntax and shape errors come from one
//! place; each payload module then validates values into its public type.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::de::value::MapAccessDeserializer;
use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use super::error::PayloadError;

/// Deepest nesting accepted; real Daraja bodies never exceed five levels.
pub const MAX_DEPTH: usize = 32;

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Parses `body` as exactly one strict JSON object into `T`.
pub(crate) fn parse_document<'a, T: Deserialize<'a>>(body: &'a [u8]) -> Result<T, PayloadError> {
    let text = precheck(body)?;
    deserialize_all(text).map_err(|error| locate::<T>(text, error))
}

/// Like [`parse_document`], but says only whether it worked: for a fast path
/// whose failures are explained by a slower, more tolerant parse.
pub(crate) fn try_parse_document<'a, T: Deserialize<'a>>(body: &'a [u8]) -> Option<T> {
    deserialize_all(precheck(body).ok()?).ok()
}

fn deserialize_all<'a, T: Deserialize<'a>>(text: &'a str) -> Result<T, serde_json::Error> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let value = T::deserialize(&mut deserializer)?;
    deserializer.end()?;
    Ok(value)
}

/// Parses a nested value already checked by [`parse_document`], reporting
/// paths below `prefix`.
pub(crate) fn parse_nested<'a, T: Deserialize<'a>>(raw: &'a RawValue, prefix: &str) -> Result<T, PayloadError> {
    let mut deserializer = serde_json::Deserializer::from_str(raw.get());
    T::deserialize(&mut deserializer).map_err(|error| locate::<T>(raw.get(), error).within(prefix))
}

/// Runs the failed parse again with path tracking. Errors are rare, so the
/// success path never pays for recording where it is.
#[cold]
fn locate<'a, T: Deserialize<'a>>(text: &'a str, error: serde_json::Error) -> PayloadError {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let (path, error) = match serde_path_to_error::deserialize::<_, T>(&mut deserializer) {
        Err(tracked) => (tracked.path().to_string(), tracked.into_inner()),
        Ok(_) => (String::new(), error),
    };
    let path = if path == "." { String::new() } else { path };
    match error.classify() {
        serde_json::error::Category::Data => PayloadError::shape(path, error.to_string()),
        _ => PayloadError::syntax(error.to_string()),
    }
}

/// Rejects what `serde_json` would let through or report poorly: an empty
/// body, a byte-order mark, invalid UTF-8, a non-object root, nesting past
/// [`MAX_DEPTH`] and unpaired surrogate escapes.
fn precheck(body: &[u8]) -> Result<&str, PayloadError> {
    if body.starts_with(BOM) {
        return Err(PayloadError::syntax(
            "the body starts with a UTF-8 byte-order mark; Daraja never sends one and RFC 8259 forbids it",
        ));
    }
    let text = std::str::from_utf8(body)
        .map_err(|error| PayloadError::syntax(format!("the body is not valid UTF-8: {error}")))?;
    match text.trim_start_matches([' ', '\t', '\n', '\r']).as_bytes().first() {
        None => {
            return Err(PayloadError::syntax("the body is empty; expected one JSON object"));
        }
        Some(b'{') => {}
        Some(_) => return Err(root_not_object(text)),
    }
    // Vectorised passes decide whether the exact scan is needed: only a body
    // with escapes, or with enough brackets to be too deep, needs it.
    if memchr::memchr(b'\\', body).is_some() || count_openings(body) > MAX_DEPTH {
        scan_structure(body)?;
    }
    Ok(text)
}

/// Counts `{` and `[` bytes, strings included: an upper bound on depth.
fn count_openings(body: &[u8]) -> usize {
    // `[` is 0x5B and `{` is 0x7B: one comparison after setting bit 5 finds
    // both; byte-wide counters over 255-byte chunks let the loop vectorise.
    body.chunks(255)
        .map(|chunk| chunk.iter().fold(0u8, |count, &byte| count + u8::from(byte | 0x20 == b'{')))
        .map(usize::from)
        .sum()
}

#[cold]
fn root_not_object(text: &str) -> PayloadError {
    let found = match serde_json::from_str::<serde_json::Value>(text) {
        Ok(serde_json::Value::Null) => "null",
        Ok(serde_json::Value::Bool(_)) => "a boolean",
        Ok(serde_json::Value::Number(_)) => "a number",
        Ok(serde_json::Value::String(_)) => "a string",
        Ok(serde_json::Value::Array(_)) => "an array",
        Ok(serde_json::Value::Object(_)) => "an object",
        Err(error) => return PayloadError::syntax(error.to_string()),
    };
    PayloadError::shape("", format!("expected a JSON object at the body root, found {found}"))
}

/// Tracks nesting depth and checks `\u` escapes pair up as UTF-16 requires.
fn scan_structure(body: &[u8]) -> Result<(), PayloadError> {
    let mut depth = 0usize;
    let mut index = 0;
    let mut in_string = false;
    while index < body.len() {
        match (in_string, body[index]) {
            (false, b'{' | b'[') => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Err(PayloadError::syntax(format!(
                        "nesting deeper than {MAX_DEPTH} levels at byte {index}; Daraja bodies never exceed 5"
                    )));
                }
            }
            (false, b'}' | b']') => depth = depth.saturating_sub(1),
            (false, b'"') | (true, b'"') => in_string = !in_string,
            (true, b'\\') => {
                if body.get(index + 1) == Some(&b'u') {
                    index = check_unicode_escape(body, index)?;
                    continue;
                }
                index += 1;
            }
            _ => {}
        }
        index += 1;
    }
    Ok(())
}

/// Checks the `\uXXXX` escape at `start` (and its low half when it is a high
/// surrogate); returns the index just past what it consumed.
fn check_unicode_escape(body: &[u8], start: usize) -> Result<usize, PayloadError> {
    let unit = |at: usize| -> Option<u16> {
        let digits = body.get(at + 2..at + 6)?;
        u16::from_str_radix(std::str::from_utf8(digits).ok()?, 16).ok()
    };
    let lone = || PayloadError::syntax(format!("unpaired UTF-16 surrogate escape at byte {start}"));
    // Malformed hex is left for the JSON parser to report with its position.
    let Some(first) = unit(start) else {
        return Ok(start + 2);
    };
    match first {
        0xD800..=0xDBFF => {
            let next = start + 6;
            let paired = body.get(next..next + 2) == Some(b"\\u") && matches!(unit(next), Some(0xDC00..=0xDFFF));
            if paired { Ok(next + 6) } else { Err(lone()) }
        }
        0xDC00..=0xDFFF => Err(lone()),
        _ => Ok(start + 6),
    }
}

/// A JSON object deserialised as `T`. Derived `Deserialize` would also take an
/// array of positional members; Daraja wrappers must be objects.
#[derive(Debug)]
pub(crate) struct Object<T>(pub(crate) T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Object<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ObjectVisitor<T>(PhantomData<T>);

        impl<'de, T: Deserialize<'de>> Visitor<'de> for ObjectVisitor<T> {
            type Value = Object<T>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                T::deserialize(MapAccessDeserializer::new(map)).map(Object)
            }
        }

        deserializer.deserialize_map(ObjectVisitor(PhantomData))
    }
}

/// A list Daraja sends either as an array or, with one element, as a bare
/// object. Always normalised to a `Vec`.
#[derive(Debug)]
pub(crate) struct OneOrMany<T>(pub(crate) Vec<T>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for OneOrMany<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ListVisitor<T>(PhantomData<T>);

        impl<'de, T: Deserialize<'de>> Visitor<'de> for ListVisitor<T> {
            type Value = OneOrMany<T>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an array of objects or a single object")
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(8).min(64));
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(OneOrMany(items))
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                T::deserialize(MapAccessDeserializer::new(map)).map(|item| OneOrMany(vec![item]))
            }
        }

        deserializer.deserialize_any(ListVisitor(PhantomData))
    }
}

/// A JSON string, borrowed from the body unless it has escapes to undo.
/// (`Cow<str>` always copies when deserialised, and `#[serde(borrow)]`
/// does not reach inside an `Option`.)
#[derive(Debug)]
pub(crate) struct Text<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TextVisitor<'a>(PhantomData<&'a str>);

        impl<'de: 'a, 'a> Visitor<'de> for TextVisitor<'a> {
            type Value = Text<'a>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }

            fn visit_borrowed_str<E>(self, text: &'de str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Borrowed(text)))
            }

            fn visit_str<E>(self, text: &str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(text.to_owned())))
            }
        }

        deserializer.deserialize_str(TextVisitor(PhantomData))
    }
}

/// One `{Name|Key, Value}` list item as sent: Daraja names items
/// `Name` in some APIs and `Key` in others.
#[derive(Debug, serde::Deserialize)]
pub(crate) struct RawEntry<'a> {
    #[serde(rename = "Name", borrow, default)]
    name: Option<Text<'a>>,
    #[serde(rename = "Key", borrow, default)]
    key: Option<Text<'a>>,
    #[serde(rename = "Value", borrow, default)]
    pub(crate) value: Option<&'a RawValue>,
}

impl<'a> RawEntry<'a> {
    /// The item's label, whichever of `Name` or `Key` carried it.
    pub(crate) fn label(&self, path: impl FnOnce() -> String) -> Result<&str, PayloadError> {
        match (&self.name, &self.key) {
            (Some(Text(name)), None) => Ok(name),
            (None, Some(Text(key))) => Ok(key),
            (Some(Text(name)), Some(Text(key))) if name == key => Ok(name),
            (Some(_), Some(_)) => {
                Err(PayloadError::shape(path(), "the item has both `Name` and `Key` and they differ"))
            }
            (None, None) => Err(PayloadError::shape(path(), "the item has neither `Name` nor `Key`")),
        }
    }
}

/// A JSON scalar read from its literal text, so numbers stay exact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Scalar<'a> {
    /// A JSON string, unescaped.
    Text(Cow<'a, str>),
    /// A JSON number, as its literal digits (`1.00`, `254708374149`).
    Number(&'a str),
}

/// Reads a raw value that must be a string or a number; `null` is `None`.
pub(crate) fn scalar<'a>(raw: &'a RawValue, path: impl FnOnce() -> String) -> Result<Option<Scalar<'a>>, PayloadError> {
    let text = raw.get();
    match text.as_bytes().first() {
        Some(b'"') => {
            let inner = &text[1..text.len() - 1];
            if inner.contains('\\') {
                let unescaped: String = serde_json::from_str(text)
                    .map_err(|error| PayloadError::syntax(error.to_string()).within(&path()))?;
                Ok(Some(Scalar::Text(Cow::Owned(unescaped))))
            } else {
                Ok(Some(Scalar::Text(Cow::Borrowed(inner))))
            }
        }
        Some(b'-' | b'0'..=b'9') => Ok(Some(Scalar::Number(text))),
        Some(b'n') => Ok(None),
        Some(b't' | b'f') => Err(wrong_type(path(), "a boolean")),
        Some(b'{') => Err(wrong_type(path(), "an object")),
        Some(b'[') => Err(wrong_type(path(), "an array")),
        _ => Err(PayloadError::syntax(format!("unexpected value `{text}`")).within(&path())),
    }
}

fn wrong_type(path: String, found: &str) -> PayloadError {
    PayloadError::shape(path, format!("invalid type: {found}, expected a string or a number"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn counting_openings_matches_a_plain_count(body in prop::collection::vec(any::<u8>(), 0..2000)) {
            let plain = body.iter().filter(|&&byte| byte == b'{' || byte == b'[').count();
            prop_assert_eq!(count_openings(&body), plain);
        }
    }

    #[test]
    fn item_labels_are_borrowed_unless_escaped() {
        let plain: RawEntry<'_> = serde_json::from_str(r#"{"Name":"Amount","Value":1}"#).unwrap();
        assert!(matches!(plain.name, Some(Text(Cow::Borrowed("Amount")))));
        let escaped: RawEntry<'_> = serde_json::from_str(r#"{"Key":"Amo\u0075nt"}"#).unwrap();
        assert!(matches!(escaped.key, Some(Text(Cow::Owned(_)))));
        assert_eq!(escaped.label(String::new), Ok("Amount"));
    }

    #[test]
    fn escaped_quotes_do_not_end_strings() {
        let body = format!(r#"{{"a":"\"{}"}}"#, "[".repeat(40));
        assert_eq!(scan_structure(body.as_bytes()), Ok(()));
    }
}

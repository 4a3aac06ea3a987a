//! `ResultParameter` / `ReferenceItem` lists and typed reads from them.

use std::fmt;

use super::super::amount::{Amount, Balance};
use super::super::error::PayloadError;
use super::super::field;
use super::super::json::{Object, OneOrMany, RawEntry, Scalar, scalar};
use super::super::timestamp::DarajaTime;

/// One `{Key, Value}` item of a `ResultParameter` or `ReferenceItem` list.
///
/// `Value` may be a string, a number or missing altogether
/// (`{"Key":"Occasion"}`); missing and `null` are `None`.
///
/// ```
/// use pesakit::{B2cParams, DarajaResult, Payload};
///
/// let body = br#"{"Result":{"ResultType":0,"ResultCode":0,"ResultDesc":"ok",
///   "OriginatorConversationID":"1","ConversationID":"AG_1","TransactionID":"X",
///   "ReferenceData":{"ReferenceItem":{"Key":"Occasion"}}}}"#;
/// let result = DarajaResult::<B2cParams>::from_slice(body)?;
/// let item = &result.reference_data[0];
/// assert_eq!(item.key, "Occasion");
/// assert_eq!(item.value, None);
/// # Ok::<(), pesakit::PayloadError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parameter {
    /// The item's `Key` (or `Name`, which relays sometimes use instead).
    pub key: String,
    /// The item's `Value`, if it has one.
    pub value: Option<ParamValue>,
}

/// A parameter value, kept exactly as sent.
///
/// ```
/// use pesakit::ParamValue;
///
/// let funds = ParamValue::Number("8959269.60".into());
/// assert_eq!(funds.as_str(), "8959269.60");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ParamValue {
    /// A JSON string, unescaped.
    Text(String),
    /// A JSON number, as its literal text (`1.00`, `20170727102524`).
    Number(String),
}

impl ParamValue {
    /// The text of the value, a string's contents or a number's literal.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Text(text) | Self::Number(text) => text,
        }
    }

    fn as_scalar(&self) -> Scalar<'_> {
        match self {
            Self::Text(text) => Scalar::Text(text.into()),
            Self::Number(literal) => Scalar::Number(literal),
        }
    }
}

impl fmt::Display for ParamValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An ordered list of parameters: a map view over what Daraja sent.
///
/// Keys may repeat (the v3 transaction-status sample lists `DebitPartyName`
/// twice); every occurrence is kept, in order. Unknown keys are kept too.
///
/// ```
/// use pesakit::{AccountBalanceParams, DarajaResult, Payload};
///
/// let body = br#"{"Result":{"ResultType":0,"ResultCode":0,"ResultDesc":"ok",
///   "OriginatorConversationID":"1","ConversationID":"AG_1","TransactionID":"X",
///   "ResultParameters":{"ResultParameter":[{"Key":"ActionType","Value":"AccountBalance"}]}}}"#;
/// let result = DarajaResult::<AccountBalanceParams>::from_slice(body)?;
/// assert_eq!(result.parameters.get("ActionType").map(|v| v.as_str()), Some("AccountBalance"));
/// assert_eq!(result.parameters.get("Missing"), None);
/// # Ok::<(), pesakit::PayloadError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Parameters(Vec<Parameter>);

impl Parameters {
    /// The value of the first item with `key`, if it has one.
    pub fn get(&self, key: &str) -> Option<&ParamValue> {
        self.iter().find(|item| item.key == key).and_then(|item| item.value.as_ref())
    }

    /// Whether an item with `key` is present, with or without a value.
    pub fn contains_key(&self, key: &str) -> bool {
        self.iter().any(|item| item.key == key)
    }

    /// Every value of items with `key`, in order (`None` for items without).
    pub fn get_all<'a>(&'a self, key: &'a str) -> impl Iterator<Item = Option<&'a ParamValue>> + 'a {
        self.iter().filter(move |item| item.key == key).map(|item| item.value.as_ref())
    }

    /// The items in the order Daraja sent them.
    pub fn iter(&self) -> std::slice::Iter<'_, Parameter> {
        self.0.iter()
    }

    /// How many items there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the list is empty or was absent.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub(crate) fn from_raw(raw: Option<OneOrMany<Object<RawEntry<'_>>>>, list: &str) -> Result<Self, PayloadError> {
        let Some(OneOrMany(entries)) = raw else {
            return Ok(Self::default());
        };
        entries
            .into_iter()
            .enumerate()
            .map(|(index, Object(entry))| {
                let key = entry.label(|| format!("{list}[{index}]"))?.to_owned();
                let value = match entry.value {
                    Some(raw) => scalar(raw, || format!("{list}[{key}].Value"))?.map(ParamValue::from),
                    None => None,
                };
                Ok(Parameter { key, value })
            })
            .collect::<Result<_, _>>()
            .map(Self)
    }
}

impl From<Scalar<'_>> for ParamValue {
    fn from(value: Scalar<'_>) -> Self {
        match value {
            Scalar::Text(text) => Self::Text(text.into_owned()),
            Scalar::Number(literal) => Self::Number(literal.to_owned()),
        }
    }
}

impl std::ops::Index<usize> for Parameters {
    type Output = Parameter;

    fn index(&self, index: usize) -> &Parameter {
        &self.0[index]
    }
}

impl<'a> IntoIterator for &'a Parameters {
    type Item = &'a Parameter;
    type IntoIter = std::slice::Iter<'a, Parameter>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// Typed reads from one parameter list, with errors naming the item.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ParamReader<'a> {
    list: &'a Parameters,
    path: &'static str,
}

impl<'a> ParamReader<'a> {
    pub(crate) fn new(list: &'a Parameters, path: &'static str) -> Self {
        Self { list, path }
    }

    /// The first of `keys` present with a non-empty value, and its key.
    fn find(&self, keys: &[&'static str]) -> Option<(&'static str, &'a ParamValue)> {
        keys.iter()
            .find_map(|&key| self.list.get(key).filter(|value| !value.as_str().is_empty()).map(|value| (key, value)))
    }

    fn path(&self, key: &str) -> String {
        format!("{}[{key}].Value", self.path)
    }

    /// Text of the first of `keys` with a value; numbers read as their digits.
    pub(crate) fn text(&self, keys: &[&'static str]) -> Option<String> {
        self.find(keys).map(|(_, value)| value.as_str().to_owned())
    }

    pub(crate) fn amount(&self, key: &'static str) -> Result<Option<Amount>, PayloadError> {
        self.find(&[key]).map(|(_, value)| field::amount(&value.as_scalar(), &|| self.path(key))).transpose()
    }

    pub(crate) fn balance(&self, key: &'static str) -> Result<Option<Balance>, PayloadError> {
        self.find(&[key]).map(|(_, value)| field::balance(&value.as_scalar(), &|| self.path(key))).transpose()
    }

    pub(crate) fn timestamp(&self, keys: &[&'static str]) -> Result<Option<DarajaTime>, PayloadError> {
        self.find(keys).map(|(key, value)| field::timestamp(&value.as_scalar(), &|| self.path(key))).transpose()
    }

    /// Applies `parse` to the text of `key`, naming the item on error.
    pub(crate) fn parsed<T, E: std::fmt::Display>(
        &self,
        key: &'static str,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Result<Option<T>, PayloadError> {
        self.find(&[key])
            .map(|(_, value)| {
                parse(value.as_str()).map_err(|problem| PayloadError::value(self.path(key), problem.to_string()))
            })
            .transpose()
    }

    /// Rejects two spellings of one item that disagree: Daraja has sent the
    /// same item under two names, and a payment cannot have two values.
    pub(crate) fn agreeing_text(&self, keys: &[&'static str]) -> Result<Option<String>, PayloadError> {
        let mut found = keys.iter().filter_map(|&key| self.find(&[key]));
        let Some((first_key, first)) = found.next() else {
            return Ok(None);
        };
        match found.find(|(_, other)| other != &first) {
            Some((other_key, _)) => Err(PayloadError::value(
                self.path(other_key),
                format!("disagrees with `{first_key}`; both spellings name one value"),
            )),
            None => Ok(Some(first.as_str().to_owned())),
        }
    }
}

//! A small writer for the JSON bodies the builders make: values are written
//! exactly (`1.00` stays `1.00`), which `serde_json::Value` cannot promise.

/// One JSON object under construction.
#[derive(Debug, Clone, Default)]
pub(crate) struct JsonObject {
    members: Vec<(String, String)>,
}

impl JsonObject {
    /// A member whose value is a JSON string.
    pub(crate) fn string(mut self, key: &str, value: &str) -> Self {
        self.members.push((key.to_owned(), quote(value)));
        self
    }

    /// A member whose value is already JSON text (a number literal, an
    /// object, an array).
    pub(crate) fn raw(mut self, key: &str, json: impl Into<String>) -> Self {
        self.members.push((key.to_owned(), json.into()));
        self
    }

    pub(crate) fn object(self, key: &str, value: JsonObject) -> Self {
        self.raw(key, value.finish())
    }

    pub(crate) fn array(self, key: &str, items: Vec<JsonObject>) -> Self {
        let items: Vec<String> = items.into_iter().map(JsonObject::finish).collect();
        self.raw(key, format!("[{}]", items.join(",")))
    }

    pub(crate) fn finish(self) -> String {
        let members: Vec<String> = self.members.iter().map(|(key, value)| format!("{}:{value}", quote(key))).collect();
        format!("{{{}}}", members.join(","))
    }
}

/// `text` as a JSON string literal.
pub(crate) fn quote(text: &str) -> String {
    serde_json::Value::String(text.to_owned()).to_string()
}

/// A `{Name|Key, Value}` list item; `None` leaves `Value` out, as Daraja
/// does for `Balance` and `Occasion`.
pub(crate) fn item(label: &str, name: &str, value: Option<&str>) -> JsonObject {
    let item = JsonObject::default().string(label, name);
    match value {
        Some(json) => item.raw("Value", json),
        None => item,
    }
}

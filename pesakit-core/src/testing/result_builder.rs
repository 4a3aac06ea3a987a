//! Realistic `Result` bodies: B2C, account balance, transaction status,
//! reversal, B2B and queue timeouts.

use super::ids;
use super::json::{JsonObject, item, quote};
use crate::payload::{Amount, DarajaTime, TimestampLayout};

/// Builds the body Daraja posts to a `ResultURL` or `QueueTimeOutURL`.
///
/// Successes carry the documented parameters of their kind; every value,
/// code and id can be overridden, and any parameter added or replaced.
///
/// ```
/// use pesakit::testing::ResultBuilder;
/// use pesakit::{Amount, B2cParams, DarajaResult, Payload};
///
/// let body = ResultBuilder::b2c_success().amount(Amount::from_minor_units(50_000).unwrap()).build();
/// let result = DarajaResult::<B2cParams>::from_slice(body.as_bytes())?;
/// assert_eq!(result.params.transaction_amount.map(|a| a.to_string()), Some("500.00".into()));
///
/// let failure = ResultBuilder::b2c_failure(2001, "The initiator information is invalid.").build();
/// assert!(!DarajaResult::<B2cParams>::from_slice(failure.as_bytes())?.is_success());
/// # Ok::<(), pesakit::PayloadError>(())
/// ```
#[derive(Debug, Clone)]
pub struct ResultBuilder {
    result_type: i64,
    result_code: String,
    result_desc: String,
    originator_conversation_id: String,
    conversation_id: String,
    transaction_id: Option<String>,
    amount_key: &'static str,
    parameters: Vec<(String, Option<String>)>,
    reference_items: Vec<(String, Option<String>)>,
    single_reference_item: bool,
    single_result_parameter: bool,
    string_codes: bool,
}

const SUCCESS: &str = "The service request is processed successfully.";
const QUEUE_TIMEOUT_URL: &str = "https://internalsandbox.safaricom.co.ke/mpesa/abresults/v1/submit";

impl ResultBuilder {
    fn success(amount_key: &'static str, parameters: Vec<(&str, String)>) -> Self {
        let now = DarajaTime::now();
        Self {
            result_type: 0,
            result_code: "0".to_owned(),
            result_desc: SUCCESS.to_owned(),
            originator_conversation_id: ids::originator_conversation_id(),
            conversation_id: ids::conversation_id(now),
            transaction_id: Some(ids::receipt()),
            amount_key,
            parameters: parameters.into_iter().map(|(key, json)| (key.to_owned(), Some(json))).collect(),
            reference_items: vec![("QueueTimeoutURL".to_owned(), Some(quote(QUEUE_TIMEOUT_URL)))],
            single_reference_item: false,
            single_result_parameter: false,
            string_codes: false,
        }
    }

    fn failure(result_code: i64, result_desc: &str) -> Self {
        let mut builder = Self::success("Amount", Vec::new());
        builder.result_code = result_code.to_string();
        result_desc.clone_into(&mut builder.result_desc);
        builder
    }

    /// A B2C payment of 10.00 that reached the customer.
    pub fn b2c_success() -> Self {
        let now = DarajaTime::now();
        let receipt = ids::receipt();
        let mut builder = Self::success(
            "TransactionAmount",
            vec![
                ("TransactionAmount", "10.00".to_owned()),
                ("TransactionReceipt", quote(&receipt)),
                ("ReceiverPartyPublicName", quote("254708374149 - John Doe")),
                ("TransactionCompletedDateTime", quote(&now.with_layout(TimestampLayout::Dotted).original())),
                ("B2CUtilityAccountAvailableFunds", "10116.00".to_owned()),
                ("B2CWorkingAccountAvailableFunds", "900000.00".to_owned()),
                ("B2CRecipientIsRegisteredCustomer", quote("Y")),
                ("B2CChargesPaidAccountAvailableFunds", "-4510.00".to_owned()),
            ],
        );
        builder.transaction_id = Some(receipt);
        builder
    }

    /// A failed B2C payment (for example 2001, or 1 for insufficient
    /// balance): no parameters.
    pub fn b2c_failure(result_code: i64, result_desc: &str) -> Self {
        Self::failure(result_code, result_desc)
    }

    /// An account balance answer with Working, Utility and Charges Paid
    /// accounts.
    pub fn account_balance() -> Self {
        let accounts = "Working Account|KES|46713.00|46713.00|0.00|0.00&Utility Account|KES|49217.00|49217.00|0.00|0.00\
                        &Charges Paid Account|KES|-220.00|-220.00|0.00|0.00";
        let mut builder = Self::success(
            "Amount",
            vec![("AccountBalance", quote(accounts)), ("BOCompletedTime", DarajaTime::now().original())],
        );
        builder.transaction_id = Some("LGS0000000".to_owned());
        builder
    }

    /// A transaction status answer for a completed payment of 10.00.
    pub fn transaction_status() -> Self {
        let now = DarajaTime::now().original();
        Self::success(
            "Amount",
            vec![
                ("ReceiptNo", quote(&ids::receipt())),
                ("ConversationID", quote(&ids::conversation_id(DarajaTime::now()))),
                ("OriginatorConversationID", quote(&ids::originator_conversation_id())),
                ("InitiatedTime", now.clone()),
                ("FinalisedTime", now),
                ("Amount", "10".to_owned()),
                ("TransactionStatus", quote("Completed")),
                ("ReasonType", quote("Business Payment to Customer via API")),
                ("DebitPartyCharges", quote("Fee For B2C Payment|KES|22.40")),
                ("DebitAccountType", quote("Utility Account")),
                ("DebitPartyName", quote("600310 - Safaricom333")),
                ("CreditPartyName", quote("254708374149 - John Doe")),
            ],
        )
    }

    /// A reversal of 1.00.
    pub fn reversal() -> Self {
        Self::success(
            "Amount",
            vec![
                ("DebitAccountBalance", quote("Utility Account|KES|7722179.62|7722179.62|0.00|0.00")),
                ("Amount", "1.00".to_owned()),
                ("TransCompletedTime", DarajaTime::now().original()),
                ("OriginalTransactionID", quote(&ids::receipt())),
                ("Charge", "0.00".to_owned()),
                ("CreditPartyPublicName", quote("254708374149 - John Doe")),
                ("DebitPartyPublicName", quote("600992 - Safaricom Daraja 992")),
            ],
        )
    }

    /// A B2B (Business Pay Bill) payment of 190.00.
    pub fn b2b() -> Self {
        let mut builder = Self::success(
            "Amount",
            vec![
                (
                    "DebitAccountBalance",
                    quote("{Amount={CurrencyCode=KES, MinimumAmount=618683, BasicAmount=6186.83}}"),
                ),
                ("Amount", quote("190.00")),
                ("DebitPartyAffectedAccountBalance", quote("Working Account|KES|346568.83|6186.83|340382.00|0.00")),
                ("TransCompletedTime", quote(&DarajaTime::now().original())),
                ("DebitPartyCharges", quote("Business Pay Bill Charge|KES|77.00")),
                ("ReceiverPartyPublicName", quote("603094 - Safaricom3117")),
                ("Currency", quote("KES")),
            ],
        );
        builder.reference_items.insert(0, ("BillReferenceNumber".to_owned(), Some(quote("invoice-1"))));
        builder.reference_items.push(("Occasion".to_owned(), None));
        builder
    }

    /// A queue timeout: the shape integrations assume, as Safaricom
    /// documents none.
    pub fn queue_timeout() -> Self {
        let mut builder = Self::failure(1, "The service request has timed out.");
        builder.result_type = 1;
        builder.transaction_id = None;
        builder.reference_items.clear();
        builder
    }

    /// The `ResultCode`, as a JSON integer.
    pub fn result_code(mut self, code: i64) -> Self {
        self.result_code = code.to_string();
        self
    }

    /// The `ResultCode`, as a JSON string (`"R000002"`, `"0"`).
    pub fn result_code_text(mut self, code: &str) -> Self {
        self.result_code = quote(code);
        self
    }

    /// The `ResultDesc`.
    pub fn result_desc(mut self, desc: &str) -> Self {
        desc.clone_into(&mut self.result_desc);
        self
    }

    /// The `OriginatorConversationID`.
    pub fn originator_conversation_id(mut self, id: &str) -> Self {
        id.clone_into(&mut self.originator_conversation_id);
        self
    }

    /// The `ConversationID`.
    pub fn conversation_id(mut self, id: &str) -> Self {
        id.clone_into(&mut self.conversation_id);
        self
    }

    /// The `TransactionID`, or `None` to leave it out.
    pub fn transaction_id(mut self, id: Option<&str>) -> Self {
        self.transaction_id = id.map(str::to_owned);
        self
    }

    /// The kind's amount parameter (`TransactionAmount` for B2C, `Amount`
    /// otherwise), as a JSON number.
    pub fn amount(self, amount: Amount) -> Self {
        let key = self.amount_key;
        self.parameter(key, Some(&amount.to_string()))
    }

    /// Sets a `ResultParameter` to raw JSON (`"\"text\""`, `10.00`), or
    /// without a `Value` for `None`; replaces an item of the same key.
    pub fn parameter(mut self, key: &str, json: Option<&str>) -> Self {
        set(&mut self.parameters, key, json);
        self
    }

    /// Sets a `ReferenceItem` the same way.
    pub fn reference_item(mut self, key: &str, json: Option<&str>) -> Self {
        set(&mut self.reference_items, key, json);
        self
    }

    /// Writes a lone `ReferenceItem` as one object instead of a list of one,
    /// as Daraja does in B2C and account balance results.
    ///
    /// ```
    /// use pesakit::testing::ResultBuilder;
    /// use pesakit::{B2cParams, DarajaResult};
    ///
    /// let body = ResultBuilder::b2c_success().single_reference_item().build();
    /// assert!(body.contains(r#""ReferenceItem":{"Key":"QueueTimeoutURL""#), "{body}");
    /// assert!(DarajaResult::<B2cParams>::try_from(body.as_str()).is_ok());
    /// ```
    pub fn single_reference_item(mut self) -> Self {
        self.single_reference_item = true;
        self
    }

    /// Writes a lone `ResultParameter` as one object instead of a list of
    /// one, as Daraja does in some B2B failures.
    ///
    /// ```
    /// use pesakit::testing::ResultBuilder;
    /// use pesakit::{B2bParams, DarajaResult};
    ///
    /// let body = ResultBuilder::b2c_failure(2001, "The initiator information is invalid.")
    ///     .parameter("BOCompletedTime", Some("20200120164825"))
    ///     .single_result_parameter()
    ///     .build();
    /// assert!(body.contains(r#""ResultParameter":{"Key":"BOCompletedTime""#), "{body}");
    /// assert!(DarajaResult::<B2bParams>::try_from(body.as_str()).is_ok());
    /// ```
    pub fn single_result_parameter(mut self) -> Self {
        self.single_result_parameter = true;
        self
    }

    /// Writes `ResultType` and a numeric `ResultCode` as JSON strings
    /// (`"0"`), as the current samples of the account balance and B2B Pay
    /// Bill results do.
    ///
    /// ```
    /// use pesakit::testing::ResultBuilder;
    /// use pesakit::{AccountBalanceParams, DarajaResult};
    ///
    /// let body = ResultBuilder::account_balance().string_codes().build();
    /// assert!(body.contains(r#""ResultType":"0","ResultCode":"0""#), "{body}");
    /// assert!(DarajaResult::<AccountBalanceParams>::try_from(body.as_str())?.is_success());
    /// # Ok::<(), pesakit::PayloadError>(())
    /// ```
    pub fn string_codes(mut self) -> Self {
        self.string_codes = true;
        self
    }

    /// The `(OriginatorConversationID, ConversationID)` the body carries.
    pub fn ids(&self) -> (&str, &str) {
        (&self.originator_conversation_id, &self.conversation_id)
    }

    /// The JSON body.
    pub fn build(&self) -> String {
        let result_type = self.result_type.to_string();
        let result_type = if self.string_codes { quote(&result_type) } else { result_type };
        let code_is_a_number = !self.result_code.starts_with('"');
        let result_code =
            if self.string_codes && code_is_a_number { quote(&self.result_code) } else { self.result_code.clone() };
        let mut result = JsonObject::default()
            .raw("ResultType", result_type)
            .raw("ResultCode", result_code)
            .string("ResultDesc", &self.result_desc)
            .string("OriginatorConversationID", &self.originator_conversation_id)
            .string("ConversationID", &self.conversation_id);
        if let Some(id) = &self.transaction_id {
            result = result.string("TransactionID", id);
        }
        if let Some(parameters) = key_values("ResultParameter", &self.parameters, self.single_result_parameter) {
            result = result.object("ResultParameters", parameters);
        }
        if let Some(reference_data) = key_values("ReferenceItem", &self.reference_items, self.single_reference_item) {
            result = result.object("ReferenceData", reference_data);
        }
        JsonObject::default().object("Result", result).finish()
    }
}

/// `{"<name>": [{"Key": …, "Value": …}, …]}`, with a lone item written as
/// one object when `single`; `None` for no items.
fn key_values(name: &str, items: &[(String, Option<String>)], single: bool) -> Option<JsonObject> {
    let mut objects: Vec<JsonObject> = items.iter().map(|(key, json)| item("Key", key, json.as_deref())).collect();
    match objects.len() {
        0 => None,
        1 if single => Some(JsonObject::default().object(name, objects.remove(0))),
        _ => Some(JsonObject::default().array(name, objects)),
    }
}

fn set(items: &mut Vec<(String, Option<String>)>, key: &str, json: Option<&str>) {
    let value = json.map(str::to_owned);
    match items.iter_mut().find(|(existing, _)| existing == key) {
        Some(slot) => slot.1 = value,
        None => items.push((key.to_owned(), value)),
    }
}

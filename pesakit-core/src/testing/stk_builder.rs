//! Realistic STK callback bodies for every outcome.

use super::ids;
use super::json::{JsonObject, item};
use crate::payload::{Amount, DarajaTime, TimestampLayout};

/// Builds the body Daraja posts to an STK `CallBackURL`.
///
/// Every constructor fills fresh ids and the current time; every field can
/// be overridden. What it builds parses back through
/// [`StkCallback`](crate::StkCallback) into the values given.
///
/// ```
/// use pesakit::testing::StkCallbackBuilder;
/// use pesakit::{Amount, Payload, StkCallback, StkOutcome};
///
/// let body = StkCallbackBuilder::paid().amount(Amount::from_minor_units(150_000).unwrap()).phone("254712345678").build();
/// let callback = StkCallback::from_slice(body.as_bytes())?;
/// let StkOutcome::Paid(payment) = callback.outcome() else { panic!("paid") };
/// assert_eq!(payment.amount.to_string(), "1500.00");
/// assert_eq!(payment.phone.as_str(), "254712345678");
/// # Ok::<(), pesakit::PayloadError>(())
/// ```
#[derive(Debug, Clone)]
pub struct StkCallbackBuilder {
    merchant_request_id: String,
    checkout_request_id: Option<String>,
    checkout_millis: String,
    result_code: i64,
    result_desc: String,
    payment: Option<PaymentFields>,
    phone: String,
    transaction_date: DarajaTime,
}

#[derive(Debug, Clone)]
struct PaymentFields {
    amount: Amount,
    receipt: String,
    balance_item: bool,
}

impl StkCallbackBuilder {
    fn with_result(result_code: i64, result_desc: &str) -> Self {
        Self {
            merchant_request_id: ids::merchant_request_id(),
            checkout_request_id: None,
            checkout_millis: ids::checkout_millis(),
            result_code,
            result_desc: result_desc.to_owned(),
            payment: None,
            phone: "254708374149".to_owned(),
            transaction_date: DarajaTime::now(),
        }
    }

    /// A payment: result 0 with amount (1.00), receipt, date and phone.
    pub fn paid() -> Self {
        let mut builder = Self::with_result(0, "The service request is processed successfully.");
        builder.payment = Some(PaymentFields {
            amount: Amount::from_minor_units(100).unwrap_or_default(),
            receipt: ids::receipt(),
            balance_item: false,
        });
        builder
    }

    /// Cancelled by the customer: 1032.
    pub fn cancelled() -> Self {
        Self::with_result(1032, "Request cancelled by user")
    }

    /// The phone could not be reached: 1037.
    pub fn timeout() -> Self {
        Self::with_result(1037, "DS timeout user cannot be reached")
    }

    /// Not enough money: 1.
    pub fn insufficient_funds() -> Self {
        Self::with_result(1, "The balance is insufficient for the transaction.")
    }

    /// Wrong PIN: 2001.
    pub fn wrong_pin() -> Self {
        Self::with_result(2001, "The initiator information is invalid.")
    }

    /// Expired before the customer acted: 1019.
    pub fn expired() -> Self {
        Self::with_result(1019, "Transaction has expired")
    }

    /// Any other failure code.
    pub fn failed(result_code: i64, result_desc: &str) -> Self {
        Self::with_result(result_code, result_desc)
    }

    /// The amount paid (a payment only).
    pub fn amount(mut self, amount: Amount) -> Self {
        if let Some(payment) = &mut self.payment {
            payment.amount = amount;
        }
        self
    }

    /// The `MpesaReceiptNumber` (a payment only).
    pub fn receipt(mut self, receipt: &str) -> Self {
        if let Some(payment) = &mut self.payment {
            payment.receipt = receipt.to_owned();
        }
        self
    }

    /// Adds the `{"Name":"Balance"}` item without a value, as Daraja
    /// sometimes does (a payment only).
    pub fn with_balance_item(mut self) -> Self {
        if let Some(payment) = &mut self.payment {
            payment.balance_item = true;
        }
        self
    }

    /// The payer's number, in any form people write a Kenyan mobile number
    /// (`0712345678`, `+254712345678`, `254712345678`, `712345678`), sent
    /// as Daraja sends it: the twelve digits `2547…` (or `2541…`). It is
    /// also embedded in the default `CheckoutRequestID`.
    ///
    /// ```
    /// use pesakit::testing::StkCallbackBuilder;
    ///
    /// let body = StkCallbackBuilder::paid().phone("0712345678").build();
    /// assert!(body.contains(r#""Value":254712345678"#));
    /// ```
    ///
    /// # Panics
    ///
    /// On anything else, naming the forms accepted: Daraja never sends
    /// another form in an STK callback. Check user input first with
    /// [`kenyan_mobile_number`](super::kenyan_mobile_number).
    pub fn phone(mut self, phone: &str) -> Self {
        match super::kenyan_mobile_number(phone) {
            Ok(normalised) => self.phone = normalised,
            Err(error) => panic!("StkCallbackBuilder::phone: {error}"),
        }
        self
    }

    /// The `TransactionDate`.
    pub fn transaction_date(mut self, date: DarajaTime) -> Self {
        self.transaction_date = date.with_layout(TimestampLayout::Compact);
        self
    }

    /// The `MerchantRequestID`.
    pub fn merchant_request_id(mut self, id: &str) -> Self {
        id.clone_into(&mut self.merchant_request_id);
        self
    }

    /// The `CheckoutRequestID`.
    pub fn checkout_request_id(mut self, id: &str) -> Self {
        self.checkout_request_id = Some(id.to_owned());
        self
    }

    /// The `ResultDesc`.
    pub fn result_desc(mut self, desc: &str) -> Self {
        desc.clone_into(&mut self.result_desc);
        self
    }

    /// The `MerchantRequestID` the body will carry.
    ///
    /// ```
    /// use pesakit::testing::StkCallbackBuilder;
    ///
    /// let builder = StkCallbackBuilder::paid().merchant_request_id("29115-34620561-1");
    /// assert_eq!(builder.merchant_id(), "29115-34620561-1");
    /// ```
    pub fn merchant_id(&self) -> &str {
        &self.merchant_request_id
    }

    /// The `CheckoutRequestID` the body will carry.
    pub fn checkout_id(&self) -> String {
        self.checkout_request_id
            .clone()
            .unwrap_or_else(|| ids::checkout_request_id(self.transaction_date, &self.checkout_millis, &self.phone))
    }

    /// The JSON body.
    pub fn build(&self) -> String {
        let mut callback = JsonObject::default()
            .string("MerchantRequestID", &self.merchant_request_id)
            .string("CheckoutRequestID", &self.checkout_id())
            .raw("ResultCode", self.result_code.to_string())
            .string("ResultDesc", &self.result_desc);
        if let Some(payment) = &self.payment {
            let mut items = vec![
                item("Name", "Amount", Some(&payment.amount.to_string())),
                item("Name", "MpesaReceiptNumber", Some(&super::json::quote(&payment.receipt))),
            ];
            if payment.balance_item {
                items.push(item("Name", "Balance", None));
            }
            items.push(item("Name", "TransactionDate", Some(&self.transaction_date.original())));
            items.push(item("Name", "PhoneNumber", Some(&self.phone)));
            callback = callback.object("CallbackMetadata", JsonObject::default().array("Item", items));
        }
        JsonObject::default().object("Body", JsonObject::default().object("stkCallback", callback)).finish()
    }
}

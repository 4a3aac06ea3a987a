//! Realistic C2B validation and confirmation bodies.

use super::ids;
use super::json::JsonObject;
use crate::payload::{Amount, Balance, DarajaTime, Msisdn, MsisdnForm};

/// Builds the body Daraja posts to a C2B `ValidationURL` or
/// `ConfirmationURL`.
///
/// ```
/// use pesakit::testing::C2bPaymentBuilder;
/// use pesakit::{Amount, C2bPayment, MsisdnForm, Payload};
///
/// let body = C2bPaymentBuilder::pay_bill().bill_ref("invoice-42").masked_msisdn().build();
/// let payment = C2bPayment::from_slice(body.as_bytes())?;
/// assert_eq!(payment.bill_ref_number, "invoice-42");
/// assert_eq!(payment.msisdn.form(), MsisdnForm::Masked);
/// # Ok::<(), pesakit::PayloadError>(())
/// ```
#[derive(Debug, Clone)]
pub struct C2bPaymentBuilder {
    transaction_type: String,
    trans_id: String,
    trans_time: DarajaTime,
    trans_amount: Amount,
    business_short_code: String,
    bill_ref_number: String,
    org_account_balance: Option<Balance>,
    third_party_trans_id: String,
    msisdn: String,
    first_name: String,
    middle_name: String,
    last_name: String,
}

impl C2bPaymentBuilder {
    /// A Pay Bill payment of 10.00 to account `invoice-1`, as confirmed.
    pub fn pay_bill() -> Self {
        Self {
            transaction_type: "Pay Bill".to_owned(),
            trans_id: ids::receipt(),
            trans_time: DarajaTime::now(),
            trans_amount: Amount::from_minor_units(1000).unwrap_or_default(),
            business_short_code: "600000".to_owned(),
            bill_ref_number: "invoice-1".to_owned(),
            org_account_balance: Some(Balance::from_minor_units(2_500_000)),
            third_party_trans_id: String::new(),
            msisdn: "254708374149".to_owned(),
            first_name: "John".to_owned(),
            middle_name: String::new(),
            last_name: "Doe".to_owned(),
        }
    }

    /// A Buy Goods (till) payment: `Customer Merchant Payment`, no account.
    pub fn buy_goods() -> Self {
        Self {
            transaction_type: "Customer Merchant Payment".to_owned(),
            bill_ref_number: String::new(),
            ..Self::pay_bill()
        }
    }

    /// Shapes the body as a validation request: no balance yet, and the
    /// empty `TransactionType` Daraja often sends there.
    pub fn for_validation(mut self) -> Self {
        self.org_account_balance = None;
        self.transaction_type.clear();
        self
    }

    /// The `TransID`.
    pub fn trans_id(mut self, id: &str) -> Self {
        id.clone_into(&mut self.trans_id);
        self
    }

    /// The `TransTime`.
    pub fn trans_time(mut self, time: DarajaTime) -> Self {
        self.trans_time = time;
        self
    }

    /// The `TransAmount`.
    pub fn amount(mut self, amount: Amount) -> Self {
        self.trans_amount = amount;
        self
    }

    /// The `BusinessShortCode`.
    pub fn short_code(mut self, short_code: &str) -> Self {
        short_code.clone_into(&mut self.business_short_code);
        self
    }

    /// The `BillRefNumber` (account number).
    pub fn bill_ref(mut self, bill_ref: &str) -> Self {
        bill_ref.clone_into(&mut self.bill_ref_number);
        self
    }

    /// The `OrgAccountBalance`, or `None` for `""`.
    pub fn org_account_balance(mut self, balance: Option<Balance>) -> Self {
        self.org_account_balance = balance;
        self
    }

    /// The `ThirdPartyTransID` a validation reply set.
    pub fn third_party_trans_id(mut self, id: &str) -> Self {
        id.clone_into(&mut self.third_party_trans_id);
        self
    }

    /// The `MSISDN`: a Kenyan mobile number in any form people write it
    /// (`0712345678`, `+254712345678`, `254712345678`, `712345678`), sent as
    /// the twelve digits Daraja sends, or a masked (`2547 ***** 149`) or
    /// hashed (64 hex digits) value, sent as given, as current
    /// registrations receive them.
    ///
    /// ```
    /// use pesakit::testing::C2bPaymentBuilder;
    ///
    /// let body = C2bPaymentBuilder::pay_bill().msisdn("+254712345678").build();
    /// assert!(body.contains(r#""MSISDN":"254712345678""#));
    /// ```
    ///
    /// # Panics
    ///
    /// On anything else, naming the forms accepted. Check user input first
    /// with [`kenyan_mobile_number`](super::kenyan_mobile_number).
    pub fn msisdn(mut self, msisdn: &str) -> Self {
        self.msisdn = match super::kenyan_mobile_number(msisdn) {
            Ok(normalised) => normalised,
            Err(error) => match Msisdn::new(msisdn).form() {
                MsisdnForm::Masked | MsisdnForm::Hashed => msisdn.to_owned(),
                _ => panic!("C2bPaymentBuilder::msisdn: {error}"),
            },
        };
        self
    }

    /// Masks the `MSISDN` the way current registrations receive it:
    /// `2547 ***** 149`.
    pub fn masked_msisdn(mut self) -> Self {
        let digits = &self.msisdn;
        if digits.len() > 7 {
            self.msisdn = format!("{} ***** {}", &digits[..4], &digits[digits.len() - 3..]);
        }
        self
    }

    /// `FirstName`, `MiddleName` and `LastName`.
    pub fn names(mut self, first: &str, middle: &str, last: &str) -> Self {
        first.clone_into(&mut self.first_name);
        middle.clone_into(&mut self.middle_name);
        last.clone_into(&mut self.last_name);
        self
    }

    /// The `TransID` the body will carry.
    pub fn id(&self) -> &str {
        &self.trans_id
    }

    /// The JSON body.
    pub fn build(&self) -> String {
        let balance = self.org_account_balance.map(|balance| balance.to_string()).unwrap_or_default();
        JsonObject::default()
            .string("TransactionType", &self.transaction_type)
            .string("TransID", &self.trans_id)
            .string("TransTime", &self.trans_time.original())
            .string("TransAmount", &self.trans_amount.to_string())
            .string("BusinessShortCode", &self.business_short_code)
            .string("BillRefNumber", &self.bill_ref_number)
            .string("InvoiceNumber", "")
            .string("OrgAccountBalance", &balance)
            .string("ThirdPartyTransID", &self.third_party_trans_id)
            .string("MSISDN", &self.msisdn)
            .string("FirstName", &self.first_name)
            .string("MiddleName", &self.middle_name)
            .string("LastName", &self.last_name)
            .finish()
    }
}

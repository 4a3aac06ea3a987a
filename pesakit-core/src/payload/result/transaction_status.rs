//! Transaction status results.

use super::super::amount::Amount;
use super::super::error::PayloadError;
use super::super::timestamp::DarajaTime;
use super::formats::Charge;
use super::{PARAMETERS, ParamReader, Parameters, REFERENCE_ITEMS, ResultParams};

/// The documented parameters of a transaction status result.
///
/// The queried transaction's own conversation ids are spelt with or without
/// spaces (`Conversation ID`); both are read, and disagreeing spellings are
/// refused. The v3 sample lists `DebitPartyName` twice, the second being the
/// credit party: without a `CreditPartyName`, that second one is used.
///
/// ```
/// # let body = std::fs::read("../tests/fixtures/transaction_status_result/official_v3_duplicate_debitpartyname_key.json").unwrap();
/// use pesakit::{DarajaResult, Payload, TransactionStatusParams};
///
/// let result = DarajaResult::<TransactionStatusParams>::from_slice(&body)?;
/// let status = &result.params;
/// assert_eq!(status.receipt_no.as_deref(), Some("MBN31H462N"));
/// assert_eq!(status.credit_party_name.as_deref(), Some("254708374149 - John Doe"));
/// assert_eq!(status.amount.map(|a| a.to_string()), Some("300.00".into()));
/// # Ok::<(), pesakit::PayloadError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct TransactionStatusParams {
    /// `ReceiptNo` of the queried transaction.
    pub receipt_no: Option<String>,
    /// `ConversationID` / `Conversation ID` of the queried transaction.
    pub conversation_id: Option<String>,
    /// `OriginatorConversationID` / `Originator Conversation ID`.
    pub originator_conversation_id: Option<String>,
    /// `InitiatedTime`.
    pub initiated_time: Option<DarajaTime>,
    /// `FinalisedTime`.
    pub finalised_time: Option<DarajaTime>,
    /// `Amount`.
    pub amount: Option<Amount>,
    /// `TransactionStatus`, e.g. `Completed`.
    pub transaction_status: Option<String>,
    /// `ReasonType`, e.g. `Pay Bill Online`.
    pub reason_type: Option<String>,
    /// `TransactionReason`, usually without a value.
    pub transaction_reason: Option<String>,
    /// `DebitPartyCharges`.
    pub debit_party_charges: Vec<Charge>,
    /// `DebitAccountType`, e.g. `Utility Account`.
    pub debit_account_type: Option<String>,
    /// `DebitPartyName` (the first, when repeated).
    pub debit_party_name: Option<String>,
    /// `CreditPartyName`, or the second `DebitPartyName`.
    pub credit_party_name: Option<String>,
    /// Reference item `Occasion`.
    pub occasion: Option<String>,
}

impl ResultParams for TransactionStatusParams {
    fn from_parameters(parameters: &Parameters, reference_data: &Parameters) -> Result<Self, PayloadError> {
        let read = ParamReader::new(parameters, PARAMETERS);
        let second_debit_party =
            || parameters.get_all("DebitPartyName").nth(1).flatten().map(|value| value.as_str().to_owned());
        Ok(Self {
            receipt_no: read.text(&["ReceiptNo"]),
            conversation_id: read.agreeing_text(&["ConversationID", "Conversation ID"])?,
            originator_conversation_id: read.agreeing_text(&[
                "OriginatorConversationID",
                "Originator Conversation ID",
                "OriginatorCoversationID",
            ])?,
            initiated_time: read.timestamp(&["InitiatedTime"])?,
            finalised_time: read.timestamp(&["FinalisedTime"])?,
            amount: read.amount("Amount")?,
            transaction_status: read.text(&["TransactionStatus"]),
            reason_type: read.text(&["ReasonType"]),
            transaction_reason: read.text(&["TransactionReason"]),
            debit_party_charges: read.parsed("DebitPartyCharges", Charge::parse_list)?.unwrap_or_default(),
            debit_account_type: read.text(&["DebitAccountType"]),
            debit_party_name: read.text(&["DebitPartyName"]),
            credit_party_name: read.text(&["CreditPartyName"]).or_else(second_debit_party),
            occasion: ParamReader::new(reference_data, REFERENCE_ITEMS).text(&["Occasion", "Occassion"]),
        })
    }
}

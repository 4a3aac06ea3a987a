//! Daraja's error answers: `{"requestId", "errorCode", "errorMessage"}`
//! with the HTTP status of the code, as each API family sends them.

use http::StatusCode;
use serde_json::json;

/// An error answer as Daraja sends it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DarajaError {
    /// The HTTP status.
    pub status: StatusCode,
    /// Daraja's code, such as `404.001.03`.
    pub code: &'static str,
    /// Daraja's message.
    pub message: String,
}

/// Which API a request is for: the token errors differ between families.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiFamily {
    /// STK push, STK query and reversal: `404.001.03`, HTTP 404.
    Stk,
    /// B2C and account balance: `401.002.01`, HTTP 401.
    B2c,
    /// C2B and transaction status: `400.003.01`, HTTP 400.
    C2b,
}

impl DarajaError {
    /// The answer to a missing, wrong or expired token for `family`.
    ///
    /// ```
    /// use pesakit_emulator::{ApiFamily, DarajaError};
    ///
    /// let error = DarajaError::invalid_token(ApiFamily::Stk);
    /// assert_eq!((error.status.as_u16(), error.code), (404, "404.001.03"));
    /// ```
    pub fn invalid_token(family: ApiFamily) -> Self {
        match family {
            ApiFamily::Stk => Self::new(StatusCode::NOT_FOUND, "404.001.03", "Invalid Access Token"),
            ApiFamily::B2c => Self::new(
                StatusCode::UNAUTHORIZED,
                "401.002.01",
                "Error Occurred - Invalid Access Token - the token is missing, wrong or expired",
            ),
            ApiFamily::C2b => Self::new(StatusCode::BAD_REQUEST, "400.003.01", "Invalid Access Token"),
        }
    }

    /// `400.002.02 Bad Request - Invalid <field>`.
    pub fn invalid_field(field: &str) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "400.002.02", format!("Bad Request - Invalid {field}"))
    }

    /// `500.001.1001` with `message`: wrong credentials, an unknown merchant,
    /// a subscriber already in a transaction, a query for a transaction
    /// still in progress.
    pub fn processing(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "500.001.1001", message)
    }

    /// Any code and message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into() }
    }

    /// The body, with `request_id` as its `requestId`.
    pub fn body(&self, request_id: &str) -> String {
        json!({ "requestId": request_id, "errorCode": self.code, "errorMessage": self.message }).to_string()
    }
}

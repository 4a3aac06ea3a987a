//! Daraja on your own machine: an emulator of Safaricom's M-Pesa API that
//! answers an application's outbound requests as Daraja does and then
//! delivers the callbacks they lead to, to the URLs in those requests, so a
//! payment flow is tested end to end with no Safaricom and no tunnel.
//!
//! Covered so far: OAuth (`GET /oauth/v1/generate`), M-Pesa Express (STK
//! push and query, with scenarios chosen by the amount: see
//! [`StkScenario`]), B2C (v1 and v3), account balance, transaction status,
//! reversal and B2B (acknowledged, then the result or a queue timeout; a
//! status query and a reversal answered from the state of the payment they
//! name), C2B (URLs registered, a payment simulated: validation, verdict
//! honoured, confirmation), the
//! delivery plans a request picks with a keyword (duplicates, a queue
//! timeout first, no callback, a delay: see [`DeliveryPlan`]), or
//! `POST /emulator/next` picks for the next request, and
//! `GET /emulator/transactions`, the JSON record of every transaction and
//! delivery, with `GET /`, a page listing them live. Callback bodies come from
//! [`pesakit::testing`], the same builders the rest of pesakit tests with.
//!
//! ```no_run
//! # async fn run() -> std::io::Result<()> {
//! let emulator = pesakit_emulator::Emulator::new().start("127.0.0.1:0".parse().unwrap()).await?;
//! println!("point your Daraja client at {}", emulator.base_url());
//! # Ok(())
//! # }
//! ```
//!
//! Timings Daraja does not publish (how long a customer takes) are
//! settings, not Safaricom's figures.

mod c2b;
pub mod client;
mod daraja_error;
mod delivery;
mod emulator;
mod fields;
mod ids;
mod ledger;
mod oauth;
mod page;
mod plan;
mod results;
mod server;
mod stk;

pub use self::daraja_error::{ApiFamily, DarajaError};
pub use self::emulator::{Emulator, RunningEmulator, SANDBOX_PASSKEY, SANDBOX_SHORT_CODE};
pub use self::ledger::{Delivery, Transaction};
pub use self::plan::DeliveryPlan;
pub use self::stk::StkScenario;

//! How a callback is delivered, chosen per request by a keyword in a free
//! text field (`AccountReference` of an STK push, `Remarks` of the other
//! APIs), so that a test picks it without a control call:
//!
//! | keyword | delivery |
//! | --- | --- |
//! | `dup2` … `dup9` | the same callback delivered that many times |
//! | `silent` | no callback at all |
//! | `timeout-only` | a queue timeout to `QueueTimeOutURL`, and never a result |
//! | `timeout` | a queue timeout first, then the result |
//!
//! Daraja publishes no timing for queue timeouts or duplicates: these are
//! what happens in production, on demand.

/// What happens to a request's callbacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeliveryPlan {
    /// How many times the result is delivered (0: never).
    pub copies: u32,
    /// Whether a queue timeout is delivered before anything else.
    pub timeout_first: bool,
}

impl DeliveryPlan {
    /// The plan a request's free text selects.
    ///
    /// ```
    /// use pesakit_emulator::DeliveryPlan;
    ///
    /// assert_eq!(DeliveryPlan::from_text("order 7 dup3"), DeliveryPlan { copies: 3, timeout_first: false });
    /// assert_eq!(DeliveryPlan::from_text("timeout-only"), DeliveryPlan { copies: 0, timeout_first: true });
    /// assert_eq!(DeliveryPlan::from_text("salary"), DeliveryPlan { copies: 1, timeout_first: false });
    /// ```
    pub fn from_text(text: &str) -> Self {
        let lowered = text.to_ascii_lowercase();
        let copies = if lowered.contains("silent") || lowered.contains("timeout-only") {
            0
        } else {
            lowered
                .match_indices("dup")
                .find_map(|(at, _)| lowered[at + 3..].chars().next()?.to_digit(10))
                .filter(|copies| (2..=9).contains(copies))
                .unwrap_or(1)
        };
        Self { copies, timeout_first: lowered.contains("timeout") }
    }

    /// How the ledger names it.
    pub(crate) fn describe(self) -> String {
        let result = match self.copies {
            0 => "no result".to_owned(),
            1 => "the result once".to_owned(),
            copies => format!("the result {copies} times"),
        };
        if self.timeout_first { format!("a queue timeout, then {result}") } else { result }
    }
}

//! How a callback is delivered, chosen per request by a keyword in a free
//! text field (`AccountReference` of an STK push, `BillRefNumber` of a C2B
//! payment, `Remarks` of the other APIs), so that a test picks it without a
//! control call:
//!
//! | keyword | delivery |
//! | --- | --- |
//! | `dup2` … `dup9` | the same callback delivered that many times |
//! | `silent` | no callback at all |
//! | `timeout-only` | a queue timeout to `QueueTimeOutURL`, and never a result |
//! | `timeout` | a queue timeout first, then the result |
//! | `delay5` … | the result after that many seconds (1 to 120) instead of the emulator's default |
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
    /// How long before the result, when the request chose.
    pub delay: Option<std::time::Duration>,
}

impl DeliveryPlan {
    /// The plan a request's free text selects.
    ///
    /// ```
    /// use pesakit_emulator::DeliveryPlan;
    ///
    /// let plan = DeliveryPlan::from_text("order 7 dup3 delay5");
    /// assert_eq!((plan.copies, plan.timeout_first), (3, false));
    /// assert_eq!(plan.delay, Some(std::time::Duration::from_secs(5)));
    /// assert_eq!(DeliveryPlan::from_text("timeout-only").copies, 0);
    /// assert_eq!(DeliveryPlan::from_text("salary"), DeliveryPlan { copies: 1, timeout_first: false, delay: None });
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
        let delay = lowered.match_indices("delay").find_map(|(at, _)| {
            let digits: String = lowered[at + 5..].chars().take_while(char::is_ascii_digit).collect();
            digits.parse::<u64>().ok().filter(|seconds| (1..=120).contains(seconds))
        });
        Self { copies, timeout_first: lowered.contains("timeout"), delay: delay.map(std::time::Duration::from_secs) }
    }

    /// How the ledger names it.
    pub(crate) fn describe(self) -> String {
        let result = match self.copies {
            0 => "no result".to_owned(),
            1 => "the result once".to_owned(),
            copies => format!("the result {copies} times"),
        };
        let result = if self.timeout_first { format!("a queue timeout, then {result}") } else { result };
        match self.delay {
            Some(delay) => format!("{result}, after {} s", delay.as_secs()),
            None => result,
        }
    }
}

//! The nine callback kinds, one row each: the single source that the
//! runtime's [`CallbackKind`](crate::CallbackKind) and kind markers, the
//! attribute macros and the default paths are all generated from.
//!
//! Like `path_rules.rs`, this file is compiled into both crates (the macro
//! crate reaches it through a symbolic link), so it holds only a
//! `macro_rules!` table and depends on nothing.

/// Calls `$then!` with every kind's row:
///
/// - `marker`: the name of the kind's marker type and `CallbackKind` variant;
/// - `attribute`: the attribute macro's name, also used in logs;
/// - `default_path`: the path of an attribute given none;
/// - `payload` / `payload_name`: the handler's first argument, as a type and
///   as users write it;
/// - `answer`: the body Daraja gets once it is handled (`Verdict` for the
///   one kind answered with the handler's verdict);
/// - `summary`: what Daraja sends, and to which URL.
macro_rules! with_callback_kinds {
    ($then:ident) => {
        $then! {
            StkCallback {
                attribute: stk_callback,
                default_path: "/callbacks/stk",
                payload: StkCallback,
                payload_name: "StkCallback",
                answer: StkAck,
                summary: "The STK push result, posted to `CallBackURL`.",
            }
            C2bValidation {
                attribute: c2b_validation,
                default_path: "/callbacks/c2b/validation",
                payload: C2bPayment,
                payload_name: "C2bPayment",
                answer: Verdict,
                summary: "C2B validation, posted to `ValidationURL`: the only kind answered with a verdict.",
            }
            C2bConfirmation {
                attribute: c2b_confirmation,
                default_path: "/callbacks/c2b/confirmation",
                payload: C2bPayment,
                payload_name: "C2bPayment",
                answer: ConfirmationAck,
                summary: "C2B confirmation, posted to `ConfirmationURL`.",
            }
            B2cResult {
                attribute: b2c_result,
                default_path: "/callbacks/b2c/result",
                payload: DarajaResult<B2cParams>,
                payload_name: "DarajaResult<B2cParams>",
                answer: ResultAck,
                summary: "The B2C result, posted to `ResultURL`.",
            }
            AccountBalanceResult {
                attribute: account_balance_result,
                default_path: "/callbacks/account-balance/result",
                payload: DarajaResult<AccountBalanceParams>,
                payload_name: "DarajaResult<AccountBalanceParams>",
                answer: ResultAck,
                summary: "The account balance result, posted to `ResultURL`.",
            }
            TransactionStatusResult {
                attribute: transaction_status_result,
                default_path: "/callbacks/transaction-status/result",
                payload: DarajaResult<TransactionStatusParams>,
                payload_name: "DarajaResult<TransactionStatusParams>",
                answer: ResultAck,
                summary: "The transaction status result, posted to `ResultURL`.",
            }
            ReversalResult {
                attribute: reversal_result,
                default_path: "/callbacks/reversal/result",
                payload: DarajaResult<ReversalParams>,
                payload_name: "DarajaResult<ReversalParams>",
                answer: ResultAck,
                summary: "The reversal result, posted to `ResultURL`.",
            }
            B2bResult {
                attribute: b2b_result,
                default_path: "/callbacks/b2b/result",
                payload: DarajaResult<B2bParams>,
                payload_name: "DarajaResult<B2bParams>",
                answer: ResultAck,
                summary: "The B2B (and tax, top-up) result, posted to `ResultURL`.",
            }
            QueueTimeout {
                attribute: queue_timeout,
                default_path: "/callbacks/queue-timeout",
                payload: QueueTimeout,
                payload_name: "QueueTimeout",
                answer: ResultAck,
                summary: "A queue timeout, posted to `QueueTimeOutURL`.",
            }
        }
    };
}

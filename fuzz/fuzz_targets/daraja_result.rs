//! Arbitrary bytes as each of the six result kinds' bodies (B2C, account
//! balance, transaction status, reversal, B2B): never a panic; accepted
//! whole or refused with a short, escaped error naming the field.

#![no_main]

use pesakit::{AccountBalanceParams, B2bParams, B2cParams, DarajaResult, ReversalParams, TransactionStatusParams};
use pesakit_fuzz::check_payload;

libfuzzer_sys::fuzz_target!(|body: &[u8]| {
    check_payload::<DarajaResult<B2cParams>>(body);
    check_payload::<DarajaResult<AccountBalanceParams>>(body);
    check_payload::<DarajaResult<TransactionStatusParams>>(body);
    check_payload::<DarajaResult<ReversalParams>>(body);
    check_payload::<DarajaResult<B2bParams>>(body);
});

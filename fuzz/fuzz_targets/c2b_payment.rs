//! Arbitrary bytes as a `C2bPayment` body: never a panic; accepted whole or
//! refused with a short, escaped error naming the field.

#![no_main]

libfuzzer_sys::fuzz_target!(|body: &[u8]| pesakit_fuzz::check_payload::<pesakit::C2bPayment>(body));

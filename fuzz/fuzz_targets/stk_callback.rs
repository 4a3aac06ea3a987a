//! Arbitrary bytes as a `StkCallback` body: never a panic; accepted whole or
//! refused with a short, escaped error naming the field.

#![no_main]

libfuzzer_sys::fuzz_target!(|body: &[u8]| pesakit_fuzz::check_payload::<pesakit::StkCallback>(body));

#![deny(dead_code)]

use pesakit::{daraja, StkCallback};

#[daraja::stk_callback("/payments/stk")]
fn listed(_callback: StkCallback) {}

#[daraja::stk_callback("/payments/forgotten")]
fn forgotten(_callback: StkCallback) {}

fn main() {
    let _ = pesakit::routes![listed];
}

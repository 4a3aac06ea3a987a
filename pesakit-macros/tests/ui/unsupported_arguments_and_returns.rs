use pesakit::{daraja, C2bPayment, StkCallback};

struct Database;

#[daraja::stk_callback]
fn unknown_extractor(_callback: StkCallback, _database: Database) {}

#[daraja::c2b_confirmation]
fn returns_a_number(_payment: C2bPayment) -> u32 {
    7
}

#[daraja::c2b_validation]
fn validation_returns_nothing(_payment: C2bPayment) {}

#[daraja::stk_callback("/stk/impl")]
fn impl_argument(_callback: StkCallback, _headers: impl Sized) {}

fn main() {
    let _ = pesakit::routes![unknown_extractor, returns_a_number, validation_returns_nothing, impl_argument];
}

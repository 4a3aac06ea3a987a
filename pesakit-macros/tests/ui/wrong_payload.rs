use pesakit::{daraja, C2bPayment, DarajaResult, ReversalParams, State};

#[daraja::stk_callback]
fn confirmation_payload(_payment: C2bPayment) {}

#[daraja::b2c_result]
fn wrong_params(_result: DarajaResult<ReversalParams>) {}

#[daraja::c2b_confirmation]
fn state_first(_state: State<u8>, _payment: C2bPayment) {}

#[daraja::queue_timeout]
fn no_payload() {}

fn main() {
    let _ = pesakit::routes![confirmation_payload, wrong_params, state_first, no_payload];
}

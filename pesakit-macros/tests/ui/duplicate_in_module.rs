#[pesakit::daraja::callbacks]
mod payments {
    use pesakit::{daraja, StkCallback};

    #[daraja::stk_callback("/payments/stk")]
    pub fn first(_callback: StkCallback) {}

    #[daraja::stk_callback("/payments/stk")]
    pub fn second(_callback: StkCallback) {}

    #[daraja::stk_callback]
    pub fn default_one(_callback: StkCallback) {}

    #[daraja::stk_callback]
    pub fn default_two(_callback: StkCallback) {}
}

fn main() {
    let _ = payments::routes();
}

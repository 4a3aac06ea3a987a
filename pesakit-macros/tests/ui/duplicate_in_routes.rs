use pesakit::{daraja, StkCallback};

mod elsewhere {
    #[pesakit::daraja::stk_callback("/payments/stk")]
    pub fn paid(_callback: pesakit::StkCallback) {}
}

#[daraja::stk_callback("/payments/stk")]
fn paid(_callback: StkCallback) {}

fn main() {
    let _ = pesakit::routes![paid, elsewhere::paid];
}

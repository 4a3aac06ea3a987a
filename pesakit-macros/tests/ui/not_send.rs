use std::rc::Rc;

use pesakit::{daraja, StkCallback};

async fn store(_receipt: Rc<String>) {}

#[daraja::stk_callback]
async fn holds_rc_across_await(callback: StkCallback) {
    let receipt = Rc::new(callback.checkout_request_id);
    store(receipt.clone()).await;
    drop(receipt);
}

fn main() {
    let _ = pesakit::routes![holds_rc_across_await];
}

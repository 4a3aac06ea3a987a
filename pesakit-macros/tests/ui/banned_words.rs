use pesakit::{daraja, C2bPayment, StkCallback, Validation};

#[daraja::stk_callback("/mpesa/stk")]
fn mpesa(_callback: StkCallback) {}

#[daraja::stk_callback("/payments/M-Pesa")]
fn m_pesa(_callback: StkCallback) {}

#[daraja::c2b_confirmation("/Safaricom/confirm")]
fn safaricom(_payment: C2bPayment) {}

#[daraja::c2b_validation("/validate/mysql")]
fn sql(_payment: C2bPayment) -> Validation {
    Validation::Accept
}

#[daraja::stk_callback("/stk/QUERY")]
fn query(_callback: StkCallback) {}

#[daraja::stk_callback("/cmd/stk")]
fn cmd(_callback: StkCallback) {}

#[daraja::stk_callback("/run.exe")]
fn exe(_callback: StkCallback) {}

#[daraja::stk_callback("/exec/stk")]
fn exec(_callback: StkCallback) {}

fn main() {}

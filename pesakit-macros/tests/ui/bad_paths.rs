use pesakit::{daraja, StkCallback};

#[daraja::stk_callback("payments/stk")]
fn relative(_callback: StkCallback) {}

#[daraja::stk_callback("https://example.com/stk")]
fn with_host(_callback: StkCallback) {}

#[daraja::stk_callback("/stk?token=1")]
fn with_query(_callback: StkCallback) {}

#[daraja::stk_callback("/stk#top")]
fn with_fragment(_callback: StkCallback) {}

#[daraja::stk_callback("/payments/stk callback")]
fn with_space(_callback: StkCallback) {}

#[daraja::stk_callback("/payments//stk")]
fn empty_segment(_callback: StkCallback) {}

#[daraja::stk_callback("/payments/../stk")]
fn dot_segment(_callback: StkCallback) {}

#[daraja::stk_callback("")]
fn empty(_callback: StkCallback) {}

#[daraja::stk_callback("/payments/:order")]
fn parameter_segment(_callback: StkCallback) {}

#[daraja::stk_callback("/payments/{order}")]
fn braced_parameter_segment(_callback: StkCallback) {}

fn main() {
    // The functions are still emitted, so using them raises no further error.
    let _ = pesakit::routes![relative, with_host, with_query, with_fragment, with_space, empty_segment, dot_segment, empty];
    let _ = pesakit::routes![parameter_segment, braced_parameter_segment];
}

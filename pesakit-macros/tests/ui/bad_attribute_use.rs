use pesakit::{daraja, StkCallback};

#[daraja::stk_callback("/stk", retries = 3)]
fn unknown_option(_callback: StkCallback) {}

#[daraja::stk_callback]
struct NotAFunction;

#[daraja::stk_callback("/stk/generic")]
fn generic<T>(_callback: StkCallback) {}

#[daraja::stk_callback("/stk/unsafe")]
unsafe fn not_safe(_callback: StkCallback) {}

#[daraja::callbacks("/a/path")]
mod with_path {}

fn main() {
    let _ = pesakit::routes![unknown_option, generic, not_safe];
}

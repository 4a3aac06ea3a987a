mod payments {
    use pesakit::{daraja, C2bPayment, StkCallback};
    #[daraja::stk_callback("/payments/stk")]
    pub fn stk(callback: StkCallback) {}
    #[daraja::c2b_confirmation]
    pub fn confirmed(payment: C2bPayment) {}
    fn helper() {}
    /// The route table of this module's Daraja handlers.
    #[allow(unreachable_pub)]
    pub fn routes() -> ::pesakit::__private::Routes {
        const _: () = {
            if ::pesakit::__private::str_eq(
                <stk as ::pesakit::__private::Handler>::PATH,
                <confirmed as ::pesakit::__private::Handler>::PATH,
            ) {
                ::pesakit::__private::panic!(
                    "`stk` and `confirmed` serve the same callback path; give one of them another path"
                );
            }
        };
        ::pesakit::__private::Routes::from_checked([
            ::pesakit::__private::Handler::route(stk {}),
            ::pesakit::__private::Handler::route(confirmed {}),
        ])
    }
}

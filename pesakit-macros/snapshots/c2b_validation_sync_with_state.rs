fn validate(
    payment: C2bPayment,
    State(ledger): State<Ledger>,
) -> Result<Validation, LedgerError> {
    ledger.check(&payment)
}
#[doc(hidden)]
#[allow(non_camel_case_types, unreachable_pub)]
struct validate {}
impl ::pesakit::__private::Handler for validate {
    const PATH: &'static str = "/c2b/validate";
    const NAME: &'static str = "validate";
    fn route(self) -> ::pesakit::__private::Route {
        ::pesakit::__private::Route::from_handler::<
            ::pesakit::__private::kind::C2bValidation,
            _,
        >(
            <Self as ::pesakit::__private::Handler>::PATH,
            <Self as ::pesakit::__private::Handler>::NAME,
            ::pesakit::__private::required_states([
                <State<
                    Ledger,
                > as ::pesakit::__private::FromCallbackRequest>::required_state(),
            ]),
            |
                payload: <::pesakit::__private::kind::C2bValidation as ::pesakit::__private::Kind>::Payload,
                request: &::pesakit::__private::CallbackRequest<'_>,
            | -> ::pesakit::__private::HandlerFuture {
                let argument_payload = ::pesakit::__private::expect_payload::<
                    <::pesakit::__private::kind::C2bValidation as ::pesakit::__private::Kind>::Payload,
                    C2bPayment,
                >(payload);
                let argument_0 = <State<
                    Ledger,
                > as ::pesakit::__private::FromCallbackRequest>::from_callback_request(
                    request,
                );
                ::pesakit::__private::boxed_handler_future(async move {
                    let argument_0 = argument_0?;
                    let output = ::pesakit::__private::run_blocking(move || validate(
                            argument_payload,
                            argument_0,
                        ))
                        .await?;
                    ::pesakit::__private::Ok(
                        ::pesakit::__private::Reply::Verdict(
                            ::pesakit::__private::IntoVerdict::into_verdict(output)?,
                        ),
                    )
                })
            },
        )
    }
}

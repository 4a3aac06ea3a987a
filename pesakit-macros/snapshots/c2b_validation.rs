fn handler(payload: C2bPayment) -> Validation {
    Validation::Accept
}
#[doc(hidden)]
#[allow(non_camel_case_types, unreachable_pub)]
struct handler {}
impl ::pesakit::__private::Handler for handler {
    const PATH: &'static str = "/callbacks/c2b/validation";
    const NAME: &'static str = "handler";
    fn route(self) -> ::pesakit::__private::Route {
        ::pesakit::__private::Route::from_handler::<
            ::pesakit::__private::kind::C2bValidation,
            _,
        >(
            <Self as ::pesakit::__private::Handler>::PATH,
            <Self as ::pesakit::__private::Handler>::NAME,
            ::pesakit::__private::required_states([]),
            |
                payload: <::pesakit::__private::kind::C2bValidation as ::pesakit::__private::Kind>::Payload,
                request: &::pesakit::__private::CallbackRequest<'_>,
            | -> ::pesakit::__private::HandlerFuture {
                let argument_payload = ::pesakit::__private::expect_payload::<
                    <::pesakit::__private::kind::C2bValidation as ::pesakit::__private::Kind>::Payload,
                    C2bPayment,
                >(payload);
                ::pesakit::__private::boxed_handler_future(async move {
                    let output = ::pesakit::__private::run_blocking(move || handler(
                            argument_payload,
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

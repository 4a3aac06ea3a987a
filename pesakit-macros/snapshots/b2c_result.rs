async fn handler(payload: DarajaResult<B2cParams>) {}
#[doc(hidden)]
#[allow(non_camel_case_types, unreachable_pub)]
struct handler {}
impl ::pesakit::__private::Handler for handler {
    const PATH: &'static str = "/callbacks/b2c/result";
    const NAME: &'static str = "handler";
    fn route(self) -> ::pesakit::__private::Route {
        ::pesakit::__private::Route::from_handler::<
            ::pesakit::__private::kind::B2cResult,
            _,
        >(
            <Self as ::pesakit::__private::Handler>::PATH,
            <Self as ::pesakit::__private::Handler>::NAME,
            ::pesakit::__private::required_states([]),
            |
                payload: <::pesakit::__private::kind::B2cResult as ::pesakit::__private::Kind>::Payload,
                request: &::pesakit::__private::CallbackRequest<'_>,
            | -> ::pesakit::__private::HandlerFuture {
                let argument_payload = ::pesakit::__private::expect_payload::<
                    <::pesakit::__private::kind::B2cResult as ::pesakit::__private::Kind>::Payload,
                    DarajaResult<B2cParams>,
                >(payload);
                ::pesakit::__private::boxed_handler_future(async move {
                    let output = handler(argument_payload).await;
                    ::pesakit::__private::Ok({
                        ::pesakit::__private::IntoAck::into_ack(output)?;
                        ::pesakit::__private::Reply::Ack
                    })
                })
            },
        )
    }
}

async fn handler(payload: DarajaResult<B2bParams>) {}
#[doc(hidden)]
#[allow(non_camel_case_types, unreachable_pub)]
struct handler {}
impl ::pesakit::__private::Handler for handler {
    const PATH: &'static str = "/callbacks/b2b/result";
    const NAME: &'static str = "handler";
    fn route(self) -> ::pesakit::__private::Route {
        ::pesakit::__private::Route::from_handler::<
            ::pesakit::__private::DarajaResult<::pesakit::__private::B2bParams>,
            _,
        >(
            ::pesakit::__private::CallbackKind::B2bResult,
            <Self as ::pesakit::__private::Handler>::PATH,
            <Self as ::pesakit::__private::Handler>::NAME,
            |
                payload: ::pesakit::__private::DarajaResult<
                    ::pesakit::__private::B2bParams,
                >,
                request: &::pesakit::__private::CallbackRequest<'_>,
            | -> ::pesakit::__private::HandlerFuture {
                let argument_payload = ::pesakit::__private::expect_payload::<
                    ::pesakit::__private::DarajaResult<::pesakit::__private::B2bParams>,
                    DarajaResult<B2bParams>,
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

async fn handler(payload: DarajaResult<ReversalParams>) {}
#[doc(hidden)]
#[allow(non_camel_case_types, unreachable_pub)]
struct handler {}
impl ::pesakit::__private::Handler for handler {
    const PATH: &'static str = "/callbacks/reversal/result";
    const NAME: &'static str = "handler";
    fn route(self) -> ::pesakit::__private::Route {
        ::pesakit::__private::Route::from_handler::<
            ::pesakit::__private::DarajaResult<::pesakit::__private::ReversalParams>,
            _,
        >(
            ::pesakit::__private::CallbackKind::ReversalResult,
            <Self as ::pesakit::__private::Handler>::PATH,
            <Self as ::pesakit::__private::Handler>::NAME,
            |
                payload: ::pesakit::__private::DarajaResult<
                    ::pesakit::__private::ReversalParams,
                >,
                request: &::pesakit::__private::CallbackRequest<'_>,
            | -> ::pesakit::__private::HandlerFuture {
                let argument_payload = ::pesakit::__private::expect_payload::<
                    ::pesakit::__private::DarajaResult<
                        ::pesakit::__private::ReversalParams,
                    >,
                    DarajaResult<ReversalParams>,
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

pub async fn paid(
    callback: StkCallback,
    State(db): State<Db>,
    headers: HeaderMap,
    peer: Option<PeerAddr>,
    RawBody(raw): RawBody,
) -> Result<(), DbError> {
    db.store(callback, raw).await
}
#[doc(hidden)]
#[allow(non_camel_case_types, unreachable_pub)]
pub struct paid {}
impl ::my_pesakit::__private::Handler for paid {
    const PATH: &'static str = "/payments/stk";
    const NAME: &'static str = "paid";
    fn route(self) -> ::my_pesakit::__private::Route {
        ::my_pesakit::__private::Route::from_handler::<
            ::my_pesakit::__private::kind::StkCallback,
            _,
        >(
            <Self as ::my_pesakit::__private::Handler>::PATH,
            <Self as ::my_pesakit::__private::Handler>::NAME,
            ::my_pesakit::__private::required_states([
                <State<
                    Db,
                > as ::my_pesakit::__private::FromCallbackRequest>::required_state(),
                <HeaderMap as ::my_pesakit::__private::FromCallbackRequest>::required_state(),
                <Option<
                    PeerAddr,
                > as ::my_pesakit::__private::FromCallbackRequest>::required_state(),
                <RawBody as ::my_pesakit::__private::FromCallbackRequest>::required_state(),
            ]),
            |
                payload: <::my_pesakit::__private::kind::StkCallback as ::my_pesakit::__private::Kind>::Payload,
                request: &::my_pesakit::__private::CallbackRequest<'_>,
            | -> ::my_pesakit::__private::HandlerFuture {
                let argument_payload = ::my_pesakit::__private::expect_payload::<
                    <::my_pesakit::__private::kind::StkCallback as ::my_pesakit::__private::Kind>::Payload,
                    StkCallback,
                >(payload);
                let argument_0 = <State<
                    Db,
                > as ::my_pesakit::__private::FromCallbackRequest>::from_callback_request(
                    request,
                );
                let argument_1 = <HeaderMap as ::my_pesakit::__private::FromCallbackRequest>::from_callback_request(
                    request,
                );
                let argument_2 = <Option<
                    PeerAddr,
                > as ::my_pesakit::__private::FromCallbackRequest>::from_callback_request(
                    request,
                );
                let argument_3 = <RawBody as ::my_pesakit::__private::FromCallbackRequest>::from_callback_request(
                    request,
                );
                ::my_pesakit::__private::boxed_handler_future(async move {
                    let argument_0 = argument_0?;
                    let argument_1 = argument_1?;
                    let argument_2 = argument_2?;
                    let argument_3 = argument_3?;
                    let output = paid(
                            argument_payload,
                            argument_0,
                            argument_1,
                            argument_2,
                            argument_3,
                        )
                        .await;
                    ::my_pesakit::__private::Ok({
                        ::my_pesakit::__private::IntoAck::into_ack(output)?;
                        ::my_pesakit::__private::Reply::Ack
                    })
                })
            },
        )
    }
}

fn paid(callback: StkCallback) {}
::core::compile_error! {
    "invalid callback path: the path contains `mpesa`, which Safaricom rejects in callback URLs in any letter case: Daraja would refuse the URL and no callback would arrive; choose another word"
}
#[doc(hidden)]
#[allow(non_camel_case_types, unreachable_pub, dead_code)]
struct paid {}
impl ::pesakit::__private::Handler for paid {
    const PATH: &'static str = "/paid";
    const NAME: &'static str = "paid";
    fn route(self) -> ::pesakit::__private::Route {
        ::pesakit::__private::unreachable!("the handler's attribute has a compile error")
    }
}

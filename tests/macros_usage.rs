//! The attributes where users put them: without the prelude, inside
//! `macro_rules!`, under a renamed crate, across modules, in `#[callbacks]`
//! modules; and the handlers stay plain functions.

extern crate pesakit as renamed_kit;

use pesakit::testing;

/// Generated code must name everything by absolute path.
mod without_prelude {
    #![no_implicit_prelude]

    #[::pesakit::daraja::stk_callback("/hygiene/stk")]
    pub(crate) async fn stk(
        _callback: ::pesakit::StkCallback,
        ::pesakit::State(count): ::pesakit::State<u32>,
    ) -> ::core::result::Result<(), ::std::string::String> {
        if count > 0 {
            ::core::result::Result::Ok(())
        } else {
            ::core::result::Result::Err(::std::borrow::ToOwned::to_owned("no count"))
        }
    }

    #[::pesakit::daraja::c2b_validation("/hygiene/validate")]
    pub(crate) fn validate(
        _payment: ::pesakit::C2bPayment,
        _peer: ::core::option::Option<::pesakit::PeerAddr>,
    ) -> bool {
        true
    }

    #[::pesakit::daraja::callbacks]
    pub(crate) mod results {
        #[::pesakit::daraja::queue_timeout("/hygiene/timeout")]
        pub(crate) fn timed_out(_timeout: ::pesakit::QueueTimeout) {}
    }

    pub(crate) fn table() -> ::pesakit::Routes {
        ::pesakit::routes![stk, validate]
    }
}

macro_rules! stk_handler {
    ($name:ident, $path:literal) => {
        #[pesakit::daraja::stk_callback($path)]
        fn $name(_callback: pesakit::StkCallback) {}
    };
}

stk_handler!(from_macro_first, "/macro/first");
stk_handler!(from_macro_second, "/macro/second");

#[renamed_kit::daraja::b2b_result("/renamed/b2b", crate = "::renamed_kit")]
fn under_renamed_crate(_result: renamed_kit::DarajaResult<renamed_kit::B2bParams>) {}

mod payments {
    pub(crate) mod stk {
        #[pesakit::daraja::stk_callback("/payments/stk")]
        pub(crate) fn paid(_callback: pesakit::StkCallback) {}
    }

    pub(crate) mod c2b {
        #[pesakit::daraja::c2b_confirmation("/payments/confirm")]
        pub(crate) async fn confirmed(_payment: pesakit::C2bPayment) {}
    }
}

const CANCELLED: &str = r#"{"Body":{"stkCallback":{"MerchantRequestID":"1","CheckoutRequestID":"ws_CO_1","ResultCode":1032,"ResultDesc":"Request cancelled by user"}}}"#;

fn paths(routes: &pesakit::Routes) -> Vec<&'static str> {
    routes.iter().map(|route| route.path()).collect()
}

#[tokio::test]
async fn generated_code_needs_no_prelude() {
    let routes = without_prelude::table().with_state(1u32);
    assert_eq!(paths(&routes), ["/hygiene/stk", "/hygiene/validate"]);
    assert_eq!(testing::post(&routes, "/hygiene/stk", CANCELLED).await.status(), 200);
    assert_eq!(paths(&without_prelude::results::routes()), ["/hygiene/timeout"]);
    let failing = without_prelude::table().with_state(0u32);
    assert_eq!(testing::post(&failing, "/hygiene/stk", CANCELLED).await.status(), 500);
}

#[test]
fn attributes_work_inside_macro_rules() {
    let routes = pesakit::routes![from_macro_first, from_macro_second];
    assert_eq!(paths(&routes), ["/macro/first", "/macro/second"]);
}

#[test]
fn the_crate_option_names_a_renamed_dependency() {
    let routes = renamed_kit::routes![under_renamed_crate];
    assert_eq!(paths(&routes), ["/renamed/b2b"]);
    assert_eq!(routes.iter().next().map(|route| route.kind()), Some(pesakit::CallbackKind::B2bResult));
}

#[test]
fn handlers_from_several_modules_share_a_table() {
    let routes = pesakit::routes![payments::stk::paid, payments::c2b::confirmed, from_macro_first];
    assert_eq!(paths(&routes), ["/payments/stk", "/payments/confirm", "/macro/first"]);
    let names: Vec<_> = routes.iter().map(|route| route.handler_name()).collect();
    assert_eq!(names, ["paid", "confirmed", "from_macro_first"]);
}

#[test]
fn merging_tables_refuses_a_shared_path_by_name() {
    let first = pesakit::routes![payments::stk::paid];
    let again = pesakit::routes![payments::stk::paid];
    let error = first.merge(again).expect_err("duplicate path");
    assert_eq!(
        error.to_string(),
        "two handlers serve the callback path `/payments/stk`: `paid` and `paid`; give one of them another path"
    );
    let merged = pesakit::routes![payments::stk::paid].merge(pesakit::routes![payments::c2b::confirmed]);
    assert_eq!(merged.map(|routes| routes.len()), Ok(2));
}

#[test]
fn handlers_stay_callable_by_name() {
    use pesakit::{Payload, StkCallback};

    let callback = StkCallback::from_slice(CANCELLED.as_bytes()).expect("valid body");
    payments::stk::paid(callback);
    assert!(without_prelude::validate(
        pesakit::C2bPayment::from_slice(
            br#"{"TransID":"X1","TransTime":"20191122063845","TransAmount":"10","MSISDN":"254708374149"}"#
        )
        .expect("valid body"),
        None
    ));
}

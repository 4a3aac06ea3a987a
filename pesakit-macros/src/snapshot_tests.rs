//! Expansion snapshots of every attribute: the generated code, pretty-printed,
//! compared with `snapshots/*.rs`. Set `PESAKIT_BLESS=1` to rewrite them
//! after an intended change, then review the diff.

use std::path::Path;

use proc_macro2::TokenStream;
use quote::quote;

use crate::kind::Kind;

fn pretty(tokens: TokenStream) -> String {
    match syn::parse2::<syn::File>(tokens.clone()) {
        Ok(file) => prettyplease::unparse(&file),
        Err(error) => panic!("the expansion is not a valid file ({error}):\n{tokens}"),
    }
}

fn assert_snapshot(name: &str, tokens: TokenStream) {
    let actual = pretty(tokens);
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("snapshots").join(format!("{name}.rs"));
    if std::env::var_os("PESAKIT_BLESS").is_some() {
        std::fs::write(&path, &actual).expect("write snapshot");
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("{}: {error}; run with PESAKIT_BLESS=1 to create it", path.display()));
    assert!(actual == expected, "expansion of {name} changed; run with PESAKIT_BLESS=1 and review:\n{actual}");
}

fn stk_callback() -> Kind {
    Kind::find("stk_callback").expect("a kind")
}

#[test]
fn every_kind_expands_to_its_route() {
    for &kind in crate::KINDS {
        let attribute = kind.attribute;
        let payload: syn::Type = syn::parse_str(kind.payload_name()).expect("payload type");
        let item = if kind.is_validation() {
            quote!(fn handler(payload: #payload) -> Validation { Validation::Accept })
        } else {
            quote!(async fn handler(payload: #payload) {})
        };
        let expanded = pretty(crate::handler::expand(kind, TokenStream::new(), item.clone()));
        // The expansions differ only in kind, payload type and answer; three
        // representative ones are kept whole as snapshots.
        // Compared without white space and commas, which the printer adds.
        let compact = expanded.replace(|c: char| c.is_whitespace() || c == ',', "");
        let marker = kind.marker(&quote!(::pesakit::__private)).to_string().replace([' ', ','], "");
        assert!(compact.contains(&format!("from_handler::<{marker}_>")), "{attribute}:\n{expanded}");
        assert!(expanded.contains(&format!("const PATH: &'static str = \"{}\"", kind.default_path())), "{attribute}");
        let answer = if kind.is_validation() { "IntoVerdict::into_verdict" } else { "IntoAck::into_ack" };
        assert!(expanded.contains(answer), "{attribute}");
        if matches!(attribute, "stk_callback" | "c2b_validation" | "b2c_result") {
            assert_snapshot(attribute, crate::handler::expand(kind, TokenStream::new(), item));
        }
    }
}

#[test]
fn extractors_paths_and_options() {
    let expanded = crate::handler::expand(
        stk_callback(),
        quote!("/payments/stk", crate = "::my_pesakit"),
        quote! {
            pub async fn paid(
                callback: StkCallback,
                State(db): State<Db>,
                headers: HeaderMap,
                peer: Option<PeerAddr>,
                RawBody(raw): RawBody,
            ) -> Result<(), DbError> {
                db.store(callback, raw).await
            }
        },
    );
    assert_snapshot("stk_callback_with_extractors", expanded);
}

#[test]
fn sync_validation_runs_blocking() {
    let expanded = crate::handler::expand(
        Kind::find("c2b_validation").expect("a kind"),
        quote!("/c2b/validate"),
        quote!(
            fn validate(payment: C2bPayment, State(ledger): State<Ledger>) -> Result<Validation, LedgerError> {
                ledger.check(&payment)
            }
        ),
    );
    assert_snapshot("c2b_validation_sync_with_state", expanded);
}

#[test]
fn an_error_keeps_the_function_and_a_placeholder() {
    let expanded = crate::handler::expand(
        stk_callback(),
        quote!("/mpesa/stk"),
        quote!(
            fn paid(callback: StkCallback) {}
        ),
    );
    assert_snapshot("error_keeps_function", expanded);
}

#[test]
fn routes_checks_every_pair() {
    let table = crate::routes::expand(quote!(::pesakit; paid, payments::validate, timeout));
    assert_snapshot("routes", quote!(fn table() -> ::pesakit::Routes #table));
}

#[test]
fn callbacks_module_gets_routes() {
    let expanded = crate::callbacks::expand(
        TokenStream::new(),
        quote! {
            mod payments {
                use pesakit::{daraja, C2bPayment, StkCallback};

                #[daraja::stk_callback("/payments/stk")]
                pub fn stk(callback: StkCallback) {}

                #[daraja::c2b_confirmation]
                pub fn confirmed(payment: C2bPayment) {}

                fn helper() {}
            }
        },
    );
    assert_snapshot("callbacks_module", expanded);
}

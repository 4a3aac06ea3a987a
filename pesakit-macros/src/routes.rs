//! `routes![a, b, …]`: a route table from handlers, with duplicate paths
//! refused at compile time.

use proc_macro2::{TokenStream, TokenTree};
use quote::{quote, quote_spanned};
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Path, Token};

/// Expands `$crate ; handler, handler, …` as passed by `pesakit::routes!`.
pub(crate) fn expand(input: TokenStream) -> TokenStream {
    let mut tokens = input.into_iter();
    let krate: TokenStream = tokens
        .by_ref()
        .take_while(|token| !matches!(token, TokenTree::Punct(punct) if punct.as_char() == ';'))
        .collect();
    let private = quote!(#krate::__private);
    let handlers = match Punctuated::<Path, Token![,]>::parse_terminated.parse2(tokens.collect()) {
        Ok(handlers) => handlers,
        Err(error) => return error.to_compile_error(),
    };
    let handlers: Vec<&Path> = handlers.iter().collect();
    table(&private, &handlers)
}

/// The table of `handlers`, preceded by a compile-time check that no two
/// serve one path (the paths are constants of their companions).
pub(crate) fn table(private: &TokenStream, handlers: &[&Path]) -> TokenStream {
    let checks = handlers.iter().enumerate().flat_map(|(index, second)| {
        handlers[..index].iter().map(move |first| {
            let message = format!(
                "`{}` and `{}` serve the same callback path; give one of them another path",
                display(first),
                display(second)
            );
            quote_spanned! {second.span()=>
                if #private::str_eq(
                    <#first as #private::Handler>::PATH,
                    <#second as #private::Handler>::PATH,
                ) {
                    #private::panic!(#message);
                }
            }
        })
    });
    quote! {{
        const _: () = { #(#checks)* };
        #private::Routes::from_checked([#(#private::Handler::route(#handlers {})),*])
    }}
}

fn display(path: &Path) -> String {
    quote!(#path).to_string().replace(' ', "")
}

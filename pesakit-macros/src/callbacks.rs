//! `#[daraja::callbacks] mod m { … }`: generates `m::routes()` for the
//! handlers of an inline module.

use std::collections::HashMap;

use proc_macro2::TokenStream;
use quote::quote;
use syn::spanned::Spanned;
use syn::{Item, ItemMod, Meta, Path};

use crate::args::AttributeArgs;
use crate::kind::Kind;

pub(crate) fn expand(attr: TokenStream, item: TokenStream) -> TokenStream {
    let module: ItemMod = match syn::parse2(item.clone()) {
        Ok(module) => module,
        Err(_) => {
            let error =
                syn::Error::new(item.span(), "`#[daraja::callbacks]` goes on an inline module").to_compile_error();
            return quote!(#item #error);
        }
    };
    match expand_module(attr, module.clone()) {
        Ok(tokens) => tokens,
        Err(error) => {
            let error = error.to_compile_error();
            quote!(#module #error)
        }
    }
}

fn expand_module(attr: TokenStream, mut module: ItemMod) -> syn::Result<TokenStream> {
    let args = AttributeArgs::parse_options(attr)?;
    let private = args.private_module();
    let Some((_, items)) = &mut module.content else {
        return Err(syn::Error::new(module.span(), "`#[daraja::callbacks]` needs an inline module: `mod name { … }`"));
    };
    let handlers = handlers_in(items);
    let mut errors: Option<syn::Error> = None;
    let mut served: HashMap<&str, &syn::Ident> = HashMap::new();
    let mut names: Vec<Path> = Vec::with_capacity(handlers.len());
    for handler in &handlers {
        if let Some(path) = &handler.path {
            if let Some(first) = served.get(path.as_str()) {
                let message =
                    format!("`{}` serves `{path}`, which `{first}` in this module already serves", handler.name);
                let error = syn::Error::new(handler.span, message);
                match &mut errors {
                    Some(errors) => errors.combine(error),
                    None => errors = Some(error),
                }
                // Left out of the table, so the error is reported once.
                continue;
            }
            served.insert(path, &handler.name);
        }
        names.push(Path::from(handler.name.clone()));
    }
    let table = crate::routes::table(&private, &names.iter().collect::<Vec<_>>());
    items.push(syn::parse_quote! {
        /// The route table of this module's Daraja handlers.
        #[allow(unreachable_pub)]
        pub fn routes() -> #private::Routes #table
    });
    let errors = errors.map(|errors| errors.to_compile_error());
    Ok(quote!(#module #errors))
}

/// A handler found in the module, with the path its attribute gives (`None`
/// when the attribute is malformed: its own expansion reports that).
struct FoundHandler {
    name: syn::Ident,
    path: Option<String>,
    span: proc_macro2::Span,
}

fn handlers_in(items: &[Item]) -> Vec<FoundHandler> {
    items
        .iter()
        .filter_map(|item| match item {
            Item::Fn(function) => Some(function),
            _ => None,
        })
        .filter_map(|function| {
            function.attrs.iter().find_map(|attribute| {
                let kind = Kind::find(&attribute.path().segments.last()?.ident.to_string())?;
                let name_span = function.sig.ident.span();
                let (path, span) = match &attribute.meta {
                    Meta::Path(_) => (Some(kind.default_path().to_owned()), name_span),
                    Meta::List(list) => match AttributeArgs::parse_handler(list.tokens.clone()) {
                        Ok(args) => match args.path {
                            Some(path) => (Some(path.value()), path.span()),
                            None => (Some(kind.default_path().to_owned()), name_span),
                        },
                        Err(_) => (None, name_span),
                    },
                    Meta::NameValue(_) => (None, name_span),
                };
                Some(FoundHandler { name: function.sig.ident.clone(), path, span })
            })
        })
        .collect()
}

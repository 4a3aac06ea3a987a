//! The arguments of the attributes: an optional path and options.

use proc_macro2::TokenStream;
use quote::quote;
use syn::ext::IdentExt;
use syn::parse::{Parse, ParseStream};
use syn::{Ident, LitStr, Token};

use crate::path_rules;

/// `("/path", crate = "::pesakit")`, every part optional.
#[derive(Default)]
pub(crate) struct AttributeArgs {
    pub(crate) path: Option<LitStr>,
    krate: Option<syn::Path>,
}

impl AttributeArgs {
    /// Parses handler attribute arguments, checking the path with the rules
    /// the route table uses.
    pub(crate) fn parse_handler(tokens: TokenStream) -> syn::Result<Self> {
        let args: Self = syn::parse2(tokens)?;
        if let Some(path) = &args.path {
            path_rules::check_path(&path.value())
                .map_err(|problem| syn::Error::new(path.span(), format!("invalid callback path: {problem}")))?;
        }
        Ok(args)
    }

    /// Parses options only, for attributes that take no path.
    pub(crate) fn parse_options(tokens: TokenStream) -> syn::Result<Self> {
        let args: Self = syn::parse2(tokens)?;
        match &args.path {
            Some(path) => Err(syn::Error::new(path.span(), "this attribute takes no path, only `crate = \"…\"`")),
            None => Ok(args),
        }
    }

    /// The path of the facade's hidden module, `::pesakit::__private` unless
    /// `crate = "…"` names the renamed dependency.
    pub(crate) fn private_module(&self) -> TokenStream {
        match &self.krate {
            Some(krate) => quote!(#krate::__private),
            None => quote!(::pesakit::__private),
        }
    }
}

impl Parse for AttributeArgs {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let mut args = Self::default();
        if input.peek(LitStr) {
            args.path = Some(input.parse()?);
            if input.is_empty() {
                return Ok(args);
            }
            input.parse::<Token![,]>()?;
        }
        while !input.is_empty() {
            let key = Ident::parse_any(input)?;
            if key != "crate" {
                let message = format!("unknown option `{key}`; the options are a path string and `crate = \"…\"`");
                return Err(syn::Error::new(key.span(), message));
            }
            if args.krate.is_some() {
                return Err(syn::Error::new(key.span(), "`crate` is given twice"));
            }
            input.parse::<Token![=]>()?;
            let value: LitStr = input.parse()?;
            args.krate = Some(value.parse_with(syn::Path::parse_mod_style).map_err(|_| {
                syn::Error::new(value.span(), "`crate` takes the path of the pesakit crate, such as \"::my_pesakit\"")
            })?);
            if !input.is_empty() {
                input.parse::<Token![,]>()?;
            }
        }
        Ok(args)
    }
}

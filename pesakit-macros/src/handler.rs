//! `#[daraja::stk_callback("/path")]` and the other handler attributes.

use proc_macro2::{Delimiter, Group, Ident, Span, TokenStream, TokenTree};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{FnArg, ItemFn, ReturnType, Safety, Type};

use crate::args::AttributeArgs;
use crate::kind::Kind;

/// Expands one handler attribute. On error the user's function is still
/// emitted, with a companion that keeps `routes![…]` quiet, so one mistake
/// is reported once.
pub(crate) fn expand(kind: Kind, attr: TokenStream, item: TokenStream) -> TokenStream {
    let function: ItemFn = match syn::parse2(item.clone()) {
        Ok(function) => function,
        Err(_) => {
            let message = format!("`#[daraja::{}]` goes on a function", kind.attribute);
            let error = syn::Error::new(item.span(), message).to_compile_error();
            return quote!(#item #error);
        }
    };
    match expand_handler(kind, attr.clone(), &function) {
        Ok(tokens) => tokens,
        Err(error) => {
            let error = error.to_compile_error();
            let private = syn::parse2::<AttributeArgs>(attr).unwrap_or_default().private_module();
            let placeholder = placeholder_companion(&function, &private);
            quote!(#function #error #placeholder)
        }
    }
}

fn expand_handler(kind: Kind, attr: TokenStream, function: &ItemFn) -> syn::Result<TokenStream> {
    let args = AttributeArgs::parse_handler(attr)?;
    let private = args.private_module();
    let signature = Signature::read(kind, function)?;
    let path = args.path.as_ref().map_or_else(|| kind.default_path().to_owned(), syn::LitStr::value);
    let name = &function.sig.ident;
    let name_text = name.to_string();
    let visibility = &function.vis;
    let marker = kind.marker(&private);
    let payload_type = kind.payload_type(&private);
    let required_states = signature.required_states(&private);
    let call = signature.call(kind, &private, name);
    Ok(quote! {
        #function

        #[doc(hidden)]
        #[allow(non_camel_case_types, unreachable_pub)]
        #visibility struct #name {}

        impl #private::Handler for #name {
            const PATH: &'static str = #path;
            const NAME: &'static str = #name_text;

            fn route(self) -> #private::Route {
                #private::Route::from_handler::<#marker, _>(
                    <Self as #private::Handler>::PATH,
                    <Self as #private::Handler>::NAME,
                    #required_states,
                    |payload: #payload_type, request: &#private::CallbackRequest<'_>| -> #private::HandlerFuture {
                        #call
                    },
                )
            }
        }
    })
}

/// What the macro reads from a handler's signature.
struct Signature<'a> {
    payload: &'a Type,
    extractors: Vec<&'a Type>,
    output: Option<&'a Type>,
    is_async: bool,
}

impl<'a> Signature<'a> {
    fn read(kind: Kind, function: &'a ItemFn) -> syn::Result<Self> {
        let signature = &function.sig;
        if let Safety::Unsafe(unsafety) = &signature.safety {
            return Err(syn::Error::new(unsafety.span(), "a handler cannot be `unsafe`"));
        }
        if !signature.generics.params.is_empty() || signature.generics.where_clause.is_some() {
            return Err(syn::Error::new(signature.generics.span(), "a handler cannot be generic"));
        }
        if let Some(variadic) = &signature.variadic {
            return Err(syn::Error::new(variadic.span(), "a handler cannot be variadic"));
        }
        let mut types = Vec::with_capacity(signature.inputs.len());
        for input in &signature.inputs {
            match input {
                FnArg::Receiver(receiver) => {
                    return Err(syn::Error::new(receiver.span(), "a handler is a free function, without `self`"));
                }
                FnArg::Typed(argument) if matches!(*argument.ty, Type::ImplTrait(_)) => {
                    return Err(syn::Error::new(argument.ty.span(), "a handler argument needs a concrete type"));
                }
                FnArg::Typed(argument) => types.push(&*argument.ty),
            }
        }
        let Some((payload, extractors)) = types.split_first() else {
            let message = format!(
                "a `{}` handler takes the payload `{}` as its first argument",
                kind.attribute,
                kind.payload_name()
            );
            return Err(syn::Error::new(signature.paren_token.span.join(), message));
        };
        let output = match &signature.output {
            ReturnType::Default => None,
            ReturnType::Type(_, output) => Some(&**output),
        };
        Ok(Self { payload, extractors: extractors.to_vec(), output, is_async: signature.asyncness.is_some() })
    }

    /// The states the extractors need from the table, checked before it
    /// serves.
    fn required_states(&self, private: &TokenStream) -> TokenStream {
        let requirements = self.extractors.iter().map(|extractor| {
            respanned(&quote!(<#extractor as #private::FromCallbackRequest>::required_state()), extractor.span())
        });
        quote!(#private::required_states([#(#requirements),*]))
    }

    /// The body of the route's closure: extract, call, interpret the result.
    fn call(&self, kind: Kind, private: &TokenStream, name: &syn::Ident) -> TokenStream {
        let payload_type = kind.payload_type(private);
        let user_payload = self.payload;
        // Errors about the payload point at the handler's first argument.
        let payload =
            respanned(&quote!(#private::expect_payload::<#payload_type, #user_payload>(payload)), user_payload.span());
        let extracted: Vec<_> = (0..self.extractors.len()).map(|index| format_ident!("argument_{}", index)).collect();
        let request = Ident::new("request", Span::call_site());
        let extractions = self.extractors.iter().zip(&extracted).map(|(extractor, variable)| {
            let extract = respanned(
                &quote!(<#extractor as #private::FromCallbackRequest>::from_callback_request),
                extractor.span(),
            );
            quote!(let #variable = #extract(#request);)
        });
        let invoke = if self.is_async {
            quote!(#name(argument_payload, #(#extracted),*).await)
        } else {
            quote!(#private::run_blocking(move || #name(argument_payload, #(#extracted),*)).await?)
        };
        let result_span = self.output.map_or_else(|| name.span(), Spanned::span);
        let output = Ident::new("output", Span::call_site());
        let reply = if kind.is_validation() {
            let into_verdict = respanned(&quote!(#private::IntoVerdict::into_verdict(#output)), result_span);
            quote!(#private::Reply::Verdict(#into_verdict?))
        } else {
            let into_ack = respanned(&quote!(#private::IntoAck::into_ack(#output)), result_span);
            quote!({
                #into_ack?;
                #private::Reply::Ack
            })
        };
        // A future that is not `Send` is reported at the handler's name.
        let boxed = respanned(&quote!(#private::boxed_handler_future), name.span());
        let mut body = Group::new(
            Delimiter::Brace,
            quote! {
                #(let #extracted = #extracted?;)*
                let #output = #invoke;
                #private::Ok(#reply)
            },
        );
        body.set_span(name.span());
        let boxed_call = quote_spanned! {name.span()=> #boxed(async move #body)};
        quote! {
            let argument_payload = #payload;
            #(#extractions)*
            #boxed_call
        }
    }
}

/// `tokens` located at `location`, so that errors found in them point at
/// the user's code; names still resolve where they were written.
fn respanned(tokens: &TokenStream, location: Span) -> TokenStream {
    tokens
        .clone()
        .into_iter()
        .map(|token| match token {
            TokenTree::Group(group) => {
                let mut moved = Group::new(group.delimiter(), respanned(&group.stream(), location));
                moved.set_span(group.span().located_at(location));
                TokenTree::Group(moved)
            }
            mut other => {
                other.set_span(other.span().located_at(location));
                other
            }
        })
        .collect()
}

/// A companion for a function whose attribute had an error: it lets
/// `routes![…]` name the function without further errors. The build fails
/// on the reported error, so its route is never made.
fn placeholder_companion(function: &ItemFn, private: &TokenStream) -> TokenStream {
    let name = &function.sig.ident;
    let visibility = &function.vis;
    let name_text = name.to_string();
    let unique_path = format!("/{name_text}");
    quote! {
        #[doc(hidden)]
        #[allow(non_camel_case_types, unreachable_pub, dead_code)]
        #visibility struct #name {}

        impl #private::Handler for #name {
            const PATH: &'static str = #unique_path;
            const NAME: &'static str = #name_text;

            fn route(self) -> #private::Route {
                #private::unreachable!("the handler's attribute has a compile error")
            }
        }
    }
}

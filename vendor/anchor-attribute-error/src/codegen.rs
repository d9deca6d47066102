//! `anchor_syn::codegen::error::generate` from anchor-syn 1.2.2, with two changes (see the
//! README): `name()` picks a `&'static str` in its `match` and allocates once after it, and
//! `Display` writes a message that has no `{`/`}` with `write_str` instead of `write!`, after
//! the `match` when every variant has such a message.

use {anchor_syn::Error, quote::quote};

pub fn generate(error: Error) -> proc_macro2::TokenStream {
    let error_enum = &error.raw_enum;
    let enum_name = &error.ident;
    // Each arm of the `match` statement for implementing `std::fmt::Display`
    // on the user defined error code.
    let display_variant_dispatch: Vec<proc_macro2::TokenStream> = error
        .raw_enum
        .variants
        .iter()
        .zip(error.codes.iter())
        .map(|(variant, error_code)| {
            let ident = &variant.ident;
            let display_msg = match &error_code.msg {
                None => {
                    quote! {
                        <Self as ::std::fmt::Debug>::fmt(self, fmt)
                    }
                }
                // Without braces the format string is the text itself: every arm is then the
                // same call with a different constant, which LLVM turns into one table lookup.
                Some(msg) if !msg.contains(['{', '}']) => {
                    quote! {
                        fmt.write_str(#msg)
                    }
                }
                Some(msg) => {
                    quote! {
                        write!(fmt, #msg)
                    }
                }
            };
            quote! {
                #enum_name::#ident => #display_msg
            }
        })
        .collect();

    // When every variant has a message without braces, `Display` picks the text in the
    // `match` and writes it once after it.
    let plain_messages: Option<Vec<&String>> = error
        .codes
        .iter()
        .map(|code| code.msg.as_ref().filter(|msg| !msg.contains(['{', '}'])))
        .collect();
    let display_body = match plain_messages {
        Some(messages) => {
            let idents = error.raw_enum.variants.iter().map(|variant| &variant.ident);
            quote! {
                let msg: &'static str = match self {
                    #(#enum_name::#idents => #messages),*
                };
                fmt.write_str(msg)
            }
        }
        None => quote! {
            match self {
                #(#display_variant_dispatch),*
            }
        },
    };

    // Each arm of the `match` statement for implementing the `name` function
    // on the user defined error code.
    let name_variant_dispatch: Vec<proc_macro2::TokenStream> = error
        .raw_enum
        .variants
        .iter()
        .map(|variant| {
            let ident = &variant.ident;
            let ident_name = ident.to_string();
            quote! {
                #enum_name::#ident => #ident_name
            }
        })
        .collect();

    let offset = match &error.args {
        None => quote! { anchor_lang::error::ERROR_CODE_OFFSET},
        Some(args) => {
            let offset = &args.offset;
            quote! { #offset }
        }
    };

    let ret = quote! {
        #[derive(::std::fmt::Debug, Clone, Copy)]
        #[repr(u32)]
        #error_enum

        impl #enum_name {
            /// Gets the name of this [#enum_name].
            pub fn name(&self) -> String {
                let name: &'static str = match self {
                    #(#name_variant_dispatch),*
                };
                name.to_string()
            }
        }

        impl From<#enum_name> for u32 {
            fn from(e: #enum_name) -> u32 {
                e as u32 + #offset
            }
        }

        impl From<#enum_name> for anchor_lang::error::Error {
            fn from(error_code: #enum_name) -> anchor_lang::error::Error {
                anchor_lang::error::Error::from(
                    anchor_lang::error::AnchorError {
                        error_name: error_code.name(),
                        error_code_number: error_code.into(),
                        error_msg: error_code.to_string(),
                        error_origin: None,
                        compared_values: None
                    }
                )
            }
        }

        impl ::std::fmt::Display for #enum_name {
            fn fmt(&self, fmt: &mut ::std::fmt::Formatter<'_>) -> ::std::result::Result<(), ::std::fmt::Error> {
                #display_body
            }
        }
    };

    #[cfg(feature = "idl-build")]
    {
        let idl_print = anchor_syn::idl::gen_idl_print_fn_error(&error);
        return quote! {
            #ret
            #idl_print
        };
    };

    #[allow(unreachable_code)]
    ret
}

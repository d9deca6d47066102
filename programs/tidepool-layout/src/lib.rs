//! Derives for the program's account layouts (`tidepool::state::layout`).
//!
//! Every account is Borsh with a fixed size. Borsh's derived code reads and writes it one
//! field at a time through a reader or writer that checks the length and can fail at each
//! field; these derives produce code for the same bytes at constant offsets, after one
//! length check per account:
//!
//! - `#[derive(Fixed)]` on a struct with named fields (each field `Fixed`, in order) or on an
//!   enum of unit variants (one byte, the variant's index, as Borsh writes it);
//! - `#[derive(FixedAccount)]` on an account struct: what `#[account]` implements
//!   (`Discriminator`, `Owner`, `AccountDeserialize`, `AccountSerialize`, same discriminator,
//!   same errors), with the body read and written through `Fixed`.
//!
//! The structs keep `AnchorSerialize`/`AnchorDeserialize` (for the IDL and for Borsh users);
//! `state::layout`'s tests check that both give the same bytes.

use proc_macro::TokenStream;
use quote::quote;
use syn::{parse_macro_input, Data, DeriveInput, Fields};

#[proc_macro_derive(Fixed)]
pub fn derive_fixed(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    match fixed(&input) {
        Ok(tokens) => tokens.into(),
        Err(error) => error.to_compile_error().into(),
    }
}

fn fixed(input: &DeriveInput) -> syn::Result<proc_macro2::TokenStream> {
    let name = &input.ident;
    let layout = quote! { crate::state::layout };
    match &input.data {
        Data::Struct(data) => {
            let Fields::Named(fields) = &data.fields else {
                return Err(syn::Error::new_spanned(name, "Fixed needs named fields"));
            };
            let idents: Vec<_> = fields.named.iter().map(|f| &f.ident).collect();
            let tys: Vec<_> = fields.named.iter().map(|f| &f.ty).collect();
            Ok(quote! {
                impl #layout::Fixed for #name {
                    const LEN: usize = 0 #(+ <#tys as #layout::Fixed>::LEN)*;

                    #[inline(always)]
                    #[allow(unused_assignments)]
                    fn read(src: &[u8]) -> ::core::option::Option<Self> {
                        let mut at = 0usize;
                        Some(Self {
                            #(#idents: {
                                let end = at + <#tys as #layout::Fixed>::LEN;
                                let value = <#tys as #layout::Fixed>::read(&src[at..end])?;
                                at = end;
                                value
                            },)*
                        })
                    }

                    #[inline(always)]
                    #[allow(unused_assignments)]
                    fn write(&self, dst: &mut [u8]) {
                        let mut at = 0usize;
                        #(
                            let end = at + <#tys as #layout::Fixed>::LEN;
                            #layout::Fixed::write(&self.#idents, &mut dst[at..end]);
                            at = end;
                        )*
                    }
                }
            })
        }
        Data::Enum(data) => {
            let mut variants = Vec::new();
            for variant in &data.variants {
                if !matches!(variant.fields, Fields::Unit) || variant.discriminant.is_some() {
                    return Err(syn::Error::new_spanned(
                        variant,
                        "Fixed enums have unit variants without explicit discriminants",
                    ));
                }
                variants.push(&variant.ident);
            }
            let index: Vec<u8> = (0..variants.len())
                .map(|i| {
                    u8::try_from(i).map_err(|_| syn::Error::new_spanned(name, "too many variants"))
                })
                .collect::<syn::Result<_>>()?;
            Ok(quote! {
                impl #layout::Fixed for #name {
                    const LEN: usize = 1;

                    #[inline(always)]
                    fn read(src: &[u8]) -> ::core::option::Option<Self> {
                        match src[0] {
                            #(#index => Some(Self::#variants),)*
                            _ => None,
                        }
                    }

                    #[inline(always)]
                    fn write(&self, dst: &mut [u8]) {
                        dst[0] = match self {
                            #(Self::#variants => #index,)*
                        };
                    }
                }
            })
        }
        Data::Union(_) => Err(syn::Error::new_spanned(name, "Fixed does not do unions")),
    }
}

#[proc_macro_derive(FixedAccount)]
pub fn derive_fixed_account(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    let name = &input.ident;
    let name_str = name.to_string();
    let discriminator = anchor_syn::codegen::program::common::gen_discriminator("account", name);
    let layout = quote! { crate::state::layout };
    quote! {
        impl anchor_lang::Discriminator for #name {
            const DISCRIMINATOR: &'static [u8] = #discriminator;
        }

        impl anchor_lang::Owner for #name {
            fn owner() -> anchor_lang::prelude::Pubkey {
                crate::ID
            }
        }

        impl anchor_lang::AccountDeserialize for #name {
            fn try_deserialize(buf: &mut &[u8]) -> anchor_lang::Result<Self> {
                #layout::check_discriminator::<Self>(buf, #name_str)?;
                Self::try_deserialize_unchecked(buf)
            }

            fn try_deserialize_unchecked(buf: &mut &[u8]) -> anchor_lang::Result<Self> {
                #layout::read_account(buf)
            }
        }

        impl anchor_lang::AccountSerialize for #name {
            fn try_serialize<W: ::std::io::Write>(&self, writer: &mut W) -> anchor_lang::Result<()> {
                let mut bytes = [0u8; 8 + <#name as #layout::Fixed>::LEN];
                #layout::write_account(self, &mut bytes);
                writer
                    .write_all(&bytes)
                    .map_err(|_| anchor_lang::error::ErrorCode::AccountDidNotSerialize.into())
            }
        }
    }
    .into()
}

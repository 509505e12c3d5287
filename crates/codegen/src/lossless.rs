//! A syn pass over typify's output that makes the models lossless.
//!
//! typify maps an optional property to `Option<T>` with
//! `skip_serializing_if = "Option::is_none"` (and optional arrays and maps to
//! `Vec`/maps skipped when empty). That merges "absent", `null` and `[]`, so
//! re-serializing a payload drops keys the vendor sent. Every optional
//! property becomes `hookforge::Maybe<T>` instead (absent / null / blank `""`
//! / present), which serializes back exactly what was received. Required nullable
//! properties stay `Option<T>`: the key is always there, so nothing is lost.
//!
//! It also drops the "JSON schema" blocks typify puts in doc comments: they
//! show the normalised schema, not the vendor's, and would mislead.

use proc_macro2::TokenStream;
use quote::quote;
use syn::punctuated::Punctuated;
use syn::visit_mut::{self, VisitMut};
use syn::{Attribute, Field, GenericArgument, Meta, PathArguments, Token, Type};

pub fn make_lossless(file: &mut syn::File) {
    Lossless.visit_file_mut(file);
}

struct Lossless;

impl VisitMut for Lossless {
    fn visit_field_mut(&mut self, field: &mut Field) {
        rewrite_field(field);
        visit_mut::visit_field_mut(self, field);
    }

    fn visit_attributes_mut(&mut self, attrs: &mut Vec<Attribute>) {
        drop_schema_docs(attrs);
    }

    fn visit_item_struct_mut(&mut self, s: &mut syn::ItemStruct) {
        drop_schema_docs(&mut s.attrs);
        visit_mut::visit_item_struct_mut(self, s);
    }

    fn visit_item_enum_mut(&mut self, e: &mut syn::ItemEnum) {
        drop_schema_docs(&mut e.attrs);
        visit_mut::visit_item_enum_mut(self, e);
    }
}

fn drop_schema_docs(attrs: &mut Vec<Attribute>) {
    let mut in_block = false;
    attrs.retain(|a| {
        if !a.path().is_ident("doc") {
            return true;
        }
        let text = doc_text(a).unwrap_or_default();
        if text.contains("<details><summary>JSON schema</summary>") {
            in_block = true;
        }
        let keep = !in_block;
        if text.contains("</details>") {
            in_block = false;
        }
        keep
    });
    // A trailing empty doc line left before the removed block.
    while attrs
        .iter()
        .rposition(|a| a.path().is_ident("doc"))
        .is_some_and(|i| {
            doc_text(&attrs[i]).is_some_and(|t| t.trim().is_empty()) && {
                attrs.remove(i);
                true
            }
        })
    {}
}

fn doc_text(a: &Attribute) -> Option<String> {
    if let Meta::NameValue(nv) = &a.meta
        && let syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(s),
            ..
        }) = &nv.value
    {
        return Some(s.value());
    }
    None
}

fn rewrite_field(field: &mut Field) {
    let Some(idx) = field.attrs.iter().position(|a| a.path().is_ident("serde")) else {
        return;
    };
    let Ok(items) =
        field.attrs[idx].parse_args_with(Punctuated::<Meta, Token![,]>::parse_terminated)
    else {
        return;
    };
    let names: Vec<String> = items
        .iter()
        .map(|m| {
            m.path()
                .get_ident()
                .map(|i| i.to_string())
                .unwrap_or_default()
        })
        .collect();
    let has = |n: &str| names.iter().any(|x| x == n);
    // Flattened `extra` maps and required fields stay as they are.
    if has("flatten") || !(has("default") || has("skip_serializing_if")) {
        return;
    }
    let inner = match option_inner(&field.ty) {
        Some(t) => t.clone(),
        None => field.ty.clone(),
    };
    field.ty = syn::parse_quote!(::hookforge::Maybe<#inner>);
    let kept: Vec<&Meta> = items
        .iter()
        .filter(|m| {
            !(m.path().is_ident("default")
                || m.path().is_ident("skip_serializing_if")
                || m.path().is_ident("deserialize_with"))
        })
        .collect();
    let tokens: TokenStream = quote! {
        #[serde(#(#kept,)* default, skip_serializing_if = "::hookforge::Maybe::is_absent")]
    };
    let mut parsed = syn::parse::Parser::parse2(Attribute::parse_outer, tokens)
        .expect("well-formed serde attribute");
    field.attrs[idx] = parsed.remove(0);
}

/// `T` when `ty` is `Option<T>` (however the path to `Option` is spelled).
fn option_inner(ty: &Type) -> Option<&Type> {
    let Type::Path(p) = ty else { return None };
    let last = p.path.segments.last()?;
    if last.ident != "Option" {
        return None;
    }
    let PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    match args.args.first()? {
        GenericArgument::Type(t) => Some(t),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(src: &str) -> String {
        let mut f: syn::File = syn::parse_str(src).unwrap();
        make_lossless(&mut f);
        prettyplease::unparse(&f)
    }

    #[test]
    fn optional_fields_become_maybe() {
        let out = run(r#"
            pub struct A {
                #[serde(rename = "eventId", default, skip_serializing_if = "::std::option::Option::is_none")]
                pub event_id: ::std::option::Option<::std::string::String>,
                #[serde(default, skip_serializing_if = "::std::vec::Vec::is_empty")]
                pub changes: ::std::vec::Vec<::std::string::String>,
                #[serde(deserialize_with = "::std::option::Option::deserialize")]
                pub required_nullable: ::std::option::Option<i64>,
                #[serde(flatten)]
                pub extra: ::serde_json::Map<::std::string::String, ::serde_json::Value>,
                pub required: i64,
            }
        "#);
        assert!(
            out.contains("pub event_id: ::hookforge::Maybe<::std::string::String>"),
            "{out}"
        );
        let flat: String = out.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(
            flat.contains(r#"rename = "eventId", default, skip_serializing_if = "::hookforge::Maybe::is_absent""#),
            "{out}"
        );
        assert!(
            out.contains("pub changes: ::hookforge::Maybe<::std::vec::Vec<::std::string::String>>"),
            "{out}"
        );
        assert!(
            out.contains("pub required_nullable: ::std::option::Option<i64>"),
            "{out}"
        );
        assert!(out.contains("pub extra: ::serde_json::Map"), "{out}");
        assert!(out.contains("pub required: i64"), "{out}");
    }
}

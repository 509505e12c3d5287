//! Our own `Deserialize` for the models that keep unknown keys.
//!
//! `#[derive(Deserialize)]` with `#[serde(flatten)] extra` buffers each
//! unknown entry into serde's private tree and converts it afterwards, and
//! its visitor cannot be fed entries one at a time, which a one-pass read of
//! "event type, then that event's model" needs. For each such struct this
//! pass removes `Deserialize` from the derive and emits a builder
//! (`hookforge::__private::Fields`) that matches known keys directly and puts
//! unknown ones into `extra` as they go by. Structs using serde attributes
//! the builder does not reproduce keep the derive.

use std::collections::BTreeSet;

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::punctuated::Punctuated;
use syn::{Attribute, Fields, Item, ItemStruct, Meta, Path, Token, Type};

/// Rewrites the structs it can and returns the names of those that now have
/// a builder (`__<Name>Fields`).
pub fn own_deserializers(file: &mut syn::File) -> BTreeSet<String> {
    let mut planned = Vec::new();
    for item in &mut file.items {
        let Item::Struct(s) = item else { continue };
        let Some(plan) = plan(s) else { continue };
        if !drop_derive(&mut s.attrs, "Deserialize") {
            continue;
        }
        planned.push((s.ident.clone(), plan));
    }
    let done: BTreeSet<String> = planned.iter().map(|(i, _)| i.to_string()).collect();
    let added: Vec<TokenStream> = planned
        .iter()
        .map(|(model, plan)| emit(model, plan, &done))
        .collect();
    for tokens in added {
        let parsed: syn::File = syn::parse2(tokens).expect("generated builder parses");
        file.items.extend(parsed.items);
    }
    done
}

/// The builder's name for a model.
pub fn builder_ident(model: &str) -> syn::Ident {
    format_ident!("__{}Fields", model)
}

struct FieldPlan {
    ident: syn::Ident,
    ty: Type,
    key: String,
    kind: Kind,
}

enum Kind {
    /// Must be present.
    Required,
    /// `#[serde(default)]`: missing gives `Default::default()`.
    Default,
    /// A plain `Option<T>`: serde treats a missing key as `None`.
    Option,
}

struct Plan {
    fields: Vec<FieldPlan>,
    extra: syn::Ident,
}

/// What the builder needs, or None when the struct uses something it does
/// not reproduce (then the derive stays).
fn plan(item: &ItemStruct) -> Option<Plan> {
    if !item.generics.params.is_empty() || item.attrs.iter().any(|a| a.path().is_ident("serde")) {
        return None;
    }
    let Fields::Named(named) = &item.fields else {
        return None;
    };
    let mut fields = Vec::new();
    let mut extra = None;
    for f in &named.named {
        let ident = f.ident.clone()?;
        let mut key = ident.to_string().trim_start_matches("r#").to_string();
        let (mut default, mut flatten) = (false, false);
        for a in f.attrs.iter().filter(|a| a.path().is_ident("serde")) {
            let items = a
                .parse_args_with(Punctuated::<Meta, Token![,]>::parse_terminated)
                .ok()?;
            for m in items {
                match &m {
                    Meta::Path(p) if p.is_ident("default") => default = true,
                    Meta::Path(p) if p.is_ident("flatten") => flatten = true,
                    Meta::NameValue(nv) if nv.path.is_ident("rename") => {
                        key = string_lit(&nv.value)?;
                    }
                    // Only affects serializing, which stays derived.
                    Meta::NameValue(nv) if nv.path.is_ident("skip_serializing_if") => {}
                    _ => return None,
                }
            }
        }
        if flatten {
            if extra.is_some() || default || !is_json_map(&f.ty) {
                return None;
            }
            extra = Some(ident);
            continue;
        }
        let kind = if default {
            Kind::Default
        } else if is_option(&f.ty) {
            Kind::Option
        } else {
            Kind::Required
        };
        fields.push(FieldPlan {
            ident,
            ty: f.ty.clone(),
            key,
            kind,
        });
    }
    let keys: BTreeSet<&str> = fields.iter().map(|f| f.key.as_str()).collect();
    if keys.len() != fields.len() {
        return None;
    }
    Some(Plan {
        fields,
        extra: extra?,
    })
}

/// How a field's value goes into its slot: straight into a nested model's
/// builder where the field is one of this file's models with a builder (or
/// a `Maybe` of one), so the model is not copied on its way up; otherwise
/// through the type's own `Deserialize`.
fn setter(ty: &Type, builders: &BTreeSet<String>) -> TokenStream {
    let model = |ty: &Type| match ty {
        Type::Path(p) if p.qself.is_none() && p.path.segments.len() == 1 => {
            let seg = &p.path.segments[0];
            (seg.arguments.is_empty() && builders.contains(&seg.ident.to_string()))
                .then(|| builder_ident(&seg.ident.to_string()))
        }
        _ => None,
    };
    if let Some(b) = model(ty) {
        return quote! { ::hookforge::__private::set_model::<#b, _> };
    }
    if let Some(b) = maybe_inner(ty).and_then(model) {
        return quote! { ::hookforge::__private::set_maybe_model::<#b, _> };
    }
    quote! { ::hookforge::__private::set_once }
}

/// `T` of `::hookforge::Maybe<T>`.
fn maybe_inner(ty: &Type) -> Option<&Type> {
    let Type::Path(p) = ty else { return None };
    let segs: Vec<&syn::PathSegment> = p.path.segments.iter().collect();
    let [krate, maybe] = segs.as_slice() else {
        return None;
    };
    if p.qself.is_some() || krate.ident != "hookforge" || maybe.ident != "Maybe" {
        return None;
    }
    let syn::PathArguments::AngleBracketed(args) = &maybe.arguments else {
        return None;
    };
    match args.args.iter().collect::<Vec<_>>().as_slice() {
        [syn::GenericArgument::Type(t)] => Some(t),
        _ => None,
    }
}

fn emit(model: &syn::Ident, plan: &Plan, builders: &BTreeSet<String>) -> TokenStream {
    let builder = builder_ident(&model.to_string());
    let name = model.to_string();
    let extra = &plan.extra;
    let idents: Vec<_> = plan.fields.iter().map(|f| &f.ident).collect();
    let types: Vec<_> = plan.fields.iter().map(|f| &f.ty).collect();
    let keys: Vec<_> = plan.fields.iter().map(|f| f.key.as_str()).collect();
    let setters: Vec<_> = plan
        .fields
        .iter()
        .map(|f| setter(&f.ty, builders))
        .collect();
    let finish = plan.fields.iter().map(|f| {
        let (i, k) = (&f.ident, &f.key);
        match f.kind {
            Kind::Required => quote! {
                #i: ::hookforge::__private::required(self.#i, #k)?,
            },
            Kind::Default => quote! { #i: self.#i.unwrap_or_default(), },
            Kind::Option => quote! { #i: self.#i.flatten(), },
        }
    });
    let doc = format!("Collects a [`{name}`] one entry at a time (generated).");
    quote! {
        impl<'de> ::serde::Deserialize<'de> for #model {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> ::std::result::Result<Self, D::Error> {
                ::hookforge::__private::deserialize_fields::<D, #builder>(d)
            }
        }

        #[doc = #doc]
        #[doc(hidden)]
        #[derive(Default)]
        pub struct #builder {
            #(#idents: ::std::option::Option<#types>,)*
            #extra: ::serde_json::Map<::std::string::String, ::serde_json::Value>,
        }

        impl<'de> ::hookforge::__private::Fields<'de> for #builder {
            type Output = #model;
            const NAME: &'static str = #name;

            fn field<D: ::serde::Deserializer<'de>>(&mut self, key: ::hookforge::__private::Key<'de>, value: D) -> ::std::result::Result<(), D::Error> {
                match key.as_str() {
                    #(#keys => #setters(&mut self.#idents, #keys, value),)*
                    _ => ::hookforge::__private::extra_entry(&mut self.#extra, key, value),
                }
            }

            #[inline]
            fn finish<E: ::serde::de::Error>(self) -> ::std::result::Result<#model, E> {
                ::std::result::Result::Ok(#model {
                    #(#finish)*
                    #extra: self.#extra,
                })
            }
        }
    }
}

/// Removes `name` from `#[derive(...)]`; false if it was not there.
fn drop_derive(attrs: &mut [Attribute], name: &str) -> bool {
    for a in attrs.iter_mut().filter(|a| a.path().is_ident("derive")) {
        let Ok(paths) = a.parse_args_with(Punctuated::<Path, Token![,]>::parse_terminated) else {
            continue;
        };
        let is_it = |p: &Path| p.segments.last().is_some_and(|s| s.ident == name);
        if !paths.iter().any(is_it) {
            continue;
        }
        let kept: Vec<&Path> = paths.iter().filter(|p| !is_it(p)).collect();
        *a = syn::parse_quote!(#[derive(#(#kept),*)]);
        return true;
    }
    false
}

fn string_lit(e: &syn::Expr) -> Option<String> {
    match e {
        syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(s),
            ..
        }) => Some(s.value()),
        _ => None,
    }
}

fn last_ident(ty: &Type) -> Option<&syn::PathSegment> {
    match ty {
        Type::Path(p) if p.qself.is_none() => p.path.segments.last(),
        _ => None,
    }
}

fn is_option(ty: &Type) -> bool {
    last_ident(ty).is_some_and(|s| s.ident == "Option")
}

/// `serde_json::Map<String, Value>`, the only `extra` the builder fills.
fn is_json_map(ty: &Type) -> bool {
    let Type::Path(p) = ty else { return false };
    let segs: Vec<String> = p
        .path
        .segments
        .iter()
        .map(|s| s.ident.to_string())
        .collect();
    segs.ends_with(&["serde_json".to_string(), "Map".to_string()])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(src: &str) -> (String, BTreeSet<String>) {
        let mut f: syn::File = syn::parse_str(src).unwrap();
        let done = own_deserializers(&mut f);
        (prettyplease::unparse(&f), done)
    }

    #[test]
    fn structs_with_extra_get_a_builder_and_lose_the_derive() {
        let (out, done) = run(r#"
            #[derive(::serde::Deserialize, ::serde::Serialize, Clone)]
            pub struct A {
                #[serde(rename = "eventId", default, skip_serializing_if = "::hookforge::Maybe::is_absent")]
                pub event_id: ::hookforge::Maybe<::std::string::String>,
                pub r#type: ::std::string::String,
                pub note: ::std::option::Option<i64>,
                #[serde(flatten)]
                pub extra: ::serde_json::Map<::std::string::String, ::serde_json::Value>,
            }
        "#);
        assert_eq!(done, BTreeSet::from(["A".to_string()]));
        assert!(
            out.contains("#[derive(::serde::Serialize, Clone)]"),
            "{out}"
        );
        assert!(out.contains("pub struct __AFields"), "{out}");
        assert!(out.contains(r#""eventId" =>"#), "{out}");
        assert!(out.contains(r#""type" =>"#), "{out}");
        assert!(out.contains(r#"required(self.r#type, "type")"#), "{out}");
        assert!(out.contains("note: self.note.flatten()"), "{out}");
        assert!(
            out.contains("event_id: self.event_id.unwrap_or_default()"),
            "{out}"
        );
    }

    #[test]
    fn nested_models_are_read_into_their_slots() {
        let (out, _) = run(r#"
            #[derive(::serde::Deserialize)]
            pub struct B {
                #[serde(flatten)]
                pub extra: ::serde_json::Map<::std::string::String, ::serde_json::Value>,
            }
            #[derive(::serde::Deserialize)]
            pub struct A {
                pub b: B,
                #[serde(default)]
                pub c: ::hookforge::Maybe<B>,
                pub d: ::std::vec::Vec<B>,
                #[serde(default)]
                pub e: ::hookforge::Maybe<::std::string::String>,
                #[serde(flatten)]
                pub extra: ::serde_json::Map<::std::string::String, ::serde_json::Value>,
            }
        "#);
        let out: String = out.split_whitespace().collect();
        for want in [
            r#"::hookforge::__private::set_model::<__BFields,_,>(&mutself.b,"b",value)"#,
            r#"::hookforge::__private::set_maybe_model::<__BFields,_,>(&mutself.c,"c",value)"#,
            r#""d"=>::hookforge::__private::set_once(&mutself.d,"d",value)"#,
            r#""e"=>::hookforge::__private::set_once(&mutself.e,"e",value)"#,
        ] {
            assert!(out.contains(want), "{want} not in {out}");
        }
    }

    #[test]
    fn structs_the_builder_cannot_reproduce_keep_the_derive() {
        for src in [
            // No `extra`.
            "#[derive(::serde::Deserialize)] pub struct A { pub a: i64 }",
            // An attribute the builder does not know.
            r#"#[derive(::serde::Deserialize)] pub struct A {
                #[serde(alias = "b")] pub a: i64,
                #[serde(flatten)] pub extra: ::serde_json::Map<::std::string::String, ::serde_json::Value>,
            }"#,
            // A container attribute.
            r#"#[derive(::serde::Deserialize)] #[serde(deny_unknown_fields)] pub struct A {
                #[serde(flatten)] pub extra: ::serde_json::Map<::std::string::String, ::serde_json::Value>,
            }"#,
        ] {
            let (out, done) = run(src);
            assert!(done.is_empty(), "{out}");
            assert!(out.contains("::serde::Deserialize"), "{out}");
        }
    }
}

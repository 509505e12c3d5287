//! Our own emission: open enums, the event enum, event kinds, the handler
//! trait, dispatch, parsing entry points and the metadata the harness reads.

use heck::{ToSnakeCase, ToUpperCamelCase};
use proc_macro2::{Ident, Span, TokenStream};
use quote::{format_ident, quote};

use crate::Error;
use crate::normalize::OpenEnum;
use crate::schema::VendorSchemas;

/// A sample file, with its path relative to the crate root.
pub struct Sample {
    pub name: String,
    pub rel_path: String,
}

pub struct EventOut<'a> {
    pub name: &'a str,
    pub slug: &'a str,
    pub description: &'a str,
    pub type_name: &'a str,
    /// The event's schema file, relative to the crate root.
    pub schema_path: String,
    pub samples: Vec<Sample>,
}

fn ident(s: &str) -> Ident {
    Ident::new(s, Span::call_site())
}

/// A Rust identifier for an enum value: `ACTIVE POLICY` → `ActivePolicy`,
/// `2026-06-01` → `V20260601`.
fn variant_name(value: &str) -> String {
    let mut n = value.to_upper_camel_case();
    if n.is_empty() || n.starts_with(|c: char| c.is_ascii_digit()) {
        n = format!("V{n}");
    }
    n
}

pub fn open_enum(open: &OpenEnum) -> Result<TokenStream, Error> {
    let name = ident(&open.name);
    let mut seen = std::collections::BTreeSet::new();
    let mut variants = Vec::new();
    // `Unknown` is the catch-all: a documented "UNKNOWN" (Square's) becomes
    // `UnknownValue`; two values with one name (`a-b`, `a_b`) get `2`, `3`.
    seen.insert("Unknown".to_string());
    for v in &open.values {
        let base = match variant_name(v) {
            n if n == "Unknown" => "UnknownValue".to_string(),
            n => n,
        };
        let mut vn = base.clone();
        let mut i = 2;
        while !seen.insert(vn.clone()) {
            vn = format!("{base}{i}");
            i += 1;
        }
        variants.push((ident(&vn), v.clone()));
    }
    let doc = if open.description.is_empty() {
        format!(
            "Open enum: the documented values of `{}`, plus any other value as `Unknown`.",
            open.name
        )
    } else {
        open.description.clone()
    };
    let decl = variants.iter().map(|(i, v)| {
        let d = format!("`{v}`");
        quote! { #[doc = #d] #i, }
    });
    let as_str = variants.iter().map(|(i, v)| quote! { Self::#i => #v, });
    let from = variants.iter().map(|(i, v)| quote! { #v => Self::#i, });
    let values = &open.values;
    Ok(quote! {
        #[doc = #doc]
        ///
        /// Values the vendor adds later parse as `Unknown` and serialize back unchanged.
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum #name {
            #(#decl)*
            /// A value not in the vendor's documentation, kept verbatim.
            Unknown(::std::string::String),
        }
        impl #name {
            /// The documented values.
            pub const KNOWN: &'static [&'static str] = &[#(#values),*];
            /// The value exactly as sent.
            pub fn as_str(&self) -> &str {
                match self {
                    #(#as_str)*
                    Self::Unknown(s) => s.as_str(),
                }
            }
            /// Whether the value is one the vendor documents.
            pub fn is_known(&self) -> bool {
                !matches!(self, Self::Unknown(_))
            }
        }
        impl ::std::convert::From<&str> for #name {
            fn from(s: &str) -> Self {
                match s {
                    #(#from)*
                    other => Self::Unknown(other.to_string()),
                }
            }
        }
        impl ::std::str::FromStr for #name {
            type Err = ::std::convert::Infallible;
            fn from_str(s: &str) -> ::std::result::Result<Self, Self::Err> {
                Ok(Self::from(s))
            }
        }
        impl ::std::fmt::Display for #name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
        impl ::serde::Serialize for #name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> ::std::result::Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
        impl<'de> ::serde::Deserialize<'de> for #name {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> ::std::result::Result<Self, D::Error> {
                ::hookforge::__private::deserialize_open_enum(d)
            }
        }
    })
}

/// How generated code finds the files it embeds.
#[derive(Clone, Copy, Debug)]
pub enum Embed<'a> {
    /// Through `CARGO_MANIFEST_DIR` (output in a user's `OUT_DIR`).
    FromCrateRoot,
    /// Relative to the generated file, which reaches the crate root
    /// through this prefix (`../` from `generated/`): checked-in output that
    /// any crate of the workspace may include.
    FromFile(&'a str),
}

impl Embed<'_> {
    /// `include_str!`/`include_bytes!` (`macro`) of a file relative to the
    /// crate root: embedded as it is on disk, readable, not escaped.
    fn file(self, macro_name: &str, rel: &str) -> TokenStream {
        let mac = format_ident!("{macro_name}");
        match self {
            Embed::FromCrateRoot => {
                let abs = format!("/{rel}");
                quote! { #mac!(concat!(env!("CARGO_MANIFEST_DIR"), #abs)) }
            }
            Embed::FromFile(prefix) => {
                let path = format!("{prefix}{rel}");
                quote! { #mac!(#path) }
            }
        }
    }
}

fn include(embed: Embed<'_>, rel: &str) -> TokenStream {
    embed.file("include_str", rel)
}

/// The names the generated items share, one entry per event.
struct Names<'a> {
    variant_idents: Vec<Ident>,
    type_idents: Vec<Ident>,
    names: Vec<&'a str>,
    docs: Vec<String>,
    descriptions: Vec<&'a str>,
    methods: Vec<Ident>,
}

impl<'a> Names<'a> {
    fn of(events: &[EventOut<'a>]) -> Names<'a> {
        let variant_idents: Vec<Ident> = events
            .iter()
            .map(|e| ident(&e.name.to_upper_camel_case()))
            .collect();
        let type_idents: Vec<Ident> = events.iter().map(|e| ident(e.type_name)).collect();
        let names: Vec<&str> = events.iter().map(|e| e.name).collect();
        let docs: Vec<String> = events
            .iter()
            .map(|e| {
                if e.description.is_empty() {
                    format!("`{}`", e.name)
                } else {
                    format!("`{}`: {}", e.name, e.description)
                }
            })
            .collect();
        let descriptions: Vec<&str> = events.iter().map(|e| e.description).collect();
        let methods: Vec<Ident> = events
            .iter()
            .map(|e| format_ident!("on_{}", e.name.to_snake_case()))
            .collect();

        Names {
            variant_idents,
            type_idents,
            names,
            docs,
            descriptions,
            methods,
        }
    }
}

/// Every item of a vendor module besides its models, in order.
/// `schema_rel`: the vendor's schema directory, relative to the crate root.
/// `one_pass`: every event's model has a builder (see `deser`), so
/// `parse_delivery` reads type and model in one pass where the manifest allows.
pub fn vendor_items(
    vs: &VendorSchemas,
    schema_rel: &str,
    events: &[EventOut<'_>],
    one_pass: bool,
    embed: Embed<'_>,
) -> TokenStream {
    let n = Names::of(events);
    let items = [
        vendor_static(vs, schema_rel, embed),
        event_enum(&n),
        event_kind(&n),
        handler_trait(&n),
        dispatcher(),
        parsers(&n, one_pass),
        events_static(events, embed),
    ];
    quote! { #(#items)* }
}

/// `ID`, `NAME`, `VENDOR` (the registry entry) and `manifest()`.
fn vendor_static(vs: &VendorSchemas, schema_rel: &str, embed: Embed<'_>) -> TokenStream {
    let id = &vs.manifest.id;
    let display = &vs.manifest.name;
    let manifest_json = include(embed, &format!("{schema_rel}/manifest.json"));
    let definitions_json = if vs.dir.join(crate::schema::DEFINITIONS_FILE).exists() {
        include(
            embed,
            &format!("{schema_rel}/{}", crate::schema::DEFINITIONS_FILE),
        )
    } else {
        quote! { "" }
    };

    quote! {
        /// The vendor id, as used on the command line and in routes.
        pub const ID: &str = #id;
        /// The vendor's display name.
        pub const NAME: &str = #display;

        /// Everything known about the vendor's deliveries, for the CLI,
        /// receiver and harness.
        pub static VENDOR: ::hookforge::VendorSpec = ::hookforge::VendorSpec::new(
            ID,
            NAME,
            #manifest_json,
            #definitions_json,
            EVENTS,
            parse_dyn,
            check_dyn,
        );

        /// The vendor manifest (event type and id locations, auth, headers,
        /// success rule).
        pub fn manifest() -> &'static ::hookforge::Manifest {
            VENDOR.manifest()
        }
    }
}

/// `Event`: a documented kind with its typed payload, or `Unknown`.
fn event_enum(names: &Names<'_>) -> TokenStream {
    let Names {
        variant_idents,
        type_idents,
        names,
        docs,
        ..
    } = names;
    quote! {
        /// One event as delivered: a documented kind with its typed payload,
        /// or `Unknown` with the raw JSON.
        #[derive(Clone, Debug, PartialEq)]
        #[non_exhaustive]
        pub enum Event {
            #(#[doc = #docs] #variant_idents(models::#type_idents),)*
            /// An event type this version of the schemas does not know.
            Unknown(::hookforge::UnknownEvent),
        }

        impl Event {
            /// The event's kind, `None` for unknown events.
            pub fn kind(&self) -> ::std::option::Option<EventKind> {
                match self {
                    #(Self::#variant_idents(_) => Some(EventKind::#variant_idents),)*
                    Self::Unknown(_) => None,
                }
            }

            /// The event type string as the vendor sent it.
            pub fn event_type(&self) -> &str {
                match self {
                    #(Self::#variant_idents(_) => #names,)*
                    Self::Unknown(u) => u.event_type.as_str(),
                }
            }
        }

        impl ::serde::Serialize for Event {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> ::std::result::Result<S::Ok, S::Error> {
                match self {
                    #(Self::#variant_idents(e) => e.serialize(s),)*
                    Self::Unknown(u) => u.payload.serialize(s),
                }
            }
        }
    }
}

/// `EventKind`: the documented event types, with `FromStr` and `Display`.
fn event_kind(names: &Names<'_>) -> TokenStream {
    let Names {
        variant_idents: kinds,
        names,
        docs,
        descriptions,
        ..
    } = names;
    quote! {
        /// The documented event types.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum EventKind {
            #(#[doc = #docs] #kinds,)*
        }

        impl EventKind {
            /// Every documented kind, in schema order.
            pub const ALL: &'static [EventKind] = &[#(EventKind::#kinds),*];

            /// The event type string.
            pub fn as_str(self) -> &'static str {
                match self {
                    #(Self::#kinds => #names,)*
                }
            }

            /// The vendor's description of the event.
            pub fn description(self) -> &'static str {
                match self {
                    #(Self::#kinds => #descriptions,)*
                }
            }
        }

        impl ::std::str::FromStr for EventKind {
            type Err = ::hookforge::UnknownEventType;
            fn from_str(s: &str) -> ::std::result::Result<Self, Self::Err> {
                match s {
                    #(#names => Ok(Self::#kinds),)*
                    other => Err(::hookforge::UnknownEventType(other.to_string())),
                }
            }
        }

        impl ::std::fmt::Display for EventKind {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    }
}

/// `Handler` (one defaulted method per event, and `on_unknown`) and `dispatch`.
fn handler_trait(n: &Names<'_>) -> TokenStream {
    let Names {
        variant_idents,
        type_idents: payloads,
        docs,
        methods,
        ..
    } = n;
    quote! {
        /// Handles this vendor's events. Every method defaults to accepting the
        /// event and doing nothing, so implement only what you need. Return an
        /// error to have the delivery retried.
        pub trait Handler: Send + Sync {
            #(
                #[doc = #docs]
                fn #methods(&self, event: models::#payloads) -> impl ::std::future::Future<Output = ::hookforge::HandlerResult> + Send {
                    let _ = event;
                    async { Ok(()) }
                }
            )*
            /// An event type the schemas do not know. Accepted by default:
            /// vendors add event types without notice.
            fn on_unknown(&self, event: ::hookforge::UnknownEvent) -> impl ::std::future::Future<Output = ::hookforge::HandlerResult> + Send {
                let _ = event;
                async { Ok(()) }
            }
        }

        /// Hands `event` to the matching `Handler` method.
        pub async fn dispatch<H: Handler + ?Sized>(handler: &H, event: Event) -> ::hookforge::HandlerResult {
            match event {
                #(Event::#variant_idents(e) => handler.#methods(e).await,)*
                Event::Unknown(u) => handler.on_unknown(u).await,
            }
        }
    }
}

/// `Dispatcher`: the `RawHandler` the receiver and inbox run.
fn dispatcher() -> TokenStream {
    quote! {
        /// Adapts a [`Handler`] for hookforge's receiver and inbox, which
        /// handle raw deliveries of any vendor.
        pub struct Dispatcher<H>(pub H);

        impl<H: Handler + 'static> ::hookforge::RawHandler for Dispatcher<H> {
            fn vendor(&self) -> &'static ::hookforge::VendorSpec {
                &VENDOR
            }
            fn handle<'a>(&'a self, body: &'a [u8], headers: &'a ::hookforge::HeaderMap) -> ::hookforge::BoxFuture<'a, ::hookforge::HandlerResult> {
                Box::pin(async move {
                    let event = parse(body, headers)?;
                    dispatch(&self.0, event).await
                })
            }
        }
    }
}

/// `parse`, `parse_delivery` and the type-erased entries of `VENDOR`.
fn parsers(names: &Names<'_>, one_pass: bool) -> TokenStream {
    let Names {
        variant_idents,
        type_idents,
        names,
        ..
    } = names;
    let (fast, event_fields) = if one_pass {
        let builders: Vec<Ident> = type_idents
            .iter()
            .map(|t| crate::deser::builder_ident(&t.to_string()))
            .collect();
        let fast = quote! {
            if let Some(d) = ::hookforge::__private::parse_event::<__EventFields>(body, headers, VENDOR.envelope_reader()) {
                return Ok(d);
            }
        };
        let fields = quote! {
            /// Builds whichever event a delivery turns out to be, for
            /// `parse_delivery`'s one-pass read (generated).
            #[doc(hidden)]
            pub enum __EventFields {
                #(#variant_idents(models::#builders),)*
                Unknown(::serde_json::Map<::std::string::String, ::serde_json::Value>),
            }

            impl<'de> ::hookforge::__private::EventFields<'de> for __EventFields {
                type Event = Event;

                #[inline] fn for_type(event_type: &str) -> Self {
                    match event_type {
                        #(#names => Self::#variant_idents(::std::default::Default::default()),)*
                        _ => Self::Unknown(::serde_json::Map::new()),
                    }
                }

                fn field<D: ::serde::Deserializer<'de>>(&mut self, key: ::hookforge::__private::Key<'de>, value: D) -> ::std::result::Result<(), D::Error> {
                    match self {
                        #(Self::#variant_idents(b) => ::hookforge::__private::Fields::field(b, key, value),)*
                        Self::Unknown(m) => ::hookforge::__private::extra_entry(m, key, value),
                    }
                }

                #[inline]
                fn finish<E: ::serde::de::Error>(self, event_type: &str) -> ::std::result::Result<Event, E> {
                    ::std::result::Result::Ok(match self {
                        #(Self::#variant_idents(b) => Event::#variant_idents(::hookforge::__private::Fields::finish(b)?),)*
                        Self::Unknown(m) => Event::Unknown(::hookforge::UnknownEvent {
                            event_type: event_type.to_string(),
                            payload: ::serde_json::Value::Object(m),
                        }),
                    })
                }
            }
        };
        (fast, fields)
    } else {
        (TokenStream::new(), TokenStream::new())
    };
    quote! {
        #event_fields

        /// Parses a delivery: reads the event type where the manifest says,
        /// then deserializes exactly that event's type.
        pub fn parse(body: &[u8], headers: &::hookforge::HeaderMap) -> ::std::result::Result<Event, ::hookforge::ParseError> {
            parse_delivery(body, headers).map(|d| d.event)
        }

        /// Like [`parse`], also returning the event id and type as located by
        /// the manifest.
        pub fn parse_delivery(body: &[u8], headers: &::hookforge::HeaderMap) -> ::std::result::Result<::hookforge::Delivery<Event>, ::hookforge::ParseError> {
            #fast
            __parse_delivery_careful(body, headers)
        }

        /// `parse_delivery` in two passes, envelope then model: the path
        /// that words errors exactly (and the reference the one-pass read is
        /// tested against).
        #[doc(hidden)]
        pub fn __parse_delivery_careful(body: &[u8], headers: &::hookforge::HeaderMap) -> ::std::result::Result<::hookforge::Delivery<Event>, ::hookforge::ParseError> {
            let envelope = VENDOR.read_envelope(body, headers)?;
            let event = match envelope.event_type.as_str() {
                #(#names => Event::#variant_idents(::hookforge::__private::decode(body, #names)?),)*
                _ => Event::Unknown(::hookforge::__private::decode_unknown(body, &envelope.event_type)?),
            };
            Ok(::hookforge::Delivery { event_type: envelope.event_type, event_id: envelope.event_id, event })
        }

        fn check_dyn(body: &[u8], headers: &::hookforge::HeaderMap) -> ::std::result::Result<::hookforge::Checked, ::hookforge::ParseError> {
            let d = parse_delivery(body, headers)?;
            Ok(::hookforge::Checked { known: d.event.kind().is_some(), event_type: d.event_type, event_id: d.event_id })
        }

        fn parse_dyn(body: &[u8], headers: &::hookforge::HeaderMap) -> ::std::result::Result<::hookforge::ParsedEvent, ::hookforge::ParseError> {
            let d = parse_delivery(body, headers)?;
            ::hookforge::ParsedEvent::new(d.event_type, d.event_id, d.event.kind().is_some(), &d.event)
        }
    }
}

/// `EVENTS`: each event's name, description, schema and samples.
fn events_static(events: &[EventOut<'_>], embed: Embed<'_>) -> TokenStream {
    let event_infos = events.iter().map(|e| {
        let name = e.name;
        let slug = e.slug;
        let description = e.description;
        let schema = include(embed, &e.schema_path);
        let samples = e.samples.iter().map(|s| {
            let sname = &s.name;
            let rel = &s.rel_path;
            let body = embed.file("include_bytes", rel);
            quote! {
                ::hookforge::SampleInfo {
                    name: #sname,
                    path: #rel,
                    body: #body,
                }
            }
        });
        quote! {
            ::hookforge::EventInfo {
                name: #name,
                slug: #slug,
                description: #description,
                schema_json: #schema,
                samples: &[#(#samples),*],
            }
        }
    });

    quote! {
        /// Each documented event: name, description, schema and samples.
        pub static EVENTS: &[::hookforge::EventInfo] = &[#(#event_infos),*];
    }
}

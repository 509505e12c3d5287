//! What generated vendor modules expose to the rest of hookforge.

use std::sync::OnceLock;

use http::HeaderMap;
use serde::Serialize;
use serde_json::Value;

use crate::manifest::vendor_dir::local_refs;
use crate::parse::{Envelope, EnvelopeReader};
use crate::{Manifest, ParseError};

/// A vendor's generated code, as seen by the CLI, receiver and harness.
pub struct VendorSpec {
    pub id: &'static str,
    pub name: &'static str,
    manifest_json: &'static str,
    definitions_json: &'static str,
    pub events: &'static [EventInfo],
    model: Model,
    manifest: OnceLock<Manifest>,
    envelope: OnceLock<EnvelopeReader>,
}

/// How a vendor's deliveries are parsed.
enum Model {
    /// Generated types (built-in vendors, or a user's `build.rs`).
    Compiled {
        parse: fn(&[u8], &HeaderMap) -> Result<ParsedEvent, ParseError>,
        check: fn(&[u8], &HeaderMap) -> Result<Checked, ParseError>,
    },
    /// Checked at run time (`--vendor-dir`: the schemas, validated).
    Runtime(Box<dyn DynModel>),
}

/// A vendor's deliveries checked at run time rather than by generated types
/// (see `vendor_dir`); not a stable API.
#[doc(hidden)]
pub trait DynModel: Send + Sync {
    fn parse(
        &self,
        spec: &VendorSpec,
        body: &[u8],
        headers: &HeaderMap,
    ) -> Result<ParsedEvent, ParseError>;
    fn check(
        &self,
        spec: &VendorSpec,
        body: &[u8],
        headers: &HeaderMap,
    ) -> Result<Checked, ParseError>;
}

impl VendorSpec {
    #[doc(hidden)]
    pub const fn new(
        id: &'static str,
        name: &'static str,
        manifest_json: &'static str,
        definitions_json: &'static str,
        events: &'static [EventInfo],
        parse: fn(&[u8], &HeaderMap) -> Result<ParsedEvent, ParseError>,
        check: fn(&[u8], &HeaderMap) -> Result<Checked, ParseError>,
    ) -> VendorSpec {
        let model = Model::Compiled { parse, check };
        VendorSpec::of(id, name, manifest_json, definitions_json, events, model)
    }

    /// A vendor whose deliveries `model` checks at run time.
    #[doc(hidden)]
    pub fn with_model(
        id: &'static str,
        name: &'static str,
        manifest_json: &'static str,
        definitions_json: &'static str,
        events: &'static [EventInfo],
        model: Box<dyn DynModel>,
    ) -> VendorSpec {
        let model = Model::Runtime(model);
        VendorSpec::of(id, name, manifest_json, definitions_json, events, model)
    }

    const fn of(
        id: &'static str,
        name: &'static str,
        manifest_json: &'static str,
        definitions_json: &'static str,
        events: &'static [EventInfo],
        model: Model,
    ) -> VendorSpec {
        VendorSpec {
            id,
            name,
            manifest_json,
            definitions_json,
            events,
            model,
            manifest: OnceLock::new(),
            envelope: OnceLock::new(),
        }
    }

    /// Whether the vendor was loaded from a directory at run time.
    pub fn is_runtime(&self) -> bool {
        !matches!(self.model, Model::Compiled { .. })
    }

    /// The vendor manifest.
    pub fn manifest(&self) -> &Manifest {
        self.manifest.get_or_init(|| {
            // The generator checked this very text with the same types before
            // embedding it, and build.rs refuses stale generated code.
            Manifest::from_json(self.manifest_json)
                .unwrap_or_else(|e| panic!("embedded manifest of `{}` is invalid: {e}", self.id))
        })
    }

    /// Locates the event type and id of a delivery as the manifest says.
    pub fn read_envelope(&self, body: &[u8], headers: &HeaderMap) -> Result<Envelope, ParseError> {
        self.envelope_reader().read(body, headers)
    }

    /// The vendor's envelope reader, built from its manifest on first use.
    pub fn envelope_reader(&self) -> &EnvelopeReader {
        self.envelope
            .get_or_init(|| EnvelopeReader::new(self.manifest()))
    }

    /// The manifest as embedded (`manifest.json`'s text).
    pub fn manifest_json(&self) -> &'static str {
        self.manifest_json
    }

    /// The shared definitions of the vendor's schemas (`definitions.json`'s
    /// `definitions`, refs made local), or an empty object.
    pub fn definitions(&self) -> Value {
        if self.definitions_json.trim().is_empty() {
            return Value::Object(Default::default());
        }
        let mut file: Value =
            serde_json::from_str(self.definitions_json).expect("generator embeds valid JSON");
        let mut defs = file
            .get_mut("definitions")
            .map(Value::take)
            .unwrap_or_else(|| Value::Object(Default::default()));
        local_refs(&mut defs);
        defs
    }

    /// Parses a delivery without knowing the vendor's types at compile time.
    pub fn parse(&self, body: &[u8], headers: &HeaderMap) -> Result<ParsedEvent, ParseError> {
        match &self.model {
            Model::Compiled { parse, .. } => parse(body, headers),
            Model::Runtime(m) => m.parse(self, body, headers),
        }
    }

    /// Parses a delivery into its typed model and keeps only the facts a
    /// receiver needs (cheaper than [`VendorSpec::parse`]: no re-serialization).
    pub fn check(&self, body: &[u8], headers: &HeaderMap) -> Result<Checked, ParseError> {
        match &self.model {
            Model::Compiled { check, .. } => check(body, headers),
            Model::Runtime(m) => m.check(self, body, headers),
        }
    }

    /// The documented event with this type string.
    pub fn event(&self, name: &str) -> Option<&'static EventInfo> {
        self.events.iter().find(|e| e.name == name)
    }

    /// A self-contained (draft-07) schema for one event, for validators:
    /// the event's own definitions beside the vendor's.
    pub fn bundled_schema(&self, event: &EventInfo) -> Value {
        let mut schema: Value =
            serde_json::from_str(event.schema_json).expect("generator embeds valid JSON");
        local_refs(&mut schema);
        match self.definitions() {
            Value::Object(defs) => crate::manifest::vendor_dir::bundle(&schema, &defs),
            _ => schema,
        }
    }
}

impl std::fmt::Debug for VendorSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VendorSpec")
            .field("id", &self.id)
            .field("events", &self.events.len())
            .finish()
    }
}

/// One documented event of a vendor.
#[derive(Debug)]
pub struct EventInfo {
    /// The event type string (`quote.created`).
    pub name: &'static str,
    /// File-safe form of the name, used for schema and sample paths.
    pub slug: &'static str,
    pub description: &'static str,
    /// The event's schema (refs point into the vendor definitions).
    pub schema_json: &'static str,
    pub samples: &'static [SampleInfo],
}

/// A sample payload, embedded byte for byte.
#[derive(Debug)]
pub struct SampleInfo {
    pub name: &'static str,
    /// Path relative to the crate root.
    pub path: &'static str,
    pub body: &'static [u8],
}

/// A parsed delivery, vendor-independent: the typed value re-serialized.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ParsedEvent {
    pub event_type: String,
    pub event_id: Option<String>,
    pub known: bool,
    pub payload: Value,
}

impl ParsedEvent {
    #[doc(hidden)]
    pub fn new<E: Serialize>(
        event_type: String,
        event_id: Option<String>,
        known: bool,
        event: &E,
    ) -> Result<ParsedEvent, ParseError> {
        let payload = serde_json::to_value(event).map_err(|e| ParseError::Payload {
            event: event_type.clone(),
            path: "(re-serialization)".into(),
            message: e.to_string(),
        })?;
        Ok(ParsedEvent {
            event_type,
            event_id,
            known,
            payload,
        })
    }
}

/// What [`VendorSpec::check`] found: the delivery parsed into its typed model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    pub event_type: String,
    pub event_id: Option<String>,
    pub known: bool,
}

/// Returned by `EventKind::from_str` for a type string that is not documented.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a documented event type")]
pub struct UnknownEventType(pub String);

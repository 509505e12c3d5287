//! What a typed parse returns.

use serde::Serialize;
use serde_json::Value;

/// A parsed delivery with its envelope facts.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery<E> {
    pub event_type: String,
    pub event_id: Option<String>,
    pub event: E,
}

/// An event whose type the schemas do not know, kept whole.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UnknownEvent {
    pub event_type: String,
    pub payload: Value,
}

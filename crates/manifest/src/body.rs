//! How a vendor encodes its deliveries' bodies.

use serde::{Deserialize, Serialize};

/// The body's encoding: JSON (most vendors) or an HTML form
/// (`application/x-www-form-urlencoded`: Twilio, Slack's slash commands and
/// interactivity). A form is read as a JSON object of its fields, so
/// schemas, models and checks work on it as on JSON.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BodyFormat {
    #[serde(default)]
    pub encoding: BodyEncoding,
    /// A form field whose value is the event as JSON (Slack's `payload`):
    /// the event is that JSON, with the form's other fields added to it.
    pub json_field: Option<String>,
    /// Further content types the vendor sends a JSON body with (AWS SNS
    /// posts JSON as `text/plain`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub content_types: Vec<String>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BodyEncoding {
    #[default]
    Json,
    Form,
}

impl BodyFormat {
    pub fn is_form(&self) -> bool {
        self.encoding == BodyEncoding::Form
    }

    /// Whether `essence` (a content type without parameters) is one the
    /// manifest adds.
    pub fn also_accepts(&self, essence: &str) -> bool {
        self.content_types
            .iter()
            .any(|c| c.eq_ignore_ascii_case(essence))
    }

    /// The content type deliveries carry.
    pub fn content_type(&self) -> &'static str {
        match self.encoding {
            BodyEncoding::Json => "application/json",
            BodyEncoding::Form => "application/x-www-form-urlencoded",
        }
    }
}

//! Timestamps that keep the vendor's text.

use std::fmt;

use chrono::{DateTime, FixedOffset, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A timestamp as the vendor wrote it.
///
/// Vendors disagree on precision (SuperOffice sends 7 fractional digits) and
/// even on syntax (Cowbell writes `+0000` without a colon), and a parsed
/// `DateTime` would re-serialize differently. So the text is kept as
/// received, and [`Timestamp::parse`] gives the instant on demand.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Timestamp(String);

/// A timestamp whose text is not a date-time hookforge understands.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{text}` is not an RFC 3339 date-time (nor one with a `+hhmm` offset)")]
pub struct TimestampError {
    pub text: String,
}

impl Timestamp {
    pub fn new(text: impl Into<String>) -> Timestamp {
        Timestamp(text.into())
    }

    /// The text exactly as received.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The instant with its original offset. Accepts RFC 3339 and the common
    /// variant with a `+hhmm` offset (no colon).
    pub fn parse(&self) -> Result<DateTime<FixedOffset>, TimestampError> {
        DateTime::parse_from_rfc3339(&self.0)
            .or_else(|_| DateTime::parse_from_str(&self.0, "%Y-%m-%dT%H:%M:%S%.f%z"))
            .map_err(|_| TimestampError {
                text: self.0.clone(),
            })
    }

    /// The instant in UTC.
    pub fn to_utc(&self) -> Result<DateTime<Utc>, TimestampError> {
        self.parse().map(|t| t.with_timezone(&Utc))
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Timestamp({:?})", self.0)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // Kept lenient on purpose: a malformed timestamp is the vendor's
        // problem to report, not a reason to drop the delivery.
        String::deserialize(d).map(Timestamp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_text_and_parses_variants() {
        let t = Timestamp::new("2018-04-24T08:13:02.8352175Z");
        assert_eq!(
            serde_json::to_string(&t).unwrap(),
            r#""2018-04-24T08:13:02.8352175Z""#
        );
        assert_eq!(t.to_utc().unwrap().timestamp(), 1524557582);
        let c = Timestamp::new("2021-05-13T06:07:54.407+0000");
        assert_eq!(c.to_utc().unwrap().timestamp_millis(), 1620886074407);
        assert!(Timestamp::new("yesterday").parse().is_err());
    }
}

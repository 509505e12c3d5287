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

/// A time that may be sent as epoch milliseconds (integer or numeric string)
/// or as RFC 3339 text, kept exactly as sent.
///
/// Socotra's classic API types these fields `timestamp` without saying which
/// form it uses; milliseconds since the epoch is the usual one but unconfirmed.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum FlexTimestamp {
    /// An integer, read as milliseconds since the Unix epoch.
    Millis(i64),
    /// A string: numeric (epoch milliseconds) or RFC 3339.
    Text(String),
}

impl FlexTimestamp {
    /// The instant in UTC. Integers and numeric strings are milliseconds since
    /// the epoch; other strings must be RFC 3339.
    pub fn to_utc(&self) -> Result<DateTime<Utc>, TimestampError> {
        let millis = match self {
            FlexTimestamp::Millis(ms) => Some(*ms),
            FlexTimestamp::Text(t) => t.trim().parse::<i64>().ok(),
        };
        let text = || match self {
            FlexTimestamp::Millis(ms) => ms.to_string(),
            FlexTimestamp::Text(t) => t.clone(),
        };
        match millis {
            Some(ms) => {
                DateTime::from_timestamp_millis(ms).ok_or_else(|| TimestampError { text: text() })
            }
            None => Timestamp::new(text()).to_utc(),
        }
    }
}

impl Serialize for FlexTimestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            FlexTimestamp::Millis(ms) => s.serialize_i64(*ms),
            FlexTimestamp::Text(t) => s.serialize_str(t),
        }
    }
}

impl<'de> Deserialize<'de> for FlexTimestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = FlexTimestamp;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("epoch milliseconds (integer or numeric string) or an RFC 3339 string")
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<FlexTimestamp, E> {
                Ok(FlexTimestamp::Millis(v))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<FlexTimestamp, E> {
                i64::try_from(v)
                    .map(FlexTimestamp::Millis)
                    .map_err(|_| E::custom(format!("{v} is out of range for epoch milliseconds")))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<FlexTimestamp, E> {
                Ok(FlexTimestamp::Text(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod flex_tests {
    use super::*;

    #[test]
    fn accepts_each_form_and_keeps_it() {
        for (text, ms) in [
            ("1762000000000", 1_762_000_000_000i64),
            ("\"1762000000000\"", 1_762_000_000_000),
            ("\"2025-11-01T12:26:40Z\"", 1_762_000_000_000),
        ] {
            let t: FlexTimestamp = serde_json::from_str(text).unwrap();
            assert_eq!(serde_json::to_string(&t).unwrap(), text);
            assert_eq!(t.to_utc().unwrap().timestamp_millis(), ms, "{text}");
        }
        assert!(serde_json::from_str::<FlexTimestamp>("1.5").is_err());
        assert!(FlexTimestamp::Text("soon".into()).to_utc().is_err());
    }
}

//! What a catalogue vendor's entry says about its own evidence: how its
//! authentication was proven, where its schemas came from and which event
//! families it documents without a sample. `hookforge vendors` shows all
//! three; the repository's tests hold every `sdk` and `published-vector`
//! claim to a vector they check (tests/vectors).

use serde::{Deserialize, Serialize};

/// How the vendor's authentication scheme, as this manifest describes it,
/// was proven.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Proof {
    pub by: ProofKind,
    /// The library (`npm:square@43.0.0`, `pypi:slack_sdk@3.33.0`) for `sdk`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub library: Option<String>,
    /// Where the vector was published, for `published-vector`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Why nothing better exists, for `documented` (required there).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProofKind {
    /// The vendor's official library signed or verified deliveries, both
    /// directions (`scripts/sdk-vectors`, `scripts/check-receivers`).
    Sdk,
    /// A signature the vendor published (secret, payload, signature).
    PublishedVector,
    /// Only the documentation: no official verifier and no published vector.
    Documented,
}

impl ProofKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ProofKind::Sdk => "sdk",
            ProofKind::PublishedVector => "published-vector",
            ProofKind::Documented => "documented",
        }
    }
}

/// Where the event schemas came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchemaSource {
    pub from: SchemaOrigin,
    /// The published schema or OpenAPI document, for `published`.
    #[serde(
        default,
        deserialize_with = "crate::null_as_empty",
        skip_serializing_if = "String::is_empty"
    )]
    pub source: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
}

/// An event family the vendor documents that has no sample, and why: no
/// published example, or none that can be used as it is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Unsampled {
    /// The family as the vendor names its events (`COMMENT.*`, `ticket.*`).
    pub family: String,
    /// Why there is no sample (what was looked at, what was found).
    pub why: String,
}

impl Unsampled {
    pub(crate) fn check(&self, i: usize) -> Result<(), String> {
        if self.family.trim().is_empty() || self.why.trim().is_empty() {
            return Err(format!(
                "`unsampled[{i}]`: both `family` and `why` must say something"
            ));
        }
        Ok(())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SchemaOrigin {
    /// Taken from the vendor's published JSON Schema or OpenAPI.
    Published,
    /// Inferred from the samples (and the docs' field lists).
    Inferred,
}

impl SchemaOrigin {
    pub fn as_str(self) -> &'static str {
        match self {
            SchemaOrigin::Published => "published",
            SchemaOrigin::Inferred => "inferred",
        }
    }
}

impl Proof {
    /// Each kind carries what backs it.
    pub(crate) fn check(&self) -> Result<(), String> {
        match self.by {
            ProofKind::Sdk if self.library.is_none() => {
                Err("`proof.library` is required with `by: sdk` (e.g. `npm:square@43.0.0`)".into())
            }
            ProofKind::PublishedVector if self.source.is_none() => Err(
                "`proof.source` is required with `by: published-vector` (the page or file that publishes it)"
                    .into(),
            ),
            ProofKind::Documented if self.note.trim().is_empty() => Err(
                "`proof.note` is required with `by: documented`: say why no SDK or published vector proves it"
                    .into(),
            ),
            _ => Ok(()),
        }
    }
}

impl SchemaSource {
    pub(crate) fn check(&self) -> Result<(), String> {
        if self.from == SchemaOrigin::Published && self.source.trim().is_empty() {
            return Err("`schemas.source` is required with `from: published`".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unsampled_family_says_which_and_why() {
        let ok = Unsampled {
            family: "COMMENT.*".into(),
            why: "no published example".into(),
        };
        assert_eq!(ok.check(0), Ok(()));
        let no_why = Unsampled {
            why: " ".into(),
            ..ok.clone()
        };
        let err = no_why.check(3).unwrap_err();
        assert!(err.contains("`unsampled[3]`"), "{err}");
        let unknown: Result<Unsampled, _> =
            serde_json::from_str(r#"{"family": "a.*", "why": "x", "reason": "y"}"#);
        assert!(unknown.is_err());
    }
}

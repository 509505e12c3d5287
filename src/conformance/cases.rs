//! The cases of a conformance run: every sample as the vendor sends it, and
//! the negative cases a receiver must survive, one function each.

use serde_json::Value;

use crate::VendorSpec;
use crate::auth::{Secret, Signer};
use crate::conformance::delivery::{Attempt, vendor_headers};
use crate::conformance::harness::HarnessError;

/// What one case sends and how its answer is judged.
pub(crate) struct Plan {
    pub id: String,
    /// Requests in order; all must meet their expectation.
    pub steps: Vec<Step>,
}

pub(crate) struct Step {
    pub what: String,
    pub body: Vec<u8>,
    pub headers: Vec<(String, String)>,
    pub expect: Expect,
}

#[derive(Clone, Copy)]
pub(crate) enum Expect {
    /// The vendor's success rule.
    Success,
    /// 401 or 403.
    Unauthorized,
    /// Any 4xx.
    ClientError,
}

/// The headers the vendor sends with `body`, signed when `signer` is set.
pub(crate) fn headers(
    v: &VendorSpec,
    body: &[u8],
    signer: Option<&Signer>,
) -> Vec<(String, String)> {
    vendor_headers(v, body, signer, &Attempt::default()).unwrap_or_else(|_| {
        // Bodies that are not deliveries (the malformed case) still get
        // the vendor's content type and auth.
        let mut h = vec![("Content-Type".to_string(), "application/json".to_string())];
        if let Some(s) = signer {
            for (k, v) in s.sign(body, &crate::auth::SignContext::now("msg_malformed")) {
                h.push((k.to_string(), v.to_str().unwrap_or_default().to_string()));
            }
        }
        h
    })
}

/// One case per sample, its body passed through `rewrite` (the sandbox
/// points vendor URLs at itself).
pub(crate) fn samples(
    v: &VendorSpec,
    signer: Option<&Signer>,
    rewrite: impl Fn(&[u8]) -> Vec<u8>,
) -> Vec<Plan> {
    let mut plans = Vec::new();
    for e in v.events {
        for s in e.samples {
            let body = rewrite(s.body);
            plans.push(Plan {
                id: format!("{}/{}/{}", v.id, e.name, s.name),
                steps: vec![Step {
                    what: format!("sample {}", s.path),
                    headers: headers(v, &body, signer),
                    body,
                    expect: Expect::Success,
                }],
            });
        }
    }
    plans
}

/// A delivery without its credentials, and one signed with a wrong secret:
/// both must be refused with 401 or 403.
pub(crate) fn auth(
    v: &VendorSpec,
    unsigned_body: Vec<u8>,
    wrong_body: Vec<u8>,
    wrong: Option<&Signer>,
) -> Vec<Plan> {
    vec![
        Plan {
            id: format!("{}/auth/missing", v.id),
            steps: vec![Step {
                what: "a valid delivery without its signature or bearer".into(),
                headers: headers(v, &unsigned_body, None),
                body: unsigned_body,
                expect: Expect::Unauthorized,
            }],
        },
        Plan {
            id: format!("{}/auth/invalid", v.id),
            steps: vec![Step {
                what: "a valid delivery signed with the wrong secret".into(),
                headers: headers(v, &wrong_body, wrong),
                body: wrong_body,
                expect: Expect::Unauthorized,
            }],
        },
    ]
}

/// The auth cases, skipped: the vendor documents none and no secret is set.
pub(crate) fn auth_not_applicable(v: &VendorSpec) -> Vec<Plan> {
    ["missing", "invalid"]
        .into_iter()
        .map(|id| Plan {
            id: format!("{}/auth/{id}", v.id),
            steps: Vec::new(),
        })
        .collect()
}

/// An event type the vendor has not documented: must succeed (kept, not refused).
pub(crate) fn unknown_event(
    v: &VendorSpec,
    fresh: &[u8],
    signer: Option<&Signer>,
) -> Result<Plan, HarnessError> {
    let mut doc: Value = serde_json::from_slice(fresh)
        .map_err(|e| HarnessError::Internal(format!("a fresh delivery is not JSON: {e}")))?;
    if let Some(p) = &v.manifest().event_type.pointer
        && let Some(slot) = doc.pointer_mut(p)
    {
        *slot = Value::String("hookforge.conformance.undocumented_event".into());
    }
    let body = serde_json::to_vec(&doc).expect("Value serializes");
    Ok(Plan {
        id: format!("{}/unknown-event", v.id),
        steps: vec![Step {
            what: "an undocumented event type".into(),
            headers: headers(v, &body, signer),
            body,
            expect: Expect::Success,
        }],
    })
}

/// The same delivery twice: both must succeed (the second is a duplicate).
pub(crate) fn duplicate(v: &VendorSpec, body: Vec<u8>, signer: Option<&Signer>) -> Plan {
    let headers = headers(v, &body, signer);
    Plan {
        id: format!("{}/duplicate", v.id),
        steps: vec![
            Step {
                what: "a new delivery".into(),
                body: body.clone(),
                headers: headers.clone(),
                expect: Expect::Success,
            },
            Step {
                what: "the same delivery again".into(),
                body,
                headers,
                expect: Expect::Success,
            },
        ],
    }
}

/// A malformed body (a 4xx), then a valid delivery right after (success:
/// the receiver survived).
pub(crate) fn malformed(v: &VendorSpec, good: Vec<u8>, signer: Option<&Signer>) -> Plan {
    let bad = b"{\"this is\": not JSON, \"truncated".to_vec();
    Plan {
        id: format!("{}/malformed", v.id),
        steps: vec![
            Step {
                what: "a malformed body".into(),
                headers: headers(v, &bad, signer),
                body: bad,
                expect: Expect::ClientError,
            },
            Step {
                what: "a valid delivery right after".into(),
                headers: headers(v, &good, signer),
                body: good,
                expect: Expect::Success,
            },
        ],
    }
}

/// A secret that is certainly not the configured one, in the same format.
pub(crate) fn wrong_secret(s: Option<&Secret>) -> String {
    match s.map(Secret::expose) {
        Some(real) if real.starts_with("whsec_") => {
            // Standard Webhooks needs base64 after the prefix; bearer any text.
            let candidate = "whsec_aG9va2ZvcmdlLWNvbmZvcm1hbmNlLXdyb25nLXNlY3JldA==";
            if candidate == real {
                "whsec_YW5vdGhlci13cm9uZy1jb25mb3JtYW5jZS1zZWNyZXQ=".into()
            } else {
                candidate.into()
            }
        }
        Some(real) => format!("{real}-but-wrong"),
        None => "hookforge-conformance-wrong-secret".into(),
    }
}

/// A new delivery based on `base`: a fresh event id where the vendor sends
/// one (same shape, last characters changed), otherwise a nonce field
/// (receivers must keep unknown fields) so content-hash dedupe sees it as new.
pub fn fresh_delivery(v: &VendorSpec, base: &[u8], nonce: &str) -> Vec<u8> {
    let mut doc: Value = match serde_json::from_slice(base) {
        Ok(d) => d,
        Err(_) => return base.to_vec(),
    };
    let id_ptr = v
        .manifest()
        .event_id
        .as_ref()
        .and_then(|l| l.pointer.clone());
    match id_ptr.as_deref().and_then(|p| doc.pointer_mut(p)) {
        Some(Value::String(id)) => *id = mutate_id(id, nonce),
        _ => {
            if let Value::Object(o) = &mut doc {
                o.insert("x_hookforge_nonce".into(), Value::String(nonce.into()));
            }
        }
    }
    serde_json::to_vec(&doc).expect("Value serializes")
}

/// Changes the last characters of an id, each within its own class (digits,
/// hex letters, Crockford letters), so the id keeps its documented format.
pub fn mutate_id(id: &str, nonce: &str) -> String {
    const CROCKFORD_LETTERS: &[u8] = b"ABCDEFGHJKMNPQRSTVWXYZ";
    let h = crate::util::sha256_hex(nonce.as_bytes());
    let mut seed = h.bytes().cycle();
    let mut chars: Vec<char> = id.chars().collect();
    let n = chars.len();
    for c in chars.iter_mut().skip(n.saturating_sub(10)) {
        let r = seed.next().unwrap_or(b'0') as usize;
        *c = match *c {
            '0'..='9' => (b'0' + (r % 10) as u8) as char,
            'a'..='f' => (b'a' + (r % 6) as u8) as char,
            'A'..='Z' if c.is_ascii_uppercase() => {
                CROCKFORD_LETTERS[r % CROCKFORD_LETTERS.len()] as char
            }
            'g'..='z' => (b'a' + (r % 26) as u8) as char,
            other => other,
        };
    }
    chars.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mutated_ids_keep_their_format() {
        let ulid = "evt_01KV59VZ502G6BXAD1YKNHQHNB";
        let m = mutate_id(ulid, "x");
        assert_ne!(m, ulid);
        assert_eq!(m.len(), ulid.len());
        assert!(
            m[4..]
                .bytes()
                .all(|b| b"0123456789ABCDEFGHJKMNPQRSTVWXYZ".contains(&b)),
            "{m}"
        );
        let uuid = "1fc5752a-6de8-412d-847a-12d5529a0ec6";
        let m = mutate_id(uuid, "x");
        assert_ne!(m, uuid);
        assert!(m.chars().all(|c| c == '-' || c.is_ascii_hexdigit()), "{m}");
        assert_eq!(mutate_id(uuid, "x"), m);
        assert_ne!(mutate_id(uuid, "y"), m);
    }
}

//! The stream of events a simulation sends: the vendor's samples, each with
//! a fresh event id and fresh timestamps written in the sample's own format,
//! so every event is a distinct delivery to the receiver's deduplication.

use crate::util::is_uuid;
use std::collections::{HashMap, HashSet};

use serde::Serialize;
use serde_json::Value;

use super::faults::Rng;
use crate::VendorSpec;

/// One event the simulator delivers.
#[derive(Debug, Clone, Serialize)]
pub struct SimEvent {
    /// Position in the stream (0-based), before any reordering.
    pub index: usize,
    pub event_type: String,
    pub event_id: Option<String>,
    /// The id sent in the vendor's id header when the body carries none
    /// (GitHub's `X-GitHub-Delivery`): fresh per event, in the vendor's format.
    #[serde(skip)]
    pub header_id: Option<String>,
    /// What a receiver deduplicates on (as `hookforge serve` does).
    pub dedupe_key: String,
    /// The sample it was made from (`<event>/<name>`).
    pub sample: String,
    #[serde(skip)]
    pub body: Vec<u8>,
}

/// Why the simulator cannot make the events asked for.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("{vendor} has no samples to build events from")]
    NoSamples { vendor: String },
    #[error("sample {sample} is not JSON: {source}")]
    NotJson {
        sample: String,
        source: serde_json::Error,
    },
    /// The envelope of a sample, after its ids and times were made new.
    #[error("sample {sample} after refreshing: {reason}")]
    Envelope { sample: String, reason: String },
    #[error(
        "cannot make {count} distinct events from {vendor}'s samples: after {made} every sample \
         repeats one already sent (it has no id, date-time or UUID to refresh)"
    )]
    TooFew {
        count: usize,
        vendor: String,
        made: usize,
    },
}

/// Builds `n` distinct events from the vendor's samples, taken in turn.
/// `now_ms` is the first event's time; each next event is 1 ms later (a
/// second, and [`ENTITY_RUN`] in a row about one entity, for a vendor whose
/// manifest orders deliveries by entity).
pub fn build(
    vendor: &VendorSpec,
    count: usize,
    seed: u64,
    now_ms: i64,
) -> Result<Vec<SimEvent>, BuildError> {
    let samples = samples_of(vendor);
    if samples.is_empty() {
        return Err(BuildError::NoSamples {
            vendor: vendor.id.to_string(),
        });
    }
    let id_pointer = vendor
        .manifest()
        .event_id
        .as_ref()
        .and_then(|l| l.pointer.clone());
    // Ids differ from run to run (the start time and the OS's randomness are
    // mixed in): with the seed alone, a second run sent the first run's ids,
    // the receiver answered them as duplicates, and the verdict counted the
    // first run's handling (a receiver with its handler off passed). Faults
    // stay the seed's alone.
    use std::hash::BuildHasher;
    let random = std::collections::hash_map::RandomState::new().hash_one(now_ms);
    let mut rng = Rng::new(seed ^ 0x5eed_e7e7 ^ random);
    let mut seen = HashSet::new();
    // A vendor that orders deliveries by entity: events come in runs about
    // one entity (a quote created, updated, financed), a second apart, so
    // reordering and second-precision sequences have something to order.
    let entity_pointer = vendor
        .manifest()
        .ordering
        .as_ref()
        .and_then(|o| o.key.pointer.clone());
    let spacing_ms = if entity_pointer.is_some() { 1000 } else { 1 };
    let mut entities: HashMap<usize, String> = HashMap::new();
    // Samples that gave a body already sent (nothing in them to refresh,
    // for a vendor that sends no id): used once only.
    let mut spent = vec![false; samples.len()];
    let mut out = Vec::with_capacity(count);
    let mut next = 0usize;
    while out.len() < count {
        let mut made = None;
        for _ in 0..samples.len() {
            let k = next % samples.len();
            next += 1;
            if spent[k] {
                continue;
            }
            let (name, event, raw) = &samples[k];
            let mut doc: Value =
                serde_json::from_slice(raw).map_err(|source| BuildError::NotJson {
                    sample: name.clone(),
                    source,
                })?;
            let at = now_ms + out.len() as i64 * spacing_ms;
            refresh(&mut doc, id_pointer.as_deref(), at, &mut rng);
            refresh_ids(vendor, &mut doc, &mut rng);
            crate::conformance::delivery::stamp_times(vendor, &mut doc, at);
            if let Some(Value::String(entity)) =
                entity_pointer.as_deref().and_then(|p| doc.pointer_mut(p))
            {
                let run = out.len() / ENTITY_RUN;
                *entity = entities
                    .entry(run)
                    .or_insert_with(|| fresh_like(entity, &mut rng))
                    .clone();
            }
            let body = serde_json::to_vec(&doc).expect("Value serializes");
            let (envelope, header_id) = identify(vendor, &body, event, name, &mut rng)?;
            let event_id = envelope.event_id.or_else(|| header_id.clone());
            let key = crate::util::vendor_dedupe_key(vendor.manifest(), event_id.as_deref(), &body);
            if !seen.insert(key.clone()) {
                spent[k] = true;
                continue;
            }
            made = Some(SimEvent {
                index: out.len(),
                event_type: envelope.event_type,
                event_id,
                header_id,
                dedupe_key: key,
                sample: name.clone(),
                body,
            });
            break;
        }
        match made {
            Some(e) => out.push(e),
            None => {
                return Err(BuildError::TooFew {
                    count,
                    vendor: vendor.id.to_string(),
                    made: out.len(),
                });
            }
        }
    }
    Ok(out)
}

/// Every sample of the vendor: (event/sample name, event, body).
fn samples_of(vendor: &VendorSpec) -> Vec<(String, &'static str, &'static [u8])> {
    vendor
        .events
        .iter()
        .flat_map(|e| {
            e.samples
                .iter()
                .map(move |s| (format!("{}/{}", e.name, s.name), e.name, s.body))
        })
        .collect()
}

/// The envelope of a built event's body and, for a vendor that sends the
/// event id in a header, a fresh id in its format for that header.
fn identify(
    vendor: &VendorSpec,
    body: &[u8],
    event: &str,
    name: &str,
    rng: &mut Rng,
) -> Result<(crate::Envelope, Option<String>), BuildError> {
    let envelope = match vendor.read_envelope(body, &http::HeaderMap::new()) {
        // A type in a header (Shopify's topic), or joined from one
        // (GitHub's): the sample's event.
        Err(_) if vendor.manifest().event_type.header.is_some() => crate::Envelope {
            event_type: event.to_string(),
            event_id: None,
        },
        other => other.map_err(|e| BuildError::Envelope {
            sample: name.to_string(),
            reason: e.to_string(),
        })?,
    };
    let header_id = match (&envelope.event_id, &vendor.manifest().event_id) {
        (None, Some(loc)) if loc.header.is_some() => Some(fresh_like(
            loc.example
                .as_deref()
                .unwrap_or("msg_2KWPBgLlAfxdpx2AI54pPJ85f4W"),
            rng,
        )),
        _ => None,
    };
    Ok((envelope, header_id))
}

/// How many events in a row are about one entity, for ordered vendors.
pub const ENTITY_RUN: usize = 4;

/// Gives a document a fresh identity: the event id, every UUID (the same
/// UUID twice in a body maps to the same new one) and every date-time
/// string in its own format, and the manifest's other timestamps.
fn refresh(doc: &mut Value, id_pointer: Option<&str>, at_ms: i64, rng: &mut Rng) {
    let mut uuids = HashMap::new();
    crate::util::each_string_mut(doc, &mut |s: &mut String| {
        if is_uuid(s) {
            let new = uuids
                .entry(s.clone())
                .or_insert_with(|| fresh_like(s, rng))
                .clone();
            *s = new;
        } else if let Some(t) = fresh_datetime(s, at_ms) {
            *s = t;
        }
    });
    if let Some(Value::String(id)) = id_pointer.and_then(|p| doc.pointer_mut(p)) {
        *id = fresh_like(id, rng);
    }
}

/// The ids the manifest names besides the event id (`delivery.fresh_ids`,
/// HubSpot's `/*/eventId`), new for this event: a string in its own shape,
/// a number with as many digits. Receivers dedupe on them, so a run with
/// more events than samples would otherwise repeat them (helper-56's
/// review: a correct HubSpot receiver was judged to lose events).
fn refresh_ids(vendor: &VendorSpec, doc: &mut Value, rng: &mut Rng) {
    let fresh_ids = vendor.manifest().fresh_ids();
    for pointer in crate::manifest::pointers_matching_any(doc, fresh_ids) {
        match doc.pointer_mut(&pointer) {
            Some(Value::String(s)) => *s = fresh_like(s, rng),
            Some(Value::Number(n)) if n.as_u64().is_some() => {
                // As many digits (9 at least, so a placeholder such as `3`
                // does not repeat; 18 at most, within u64), the first not 0.
                let len = n.to_string().len().clamp(9, 18) as u32;
                let mut fresh = 1 + rng.below(9);
                for _ in 1..len {
                    fresh = fresh * 10 + rng.below(10);
                }
                *n = fresh.into();
            }
            _ => {}
        }
    }
}

/// A new id in the shape of `old`: a prefix up to the last `_` is kept,
/// then each character is replaced within its class (lower/upper hex,
/// Crockford base32, digits, letters); separators and a UUID's version
/// digit stay.
pub fn fresh_like(old: &str, rng: &mut Rng) -> String {
    const CROCKFORD: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let (prefix, rest) = match old.rfind('_') {
        Some(i) => old.split_at(i + 1),
        None => ("", old),
    };
    let hex = rest.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-');
    let crockford = !hex && rest.bytes().all(|b| CROCKFORD.contains(&b));
    let uuid = is_uuid(rest);
    // Hex keeps the id's case (a GUID is often upper-case throughout).
    let upper = rest.bytes().any(|b| b.is_ascii_uppercase())
        && !rest.bytes().any(|b| b.is_ascii_lowercase());
    let mut out = String::with_capacity(old.len());
    out.push_str(prefix);
    for (i, c) in rest.chars().enumerate() {
        let r = rng.below(64) as usize;
        let n = match c {
            _ if uuid && i == 14 => c,
            // The RFC 4122 variant: 8, 9, a or b.
            _ if uuid && i == 19 => {
                let d = b"89ab"[r % 4] as char;
                if upper { d.to_ascii_uppercase() } else { d }
            }
            '0'..='9' | 'a'..='f' | 'A'..='F' if hex => {
                let d = b"0123456789abcdef"[r % 16] as char;
                if upper { d.to_ascii_uppercase() } else { d }
            }
            _ if crockford => CROCKFORD[r % 32] as char,
            '0'..='9' => (b'0' + (r % 10) as u8) as char,
            'a'..='z' => (b'a' + (r % 26) as u8) as char,
            'A'..='Z' => (b'A' + (r % 26) as u8) as char,
            other => other,
        };
        out.push(n);
    }
    out
}

/// `at_ms` written in the shape of `s` if `s` is a date-time
/// (`YYYY-MM-DDTHH:MM:SS`, optional fraction, `Z` / `±HH:MM` / `±HHMM` /
/// nothing): same fraction digits, same offset style (in UTC).
pub fn fresh_datetime(text: &str, at_ms: i64) -> Option<String> {
    let b = text.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| r.clone().all(|i| b.get(i).is_some_and(u8::is_ascii_digit));
    let shape = b.len() >= 19
        && digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && (b[10] == b'T' || b[10] == b' ')
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && digits(17..19);
    if !shape {
        return None;
    }
    let mut i = 19;
    let mut frac = 0;
    if b.get(i) == Some(&b'.') {
        i += 1;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            frac += 1;
            i += 1;
        }
        if frac == 0 {
            return None;
        }
    }
    let offset = match &text[i..] {
        "" => "",
        "Z" => "Z",
        o if o.len() == 6 && (o.starts_with('+') || o.starts_with('-')) && &o[3..4] == ":" => {
            "+00:00"
        }
        o if o.len() == 5 && (o.starts_with('+') || o.starts_with('-')) => "+0000",
        _ => return None,
    };
    let t = chrono::DateTime::from_timestamp_millis(at_ms)?;
    let mut out = t.format("%Y-%m-%d").to_string();
    out.push(b[10] as char);
    out.push_str(&t.format("%H:%M:%S").to_string());
    if frac > 0 {
        let nanos = format!("{:09}", t.timestamp_subsec_nanos());
        out.push('.');
        // More than 9 digits: pad with zeros, keeping the length.
        out.push_str(&format!("{nanos:0<frac$}")[..frac]);
    }
    out.push_str(offset);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datetimes_keep_their_format() {
        let at = 1_762_000_000_123;
        for (given, fresh) in [
            (
                "2021-05-13T06:07:54.407+0000",
                "2025-11-01T12:26:40.123+0000",
            ),
            (
                "2024-01-02T03:04:05.1234567Z",
                "2025-11-01T12:26:40.1230000Z",
            ),
            ("2024-01-02T03:04:05Z", "2025-11-01T12:26:40Z"),
            ("2024-01-02 03:04:05-05:00", "2025-11-01 12:26:40+00:00"),
        ] {
            assert_eq!(fresh_datetime(given, at).as_deref(), Some(fresh), "{given}");
        }
        for not in [
            "2024-01-02",
            "yesterday",
            "2024-01-02T03:04:05.Z",
            "2024-01-02T03:04:05 PST",
        ] {
            assert_eq!(fresh_datetime(not, at), None, "{not}");
        }
    }

    #[test]
    fn ids_keep_their_shape() {
        let mut rng = Rng::new(7);
        let ulid = "evt_01KV59VZ502G6BXAD1YKNHQHNB";
        let new = fresh_like(ulid, &mut rng);
        assert!(new.starts_with("evt_") && new.len() == ulid.len() && new != ulid);
        assert!(
            new[4..]
                .bytes()
                .all(|b| b"0123456789ABCDEFGHJKMNPQRSTVWXYZ".contains(&b)),
            "{new}"
        );
        let guid = "D2A2C5F0-1C43-4B6E-9C1A-2F3B4C5D6E7F";
        let new = fresh_like(guid, &mut rng);
        assert!(
            is_uuid(&new) && new != guid && new.chars().nth(14) == Some('4'),
            "{new}"
        );
        assert!(!new.bytes().any(|b| b.is_ascii_lowercase()), "{new}");
    }

    #[test]
    fn every_vendor_gives_distinct_events_in_its_formats() {
        // The compiled vendors: a catalogue vendor another test loaded may
        // need its type header, which `check` here is not given.
        for v in crate::vendors::ALL.iter().copied() {
            let events = build(v, 40, 1, 1_762_000_000_000).unwrap();
            let keys: HashSet<_> = events.iter().map(|e| &e.dedupe_key).collect();
            assert_eq!(keys.len(), 40, "{}", v.id);
            for e in &events {
                // Still the vendor's delivery, and still fits its model.
                v.check(&e.body, &http::HeaderMap::new())
                    .unwrap_or_else(|err| panic!("{} {}: {err}", v.id, e.sample));
            }
        }
    }
}

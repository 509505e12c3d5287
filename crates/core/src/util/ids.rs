//! Identities: UUIDs, digests and the keys deliveries are deduplicated on.

use sha2::{Digest, Sha256};

use super::json::json_span;

/// Whether `s` is a UUID in its canonical text form (8-4-4-4-12 hex).
pub fn is_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// Lower-case hexadecimal.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// SHA-256, in lower-case hexadecimal.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// The idempotency key of a delivery: the vendor's event id, or a hash of
/// the body for vendors that send none.
pub fn dedupe_key(event_id: Option<&str>, body: &[u8]) -> String {
    match event_id {
        // A blank id identifies nothing; the body does.
        Some(id) if !id.trim().is_empty() => format!("id:{id}"),
        Some(_) | None => format!("sha256:{}", sha256_hex(body)),
    }
}

/// [`dedupe_key`] for a vendor whose body changes on every attempt
/// (`delivery.per_attempt`, HubSpot's `/*/attemptNumber`): without an event
/// id, the hash is of the body's bytes with those values set to `0`, so a
/// retry is the same delivery. Before, HubSpot's retries hashed apart and
/// were handled again.
pub fn vendor_dedupe_key(
    manifest: &crate::manifest::Manifest,
    event_id: Option<&str>,
    body: &[u8],
) -> String {
    let per_attempt = manifest.per_attempt();
    let id_less = event_id.is_none_or(|id| id.trim().is_empty());
    if !id_less || per_attempt.is_empty() {
        return dedupe_key(event_id, body);
    }
    // The fields' values blanked in the bytes themselves: a parse and
    // re-serialization would merge bodies that differ only in a number
    // beyond f64's precision, or in a repeated key (helper-57's review).
    let (Ok(text), Ok(doc)) = (
        std::str::from_utf8(body),
        serde_json::from_slice::<serde_json::Value>(body),
    ) else {
        return dedupe_key(None, body);
    };
    let mut text = text.to_string();
    for pointer in crate::manifest::pointers_matching_any(&doc, per_attempt) {
        if let Some(at) = json_span(&text, &pointer) {
            text.replace_range(at, "0");
        }
    }
    format!("sha256:{}", sha256_hex(text.as_bytes()))
}

/// CRC-32 (IEEE 802.3, the zlib and PNG one) of `bytes`: PayPal signs it
/// in place of the body. Bitwise; bodies are small and this runs once per
/// delivery.
pub fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = (crc >> 1) ^ (0xEDB8_8320 & (crc & 1).wrapping_neg());
        }
    }
    !crc
}

#[cfg(test)]
mod crc_tests {
    #[test]
    fn crc32_matches_the_standard_check_value() {
        // The check value every CRC-32/ISO-HDLC implementation gives.
        assert_eq!(super::crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(super::crc32(b""), 0);
    }
}

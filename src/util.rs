//! Small helpers every stage uses.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};

/// Time since the Unix epoch (zero if the clock is before it).
pub fn since_epoch() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}

/// Milliseconds since the Unix epoch.
#[cfg(feature = "receiver")]
pub fn now_ms() -> i64 {
    since_epoch().as_millis() as i64
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
        Some(id) => format!("id:{id}"),
        None => format!("sha256:{}", sha256_hex(body)),
    }
}

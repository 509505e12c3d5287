//! Small helpers every stage uses, by what they work on. Each is
//! re-exported here, so `util::now_ms` and `util::time::now_ms` name the
//! same function.

pub mod ids;
pub mod json;
pub(crate) mod lex;
pub mod text;
pub mod time;

pub use ids::*;
pub use json::*;
pub use text::*;
pub use time::*;

/// `(name, value)` pairs as a header map; a pair that is no valid header
/// (nothing a receiver stored or a signer wrote) is skipped.
pub fn header_map<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> http::HeaderMap {
    let mut headers = http::HeaderMap::new();
    for (k, v) in pairs {
        if let (Ok(k), Ok(v)) = (
            http::HeaderName::from_bytes(k.as_bytes()),
            http::HeaderValue::from_str(v),
        ) {
            headers.append(k, v);
        }
    }
    headers
}

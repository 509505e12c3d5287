//! The certificates (or public keys) deliveries point at, fetched once from
//! an allowed host and kept until their `Cache-Control: max-age` runs out
//! (an hour when the host gives none, never more than a day). The verifier
//! reads them through [`RemoteKeys`]; the receiver fetches before verifying.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::auth::remote::RemoteKeys;

const LOG: &str = "hookforge::receive::receiver";
/// Larger than any certificate chain a vendor serves.
const MAX_KEY_BYTES: usize = 64 * 1024;
const DEFAULT_TTL: Duration = Duration::from_secs(3600);
const MAX_TTL: Duration = Duration::from_secs(86_400);

/// Fetched keys by URL.
pub(crate) struct KeyCache {
    client: reqwest::Client,
    keys: Mutex<HashMap<String, (Arc<str>, Instant)>>,
}

impl KeyCache {
    /// Fails only if no HTTP client can be built (no TLS backend).
    pub fn new() -> Result<KeyCache, reqwest::Error> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            // A redirect could lead off the allowed hosts.
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(KeyCache {
            client,
            keys: Mutex::new(HashMap::new()),
        })
    }

    fn fresh(&self, url: &str) -> bool {
        let keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
        keys.get(url)
            .is_some_and(|(_, until)| *until > Instant::now())
    }

    /// Makes sure the key at `url` (already checked against the allowed
    /// hosts) is held and fresh; why not, when it cannot be fetched.
    pub async fn ensure(&self, url: &str) -> Result<(), String> {
        if self.fresh(url) {
            return Ok(());
        }
        let resp = self
            .client
            .get(url)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if !resp.status().is_success() {
            return Err(format!("answered {}", resp.status()));
        }
        let ttl = max_age(resp.headers()).unwrap_or(DEFAULT_TTL).min(MAX_TTL);
        let bytes = resp.bytes().await.map_err(|e| e.to_string())?;
        if bytes.len() > MAX_KEY_BYTES {
            return Err(format!("{} bytes: not a key", bytes.len()));
        }
        let text = String::from_utf8(bytes.to_vec()).map_err(|_| "not PEM text".to_string())?;
        tracing::info!(target: LOG, url = %crate::util::Shown(url), ttl_secs = ttl.as_secs(), "fetched a vendor key");
        let mut keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
        keys.insert(url.to_string(), (Arc::from(text), Instant::now() + ttl));
        Ok(())
    }
}

impl RemoteKeys for KeyCache {
    fn get(&self, url: &str) -> Option<Arc<str>> {
        let keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
        keys.get(url).map(|(pem, _)| pem.clone())
    }
}

fn max_age(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let cc = headers.get(reqwest::header::CACHE_CONTROL)?.to_str().ok()?;
    cc.split(',')
        .filter_map(|d| d.trim().strip_prefix("max-age="))
        .find_map(|s| s.parse().ok())
        .map(Duration::from_secs)
}

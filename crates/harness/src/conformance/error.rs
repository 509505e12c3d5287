//! Why a conformance run, a load run or a simulation could not happen.

/// Why a run could not happen at all.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HarnessError {
    /// Nothing answers at the target (the network's fault, or the target's).
    #[error("target {} is unreachable: {reason}", shown_url(.url))]
    Unreachable { url: String, reason: String },
    /// What the harness was asked to do cannot be done (a bad URL, secret,
    /// format or rate).
    #[error("{0}")]
    Config(String),
    /// A local resource failed (binding a loopback port, serving a router).
    #[error("{what}: {source}")]
    Io {
        what: &'static str,
        source: std::io::Error,
    },
    /// A bug or a resource limit in the harness itself (a task panicked,
    /// the HTTP client could not be built).
    #[error("internal error: {0}")]
    Internal(String),
}

impl HarnessError {
    /// Whether the caller asked for something impossible or unreachable
    /// (the CLI exits 2), rather than the harness failing (exit 1).
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            HarnessError::Unreachable { .. } | HarnessError::Config(_)
        )
    }
}

/// A URL as messages show it: a user name and password in it become `***`
/// (`http://user:pw@host/` → `http://***@host/`).
pub fn shown_url(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut parsed) => {
            if !parsed.username().is_empty() || parsed.password().is_some() {
                let _ = parsed.set_password(None);
                let _ = parsed.set_username("***");
            }
            parsed.to_string()
        }
        // Not a URL: where it may hold credentials, none of it is shown.
        Err(_) if url.contains('@') => match url.split_once("://") {
            Some((scheme, _)) => format!("{scheme}://***"),
            None => "***".into(),
        },
        Err(_) => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn credentials_in_a_url_are_not_shown() {
        let e = super::HarnessError::Unreachable {
            url: "http://user:hunter2pw@127.0.0.1:1/x?a=b@c".into(),
            reason: "refused".into(),
        };
        assert_eq!(
            e.to_string(),
            "target http://***@127.0.0.1:1/x?a=b@c is unreachable: refused"
        );
        assert_eq!(super::shown_url("http://127.0.0.1/x"), "http://127.0.0.1/x");
        // A password with a `/` in it: not a URL, and nothing of it shown.
        assert_eq!(
            super::shown_url("http://user:p/ss@host:99999/"),
            "http://***"
        );
    }
}

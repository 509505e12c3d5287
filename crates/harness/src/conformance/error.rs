//! Why a conformance run, a load run or a simulation could not happen.

/// Why a run could not happen at all.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HarnessError {
    /// Nothing answers at the target (the network's fault, or the target's).
    #[error("target {url} is unreachable: {reason}")]
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

//! A stand-in for the vendors' own APIs, served by wiremock, for the
//! follow-up calls payloads ask receivers to make: Prets'
//! `GET /v1/quotes/{quoteId}`, Cowbell's `documentUrl`, CollateralXP's
//! attachment `link`s. The harness points sample URLs at it and reports
//! which calls the receiver made, with what authentication.

use std::collections::BTreeSet;
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;
use wiremock::matchers::{method, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::VendorSpec;

/// A running sandbox.
pub struct Sandbox {
    server: MockServer,
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sandbox")
            .field("uri", &self.server.uri())
            .finish()
    }
}

/// One request the receiver made to the sandbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SandboxCall {
    pub method: String,
    pub path: String,
    /// How it authenticated, without the credential: `Bearer (redacted)`, `none`.
    pub auth: String,
}

/// A follow-up call a payload asks for, and whether it was made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExpectedCall {
    pub case: String,
    pub call: String,
    pub made: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SandboxReport {
    pub url: String,
    pub calls: Vec<SandboxCall>,
    pub expected: Vec<ExpectedCall>,
}

impl SandboxReport {
    pub fn table(&self) -> String {
        let mut out = format!(
            "sandbox {}: {} follow-up call(s) received\n",
            self.url,
            self.calls.len()
        );
        for c in &self.calls {
            out.push_str(&format!(
                "      {} {} (auth: {})\n",
                c.method, c.path, c.auth
            ));
        }
        for e in &self.expected {
            out.push_str(&format!(
                "      {} {}: {}\n",
                if e.made { "made   " } else { "NOT MADE" },
                e.call,
                e.case
            ));
        }
        out
    }
}

impl Sandbox {
    /// Starts on a free loopback port.
    pub async fn start() -> Sandbox {
        Self::with_server(MockServer::start().await).await
    }

    /// Starts on `addr`, so a receiver can be configured with it beforehand.
    pub async fn start_on(addr: std::net::SocketAddr) -> std::io::Result<Sandbox> {
        let listener = std::net::TcpListener::bind(addr)?;
        Ok(Self::with_server(MockServer::builder().listener(listener).start().await).await)
    }

    async fn with_server(server: MockServer) -> Sandbox {
        Mock::given(method("GET"))
            .and(path_regex(r"^/v1/quotes/[^/]+$"))
            .respond_with(|req: &wiremock::Request| {
                let id = req
                    .url
                    .path()
                    .rsplit('/')
                    .next()
                    .unwrap_or_default()
                    .to_string();
                ResponseTemplate::new(200).set_body_json(serde_json::json!({
                    "quoteId": id, "status": "sandbox", "note": "served by the hookforge sandbox"
                }))
            })
            .with_priority(1)
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(200).set_body_raw(
                b"%PDF-1.4\n% hookforge sandbox document\n".to_vec(),
                "application/pdf",
            ))
            .with_priority(10)
            .mount(&server)
            .await;
        Sandbox { server }
    }

    pub fn uri(&self) -> String {
        self.server.uri()
    }

    /// Points every absolute URL in a payload at the sandbox, keeping the
    /// path; the rest of the bytes stay as they are.
    pub fn rewrite(&self, body: &[u8]) -> Vec<u8> {
        let Ok(doc) = serde_json::from_slice::<Value>(body) else {
            return body.to_vec();
        };
        let mut origins = BTreeSet::new();
        collect_origins(&doc, &mut origins);
        let mut text = String::from_utf8_lossy(body).into_owned();
        for o in origins {
            text = text.replace(&o, &self.uri());
        }
        text.into_bytes()
    }

    /// What the receiver called for the cases run (by case id), after giving
    /// asynchronous handlers a moment to make their calls.
    pub async fn report_for(&self, vendor: &VendorSpec, case_ids: &[&str]) -> SandboxReport {
        let mut expected = Vec::new();
        for e in vendor.events {
            for s in e.samples {
                let id = super::cases::sample_id(vendor.id, e.name, s.name);
                if !case_ids.contains(&id.as_str()) {
                    continue;
                }
                let body = self.rewrite(s.body);
                for call in follow_ups(vendor, &body) {
                    expected.push(ExpectedCall {
                        case: id.clone(),
                        call,
                        made: false,
                    });
                }
            }
        }
        let mut calls = Vec::new();
        for _ in 0..40 {
            calls = self
                .server
                .received_requests()
                .await
                .unwrap_or_default()
                .iter()
                .map(|r| SandboxCall {
                    method: r.method.to_string(),
                    path: r.url.path().to_string(),
                    auth: describe_auth(r),
                })
                .collect::<Vec<_>>();
            let all_made = expected.iter().all(|e| {
                calls
                    .iter()
                    .any(|c| format!("{} {}", c.method, c.path) == e.call)
            });
            if all_made {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        for e in &mut expected {
            e.made = calls
                .iter()
                .any(|c| format!("{} {}", c.method, c.path) == e.call);
        }
        SandboxReport {
            url: self.uri(),
            calls,
            expected,
        }
    }
}

fn describe_auth(r: &wiremock::Request) -> String {
    match r.headers.get("authorization").and_then(|v| v.to_str().ok()) {
        Some(v) => match v.split_once(' ') {
            Some((scheme, _)) => format!("{scheme} (redacted)"),
            None => "Authorization (redacted)".into(),
        },
        None => "none".into(),
    }
}

fn collect_origins(v: &Value, out: &mut BTreeSet<String>) {
    crate::util::each_string(v, &mut |s: &str| {
        for scheme in ["http://", "https://"] {
            if let Some(rest) = s.strip_prefix(scheme) {
                let host = rest.split('/').next().unwrap_or_default();
                if !host.is_empty() {
                    out.insert(format!("{scheme}{host}"));
                }
            }
        }
    });
}

/// The follow-up calls a payload asks for: those the manifest documents
/// (`api.follow_ups`, e.g. Prets' quote fetch), each once. Other URLs the
/// payload carries are served (pointed at the sandbox) but not expected: a
/// GitHub push holds dozens of API links and URI templates no receiver is
/// asked to call (they were all listed `NOT MADE`).
pub fn follow_ups(vendor: &VendorSpec, body: &[u8]) -> Vec<String> {
    let Ok(doc) = serde_json::from_slice::<Value>(body) else {
        return Vec::new();
    };
    let mut out = match &vendor.manifest().api {
        Some(api) => api.follow_ups_for(&doc),
        None => Vec::new(),
    };
    let mut seen = BTreeSet::new();
    out.retain(|call| seen.insert(call.clone()));
    out
}

#[cfg(test)]
mod tests {
    use super::follow_ups;

    #[test]
    fn only_documented_follow_ups_are_expected() {
        let github = hookforge_core::vendor("github").expect("github is in the catalogue");
        let push = github.event("push").expect("push").samples[0].body;
        assert_eq!(follow_ups(github, push), Vec::<String>::new());
        let prets = hookforge_core::vendor("prets").expect("prets is built in");
        let quote = prets.event("quote.created").expect("quote.created").samples[0].body;
        let calls = follow_ups(prets, quote);
        assert_eq!(calls.len(), 1, "{calls:?}");
        assert!(calls[0].starts_with("GET /v1/quotes/"), "{calls:?}");
    }
}

//! What the commands share: argument parsers, the runtime, progress, output.

pub use hookforge_core::util::{Shown, printable};
pub use std::io::{self, Read, Write};
pub use std::path::PathBuf;
pub use std::process::ExitCode;

/// Why a command did not succeed: the command line's one way to fail. `main`
/// prints the message as `error: …` and exits with the code.
#[derive(Debug)]
pub enum Failure {
    /// A usage error or an unreachable target: exit 2.
    Usage(String),
    /// The work could not be done: exit 1.
    Failed(String),
    /// A check or parse failed and its report is already printed: exit 1.
    Reported,
}

impl Failure {
    pub fn usage(message: impl std::fmt::Display) -> Failure {
        Failure::Usage(message.to_string())
    }

    pub fn failed(message: impl std::fmt::Display) -> Failure {
        Failure::Failed(message.to_string())
    }

    /// Says why (on stderr) and gives the exit code.
    pub fn exit(self) -> ExitCode {
        match self {
            Failure::Usage(m) => {
                eprintln!("error: {m}");
                ExitCode::from(2)
            }
            Failure::Failed(m) => {
                eprintln!("error: {m}");
                ExitCode::FAILURE
            }
            Failure::Reported => ExitCode::FAILURE,
        }
    }
}

impl From<hookforge::conformance::harness::HarnessError> for Failure {
    /// An unreachable target or an unusable configuration is a usage error;
    /// the harness failing itself, a failure.
    fn from(e: hookforge::conformance::harness::HarnessError) -> Failure {
        if e.is_usage() {
            Failure::usage(e)
        } else {
            Failure::failed(e)
        }
    }
}

/// What a command returns.
pub type Outcome = Result<(), Failure>;

pub use clap::builder::PossibleValuesParser;
pub(crate) use hookforge::{HeaderMap, VendorSpec};

pub mod check;
pub mod demo;
pub mod diff;
pub mod drift;
pub mod events;
pub mod export;
pub mod extract;
pub mod forward;
pub mod inbox;
pub mod infer;
pub mod keygen;
pub mod load;
pub mod parse;
pub mod serve;
pub mod sign;
pub mod simulate;
pub mod stores;
pub mod ui;
pub mod vendor_dirs;
pub mod vendors;

/// `VENDOR=VALUE` with a known vendor id.
pub fn vendor_pair<'s>(s: &'s str, expected: &str) -> Result<(String, &'s str), String> {
    let (v, value) = s
        .split_once('=')
        .ok_or_else(|| format!("expected {expected}"))?;
    if hookforge::vendor(v).is_none() {
        return Err(format!("unknown vendor {v:?}"));
    }
    Ok((v.to_string(), value))
}

/// A moment as `--since`/`--until` take it, in ms since the epoch: RFC 3339
/// (`2026-12-01T09:00:00Z`), a date (`2026-12-01`, midnight UTC), or a
/// duration before now (`90m`, `24h`, `7d`).
pub fn parse_instant(s: &str) -> Result<i64, String> {
    let s = s.trim();
    if let Some(ms) = hookforge_core::util::parse_moment(s) {
        return Ok(ms);
    }
    if s.starts_with(|c: char| c.is_ascii_digit()) && s.ends_with(|c: char| c.is_ascii_alphabetic())
    {
        let ago = parse_duration(s)?;
        return Ok(hookforge::receive::store::now_ms() - ago.as_millis() as i64);
    }
    Err(format!(
        "{s:?}: expected RFC 3339 (2026-12-01T09:00:00Z), a date (2026-12-01) or a duration before now (24h, 7d)"
    ))
}

/// The longest duration an option takes: 1000 years.
pub const MAX_DURATION_SECS: u64 = 1000 * 365 * 86_400;

/// `90`, `90s`, `30m`, `12h` or `7d`.
pub fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    let s = s.trim();
    let (num, unit) = match s.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let n: u64 = num
        .parse()
        .map_err(|_| format!("{s:?}: expected a whole number with a unit (s, m, h, d), e.g. 7d"))?;
    let per = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => {
            return Err(format!(
                "{s:?}: unknown unit {unit:?}: expected s, m, h or d"
            ));
        }
    };
    // Checked, not saturated: a huge value meant as "forever" must not
    // wrap into "now" further down.
    let secs = n
        .checked_mul(per)
        .filter(|secs| *secs <= MAX_DURATION_SECS)
        .ok_or_else(|| {
            format!(
                "{s:?} is more than 1000 years: give a shorter duration, or leave the option out"
            )
        })?;
    if secs == 0 {
        return Err("a retention of 0 would delete deliveries as soon as they are done".into());
    }
    Ok(std::time::Duration::from_secs(secs))
}

/// `NAME=VALUE`: a value a vendor's signature covers that deliveries do not
/// carry (`{setting:NAME}`).
pub fn parse_setting(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((n, v))
            if !n.is_empty() && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') =>
        {
            Ok((n.to_string(), v.to_string()))
        }
        _ => Err(format!(
            "{s:?}: expected NAME=VALUE (a setting's name is letters, digits and `_`)"
        )),
    }
}

pub fn parse_hmac(s: &str) -> Result<hookforge::auth::HmacFormat, String> {
    s.parse()
        .map_err(|e: hookforge::auth::AuthConfigError| e.to_string())
}

pub fn parse_vendor_hmac(s: &str) -> Result<(String, hookforge::auth::HmacFormat), String> {
    let (v, f) = vendor_pair(s, "VENDOR=HASH:ENCODING")?;
    Ok((v, parse_hmac(f)?))
}

pub fn parse_secret(s: &str) -> Result<(String, String), String> {
    let (v, secret) = vendor_pair(s, "VENDOR=SECRET")?;
    if secret.is_empty() {
        return Err(format!("the secret for {v} is empty"));
    }
    Ok((v, secret.to_string()))
}

/// `--secret VENDOR=SECRET` as clap takes it: like [`parse_secret`], but a
/// refusal does not repeat the argument (clap's own message would show the
/// whole secret, on a terminal or in a CI log).
#[derive(Clone)]
pub struct SecretArg;

impl clap::builder::TypedValueParser for SecretArg {
    type Value = (String, String);

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<Self::Value, clap::Error> {
        let refuse = |why: String| {
            let name = arg.map_or("--secret".to_string(), |a| {
                format!("--{}", a.get_long().unwrap_or("secret"))
            });
            let text = format!("{name} (value not shown, it holds a secret): {why}\n");
            clap::Error::raw(clap::error::ErrorKind::ValueValidation, text).with_cmd(cmd)
        };
        let text = value
            .to_str()
            .ok_or_else(|| refuse("not valid UTF-8".to_string()))?;
        parse_secret(text).map_err(|why| {
            let lower = text.split_once('=').map(|(v, _)| v.to_ascii_lowercase());
            match lower.filter(|v| hookforge::vendor(v).is_some()) {
                Some(v) => refuse(format!("{why} (vendor ids are lower case: {v})")),
                None => refuse(why),
            }
        })
    }
}

/// Every vendor id a command takes: compiled, shipped as a vendor
/// directory (GitHub, Stripe, …), or loaded with `--vendor-dir`.
pub fn all_ids() -> Vec<&'static str> {
    let mut ids: Vec<&'static str> = hookforge::vendors().iter().map(|v| v.id).collect();
    ids.extend(hookforge::vendor_dir::catalogue::ids());
    ids.sort();
    ids.dedup();
    ids
}

pub fn vendor_ids() -> PossibleValuesParser {
    PossibleValuesParser::new(all_ids())
}

pub fn parse_header(s: &str) -> Result<(http::HeaderName, http::HeaderValue), String> {
    let (name, value) = s
        .split_once(':')
        .ok_or_else(|| format!("expected `Name: value`, got {s:?}"))?;
    let name = http::HeaderName::from_bytes(name.trim().as_bytes())
        .map_err(|_| format!("{:?} is not a valid header name", name.trim()))?;
    let value = http::HeaderValue::from_str(value.trim()).map_err(|_| {
        format!("the value of header `{name}` contains characters not allowed in a header")
    })?;
    Ok((name, value))
}

pub fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Runtime::new()
        .map_err(|e| Failure::failed(format!("cannot start the async runtime: {e}")))
}

pub fn progress_bar(len: u64, what: &str) -> Option<indicatif::ProgressBar> {
    if !io::IsTerminal::is_terminal(&io::stderr()) {
        return None;
    }
    let bar = indicatif::ProgressBar::new(len);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} {elapsed} {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_prefix(what.to_string());
    // The clock moves while nothing settles (a simulation waiting out a
    // vendor's retry delay), so the run is seen to be alive.
    bar.enable_steady_tick(std::time::Duration::from_millis(500));
    Some(bar)
}

pub fn duration_arg(secs: f64, what: &str) -> Result<std::time::Duration, Failure> {
    std::time::Duration::try_from_secs_f64(secs)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| Failure::usage(format!("--{what} must be a positive number of seconds")))
}

/// Log lines to stderr (`RUST_LOG`, default `info`); with `otlp`, also
/// the receiver's trace spans (target `hookforge::trace`, nothing else)
/// exported over OTLP/HTTP to `otlp` (`http://collector:4318`, or the full
/// `…/v1/traces`). Keep the guard: dropping it flushes the spans.
pub fn init_logging(otlp: Option<&str>) -> Result<Option<TraceExport>, Failure> {
    use tracing_subscriber::Layer;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let env = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Trace spans are for the exporter: log lines stay as they were.
    let logs = env.add_directive("hookforge::trace=off".parse().expect("a valid directive"));
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(io::stderr)
        .with_ansi(io::IsTerminal::is_terminal(&io::stderr()))
        .with_filter(logs);
    let Some(url) = otlp else {
        tracing_subscriber::registry().with(fmt).init();
        return Ok(None);
    };
    let provider = trace_provider(url)?;
    let tracer = opentelemetry::trace::TracerProvider::tracer(&provider, "hookforge");
    let spans = tracing_opentelemetry::layer()
        .with_tracer(tracer)
        .with_filter(
            tracing_subscriber::filter::Targets::new()
                .with_target("hookforge::trace", tracing::Level::INFO),
        );
    tracing_subscriber::registry().with(fmt).with(spans).init();
    Ok(Some(TraceExport(provider)))
}

/// The span exporter: flushed and shut down when dropped.
pub struct TraceExport(opentelemetry_sdk::trace::SdkTracerProvider);

impl Drop for TraceExport {
    fn drop(&mut self) {
        if let Err(e) = self.0.shutdown() {
            eprintln!("warning: trace spans not all exported: {e}");
        }
    }
}

fn trace_provider(url: &str) -> Result<opentelemetry_sdk::trace::SdkTracerProvider, Failure> {
    use opentelemetry_otlp::WithExportConfig;
    let parsed = url
        .parse::<http::Uri>()
        .ok()
        .filter(|u| matches!(u.scheme_str(), Some("http" | "https")) && u.host().is_some())
        .ok_or_else(|| {
            Failure::usage(format!(
                "--otlp-endpoint {url:?}: expected an http(s) URL such as http://127.0.0.1:4318"
            ))
        })?;
    let endpoint = if parsed.path() == "/" {
        format!("{}/v1/traces", url.trim_end_matches('/'))
    } else {
        url.to_string()
    };
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_endpoint(endpoint)
        .build()
        .map_err(|e| Failure::usage(format!("--otlp-endpoint {url}: {e}")))?;
    Ok(opentelemetry_sdk::trace::SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(
            opentelemetry_sdk::Resource::builder()
                .with_service_name("hookforge")
                .build(),
        )
        .build())
}

pub fn known_ids() -> String {
    all_ids().join(", ")
}

/// The vendor a one-vendor command names (`--vendor`, or the one
/// `--vendor-dir`); with several vendor dirs and no `--vendor`, a usage error.
pub fn spec(id: Option<&str>) -> Result<&'static VendorSpec, Failure> {
    let Some(id) = id else {
        return Err(Failure::usage(format!(
            "several --vendor-dir given: name the one to use with --vendor ID ({})",
            known_ids()
        )));
    };
    Ok(hookforge::vendor(id).expect("clap only accepts known vendor ids"))
}

pub fn read_input(file: Option<&PathBuf>) -> Result<Vec<u8>, String> {
    match file {
        Some(p) if p.as_os_str() != "-" => {
            let f =
                std::fs::File::open(p).map_err(|e| format!("cannot read {}: {e}", p.display()))?;
            read_capped(f, &p.display().to_string())
        }
        _ => read_capped(io::stdin(), "standard input"),
    }
}

/// The most of one body the CLI reads: 64 times `serve`'s default body
/// limit, far above any documented payload. A larger input is refused, not
/// read whole into memory (a mistaken path to a disk image, an endless pipe).
pub const MAX_INPUT_BYTES: u64 = 64 * hookforge::receive::receiver::DEFAULT_BODY_LIMIT as u64;

/// A file of samples: one `named` on the command line is read whatever it
/// is (a pipe, `<(…)`); one found by walking a directory only if it is a
/// regular file (a FIFO would wait forever for a writer). Either way at
/// most [`MAX_INPUT_BYTES`]; `what` names it in errors.
pub fn read_sample_file(f: &std::path::Path, named: bool, what: &str) -> Result<Vec<u8>, String> {
    if !named {
        let meta = std::fs::metadata(f).map_err(|e| format!("cannot read {what}: {e}"))?;
        if !meta.is_file() {
            return Err(format!(
                "{what} is not a regular file (a FIFO, socket or device): not read"
            ));
        }
        if meta.len() > MAX_INPUT_BYTES {
            return Err(too_large(what));
        }
    }
    let file = std::fs::File::open(f).map_err(|e| format!("cannot read {what}: {e}"))?;
    read_capped(file, what)
}

/// All of `r`, or an error naming `what` if it holds more than [`MAX_INPUT_BYTES`].
pub fn read_capped(r: impl Read, what: &str) -> Result<Vec<u8>, String> {
    let mut buf = Vec::new();
    r.take(MAX_INPUT_BYTES + 1)
        .read_to_end(&mut buf)
        .map_err(|e| format!("cannot read {what}: {e}"))?;
    if buf.len() as u64 > MAX_INPUT_BYTES {
        return Err(too_large(what));
    }
    Ok(buf)
}

fn too_large(what: &str) -> String {
    format!(
        "{what} holds more than {} MiB, more than any webhook body (serve refuses over --body-limit, default 1 MiB): not read",
        MAX_INPUT_BYTES >> 20
    )
}

/// Writes `v` as pretty JSON with a final newline.
pub fn write_json(p: &std::path::Path, v: &serde_json::Value) -> Result<(), String> {
    std::fs::write(p, json_text(v)).map_err(|e| format!("cannot write {}: {e}", p.display()))
}

/// `v` as pretty JSON with a final newline, as the vendor dirs hold it.
pub fn json_text(v: &serde_json::Value) -> String {
    serde_json::to_string_pretty(v).expect("Value serializes") + "\n"
}

pub fn print_json(v: &serde_json::Value) -> Outcome {
    let text = serde_json::to_string_pretty(v).expect("Value serializes");
    print_text(&format!("{text}\n"))
}

/// A text table whose columns are as wide as their widest cell, so long
/// vendor names and event types never push a row out of line. Columns listed
/// in `right` are right-aligned (counts); the last column is not padded.
pub struct Table {
    rows: Vec<Vec<String>>,
    right: &'static [usize],
}

impl Table {
    pub fn new(header: &[&str], right: &'static [usize]) -> Table {
        let header = header.iter().map(|h| h.to_string()).collect();
        Table {
            rows: vec![header],
            right,
        }
    }

    /// A row; vendor-controlled text (event types, descriptions) cannot
    /// move the cursor or rewrite the terminal's title.
    pub fn row(&mut self, cells: Vec<String>) {
        let shown = cells.into_iter().map(|c| match printable(&c) {
            std::borrow::Cow::Borrowed(_) => c,
            std::borrow::Cow::Owned(escaped) => escaped,
        });
        self.rows.push(shown.collect());
    }

    pub fn render(&self) -> String {
        let columns = self.rows.iter().map(Vec::len).max().unwrap_or(0);
        let widths: Vec<usize> = (0..columns)
            .map(|c| {
                let cells = self.rows.iter().filter_map(|r| r.get(c));
                cells.map(|cell| cell.chars().count()).max().unwrap_or(0)
            })
            .collect();
        let mut out = String::new();
        for row in &self.rows {
            let mut line = String::new();
            for (c, cell) in row.iter().enumerate() {
                let pad = widths[c].saturating_sub(cell.chars().count());
                if c > 0 {
                    line.push_str("  ");
                }
                if self.right.contains(&c) {
                    line.extend(std::iter::repeat_n(' ', pad));
                    line.push_str(cell);
                } else if c + 1 < row.len() {
                    line.push_str(cell);
                    line.extend(std::iter::repeat_n(' ', pad));
                } else {
                    line.push_str(cell);
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

/// Prints, treating a closed pipe (`| head`) as success rather than a panic.
pub fn print_text(s: &str) -> Outcome {
    let mut out = io::stdout().lock();
    match out.write_all(s.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Failure::failed(format!("cannot write output: {e}"))),
    }
}

pub fn auth_scheme(v: &VendorSpec) -> String {
    use hookforge::manifest::{Auth, HashAlgorithm};
    let hash = |h: &HashAlgorithm| match h {
        HashAlgorithm::Sha1 => "hmac-sha1",
        HashAlgorithm::Sha256 => "hmac-sha256",
        HashAlgorithm::Sha512 => "hmac-sha512",
    };
    match &v.manifest().auth {
        Auth::None { .. } => "none".into(),
        Auth::Bearer { .. } => "static secret".into(),
        Auth::Hmac { hash: h, .. } => hash(h).into(),
        Auth::StandardWebhooks { .. } => "standard-webhooks".into(),
        Auth::Signature(s) if s.is_static() => "static secret".into(),
        Auth::Signature(s) if s.algorithm.is_public_key() => match &s.versions {
            Some(v) => v
                .algorithms
                .values()
                .map(|a| a.as_str())
                .collect::<Vec<_>>()
                .join("/"),
            None => s.algorithm.as_str().into(),
        },
        Auth::Signature(s) => s.hash.as_ref().map_or("signature", hash).into(),
        Auth::Jwt(j) => format!(
            "jwt-{}",
            j.algorithms
                .iter()
                .map(|a| a.as_str().to_ascii_lowercase())
                .collect::<Vec<_>>()
                .join("/")
        ),
    }
}

/// The secrets a secret file holds: one per line, except that a PEM block
/// (a public or private key) is one secret however many lines it has.
pub fn secrets_in(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut pem: Option<String> = None;
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        match &mut pem {
            Some(block) => {
                block.push('\n');
                block.push_str(line);
                if line.starts_with("-----END") {
                    out.extend(pem.take());
                }
            }
            None if line.starts_with("-----BEGIN") => pem = Some(line.to_string()),
            None => out.push(line.to_string()),
        }
    }
    // An unterminated block is kept whole: the key parser says what is wrong.
    out.extend(pem);
    out
}

/// The one secret a client command signs with: `--secret`, else
/// `--secret-file`, else `HOOKFORGE_SECRET_<VENDOR>` (its first entry when
/// comma-separated, as `serve` reads it). Never printed.
pub fn secret_from(
    v: &VendorSpec,
    arg: Option<String>,
    file: Option<&PathBuf>,
) -> Result<Option<String>, Failure> {
    if let Some(s) = arg {
        return Ok(Some(s));
    }
    if let Some(path) = file {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Failure::usage(format!("cannot read --secret-file {}: {e}", path.display()))
        })?;
        let all = secrets_in(&text);
        if all.len() > 1 {
            // A receiver's file during a rotation holds several; say which.
            eprintln!(
                "note: --secret-file {} holds {} secrets; signing with the first",
                path.display(),
                all.len()
            );
        }
        return match all.into_iter().next() {
            Some(s) => Ok(Some(s)),
            None => Err(Failure::usage(format!(
                "--secret-file {} holds no secret",
                path.display()
            ))),
        };
    }
    let var = secret_env_var(v.id);
    Ok(std::env::var(&var).ok().and_then(|list| {
        list.split(',')
            .map(str::trim)
            .find(|s| !s.is_empty())
            .map(str::to_string)
    }))
}

/// `--vendor ID` or `--vendor-dir DIR`: one is needed (both when several
/// vendor dirs are loaded), so usage shows them as alternatives.
pub fn which_vendor() -> clap::ArgGroup {
    clap::ArgGroup::new("which_vendor")
        .args(["vendor", "vendor_dir"])
        .required(true)
        .multiple(true)
}

/// `--vendor ID`: the vendor a one-vendor command works on (or the one
/// `--vendor-dir DIR`; see [`which_vendor`]).
#[derive(clap::Args)]
pub struct VendorArg {
    /// The vendor (or give --vendor-dir DIR instead, for a vendor of your own).
    #[arg(long, value_parser = vendor_ids(), group = "which_vendor")]
    pub vendor: Option<String>,
}

impl VendorArg {
    pub fn spec(&self) -> Result<&'static VendorSpec, Failure> {
        spec(self.vendor.as_deref())
    }
}

/// `--vendor` and `--json`: what `events` and `keygen` take.
#[derive(clap::Args)]
#[command(group = which_vendor())]
pub struct VendorJsonArgs {
    #[command(flatten)]
    pub vendor: VendorArg,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// How a command signs a vendor's deliveries: the flags `sign` and every
/// command that sends ([`TargetArgs`]) share.
#[derive(clap::Args)]
pub struct SigningArgs {
    /// The secret the receiver is configured with (or --secret-file, or
    /// HOOKFORGE_SECRET_<VENDOR> in the environment, e.g. HOOKFORGE_SECRET_GITHUB);
    /// none for vendors without auth.
    #[arg(long, conflicts_with = "secret_file", allow_hyphen_values = true)]
    pub secret: Option<String>,
    /// A file holding the secret (one line; surrounding whitespace ignored).
    #[arg(long, value_name = "FILE")]
    pub secret_file: Option<PathBuf>,
    /// HMAC format where the vendor does not document it, as HASH:ENCODING.
    #[arg(long, value_name = "HASH:ENCODING", value_parser = parse_hmac)]
    pub hmac_format: Option<hookforge::auth::HmacFormat>,
    /// For a vendor whose deliveries name their certificate's URL: the URL
    /// where the certificate of --secret's private key is served.
    #[arg(long, value_name = "URL")]
    pub key_url: Option<String>,
    /// A value the vendor's signature covers that deliveries do not carry,
    /// as the receiver has it: `NAME=VALUE` (PayPal: `webhook_id=WH-…`). Repeatable
    #[arg(long = "setting", value_name = "NAME=VALUE", value_parser = parse_setting)]
    pub settings: Vec<(String, String)>,
}

impl SigningArgs {
    /// The secret from --secret, --secret-file or the environment.
    pub fn secret(&self, vendor: &VendorSpec) -> Result<Option<String>, Failure> {
        secret_from(vendor, self.secret.clone(), self.secret_file.as_ref())
    }

    /// What the harness, `load` and the simulator sign with.
    pub fn signing(
        &self,
        vendor: &VendorSpec,
    ) -> Result<hookforge::conformance::target::Signing, Failure> {
        Ok(hookforge::conformance::target::Signing {
            secret: self.secret(vendor)?.map(hookforge::auth::Secret::new),
            hmac_format: self.hmac_format,
            key_url: self.key_url.clone(),
            settings: self.settings.iter().cloned().collect(),
        })
    }
}

/// Where a command sends a vendor's deliveries, and how it signs them: the
/// flags `check`, `load`, `simulate` and `inbox forward` share.
#[derive(clap::Args)]
pub struct TargetArgs {
    #[command(flatten)]
    pub vendor: VendorArg,
    /// The receiver's endpoint for this vendor.
    #[arg(long, visible_alias = "to")]
    pub url: String,
    #[command(flatten)]
    pub signing: SigningArgs,
    /// A CA certificate (PEM) to trust for an https:// URL, e.g. a private CA.
    #[arg(long, value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,
    /// Seconds to wait for each answer (default: the vendor's budget, or
    /// 30): an answer later than the vendor waits counts as failed.
    #[arg(long)]
    pub timeout: Option<f64>,
}

impl TargetArgs {
    /// The CA certificate's PEM, read from --ca-cert.
    pub fn ca_pem(&self) -> Result<Option<Vec<u8>>, Failure> {
        let Some(path) = &self.ca_cert else {
            return Ok(None);
        };
        std::fs::read(path)
            .map(Some)
            .map_err(|e| Failure::usage(format!("cannot read --ca-cert {}: {e}", path.display())))
    }

    /// A harness aimed and keyed as `target` says (what `check` and `inbox
    /// forward` share): URL, secret, settings, key URL, CA, HMAC format,
    /// answer timeout.
    pub fn harness(
        &self,
        vendor: &'static VendorSpec,
        concurrency: usize,
    ) -> Result<hookforge::conformance::harness::Harness, Failure> {
        let mut h = hookforge::conformance::harness::Harness::new(vendor, self.url.clone())
            .concurrency(concurrency)
            .signing(self.signing.signing(vendor)?);
        if let Some(pem) = self.ca_pem()? {
            h = h.ca_cert(pem);
        }
        if let Some(t) = self.answer_timeout()? {
            h = h.timeout(t);
        }
        Ok(h)
    }

    /// --timeout as a duration.
    pub fn answer_timeout(&self) -> Result<Option<std::time::Duration>, Failure> {
        self.timeout.map(|t| duration_arg(t, "timeout")).transpose()
    }
}

/// Unsigned, every delivery of a vendor that authenticates them would fail
/// for want of the secret, not for anything the receiver did (`check`,
/// `simulate`, `load`, `inbox forward`).
pub fn require_secret(vendor: &VendorSpec, target: &TargetArgs) -> Result<(), Failure> {
    let unsigned = matches!(
        vendor.manifest().auth,
        hookforge::manifest::Auth::None { .. }
    );
    if unsigned || target.signing.secret(vendor)?.is_some() {
        return Ok(());
    }
    // A vendor that signs with a private key is played with one (the
    // receiver holds the public half): say so, and where to get a pair.
    let key_pair = keygen::key_algorithm(vendor).is_ok_and(|(a, _)| a.is_public_key());
    let what = if key_pair {
        "give the private key hookforge signs with (the receiver holds its public key; `hookforge keygen` makes a pair)"
    } else {
        "give the receiver's secret"
    };
    Err(Failure::usage(format!(
        "{} authenticates its deliveries: {what} with --secret, --secret-file or {}",
        vendor.id,
        secret_env_var(vendor.id)
    )))
}

/// Runs `harness`, a case a tick of a progress bar on a terminal.
pub async fn run_with_progress(
    mut harness: hookforge::conformance::harness::Harness,
    label: &str,
) -> Result<hookforge::conformance::report::Report, hookforge::conformance::harness::HarnessError> {
    let total = harness.planned_cases().unwrap_or(0);
    let bar = progress_bar(total as u64, label);
    if let Some(b) = bar.clone() {
        harness = harness.on_case(move |c| {
            b.inc(1);
            b.set_message(c.id.clone());
        });
    }
    let report = harness.run().await;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    report
}

/// Writes `reports` where --report-json, --report-junit and --report-html say.
pub fn write_reports(
    reports: &[hookforge::conformance::report::Report],
    json: Option<&PathBuf>,
    junit: Option<&PathBuf>,
    html: Option<&PathBuf>,
) -> Result<(), Failure> {
    if let Some(path) = html {
        std::fs::write(path, hookforge::conformance::html::report(reports))
            .map_err(|e| Failure::usage(format!("cannot write {}: {e}", path.display())))?;
    }
    if let Some(path) = json {
        let value = if reports.len() == 1 {
            serde_json::to_value(&reports[0])
        } else {
            serde_json::to_value(reports)
        }
        .expect("reports serialize");
        let text = serde_json::to_string_pretty(&value).expect("Value serializes");
        std::fs::write(path, text + "\n")
            .map_err(|e| Failure::usage(format!("cannot write {}: {e}", path.display())))?;
    }
    if let Some(path) = junit {
        std::fs::write(path, hookforge::conformance::report::Report::junit(reports))
            .map_err(|e| Failure::usage(format!("cannot write {}: {e}", path.display())))?;
    }
    Ok(())
}

/// The environment variable that holds `vendor`'s secrets (comma-separated):
/// `HOOKFORGE_SECRET_<ID>`, upper case, `-` as `_` (a shell cannot set a
/// name holding `-`). One name for `serve`, `check`, `load` and `simulate`.
pub fn secret_env_var(vendor: &str) -> String {
    format!(
        "HOOKFORGE_SECRET_{}",
        vendor.to_ascii_uppercase().replace('-', "_")
    )
}

#[cfg(test)]
mod tests {
    use super::Table;

    #[test]
    fn a_table_column_is_as_wide_as_its_widest_cell() {
        let mut t = Table::new(&["ID", "NAME", "EVENTS"], &[2]);
        t.row(vec![
            "aws_sns".into(),
            "Amazon SNS (HTTP/S)".into(),
            "2".into(),
        ]);
        t.row(vec!["box".into(), "Box".into(), "12".into()]);
        assert_eq!(
            t.render(),
            "ID       NAME                 EVENTS\n\
             aws_sns  Amazon SNS (HTTP/S)       2\n\
             box      Box                      12\n"
        );
    }
}

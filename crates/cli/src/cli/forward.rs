//! `hookforge inbox forward`: stored deliveries sent to another receiver,
//! their bytes as received, signed afresh as the vendor signs, each judged
//! by the vendor's success rule; and the stored deliveries `check
//! --from-inbox` adds as cases.

use super::*;

use hookforge::conformance::harness::Recorded;
use hookforge::receive::replay::Selection;
use hookforge::receive::store::Store;

#[derive(clap::Args)]
#[command(group = which_vendor())]
pub struct Args {
    /// Where to send (`--to URL`), as which vendor, with which secret.
    #[command(flatten)]
    pub target: TargetArgs,
    #[command(flatten)]
    pub filter: super::inbox::InboxFilter,
    /// At most this many matching deliveries, the newest.
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    pub limit: usize,
    /// Replace personal data in JSON bodies before sending (e-mails, names,
    /// phone numbers, ids), consistently and keeping each value's shape, as
    /// `drift` redacts its samples.
    #[arg(long)]
    pub redact: bool,
    /// Seconds to wait for each answer (default: the vendor's budget, or 30).
    #[arg(long)]
    pub timeout: Option<f64>,
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
    /// Write the report as JSON.
    #[arg(long, value_name = "FILE")]
    pub report_json: Option<PathBuf>,
}

pub fn run(store: &dyn Store, args: Args) -> Outcome {
    let vendor = args.target.vendor.spec()?;
    require_secret(vendor, &args.target)?;
    let selection = args.filter.selection(Some(vendor.id.to_string()));
    selection.check_range().map_err(Failure::usage)?;
    let recorded = load(store, &selection, args.limit, args.redact)?;
    if recorded.is_empty() {
        println!("forward: nothing matches ({})", selection.describe());
        return Ok(());
    }
    let sent = recorded.len();
    let mut h = super::check::harness_for(vendor, &args.target, args.timeout, args.concurrency)?
        .recorded(recorded)
        .filter(format!("{}/inbox/*", vendor.id));
    let bar = progress_bar(sent as u64, vendor.id);
    if let Some(b) = bar.clone() {
        h = h.on_case(move |c| {
            b.inc(1);
            b.set_message(c.id.clone());
        });
    }
    let report = runtime()?.block_on(h.run())?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    super::check::write_reports(
        std::slice::from_ref(&report),
        args.report_json.as_ref(),
        None,
        None,
    )?;
    let mut failed = report.clone();
    failed
        .cases
        .retain(|c| c.outcome != hookforge::conformance::report::Outcome::Pass);
    print_text(&failed.table())?;
    println!(
        "forward: {sent} stored {} deliveries ({}) sent to {}: {} answered as {} counts success, {} not",
        vendor.name,
        selection.describe(),
        args.target.url,
        report.passed,
        vendor.name,
        report.failed
    );
    if report.failed > 0 {
        Err(Failure::Reported)
    } else {
        Ok(())
    }
}

/// `check --from-inbox DB`: the deliveries `selection` matches in the inbox
/// at `inbox` (a SQLite file, or a `postgres://` URL).
pub fn recorded(
    inbox: &str,
    selection: &Selection,
    limit: usize,
    redact: bool,
) -> Result<Vec<Recorded>, Failure> {
    let is_url = inbox.starts_with("postgres://") || inbox.starts_with("postgresql://");
    let store = if is_url {
        super::inbox::open_store(std::path::Path::new(""), Some(inbox.to_string()))?
    } else if !std::path::Path::new(inbox).is_file() {
        return Err(Failure::usage(format!(
            "--from-inbox {inbox}: no such inbox file (give a SQLite inbox or a postgres:// URL)"
        )));
    } else {
        super::inbox::open_store(std::path::Path::new(inbox), None)?
    };
    load(store.as_ref(), selection, limit, redact)
}

/// The newest `limit` deliveries `selection` matches, with their bodies,
/// oldest first; redacted when asked.
fn load(
    store: &dyn Store,
    selection: &Selection,
    limit: usize,
    redact: bool,
) -> Result<Vec<Recorded>, Failure> {
    let cannot = |e: &dyn std::fmt::Display| Failure::failed(format!("cannot read the inbox: {e}"));
    let rows = selection.rows(store).map_err(|e| cannot(&e))?;
    let skip = rows.len().saturating_sub(limit);
    let mut redactor = hookforge::drift::Redactor::default();
    let mut out = Vec::new();
    for row in rows.into_iter().skip(skip) {
        // Gone meanwhile (retention): nothing to send.
        let Some(full) = store.get(row.id).map_err(|e| cannot(&e))? else {
            continue;
        };
        let (body, event_id) = if redact {
            let doc: serde_json::Value = serde_json::from_slice(&full.body).map_err(|e| {
                Failure::usage(format!(
                    "delivery {} is not JSON ({e}): --redact reads JSON bodies only",
                    row.id
                ))
            })?;
            let body = serde_json::to_vec(&redactor.redact(&doc, "")).expect("Value serializes");
            // An id the vendor sends in a header is redacted as ids in the
            // body are, so the copy is a delivery of its own.
            let id = row.event_id.map(|id| {
                match redactor.redact(&serde_json::Value::String(id.clone()), "id") {
                    serde_json::Value::String(new) => new,
                    _ => id,
                }
            });
            (body, id)
        } else {
            (full.body, row.event_id)
        };
        out.push(Recorded {
            id: row.id,
            event_type: row.event_type,
            event_id,
            body,
        });
    }
    Ok(out)
}

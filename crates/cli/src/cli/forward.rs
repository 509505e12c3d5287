//! `hookforge inbox forward`: stored deliveries sent to another receiver,
//! their bytes as received, signed afresh as the vendor signs, each judged
//! by the vendor's success rule; and the stored deliveries `check
//! --from-inbox` adds as cases.

use super::*;

use hookforge::receive::store::Store;

#[derive(clap::Args)]
#[command(group = which_vendor())]
pub struct Args {
    /// Where to send (`--to URL`), as which vendor, with which secret.
    #[command(flatten)]
    pub target: TargetArgs,
    #[command(flatten)]
    pub filter: stores::InboxFilter,
    /// At most this many matching deliveries, the newest.
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    pub limit: usize,
    /// Replace personal data in JSON bodies before sending (e-mails, names,
    /// phone numbers, ids), consistently and keeping each value's shape, as
    /// `drift` redacts its samples.
    #[arg(long)]
    pub redact: bool,
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
    let recorded = stores::read_recorded(store, &selection, args.limit, args.redact)?;
    if recorded.is_empty() {
        println!("forward: nothing matches ({})", selection.describe());
        return Ok(());
    }
    let sent = recorded.len();
    let mut h = args
        .target
        .harness(vendor, args.concurrency)?
        .recorded(recorded)
        .filter(hookforge::conformance::cases::recorded_glob(vendor.id));
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
    write_reports(
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

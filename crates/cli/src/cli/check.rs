//! `hookforge check`: the conformance suite against a receiver.

use super::*;
use hookforge::conformance::cases;

#[derive(clap::Args)]
#[command(group = which_vendor())]
pub struct Args {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Listen on ADDR for the receiver's reports of each delivery its handler
    /// processed (POST http://ADDR/handled), and judge what it did: each
    /// authentic delivery handled exactly once with its payload intact,
    /// nothing refused handled.
    #[arg(long, value_name = "ADDR")]
    pub observe: Option<std::net::SocketAddr>,
    /// With --observe: seconds to wait for reports after the last answer.
    #[arg(long, value_name = "SECS", default_value_t = 2.0)]
    pub settle: f64,
    /// Cases in flight at once.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..))]
    pub concurrency: u32,
    /// Only cases whose id matches (`*`, `?`), e.g. 'prets/auth/*'; given
    /// again, cases matching any of them.
    #[arg(long, value_name = "GLOB")]
    pub filter: Vec<String>,
    /// Write the report as JSON.
    #[arg(long, value_name = "FILE")]
    pub report_json: Option<PathBuf>,
    /// Write the report as JUnit XML.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Write the report as one self-contained HTML file.
    #[arg(long, value_name = "FILE")]
    pub report_html: Option<PathBuf>,
    /// Serve the vendor's API from a local sandbox and report follow-up calls.
    #[arg(long)]
    pub sandbox: bool,
    /// Where the sandbox listens (implies --sandbox), so your receiver can be
    /// pointed at it beforehand.
    #[arg(long, value_name = "ADDR")]
    pub sandbox_addr: Option<std::net::SocketAddr>,
    /// The token the receiver's handshake checks (Meta's verify token), for
    /// the `<vendor>/handshake/…` case.
    #[arg(long, value_name = "TOKEN")]
    pub handshake_token: Option<String>,
    /// Also send this vendor's deliveries stored in an inbox (a SQLite file,
    /// or a `postgres://` URL), each a case `<vendor>/inbox/<id>`: yesterday's
    /// production traffic as today's conformance test.
    #[arg(long, value_name = "DB")]
    pub from_inbox: Option<String>,
    #[command(flatten)]
    pub inbox_filter: stores::InboxFilter,
    /// With --from-inbox: at most this many stored deliveries, the newest.
    #[arg(long, value_name = "N", default_value_t = 1000)]
    pub inbox_limit: usize,
}

pub fn run(a: Args) -> Outcome {
    let v = a.target.vendor.spec()?;
    runtime()?.block_on(check(v, a))
}

pub async fn check(vendor: &'static VendorSpec, args: Args) -> Outcome {
    let mut h = args.target.harness(vendor, args.concurrency as usize)?;
    if let Some(t) = &args.handshake_token {
        h = h.handshake_token(t.as_str());
    }
    if let Some(inbox) = &args.from_inbox {
        h = h.recorded(stores::recorded(
            inbox,
            &args.inbox_filter.selection(Some(vendor.id.to_string())),
            args.inbox_limit,
            false,
        )?);
    } else if args.inbox_filter.is_set() {
        return Err(Failure::usage(
            "--status, --event-type, --since and --until choose stored deliveries: they need --from-inbox",
        ));
    }
    require_secret(vendor, &args.target)?;
    if let Some(addr) = args.observe {
        h = h.observe(addr);
        match duration_arg(args.settle, "settle") {
            Ok(d) => h = h.settle(d),
            Err(f) => return Err(f),
        }
    }
    let filter = args.filter.clone();
    for f in args.filter {
        h = h.filter(f);
    }
    // --sandbox-addr implies --sandbox.
    if args.sandbox || args.sandbox_addr.is_some() {
        let sb = match args.sandbox_addr {
            Some(addr) => match hookforge::conformance::sandbox::Sandbox::start_on(addr).await {
                Ok(s) => s,
                Err(e) => {
                    return Err(Failure::usage(format!(
                        "cannot start the sandbox on {addr}: {e}"
                    )));
                }
            },
            None => hookforge::conformance::sandbox::Sandbox::start().await,
        };
        eprintln!("sandbox serving {}'s API at {}", vendor.name, sb.uri());
        h = h.sandbox(sb);
    }
    let report = run_with_progress(h, vendor.id).await?;
    // A filter that matches nothing checks nothing: a typo must not pass CI.
    let matched = |f: &String| report.cases.iter().any(|c| cases::glob_match(f, &c.id));
    if let Some(f) = filter.iter().find(|f| !matched(f)) {
        return Err(Failure::usage(format!(
            "--filter {f:?} matches no case of {}: case ids look like '{}/auth/*'",
            vendor.id, vendor.id
        )));
    }
    write_reports(
        std::slice::from_ref(&report),
        args.report_json.as_ref(),
        args.junit.as_ref(),
        args.report_html.as_ref(),
    )?;
    print_text(&report.table())?;
    if report.failed > 0 {
        Err(Failure::Reported)
    } else {
        Ok(())
    }
}

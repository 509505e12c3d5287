//! `hookforge simulate`: play the vendor over time against a receiver.

use super::*;
use hookforge::simulate::{Faults, Simulator};

#[derive(clap::Args)]
#[command(group = which_vendor())]
pub struct Args {
    #[command(flatten)]
    pub target: TargetArgs,
    /// How many events to send (at least 1).
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..))]
    pub events: u32,
    /// New events per second.
    #[arg(long, default_value_t = 10.0)]
    pub rate: f64,
    /// Faults between vendor and receiver, e.g.
    /// `lost-response=5%,duplicate=2%,reorder=10%,delay=100ms..2s`.
    #[arg(long, value_parser = parse_faults)]
    pub faults: Option<Faults>,
    /// Seed for the faults (same seed, same faults; the event ids are new
    /// on every run).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Vendor seconds per real second for retry delays (3600: an hour of
    /// backoff per second). Answer timeouts stay real time.
    #[arg(long, default_value_t = 1.0)]
    pub time_scale: f64,
    /// Socotra: the webhook's retryStrategy (none, one, three).
    #[arg(long)]
    pub retry_strategy: Option<String>,
    /// Socotra: the webhook's failureHandling mode (none, divert, suspend).
    #[arg(long)]
    pub failure_mode: Option<hookforge::manifest::FailureMode>,
    /// Socotra: answers that trigger the failure mode, e.g. `5xx,429`.
    #[arg(long, value_delimiter = ',')]
    pub act_on_status: Vec<hookforge::manifest::StatusPattern>,
    /// Socotra: whether timeouts trigger the failure mode.
    #[arg(long)]
    pub act_on_timeout: Option<bool>,
    /// The token the receiver's handshake checks (Meta's verify token).
    #[arg(long, value_name = "TOKEN")]
    pub handshake_token: Option<String>,
    /// Socotra: the name of the integration whose URL is --url (what a
    /// webhook's `integrationName` refers to).
    #[arg(long, default_value = hookforge::simulate::DEFAULT_WEBHOOK)]
    pub integration: String,
    /// Socotra: serve the webhook management API here.
    #[arg(long, value_name = "ADDR")]
    pub api_addr: Option<std::net::SocketAddr>,
    /// Socotra: register no webhook; events wait for one registered with
    /// `PUT /webhooks` on --api-addr, and the API serves until nothing is
    /// in flight, diverted or suspended (or Ctrl-C).
    #[arg(long, requires = "api_addr")]
    pub api_only: bool,
    /// With --api-addr: after the stream, keep serving the API while events
    /// are diverted or suspended, for at most this many seconds (default 0;
    /// with --api-only, no limit).
    #[arg(long)]
    pub linger: Option<f64>,
    /// The receiver's SQLite inbox (`hookforge serve --db`): the verdict
    /// checks each event was handled exactly once.
    #[arg(long, value_name = "FILE")]
    pub inbox_db: Option<PathBuf>,
    /// The receiver's PostgreSQL inbox (`hookforge serve --database-url`),
    /// for the same check; also from `HOOKFORGE_DATABASE_URL`.
    #[arg(long, value_name = "URL", conflicts_with = "inbox_db")]
    pub database_url: Option<String>,
    /// Listen on ADDR for the receiver's reports of each delivery its handler
    /// processed (POST http://ADDR/handled): the exactly-once verdict for a
    /// receiver in any language.
    #[arg(long, value_name = "ADDR", conflicts_with_all = ["inbox_db", "database_url"])]
    pub observe: Option<std::net::SocketAddr>,
    /// Seconds to wait for the receiver to handle what it acknowledged.
    #[arg(long, default_value_t = 10.0)]
    pub settle: f64,
    /// Write the report as JSON.
    #[arg(long, value_name = "FILE")]
    pub report_json: Option<PathBuf>,
}

fn parse_faults(s: &str) -> Result<Faults, String> {
    s.parse()
}

pub fn run(a: Args) -> Outcome {
    let v = a.target.vendor.spec()?;
    runtime()?.block_on(simulate(v, a))
}

fn usage(msg: impl std::fmt::Display) -> Outcome {
    Err(Failure::usage(msg))
}

pub async fn simulate(vendor: &'static VendorSpec, args: Args) -> Outcome {
    let sim = configure(vendor, &args)?;
    let sim = with_failure_handling(vendor, &args, sim)?;
    let mut sim = with_verdict_source(&args, sim).await?;
    let linger = match args.linger {
        Some(s) if s.is_finite() && s >= 0.0 => Some(std::time::Duration::from_secs_f64(s)),
        Some(_) => return usage("--linger must be a number of seconds"),
        None if args.api_only => None,
        None => Some(std::time::Duration::ZERO),
    };
    require_secret(vendor, &args.target)?;
    if let Some(path) = &args.report_json {
        writable(path)
            .map_err(|e| Failure::usage(format!("--report-json {}: {e}", path.display())))?;
    }
    let bar = progress_bar(args.events as u64, vendor.id);
    if let Some(b) = bar.clone() {
        sim = sim.on_change(move |p| {
            b.set_length(p.tracks.max(p.events) as u64);
            b.set_position(p.settled as u64);
            b.set_message(p.last.clone());
        });
    }
    let running = match sim.start().await {
        Ok(r) => r,
        Err(e) => return if e.is_usage() { usage(e) } else { fail(e) },
    };
    if let Some(api) = running.api_url() {
        eprintln!("{}'s webhook management API at {api}", vendor.name);
    }
    wait_until_done(&running, linger).await;
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    let report = running.report().await.map_err(Failure::failed)?;
    running.stop();
    if let Some(path) = &args.report_json {
        let text = serde_json::to_string_pretty(&report).expect("reports serialize");
        if let Err(e) = std::fs::write(path, text + "\n") {
            return usage(format!("cannot write {}: {e}", path.display()));
        }
    }
    print_text(&report.table())?;
    if report.passed {
        Ok(())
    } else {
        Err(Failure::Reported)
    }
}

/// The simulator with the target, the events and the faults the flags ask for.
fn configure(vendor: &'static VendorSpec, args: &Args) -> Result<Simulator, Failure> {
    let mut sim = Simulator::new(vendor)
        .url(args.target.url.clone())
        .integration(args.integration.clone())
        .events(args.events as usize)
        .rate(args.rate)
        .seed(args.seed)
        .time_scale(args.time_scale)
        .faults(args.faults.clone().unwrap_or_default());
    sim = sim.signing(args.target.signing.signing(vendor)?);
    if let Some(t) = &args.handshake_token {
        sim = sim.handshake_token(t.as_str());
    }
    if let Some(t) = args.target.answer_timeout()? {
        sim = sim.timeout(t);
    }
    sim = sim.settle(duration_arg(args.settle, "settle")?);
    if let Some(pem) = args.target.ca_pem()? {
        sim = sim.ca_cert(pem);
    }
    if let Some(s) = &args.retry_strategy {
        sim = sim.retry_strategy(s.clone());
    }
    if let Some(addr) = args.api_addr {
        sim = sim.api_addr(addr);
    }
    if args.api_only {
        sim = sim.default_webhook(false);
    }
    Ok(sim)
}

/// `--failure-mode`, `--act-on-status`, `--act-on-timeout` over the vendor's
/// default failure handling (Socotra's).
fn with_failure_handling(
    vendor: &'static VendorSpec,
    args: &Args,
    sim: Simulator,
) -> Result<Simulator, Failure> {
    let given = args.failure_mode.is_some()
        || !args.act_on_status.is_empty()
        || args.act_on_timeout.is_some();
    if !given {
        return Ok(sim);
    }
    let Some(base) = vendor.manifest().delivery_rules().failure_handling else {
        return Err(Failure::usage(format!(
            "{} has no failure handling to configure (--failure-mode, --act-on-status and --act-on-timeout are Socotra's)",
            vendor.id
        )));
    };
    let mode = args.failure_mode.unwrap_or(base.mode);
    let fh = hookforge::manifest::FailureHandling {
        mode,
        act_on_status_codes: if args.act_on_status.is_empty() {
            base.act_on_status_codes
        } else {
            args.act_on_status.clone()
        },
        act_on_timeout: args.act_on_timeout.unwrap_or(base.act_on_timeout),
    };
    Ok(sim.failure_handling(fh))
}

/// Whether `path` can be written, found out before a run rather than after
/// it: opened to append (an existing report is kept until the run writes
/// its own), and removed again if the probe made it.
fn writable(path: &std::path::Path) -> std::io::Result<()> {
    let existed = path.exists();
    std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)?;
    if !existed {
        std::fs::remove_file(path)?;
    }
    Ok(())
}

/// Where the verdict learns what the receiver handled: its reports
/// (`--observe`), its SQLite inbox, or its PostgreSQL inbox.
async fn with_verdict_source(a: &Args, sim: Simulator) -> Result<Simulator, Failure> {
    if let Some(addr) = a.observe {
        return Ok(sim.observe(addr));
    }
    if let Some(path) = &a.inbox_db {
        if !path.exists() {
            return Err(Failure::usage(format!(
                "--inbox-db {}: no such file",
                path.display()
            )));
        }
        // Read now, not after every event was sent: a file that is no inbox
        // is a usage error before the run (helper-64's review).
        if let Err(e) = hookforge::receive::store::SqliteStore::open_read_only(path) {
            return Err(Failure::usage(format!("--inbox-db: {e}")));
        }
        return Ok(sim.inbox(hookforge::simulate::StoreInbox::sqlite(path)));
    }
    let Some(url) = a
        .database_url
        .clone()
        .or_else(stores::database_url_from_env)
    else {
        return Ok(sim);
    };
    let inbox =
        tokio::task::spawn_blocking(move || hookforge::simulate::StoreInbox::postgres(&url)).await;
    match inbox {
        Ok(Ok(i)) => Ok(sim.inbox(i)),
        Ok(Err(e)) => Err(Failure::usage(format!("--database-url: {e}"))),
        Err(e) => Err(Failure::failed(e)),
    }
}

/// Until every event is settled, or Ctrl-C; with a management API, also
/// until webhooks it holds are final or `linger` has passed.
async fn wait_until_done(
    running: &hookforge::simulate::Running,
    linger: Option<std::time::Duration>,
) {
    // Ctrl-C ends the run early (an API-only run waits for a webhook).
    let interrupted = tokio::select! {
        () = running.idle() => false,
        _ = tokio::signal::ctrl_c() => true,
    };
    if interrupted || running.api_url().is_none() || linger == Some(std::time::Duration::ZERO) {
        return;
    }
    let until = async {
        match linger {
            Some(d) => tokio::time::sleep(d).await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        () = running.all_final() => {}
        () = until => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}

fn fail(e: impl std::fmt::Display) -> Outcome {
    Err(Failure::failed(e))
}

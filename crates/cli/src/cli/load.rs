//! `hookforge load`: signed deliveries at a fixed rate.

use super::*;

#[derive(clap::Args)]
#[command(group = which_vendor())]
pub struct Args {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Deliveries per second.
    #[arg(long)]
    pub rate: f64,
    /// Seconds to send for.
    #[arg(long)]
    pub duration: f64,
    /// Keep-alive connections to send over (default: sized to the rate,
    /// enough for 4 ms of sends in flight, 8 to 512).
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=4096))]
    pub connections: Option<u16>,
    #[arg(long)]
    pub json: bool,
}

pub fn run(a: Args) -> Outcome {
    let v = a.target.vendor.spec()?;
    runtime()?.block_on(load(v, a))
}

pub async fn load(vendor: &'static VendorSpec, args: Args) -> Outcome {
    require_secret(vendor, &args.target)?;
    let Args {
        target,
        rate,
        duration,
        connections,
        json,
    } = args;
    let duration = duration_arg(duration, "duration")?;
    let timeout = target
        .answer_timeout()?
        .unwrap_or_else(|| hookforge::conformance::harness::vendor_budget(vendor));
    if !(rate > 0.0 && rate.is_finite()) {
        return Err(Failure::usage("--rate must be a positive number"));
    }
    let (signing, ca_cert) = (target.signing.signing(vendor)?, target.ca_pem()?);
    let cfg = hookforge::conformance::load::LoadConfig {
        vendor,
        url: target.url,
        signing,
        rate,
        duration,
        timeout,
        ca_cert,
        connections: connections.map(usize::from),
        resign_every: hookforge::conformance::load::RESIGN_EVERY,
    };
    let total = (rate * duration.as_secs_f64()).round() as u64;
    let bar = progress_bar(total, "sending");
    let tick = bar
        .clone()
        .map(|b| move |i: usize| b.set_position(i as u64));
    let result = hookforge::conformance::load::run(
        &cfg,
        tick.as_ref().map(|f| f as &(dyn Fn(usize) + Sync)),
    )
    .await;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    match result {
        Ok(r) => {
            if json {
                print_json(&serde_json::to_value(&r).expect("report serializes"))?;
            } else {
                print_text(&format!("{}\n", r.summary()))?;
            }
            if r.failed > 0 {
                Err(Failure::Reported)
            } else {
                Ok(())
            }
        }
        Err(e) => Err(e.into()),
    }
}

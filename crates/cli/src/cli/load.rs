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
    /// Seconds to wait for each answer (default: the vendor's budget, or
    /// 30): an answer later than the vendor waits counts as failed.
    #[arg(long)]
    pub timeout: Option<f64>,
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
        target:
            TargetArgs {
                vendor: _,
                url,
                secret,
                secret_file,
                hmac_format,
                ca_cert,
                key_url,
                settings,
            },
        rate,
        duration,
        timeout,
        connections,
        json,
    } = args;
    let (duration, timeout) = match (
        duration_arg(duration, "duration"),
        timeout.map_or(
            Ok(hookforge::conformance::harness::vendor_budget(vendor)),
            |t| duration_arg(t, "timeout"),
        ),
    ) {
        (Ok(d), Ok(t)) => (d, t),
        (Err(f), _) | (_, Err(f)) => return Err(f),
    };
    let secret = secret_from(vendor, secret, secret_file.as_ref())?;
    if !(rate > 0.0 && rate.is_finite()) {
        return Err(Failure::usage("--rate must be a positive number"));
    }
    let ca_cert = match ca_cert
        .map(|p| std::fs::read(&p).map_err(|e| (p, e)))
        .transpose()
    {
        Ok(pem) => pem,
        Err((p, e)) => {
            return Err(Failure::usage(format!(
                "cannot read --ca-cert {}: {e}",
                p.display()
            )));
        }
    };
    let cfg = hookforge::conformance::load::LoadConfig {
        vendor,
        url,
        signing: hookforge::conformance::target::Signing {
            secret: secret.map(hookforge::auth::Secret::new),
            hmac_format,
            key_url,
            settings: settings.into_iter().collect(),
        },
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

//! Faults between the vendor and the receiver, chosen per event and attempt
//! from a seed alone, so a run's faults are the same whatever the timing.

use std::time::Duration;

use serde::Serialize;

/// Which faults to inject, as `--faults` spells them:
/// `lost-response=5%,duplicate=2%,reorder=10%,delay=100ms..2s`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Faults {
    /// A success answer that never reaches the vendor (it counts a timeout
    /// and redelivers what the receiver already has). Per attempt.
    pub lost_response: f64,
    /// The same request sent twice. Per attempt.
    pub duplicate: f64,
    /// An event sent after the one behind it. Per event.
    pub reorder: f64,
    /// Network delay before each request, uniform in the range.
    pub delay: Option<(Duration, Duration)>,
}

impl Faults {
    pub fn is_none(&self) -> bool {
        *self == Faults::default()
    }
}

impl std::fmt::Display for Faults {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut parts = Vec::new();
        let pct = |p: f64| format!("{}%", (p * 1000.0).round() / 10.0);
        if self.lost_response > 0.0 {
            parts.push(format!("lost-response={}", pct(self.lost_response)));
        }
        if self.duplicate > 0.0 {
            parts.push(format!("duplicate={}", pct(self.duplicate)));
        }
        if self.reorder > 0.0 {
            parts.push(format!("reorder={}", pct(self.reorder)));
        }
        if let Some((a, b)) = self.delay {
            parts.push(format!("delay={}ms..{}ms", a.as_millis(), b.as_millis()));
        }
        if parts.is_empty() {
            f.write_str("none")
        } else {
            f.write_str(&parts.join(","))
        }
    }
}

impl std::str::FromStr for Faults {
    type Err = String;

    fn from_str(s: &str) -> Result<Faults, String> {
        let mut f = Faults::default();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, value) = part
                .split_once('=')
                .ok_or_else(|| format!("{part:?}: expected NAME=VALUE, e.g. duplicate=2%"))?;
            match name.trim() {
                "lost-response" => f.lost_response = probability(name, value)?,
                "duplicate" => f.duplicate = probability(name, value)?,
                "reorder" => f.reorder = probability(name, value)?,
                "delay" => {
                    let (a, b) = value.split_once("..").unwrap_or((value, value));
                    let (a, b) = (duration(a)?, duration(b)?);
                    if a > b {
                        return Err(format!("delay={value}: the range runs backwards"));
                    }
                    f.delay = Some((a, b));
                }
                other => {
                    return Err(format!(
                        "unknown fault {other:?}: expected lost-response, duplicate, reorder or delay"
                    ));
                }
            }
        }
        Ok(f)
    }
}

/// `5%` or `0.05`.
fn probability(name: &str, v: &str) -> Result<f64, String> {
    let v = v.trim();
    let p = match v.strip_suffix('%') {
        Some(n) => n.trim().parse::<f64>().map(|x| x / 100.0),
        None => v.parse::<f64>(),
    }
    .map_err(|_| format!("{name}={v}: expected a percentage like 5% or a fraction like 0.05"))?;
    if !(0.0..=1.0).contains(&p) {
        return Err(format!("{name}={v}: must be between 0% and 100%"));
    }
    Ok(p)
}

/// `250ms`, `2s` or `1.5s`.
fn duration(v: &str) -> Result<Duration, String> {
    let v = v.trim();
    let (num, scale) = if let Some(n) = v.strip_suffix("ms") {
        (n, 0.001)
    } else if let Some(n) = v.strip_suffix('s') {
        (n, 1.0)
    } else {
        return Err(format!("{v:?}: expected a duration like 100ms or 2s"));
    };
    num.trim()
        .parse::<f64>()
        .ok()
        .and_then(|n| Duration::try_from_secs_f64(n * scale).ok())
        .ok_or_else(|| format!("{v:?}: expected a duration like 100ms or 2s"))
}

/// What each roll decides; mixed into the roll so decisions are independent.
#[derive(Clone, Copy)]
pub(crate) enum Roll {
    LostResponse = 1,
    Duplicate = 2,
    Reorder = 3,
    Delay = 4,
}

/// A uniform number in [0, 1) for one decision, from the seed alone.
pub(crate) fn roll(seed: u64, what: Roll, event: usize, attempt: usize) -> f64 {
    let mut r = Rng::new(
        seed ^ (what as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)
            ^ (event as u64).wrapping_mul(0xbf58_476d_1ce4_e5b9)
            ^ (attempt as u64).wrapping_mul(0x94d0_49bb_1331_11eb),
    );
    r.unit()
}

/// SplitMix64: tiny, fast and good enough for choosing faults and ids;
/// nothing here needs a cryptographic generator.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in [0, n).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_what_the_cli_documents() {
        let f: Faults = "lost-response=5%,duplicate=2%,reorder=0.1,delay=100ms..2s"
            .parse()
            .unwrap();
        assert_eq!(f.lost_response, 0.05);
        assert_eq!(f.duplicate, 0.02);
        assert_eq!(f.reorder, 0.1);
        assert_eq!(
            f.delay,
            Some((Duration::from_millis(100), Duration::from_secs(2)))
        );
        assert_eq!(
            f.to_string(),
            "lost-response=5%,duplicate=2%,reorder=10%,delay=100ms..2000ms"
        );
        for (bad, says) in [
            ("lost=5%", "unknown fault \"lost\""),
            ("duplicate=150%", "between 0% and 100%"),
            ("delay=2s..1s", "backwards"),
            ("delay=fast", "duration"),
            ("reorder", "NAME=VALUE"),
        ] {
            let e = bad.parse::<Faults>().unwrap_err();
            assert!(e.contains(says), "{bad}: {e}");
        }
    }

    #[test]
    fn rolls_depend_on_the_seed_and_the_decision_only() {
        let a = roll(42, Roll::Duplicate, 3, 1);
        assert_eq!(a, roll(42, Roll::Duplicate, 3, 1));
        assert_ne!(a, roll(43, Roll::Duplicate, 3, 1));
        assert_ne!(a, roll(42, Roll::LostResponse, 3, 1));
        // Roughly uniform: 10% of 10,000 rolls, give or take.
        let hits = (0..10_000)
            .filter(|i| roll(9, Roll::Reorder, *i, 0) < 0.1)
            .count();
        assert!((800..1200).contains(&hits), "{hits}");
    }
}

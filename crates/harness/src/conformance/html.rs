//! A conformance run as one self-contained HTML file: inline CSS and SVG,
//! no script and nothing fetched, so it opens from a CI build page. Per
//! vendor: the summary, the answer times against the vendor's budget as a
//! histogram, and every case with its outcome, status, time and detail
//! (which says what was sent and what came back, secrets already left out).

use maud::{Markup, html};

use super::report::{CaseResult, Outcome, Report};

const STYLE: &str = "
body{font:15px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:0 auto;padding:0 1rem;max-width:72rem;color:#1b1f24}
h1{font-size:1.4rem}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #d0d7de}
table{border-collapse:collapse;width:100%}.scroll{overflow-x:auto}
th,td{text-align:left;padding:.3rem .5rem;border-bottom:1px solid #eaeef2;vertical-align:top}
th{background:#f6f8fa}td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.id{font-family:ui-monospace,monospace;font-size:.85rem;word-break:break-all}
tr.fail td.outcome{color:#a40e26;font-weight:700}tr.pass td.outcome{color:#116329}tr.skip td.outcome{color:#6e7781}
tr.fail{background:#fff5f5}
.summary span{margin-right:1rem}
svg{max-width:100%;height:auto}
figure{margin:1rem 0}figcaption{font-size:.85rem;color:#57606a}
";

/// The report of one or more vendors' runs.
pub fn report(reports: &[Report]) -> String {
    let failed: usize = reports.iter().map(|r| r.failed).sum();
    let title = match failed {
        0 => "hookforge check: all passed".to_string(),
        n => format!("hookforge check: {n} failed"),
    };
    let body = html! {
                h1 { "hookforge check" }
                div class="scroll" {
                    table class="vendors" {
                        thead { tr { th scope="col" { "vendor" } th scope="col" { "passed" } th scope="col" { "failed" } th scope="col" { "skipped" } th scope="col" { "p99 / budget" } } }
                        tbody {
                            @for r in reports {
                                tr class=(if r.failed > 0 { "fail" } else { "pass" }) {
                                    th scope="row" { a href={ "#" (r.vendor) } { (r.vendor) } }
                                    td class="num" { (r.passed) } td class="num" { (r.failed) } td class="num" { (r.skipped) }
                                    td class="num" { @if let Some(t) = &r.timing { (format!("{:.0} ms / {:.1} s", t.p99_ms, t.budget_ms / 1000.0)) } @else { "—" } }
                                }
                            }
                        }
                    }
                }
                @for r in reports { (vendor(r)) }
    };
    crate::util::html_page(&title, STYLE, &body.into_string())
}

fn outcome(o: Outcome) -> &'static str {
    match o {
        Outcome::Pass => "pass",
        Outcome::Fail => "fail",
        Outcome::Skip => "skip",
    }
}

fn vendor(r: &Report) -> Markup {
    html! {
        section id=(r.vendor) {
            h2 { (r.vendor) }
            p class="summary" { span { (r.passed) " passed" } span { (r.failed) " failed" } span { (r.skipped) " skipped" } }
            (histogram(r))
            div class="scroll" {
                table class="cases" {
                    thead { tr { th scope="col" { "case" } th scope="col" { "outcome" } th scope="col" { "status" } th scope="col" { "time" } th scope="col" { "detail" } } }
                    tbody { @for c in &r.cases { (case(c)) } }
                }
            }
        }
    }
}

fn case(c: &CaseResult) -> Markup {
    html! {
        tr class=(outcome(c.outcome)) id=(c.id) {
            td class="id" { (c.id) }
            td class="outcome" { (outcome(c.outcome)) }
            td class="num" { @if let Some(s) = c.status { (s) } @else { "—" } }
            td class="num" { @if let Some(ms) = c.latency_ms { (format!("{ms:.1} ms")) } @else { "—" } }
            td {
                (c.detail)
                // A case of several requests: each with its answer and time.
                @if c.steps.len() > 1 {
                    ol class="steps" {
                        @for s in &c.steps {
                            li {
                                (s.what) " → "
                                @if let Some(st) = s.status { (st) } @else { "no answer" }
                                (format!(" in {:.1} ms", s.ms))
                                @if !s.ok { " — FAILED" }
                                ": " (s.note)
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Answer times as bars, the vendor's budget as a red line.
fn histogram(report: &Report) -> Markup {
    let times: Vec<f64> = report.cases.iter().filter_map(|c| c.latency_ms).collect();
    if times.is_empty() {
        return html! {};
    }
    let budget = report.timing.as_ref().map(|t| t.budget_ms);
    let max = times.iter().copied().fold(0.0_f64, f64::max);
    // The axis covers the answers, and the budget when it is near them.
    let top = match budget {
        Some(b) if b <= max * 4.0 => b.max(max) * 1.05,
        _ => max * 1.05,
    }
    .max(1.0);
    const BINS: usize = 40;
    let mut counts = [0usize; BINS];
    for t in &times {
        counts[((t / top * BINS as f64) as usize).min(BINS - 1)] += 1;
    }
    let peak = *counts.iter().max().unwrap_or(&1) as f64;
    let (w, h, left, bottom) = (600.0, 160.0, 40.0, 24.0);
    let bar = (w - left) / BINS as f64;
    let x = |ms: f64| left + ms / top * (w - left);
    let caption = match (&report.timing, budget) {
        (Some(t), Some(b)) if b <= max * 4.0 => format!(
            "{} answers: p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms; the red line is the vendor's budget, {:.1} s.",
            times.len(),
            t.p50_ms,
            t.p99_ms,
            t.max_ms,
            b / 1000.0
        ),
        (Some(t), Some(b)) => format!(
            "{} answers: p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms; the vendor's budget, {:.1} s, is far to the right.",
            times.len(),
            t.p50_ms,
            t.p99_ms,
            t.max_ms,
            b / 1000.0
        ),
        _ => format!("{} answers, up to {max:.0} ms.", times.len()),
    };
    html! {
        figure {
            svg xmlns="http://www.w3.org/2000/svg" viewBox={ "0 0 " (w) " " (h) } role="img" aria-label={ "answer times of " (report.vendor) } {
                line x1=(left) y1=(h - bottom) x2=(w) y2=(h - bottom) stroke="#57606a" {}
                @for (i, n) in counts.iter().enumerate() {
                    @if *n > 0 {
                        @let bh = (*n as f64 / peak) * (h - bottom - 10.0);
                        rect x=(format!("{:.1}", left + i as f64 * bar + 1.0)) y=(format!("{:.1}", h - bottom - bh)) width=(format!("{:.1}", bar - 2.0)) height=(format!("{:.1}", bh)) fill="#0969da" {
                            title { (n) " answers near " (format!("{:.0}", (i as f64 + 0.5) * top / BINS as f64)) " ms" }
                        }
                    }
                }
                @if let Some(b) = budget.filter(|b| *b <= top) {
                    line x1=(format!("{:.1}", x(b))) y1="4" x2=(format!("{:.1}", x(b))) y2=(h - bottom) stroke="#cf222e" stroke-width="2" {}
                    text x=(format!("{:.1}", x(b) - 4.0)) y="14" text-anchor="end" font-size="11" fill="#cf222e" { "budget" }
                }
                text x=(left) y=(h - 6.0) font-size="11" { "0" }
                text x=(w) y=(h - 6.0) font-size="11" text-anchor="end" { (format!("{top:.0} ms")) }
                text x="2" y="14" font-size="11" { (peak as usize) }
            }
            figcaption { (caption) }
        }
    }
}

//! `hookforge inbox`: inspect, replay and reparse the inbox (SQLite or PostgreSQL).

use super::*;
use hookforge::receive::store::{Status, Store};
use stores::{InboxLocation, SelectionArgs};

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub inbox: InboxLocation,
    #[command(subcommand)]
    pub action: InboxAction,
}

pub fn run(a: Args) -> Outcome {
    match a.inbox.open() {
        Ok(store) => inbox(store.as_ref(), a.action),
        Err(f) => Err(f),
    }
}

#[derive(clap::Subcommand)]
pub enum InboxAction {
    /// List stored deliveries, newest first.
    List {
        /// Only this status: pending, processing, done, quarantined, dead.
        #[arg(long)]
        status: Option<String>,
        /// The most rows shown, newest first.
        #[arg(long, default_value_t = 100)]
        limit: usize,
        #[arg(long)]
        json: bool,
    },
    /// Show one delivery with its body.
    Show { id: i64 },
    /// Queue deliveries (e.g. dead letters) to be handled again by the next
    /// running receiver, with their attempt counts reset: one by id, or every
    /// one matching `--status` and the other filters.
    Replay {
        /// One delivery.
        #[arg(
            conflicts_with_all = ["status", "vendor", "event_type", "since", "until", "dry_run"]
        )]
        id: Option<i64>,
        #[command(flatten)]
        select: SelectionArgs,
        /// Show what would be queued; queue nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Parse quarantined deliveries again with this binary's models and move
    /// those that now fit to pending.
    Reparse {
        /// One delivery.
        #[arg(long, conflicts_with = "all", required_unless_present = "all")]
        id: Option<i64>,
        /// Every quarantined delivery.
        #[arg(long)]
        all: bool,
    },
    /// Send stored deliveries, their bytes as received, to another receiver
    /// (a staging or test one), signed as the vendor signs with that
    /// receiver's secret, each judged by the vendor's success rule.
    Forward(super::forward::Args),
    /// The secrets kept from a vendor's handshakes (Asana's `X-Hook-Secret`,
    /// Notion's `verification_token`): how many, or with `--reveal` the
    /// secrets themselves, or with `--forget` forget them, so that the next
    /// handshake's secret is taken as the first (restart the receiver: a
    /// running one keeps what it has).
    Secrets {
        #[arg(long, value_parser = vendor_ids())]
        vendor: String,
        /// Forget the kept secrets.
        #[arg(long, conflicts_with = "reveal")]
        forget: bool,
        /// Print each kept secret, oldest first, one a line (Notion's token
        /// is pasted into the integration's Webhooks tab).
        #[arg(long)]
        reveal: bool,
    },
}

pub fn inbox(store: &dyn Store, action: InboxAction) -> Outcome {
    let result = match action {
        InboxAction::List {
            status,
            limit,
            json,
        } => return list(store, status.as_deref(), limit, json),
        InboxAction::Show { id } => store.get(id).map(|row| match row {
            None => Err(Failure::failed(format!("no delivery {id}"))),
            Some(r) => show(&r),
        }),
        InboxAction::Reparse { id, all } => reparse(store, id, all),
        InboxAction::Forward(args) => return super::forward::run(store, args),
        InboxAction::Secrets {
            vendor,
            forget,
            reveal,
        } => return kept_secrets(store, &vendor, forget, reveal),
        InboxAction::Replay {
            id: None,
            select,
            dry_run,
        } => return replay_matching(store, &select.selection(), dry_run),
        InboxAction::Replay { id: Some(id), .. } => {
            return match hookforge::receive::replay::replay_one(store, id) {
                Ok(true) => {
                    println!(
                        "delivery {id} queued: the next running receiver with this inbox handles it"
                    );
                    Ok(())
                }
                Ok(false) => Err(Failure::failed(format!("no delivery {id}"))),
                Err(e) => Err(Failure::failed(e)),
            };
        }
    };
    result.unwrap_or_else(|e| Err(Failure::failed(e)))
}

/// `inbox show`: the row as JSON, its body the bytes as received
/// (re-indented only: key order, a key given twice and numbers as written),
/// or a string when the body is not JSON.
fn show(row: &hookforge::receive::store::StoredDelivery) -> Outcome {
    #[derive(serde::Serialize)]
    struct Shown<'a> {
        #[serde(flatten)]
        row: &'a hookforge::receive::store::StoredDelivery,
        body: Box<serde_json::value::RawValue>,
    }
    let as_json = hookforge_core::reindent::reindent(&row.body, None).map(|lines| {
        let lines: Vec<&str> = lines.iter().map(|(l, _)| l.as_str()).collect();
        lines.join("\n  ")
    });
    let text = || serde_json::to_string(&String::from_utf8_lossy(&row.body)).expect("a string");
    let body = serde_json::value::RawValue::from_string(as_json.unwrap_or_else(text))
        .expect("re-indented JSON is JSON");
    let out = serde_json::to_string_pretty(&Shown { row, body }).expect("row serializes");
    print_text(&format!("{out}\n"))
}

/// `inbox list`: the newest `limit` deliveries (of `status`), as a table or
/// JSON, saying how many were left out.
fn list(store: &dyn Store, status: Option<&str>, limit: usize, json: bool) -> Outcome {
    let status = match status.map(|s| (s, Status::parse(s))) {
        None => None,
        Some((_, Some(st))) => Some(st),
        Some((s, None)) => {
            return Err(Failure::usage(format!(
                "unknown status {s:?}: expected pending, processing, done, quarantined or dead"
            )));
        }
    };
    let search = hookforge::receive::store::Search {
        status,
        ..Default::default()
    };
    // Newest first, as the dashboard and `forward` take them: after an
    // incident the latest deliveries are the ones looked for.
    let (rows, total) = store.search(&search, 0, limit).map_err(Failure::failed)?;
    let shown = rows.len() as u64;
    if json {
        // The array stays the rows; what it left out goes to stderr.
        if shown < total {
            eprintln!("{shown} of {total} shown, newest first (--limit N for more)");
        }
        return print_json(&serde_json::to_value(&rows).expect("rows serialize"));
    }
    let mut out = format!(
        "{:>6}  {:<11} {:<17} {:<40} {:>3}  {}\n",
        "ID", "STATUS", "VENDOR", "EVENT", "TRY", "EVENT ID / ERROR"
    );
    for r in rows {
        let mut last = r
            .last_error
            .clone()
            .unwrap_or_else(|| r.event_id.clone().unwrap_or_default());
        if let Some(newer) = r.superseded_by {
            last = format!("{last} (stale: {newer} is newer)");
        }
        // Event types, ids and errors are the sender's text: a newline or
        // escape in one must not forge a row.
        out.push_str(&format!(
            "{:>6}  {:<11} {:<17} {:<40} {:>3}  {}\n",
            r.id,
            r.status.as_str(),
            r.vendor,
            Shown(&r.event_type).to_string(),
            r.attempts,
            Shown(&last)
        ));
    }
    if shown < total {
        out.push_str(&format!(
            "{shown} of {total} shown, newest first (--limit N for more, --status to narrow)\n"
        ));
    }
    print_text(&out)
}

/// Re-parses quarantined deliveries with this binary's models; those that
/// fit now go to pending. Exit 1 when a named delivery still misfits.
pub fn reparse(
    store: &dyn hookforge::receive::store::Store,
    id: Option<i64>,
    all: bool,
) -> Result<Outcome, hookforge::receive::store::StoreError> {
    use hookforge::receive::store::Status;
    let rows = match (id, all) {
        (Some(id), _) => match store.get(id)? {
            Some(r) if r.status == Status::Quarantined => vec![r],
            Some(r) => {
                return Ok(Err(Failure::failed(format!(
                    "delivery {id} is {}, not quarantined",
                    r.status.as_str()
                ))));
            }
            None => return Ok(Err(Failure::failed(format!("no delivery {id}")))),
        },
        _ => store.list(Some(Status::Quarantined), usize::MAX)?,
    };
    let (mut released, mut still) = (0, 0);
    for r in rows {
        match hookforge::receive::inbox::reparse_delivery(store, &r)? {
            Ok(event) => {
                let event = Shown(&event).to_string();
                println!("{}: {} {event} now fits; moved to pending", r.id, r.vendor);
                released += 1;
            }
            Err(why) => {
                println!("{}: still quarantined: {}", r.id, Shown(&why.to_string()));
                still += 1;
            }
        }
    }
    println!("reparse: {released} moved to pending, {still} still quarantined");
    Ok(if id.is_some() && still > 0 {
        Err(Failure::Reported)
    } else {
        Ok(())
    })
}

/// `inbox replay --status …`: queues every matching delivery again and says
/// which; with `--dry-run`, only says which.
fn replay_matching(
    store: &dyn hookforge::receive::store::Store,
    selection: &hookforge::receive::replay::Selection,
    dry_run: bool,
) -> Outcome {
    use hookforge::receive::replay::{ReplayError, replay};
    let done = replay(store, selection, dry_run).map_err(|e| match e {
        ReplayError::Store(_) | ReplayError::Interrupted { .. } => Failure::failed(e),
        _ => Failure::usage(e),
    })?;
    let what = selection.describe();
    if done.queued.is_empty() && done.busy.is_empty() && done.gone.is_empty() {
        // A misspelt vendor matches nothing too: say so rather than exit 0.
        // One served from a vendor directory is known by its deliveries.
        let held = |v: &String| {
            let any = hookforge::receive::store::Search {
                vendor: Some(v.clone()),
                ..Default::default()
            };
            store.search(&any, 0, 0).is_ok_and(|(_, total)| total > 0)
        };
        if let Some(v) = &selection.search.vendor
            && !all_ids().contains(&v.as_str())
            && !held(v)
        {
            return Err(Failure::usage(format!(
                "no vendor {v:?}: the inbox holds none of its deliveries, and it is not a vendor hookforge knows (`hookforge vendors` lists them)"
            )));
        }
        println!("replay: nothing matches ({what})");
        return Ok(());
    }
    let verb = if dry_run { "would queue" } else { "queued" };
    let mut out = format!("{verb} {} ({what}):\n", done.queued.len());
    for d in &done.queued {
        out.push_str(&format!(
            "{:>8}  {:<17} {:<40} {}\n",
            d.id,
            d.vendor,
            d.event_type,
            d.event_id.as_deref().unwrap_or("-")
        ));
    }
    print_text(&out)?;
    if dry_run {
        println!("replay: dry run, nothing queued");
    } else {
        println!(
            "replay: {} queued for the next running receiver with this inbox; {} skipped as being handled now{}; {} gone meanwhile",
            done.queued.len(),
            done.busy.len(),
            list_ids(&done.busy),
            done.gone.len()
        );
    }
    Ok(())
}

fn list_ids(ids: &[i64]) -> String {
    if ids.is_empty() {
        return String::new();
    }
    let shown: Vec<String> = ids.iter().take(20).map(i64::to_string).collect();
    let more = ids.len().saturating_sub(20);
    format!(
        " ({}{})",
        shown.join(", "),
        if more > 0 {
            format!(", and {more} more")
        } else {
            String::new()
        }
    )
}

/// `inbox secrets`: how many secrets are kept for `vendor` (never the
/// secrets themselves), or forgets them.
fn kept_secrets(
    store: &dyn hookforge::receive::store::Store,
    vendor: &str,
    forget: bool,
    reveal: bool,
) -> Outcome {
    let failed = |e: hookforge::receive::store::StoreError| Failure::failed(e.to_string());
    if reveal {
        // Asked for by name: the one place hookforge prints a secret.
        let kept = store.kept_secrets(vendor).map_err(failed)?;
        if kept.is_empty() {
            return Err(Failure::failed(format!(
                "{vendor}: no kept secret in this inbox (the vendor's handshake has not reached a receiver using it)"
            )));
        }
        let lines: String = kept.iter().map(|s| format!("{}\n", s.expose())).collect();
        return print_text(&lines);
    } else if forget {
        let n = store.forget_secrets(vendor).map_err(failed)?;
        println!(
            "{vendor}: forgot {n} kept secret(s); restart the receiver, and its next handshake's secret is the first"
        );
    } else {
        let n = store.kept_secrets(vendor).map_err(failed)?.len();
        let none_given = hookforge::vendor(vendor).is_some_and(|v| !v.manifest().keeps_secret());
        let why = if none_given {
            " (it hands over no secret in a handshake)"
        } else {
            ""
        };
        println!("{vendor}: {n} kept secret(s){why}");
    }
    Ok(())
}

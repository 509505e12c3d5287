//! Operating an inbox from the command line: bulk replay by filter.

use crate::common;

use std::path::Path;

use hookforge::receive::store::{SqliteStore, Status, Store, Vendors};

fn hookforge() -> std::process::Command {
    common::hookforge_command()
}

/// The stdout of a run that must have succeeded (both outputs shown if not).
fn success_text(out: &std::process::Output) -> String {
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    common::assert_ok(out);
    text
}

/// An inbox with 4 dead Prets deliveries, 2 done, 1 dead of another event
/// type, 1 dead SuperOffice, and 1 being handled.
fn inbox_with_dead_letters(db: &std::path::Path) -> SqliteStore {
    let store = SqliteStore::open(db).unwrap();
    let add = |vendor: &str, event: &str, i: usize| {
        let (id, body) = common::prets_delivery("evt_01KVOP", i);
        let mut d = common::new_delivery(vendor, &id, body);
        d.event_type = event.into();
        store.insert(&d).unwrap();
    };
    for i in 0..6 {
        add("prets", "quote.updated", i);
    }
    add("prets", "quote.created", 50);
    add("superoffice", "contact.created", 60);
    add("prets", "quote.updated", 99);
    // Claimed oldest first: 6 updates, then the others.
    let claimed = store.claim(i64::MAX, 8, Vendors::Any).unwrap();
    for (n, d) in claimed.iter().enumerate() {
        if n < 2 {
            assert!(store.complete(d.attempt(), 0).unwrap());
        } else {
            assert!(store.fail(d.attempt(), "handler failed", None).unwrap());
        }
    }
    // The ninth stays claimed: processing.
    assert_eq!(store.claim(i64::MAX, 1, Vendors::Any).unwrap().len(), 1);
    store
}

/// `inbox --db DB replay ARGS`.
fn replay(db: &Path, args: &[&str]) -> std::process::Output {
    hookforge()
        .args(["inbox", "--db"])
        .arg(db)
        .arg("replay")
        .args(args)
        .output()
        .unwrap()
}

fn statuses(store: &SqliteStore) -> Vec<(i64, Status, u32)> {
    let mut rows: Vec<_> = store
        .list(None, 100)
        .unwrap()
        .into_iter()
        .map(|d| (d.id, d.status, d.attempts))
        .collect();
    rows.sort_by_key(|r| r.0);
    rows
}

/// Filters that cannot mean what was typed are usage errors (exit 2), not
/// an empty match: a range that ends before it starts, a vendor nobody
/// knows (a misspelling exited 0 with "nothing matches": helper-56).
#[test]
fn bulk_replay_refuses_filters_that_cannot_match() {
    let dir = common::temp_dir("bulk-replay-usage");
    let db = dir.join("inbox.db");
    let store = inbox_with_dead_letters(&db);
    let run = |args: &[&str]| replay(&db, args);
    // A range that ends before it starts is a usage error too.
    let out = run(&[
        "--status",
        "dead",
        "--since",
        "2030-01-01",
        "--until",
        "2020-01-01",
    ]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("the range ends before it starts"));
    // A vendor served from a vendor directory is known by its deliveries:
    // none dead is an empty match, not a usage error (helper-62's review).
    let mut acme = common::new_delivery("acme", "evt_acme_1", b"{}".to_vec());
    acme.event_type = "order.created".into();
    store.insert(&acme).unwrap();
    let before = statuses(&store);
    let out = run(&["--status", "dead", "--vendor", "acme"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("nothing matches"));
    // A vendor nobody knows is a usage error, not an empty match.
    let out = run(&["--status", "dead", "--vendor", "pretz"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("no vendor \"pretz\""));
    assert_eq!(statuses(&store), before);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bulk_replay_queues_what_the_filters_match_and_nothing_else() {
    let dir = common::temp_dir("bulk-replay");
    let db = dir.join("inbox.db");
    let store = inbox_with_dead_letters(&db);
    let before = statuses(&store);
    let run = |args: &[&str]| replay(&db, args);

    let dead_updates = [
        "--status",
        "dead",
        "--vendor",
        "prets",
        "--event-type",
        "quote.updated",
    ];
    // A dry run says what it would queue and changes nothing.
    let out = run(&[&dead_updates[..], &["--dry-run"]].concat());
    let text = success_text(&out);
    assert!(
        text.contains("would queue 4 (status dead, vendor prets, event type quote.updated)"),
        "{text}"
    );
    assert_eq!(statuses(&store), before);

    // Filters that match nothing queue nothing.
    let out = run(&["--status", "dead", "--since", "2999-01-01"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("nothing matches"));
    assert_eq!(statuses(&store), before);

    // The real thing: exactly the 4, pending with attempts reset; the dead
    // `quote.created`, the SuperOffice one, the done and the processing
    // ones untouched.
    let out = run(&[&dead_updates[..], &["--since", "1h"]].concat());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("replay: 4 queued"), "{text}");
    let after = statuses(&store);
    let changed: Vec<_> = before
        .iter()
        .zip(&after)
        .filter(|(b, a)| b != a)
        .map(|(_, a)| *a)
        .collect();
    assert_eq!(changed.len(), 4, "{after:?}");
    assert!(
        changed
            .iter()
            .all(|(_, st, tries)| *st == Status::Pending && *tries == 0),
        "{changed:?}"
    );
    assert!(after.iter().any(|(_, st, _)| *st == Status::Processing));
    assert_eq!(
        after
            .iter()
            .filter(|(_, st, _)| *st == Status::Dead)
            .count(),
        2
    );

    // Rows being handled and quarantined rows are refused, naming why.
    for (status, why) in [
        ("processing", "being handled now"),
        ("quarantined", "inbox reparse"),
    ] {
        let out = run(&["--status", status]);
        assert_eq!(out.status.code(), Some(2), "{status}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(why),
            "{status}"
        );
    }
    // A filter without a status is refused rather than replaying everything.
    let out = run(&["--vendor", "prets"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("needs a status"));
    let out = run(&["--status", "dead", "--until", "last tuesday"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("expected RFC 3339"));
    assert_eq!(
        statuses(&store)
            .iter()
            .filter(|(_, st, _)| *st == Status::Dead)
            .count(),
        2
    );
}

const SW_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// A Standard Webhooks inbox whose deliveries arrived two hours ago (their
/// signatures long stale): the samples, each with its `webhook-id`.
fn standard_webhooks_inbox(db: &std::path::Path) -> Vec<Vec<u8>> {
    let store = SqliteStore::open(db).unwrap();
    let samples = common::root().join("vendors/standard_webhooks/samples");
    let mut bodies = Vec::new();
    for (n, (event, file)) in [
        ("contact.created", "full.json"),
        ("contact.created", "thin.json"),
        ("example.event", "spec.json"),
    ]
    .into_iter()
    .enumerate()
    {
        let body = std::fs::read(samples.join(event).join(file)).unwrap();
        let id = format!("msg_2KWPBgLlAfxdpx2AI54pPJ85f{n}");
        let mut d = common::new_delivery("standard_webhooks", &id, body.clone());
        d.event_type = event.into();
        d.received_at_ms -= 2 * 3600 * 1000;
        store.insert(&d).unwrap();
        bodies.push(body);
    }
    bodies
}

/// `serve` for Standard Webhooks on the inbox `db`; the child and its port.
fn serve_standard_webhooks(db: &Path) -> (std::process::Child, u16) {
    let mut serve = hookforge();
    serve
        .args([
            "serve",
            "--vendor",
            "standard_webhooks",
            "--addr",
            "127.0.0.1:0",
        ])
        .arg(format!("--secret=standard_webhooks={SW_SECRET}"))
        .arg("--db")
        .arg(db)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null());
    common::spawn_listening(serve)
}

/// `inbox forward` of the Standard Webhooks deliveries in `source` to
/// `url`, signed with `secret`, with `more` arguments.
fn forward(source: &Path, url: &str, secret: &str, more: &[&str]) -> std::process::Output {
    hookforge()
        .args(["inbox", "--db"])
        .arg(source)
        .args(["forward", "--vendor", "standard_webhooks", "--to", url])
        .arg(format!("--secret={secret}"))
        .args(more)
        .output()
        .unwrap()
}

/// What the receiver stored are the bytes sent, not a re-encoding.
fn assert_received_as_sent(stored: &SqliteStore, bodies: &[Vec<u8>]) {
    let mut received: Vec<Vec<u8>> = stored
        .list(None, 100)
        .unwrap()
        .into_iter()
        .map(|d| d.body)
        .collect();
    received.sort();
    let mut sent = bodies.to_vec();
    sent.sort();
    assert_eq!(received, sent, "the bytes as stored, not a re-encoding");
}

/// Signed with a secret the receiver does not have: refused (401), and
/// the forward fails.
fn assert_a_wrong_secret_fails(source: &Path, url: &str) {
    let wrong = "whsec_c2VjcmV0LW9mLWFub3RoZXItcmVjZWl2ZXIK";
    let out = forward(source, url, wrong, &["--event-type", "example.event"]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("401")
            && text.contains("0 answered as Standard Webhooks counts success, 1 not"),
        "{text}"
    );
}

/// `--redact` sends copies with personal data replaced: stored as new
/// deliveries beside the originals (`bodies`).
fn assert_redacted_copies_arrive(
    source: &Path,
    url: &str,
    stored: &SqliteStore,
    bodies: &[Vec<u8>],
) {
    let redact = ["--redact", "--event-type", "contact.created"];
    let out = forward(source, url, SW_SECRET, &redact);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let rows = stored.list(None, 100).unwrap();
    assert_eq!(
        rows.len(),
        5,
        "two redacted copies stored as new deliveries"
    );
    let copies: Vec<String> = rows
        .iter()
        .filter(|d| !bodies.contains(&d.body))
        .map(|d| String::from_utf8_lossy(&d.body).into_owned())
        .collect();
    assert_eq!(copies.len(), 2);
    assert!(
        copies
            .iter()
            .all(|c| !c.contains("John Smith") && c.contains("contact.created")),
        "{copies:?}"
    );
}

/// `check --from-inbox` replays the deliveries in `source` as cases (and
/// a status filter without it is a usage error).
fn assert_check_replays_the_inbox(source: &Path, url: &str) {
    let out = hookforge()
        .args(["check", "--vendor", "standard_webhooks", "--url", url])
        .arg(format!("--secret={SW_SECRET}"))
        .arg("--from-inbox")
        .arg(source)
        .args(["--filter", "standard_webhooks/inbox/*"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert_eq!(
        text.matches("PASS  standard_webhooks/inbox/").count(),
        3,
        "{text}"
    );
    let out = hookforge()
        .args([
            "check",
            "--vendor",
            "standard_webhooks",
            "--url",
            url,
            "--status",
            "dead",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("need --from-inbox"));
}

/// `inbox forward` sends stored bytes to another receiver signed afresh
/// (the stored deliveries are two hours old; Standard Webhooks allows five
/// minutes), judged by the vendor's success rule; a wrong secret fails it;
/// `--redact` sends copies with personal data replaced; `check
/// --from-inbox` replays the same deliveries as cases.
#[test]
fn forward_sends_stored_bytes_signed_afresh_and_check_replays_them() {
    let dir = common::temp_dir("forward");
    let (source, target) = (dir.join("source.db"), dir.join("target.db"));
    let bodies = standard_webhooks_inbox(&source);
    let (mut child, port) = serve_standard_webhooks(&target);
    let url = format!("http://127.0.0.1:{port}/hooks/standard_webhooks");

    let text = success_text(&forward(&source, &url, SW_SECRET, &[]));
    assert!(
        text.contains("3 answered as Standard Webhooks counts success, 0 not"),
        "{text}"
    );
    let stored = SqliteStore::open(&target).unwrap();
    assert_received_as_sent(&stored, &bodies);
    assert_a_wrong_secret_fails(&source, &url);
    assert_redacted_copies_arrive(&source, &url, &stored, &bodies);
    assert_check_replays_the_inbox(&source, &url);
    child.kill().unwrap();
    child.wait().unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `inbox forward` sends a vendor's event times as they were stored:
/// Socotra's `timestamp` (a `fresh_times` field simulated events get anew)
/// is not set to the sending time. Before, it was (helper-56's review:
/// HubSpot's `occurredAt`), so a receiver deduping by the body took every
/// forward for a new delivery.
#[test]
fn forward_keeps_the_event_times_it_stored() {
    let dir = common::temp_dir("forward-times");
    let body =
        std::fs::read(common::root().join("samples/socotra/cancellation.create/synthesized.json"))
            .unwrap();
    let target = forward_one(&dir, "socotra", "cancellation.create", body.clone());
    assert_received_as_sent(&target, &[body]);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Stores `body` as a delivery of `vendor`'s `event_type` in `dir/source.db`,
/// forwards it with `inbox forward` to `serve` storing into
/// `dir/target.db`, and returns that target inbox once the server is gone.
fn forward_one(dir: &Path, vendor: &str, event_type: &str, body: Vec<u8>) -> SqliteStore {
    let (source, target) = (dir.join("source.db"), dir.join("target.db"));
    let mut d = common::new_delivery(vendor, "04d9d9d0-9c5e-4ae3-ad37-e0148de8f80c", body);
    d.event_type = event_type.into();
    SqliteStore::open(&source).unwrap().insert(&d).unwrap();
    let secret = format!("{vendor}-forward-secret-0123456789");
    let mut serve = hookforge();
    serve
        .args(["serve", "--vendor", vendor, "--addr", "127.0.0.1:0"])
        .arg(format!("--secret={vendor}={secret}"))
        .arg("--db")
        .arg(&target)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null());
    let (mut child, port) = common::spawn_listening(serve);
    let out = hookforge()
        .args(["inbox", "--db"])
        .arg(&source)
        .args(["forward", "--vendor", vendor, "--to"])
        .arg(format!("http://127.0.0.1:{port}/hooks/{vendor}"))
        .arg(format!("--secret={secret}"))
        .output()
        .unwrap();
    success_text(&out);
    child.kill().unwrap();
    child.wait().unwrap();
    SqliteStore::open(&target).unwrap()
}

/// A time of sending in the body (Linear's `webhookTimestamp`, a
/// `sent_times` field) is set anew on a forward, as Linear sets it on
/// every send: Linear's SDK refuses one over a minute old, so every
/// forwarded Linear delivery failed there. Every other byte stays.
#[test]
fn forward_sets_the_time_of_sending_anew() {
    let dir = common::temp_dir("forward-sent-times");
    let body = std::fs::read(
        common::root().join("vendors/linear/samples/Issue.update/linear-reminder.json"),
    )
    .unwrap();
    let stored: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let target = forward_one(&dir, "linear", "Issue.update", body);
    let rows = target.list(None, 10).unwrap();
    assert_eq!(rows.len(), 1);
    let mut got: serde_json::Value = serde_json::from_slice(&rows[0].body).unwrap();
    let sent_at = got["webhookTimestamp"].as_i64().unwrap();
    assert!(sent_at >= before, "{sent_at} < {before}: kept as stored");
    assert_ne!(stored["webhookTimestamp"], got["webhookTimestamp"]);
    got["webhookTimestamp"] = stored["webhookTimestamp"].clone();
    assert_eq!(got, stored, "only the time of sending changes");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Event types and ids are the sender's text: `inbox list` shows their
/// control characters escaped, so a newline, carriage return or terminal
/// escape in one cannot forge a row or repaint the terminal.
#[test]
fn inbox_list_escapes_what_the_sender_wrote() {
    let db = common::temp_dir("inbox-escapes").join("inbox.db");
    let store = SqliteStore::open(&db).unwrap();
    let (_, body) = common::prets_delivery("evt_01KVESC", 1);
    let forged = "     9  done       prets         quote.created";
    let mut d = common::new_delivery("prets", &format!("evt_1\r{forged}"), body);
    d.event_type = format!("quote.updated\n{forged}\x1b[2J");
    store.insert(&d).unwrap();
    let out = hookforge()
        .args(["inbox", "--db"])
        .arg(&db)
        .arg("list")
        .output()
        .unwrap();
    let text = success_text(&out);
    assert_eq!(text.lines().count(), 2, "a header and one row: {text}");
    assert!(!text.contains(['\r', '\x1b']), "{text:?}");
    assert!(
        text.contains(r"quote.updated\n ") && text.contains(r"evt_1\r "),
        "{text}"
    );
}

/// `inbox replay ID` of a quarantined delivery is refused, naming `inbox
/// reparse`: queued, its handler failed on the same misfit until dead and
/// held its entity's later deliveries (helper-48's review). Before: exit 0,
/// "queued".
#[test]
fn replaying_one_quarantined_delivery_is_refused() {
    let dir = common::temp_dir("replay-quarantined");
    let db = dir.join("inbox.db");
    let store = SqliteStore::open(&db).unwrap();
    let (id, body) = common::prets_delivery("evt_01KVRQ", 1);
    let mut d = common::new_delivery("prets", &id, body);
    d.misfit = Some("at `data.quoteId`: 12345 is not of type \"string\"".into());
    store.insert(&d).unwrap();
    let out = hookforge()
        .args(["inbox", "--db"])
        .arg(&db)
        .args(["replay", "1"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("delivery 1 is quarantined") && err.contains("inbox reparse --id 1"),
        "{err}"
    );
    assert_eq!(store.get(1).unwrap().unwrap().status, Status::Quarantined);
    std::fs::remove_dir_all(&dir).unwrap();
}

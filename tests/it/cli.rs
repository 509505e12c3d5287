//! The `hookforge` binary: output shape and exit codes.

use crate::common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

fn hookforge(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = common::hookforge_command()
        .args(args)
        .current_dir(common::root())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut pipe = child.stdin.take().unwrap();
    // The program may exit (usage error) before reading its input.
    let _ = pipe.write_all(stdin.unwrap_or_default());
    drop(pipe);
    child.wait_with_output().unwrap()
}

/// The JSON `o` printed, which must be a success.
fn json_of(o: Output) -> Value {
    assert!(o.status.success(), "{}", stderr(&o));
    serde_json::from_slice(&o.stdout).unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Asserts `o` is a usage error (exit 2) whose message says `text`;
/// `context` names the case in a failure.
fn exits_2_saying(o: &Output, text: &str, context: &str) {
    assert_eq!(o.status.code(), Some(2), "{context}: {}", stderr(o));
    assert!(stderr(o).contains(text), "{context}: {}", stderr(o));
}

#[test]
fn vendors_and_events_list_every_vendor() {
    let v = json_of(hookforge(&["vendors", "--json"], None));
    let ids: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["id"].as_str().unwrap())
        .collect();
    assert!(
        ids.contains(&"prets") && ids.contains(&"superoffice"),
        "{ids:?}"
    );
    // Slack's handshake is listed with it.
    let slack = v
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["id"] == "slack")
        .unwrap();
    assert_eq!(slack["handshakes"], serde_json::json!(["url_verification"]));
    assert_eq!(slack["body"], "application/json");

    let o = hookforge(&["events", "--vendor", "prets"], None);
    assert!(o.status.success());
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(text.contains("quote.financing.offer_received"), "{text}");
    // Where the type and id are: a receiver reporting ids to `check
    // --observe` composes Adyen's as the manifest does (helper-68).
    assert!(
        text.starts_with("event type: body `/type`\nevent id:   body `/eventId`\n"),
        "{text}"
    );
    let o = hookforge(&["events", "--vendor", "adyen"], None);
    let text = String::from_utf8(o.stdout).unwrap();
    let item = "/notificationItems/0/NotificationRequestItem";
    let composed = format!(
        "event id:   body `{item}/pspReference` and `{item}/eventCode`, `{item}/success`, joined with `:`"
    );
    assert!(text.contains(&composed), "{text}");
    let adyen = v
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["id"] == "adyen")
        .unwrap();
    assert_eq!(
        adyen["event_id"]["with"].as_array().map(Vec::len),
        Some(2),
        "{adyen}"
    );
    let o = hookforge(&["events", "--vendor", "superoffice", "--json"], None);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 50);
}

#[test]
fn parse_prints_the_typed_value() {
    let v = json_of(hookforge(
        &[
            "parse",
            "--vendor",
            "prets",
            "samples/prets/quote.created/doc-1.json",
        ],
        None,
    ));
    assert_eq!(v["vendor"], "prets");
    assert_eq!(v["event"], "quote.created");
    assert_eq!(v["known"], true);
    let input: Value = serde_json::from_slice(
        &std::fs::read(common::root().join("samples/prets/quote.created/doc-1.json")).unwrap(),
    )
    .unwrap();
    assert!(common::json_diff(&input, &v["payload"]).is_empty());
}

#[test]
fn parse_keeps_unknown_fields_and_reports_unknown_events() {
    let body =
        std::fs::read(common::root().join("tests/fixtures/prets/unknown-field.json")).unwrap();
    let v = json_of(hookforge(&["parse", "--vendor", "prets", "-"], Some(&body)));
    assert_eq!(v["payload"]["livemode"], false);
    assert_eq!(v["payload"]["data"]["amount"]["currency"], "EUR");

    let v = json_of(hookforge(
        &[
            "parse",
            "--vendor",
            "superoffice",
            "tests/fixtures/superoffice/unknown-event.json",
        ],
        None,
    ));
    assert_eq!(
        (v["event"].as_str(), v["known"].as_bool()),
        (Some("invoice.paid"), Some(false))
    );
}

#[test]
fn parse_uses_headers() {
    let body = br#"{"Event":"quote.sent"}"#;
    let o = hookforge(
        &[
            "parse",
            "--vendor",
            "superoffice",
            "--header",
            "X-SuperOffice-Event: quote.approved",
        ],
        Some(body),
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("X-SuperOffice-Event"), "{}", stderr(&o));
}

#[test]
fn bad_input_exits_1_with_a_message_and_no_panic() {
    let deep = format!(
        "{{\"type\":\"quote.created\",\"d\":{}{}}}",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty", vec![], "empty body"),
        ("not utf-8", b"{\"type\":\"\xff\"}".to_vec(), "not valid UTF-8"),
        ("deep", deep.into_bytes(), "recursion limit"),
        ("array", b"[1,2]".to_vec(), "JSON array, expected a JSON object"),
        ("number for string", br#"{"type":"quote.created","version":"2026-06-01","organization":{},"data":{"quoteId":5}}"#.to_vec(), "at `data.quoteId`"),
        ("truncated", br#"{"type":"quote.crea"#.to_vec(), "EOF"),
        // Starts as `null` does; it was "a JSON null" (helper-68).
        ("not JSON", b"nope".to_vec(), "body is not valid JSON: expected ident"),
        ("null", b"null".to_vec(), "body is a JSON null, expected a JSON object"),
        ("a number, then more", b"1 2".to_vec(), "body is not valid JSON: trailing characters"),
    ];
    for (what, body, expect) in cases {
        let o = hookforge(&["parse", "--vendor", "prets"], Some(&body));
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{what}: {err}");
        assert!(err.contains(expect), "{what}: {err}");
        assert!(!err.contains("panicked"), "{what}: {err}");
        assert!(o.stdout.is_empty(), "{what}");
    }
}

/// `serve` for Prets on a free port, for flags to be added.
const SERVE: &[&str] = &[
    "serve",
    "--vendor",
    "prets",
    "--secret",
    "prets=whsec_CliCliCliCliCliCliCliCliCliCliCliCliCliCliCli12",
    "--addr",
    "127.0.0.1:0",
];

#[test]
fn usage_errors_exit_2() {
    for args in [
        &["parse", "--vendor", "nope"][..],
        &["parse"],
        &["frobnicate"],
        &["parse", "--vendor", "prets", "--header", "no-colon-here"],
        &["parse", "--vendor", "prets", "does/not/exist.json"],
        // `serve` options it cannot start with (helper-40's review: 1 before).
        &[SERVE, &["--db", "/nonexistent/dir/inbox.db"]].concat()[..],
        &[SERVE, &["--body-limit", "0"]].concat()[..],
        // Nothing to simulate: it printed "0 deliveries: ; verdicts: ".
        &[
            "simulate",
            "--vendor",
            "prets",
            "--url",
            "http://127.0.0.1:9/x",
            "--events",
            "0",
        ],
    ] {
        let o = hookforge(args, Some(b"{}"));
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(!stderr(&o).is_empty(), "{args:?}");
    }
}

/// Without the receiver's secret, `simulate`, `load` and `inbox forward`
/// stop with a usage error, as `check` does: every unsigned delivery would
/// be refused for want of it, not for anything the receiver did. Before,
/// `simulate` retried 401s for Prets' whole backoff and `load` reported
/// them as the receiver's failures (helper-48's review).
#[test]
fn sending_commands_need_the_secret_of_a_vendor_that_signs() {
    let dir = common::temp_dir("no-secret");
    let db = dir.join("inbox.db");
    drop(hookforge::receive::store::SqliteStore::open(&db).unwrap());
    let url = "http://127.0.0.1:9/hooks/prets";
    let inbox = db.to_str().unwrap();
    for args in [
        &[
            "simulate", "--vendor", "prets", "--url", url, "--events", "1",
        ][..],
        &common::load_prets_args(url, "1", "1")[..],
        &[
            "inbox", "--db", inbox, "forward", "--vendor", "prets", "--url", url,
        ],
        &["check", "--vendor", "prets", "--url", url],
    ] {
        let o = hookforge(args, None);
        exits_2_saying(
            &o,
            "prets authenticates its deliveries: give the receiver's secret",
            &format!("{args:?}"),
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `parse` over many files or a directory: one line per file, a total, and
/// exit 1 when any fails (captured production payloads checked in bulk).
#[test]
fn parse_checks_a_directory_of_payloads_in_bulk() {
    let run = |args: &[&str]| {
        common::hookforge_command()
            .args(args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .unwrap()
    };
    let out = run(&["parse", "--vendor", "prets", "samples/prets"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.ends_with("prets: 16 files: 16 ok, 0 unknown event types, 0 failed\n"),
        "{text}"
    );
    let dir = std::env::temp_dir().join(format!("hookforge-parse-many-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("nested")).unwrap();
    let good = std::fs::read("samples/prets/quote.updated/doc-1.json").unwrap();
    std::fs::write(dir.join("a-good.json"), &good).unwrap();
    let mut doc: serde_json::Value = serde_json::from_slice(&good).unwrap();
    doc["data"]["quoteId"] = 5.into();
    std::fs::write(dir.join("b-bad.json"), doc.to_string()).unwrap();
    doc["type"] = "quote.teleported".into();
    std::fs::write(dir.join("nested/c-new-type.json"), doc.to_string()).unwrap();
    let out = run(&["parse", "--vendor", "prets", dir.to_str().unwrap()]);
    common::assert_lines(
        &out,
        1,
        &[
            "ok *quote.updated",
            "FAIL *b-bad.json: `quote.updated` payload: at `data.quoteId`*",
            "unknown *quote.teleported*",
            "prets: 3 files: 1 ok, 1 unknown event types, 1 failed",
        ],
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A directory walk that meets a symlink loop, a FIFO named `*.json` and a
/// file larger than any body ends, reads each sample once, and says what it
/// did not read. Before: the loop recursed until the path was too long, the
/// FIFO waited forever for a writer, and a large file was read whole.
#[cfg(unix)]
#[test]
fn parse_walks_a_directory_with_a_loop_a_fifo_and_a_huge_file() {
    let dir = common::temp_dir("parse-odd-dir");
    let good =
        std::fs::read(common::root().join("samples/prets/quote.updated/doc-1.json")).unwrap();
    std::fs::write(dir.join("a-good.json"), &good).unwrap();
    std::os::unix::fs::symlink(&dir, dir.join("loop")).unwrap();
    let fifo = dir.join("b-fifo.json");
    mkfifo(&fifo);
    // Sparse: its size without its disk space.
    let big = std::fs::File::create(dir.join("c-big.json")).unwrap();
    big.set_len(64 * 1024 * 1024 + 1).unwrap();
    let mut child = common::hookforge_command()
        .args(["parse", "--vendor", "prets", dir.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("parse did not finish within 30 s");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    common::assert_lines(
        &out,
        1,
        &[
            "ok *a-good.json*",
            "*b-fifo.json: the file is not a regular file*",
            "*c-big.json: the file holds more than 64 MiB*",
            "prets: 3 files: 1 ok, 0 unknown event types, 2 failed",
        ],
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// JSON that the parser cannot hold (a number beyond f64) is called JSON,
/// as `serve` treats it (kept, quarantined), not "not valid JSON".
#[test]
fn parse_calls_json_it_cannot_hold_json() {
    let o = hookforge(
        &["parse", "--vendor", "prets"],
        Some(br#"{"type":"quote.created","eventId":"evt_1","n":1e400}"#),
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains(
            "the body is JSON, but holds what hookforge's parser cannot (number out of range"
        ) && !stderr(&o).contains("not valid JSON"),
        "{}",
        stderr(&o)
    );
    let o = hookforge(&["parse", "--vendor", "prets"], Some(br#"{"type":"#));
    assert!(
        stderr(&o).contains("body is not valid JSON"),
        "{}",
        stderr(&o)
    );
}

/// `serve` with an inbox and no vendor it can serve exits 2 saying so, and
/// logs no error of its own: its worker's first store call, cancelled by
/// the exit, was logged as "ERROR cannot recover in-flight deliveries" in
/// about half the runs. Ten runs, so a race this common shows.
#[test]
fn serve_refusing_its_configuration_logs_no_spurious_error() {
    let dir = common::temp_dir("serve-nothing");
    let db = dir.join("inbox.db");
    for run in 0..10 {
        let args = [
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--db",
            db.to_str().unwrap(),
        ];
        let o = hookforge(&args, None);
        exits_2_saying(&o, "no vendor can be served", &format!("run {run}"));
        assert!(!stderr(&o).contains("ERROR"), "run {run}: {}", stderr(&o));
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A duration meant as "forever" is a usage error, not a wrap into "now"
/// (`--retain 18446744073709551615` purged at once).
#[test]
fn durations_too_large_are_usage_errors() {
    let o = hookforge(
        &[
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--vendor",
            "prets",
            "--secret",
            "prets=whsec_BenchBenchBenchBenchBenchBenchBenchBench123",
            "--retain",
            "18446744073709551615",
        ],
        None,
    );
    exits_2_saying(&o, "more than 1000 years", "");
}

/// `check`, and every one-vendor command, shows `--vendor` and
/// `--vendor-dir` as alternatives, with the shipped vendor dirs by name.
#[test]
fn usage_shows_vendor_or_vendor_dir() {
    let o = hookforge(&["check", "--url", "http://127.0.0.1:1/"], None);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("<--vendor <VENDOR>|--vendor-dir <DIR>>"),
        "{}",
        stderr(&o)
    );
    let help = hookforge(&["check", "--help"], None);
    let text = String::from_utf8_lossy(&help.stdout);
    assert!(
        text.contains("github") && text.contains("standard_webhooks"),
        "{text}"
    );
}

/// `inbox` on an empty file says so (exit 2) and leaves it empty: SQLite
/// would take it for an empty database and make it an inbox.
#[test]
fn an_empty_file_is_not_made_an_inbox() {
    let dir = common::temp_dir("empty-inbox");
    let db = dir.join("empty.db");
    std::fs::write(&db, b"").unwrap();
    let o = hookforge(&["inbox", "--db", db.to_str().unwrap(), "list"], None);
    exits_2_saying(&o, "is empty: not an inbox", "");
    assert_eq!(std::fs::metadata(&db).unwrap().len(), 0);

    // Nor another application's database: `inbox list` wrote the inbox's
    // tables into it (helper-58's review).
    let other = dir.join("app.db");
    let tables = || {
        let c = rusqlite::Connection::open(&other).unwrap();
        let mut q = c
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            .unwrap();
        q.query_map([], |r| r.get::<_, String>(0))
            .unwrap()
            .map(Result::unwrap)
            .collect::<Vec<_>>()
    };
    rusqlite::Connection::open(&other)
        .unwrap()
        .execute("CREATE TABLE app_users (x)", [])
        .unwrap();
    for args in [&["list"][..], &["replay", "--status", "dead"]] {
        let o = hookforge(
            &[&["inbox", "--db", other.to_str().unwrap()][..], args].concat(),
            None,
        );
        exits_2_saying(&o, "without an inbox's `deliveries` table", "");
    }
    assert_eq!(tables(), ["app_users"]);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// An inbox at `dir/inbox.db` holding Prets deliveries (event id, body).
fn prets_inbox(dir: &Path, deliveries: impl IntoIterator<Item = (String, Vec<u8>)>) -> PathBuf {
    use hookforge::receive::store::Store;
    let db = dir.join("inbox.db");
    let store = hookforge::receive::store::SqliteStore::open(&db).unwrap();
    for (id, body) in deliveries {
        store
            .insert(&common::new_delivery("prets", &id, body))
            .unwrap();
    }
    db
}

/// `hookforge inbox --db DB ARGS`'s output, which must be a success.
fn inbox(db: &Path, args: &[&str]) -> String {
    let o = hookforge(
        &[&["inbox", "--db", db.to_str().unwrap()][..], args].concat(),
        None,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// `inbox list` shows the newest deliveries first and says how many it
/// left out. Before, it showed ids 1–100 of 1,840 and said nothing: the
/// deliveries of the incident being looked into were not shown (helper-48).
#[test]
fn inbox_list_shows_the_newest_and_says_what_it_left_out() {
    let dir = common::temp_dir("inbox-list-newest");
    let db = prets_inbox(
        &dir,
        (0..5).map(|i| common::prets_delivery("evt_01KVLIST", i)),
    );
    let text = inbox(&db, &["list", "--limit", "2"]);
    let ids: Vec<&str> = text
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(ids[..2], ["5", "4"], "{text}");
    assert!(
        text.ends_with("2 of 5 shown, newest first (--limit N for more, --status to narrow)\n"),
        "{text}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `parse` of a directory without samples parsed nothing: exit 2, not
/// "0 files" and exit 0 (helper-58's review).
#[test]
fn parsing_no_files_is_a_usage_error() {
    let dir = common::temp_dir("parse-empty-dir");
    std::fs::write(dir.join("provenance.json"), b"{}").unwrap();
    let o = hookforge(&["parse", "--vendor", "prets", dir.to_str().unwrap()], None);
    exits_2_saying(&o, "no *.json files in", "");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `inbox show` prints the body as it arrived: a key given twice twice, a
/// number as written, keys in their order. It printed a re-parsed `Value`,
/// which hid why a delivery was quarantined (helper-58's review).
#[test]
fn inbox_show_prints_the_body_as_received() {
    let dir = common::temp_dir("inbox-show-bytes");
    let body = br#"{"z":1,"data":{"externalId":"first","externalId":"second"},"amount":12345678901234567890123,"price":0.30000000000000004441}"#;
    let db = prets_inbox(&dir, [("evt_show".to_string(), body.to_vec())]);
    let text = inbox(&db, &["show", "1"]);
    for shown in [
        r#""externalId": "first","#,
        r#""externalId": "second""#,
        "12345678901234567890123",
        "0.30000000000000004441",
    ] {
        assert!(text.contains(shown), "{shown} in {text}");
    }
    assert!(text.find(r#""z": 1"#) < text.find(r#""data""#), "{text}");
    assert!(text.contains(r#""event_id": "evt_show""#), "{text}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Events whose names differ only where an operationId cannot (`a.b`,
/// `a/b`) get distinct operationIds, as OpenAPI requires (helper-48's
/// review: both were `prets_quote_a_b`).
#[test]
fn openapi_operation_ids_are_unique() {
    let dir = common::temp_dir("export-ids");
    common::copy_dir(&common::root().join("schemas/prets"), &dir);
    for (file, event) in [("quote.a.b", "quote.a.b"), ("quote.a_b", "quote.a/b")] {
        let schema = serde_json::json!({
            "title": event, "type": "object", "properties": {"type": {"const": event}}
        });
        std::fs::write(dir.join(format!("events/{file}.json")), schema.to_string()).unwrap();
    }
    let o = hookforge(
        &["export", "openapi", "--vendor-dir", dir.to_str().unwrap()],
        None,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    let ids: Vec<&str> = doc["webhooks"]
        .as_object()
        .unwrap()
        .values()
        .map(|w| w["post"]["operationId"].as_str().unwrap())
        .collect();
    let unique: std::collections::HashSet<_> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "{ids:?}");
    assert!(
        ids.contains(&"prets_quote_a_b") && ids.contains(&"prets_quote_a_b_2"),
        "{ids:?}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `sign` for a vendor whose event type is partly in a header: without
/// `--event` a usage error (exit 2; it was 1), and a `--event` the delivery
/// would not be read as is named (helper-48's review: `--event
/// nonsense.event` silently sent `X-GitHub-Event: nonsense`, read as
/// `nonsense.opened`).
#[test]
fn sign_says_when_the_event_asked_for_is_not_what_is_read() {
    let dir = common::root().join("tests/fixtures/github/samples/issues.opened");
    let sample = common::first_file(&dir);
    let body = std::fs::read(sample).unwrap();
    let sign = |extra: &[&str]| {
        let args = [
            &["sign", "--vendor", "github", "--secret", "s3cret"][..],
            extra,
        ]
        .concat();
        hookforge(&args, Some(&body))
    };
    assert_eq!(sign(&[]).status.code(), Some(2), "{}", stderr(&sign(&[])));
    let asked = sign(&["--event", "issues.opened"]);
    assert!(
        asked.status.success() && stderr(&asked).is_empty(),
        "{}",
        stderr(&asked)
    );
    let other = sign(&["--event", "issues.closed"]);
    assert!(other.status.success());
    assert!(
        stderr(&other)
            .contains("a receiver reads this delivery as `issues.opened`, not `issues.closed`"),
        "{}",
        stderr(&other)
    );
}

/// A pipe named on the command line (`<(…)`) is read, as any input is;
/// only a directory walk skips what is not a regular file. `infer` walks
/// its samples the same way: a FIFO there is an error naming it, not a
/// hang (helper-49's review).
#[cfg(unix)]
#[test]
fn named_pipes_are_read_when_named_and_skipped_when_walked() {
    let dir = common::temp_dir("pipes");
    let good =
        std::fs::read(common::root().join("samples/prets/quote.updated/doc-1.json")).unwrap();
    let fifo = dir.join("piped.json");
    mkfifo(&fifo);
    let writer = {
        let (fifo, good) = (fifo.clone(), good.clone());
        std::thread::spawn(move || std::fs::write(fifo, good).unwrap())
    };
    let plain = dir.join("plain.json");
    std::fs::write(&plain, &good).unwrap();
    let o = hookforge(
        &[
            "parse",
            "--vendor",
            "prets",
            fifo.to_str().unwrap(),
            plain.to_str().unwrap(),
        ],
        None,
    );
    writer.join().unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success() && text.contains("2 files: 2 ok"),
        "{text}{}",
        stderr(&o)
    );
    // Named to `infer`, a pipe is read too.
    let writer = {
        let (fifo, good) = (fifo.clone(), good.clone());
        std::thread::spawn(move || std::fs::write(fifo, good).unwrap())
    };
    let o = hookforge(
        &["infer", "--title", "quote.updated", fifo.to_str().unwrap()],
        None,
    );
    writer.join().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    // In a samples directory `infer` walks: refused by name, at once.
    let samples = dir.join("samples/quote.updated");
    std::fs::create_dir_all(&samples).unwrap();
    std::fs::write(samples.join("a.json"), &good).unwrap();
    mkfifo(&samples.join("b.json"));
    let out = dir.join("out");
    let o = hookforge(
        &[
            "infer",
            "--vendor-dir",
            out.to_str().unwrap(),
            dir.join("samples").to_str().unwrap(),
        ],
        None,
    );
    exits_2_saying(&o, "b.json is not a regular file", "");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `sign --timestamp` past year 9999 is a usage error: it overflowed into
/// a panic (HubSpot's milliseconds, Pub/Sub's JWT expiry) or printed an
/// empty PayPal time with exit 0 (helper-64's review). The largest allowed
/// signs.
#[test]
fn sign_refuses_a_timestamp_no_format_can_hold() {
    let body = br#"{"id":"evt_1","type":"charge.succeeded","object":"event"}"#;
    let sign = |t: &str| {
        hookforge(
            &[
                "sign",
                "--vendor",
                "stripe",
                "--secret",
                "whsec_sign_timestamp_01",
                "--timestamp",
                t,
            ],
            Some(body),
        )
    };
    for t in ["18446744073709551615", "253402300800"] {
        let o = sign(t);
        exits_2_saying(&o, "--timestamp", t);
    }
    let o = sign("253402300799");
    assert!(o.status.success(), "{}", stderr(&o));
}

/// `sign` takes its secret as `check` does: `--secret`, `--secret-file` or
/// `HOOKFORGE_SECRET_<VENDOR>`, each giving the same signature; with none
/// it says all three. It took `--secret` only (helper-68).
#[test]
fn sign_reads_the_secret_from_a_file_or_the_environment() {
    let dir = common::temp_dir("sign-secret");
    let file = dir.join("secret");
    let secret = "whsec_sign_secret_sources_01";
    std::fs::write(&file, format!("{secret}\n")).unwrap();
    let body = br#"{"id":"evt_1","type":"charge.succeeded","object":"event"}"#;
    let sign = |extra: &[&str], env: Option<&str>| {
        let mut cmd = common::hookforge_command();
        cmd.args(["sign", "--vendor", "stripe", "--timestamp", "1700000000"])
            .args(extra)
            .env_remove("HOOKFORGE_SECRET_STRIPE");
        if let Some(value) = env {
            cmd.env("HOOKFORGE_SECRET_STRIPE", value);
        }
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .and_then(|mut child| {
                child.stdin.take().unwrap().write_all(body)?;
                child.wait_with_output()
            })
            .unwrap()
    };
    let given = sign(&["--secret", secret], None);
    assert!(given.status.success(), "{}", stderr(&given));
    let from_file = sign(&["--secret-file", file.to_str().unwrap()], None);
    let from_env = sign(&[], Some(secret));
    assert_eq!(from_file.stdout, given.stdout, "{}", stderr(&from_file));
    assert_eq!(from_env.stdout, given.stdout, "{}", stderr(&from_env));
    exits_2_saying(
        &sign(&[], None),
        "pass --secret, --secret-file or HOOKFORGE_SECRET_STRIPE",
        "no secret",
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `parse --vendor V DIR` on each catalogue vendor's own samples passes:
/// a sample of a vendor that sends its type in a header, with no `.headers`
/// file, gets the header from its directory as `check` sends it, and says
/// so. GitHub's 11 and Shopify's 4 were all FAIL (helper-68).
#[test]
fn parse_passes_every_catalogue_vendors_own_samples() {
    for entry in std::fs::read_dir(common::root().join("vendors")).unwrap() {
        let dir = entry.unwrap().path();
        let id = dir.file_name().unwrap().to_str().unwrap().to_string();
        let samples = dir.join("samples");
        let o = hookforge(&["parse", "--vendor", &id, samples.to_str().unwrap()], None);
        let text = String::from_utf8_lossy(&o.stdout);
        assert!(o.status.success(), "{id}: {text}{}", stderr(&o));
        if id == "github" {
            assert!(
                text.contains("push  (its type header from its directory"),
                "{text}"
            );
        }
    }
}

/// `hookforge vendors --json` lists each catalogue vendor's documented
/// families without a sample, each with why, and none of them names (or, with
/// `*`, matches) an event that has a sample: the list cannot go stale as
/// samples are added.
#[test]
fn vendors_lists_unsampled_families_and_none_of_them_has_a_sample() {
    let o = hookforge(&["vendors", "--json"], None);
    assert!(o.status.success(), "{}", stderr(&o));
    let list: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let mut listed = 0;
    for v in list.as_array().unwrap() {
        let id = v["id"].as_str().unwrap();
        let spec = ::hookforge::vendor(id).unwrap();
        for u in v["unsampled"].as_array().into_iter().flatten() {
            listed += 1;
            let family = u["family"].as_str().unwrap();
            assert!(
                !u["why"].as_str().unwrap().trim().is_empty(),
                "{id}: {family}"
            );
            for e in spec.events.iter().filter(|e| !e.samples.is_empty()) {
                assert!(
                    !::hookforge::conformance::cases::glob_match(family, e.name),
                    "{id}: `{family}` is listed as without a sample, but {} has one",
                    e.name
                );
            }
        }
    }
    assert!(listed > 0, "no vendor lists an unsampled family");
    // The table's column is the count, under its heading: each row's first
    // three numbers are events, samples and unsampled families.
    let table = hookforge(&["vendors"], None);
    let text = String::from_utf8_lossy(&table.stdout).into_owned();
    let heading: Vec<&str> = text.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(heading[2..5], ["EVENTS", "SAMPLES", "UNSAMPLED"], "{text}");
    for v in list.as_array().unwrap() {
        let id = v["id"].as_str().unwrap();
        let row: Vec<&str> = text
            .lines()
            .find(|l| l.split_whitespace().next() == Some(id))
            .unwrap()
            .split_whitespace()
            .collect();
        let numbers = row
            .windows(3)
            .find(|w| w.iter().all(|t| t.parse::<usize>().is_ok()))
            .unwrap_or_else(|| panic!("{id}: no counts in {row:?}"));
        let unsampled = v["unsampled"].as_array().map_or(0, Vec::len);
        assert_eq!(numbers[2], unsampled.to_string(), "{id}: {row:?}");
    }
    // `events --vendor` lists them after the events, each with why.
    let box_events = hookforge(&["events", "--vendor", "box"], None);
    let text = String::from_utf8_lossy(&box_events.stdout);
    let after = text.split("DOCUMENTED WITHOUT A SAMPLE").nth(1);
    assert!(
        after.is_some_and(|t| t.contains("\nCOMMENT.*") && t.contains("WEBHOOK.*")),
        "{text}"
    );
}

/// Makes a named pipe at `path`.
#[cfg(unix)]
fn mkfifo(path: &Path) {
    let made = Command::new("mkfifo").arg(path).status().unwrap();
    assert!(made.success(), "mkfifo {}", path.display());
}

//! The `hookforge` binary: output shape and exit codes.

mod common;

use std::io::Write;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

fn hookforge(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_hookforge"))
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

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn vendors_and_events_list_every_vendor() {
    let o = hookforge(&["vendors", "--json"], None);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
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

    let o = hookforge(&["events", "--vendor", "prets"], None);
    assert!(o.status.success());
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(text.contains("quote.financing.offer_received"), "{text}");
    let o = hookforge(&["events", "--vendor", "superoffice", "--json"], None);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 50);
}

#[test]
fn parse_prints_the_typed_value() {
    let o = hookforge(
        &[
            "parse",
            "--vendor",
            "prets",
            "samples/prets/quote.created/doc-1.json",
        ],
        None,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
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
    let o = hookforge(&["parse", "--vendor", "prets", "-"], Some(&body));
    assert!(o.status.success(), "{}", stderr(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["payload"]["livemode"], false);
    assert_eq!(v["payload"]["data"]["amount"]["currency"], "EUR");

    let o = hookforge(
        &[
            "parse",
            "--vendor",
            "superoffice",
            "tests/fixtures/superoffice/unknown-event.json",
        ],
        None,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
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

#[test]
fn usage_errors_exit_2() {
    for args in [
        &["parse", "--vendor", "nope"][..],
        &["parse"],
        &["frobnicate"],
        &["parse", "--vendor", "prets", "--header", "no-colon-here"],
        &["parse", "--vendor", "prets", "does/not/exist.json"],
    ] {
        let o = hookforge(args, Some(b"{}"));
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(!stderr(&o).is_empty(), "{args:?}");
    }
}

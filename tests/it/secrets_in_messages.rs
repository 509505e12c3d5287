//! No secret in any message, and no secret weak enough to guess: database
//! passwords in every connection-string form are kept out of errors; a
//! secret shorter than 16 bytes, or not in the format the vendor documents,
//! is refused by `serve` (exit 2, the secret not shown); so is a dashboard
//! token shorter than 16 bytes.

use crate::common;
use std::process::{Command, Output};

fn hookforge(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = common::hookforge_command();
    c.args(args).env_remove("HOOKFORGE_DATABASE_URL");
    for (k, v) in env {
        c.env(k, v);
    }
    // `serve` runs until stopped: only its refusals (which exit at once) are
    // tested here, under a timeout.
    let child = c
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let id = child.id();
    let killer = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_secs(20));
        let _ = Command::new("kill").arg(id.to_string()).status();
    });
    let out = child.wait_with_output().unwrap();
    drop(killer);
    out
}

#[test]
fn database_passwords_never_reach_a_message() {
    for url in [
        "host=127.0.0.1 port=1 user=app password=s3cretpw dbname=inbox",
        "postgres://app@127.0.0.1:1/inbox?password=s3cretpw",
        "postgres://app:s3cretpw@127.0.0.1:1/inbox",
    ] {
        let out = hookforge(&["inbox", "--database-url", url, "list"], &[]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_ne!(out.status.code(), Some(0), "{err}");
        assert!(err.contains("127.0.0.1:1/inbox"), "{url}: {err}");
        assert!(!err.contains("s3cretpw"), "{url}: {err}");
    }
}

#[test]
fn weak_or_misformatted_secrets_and_tokens_are_refused() {
    let refused = [
        // Prets documents `whsec_` + 43 characters.
        (
            vec!["--vendor", "prets", "--secret", "prets=x"],
            vec![],
            "does not have the format Prets documents",
        ),
        (
            vec!["--vendor", "superoffice", "--secret", "superoffice=hunter2"],
            vec![],
            "shorter than 16 bytes are refused",
        ),
        // A comma-separated list that leaves a one-letter entry.
        (
            vec!["--vendor", "cowbell"],
            vec![("HOOKFORGE_SECRET_COWBELL", "k,a-long-enough-shared-secret")],
            "shorter than 16 bytes are refused",
        ),
    ];
    for (args, env, says) in refused {
        let mut all = vec!["serve", "--addr", "127.0.0.1:0"];
        all.extend(&args);
        let out = hookforge(&all, &env);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
        assert!(!err.contains("hunter2"), "{err}");
    }
    let dir = std::env::temp_dir().join(format!("hookforge-weak-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("inbox.db");
    let db = db.to_str().unwrap();
    for token in [" ", "short-token"] {
        let out = hookforge(&["ui", "--db", db, "--ui-token", token], &[]);
        common::fails_saying(&out, 2, "at least 16 bytes");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A `--secret` clap refuses (a vendor id spelled `Stripe`, no `=`) is not
/// repeated in the usage error, whose default form quotes the whole value;
/// a vendor id in the wrong case is named in the right one.
#[test]
fn a_refused_secret_argument_is_not_repeated() {
    let secret = "whsec_q8Rk3v9ZLmT2xW7pYbN4sD1fGhJ6";
    for (arg, says) in [
        (
            format!("Stripe={secret}"),
            "vendor ids are lower case: stripe",
        ),
        (
            format!("nosuchvendor={secret}"),
            "unknown vendor \"nosuchvendor\"",
        ),
        (secret.to_string(), "expected VENDOR=SECRET"),
    ] {
        let out = hookforge(&["serve", "--addr", "127.0.0.1:0", "--secret", &arg], &[]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains(says), "{err}");
        assert!(!err.contains("q8Rk3v9Z"), "the secret is repeated: {err}");
    }
}

//! HTTPS targets: a receiver behind TLS with a certificate from a private CA
//! generated here. Given the CA (`ca_cert`, `--ca-cert`), the harness and
//! `load` reach it and every case passes; without it, no delivery goes
//! through and each case says why.

use crate::common;

use std::sync::Arc;

use hookforge::conformance::harness::Harness;
use hookforge::receive::inbox::Inbox;
use hookforge::receive::receiver::Receiver;
use hookforge::receive::store::MemoryStore;
use hookforge::vendors::prets;
use tokio_rustls::rustls;

const SECRET: &str = "whsec_HttpsHttpsHttpsHttpsHttpsHttpsHttpsHttps123";

/// A Prets receiver on `https://localhost:<port>`, and the PEM of the CA
/// that signed its certificate.
struct TlsReceiver {
    url: String,
    ca_pem: String,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for TlsReceiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn tls_receiver() -> TlsReceiver {
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "hookforge test CA");
    let ca = rcgen::CertifiedIssuer::self_signed(ca_params, rcgen::KeyPair::generate().unwrap())
        .unwrap();
    let leaf_key = rcgen::KeyPair::generate().unwrap();
    let leaf = rcgen::CertificateParams::new(vec!["localhost".to_string()])
        .unwrap()
        .signed_by(&leaf_key, &ca)
        .unwrap();
    let config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(
            vec![leaf.der().clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(leaf_key.serialize_der().into()),
        )
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let router = Receiver::builder(&prets::VENDOR)
        .secret(SECRET)
        .inbox(Inbox::new(Arc::new(MemoryStore::new())))
        .build()
        .unwrap()
        .router();
    // Bound once, here, and handed to the accept loop.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let task = tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (acceptor, router) = (acceptor.clone(), router.clone());
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return; // The client refused our certificate.
                };
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(
                        hyper_util::rt::TokioIo::new(tls),
                        hyper_util::service::TowerToHyperService::new(router),
                    )
                    .await;
            });
        }
    });
    TlsReceiver {
        url: format!("https://localhost:{port}/hooks/prets"),
        ca_pem: ca.pem(),
        task,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_targets_pass_with_their_ca_and_fail_without_it() {
    let r = tls_receiver().await;
    let report = common::within(
        120,
        "the run with the CA",
        Harness::new(&prets::VENDOR, r.url.clone())
            .secret(SECRET)
            .ca_cert(r.ca_pem.clone())
            .run(),
    )
    .await
    .unwrap();
    assert_eq!(report.failed, 0, "{}", report.table());
    assert!(report.passed > 20, "{}", report.table());

    // Without the CA the certificate is not trusted: nothing is delivered,
    // every case that sends names the certificate, and the budget case
    // fails too (a replay with no answer used up the vendor's wait).
    let report = common::within(
        120,
        "the run without the CA",
        Harness::new(&prets::VENDOR, r.url.clone())
            .secret(SECRET)
            .run(),
    )
    .await
    .unwrap();
    // All but retry/after-failure, skipped without --observe.
    assert_eq!(
        (report.failed, report.skipped),
        (report.cases.len() - 1, 1),
        "{}",
        report.table()
    );
    let sent = (report.cases.iter()).filter(|c| {
        !c.id.ends_with("/budget") && c.outcome != hookforge::conformance::report::Outcome::Skip
    });
    for c in sent {
        assert!(
            c.detail.contains("could not connect") && c.detail.contains("certificate"),
            "{}",
            c.detail
        );
    }

    // A file that is not a certificate is a configuration error.
    let err = Harness::new(&prets::VENDOR, r.url.clone())
        .secret(SECRET)
        .ca_cert("not a certificate")
        .run()
        .await
        .unwrap_err();
    assert!(err.is_usage(), "{err}");
    assert!(err.to_string().contains("no certificate"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_checks_and_loads_https_targets_with_ca_cert() {
    let r = tls_receiver().await;
    let dir = std::env::temp_dir().join(format!("hookforge-https-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ca = dir.join("ca.pem");
    std::fs::write(&ca, &r.ca_pem).unwrap();
    let url = r.url.clone();
    let (check, load) = tokio::task::spawn_blocking(move || {
        let run = |args: &[&str]| {
            common::hookforge_command()
                .args(args)
                .arg("--ca-cert")
                .arg(&ca)
                .output()
                .unwrap()
        };
        (
            run(&[
                "check", "--vendor", "prets", "--url", &url, "--secret", SECRET,
            ]),
            run(&common::load_args(["--vendor", "prets"], &url, SECRET)),
        )
    })
    .await
    .unwrap();
    assert_eq!(
        check.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );
    assert_eq!(
        load.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&load.stderr)
    );
    let l: serde_json::Value = serde_json::from_slice(&load.stdout).unwrap();
    assert_eq!(
        (l["sent"].as_u64(), l["succeeded"].as_u64()),
        (Some(50), Some(50))
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

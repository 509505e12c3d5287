//! hookforge's compatibility kit on this crate's vendor: what a user's own
//! crate runs after every schema change (`cargo insta review` shows each
//! sample whose typed parse changed).

use acme_webhooks::acme;

#[test]
fn every_sample_validates_parses_and_round_trips() {
    hookforge::testing::assert_samples(&acme::VENDOR);
    assert_eq!(hookforge::testing::check_samples(&acme::VENDOR), Ok(2));
}

#[test]
fn one_snapshot_per_sample() {
    hookforge::snapshot_samples!(acme_webhooks::acme);
}

/// The kit names each broken sample and what is wrong with it (the vendor
/// loaded at run time from a copy with one sample broken).
#[test]
fn the_kit_names_each_broken_sample() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let tmp = std::env::temp_dir().join(format!("acme-kit-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    copy(&root.join("schemas/acme"), &tmp.join("schemas"));
    copy(&root.join("samples/acme"), &tmp.join("samples"));
    let broken = tmp.join("samples/invoice.paid/example.json");
    let text = std::fs::read_to_string(&broken).unwrap();
    std::fs::write(&broken, text.replace("\"inv_123\"", "123")).unwrap();
    let vendor =
        hookforge::vendor_dir::load_with_samples(&tmp.join("schemas"), &tmp.join("samples"))
            .unwrap();
    let failures = hookforge::testing::check_samples(vendor).unwrap_err();
    let path = broken.display().to_string();
    assert_eq!(
        failures,
        vec![
            format!(
                "{path}: does not validate at `/data/invoice_id`: 123 is not of type \"string\""
            ),
            format!(
                "{path}: does not parse: `invoice.paid` payload: at `data.invoice_id`: 123 is not of type \"string\""
            ),
        ]
    );
    std::fs::remove_dir_all(&tmp).unwrap();
}

fn copy(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            copy(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

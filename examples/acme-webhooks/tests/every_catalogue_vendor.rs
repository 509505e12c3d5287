//! Every catalogue vendor's generated models read every one of its samples
//! (run by `scripts/catalogue-models`, which generates them all).

#[cfg(every_catalogue_vendor)]
#[test]
fn every_catalogue_vendors_models_parse_its_samples() {
    let mut failed = Vec::new();
    let mut samples = 0;
    for v in acme_webhooks::catalogue::ALL {
        match hookforge::testing::check_samples(v) {
            Ok(n) => samples += n,
            Err(e) => failed.push(format!("{}: {e:?}", v.id)),
        }
    }
    assert!(failed.is_empty(), "{failed:#?}");
    assert_eq!(
        acme_webhooks::catalogue::ALL.len(),
        hookforge::vendor_dir::catalogue::ids().count()
    );
    eprintln!(
        "{} vendors, {samples} samples parsed with their generated models",
        acme_webhooks::catalogue::ALL.len()
    );
}

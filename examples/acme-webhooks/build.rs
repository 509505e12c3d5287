// Generates `$OUT_DIR/acme.rs` from `schemas/acme` on every build that
// changes them: the prost-build way, nothing checked in. Linear comes from
// hookforge's catalogue by name (`hookforge vendors` lists them): only the
// vendors named here are generated and compiled.
//
// With HOOKFORGE_EVERY_CATALOGUE_VENDOR=1 (scripts/catalogue-models) every
// catalogue vendor is generated too, into `$OUT_DIR/catalogue_models.rs`,
// so that CI compiles them all and parses every sample with their models.
fn main() {
    println!("cargo:rerun-if-env-changed=HOOKFORGE_EVERY_CATALOGUE_VENDOR");
    println!("cargo::rustc-check-cfg=cfg(every_catalogue_vendor)");
    let every = std::env::var_os("HOOKFORGE_EVERY_CATALOGUE_VENDOR").is_some();
    let mut b = hookforge_codegen::Builder::new()
        .vendor("schemas/acme")
        .catalogue_vendor("linear");
    let ids: Vec<&str> = hookforge_catalogue::ids()
        .filter(|id| *id != "linear")
        .collect();
    if every {
        for id in &ids {
            b = b.catalogue_vendor(*id);
        }
    }
    if let Err(e) = b.generate() {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
    if every {
        println!("cargo:rustc-cfg=every_catalogue_vendor");
        let mut mods = String::new();
        let mut list =
            String::from("pub static ALL: &[&::hookforge::VendorSpec] = &[&super::linear::VENDOR");
        for id in &ids {
            mods.push_str(&format!(
                "#[allow(clippy::all)]\npub mod r#{id} {{ include!(concat!(env!(\"OUT_DIR\"), \"/{id}.rs\")); }}\n"
            ));
            list.push_str(&format!(", &r#{id}::VENDOR"));
        }
        list.push_str("];\n");
        let out = std::path::PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR"));
        std::fs::write(out.join("catalogue_models.rs"), mods + &list).expect("OUT_DIR is writable");
    }
}

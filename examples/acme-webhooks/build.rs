// Generates `$OUT_DIR/acme.rs` from `schemas/acme` on every build that
// changes them: the prost-build way, nothing checked in. GitHub comes from
// hookforge's catalogue by name (`hookforge vendors` lists them): only the
// vendors named here are generated and compiled.
fn main() {
    if let Err(e) = hookforge_codegen::Builder::new()
        .vendor("schemas/acme")
        .catalogue_vendor("github")
        .generate()
    {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

// Generates `$OUT_DIR/acme.rs` from `schemas/acme` on every build that
// changes them: the prost-build way, nothing checked in.
fn main() {
    if let Err(e) = hookforge_codegen::Builder::new()
        .vendor("schemas/acme")
        .generate()
    {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

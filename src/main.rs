//! The `hookforge` command: see the `hookforge-cli` crate.

fn main() -> std::process::ExitCode {
    hookforge_cli::main()
}

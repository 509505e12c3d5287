//! `hookforge diff OLD NEW`: what changed between two vendor directories.

use super::*;

#[derive(clap::Args)]
pub struct Args {
    /// The old vendor directory (manifest.json, definitions.json, events/).
    pub old: PathBuf,
    /// The new one.
    pub new: PathBuf,
    /// Where the old vendor's samples are (default: OLD/samples).
    #[arg(long, value_name = "DIR")]
    pub old_samples: Option<PathBuf>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

pub fn run(a: Args) -> Outcome {
    // Named but missing, it would check no sample and say nothing breaks.
    if let Some(dir) = a.old_samples.as_deref().filter(|d| !d.is_dir()) {
        return Err(Failure::usage(format!(
            "--old-samples {}: no such directory",
            dir.display()
        )));
    }
    let d =
        hookforge::diff::diff(&a.old, &a.new, a.old_samples.as_deref()).map_err(Failure::usage)?;
    if a.json {
        print_json(&serde_json::to_value(&d).expect("a diff serializes"))?;
    } else {
        print_text(&d.table())?;
    }
    if d.breaking() {
        Err(Failure::Reported)
    } else {
        Ok(())
    }
}

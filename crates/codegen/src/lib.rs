//! hookforge's generator: vendor JSON Schemas → typed Rust models, an event
//! enum, a handler trait and dispatch, per vendor.
//!
//! Two thin front ends use it: `cargo xtask codegen` (the checked-in
//! `generated/` of the hookforge crate) and any crate's `build.rs` through
//! [`Builder`], prost-build style:
//!
//! ```no_run
//! // build.rs
//! hookforge_codegen::Builder::new()
//!     .vendor("schemas/acme")
//!     .generate()
//!     .unwrap();
//! ```
//! and in `src/lib.rs`:
//! ```ignore
//! pub mod acme { include!(concat!(env!("OUT_DIR"), "/acme.rs")); }
//! ```

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

mod deser;
pub mod digest;
mod emit;
mod lossless;
mod normalize;
pub mod schema {
    //! The vendor directory loader, shared with the runtime.
    pub use hookforge_manifest::vendor_dir::*;
}

pub use schema::VendorSchemas;

/// A generation error, naming the file it concerns when there is one.
#[derive(Debug)]
pub struct Error {
    pub file: Option<PathBuf>,
    pub message: String,
}

impl Error {
    pub fn new(message: impl Into<String>) -> Error {
        Error {
            file: None,
            message: message.into(),
        }
    }
    pub fn at(file: &Path, message: impl Into<String>) -> Error {
        Error {
            file: Some(file.to_path_buf()),
            message: message.into(),
        }
    }
}

impl From<schema::LoadError> for Error {
    fn from(e: schema::LoadError) -> Error {
        Error {
            file: Some(e.file),
            message: e.message,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.file {
            Some(p) => write!(f, "{}: {}", p.display(), self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for Error {}

/// What to generate one vendor from.
#[derive(Debug, Clone)]
pub struct VendorInput {
    /// The crate root: sample paths are emitted relative to it, through
    /// `CARGO_MANIFEST_DIR`, so output does not depend on where the checkout is.
    pub crate_root: PathBuf,
    /// `schemas/<vendor>`.
    pub schema_dir: PathBuf,
    /// `samples/<vendor>` (may be absent).
    pub sample_dir: PathBuf,
    /// The first line of the output: how to regenerate it.
    pub preamble: String,
    /// How the output reaches the crate root, for files it embeds, when it
    /// is checked in beside the crate (`generated/`: `Some("../")`): then it
    /// compiles from any crate that includes it. `None`: through
    /// `CARGO_MANIFEST_DIR` (output in a user's `OUT_DIR`).
    pub embed_prefix: Option<String>,
}

/// Generates one vendor's module source (formatted, deterministic).
pub fn generate_vendor(input: &VendorInput) -> Result<String, Error> {
    let vs = VendorSchemas::load(&input.schema_dir)?;
    let ti = normalize::typify_input(&vs)?;

    let mut settings = typify::TypeSpaceSettings::default();
    settings
        .with_struct_builder(false)
        .with_derive("PartialEq".to_string())
        .with_map_type("::std::collections::BTreeMap")
        .with_crate("hookforge", typify::CrateVers::Any, None);
    for e in &ti.open_enums {
        settings.with_replacement(
            &e.name,
            &e.name,
            [
                typify::TypeSpaceImpl::FromStr,
                typify::TypeSpaceImpl::Display,
            ]
            .into_iter(),
        );
    }
    let mut space = typify::TypeSpace::new(&settings);
    space
        .add_ref_types(ti.definitions.clone())
        .map_err(|e| Error::at(&input.schema_dir, format!("typify: {e}")))?;
    let mut models: syn::File = syn::parse2(space.to_stream())
        .map_err(|e| Error::new(format!("typify output does not parse: {e}")))?;
    lossless::make_lossless(&mut models);
    let with_builders = deser::own_deserializers(&mut models);
    let mut open_enums = proc_macro2::TokenStream::new();
    for e in &ti.open_enums {
        open_enums.extend(emit::open_enum(e)?);
    }

    let sample_files = if input.sample_dir.exists() {
        digest::list_files(&input.sample_dir)
            .map_err(|e| Error::at(&input.sample_dir, e.to_string()))?
    } else {
        Vec::new()
    };
    let sample_rel_root = relative(&input.crate_root, &input.sample_dir)?;
    let schema_rel_root = relative(&input.crate_root, &input.schema_dir)?;
    let mut events = Vec::new();
    for (ev, (_, type_name)) in vs.events.iter().zip(&ti.event_types) {
        let prefix = format!("{}/", ev.slug);
        let samples = sample_files
            .iter()
            .filter_map(|f| f.strip_prefix(&prefix).map(|rest| (f, rest)))
            .filter(|(_, rest)| rest.ends_with(".json") && !rest.contains('/'))
            .map(|(f, rest)| emit::Sample {
                name: rest.trim_end_matches(".json").to_string(),
                rel_path: format!("{sample_rel_root}/{f}"),
            })
            .collect();
        events.push(emit::EventOut {
            name: &ev.name,
            slug: &ev.slug,
            description: &ev.description,
            type_name,
            schema_path: format!("{schema_rel_root}/events/{}.json", ev.slug),
            samples,
        });
    }
    // Sample directories that match no event are a mistake worth stopping for.
    for f in &sample_files {
        let dir = f.split('/').next().unwrap_or_default();
        if f.ends_with(".json") && f.contains('/') && !vs.events.iter().any(|e| e.slug == dir) {
            return Err(Error::at(
                &input.sample_dir.join(f),
                format!("sample directory `{dir}` matches no event schema"),
            ));
        }
    }
    // One pass over the body needs a builder for every event's model.
    let one_pass = events.iter().all(|e| with_builders.contains(e.type_name));
    let embed = match &input.embed_prefix {
        Some(prefix) => emit::Embed::FromFile(prefix),
        None => emit::Embed::FromCrateRoot,
    };
    let vendor = emit::vendor_items(&vs, &schema_rel_root, &events, one_pass, embed);
    let model_items = &models.items;
    let tokens = quote::quote! {
        /// Typed payloads, generated by typify from the vendor's schemas and
        /// made lossless by hookforge (see `hookforge::Maybe`).
        #[allow(clippy::all, clippy::pedantic, dead_code, unused_imports, non_camel_case_types)]
        pub mod models {
            #(#model_items)*
            #open_enums
        }
        #vendor
    };
    let file: syn::File = syn::parse2(tokens)
        .map_err(|e| Error::new(format!("generated code does not parse: {e}")))?;
    let body = space_items(&prettyplease::unparse(&file));
    let digest = digest::inputs_digest(&input.schema_dir, &input.sample_dir)
        .map_err(|e| Error::at(&input.schema_dir, e.to_string()))?;
    Ok(format!(
        "{}\n{}{}\n\n{}",
        input.preamble.trim_end(),
        digest::DIGEST_PREFIX,
        digest,
        body
    ))
}

/// A blank line between consecutive items (prettyplease writes them back to
/// back): after a line that closes an item, before one that opens the next
/// at the same indentation.
fn space_items(code: &str) -> String {
    const OPENERS: &[&str] = &[
        "///",
        "#[",
        "pub ",
        "impl",
        "fn ",
        "const ",
        "static ",
        "struct ",
        "enum ",
        "mod ",
        "type ",
        "trait ",
        "async fn ",
        "unsafe impl",
    ];
    let mut out = String::with_capacity(code.len() + code.len() / 20);
    let mut prev: Option<&str> = None;
    for line in code.lines() {
        if let Some(p) = prev {
            let indent = |l: &str| l.len() - l.trim_start().len();
            let closes = matches!(p.trim(), "}" | "};" | ");")
                || (p.trim_end().ends_with(';')
                    && indent(p) == indent(line)
                    && !p.trim_start().starts_with("//"));
            let opens = OPENERS.iter().any(|o| line.trim_start().starts_with(o));
            if closes && opens && indent(p) == indent(line) && !p.trim_start().starts_with("#[") {
                out.push('\n');
            }
        }
        out.push_str(line);
        out.push('\n');
        prev = Some(line);
    }
    out
}

fn relative(root: &Path, p: &Path) -> Result<String, Error> {
    let rel = p.strip_prefix(root).map_err(|_| {
        Error::at(
            p,
            format!("must be inside the crate root {}", root.display()),
        )
    })?;
    Ok(rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/"))
}

/// The vendor directories under `schemas/` (those with a `manifest.json`), sorted.
pub fn vendor_dirs(schemas: &Path) -> Result<Vec<PathBuf>, Error> {
    let mut dirs: Vec<PathBuf> = fs::read_dir(schemas)
        .map_err(|e| Error::at(schemas, e.to_string()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("manifest.json").is_file())
        .collect();
    dirs.sort();
    Ok(dirs)
}

/// The preamble of the checked-in files.
pub const WORKSPACE_PREAMBLE: &str = "// @generated by hookforge-codegen: regenerate with `cargo xtask codegen`; never edit by hand.";

/// Every file `cargo xtask codegen` owns under `generated/`, with its content.
pub fn workspace_outputs(root: &Path) -> Result<Vec<(PathBuf, String)>, Error> {
    let mut out = Vec::new();
    let mut mods = String::new();
    let mut specs = String::new();
    for dir in vendor_dirs(&root.join("schemas"))? {
        let id = dir
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let src = generate_vendor(&VendorInput {
            crate_root: root.to_path_buf(),
            schema_dir: dir.clone(),
            sample_dir: root.join("samples").join(&id),
            preamble: WORKSPACE_PREAMBLE.to_string(),
            embed_prefix: Some("../".into()),
        })?;
        let vs_id = VendorSchemas::load(&dir)?.manifest.id;
        if vs_id != id {
            return Err(Error::at(
                &dir.join("manifest.json"),
                format!("`id` is {vs_id:?} but the directory is named {id:?}"),
            ));
        }
        mods.push_str(&format!("pub mod {id};\n"));
        specs.push_str(&format!("    &{id}::VENDOR,\n"));
        out.push((root.join("generated").join(format!("{id}.rs")), src));
    }
    let index = format!(
        "{WORKSPACE_PREAMBLE}\n\n{mods}\n/// Every vendor with checked-in schemas, sorted by id.\npub static ALL: &[&crate::VendorSpec] = &[\n{specs}];\n"
    );
    out.push((root.join("generated").join("mod.rs"), index));
    Ok(out)
}

/// The result of comparing `generated/` with what the schemas produce now.
#[derive(Debug, Default)]
pub struct Staleness {
    /// Files whose content differs or that are missing.
    pub stale: Vec<PathBuf>,
    /// Files in `generated/` that nothing generates any more.
    pub orphaned: Vec<PathBuf>,
}

impl Staleness {
    pub fn is_fresh(&self) -> bool {
        self.stale.is_empty() && self.orphaned.is_empty()
    }
}

/// Writes (or, with `check`, only compares) `generated/` under `root`.
pub fn workspace_codegen(root: &Path, check: bool) -> Result<Staleness, Error> {
    let outputs = workspace_outputs(root)?;
    let gen_dir = root.join("generated");
    let mut result = Staleness::default();
    for (path, content) in &outputs {
        let current = fs::read_to_string(path).ok();
        if current.as_deref() != Some(content.as_str()) {
            result.stale.push(path.clone());
            if !check {
                fs::create_dir_all(&gen_dir).map_err(|e| Error::at(&gen_dir, e.to_string()))?;
                fs::write(path, content).map_err(|e| Error::at(path, e.to_string()))?;
            }
        }
    }
    if gen_dir.exists() {
        for f in digest::list_files(&gen_dir).map_err(|e| Error::at(&gen_dir, e.to_string()))? {
            let p = gen_dir.join(&f);
            if !outputs.iter().any(|(o, _)| *o == p) {
                result.orphaned.push(p.clone());
                if !check {
                    fs::remove_file(&p).map_err(|e| Error::at(&p, e.to_string()))?;
                }
            }
        }
    }
    Ok(result)
}

/// Generates vendors from a crate's `build.rs` into `OUT_DIR/<id>.rs`.
#[derive(Debug, Default)]
pub struct Builder {
    vendors: Vec<PathBuf>,
    samples_root: Option<PathBuf>,
    out_dir: Option<PathBuf>,
}

impl Builder {
    pub fn new() -> Builder {
        Builder::default()
    }

    /// Adds a vendor schema directory (relative to the crate root).
    pub fn vendor(mut self, dir: impl Into<PathBuf>) -> Builder {
        self.vendors.push(dir.into());
        self
    }

    /// Where samples live (default `samples`); each vendor's are in `<root>/<id>`.
    pub fn samples_root(mut self, dir: impl Into<PathBuf>) -> Builder {
        self.samples_root = Some(dir.into());
        self
    }

    /// Overrides `OUT_DIR`.
    pub fn out_dir(mut self, dir: impl Into<PathBuf>) -> Builder {
        self.out_dir = Some(dir.into());
        self
    }

    /// Generates every vendor and tells cargo when to run again.
    pub fn generate(self) -> Result<Vec<PathBuf>, Error> {
        let crate_root = PathBuf::from(
            std::env::var_os("CARGO_MANIFEST_DIR")
                .ok_or_else(|| Error::new("CARGO_MANIFEST_DIR is not set: run from build.rs"))?,
        );
        let out_dir = match self.out_dir {
            Some(d) => d,
            None => PathBuf::from(
                std::env::var_os("OUT_DIR")
                    .ok_or_else(|| Error::new("OUT_DIR is not set: run from build.rs"))?,
            ),
        };
        let samples_root = crate_root.join(self.samples_root.unwrap_or_else(|| "samples".into()));
        let mut written = Vec::new();
        for v in self.vendors {
            let schema_dir = crate_root.join(&v);
            let vs = VendorSchemas::load(&schema_dir)?;
            let sample_dir = samples_root.join(&vs.manifest.id);
            println!("cargo:rerun-if-changed={}", schema_dir.display());
            println!("cargo:rerun-if-changed={}", sample_dir.display());
            let src = generate_vendor(&VendorInput {
                crate_root: crate_root.clone(),
                schema_dir,
                sample_dir,
                preamble: "// @generated by hookforge-codegen from build.rs on every build; never edit by hand.".into(),
                embed_prefix: None,
            })?;
            let path = out_dir.join(format!("{}.rs", vs.manifest.id));
            fs::write(&path, src).map_err(|e| Error::at(&path, e.to_string()))?;
            written.push(path);
        }
        Ok(written)
    }
}

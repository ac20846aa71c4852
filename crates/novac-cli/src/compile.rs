//! `novac compile`: check rule sources once and write a compiled bundle
//! (`.novc`) that `novac scan --rules`, `novac mcp --rules` and the library
//! ([`novac::Rules::deserialize`]) load without parsing or checking again.
//!
//! Bundles are also accepted wherever rule paths are: [`with_bundles`] splits
//! the paths into bundle files (recognised by their magic bytes, whatever
//! their name) and `.nov` sources, compiles the sources, and merges.

use anyhow::{Context, Result};
use clap::Args;
use novac::Rules;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Arguments of `novac compile`.
#[derive(Args, Debug)]
pub struct CompileArgs {
    /// Rule files or directories of `.nov` files (bundles are accepted too).
    #[arg(required = true, num_args = 1..)]
    rules: Vec<PathBuf>,
    /// Where to write the bundle (conventionally `rules.novc`).
    #[arg(short, long, value_name = "FILE")]
    output: PathBuf,
    #[command(flatten)]
    semantic: crate::semantic::SemanticArgs,
}

pub fn run(args: CompileArgs) -> Result<u8> {
    let rules = crate::scan::compile_with(&args.rules, &args.semantic)?;
    crate::semantic::warn_without_model(&rules, &args.semantic)?;
    let bytes = rules.serialize()?;
    // Write next to the target and rename, so a watcher never sees half a bundle.
    let mut tmp = args.output.clone().into_os_string();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, &bytes).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, &args.output)
        .with_context(|| format!("cannot write {}", args.output.display()))?;
    let stats = rules.stats();
    eprintln!(
        "compiled {} rule(s), {} keyword pattern(s){} into {} ({} bytes)",
        stats.rules,
        stats.patterns,
        if rules.pattern_embeddings().is_some() {
            ", with phrase embeddings"
        } else {
            ""
        },
        args.output.display(),
        bytes.len()
    );
    Ok(0)
}

/// Whether `path` is a file that starts with the bundle magic bytes.
fn is_bundle_file(path: &Path) -> bool {
    let mut head = [0u8; novac::bundle::MAGIC.len()];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok_and(|_| novac::bundle::is_bundle(&head))
}

/// When some of `paths` are bundles: loads them, compiles the other paths
/// (with `semantic`), and merges everything in path order of kind (sources
/// first). `None` when no path is a bundle.
pub fn with_bundles(
    paths: &[PathBuf],
    semantic: &crate::semantic::SemanticArgs,
) -> Result<Option<Rules>> {
    let (bundles, sources): (Vec<&PathBuf>, Vec<&PathBuf>) =
        paths.iter().partition(|p| is_bundle_file(p));
    if bundles.is_empty() {
        return Ok(None);
    }
    let sources: Vec<PathBuf> = sources.into_iter().cloned().collect();
    // Compiling no source still attaches the configured model, which the merge keeps.
    let mut parts = vec![crate::scan::compile_with(&sources, semantic)?];
    for path in bundles {
        let rules =
            Rules::load_bundle(path).with_context(|| format!("cannot load {}", path.display()))?;
        parts.push(rules);
    }
    let mut rules = Rules::merge(parts)?;
    if let Some(model) = rules.embedder().cloned() {
        // Keeps stored vectors of the same model, embeds the phrases otherwise.
        rules.set_embedder(model)?;
    }
    Ok(Some(rules))
}

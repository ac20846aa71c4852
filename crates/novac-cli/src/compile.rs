//! `novac compile`: check rule sources once and write a compiled bundle
//! (`.novc`) that `novac scan --rules`, `novac mcp --rules` and the library
//! ([`novac::Rules::deserialize`]) load without parsing or checking again.
//!
//! Bundles are also accepted wherever rule paths are: [`crate::load`] splits
//! the paths into bundle files (recognised by their magic bytes, whatever
//! their name) and `.nov` sources, compiles the sources, and merges.

use anyhow::{Context, Result};
use clap::Args;
use std::path::PathBuf;

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
    let rules = crate::load::compile_with(&args.rules, &args.semantic)?;
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

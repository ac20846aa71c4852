//! [`LoadError`]: why a model directory could not be loaded.

use std::path::PathBuf;

/// Why a model directory could not be loaded. Every variant names the file
/// and says what was expected; none is a panic.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// The directory or one of its files does not exist.
    #[error("{path}: not found; a model directory needs config.json, tokenizer.json and model.safetensors — {}", novac::semantic::MODEL_HELP)]
    Missing {
        /// The missing path.
        path: PathBuf,
    },
    /// A file could not be read.
    #[error("cannot read {path}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// `config.json` is not a BERT configuration this crate supports.
    #[error("{path}: {message}")]
    Config {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// `tokenizer.json` could not be loaded or lacks `[CLS]`/`[SEP]`.
    #[error("{path}: invalid tokenizer: {message}")]
    Tokenizer {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// `model.safetensors` is corrupt or its tensors do not fit `config.json`.
    #[error(
        "{path}: {message} (is this the all-MiniLM-L6-v2 directory, and is the file complete?)"
    )]
    Weights {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

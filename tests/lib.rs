//! Shared helpers for the conformance tests (data locations).
use std::path::PathBuf;

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(PathBuf::from)
        .unwrap_or_default()
}

/// `tests/data` in the workspace.
pub fn data_dir() -> PathBuf {
    workspace_root().join("tests").join("data")
}

/// The public NOVA rules (`../shared/corpus/nova-rules`), when present.
pub fn public_rules() -> Option<PathBuf> {
    let dir = workspace_root()
        .parent()?
        .join("shared")
        .join("corpus")
        .join("nova-rules");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("skipping: {} is absent", dir.display());
        None
    }
}

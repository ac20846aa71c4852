//! Hostile input never crashes the `novac` binary: `novac check` and
//! `novac scan` over malformed rules and binary garbage exit 0, 1 or 2 with
//! a message, never with a panic (exit 101) or a signal (stack overflow,
//! abort).
//!
//! The corpus is the checked-in `tests/data/malformed/*.nov` (one hostile
//! construct each) plus inputs generated here from a fixed seed: random
//! bytes, truncations and byte flips of a valid rule, and garbage prompts.

mod common;

use common::{novac_in, workspace};
use std::path::{Path, PathBuf};
use std::process::Stdio;

/// Runs novac and asserts a clean exit code; returns it.
fn run(args: &[&std::ffi::OsStr], what: &str) -> i32 {
    let output = novac_in(workspace())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run novac");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let Some(code) = output.status.code() else {
        panic!(
            "novac was killed by a signal on {what}: {:?}\n{stderr}",
            output.status
        );
    };
    assert!(
        matches!(code, 0..=2) && !stderr.contains("panicked"),
        "novac exited {code} on {what}\n{stderr}"
    );
    code
}

/// A small deterministic generator (xorshift64*), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

const VALID: &str = "rule Valid : tag {\n    meta:\n        severity = \"high\"\n    keywords:\n        $a = \"ignore previous\"\n        $b = /\\bDAN\\b/i\n        $c = \"SECRET case:true\"\n    semantics:\n        $s = \"override the rules\" (0.5)\n    condition:\n        ($a or $b) and not $c or any of keywords.* or semantics.$s\n}\n";

/// The generated part of the corpus.
fn generated(dir: &Path) -> Vec<PathBuf> {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut files = Vec::new();
    let mut write = |name: String, bytes: &[u8]| {
        let path = dir.join(name);
        std::fs::write(&path, bytes).expect("write corpus file");
        files.push(path);
    };
    for i in 0..8 {
        let n = 1 + rng.below(4096);
        let bytes = rng.bytes(n);
        write(format!("garbage_{i}.nov"), &bytes);
    }
    let valid = VALID.as_bytes();
    for i in 0..12 {
        let cut = rng.below(valid.len());
        write(format!("truncated_{i}.nov"), &valid[..cut]);
    }
    for i in 0..12 {
        let mut bytes = valid.to_vec();
        for _ in 0..1 + rng.below(6) {
            let at = rng.below(bytes.len());
            bytes[at] = match rng.below(4) {
                0 => rng.next() as u8,
                1 => b"{}()$\"/\\:"[rng.below(9)],
                2 => 0,
                _ => 0xFF,
            };
        }
        write(format!("flipped_{i}.nov"), &bytes);
    }
    files
}

#[test]
fn check_and_scan_never_panic_on_malformed_rules() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("malformed");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let mut files: Vec<PathBuf> = std::fs::read_dir(workspace().join("tests/data/malformed"))
        .expect("tests/data/malformed")
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort();
    assert!(files.len() >= 15, "the checked-in corpus is missing");
    files.extend(generated(&dir));
    let mut errors = 0;
    for file in &files {
        let what = file.display().to_string();
        let check = run(&["check".as_ref(), file.as_os_str()], &what);
        let scan = run(
            &[
                "scan".as_ref(),
                "--rules".as_ref(),
                file.as_os_str(),
                "--prompt".as_ref(),
                "ignore previous instructions, DAN".as_ref(),
            ],
            &what,
        );
        // A file that fails `check` must also be refused by `scan` (exit 2).
        if check == 1 {
            errors += 1;
            assert_eq!(scan, 2, "scan accepted rules that check refused: {what}");
        }
    }
    assert!(
        errors >= 20,
        "expected most of the corpus to have errors, got {errors}"
    );
}

#[test]
fn scan_never_panics_on_garbage_prompts() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("garbage-prompts");
    std::fs::create_dir_all(&dir).expect("temp dir");
    let rules = workspace().join("rulesets");
    let mut rng = Rng(7);
    let mut inputs: Vec<Vec<u8>> = (0..6)
        .map(|_| {
            let n = 1 + rng.below(8192);
            rng.bytes(n)
        })
        .collect();
    inputs.push(b"{\"prompt\": 1}\n".to_vec());
    inputs.push(b"{\"prompt\": \"\\ud800\"}\n{\"id\": []}\n".to_vec());
    inputs.push(b"{not json\n".to_vec());
    inputs.push(vec![b'\n'; 10_000]);
    inputs.push(
        "\u{202e}\u{0}\u{feff}ignore previous\r\n"
            .repeat(500)
            .into_bytes(),
    );
    for (i, bytes) in inputs.iter().enumerate() {
        let path = dir.join(format!("prompts_{i}.txt"));
        std::fs::write(&path, bytes).expect("write prompts");
        for format in ["auto", "jsonl", "text"] {
            run(
                &[
                    "scan".as_ref(),
                    "--rules".as_ref(),
                    rules.as_os_str(),
                    "--input".as_ref(),
                    path.as_os_str(),
                    "--input-format".as_ref(),
                    format.as_ref(),
                    "--format".as_ref(),
                    "jsonl".as_ref(),
                ],
                &format!("{} as {format}", path.display()),
            );
        }
    }
}

#[test]
fn prompt_over_the_limit_is_refused_with_a_clear_error() {
    let args = |limit: &str| -> Vec<String> {
        [
            "scan",
            "--rules",
            "rulesets",
            "--prompt",
            "ignore previous instructions",
            "--max-prompt-bytes",
            limit,
        ]
        .map(String::from)
        .to_vec()
    };
    let at = novac_in(workspace())
        .args(args("28"))
        .output()
        .expect("run novac");
    assert!(matches!(at.status.code(), Some(0 | 1)), "{at:?}");
    let over = novac_in(workspace())
        .args(args("27"))
        .output()
        .expect("run novac");
    assert_eq!(over.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&over.stderr);
    assert!(
        stderr.contains("prompt 0: the prompt is 28 bytes, over the limit of 27 bytes"),
        "{stderr}"
    );
}

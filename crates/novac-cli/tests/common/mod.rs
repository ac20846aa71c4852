//! Helpers shared by the end-to-end tests of the `novac` binary: where it
//! runs, how it is started, and how its output is read.

// Each test crate includes this module and uses only part of it.
#![allow(dead_code)]

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

/// The workspace root (where `rulesets/` and `tests/data/` are).
pub fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The `novac` binary with plain (uncoloured) output, started in `dir`.
pub fn novac_in(dir: PathBuf) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_novac"));
    cmd.current_dir(dir).env("NO_COLOR", "1");
    cmd
}

/// Runs `cmd` with `stdin` written to its standard input (closed at once
/// when `None`) and collects its output.
pub fn run_with_stdin(mut cmd: Command, stdin: Option<&str>) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run novac");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input.as_bytes())
            .expect("write stdin");
    }
    drop(child.stdin.take());
    child.wait_with_output().expect("novac output")
}

/// Output bytes as text (lossily).
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

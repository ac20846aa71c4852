//! `novac`: check and scan NOVA prompt-matching rules.
//!
//! Exit codes follow grep and the reference's `novarun`: `novac scan` exits 0
//! when some rule matched, 1 when none did, 2 on errors; `novac check` exits
//! 0 when clean, 1 on rule errors (or warnings with `--deny-warnings`), 2 on
//! usage errors.

mod check;
mod input;
mod sarif;
mod scan;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Compile, check and scan NOVA `.nov` prompt-matching rules.
#[derive(Parser, Debug)]
#[command(name = "novac", version, about, long_about = None, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Check rule files for errors and suspicious constructs.
    Check(check::CheckArgs),
    /// Scan prompts with rules.
    Scan(scan::ScanArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Check(args) => check::run(args),
        Command::Scan(args) => scan::run(args),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }
    }
}

/// Whether to color output written to stderr.
pub(crate) fn stderr_color() -> bool {
    use std::io::IsTerminal;
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

/// Whether to color output written to stdout.
pub(crate) fn stdout_color() -> bool {
    use std::io::IsTerminal;
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

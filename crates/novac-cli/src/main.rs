//! `novac`: check and scan NOVA prompt-matching rules.
//!
//! Exit codes follow grep and the reference's `novarun`: `novac scan` exits 0
//! when some rule matched, 1 when none did, 2 on errors; `novac check` exits
//! 0 when clean, 1 on rule errors (or warnings with `--deny-warnings`), 2 on
//! usage errors.

#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]
// No panics on any input: no byte slicing inside a character, no unchecked
// indexing. Each remaining site carries a one-line `#[allow]` saying why it
// cannot fail. (Tests may index: a panic there is a failed test.)
#![cfg_attr(not(test), deny(clippy::string_slice))]
#![cfg_attr(not(test), deny(clippy::indexing_slicing))]

mod check;
mod compile;
mod config;
mod fmt;
mod input;
pub(crate) mod llm_config;
mod load;
mod lsp;
mod mcp;
mod ordered_pool;
mod profile;
mod sarif;
mod scan;
mod semantic;
mod serve;
mod sidecar;
mod table_io;
mod test_cmd;

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
    /// Compile rules into a bundle (`.novc`) that loads without re-checking.
    Compile(compile::CompileArgs),
    /// Format rule files canonically (keeps every comment).
    Fmt(fmt::FmtArgs),
    /// Run the example prompts of rule-test sidecars (`<stem>.tests.yaml`).
    Test(test_cmd::TestArgs),
    /// Serve `validate_prompt` to MCP clients over stdio (a gateway).
    Mcp(mcp::McpArgs),
    /// Serve scans over HTTP (a sidecar), with metrics, hot reload and an optional playground.
    Serve(serve::ServeArgs),
    /// Serve the language server protocol over stdio (for editors).
    Lsp(lsp::LspArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Check(args) => check::run(args),
        Command::Scan(args) => scan::run(args),
        Command::Compile(args) => compile::run(args),
        Command::Test(args) => test_cmd::run(args),
        Command::Fmt(args) => fmt::run(args),
        Command::Mcp(args) => mcp::run(args),
        Command::Serve(args) => serve::run(args),
        Command::Lsp(args) => lsp::run(args),
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

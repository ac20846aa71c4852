//! The audit log of `novac mcp --audit-log FILE`: one JSON line per
//! decision, appended by a background thread.
//!
//! Data flow: the request workers build a [`Decision`] and [`AuditLog::record`]
//! sends its JSON line over a bounded channel to the writer thread, which
//! appends it to the file and flushes whenever the channel is empty (so a
//! burst costs one write, and a quiet server has everything on disk). A
//! line holds the time, the user id, the verdict, the matched rules, the
//! rule generation and the prompt cut to [`PROMPT_CHARS`] characters; no
//! configuration (API keys, model settings) ever goes into it.

use serde::Serialize;
use std::io::Write;
use std::path::Path;
use std::sync::mpsc::{self, SyncSender, TryRecvError};
use std::thread::JoinHandle;
use std::time::SystemTime;

/// Characters of the prompt kept in the log.
pub const PROMPT_CHARS: usize = 200;

/// One decision, as logged.
#[derive(Debug, Serialize)]
pub struct Decision<'a> {
    /// RFC 3339 UTC time with milliseconds.
    pub timestamp: String,
    /// `decision`.
    pub event: &'static str,
    /// The caller's `user_id` (`unknown` when not given).
    pub user_id: &'a str,
    /// `AUTHORIZED` or `NOT AUTHORIZED`.
    pub verdict: &'static str,
    /// Every matched rule, in rule order.
    pub matched_rules: Vec<&'a str>,
    /// The reported rule's severity, when a rule matched.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub severity: Option<&'a str>,
    /// Rules that needed an unconfigured or failing semantic/LLM stage.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub failed_closed: Vec<&'a str>,
    /// Why validation failed, when it did (the verdict is then `NOT AUTHORIZED`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<&'a str>,
    /// The rule generation that decided.
    pub generation: u64,
    /// The prompt, cut to [`PROMPT_CHARS`] characters (`…` marks a cut).
    pub prompt: String,
    /// The prompt's full length in characters.
    pub prompt_chars: usize,
    /// Time spent scanning, in microseconds.
    pub elapsed_us: u64,
}

/// `text` cut to `max` characters, with `…` when something was cut.
pub fn truncate(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((end, _)) => format!("{}…", text.get(..end).unwrap_or(text)),
        None => text.to_string(),
    }
}

/// The writer of the audit log.
pub struct AuditLog {
    sender: Option<SyncSender<String>>,
    thread: Option<JoinHandle<()>>,
}

impl AuditLog {
    /// Opens `path` for appending (creating it) and starts the writer.
    pub fn open(path: &Path) -> anyhow::Result<AuditLog> {
        use anyhow::Context;
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .with_context(|| format!("cannot open the audit log {}", path.display()))?;
        let (sender, receiver) = mpsc::sync_channel::<String>(4096);
        let shown = path.display().to_string();
        let thread = std::thread::Builder::new()
            .name("novac-audit".into())
            .spawn(move || {
                let mut out = std::io::BufWriter::new(file);
                let mut failed = false;
                let mut write = |line: &str, out: &mut std::io::BufWriter<std::fs::File>| {
                    if let Err(e) = writeln!(out, "{line}") {
                        if !failed {
                            eprintln!("novac mcp: error: cannot write the audit log {shown}: {e}");
                            failed = true;
                        }
                    }
                };
                while let Ok(line) = receiver.recv() {
                    write(&line, &mut out);
                    loop {
                        match receiver.try_recv() {
                            Ok(line) => write(&line, &mut out),
                            Err(TryRecvError::Empty) => break,
                            Err(TryRecvError::Disconnected) => {
                                let _ = out.flush();
                                return;
                            }
                        }
                    }
                    let _ = out.flush();
                }
                let _ = out.flush();
            })
            .context("cannot start the audit log thread")?;
        Ok(AuditLog {
            sender: Some(sender),
            thread: Some(thread),
        })
    }

    /// Appends one decision, or any other entry (`novac mcp proxy`'s);
    /// blocks when 4,096 lines are waiting to be written.
    pub fn record(&self, decision: &impl Serialize) {
        if let (Some(sender), Ok(line)) = (&self.sender, serde_json::to_string(decision)) {
            let _ = sender.send(line);
        }
    }
}

impl Drop for AuditLog {
    fn drop(&mut self) {
        self.sender.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// `time` as RFC 3339 UTC with milliseconds, e.g. `2026-12-01T21:40:05.123Z`.
pub fn rfc3339(time: SystemTime) -> String {
    let since = time
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = since.as_secs();
    let (days, rem) = ((secs / 86_400) as i64, secs % 86_400);
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        since.subsec_millis()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn timestamps_are_rfc3339_utc() {
        let t = |s: u64, ms: u64| {
            rfc3339(SystemTime::UNIX_EPOCH + Duration::from_secs(s) + Duration::from_millis(ms))
        };
        assert_eq!(t(0, 0), "1970-01-01T00:00:00.000Z");
        assert_eq!(t(951_782_400, 5), "2000-02-29T00:00:00.005Z");
        assert_eq!(t(1_796_161_205, 123), "2026-12-01T21:40:05.123Z");
    }

    #[test]
    fn prompts_are_cut_on_characters() {
        assert_eq!(truncate("abc", 3), "abc");
        assert_eq!(truncate("abcd", 3), "abc…");
        assert_eq!(truncate("ééééé", 2), "éé…");
    }
}

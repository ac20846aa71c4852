//! Diagnostics as data: a stable code, a severity, a message, labelled spans
//! and an optional help line; rendered like rustc for people
//! ([`Diagnostic::render`]) and as JSON for tools ([`Diagnostic::to_json`]).
//!
//! Every diagnostic the parser and the checker can emit has a code registered
//! in [`crate::codes`]; tests snapshot the rendered text.

use crate::codes::Code;
pub use crate::codes::Severity;
use crate::span::{LineIndex, Span};
use annotate_snippets::{Level, Renderer, Snippet};
use serde::Serialize;

/// A span with a message attached.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Label {
    /// What is pointed at.
    pub span: Span,
    /// What is said about it (may be empty).
    pub message: String,
}

/// One finding about a source file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// The stable code, e.g. `E101`.
    pub code: &'static str,
    /// Error or warning.
    pub severity: Severity,
    /// One line saying what is wrong.
    pub message: String,
    /// The main location.
    pub primary: Label,
    /// Secondary locations (e.g. the first definition of a duplicate).
    pub secondary: Vec<Label>,
    /// How to fix it, when known.
    pub help: Option<String>,
    /// Further explanation.
    pub notes: Vec<String>,
}

impl Diagnostic {
    /// A diagnostic of `code` at `span`, with the code's default severity.
    pub fn new(code: &Code, span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            code: code.id,
            severity: code.severity,
            message: message.into(),
            primary: Label {
                span,
                message: String::new(),
            },
            secondary: Vec::new(),
            help: None,
            notes: Vec::new(),
        }
    }

    /// Sets the label under the primary span.
    pub fn with_label(mut self, message: impl Into<String>) -> Self {
        self.primary.message = message.into();
        self
    }

    /// Adds a secondary labelled span.
    pub fn with_secondary(mut self, span: Span, message: impl Into<String>) -> Self {
        self.secondary.push(Label {
            span,
            message: message.into(),
        });
        self
    }

    /// Sets the help line.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Adds a note.
    pub fn with_note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }

    /// Moves every span `by` bytes to the right (for text parsed out of a larger file).
    pub fn shifted(mut self, by: usize) -> Self {
        self.primary.span = self.primary.span.shift(by);
        for label in &mut self.secondary {
            label.span = label.span.shift(by);
        }
        self
    }

    /// Whether this is an error.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// Renders the diagnostic like rustc: header, `--> file:line:col`, the
    /// source lines with carets, then `= help:` and `= note:` lines.
    pub fn render(&self, origin: &str, source: &str, color: bool) -> String {
        self.render_lines(origin, source, None, color)
    }

    /// [`Diagnostic::render`] with the source's [`LineIndex`]: for rendering
    /// many diagnostics of one large file (each then costs time in its own
    /// lines only, not in the lines before it).
    pub fn render_indexed(
        &self,
        origin: &str,
        source: &str,
        index: &LineIndex,
        color: bool,
    ) -> String {
        self.render_lines(origin, source, Some(index), color)
    }

    fn render_lines(
        &self,
        origin: &str,
        source: &str,
        index: Option<&LineIndex>,
        color: bool,
    ) -> String {
        let level = match self.severity {
            Severity::Error => Level::Error,
            Severity::Warning => Level::Warning,
        };
        let clamp = |span: Span| {
            let mut start = (span.start as usize).min(source.len());
            let mut end = (span.end as usize).clamp(start, source.len());
            while !source.is_char_boundary(start) {
                start -= 1;
            }
            while !source.is_char_boundary(end) {
                end += 1;
            }
            start..end
        };
        // Only the lines the labels cover go to the renderer, numbered from
        // their place in the file: rendering a snippet costs time in its
        // length, so a whole large file per diagnostic made `check` quadratic.
        let spans = std::iter::once(self.primary.span)
            .chain(self.secondary.iter().map(|l| l.span))
            .map(clamp);
        let (lo, hi) = spans.fold((source.len(), 0), |(lo, hi), r| {
            (lo.min(r.start), hi.max(r.end))
        });
        let lo = lo.min(hi);
        let window_start = source
            .get(..lo)
            .and_then(|before| before.rfind('\n'))
            .map_or(0, |i| i + 1);
        let window_end = source
            .get(hi..)
            .and_then(|after| after.find('\n'))
            .map_or(source.len(), |i| hi + i);
        let window = source.get(window_start..window_end).unwrap_or(source);
        let first_line = match index {
            Some(index) => index.line_col(source, window_start).line,
            None => {
                1 + source
                    .as_bytes()
                    .get(..window_start)
                    .map_or(0, |b| b.iter().filter(|&&c| c == b'\n').count())
            }
        };
        let local = |span: Span| {
            let r = clamp(span);
            r.start.saturating_sub(window_start).min(window.len())
                ..r.end.saturating_sub(window_start).min(window.len())
        };
        let mut snippet = Snippet::source(window)
            .line_start(first_line)
            .origin(origin)
            .fold(true)
            .annotation(
                level
                    .span(local(self.primary.span))
                    .label(&self.primary.message),
            );
        for label in &self.secondary {
            snippet = snippet.annotation(Level::Info.span(local(label.span)).label(&label.message));
        }
        let mut message = level.title(&self.message).id(self.code).snippet(snippet);
        if let Some(help) = &self.help {
            message = message.footer(Level::Help.title(help));
        }
        for note in &self.notes {
            message = message.footer(Level::Note.title(note));
        }
        let renderer = if color {
            Renderer::styled()
        } else {
            Renderer::plain()
        };
        let rendered = renderer.render(message).to_string();
        rendered
    }

    /// The diagnostic as a JSON object with resolved line and column numbers.
    pub fn to_json(&self, origin: &str, source: &str, index: &LineIndex) -> serde_json::Value {
        let position = |span: Span| {
            let start = index.line_col(source, span.start as usize);
            let end = index.line_col(source, span.end as usize);
            serde_json::json!({
                "start": span.start, "end": span.end,
                "line": start.line, "column": start.column,
                "end_line": end.line, "end_column": end.column,
            })
        };
        serde_json::json!({
            "code": self.code,
            "severity": self.severity.as_str(),
            "message": self.message,
            "file": origin,
            "span": position(self.primary.span),
            "label": self.primary.message,
            "secondary": self.secondary.iter().map(|l| serde_json::json!({
                "span": position(l.span), "message": l.message,
            })).collect::<Vec<_>>(),
            "help": self.help,
            "notes": self.notes,
            "rendered": self.render_indexed(origin, source, index, false),
        })
    }
}

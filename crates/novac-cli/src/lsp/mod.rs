//! `novac lsp`: a language server for `.nov` rules over stdio.
//!
//! Built on `lsp-server`'s message types and `lsp-types` (synchronous, no
//! async runtime: about 10 s of cold build where `tower-lsp-server` would
//! bring tokio). The transport is our own loop so that nothing a client
//! sends can stop the server: a header without a length is skipped, a body
//! that is not JSON-RPC (or not UTF-8) gets a parse error (-32700) and the
//! loop goes on, and a closed pipe ends the server cleanly. Every handler
//! runs under `catch_unwind` as a last resort; an unexpected panic becomes
//! an internal-error response, never a crash.
//!
//! Each open document is re-analysed on every change (parse + check + the
//! `novac.toml` policy, see [`document`]) and its diagnostics published;
//! every request then reads that analysis. Positions are UTF-16 code units,
//! the protocol's default.

// lsp-types keys workspace edits by `Uri`, whose cached parse is interior-mutable.
#![allow(clippy::mutable_key_type)]

mod document;
mod features;
mod recheck;

use crate::config::{ConfigCache, ConfigChoice};
use anyhow::Result;
use clap::Args;
use document::Document;
use lsp_server::{ErrorCode, Message, Notification, Request, Response};
use lsp_types::notification::Notification as _;
use lsp_types::request::Request as _;
use lsp_types::*;
use serde_json::Value;
use std::collections::HashMap;
use std::io::{BufRead, Read, Write};
use std::path::PathBuf;

/// Arguments of `novac lsp`.
#[derive(Args, Debug)]
pub struct LspArgs {
    #[command(flatten)]
    config: ConfigChoice,
    /// Accepted for editors that pass it (stdio is the only transport).
    #[arg(long, hide = true)]
    stdio: bool,
}

/// The largest message body accepted (larger ones are skipped): 64 MiB.
const MAX_BODY: usize = 64 << 20;

/// The stack of the server thread. Conditions are at most log2(operators)
/// plus 64 levels deep (the parser balances `and`/`or` chains and bounds
/// nesting), so this is a margin, not a need. Only the pages touched are committed.
const STACK_SIZE: usize = 1 << 30;

pub fn run(args: LspArgs) -> Result<u8> {
    let configs = ConfigCache::new(args.config)?;
    let server = std::thread::Builder::new()
        .name("novac-lsp".into())
        .stack_size(STACK_SIZE)
        .spawn(move || serve(configs))?;
    server
        .join()
        .map_err(|_| anyhow::anyhow!("the language server thread panicked"))?
}

fn serve(configs: ConfigCache) -> Result<u8> {
    let stdin = std::io::stdin();
    let mut input = stdin.lock();
    let stdout = std::io::stdout();
    let mut server = Server {
        out: Box::new(stdout.lock()),
        docs: HashMap::new(),
        configs,
        roots: Vec::new(),
        shutdown: false,
    };
    loop {
        let body = match read_message(&mut input) {
            Ok(Some(body)) => body,
            Ok(None) => return Ok(u8::from(!server.shutdown)),
            Err(_) => return Ok(1), // the pipe broke
        };
        let message: Message = match serde_json::from_slice(&body) {
            Ok(m) => m,
            Err(e) => {
                let error = serde_json::json!({"jsonrpc": "2.0", "id": null,
                    "error": {"code": ErrorCode::ParseError as i32, "message": format!("invalid message: {e}")}});
                server.write_raw(&error);
                continue;
            }
        };
        if let Message::Notification(n) = &message {
            if n.method == notification::Exit::METHOD {
                return Ok(u8::from(!server.shutdown));
            }
        }
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            server.handle(message.clone())
        }));
        if outcome.is_err() {
            if let Message::Request(r) = message {
                server.send(Message::Response(Response::new_err(
                    r.id,
                    ErrorCode::InternalError as i32,
                    "internal error in novac lsp (please report it)".into(),
                )));
            }
        }
    }
}

/// Reads one `Content-Length`-framed body; `None` at end of input.
fn read_message(input: &mut impl BufRead) -> std::io::Result<Option<Vec<u8>>> {
    loop {
        let mut length: Option<usize> = None;
        let mut saw_header = false;
        loop {
            let mut line = Vec::new();
            if input.read_until(b'\n', &mut line)? == 0 {
                return Ok(None);
            }
            let line = String::from_utf8_lossy(&line);
            let line = line.trim();
            if line.is_empty() {
                if saw_header {
                    break;
                }
                continue;
            }
            saw_header = true;
            if let Some((name, value)) = line.split_once(':') {
                if name.trim().eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse().ok();
                }
            }
        }
        let Some(length) = length else {
            continue; // a header block without a length: skip it
        };
        if length > MAX_BODY {
            std::io::copy(
                &mut input.by_ref().take(length as u64),
                &mut std::io::sink(),
            )?;
            continue;
        }
        let mut body = vec![0; length];
        input.read_exact(&mut body)?;
        return Ok(Some(body));
    }
}

struct Server<'a> {
    out: Box<dyn Write + 'a>,
    docs: HashMap<Uri, Document>,
    configs: ConfigCache,
    roots: Vec<PathBuf>,
    shutdown: bool,
}

/// A request's failure: code and message.
type Failure = (ErrorCode, String);

impl Server<'_> {
    fn write_raw(&mut self, value: &Value) {
        let body = value.to_string();
        let _ = write!(self.out, "Content-Length: {}\r\n\r\n{body}", body.len());
        let _ = self.out.flush();
    }

    fn send(&mut self, message: Message) {
        if let Ok(mut value) = serde_json::to_value(&message) {
            if let Some(object) = value.as_object_mut() {
                object.insert("jsonrpc".into(), "2.0".into());
            }
            self.write_raw(&value);
        }
    }

    fn handle(&mut self, message: Message) {
        match message {
            Message::Request(request) => {
                let id = request.id.clone();
                let response = match self.request(request) {
                    Ok(value) => Response::new_ok(id, value),
                    Err((code, msg)) => Response::new_err(id, code as i32, msg),
                };
                self.send(Message::Response(response));
            }
            Message::Notification(n) => self.notification(n),
            Message::Response(_) => {}
        }
    }

    fn request(&mut self, request: Request) -> Result<Value, Failure> {
        use lsp_types::request as r;
        let Request { method, params, .. } = request;
        macro_rules! params {
            ($t:ty) => {
                serde_json::from_value::<$t>(params)
                    .map_err(|e| (ErrorCode::InvalidParams, e.to_string()))?
            };
        }
        if self.shutdown && method != r::Shutdown::METHOD {
            return Err((
                ErrorCode::InvalidRequest,
                "the server is shutting down".into(),
            ));
        }
        let json = |v: &dyn erased::Ser| v.to_value();
        Ok(match method.as_str() {
            r::Initialize::METHOD => {
                let p: InitializeParams = params!(InitializeParams);
                #[allow(deprecated)]
                if let Some(root) = p.root_uri.as_ref().and_then(uri_to_path) {
                    self.roots.push(root);
                }
                for folder in p.workspace_folders.unwrap_or_default() {
                    if let Some(path) = uri_to_path(&folder.uri) {
                        self.roots.push(path);
                    }
                }
                self.roots.sort();
                self.roots.dedup();
                json(&initialize_result())
            }
            r::Shutdown::METHOD => {
                self.shutdown = true;
                Value::Null
            }
            r::HoverRequest::METHOD => {
                let p = params!(HoverParams);
                let (doc, at) = self.at(&p.text_document_position_params)?;
                json(&features::hover(doc, at))
            }
            r::GotoDefinition::METHOD => {
                let p = params!(GotoDefinitionParams);
                let uri = p.text_document_position_params.text_document.uri.clone();
                let (doc, at) = self.at(&p.text_document_position_params)?;
                json(&features::definition(doc, at).map(|range| Location::new(uri, range)))
            }
            r::References::METHOD => {
                let p = params!(ReferenceParams);
                let uri = p.text_document_position.text_document.uri.clone();
                let (doc, at) = self.at(&p.text_document_position)?;
                let found = features::references(doc, at, p.context.include_declaration);
                json(
                    &found
                        .into_iter()
                        .map(|r| Location::new(uri.clone(), r))
                        .collect::<Vec<_>>(),
                )
            }
            r::PrepareRenameRequest::METHOD => {
                let p = params!(TextDocumentPositionParams);
                let (doc, at) = self.at(&p)?;
                json(&features::prepare_rename(doc, at).map(PrepareRenameResponse::Range))
            }
            r::Rename::METHOD => {
                let p = params!(RenameParams);
                let uri = p.text_document_position.text_document.uri.clone();
                let (doc, at) = self.at(&p.text_document_position)?;
                let edits = features::rename(doc, at, &p.new_name)
                    .map_err(|e| (ErrorCode::InvalidParams, e))?;
                let mut changes = HashMap::new();
                changes.insert(uri, edits);
                json(&WorkspaceEdit {
                    changes: Some(changes),
                    ..WorkspaceEdit::default()
                })
            }
            r::DocumentSymbolRequest::METHOD => {
                let p = params!(DocumentSymbolParams);
                let doc = self.doc(&p.text_document.uri)?;
                json(&DocumentSymbolResponse::Nested(features::document_symbols(
                    doc,
                )))
            }
            r::WorkspaceSymbolRequest::METHOD => {
                let p = params!(WorkspaceSymbolParams);
                json(&self.workspace_symbols(&p.query))
            }
            r::Completion::METHOD => {
                let p = params!(CompletionParams);
                let (doc, at) = self.at(&p.text_document_position)?;
                json(&CompletionResponse::Array(features::completion(doc, at)))
            }
            r::Formatting::METHOD => {
                let p = params!(DocumentFormattingParams);
                let doc = self.doc(&p.text_document.uri)?;
                json(&features::format_document(doc).map_err(|e| (ErrorCode::RequestFailed, e))?)
            }
            r::RangeFormatting::METHOD => {
                let p = params!(DocumentRangeFormattingParams);
                let doc = self.doc(&p.text_document.uri)?;
                json(
                    &features::format_range(doc, p.range)
                        .map_err(|e| (ErrorCode::RequestFailed, e))?,
                )
            }
            r::CodeActionRequest::METHOD => {
                let p = params!(CodeActionParams);
                let doc = self.doc(&p.text_document.uri)?;
                json(&features::code_actions(doc, &p.text_document.uri, p.range))
            }
            r::SemanticTokensFullRequest::METHOD => {
                let p = params!(SemanticTokensParams);
                let doc = self.doc(&p.text_document.uri)?;
                json(&SemanticTokensResult::Tokens(SemanticTokens {
                    result_id: None,
                    data: features::semantic_tokens(doc),
                }))
            }
            _ => {
                return Err((
                    ErrorCode::MethodNotFound,
                    format!("unknown method `{method}`"),
                ))
            }
        })
    }

    fn notification(&mut self, n: Notification) {
        use lsp_types::notification as n_;
        match n.method.as_str() {
            n_::DidOpenTextDocument::METHOD => {
                if let Ok(p) = serde_json::from_value::<DidOpenTextDocumentParams>(n.params) {
                    self.update(
                        p.text_document.uri,
                        p.text_document.text,
                        p.text_document.version,
                    );
                }
            }
            n_::DidChangeTextDocument::METHOD => {
                if let Ok(p) = serde_json::from_value::<DidChangeTextDocumentParams>(n.params) {
                    // Full sync: the last change holds the whole text.
                    if let Some(change) = p.content_changes.into_iter().last() {
                        self.update(p.text_document.uri, change.text, p.text_document.version);
                    }
                }
            }
            n_::DidCloseTextDocument::METHOD => {
                if let Ok(p) = serde_json::from_value::<DidCloseTextDocumentParams>(n.params) {
                    self.docs.remove(&p.text_document.uri);
                    self.publish(p.text_document.uri, Vec::new(), None);
                }
            }
            _ => {}
        }
    }

    fn update(&mut self, uri: Uri, text: String, version: i32) {
        let config = match uri_to_path(&uri).map(|p| self.configs.for_file(&p)) {
            Some(Ok(c)) => c,
            Some(Err(e)) => {
                self.show_error(&format!("novac.toml: {e:#}"));
                Default::default()
            }
            None => Default::default(),
        };
        // The previous version's per-rule checks: only changed rules are checked again.
        let checks = self
            .docs
            .remove(&uri)
            .map(Document::into_cache)
            .unwrap_or_default();
        let doc = Document::with_cache(text, config, checks);
        let diagnostics = doc
            .diagnostics
            .iter()
            .map(|d| to_lsp_diagnostic(&doc, d))
            .collect();
        self.docs.insert(uri.clone(), doc);
        self.publish(uri, diagnostics, Some(version));
    }

    fn show_error(&mut self, message: &str) {
        let n = Notification::new(
            notification::ShowMessage::METHOD.into(),
            ShowMessageParams {
                typ: MessageType::ERROR,
                message: message.into(),
            },
        );
        self.send(Message::Notification(n));
    }

    fn publish(&mut self, uri: Uri, diagnostics: Vec<lsp_types::Diagnostic>, version: Option<i32>) {
        let n = Notification::new(
            notification::PublishDiagnostics::METHOD.into(),
            PublishDiagnosticsParams {
                uri,
                diagnostics,
                version,
            },
        );
        self.send(Message::Notification(n));
    }

    fn doc(&self, uri: &Uri) -> Result<&Document, Failure> {
        self.docs
            .get(uri)
            .ok_or_else(|| (ErrorCode::InvalidParams, "the document is not open".into()))
    }

    fn at(&self, p: &TextDocumentPositionParams) -> Result<(&Document, usize), Failure> {
        let doc = self.doc(&p.text_document.uri)?;
        Ok((doc, doc.offset(p.position)))
    }

    /// Rules of the open documents and of the `.nov` files under the
    /// workspace roots whose name contains `query` (case-insensitive).
    #[allow(deprecated)] // SymbolInformation::deprecated must be written
    fn workspace_symbols(&self, query: &str) -> Vec<SymbolInformation> {
        let query = query.to_lowercase();
        let mut out = Vec::new();
        let mut push = |uri: &Uri, doc: &Document| {
            for rule in &doc.file.rules {
                if rule.name.value.to_lowercase().contains(&query) {
                    out.push(SymbolInformation {
                        name: rule.name.value.clone(),
                        kind: SymbolKind::CLASS,
                        tags: None,
                        deprecated: None,
                        location: Location::new(uri.clone(), doc.range(rule.name.span)),
                        container_name: None,
                    });
                }
            }
        };
        for (uri, doc) in &self.docs {
            push(uri, doc);
        }
        for root in &self.roots {
            let Ok(files) = novac::collect_rule_files(root) else {
                continue;
            };
            for file in files.into_iter().take(10_000) {
                let Some(uri) = path_to_uri(&file) else {
                    continue;
                };
                if self.docs.contains_key(&uri) {
                    continue;
                }
                let Ok(bytes) = std::fs::read(&file) else {
                    continue;
                };
                let text = String::from_utf8_lossy(&bytes).into_owned();
                let doc = Document::light(text);
                push(&uri, &doc);
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out
    }
}

/// Serialisation to JSON without naming the type at each call.
mod erased {
    pub trait Ser {
        fn to_value(&self) -> serde_json::Value;
    }
    impl<T: serde::Serialize> Ser for T {
        fn to_value(&self) -> serde_json::Value {
            serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
        }
    }
}

fn initialize_result() -> InitializeResult {
    InitializeResult {
        capabilities: ServerCapabilities {
            position_encoding: Some(PositionEncodingKind::UTF16),
            text_document_sync: Some(TextDocumentSyncCapability::Kind(TextDocumentSyncKind::FULL)),
            hover_provider: Some(HoverProviderCapability::Simple(true)),
            definition_provider: Some(OneOf::Left(true)),
            references_provider: Some(OneOf::Left(true)),
            rename_provider: Some(OneOf::Right(RenameOptions {
                prepare_provider: Some(true),
                work_done_progress_options: WorkDoneProgressOptions::default(),
            })),
            document_symbol_provider: Some(OneOf::Left(true)),
            workspace_symbol_provider: Some(OneOf::Left(true)),
            completion_provider: Some(CompletionOptions {
                trigger_characters: Some(vec!["$".into(), ".".into()]),
                ..CompletionOptions::default()
            }),
            document_formatting_provider: Some(OneOf::Left(true)),
            document_range_formatting_provider: Some(OneOf::Left(true)),
            code_action_provider: Some(CodeActionProviderCapability::Options(CodeActionOptions {
                code_action_kinds: Some(vec![CodeActionKind::QUICKFIX]),
                ..CodeActionOptions::default()
            })),
            semantic_tokens_provider: Some(
                SemanticTokensServerCapabilities::SemanticTokensOptions(SemanticTokensOptions {
                    legend: SemanticTokensLegend {
                        token_types: features::TOKEN_TYPES.to_vec(),
                        token_modifiers: Vec::new(),
                    },
                    full: Some(SemanticTokensFullOptions::Bool(true)),
                    range: None,
                    work_done_progress_options: WorkDoneProgressOptions::default(),
                }),
            ),
            ..ServerCapabilities::default()
        },
        server_info: Some(ServerInfo {
            name: "novac".into(),
            version: Some(env!("CARGO_PKG_VERSION").into()),
        }),
    }
}

/// An engine diagnostic as an LSP one: code, range, severity, message with
/// the label and help (as `novac check` prints them), secondary labels as
/// related information.
pub(crate) fn to_lsp_diagnostic(doc: &Document, d: &novac::Diagnostic) -> lsp_types::Diagnostic {
    let mut message = d.message.clone();
    if !d.primary.message.is_empty() {
        message.push_str(&format!(" ({})", d.primary.message));
    }
    if let Some(help) = &d.help {
        message.push_str(&format!("\nhelp: {help}"));
    }
    for note in &d.notes {
        message.push_str(&format!("\nnote: {note}"));
    }
    lsp_types::Diagnostic {
        range: doc.range(d.primary.span),
        severity: Some(match d.severity {
            novac::Severity::Error => DiagnosticSeverity::ERROR,
            novac::Severity::Warning => DiagnosticSeverity::WARNING,
        }),
        code: Some(NumberOrString::String(d.code.to_string())),
        source: Some("novac".into()),
        message,
        data: Some(serde_json::json!({ "help": d.help })),
        ..lsp_types::Diagnostic::default()
    }
}

/// The file path of a `file:` URI.
fn uri_to_path(uri: &Uri) -> Option<PathBuf> {
    if !uri
        .scheme()
        .is_some_and(|s| s.as_str().eq_ignore_ascii_case("file"))
    {
        return None;
    }
    let raw = uri.path().as_str();
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&byte) = bytes.get(i) {
        if byte == b'%' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(raw.get(i + 1..i + 3)?, 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(byte);
        i += 1;
    }
    Some(PathBuf::from(String::from_utf8(out).ok()?))
}

/// A `file:` URI for `path`.
fn path_to_uri(path: &std::path::Path) -> Option<Uri> {
    let absolute = std::path::absolute(path).ok()?;
    let mut encoded = String::new();
    for b in absolute.to_str()?.bytes() {
        if b.is_ascii_alphanumeric() || b"/-_.~".contains(&b) {
            encoded.push(b as char);
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    format!("file://{encoded}").parse().ok()
}

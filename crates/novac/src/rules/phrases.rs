//! The semantic part of [`Rules`](crate::Rules): the distinct phrases of
//! every used `semantics:` variable, their unit vectors (computed once, at
//! build time, by the [`Embedder`]) and the embedder that embeds prompts.
//!
//! Built by the compiler ([`SemanticTable::collect`], then
//! [`SemanticTable::attach`]), stored in bundles, read by the scanner's
//! semantic stage. Costs one `embed` call over all distinct phrases at
//! build time and `phrases × dim` floats of memory.

use super::CompiledRule;
use crate::ir::{Pattern, VarId};
use crate::plugins::{EmbedError, Embedder};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

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

/// A distinct phrase: its index in [`SemanticTable::phrases`] and its row
/// in [`PatternEmbeddings`] (phrase counts are bounded far below `u32::MAX`
/// by the source limits).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct PhraseId(u32);

impl PhraseId {
    /// The id of the phrase at `index`.
    pub(crate) fn new(index: usize) -> PhraseId {
        PhraseId(u32::try_from(index).unwrap_or(u32::MAX))
    }

    /// The phrase's position.
    pub(crate) fn index(self) -> usize {
        self.0 as usize
    }
}

impl PatternEmbeddings {
    /// The vector of phrase `id`.
    pub(crate) fn phrase_vector(&self, id: PhraseId) -> Option<&[f32]> {
        self.vector(id.0)
    }
}

/// An [`Embedder`] shared by [`Rules`](crate::Rules) and every scanner (cheap to clone).
#[derive(Clone)]
pub struct SharedEmbedder(pub Arc<dyn Embedder>);

impl fmt::Debug for SharedEmbedder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Embedder({})", self.0.model_id())
    }
}

/// The semantic part of [`Rules`](crate::Rules): distinct phrases, their embeddings, and
/// the embedder used to embed prompts (not serialised: re-attach it with
/// [`Rules::set_embedder`](crate::Rules::set_embedder) after loading).
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
        let mut ids: HashMap<String, PhraseId> = HashMap::new();
        let mut phrases = Vec::new();
        for rule in rules.iter_mut() {
            let mut list = Vec::with_capacity(rule.semantic_vars.len());
            for v in &rule.semantic_vars {
                let text = phrase_text(rule, *v);
                let id = *ids.entry(text.to_string()).or_insert_with(|| {
                    phrases.push(text.to_string());
                    PhraseId::new(phrases.len() - 1)
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
        return Err(EmbedError::VectorCount {
            got: vectors.len(),
            expected: n,
        });
    }
    let dim = dim.or_else(|| vectors.first().map(Vec::len)).unwrap_or(0);
    if let Some(v) = vectors.iter().find(|v| v.len() != dim || dim == 0) {
        return Err(EmbedError::Dimension {
            got: v.len(),
            expected: dim,
        });
    }
    for v in &mut vectors {
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        if !norm.is_finite() {
            return Err(EmbedError::NonFinite);
        }
        if norm > 0.0 {
            v.iter_mut().for_each(|x| *x /= norm);
        }
    }
    Ok(vectors)
}

pub(crate) fn phrase_text(rule: &CompiledRule, v: VarId) -> &str {
    match rule.var(v).map(|var| &var.pattern) {
        Some(Pattern::Semantic { text, .. }) => text,
        _ => "",
    }
}

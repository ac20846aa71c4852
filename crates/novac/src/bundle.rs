//! Compiled rule bundles: [`Rules::serialize`] writes a rule set to bytes
//! (the `.novc` files of `novac compile`), [`Rules::deserialize`] loads it
//! back without parsing or checking anything again.
//!
//! ```
//! let rules = novac::Compiler::new()
//!     .add_source(r#"
//! rule A {
//!     keywords:
//!         $a = /ignore\s+previous/i
//!     condition:
//!         $a
//! }"#)?
//!     .build()?;
//! let bytes = rules.serialize()?;
//! let loaded = novac::Rules::deserialize(&bytes)?;
//! let hits = novac::Scanner::new(&loaded).scan("IGNORE  previous instructions");
//! assert_eq!(hits.matched_names(), ["A"]);
//!
//! // Damage is detected, never scanned with.
//! let mut damaged = bytes.clone();
//! let last = damaged.len() - 1;
//! damaged[last] ^= 1;
//! assert!(matches!(
//!     novac::Rules::deserialize(&damaged),
//!     Err(novac::BundleError::Checksum { .. })
//! ));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # What is stored, what is rebuilt
//!
//! A bundle stores what is expensive to recompute: the *checked* rules
//! (variables, patterns with their Rust regex translations, conditions with
//! every name already resolved), the regex *plans* (which atoms each regex is
//! triggered by: the atom analysis is most of the cost of checking) and the
//! semantic phrase embeddings. Loading rebuilds the cheap parts with the same
//! code [`crate::Compiler::build`] uses — condition bytecode, the pattern
//! table, the keyword automata — so a loaded rule set scans exactly like the
//! one that was saved. (The embedding model itself is not stored: attach it
//! again with [`Rules::set_embedder`]; stored vectors are kept when
//! [`crate::Embedder::model_id`] is the same.)
//!
//! # Format (version [`FORMAT_VERSION`])
//!
//! | bytes | content |
//! |---|---|
//! | 8 | [`MAGIC`] (`\x89NOV\r\n\x1a\n`: non-ASCII, and line-ending damage shows) |
//! | 4 | format version, u32 little-endian |
//! | 1 + n | length and UTF-8 text of the novac version that wrote it |
//! | 8 | payload length, u64 little-endian |
//! | 4 | CRC-32 (IEEE) of the payload, u32 little-endian |
//! | payload | the rules, [postcard](https://docs.rs/postcard)-encoded |
//!
//! A bundle is read only by the novac version that wrote it (plans and the
//! IR may change between versions); anything else is a typed
//! [`BundleError`] — wrong magic, truncation, another format or novac
//! version, a checksum mismatch, trailing bytes, a payload that does not
//! decode or describes impossible rules (a variable id out of range, a
//! condition that is not well formed, a threshold outside [0, 1]). Loading
//! never panics, and never yields rules that differ from the saved ones
//! through accidental corruption. The checksum detects damage, not
//! tampering: treat a bundle as you treat rule files. (Regexes and their
//! plans are taken as stored — re-translating every Python regex cost a
//! tenth of the load time — and a regex still compiles under
//! [`CompileLimits::max_regex_bytes`] before it runs.)
//!
//! To add a field to the format, add it to `Payload` (or a struct in it),
//! fill it in `serialize`, apply it in `deserialize`, and bump
//! [`FORMAT_VERSION`].

use crate::compiler::CompileError;
use crate::ir::{Cond, Pattern, RuleIr, VarId, Variable};
use crate::keywords::{PlanCache, RegexPlan};
use crate::limits::CompileLimits;
use crate::rules::phrases::PatternEmbeddings;
use crate::rules::Rules;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// The first 8 bytes of every bundle.
pub const MAGIC: [u8; 8] = *b"\x89NOV\r\n\x1a\n";
/// The bundle format this novac writes and reads.
pub const FORMAT_VERSION: u32 = 1;
/// The novac version that writes (and alone reads) bundles.
pub const NOVAC_VERSION: &str = env!("CARGO_PKG_VERSION");
/// Deepest condition tree a bundle may hold (the checker's nesting limit
/// allows far less with default limits).
pub const MAX_CONDITION_NESTING: usize = 4096;

/// Why a bundle could not be written or loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BundleError {
    /// The data does not start with [`MAGIC`].
    #[error("not a novac rule bundle (wrong magic bytes){hint}")]
    NotABundle {
        /// A hint on what the data looks like instead (may be empty).
        hint: &'static str,
    },
    /// The data ends before a part of the bundle that it announces.
    #[error("truncated bundle: the {part} needs {needed} byte(s) but only {available} remain")]
    Truncated {
        /// Which part is cut off.
        part: &'static str,
        /// Bytes that part needs.
        needed: u64,
        /// Bytes left.
        available: u64,
    },
    /// Written in another bundle format.
    #[error(
        "bundle format version {found} cannot be read by this novac (it reads version {supported}); \
         recompile the rules with `novac compile`"
    )]
    FormatVersion {
        /// The version in the file.
        found: u32,
        /// The version this novac reads ([`FORMAT_VERSION`]).
        supported: u32,
    },
    /// Written by another novac version.
    #[error(
        "bundle was written by novac {found} but this is novac {current}; \
         recompile the rules with `novac compile`"
    )]
    NovacVersion {
        /// The version in the file.
        found: String,
        /// This novac's version ([`NOVAC_VERSION`]).
        current: String,
    },
    /// The payload does not match its checksum: the data is damaged.
    #[error(
        "bundle is corrupted: checksum {computed:#010x} does not match the stored {stored:#010x}"
    )]
    Checksum {
        /// The checksum in the header.
        stored: u32,
        /// The checksum of the payload as read.
        computed: u32,
    },
    /// Bytes follow the payload.
    #[error("bundle has {extra} unexpected byte(s) after its payload")]
    TrailingBytes {
        /// How many.
        extra: u64,
    },
    /// The payload passed its checksum but does not describe valid rules.
    #[error("malformed bundle payload: {0}")]
    Malformed(String),
    /// Two rule sets being merged define the same rule.
    #[error("duplicate rule name `{0}` in the rule sets being merged")]
    DuplicateRule(String),
    /// The keyword engine could not be rebuilt (e.g. a limit was exceeded).
    #[error("cannot rebuild the rules: {0}")]
    Build(#[source] CompileError),
    /// The rules could not be encoded.
    #[error("cannot encode the rules: {0}")]
    Encode(String),
    /// A bundle file could not be read or written.
    #[error("cannot access {path}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

/// Everything after the header.
#[derive(Serialize, Deserialize)]
struct Payload {
    rules: Vec<BundledRule>,
    plans: Vec<BundledPlan>,
    semantic: BundledSemantic,
}

#[derive(Serialize, Deserialize)]
struct BundledRule {
    name: String,
    meta: Vec<(String, String)>,
    vars: Vec<BundledVar>,
    /// The condition in postfix order (no recursion while decoding).
    condition: Vec<CondOp>,
    condition_text: String,
}

#[derive(Serialize, Deserialize)]
struct BundledVar {
    name: String,
    pattern: Pattern,
    used: bool,
    evaluated: bool,
    span: (u32, u32),
}

/// One node of a condition in postfix order.
#[derive(Debug, Serialize, Deserialize)]
enum CondOp {
    Const(bool),
    Var(u32),
    Not,
    And(u32),
    Or(u32),
    AtLeast { vars: Vec<u32>, n: u32 },
    All(Vec<u32>),
}

#[derive(Serialize, Deserialize)]
struct BundledPlan {
    rust: String,
    case_insensitive: bool,
    plan: RegexPlan,
}

#[derive(Serialize, Deserialize)]
struct BundledSemantic {
    phrases: Vec<String>,
    embeddings: Option<PatternEmbeddings>,
}

impl Rules {
    /// Writes the rule set as a bundle (see [`crate::bundle`]).
    pub fn serialize(&self) -> Result<Vec<u8>, BundleError> {
        let rules = self.rules.iter().map(|r| bundle_rule(&r.ir)).collect();
        let payload = Payload {
            rules,
            plans: self
                .engine
                .regex_plans()
                .map(|(rust, case_insensitive, plan)| BundledPlan {
                    rust: rust.to_string(),
                    case_insensitive,
                    plan: plan.clone(),
                })
                .collect(),
            semantic: BundledSemantic {
                phrases: self.semantic.phrases.clone(),
                embeddings: self.semantic.embeddings.clone(),
            },
        };
        let body =
            postcard::to_allocvec(&payload).map_err(|e| BundleError::Encode(e.to_string()))?;
        let version = NOVAC_VERSION.as_bytes();
        let mut out = Vec::with_capacity(body.len() + 32 + version.len());
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        let len = u8::try_from(version.len())
            .map_err(|_| BundleError::Encode("novac version string too long".into()))?;
        out.push(len);
        out.extend_from_slice(version);
        out.extend_from_slice(&(body.len() as u64).to_le_bytes());
        out.extend_from_slice(&crc32fast::hash(&body).to_le_bytes());
        out.extend_from_slice(&body);
        Ok(out)
    }

    /// Loads a bundle written by [`Rules::serialize`], with the default
    /// [`CompileLimits`].
    pub fn deserialize(bytes: &[u8]) -> Result<Rules, BundleError> {
        Rules::deserialize_with_limits(bytes, &CompileLimits::default())
    }

    /// Loads a bundle, applying `limits` while the keyword engine is rebuilt.
    pub fn deserialize_with_limits(
        bytes: &[u8],
        limits: &CompileLimits,
    ) -> Result<Rules, BundleError> {
        let body = read_header(bytes)?;
        let payload: Payload = postcard::from_bytes(body)
            .map_err(|e| BundleError::Malformed(format!("the payload does not decode: {e}")))?;
        let mut plans = PlanCache::default();
        for p in payload.plans {
            plans.insert(p.rust, p.case_insensitive, p.plan);
        }
        let mut names = HashSet::new();
        let mut irs = Vec::with_capacity(payload.rules.len());
        for rule in payload.rules {
            if !names.insert(rule.name.clone()) {
                return Err(BundleError::Malformed(format!(
                    "rule `{}` is defined twice",
                    rule.name
                )));
            }
            irs.push(unbundle_rule(rule)?);
        }
        // The regexes' plans are taken as stored; their verifiers compile
        // now, so the first scan pays no warm-up.
        let mut rules = crate::compiler::build_rules_with(
            irs,
            &mut plans,
            limits,
            crate::keywords::Verifiers::Eager,
        )
        .map_err(BundleError::Build)?;
        restore_semantic(&mut rules, payload.semantic)?;
        Ok(rules)
    }

    /// Writes the bundle to `path` (see [`Rules::serialize`]).
    pub fn save_bundle(&self, path: impl AsRef<Path>) -> Result<(), BundleError> {
        let bytes = self.serialize()?;
        std::fs::write(path.as_ref(), bytes).map_err(|source| BundleError::Io {
            path: path.as_ref().to_path_buf(),
            source,
        })
    }

    /// Reads a bundle file (see [`Rules::deserialize`]).
    pub fn load_bundle(path: impl AsRef<Path>) -> Result<Rules, BundleError> {
        let bytes = std::fs::read(path.as_ref()).map_err(|source| BundleError::Io {
            path: path.as_ref().to_path_buf(),
            source,
        })?;
        Rules::deserialize(&bytes)
    }

    /// One rule set with the rules of every part, in order (e.g. a bundle
    /// and freshly compiled sources). Rule names must be unique across the
    /// parts. Stored phrase embeddings are kept when all parts that have
    /// semantic phrases were embedded by the same model; the first attached
    /// embedder is kept. When only one part has rules, it is returned as it
    /// is (no rebuild: `novac scan --rules one.novc` costs one load).
    pub fn merge(mut parts: Vec<Rules>) -> Result<Rules, BundleError> {
        let with_rules: Vec<usize> = (0..parts.len())
            .filter(|&i| parts.get(i).is_some_and(|p| !p.rules.is_empty()))
            .collect();
        if let [only] = with_rules[..] {
            let embedder = parts.iter().find_map(|p| p.semantic.embedder.clone());
            let mut rules = parts.swap_remove(only);
            if embedder.is_some() {
                rules.semantic.embedder = embedder;
            }
            return Ok(rules);
        }
        let mut names = HashSet::new();
        let mut irs = Vec::new();
        let mut vectors: std::collections::HashMap<String, Vec<f32>> = Default::default();
        let mut model: Option<(String, usize)> = None;
        let mut consistent = true;
        let mut embedder = None;
        for part in parts {
            if let Some(e) = &part.semantic.embeddings {
                match &model {
                    None => model = Some((e.model.clone(), e.dim)),
                    Some((m, d)) if *m == e.model && *d == e.dim => {}
                    Some(_) => consistent = false,
                }
                for (i, phrase) in part.semantic.phrases.iter().enumerate() {
                    if let Some(v) = e.phrase_vector(crate::rules::phrases::PhraseId::new(i)) {
                        vectors.insert(phrase.clone(), v.to_vec());
                    }
                }
            } else if !part.semantic.phrases.is_empty() {
                consistent = false;
            }
            if embedder.is_none() {
                embedder = part.semantic.embedder.clone();
            }
            for rule in part.rules {
                if !names.insert(rule.ir.name.clone()) {
                    return Err(BundleError::DuplicateRule(rule.ir.name));
                }
                irs.push(rule.ir);
            }
        }
        let mut plans = PlanCache::default();
        let mut rules = crate::compiler::build_rules(irs, &mut plans, &CompileLimits::default())
            .map_err(BundleError::Build)?;
        if let (true, Some((model, dim))) = (consistent, model) {
            let mut flat = Vec::with_capacity(rules.semantic.phrases.len() * dim);
            for phrase in &rules.semantic.phrases {
                match vectors.get(phrase) {
                    Some(v) => flat.extend_from_slice(v),
                    None => consistent = false,
                }
            }
            if consistent {
                rules.semantic.embeddings = Some(PatternEmbeddings {
                    model,
                    dim,
                    vectors: flat,
                });
            }
        }
        rules.semantic.embedder = embedder;
        Ok(rules)
    }
}

/// Whether `bytes` start like a bundle (the [`MAGIC`] bytes); the CLI uses
/// this to accept bundles and `.nov` files side by side.
pub fn is_bundle(bytes: &[u8]) -> bool {
    bytes.starts_with(&MAGIC)
}

/// Reads and checks the header; returns the payload.
fn read_header(bytes: &[u8]) -> Result<&[u8], BundleError> {
    let mut rest = bytes;
    let magic = take(&mut rest, MAGIC.len(), "magic bytes");
    match magic {
        Ok(m) if m == MAGIC => {}
        _ if MAGIC.starts_with(bytes) && !bytes.is_empty() => {
            return Err(BundleError::Truncated {
                part: "magic bytes",
                needed: MAGIC.len() as u64,
                available: bytes.len() as u64,
            })
        }
        _ => {
            let hint = if bytes.is_empty() {
                " (the data is empty)"
            } else if std::str::from_utf8(bytes.get(..4096).unwrap_or(bytes)).is_ok() {
                " (this looks like text: .nov rule sources go to `novac compile` or `novac scan --rules`)"
            } else {
                ""
            };
            return Err(BundleError::NotABundle { hint });
        }
    }
    let version = u32::from_le_bytes(array(take(&mut rest, 4, "format version")?));
    if version != FORMAT_VERSION {
        return Err(BundleError::FormatVersion {
            found: version,
            supported: FORMAT_VERSION,
        });
    }
    let len = take(&mut rest, 1, "novac version")?
        .first()
        .map_or(0, |&b| usize::from(b));
    let written_by = take(&mut rest, len, "novac version")?;
    if written_by != NOVAC_VERSION.as_bytes() {
        return Err(BundleError::NovacVersion {
            found: String::from_utf8_lossy(written_by).into_owned(),
            current: NOVAC_VERSION.to_string(),
        });
    }
    let length = u64::from_le_bytes(array(take(&mut rest, 8, "payload length")?));
    let stored = u32::from_le_bytes(array(take(&mut rest, 4, "checksum")?));
    if (rest.len() as u64) < length {
        return Err(BundleError::Truncated {
            part: "payload",
            needed: length,
            available: rest.len() as u64,
        });
    }
    if rest.len() as u64 > length {
        return Err(BundleError::TrailingBytes {
            extra: rest.len() as u64 - length,
        });
    }
    let computed = crc32fast::hash(rest);
    if computed != stored {
        return Err(BundleError::Checksum { stored, computed });
    }
    Ok(rest)
}

fn take<'a>(rest: &mut &'a [u8], n: usize, part: &'static str) -> Result<&'a [u8], BundleError> {
    if rest.len() < n {
        return Err(BundleError::Truncated {
            part,
            needed: n as u64,
            available: rest.len() as u64,
        });
    }
    let (head, tail) = rest.split_at(n);
    *rest = tail;
    Ok(head)
}

fn array<const N: usize>(bytes: &[u8]) -> [u8; N] {
    let mut a = [0u8; N];
    if let Some(head) = bytes.get(..N) {
        a.copy_from_slice(head);
    }
    a
}

fn bundle_rule(ir: &RuleIr) -> BundledRule {
    let mut condition = Vec::new();
    flatten(&ir.condition, &mut condition);
    BundledRule {
        name: ir.name.clone(),
        meta: ir.meta.clone(),
        vars: ir
            .vars
            .iter()
            .map(|v| BundledVar {
                name: v.name.clone(),
                pattern: v.pattern.clone(),
                used: v.used,
                evaluated: v.evaluated,
                span: (v.span.start, v.span.end),
            })
            .collect(),
        condition,
        condition_text: ir.condition_text.clone(),
    }
}

fn flatten(cond: &Cond, out: &mut Vec<CondOp>) {
    let ids = |vars: &[VarId]| vars.iter().map(|v| v.0).collect();
    match cond {
        Cond::Const(b) => out.push(CondOp::Const(*b)),
        Cond::Var(v) => out.push(CondOp::Var(v.0)),
        Cond::Not(c) => {
            flatten(c, out);
            out.push(CondOp::Not);
        }
        Cond::And(cs) | Cond::Or(cs) => {
            cs.iter().for_each(|c| flatten(c, out));
            let n = cs.len() as u32;
            out.push(if matches!(cond, Cond::And(_)) {
                CondOp::And(n)
            } else {
                CondOp::Or(n)
            });
        }
        Cond::AtLeast { vars, n } => out.push(CondOp::AtLeast {
            vars: ids(vars),
            n: *n,
        }),
        Cond::All(vars) => out.push(CondOp::All(ids(vars))),
    }
}

fn malformed(rule: &str, what: impl std::fmt::Display) -> BundleError {
    BundleError::Malformed(format!("rule `{rule}`: {what}"))
}

fn unbundle_rule(rule: BundledRule) -> Result<RuleIr, BundleError> {
    let name = rule.name;
    let nvars = rule.vars.len();
    let mut vars = Vec::with_capacity(nvars);
    for v in rule.vars {
        check_pattern(&name, &v.name, &v.pattern)?;
        vars.push(Variable {
            name: v.name,
            pattern: v.pattern,
            used: v.used,
            evaluated: v.evaluated || v.used,
            span: novac_syntax::Span {
                start: v.span.0,
                end: v.span.1.max(v.span.0),
            },
        });
    }
    let condition = rebuild(&name, rule.condition, nvars)?;
    Ok(RuleIr {
        name,
        meta: rule.meta,
        vars,
        condition,
        condition_text: rule.condition_text,
    })
}

/// Rejects patterns the checker could never have produced.
fn check_pattern(rule: &str, var: &str, pattern: &Pattern) -> Result<(), BundleError> {
    match pattern {
        Pattern::Keyword(_) => Ok(()),
        Pattern::Semantic { threshold: x, .. } | Pattern::Llm { temperature: x, .. } => {
            if x.is_finite() && (0.0..=1.0).contains(x) {
                Ok(())
            } else {
                Err(malformed(
                    rule,
                    format!("{var} has the value {x} outside [0, 1]"),
                ))
            }
        }
    }
}

/// Rebuilds a condition from postfix order, checking that it is well formed.
fn rebuild(rule: &str, ops: Vec<CondOp>, nvars: usize) -> Result<Cond, BundleError> {
    let var = |id: u32| -> Result<VarId, BundleError> {
        if (id as usize) < nvars {
            Ok(VarId(id))
        } else {
            Err(malformed(
                rule,
                format!("condition names variable #{id} of {nvars}"),
            ))
        }
    };
    let list = |ids: Vec<u32>| -> Result<Vec<VarId>, BundleError> {
        if ids.is_empty() {
            return Err(malformed(rule, "a quantifier covers no variable"));
        }
        ids.into_iter().map(var).collect()
    };
    // (node, depth of its tree)
    let mut stack: Vec<(Cond, usize)> = Vec::new();
    for op in ops {
        let node = match op {
            CondOp::Const(b) => (Cond::Const(b), 1),
            CondOp::Var(v) => (Cond::Var(var(v)?), 1),
            CondOp::Not => match stack.pop() {
                Some((c, d)) => (Cond::Not(Box::new(c)), d + 1),
                None => return Err(malformed(rule, "`not` without an operand")),
            },
            CondOp::And(n) | CondOp::Or(n) => {
                let n = n as usize;
                if n == 0 || n > stack.len() {
                    return Err(malformed(rule, "`and`/`or` with a wrong operand count"));
                }
                let parts = stack.split_off(stack.len() - n);
                let depth = parts.iter().map(|(_, d)| *d).max().unwrap_or(0) + 1;
                let cs = parts.into_iter().map(|(c, _)| c).collect();
                let cond = if matches!(op, CondOp::And(_)) {
                    Cond::And(cs)
                } else {
                    Cond::Or(cs)
                };
                (cond, depth)
            }
            CondOp::AtLeast { vars, n } => {
                if n == 0 {
                    return Err(malformed(rule, "`0 of` quantifier"));
                }
                (
                    Cond::AtLeast {
                        vars: list(vars)?,
                        n,
                    },
                    1,
                )
            }
            CondOp::All(vars) => (Cond::All(list(vars)?), 1),
        };
        if node.1 > MAX_CONDITION_NESTING {
            return Err(malformed(rule, "the condition nests too deeply"));
        }
        stack.push(node);
    }
    match (stack.pop(), stack.is_empty()) {
        (Some((cond, _)), true) => Ok(cond),
        _ => Err(malformed(rule, "the condition is not one expression")),
    }
}

/// Puts the stored phrases and embeddings back (after checking them against the rules).
fn restore_semantic(rules: &mut Rules, stored: BundledSemantic) -> Result<(), BundleError> {
    if stored.phrases != rules.semantic.phrases {
        return Err(BundleError::Malformed(
            "the semantic phrases do not match the rules".into(),
        ));
    }
    if let Some(e) = &stored.embeddings {
        let ok = e.dim > 0
            && e.vectors.len() == e.dim.saturating_mul(stored.phrases.len())
            && e.vectors.iter().all(|x| x.is_finite());
        if !ok {
            return Err(BundleError::Malformed(
                "the phrase embeddings do not fit the phrases".into(),
            ));
        }
    }
    rules.semantic.embeddings = stored.embeddings;
    Ok(())
}

#[cfg(test)]
mod tests;

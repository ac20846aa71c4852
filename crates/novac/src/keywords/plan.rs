//! Planning: how each keyword regex is matched ([`RegexPlan`]: exact
//! atoms, folded atoms, alternation branches or atomless), and the
//! [`PlanCache`] that keeps plans (and parsed regexes) between the checker,
//! the engine build and bundle loading. Costs one atom analysis per
//! distinct regex, at build time only.

use super::*;

/// Decides how a keyword regex is matched (also used by the W104 lint).
///
/// A case-insensitive regex first tries the atoms of the pattern as written,
/// lowered and matched against the lowered prompt: cheap to find, and few.
/// Extracting its case variants instead can explode (every letter doubles
/// the set), so that is only the fallback.
pub(crate) fn plan_regex(
    hir: &regex_syntax::hir::Hir,
    rust: &str,
    case_insensitive: bool,
) -> RegexPlan {
    if case_insensitive {
        // The atoms of the case-sensitive reading, lowered (see `folded_atoms`).
        if let Ok(sensitive) = crate::keywords::keyword_regex::hir(rust, false) {
            if let Some(branches) = lowered_branches(&sensitive) {
                return RegexPlan::Branches(branches);
            }
            if let Some((literals, also)) = folded_atoms(&sensitive) {
                return RegexPlan::FoldedAtoms { literals, also };
            }
        }
    }
    let analysis = atoms::analyze(hir);
    if !matches!(&analysis, AtomAnalysis::Atoms(set) if set.exact) && !case_insensitive {
        if let Some(branches) = lowered_branches(hir) {
            return RegexPlan::Branches(branches);
        }
    }
    match analysis {
        AtomAnalysis::Atoms(set) => {
            let also = if set.exact {
                Vec::new()
            } else {
                atoms::conjuncts(hir, &set.literals)
            };
            RegexPlan::Atoms {
                literals: set.literals,
                exact: set.exact,
                also,
            }
        }
        AtomAnalysis::NoAtoms { reason } => RegexPlan::Slow(reason),
    }
}

/// The lowered atoms of `hir`, the case-sensitive reading of a regex, if
/// every one is at least 2 bytes and free of fold-special characters; with
/// the further required sets that pass the same test.
#[allow(clippy::type_complexity)]
fn folded_atoms(hir: &regex_syntax::hir::Hir) -> Option<(Vec<Vec<u8>>, Vec<Vec<Vec<u8>>>)> {
    let AtomAnalysis::Atoms(set) = atoms::analyze(hir) else {
        return None;
    };
    let primary = lowered_set(&set.literals)?;
    let mut also: Vec<Vec<Vec<u8>>> = atoms::conjuncts(hir, &set.literals)
        .iter()
        .filter_map(|g| lowered_set(g))
        .collect();
    also.retain(|g| *g != primary);
    also.dedup();
    Some((primary, also))
}

/// The [`atoms::branch_groups`] of `hir`, every group lowered (none if a
/// group cannot be: see [`lowered_set`]).
fn lowered_branches(hir: &regex_syntax::hir::Hir) -> Option<Vec<Vec<Vec<Vec<u8>>>>> {
    atoms::branch_groups(hir)?
        .iter()
        .map(|groups| {
            let mut lowered: Vec<Vec<Vec<u8>>> = Vec::with_capacity(groups.len());
            for group in groups {
                let group = lowered_set(group)?;
                if !lowered.contains(&group) {
                    lowered.push(group);
                }
            }
            Some(lowered)
        })
        .collect()
}

/// `set` lowered with Python's `str.lower()`, sorted and deduplicated; none
/// if an atom gets shorter than 2 bytes or holds a fold-special character.
pub(super) fn lowered_set(set: &[Vec<u8>]) -> Option<Vec<Vec<u8>>> {
    let mut lowered = Vec::with_capacity(set.len());
    for atom in set {
        let text = std::str::from_utf8(atom).ok()?;
        let mut low = String::new();
        casefold::lower_into(text, &mut low);
        if low.len() < atoms::MIN_ATOM_LEN || low.chars().any(casefold::is_fold_special) {
            return None;
        }
        lowered.push(low.into_bytes());
    }
    lowered.sort();
    lowered.dedup();
    Some(lowered)
}

impl PlanCache {
    /// Records a plan computed earlier (compiled bundles store them; see `crate::bundle`).
    pub(crate) fn insert(&mut self, rust: String, case_insensitive: bool, plan: RegexPlan) {
        if let Some(slot) = self
            .plans
            .entry(rust)
            .or_default()
            .get_mut(usize::from(case_insensitive))
        {
            *slot = Some(Planned { plan, hir: None });
        }
    }

    /// Removes and returns the plan of a regex and its parsed form, if
    /// present (building an engine uses each once; no copy).
    pub(super) fn take(
        &mut self,
        rust: &str,
        case_insensitive: bool,
    ) -> Option<(RegexPlan, Option<regex_syntax::hir::Hir>)> {
        let planned = self
            .plans
            .get_mut(rust)?
            .get_mut(usize::from(case_insensitive))?
            .take()?;
        Some((planned.plan, planned.hir))
    }

    /// The plan of a regex, computed on first use; keeps `hir` (the regex
    /// parsed by [`crate::keywords::keyword_regex::hir`]) for the engine build.
    pub(crate) fn plan(
        &mut self,
        hir: regex_syntax::hir::Hir,
        rust: &str,
        case_insensitive: bool,
    ) -> RegexPlan {
        let slots = self.plans.entry(rust.to_string()).or_default();
        // Two slots (case-sensitive, case-insensitive): always found.
        let Some(slot) = slots.get_mut(usize::from(case_insensitive)) else {
            return plan_regex(&hir, rust, case_insensitive);
        };
        if let Some(planned) = slot {
            return planned.plan.clone();
        }
        let plan = plan_regex(&hir, rust, case_insensitive);
        *slot = Some(Planned {
            plan: plan.clone(),
            hir: Some(hir),
        });
        plan
    }
}

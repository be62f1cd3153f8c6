//! Guardrail verdicts as data: one [`GuardrailReport`] per guardrail per stage, and the
//! [`GuardrailFailure`] that carries every report when a stage cannot continue.
//!
//! Reports separate what may be logged from what may not: `detail` is counts and collection
//! names only, while `excerpts` hold the offending item text and must be treated as sensitive
//! (the telemetry writer encrypts them). Building reports never fails.

use serde::Serialize;

use crate::analysis::words::truncate_words;

/// The generation stage a guardrail ran on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Document to learning pack.
    LearningPack,
    /// Learning pack to games.
    Games,
}

impl Stage {
    /// The snake_case name, matching the telemetry `pipeline` field.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::LearningPack => "learning_pack",
            Self::Games => "games",
        }
    }
}

impl std::fmt::Display for Stage {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// A guardrail's verdict on one stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Every item passed unchanged.
    Passed,
    /// Some items were repaired or removed; enough remain.
    Repaired,
    /// The stage cannot continue.
    Failed,
}

/// What one guardrail did to one stage's artifact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GuardrailReport {
    /// Guardrail name, e.g. `answer_in_options`.
    pub guardrail: &'static str,
    /// Overall verdict.
    pub verdict: Verdict,
    /// Items looked at.
    pub items_checked: u32,
    /// Items changed and kept.
    pub items_repaired: u32,
    /// Items dropped.
    pub items_removed: u32,
    /// Short reason with counts and collection names only; safe to log.
    pub detail: Option<String>,
    /// Text of offending items (at most a few, shortened). Sensitive: document text.
    pub excerpts: Vec<String>,
}

/// A stage stopped by its guardrails, with every report produced so far (the failing one last).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{stage}` guardrail `{guardrail}` failed: {reason}")]
pub struct GuardrailFailure {
    /// The stage that failed.
    pub stage: Stage,
    /// The guardrail that failed it.
    pub guardrail: &'static str,
    /// Why, free of document text.
    pub reason: String,
    /// Reports of every guardrail that ran, including the failing one.
    pub reports: Vec<GuardrailReport>,
}

/// Most excerpts kept per report.
const MAX_EXCERPTS: usize = 5;
/// Longest excerpt kept, in characters.
const MAX_EXCERPT_CHARS: usize = 160;

/// What a check decided for one item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    Keep,
    Repaired,
    Remove,
}

/// Counts for one guardrail while it runs.
pub(crate) struct Tally {
    guardrail: &'static str,
    checked: u32,
    repaired: u32,
    removed: u32,
    by_collection: Vec<(&'static str, u32, u32)>,
    excerpts: Vec<String>,
}

impl Tally {
    pub(crate) fn new(guardrail: &'static str) -> Self {
        Self {
            guardrail,
            checked: 0,
            repaired: 0,
            removed: 0,
            by_collection: Vec::new(),
            excerpts: Vec::new(),
        }
    }

    /// Records a check of one item outside a collection (a title, say).
    pub(crate) fn record(&mut self, collection: &'static str, outcome: Outcome, excerpt: &str) {
        self.checked += 1;
        let (removed, repaired) = match outcome {
            Outcome::Keep => return,
            Outcome::Repaired => {
                self.repaired += 1;
                (0, 1)
            }
            Outcome::Remove => {
                self.removed += 1;
                (1, 0)
            }
        };
        match self
            .by_collection
            .iter_mut()
            .find(|(name, ..)| *name == collection)
        {
            Some(entry) => {
                entry.1 += removed;
                entry.2 += repaired;
            }
            None => self.by_collection.push((collection, removed, repaired)),
        }
        if !excerpt.is_empty() && self.excerpts.len() < MAX_EXCERPTS {
            self.excerpts
                .push(truncate_words(excerpt, MAX_EXCERPT_CHARS));
        }
    }

    /// Runs `check` on every item of a collection, dropping the items it removes.
    pub(crate) fn review<T>(
        &mut self,
        collection: &'static str,
        items: &mut Vec<T>,
        excerpt: impl Fn(&T) -> String,
        mut check: impl FnMut(&mut T) -> Outcome,
    ) {
        items.retain_mut(|item| {
            let outcome = check(item);
            if outcome == Outcome::Keep {
                self.checked += 1;
            } else {
                self.record(collection, outcome, &excerpt(item));
            }
            outcome != Outcome::Remove
        });
    }

    /// The report, with verdict Passed or Repaired.
    pub(crate) fn finish(self) -> GuardrailReport {
        let changed = self.repaired + self.removed > 0;
        let detail = changed.then(|| {
            self.by_collection
                .iter()
                .map(|(collection, removed, repaired)| {
                    format!("{collection}: {removed} removed, {repaired} repaired")
                })
                .collect::<Vec<_>>()
                .join("; ")
        });
        GuardrailReport {
            guardrail: self.guardrail,
            verdict: if changed {
                Verdict::Repaired
            } else {
                Verdict::Passed
            },
            items_checked: self.checked,
            items_repaired: self.repaired,
            items_removed: self.removed,
            detail,
            excerpts: self.excerpts,
        }
    }

    /// The report with verdict Failed and the given reason as its detail.
    pub(crate) fn fail(self, reason: &str) -> GuardrailReport {
        let mut report = self.finish();
        report.verdict = Verdict::Failed;
        report.detail = Some(match report.detail {
            Some(counts) => format!("{reason}; {counts}"),
            None => reason.to_owned(),
        });
        report
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn untouched_items_pass_and_changes_are_counted_by_collection() {
        let mut untouched = Tally::new("unique_items");
        let mut items = vec![1, 2, 3];
        untouched.review(
            "questions",
            &mut items,
            |n| n.to_string(),
            |_| Outcome::Keep,
        );
        let report = untouched.finish();
        assert_eq!(report.verdict, Verdict::Passed);
        assert_eq!(report.items_checked, 3);
        assert_eq!(report.detail, None);

        let mut tally = Tally::new("unique_items");
        let mut items = vec![1, 2, 3, 4];
        tally.review(
            "questions",
            &mut items,
            |n| format!("item {n}"),
            |n| match *n {
                2 => Outcome::Remove,
                3 => {
                    *n = 30;
                    Outcome::Repaired
                }
                _ => Outcome::Keep,
            },
        );
        assert_eq!(items, [1, 30, 4]);
        let report = tally.finish();
        assert_eq!(report.verdict, Verdict::Repaired);
        assert_eq!(
            (
                report.items_checked,
                report.items_repaired,
                report.items_removed
            ),
            (4, 1, 1)
        );
        assert_eq!(
            report.detail.as_deref(),
            Some("questions: 1 removed, 1 repaired")
        );
        assert_eq!(report.excerpts, ["item 2", "item 30"]);
    }

    #[test]
    fn a_failed_report_keeps_its_counts_after_the_reason() {
        let mut tally = Tally::new("item_counts");
        tally.record("concepts", Outcome::Remove, "x");
        let report = tally.fail("`concepts`: `1` left, at least `3` required");
        assert_eq!(report.verdict, Verdict::Failed);
        assert_eq!(
            report.detail.as_deref(),
            Some("`concepts`: `1` left, at least `3` required; concepts: 1 removed, 0 repaired")
        );
    }

    #[test]
    fn excerpts_are_few_and_short() {
        let mut tally = Tally::new("personal_data");
        for _ in 0..20 {
            tally.record("questions", Outcome::Remove, &"word ".repeat(100));
        }
        let report = tally.finish();
        assert_eq!(report.excerpts.len(), MAX_EXCERPTS);
        assert!(
            report
                .excerpts
                .iter()
                .all(|e| e.chars().count() <= MAX_EXCERPT_CHARS)
        );
    }
}

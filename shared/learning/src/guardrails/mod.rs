//! Guardrails on both generation stages, returning their verdicts as data.
//!
//! [`check_pack`] and [`check_games`] run the same named guardrails, in this order, each over
//! every item of the artifact:
//!
//! | guardrail            | what it enforces                                 | on failure            |
//! |----------------------|--------------------------------------------------|-----------------------|
//! | `personal_data`      | no email address or phone number in any text     | item removed          |
//! | `length_limits`      | text lengths within [`GuardrailLimits`]          | shortened or removed  |
//! | `grounded_in_source` | source spans exact, answers and definitions in the source text | span offset corrected; item or option removed |
//! | `answer_in_options`  | the correct answer is offered (options, word bank, true/false flag) | index, option or flag fixed |
//! | `unique_options`     | no duplicate options or word-bank entries        | duplicate dropped     |
//! | `unique_items`       | no duplicate concepts, cards, questions, pairs, statements | duplicate removed |
//! | `schema_valid`       | format version, ids, references, required text   | ids renumbered, dangling references cleared, empty items removed |
//! | `item_counts`        | item counts within [`GuardrailLimits`]           | excess dropped        |
//!
//! The artifact is repaired in place. A guardrail fails the stage only when too few items are
//! left (`item_counts`) or the format version is unknown (`schema_valid`); the returned
//! [`GuardrailFailure`] then still carries every report produced so far, so the caller can emit
//! one telemetry event per guardrail in both cases. The checks are pure: no I/O, no clock.

mod checks;
mod games;
mod grounding;
mod pack;
mod personal_data;
mod report;

pub use report::{GuardrailFailure, GuardrailReport, Stage, Verdict};

use crate::games::Games;
use crate::pack::LearningPack;

/// An inclusive range of allowed item counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CountRange {
    /// Fewest items; fewer fails the stage.
    pub min: usize,
    /// Most items; more are dropped from the end.
    pub max: usize,
}

impl CountRange {
    /// A range from `min` to `max`, both included.
    pub const fn new(min: usize, max: usize) -> Self {
        Self { min, max }
    }

    /// Whether `count` is within the range.
    pub fn contains(&self, count: usize) -> bool {
        (self.min..=self.max).contains(&count)
    }
}

/// Bounds the guardrails enforce. Defaults suit the deterministic generator's output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuardrailLimits {
    /// Summary sentences. Default 1 to 12.
    pub summary_sentences: CountRange,
    /// Outline entries. Default 0 to 200.
    pub outline_entries: CountRange,
    /// Key concepts. Default 3 to 40.
    pub concepts: CountRange,
    /// Flashcards. Default 3 to 40.
    pub flashcards: CountRange,
    /// Pack questions. Default 3 to 30.
    pub questions: CountRange,
    /// Options per multiple-choice question. Default 3 to 6.
    pub options_per_question: CountRange,
    /// Quiz questions. Default 3 to 30.
    pub quiz_questions: CountRange,
    /// Matching pairs. Default 3 to 12.
    pub matching_pairs: CountRange,
    /// Fill-in-the-blank sentences. Default 3 to 20.
    pub fill_in_blank_items: CountRange,
    /// True-or-false statements. Default 2 to 24.
    pub true_false_statements: CountRange,
    /// Longest title; longer is shortened. Default 200.
    pub max_title_chars: usize,
    /// Longest term, card front or word-bank entry; longer is removed. Default 100.
    pub max_term_chars: usize,
    /// Longest definition or card back; longer is shortened. Default 400.
    pub max_text_chars: usize,
    /// Longest question, statement or blanked sentence; longer is removed. Default 600.
    pub max_prompt_chars: usize,
    /// Longest option; longer removes the question. Default 300.
    pub max_option_chars: usize,
    /// Longest source span; longer removes the item. Default 1,000.
    pub max_source_chars: usize,
}

impl Default for GuardrailLimits {
    fn default() -> Self {
        Self {
            summary_sentences: CountRange::new(1, 12),
            outline_entries: CountRange::new(0, 200),
            concepts: CountRange::new(3, 40),
            flashcards: CountRange::new(3, 40),
            questions: CountRange::new(3, 30),
            options_per_question: CountRange::new(3, 6),
            quiz_questions: CountRange::new(3, 30),
            matching_pairs: CountRange::new(3, 12),
            fill_in_blank_items: CountRange::new(3, 20),
            true_false_statements: CountRange::new(2, 24),
            max_title_chars: 200,
            max_term_chars: 100,
            max_text_chars: 400,
            max_prompt_chars: 600,
            max_option_chars: 300,
            max_source_chars: 1_000,
        }
    }
}

/// Checks and repairs a learning pack against the text it was generated from, with the default
/// limits.
///
/// # Errors
///
/// [`GuardrailFailure`] when the pack cannot be used; it holds every report produced.
pub fn check_pack(
    pack: &mut LearningPack,
    source_text: &str,
) -> Result<Vec<GuardrailReport>, GuardrailFailure> {
    check_pack_with_limits(pack, source_text, &GuardrailLimits::default())
}

/// [`check_pack`] with explicit limits.
///
/// # Errors
///
/// [`GuardrailFailure`] when the pack cannot be used; it holds every report produced.
pub fn check_pack_with_limits(
    pack: &mut LearningPack,
    source_text: &str,
    limits: &GuardrailLimits,
) -> Result<Vec<GuardrailReport>, GuardrailFailure> {
    pack::check(pack, source_text, limits)
}

/// Checks and repairs games against the text the pack was generated from, with the default
/// limits.
///
/// # Errors
///
/// [`GuardrailFailure`] when the games cannot be used; it holds every report produced.
pub fn check_games(
    games: &mut Games,
    source_text: &str,
) -> Result<Vec<GuardrailReport>, GuardrailFailure> {
    check_games_with_limits(games, source_text, &GuardrailLimits::default())
}

/// [`check_games`] with explicit limits.
///
/// # Errors
///
/// [`GuardrailFailure`] when the games cannot be used; it holds every report produced.
pub fn check_games_with_limits(
    games: &mut Games,
    source_text: &str,
    limits: &GuardrailLimits,
) -> Result<Vec<GuardrailReport>, GuardrailFailure> {
    games::check(games, source_text, limits)
}

/// Collects reports for one stage and stops at the first failed one.
struct Run {
    stage: Stage,
    reports: Vec<GuardrailReport>,
}

impl Run {
    fn new(stage: Stage) -> Self {
        Self {
            stage,
            reports: Vec::with_capacity(8),
        }
    }

    fn add(&mut self, report: GuardrailReport) -> Result<(), GuardrailFailure> {
        let failed = report.verdict == Verdict::Failed;
        let guardrail = report.guardrail;
        let reason = report.detail.clone().unwrap_or_default();
        self.reports.push(report);
        if failed {
            return Err(GuardrailFailure {
                stage: self.stage,
                guardrail,
                reason,
                reports: std::mem::take(&mut self.reports),
            });
        }
        Ok(())
    }

    fn finish(self) -> Vec<GuardrailReport> {
        self.reports
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn count_ranges_include_both_ends() {
        let range = CountRange::new(3, 5);
        assert!(!range.contains(2));
        assert!(range.contains(3));
        assert!(range.contains(5));
        assert!(!range.contains(6));
    }

    #[test]
    fn a_failed_report_stops_the_run_and_carries_all_reports() {
        let passed = report::Tally::new("personal_data").finish();
        let failed = report::Tally::new("item_counts").fail("`concepts`: `0` left");
        let mut run = Run::new(Stage::Games);
        assert!(run.add(passed).is_ok());
        let failure = run.add(failed).err();
        assert_eq!(failure.as_ref().map(|f| f.reports.len()), Some(2));
        assert_eq!(failure.as_ref().map(|f| f.guardrail), Some("item_counts"));
        assert_eq!(
            failure.map(|f| f.to_string()).as_deref(),
            Some("`games` guardrail `item_counts` failed: `concepts`: `0` left")
        );
    }
}

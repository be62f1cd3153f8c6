//! Item checks shared by both stages: spans, text lengths and multiple-choice questions.
//!
//! Each check returns an [`Outcome`] for one item and may repair it in place (correct an
//! offset, shorten a definition, fix an answer index, drop an ungrounded or duplicate option).
//! Checks never fail; removing the item is the strongest outcome.

use std::collections::HashSet;

use crate::analysis::words::{normalize, truncate_words};
use crate::document::SourceSpan;
use crate::games::{FillInBlankItem, MatchingPair, TrueFalseStatement};
use crate::guardrails::grounding::{SourceText, SpanCheck};
use crate::guardrails::personal_data::contains_personal_data;
use crate::guardrails::report::{Outcome, Tally};
use crate::guardrails::{CountRange, GuardrailLimits};
use crate::pack::{Concept, Flashcard, Question};

/// Keep a span found at its offset, correct one found elsewhere, remove one found nowhere.
pub(crate) fn span(span: &mut SourceSpan, source: &SourceText<'_>) -> Outcome {
    match source.locate(span) {
        SpanCheck::Exact => Outcome::Keep,
        SpanCheck::Moved(offset) => {
            span.offset = offset;
            Outcome::Repaired
        }
        SpanCheck::Missing => Outcome::Remove,
    }
}

/// The stronger of two outcomes.
pub(crate) fn worst(a: Outcome, b: Outcome) -> Outcome {
    match (a, b) {
        (Outcome::Remove, _) | (_, Outcome::Remove) => Outcome::Remove,
        (Outcome::Repaired, _) | (_, Outcome::Repaired) => Outcome::Repaired,
        _ => Outcome::Keep,
    }
}

/// Remove when any text contains personal data.
pub(crate) fn personal_data<'a>(texts: impl IntoIterator<Item = &'a str>) -> Outcome {
    if texts.into_iter().any(contains_personal_data) {
        Outcome::Remove
    } else {
        Outcome::Keep
    }
}

/// Remove when any text is empty after trimming or longer than `max` characters.
pub(crate) fn bounded<'a>(max: usize, texts: impl IntoIterator<Item = &'a str>) -> Outcome {
    let out_of_bounds = texts
        .into_iter()
        .any(|text| text.trim().is_empty() || text.chars().count() > max);
    if out_of_bounds {
        Outcome::Remove
    } else {
        Outcome::Keep
    }
}

/// Shorten text over `max` characters at a word boundary.
pub(crate) fn shorten(text: &mut String, max: usize) -> Outcome {
    if text.chars().count() <= max {
        return Outcome::Keep;
    }
    *text = truncate_words(text, max);
    Outcome::Repaired
}

/// Every text a question shows, with its source sentence.
pub(crate) fn question_texts(question: &Question) -> impl Iterator<Item = &str> {
    [
        question.prompt.as_str(),
        question.answer.as_str(),
        question.source.text.as_str(),
    ]
    .into_iter()
    .chain(question.options.iter().map(String::as_str))
}

/// Prompt, options and source within their limits.
pub(crate) fn question_lengths(question: &Question, limits: &GuardrailLimits) -> Outcome {
    let options = question.options.iter().map(String::as_str);
    worst(
        worst(
            bounded(limits.max_prompt_chars, [question.prompt.as_str()]),
            bounded(
                limits.max_option_chars,
                options.chain([question.answer.as_str()]),
            ),
        ),
        bounded(limits.max_source_chars, [question.source.text.as_str()]),
    )
}

/// The source span and the answer must come from the source; options that do not are dropped,
/// and a question left with too few options is removed.
pub(crate) fn question_grounding(
    question: &mut Question,
    source: &SourceText<'_>,
    limits: &GuardrailLimits,
) -> Outcome {
    let span_outcome = span(&mut question.source, source);
    if span_outcome == Outcome::Remove
        || !source.contains_near(&question.answer, &question.source.text)
    {
        return Outcome::Remove;
    }
    let before = question.options.len();
    let answer = normalize(&question.answer);
    question
        .options
        .retain(|option| normalize(option) == answer || source.contains(option));
    if question.options.len() == before {
        return span_outcome;
    }
    if question.options.len() < limits.options_per_question.min {
        return Outcome::Remove;
    }
    reindex_answer(question);
    Outcome::Repaired
}

/// The answer must be among the options at `answer_index`: a wrong index is corrected, a
/// missing answer replaces the option at the index.
pub(crate) fn question_answer(question: &mut Question) -> Outcome {
    let answer = normalize(&question.answer);
    let index = question.answer_index as usize;
    if question
        .options
        .get(index)
        .is_some_and(|option| normalize(option) == answer)
    {
        return Outcome::Keep;
    }
    if reindex_answer(question) {
        return Outcome::Repaired;
    }
    if question.options.is_empty() || answer.is_empty() {
        return Outcome::Remove;
    }
    let slot = index.min(question.options.len() - 1);
    question.options[slot] = question.answer.clone();
    question.answer_index = u32::try_from(slot).unwrap_or_default();
    Outcome::Repaired
}

/// Options must be distinct once normalized; duplicates are dropped (never the answer), and
/// too few or too many options remove the question.
pub(crate) fn question_unique_options(
    question: &mut Question,
    limits: &GuardrailLimits,
) -> Outcome {
    let answer = normalize(&question.answer);
    let before = question.options.len();
    let normalized: Vec<String> = question
        .options
        .iter()
        .map(|option| normalize(option))
        .collect();
    // The answer's own slot wins over an earlier duplicate of it.
    let indexed = question.answer_index as usize;
    let answer_slot = if normalized.get(indexed) == Some(&answer) {
        Some(indexed)
    } else {
        normalized.iter().position(|option| *option == answer)
    };

    let mut seen = HashSet::new();
    let mut index = 0;
    question.options.retain(|_| {
        let option = &normalized[index];
        let keep = if *option == answer {
            Some(index) == answer_slot
        } else {
            seen.insert(option.clone())
        };
        index += 1;
        keep
    });

    let count = question.options.len();
    if !limits.options_per_question.contains(count) {
        return Outcome::Remove;
    }
    if count == before {
        return Outcome::Keep;
    }
    if !reindex_answer(question) {
        return Outcome::Remove;
    }
    Outcome::Repaired
}

/// Points `answer_index` at the option equal to the answer; false when there is none.
fn reindex_answer(question: &mut Question) -> bool {
    let answer = normalize(&question.answer);
    match question
        .options
        .iter()
        .position(|option| normalize(option) == answer)
    {
        Some(position) => {
            question.answer_index = u32::try_from(position).unwrap_or_default();
            true
        }
        None => false,
    }
}

/// Items with an `id` that must be unique within their collection.
pub(crate) trait Identified {
    fn id_mut(&mut self) -> &mut String;
}

macro_rules! identified {
    ($($item:ty),*) => {
        $(impl Identified for $item {
            fn id_mut(&mut self) -> &mut String {
                &mut self.id
            }
        })*
    };
}

identified!(
    Concept,
    Flashcard,
    Question,
    MatchingPair,
    FillInBlankItem,
    TrueFalseStatement
);

/// Renumbers every id of a collection as `prefix-1`, `prefix-2`, ... when any id is empty or
/// repeated; counts each id that changed as repaired.
pub(crate) fn unique_ids<T: Identified>(
    tally: &mut Tally,
    collection: &'static str,
    prefix: &str,
    items: &mut [T],
) {
    let mut seen = HashSet::new();
    let valid = items.iter_mut().all(|item| {
        let id = item.id_mut();
        !id.trim().is_empty() && seen.insert(id.clone())
    });
    for (index, item) in items.iter_mut().enumerate() {
        let wanted = format!("{prefix}-{}", index + 1);
        let id = item.id_mut();
        let outcome = if valid || *id == wanted {
            Outcome::Keep
        } else {
            *id = wanted;
            Outcome::Repaired
        };
        tally.record(collection, outcome, "");
    }
}

/// Drops items beyond `range.max`; returns a reason when fewer than `range.min` remain.
pub(crate) fn enforce_count<T>(
    tally: &mut Tally,
    collection: &'static str,
    items: &mut Vec<T>,
    range: CountRange,
) -> Option<String> {
    let excess = items.len().saturating_sub(range.max);
    for _ in 0..items.len() - excess {
        tally.record(collection, Outcome::Keep, "");
    }
    for _ in 0..excess {
        tally.record(collection, Outcome::Remove, "");
    }
    items.truncate(range.max);
    (items.len() < range.min).then(|| {
        format!(
            "`{collection}`: `{}` left, at least `{}` required",
            items.len(),
            range.min
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pack::QuestionKind;

    const SOURCE: &str = "Chlorophyll is a green pigment. The stroma is a fluid. \
        Thylakoids are sacs. Glucose is a sugar.";

    fn question(options: &[&str], answer: &str, answer_index: u32) -> Question {
        Question {
            id: "question-1".into(),
            kind: QuestionKind::TermForDefinition,
            concept_id: None,
            prompt: "Which term is described as \"a green pigment\"?".into(),
            options: options.iter().map(|option| (*option).to_owned()).collect(),
            answer_index,
            answer: answer.into(),
            source: SourceSpan {
                text: "Chlorophyll is a green pigment.".into(),
                offset: 0,
            },
        }
    }

    #[test]
    fn repeated_ids_are_renumbered_and_valid_ids_kept() {
        let mut tally = Tally::new("schema_valid");
        let mut valid = vec![question(&[], "", 0), question(&[], "", 0)];
        valid[1].id = "question-9".into();
        unique_ids(&mut tally, "questions", "question", &mut valid);
        assert_eq!(valid[1].id, "question-9");

        let mut repeated = vec![question(&[], "", 0), question(&[], "", 0)];
        unique_ids(&mut tally, "questions", "question", &mut repeated);
        assert_eq!(repeated[1].id, "question-2");
        assert_eq!(tally.finish().items_repaired, 1);
    }

    #[test]
    fn counts_over_the_maximum_are_cut_and_under_the_minimum_reported() {
        let mut tally = Tally::new("item_counts");
        let mut many = vec![1; 10];
        assert_eq!(
            enforce_count(&mut tally, "concepts", &mut many, CountRange::new(3, 4)),
            None
        );
        assert_eq!(many.len(), 4);
        let mut few = vec![1];
        let reason = enforce_count(&mut tally, "concepts", &mut few, CountRange::new(3, 4));
        assert_eq!(
            reason.as_deref(),
            Some("`concepts`: `1` left, at least `3` required")
        );
        let report = tally.finish();
        assert_eq!((report.items_checked, report.items_removed), (11, 6));
    }

    #[test]
    fn a_wrong_answer_index_is_corrected() {
        let mut q = question(&["Stroma", "Chlorophyll", "Glucose"], "Chlorophyll", 0);
        assert_eq!(question_answer(&mut q), Outcome::Repaired);
        assert_eq!(q.answer_index, 1);
    }

    #[test]
    fn a_missing_answer_replaces_the_option_at_its_index() {
        let mut q = question(&["Stroma", "Thylakoids", "Glucose"], "Chlorophyll", 2);
        assert_eq!(question_answer(&mut q), Outcome::Repaired);
        assert_eq!(q.options, ["Stroma", "Thylakoids", "Chlorophyll"]);
        assert_eq!(q.answer_index, 2);
    }

    #[test]
    fn duplicate_options_are_dropped_and_the_answer_reindexed() {
        let limits = GuardrailLimits::default();
        let mut q = question(
            &["stroma", "Stroma!", "Glucose", "Chlorophyll"],
            "Chlorophyll",
            3,
        );
        assert_eq!(question_unique_options(&mut q, &limits), Outcome::Repaired);
        assert_eq!(q.options, ["stroma", "Glucose", "Chlorophyll"]);
        assert_eq!(q.answer_index, 2);

        let mut too_few = question(&["Glucose", "glucose", "Chlorophyll"], "Chlorophyll", 2);
        assert_eq!(
            question_unique_options(&mut too_few, &limits),
            Outcome::Remove
        );
    }

    #[test]
    fn ungrounded_options_are_dropped_and_ungrounded_answers_remove_the_question() {
        let limits = GuardrailLimits::default();
        let source = SourceText::new(SOURCE);
        let mut q = question(
            &["Stroma", "Mitochondria", "Glucose", "Chlorophyll"],
            "Chlorophyll",
            3,
        );
        assert_eq!(
            question_grounding(&mut q, &source, &limits),
            Outcome::Repaired
        );
        assert_eq!(q.options, ["Stroma", "Glucose", "Chlorophyll"]);
        assert_eq!(q.answer_index, 2);

        let mut invented = question(&["Stroma", "Glucose", "Ribosome"], "Ribosome", 2);
        assert_eq!(
            question_grounding(&mut invented, &source, &limits),
            Outcome::Remove
        );
    }

    #[test]
    fn an_answer_duplicated_before_its_slot_keeps_its_slot() {
        let limits = GuardrailLimits::default();
        let mut q = question(
            &[
                "chlorophyll",
                "Stroma",
                "Glucose",
                "Chlorophyll",
                "Thylakoids",
            ],
            "Chlorophyll",
            3,
        );
        assert_eq!(question_unique_options(&mut q, &limits), Outcome::Repaired);
        assert_eq!(
            q.options,
            ["Stroma", "Glucose", "Chlorophyll", "Thylakoids"]
        );
        assert_eq!(q.answer_index, 2);
    }
}

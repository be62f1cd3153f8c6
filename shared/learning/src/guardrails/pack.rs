//! The guardrails, in order, applied to a learning pack.
//!
//! See the parent module for what each guardrail enforces. Here each one walks the pack's
//! collections (summary, outline, concepts, flashcards, questions) and records one outcome per
//! item. Only `schema_valid` (unknown format version) and `item_counts` (too few items) fail.

use std::collections::HashSet;

use crate::analysis::words::{normalize, term_key};
use crate::guardrails::checks::{
    self, bounded, enforce_count, personal_data, question_texts, shorten, unique_ids, worst,
};
use crate::guardrails::grounding::SourceText;
use crate::guardrails::personal_data::contains_personal_data;
use crate::guardrails::report::{GuardrailReport, Outcome, Tally};
use crate::guardrails::{GuardrailFailure, GuardrailLimits, Run, Stage};
use crate::pack::{LearningPack, PACK_FORMAT_VERSION};

const UNTITLED: &str = "Untitled document";

pub(crate) fn check(
    pack: &mut LearningPack,
    source_text: &str,
    limits: &GuardrailLimits,
) -> Result<Vec<GuardrailReport>, GuardrailFailure> {
    let source = SourceText::new(source_text);
    let mut run = Run::new(Stage::LearningPack);
    run.add(no_personal_data(pack))?;
    run.add(length_limits(pack, limits))?;
    run.add(grounded_in_source(pack, &source, limits))?;
    run.add(answer_in_options(pack))?;
    run.add(unique_options(pack, limits))?;
    run.add(unique_items(pack))?;
    run.add(schema_valid(pack))?;
    run.add(item_counts(pack, limits))?;
    Ok(run.finish())
}

fn no_personal_data(pack: &mut LearningPack) -> GuardrailReport {
    let mut tally = Tally::new("personal_data");
    let title = if contains_personal_data(&pack.title) {
        pack.title = UNTITLED.to_owned();
        Outcome::Repaired
    } else {
        Outcome::Keep
    };
    tally.record("title", title, "");
    tally.review(
        "summary",
        &mut pack.summary,
        |s| s.text.clone(),
        |s| personal_data([s.text.as_str()]),
    );
    tally.review(
        "outline",
        &mut pack.outline,
        |e| e.heading.clone(),
        |entry| {
            if contains_personal_data(&entry.heading) {
                return Outcome::Remove;
            }
            match &entry.lead {
                Some(lead) if contains_personal_data(&lead.text) => {
                    entry.lead = None;
                    Outcome::Repaired
                }
                _ => Outcome::Keep,
            }
        },
    );
    tally.review(
        "concepts",
        &mut pack.concepts,
        |c| c.source.text.clone(),
        |c| personal_data([c.term.as_str(), &c.definition, &c.source.text]),
    );
    tally.review(
        "flashcards",
        &mut pack.flashcards,
        |f| f.source.text.clone(),
        |f| personal_data([f.front.as_str(), &f.back, &f.source.text]),
    );
    tally.review(
        "questions",
        &mut pack.questions,
        |q| q.prompt.clone(),
        |q| personal_data(question_texts(q)),
    );
    tally.finish()
}

fn length_limits(pack: &mut LearningPack, limits: &GuardrailLimits) -> GuardrailReport {
    let mut tally = Tally::new("length_limits");
    let excerpt = pack.title.clone();
    tally.record(
        "title",
        shorten(&mut pack.title, limits.max_title_chars),
        &excerpt,
    );
    tally.review(
        "summary",
        &mut pack.summary,
        |s| s.text.clone(),
        |s| bounded(limits.max_source_chars, [s.text.as_str()]),
    );
    tally.review(
        "outline",
        &mut pack.outline,
        |e| e.heading.clone(),
        |entry| {
            let heading = shorten(&mut entry.heading, limits.max_title_chars);
            let long_lead = entry
                .lead
                .as_ref()
                .is_some_and(|lead| lead.text.chars().count() > limits.max_source_chars);
            if long_lead {
                entry.lead = None;
                return Outcome::Repaired;
            }
            heading
        },
    );
    tally.review(
        "concepts",
        &mut pack.concepts,
        |c| c.term.clone(),
        |c| {
            let kept = worst(
                bounded(limits.max_term_chars, [c.term.as_str()]),
                bounded(limits.max_source_chars, [c.source.text.as_str()]),
            );
            worst(kept, shorten(&mut c.definition, limits.max_text_chars))
        },
    );
    tally.review(
        "flashcards",
        &mut pack.flashcards,
        |f| f.front.clone(),
        |f| {
            let kept = worst(
                bounded(limits.max_term_chars, [f.front.as_str()]),
                bounded(limits.max_source_chars, [f.source.text.as_str()]),
            );
            worst(kept, shorten(&mut f.back, limits.max_text_chars))
        },
    );
    tally.review(
        "questions",
        &mut pack.questions,
        |q| q.prompt.clone(),
        |q| checks::question_lengths(q, limits),
    );
    tally.finish()
}

fn grounded_in_source(
    pack: &mut LearningPack,
    source: &SourceText<'_>,
    limits: &GuardrailLimits,
) -> GuardrailReport {
    let mut tally = Tally::new("grounded_in_source");
    tally.review(
        "summary",
        &mut pack.summary,
        |s| s.text.clone(),
        |s| checks::span(s, source),
    );
    tally.review(
        "outline",
        &mut pack.outline,
        |e| e.heading.clone(),
        |entry| {
            if !source.contains_line(&entry.heading) {
                return Outcome::Remove;
            }
            match entry.lead.as_mut().map(|lead| checks::span(lead, source)) {
                Some(Outcome::Remove) => {
                    entry.lead = None;
                    Outcome::Repaired
                }
                Some(outcome) => outcome,
                None => Outcome::Keep,
            }
        },
    );
    tally.review(
        "concepts",
        &mut pack.concepts,
        |c| c.term.clone(),
        |c| {
            let span = checks::span(&mut c.source, source);
            let near = c.source.text.as_str();
            let grounded = span != Outcome::Remove
                && source.contains_near(&c.term, near)
                && source.contains_filled_near(&c.definition, &c.term, near);
            if grounded { span } else { Outcome::Remove }
        },
    );
    tally.review(
        "flashcards",
        &mut pack.flashcards,
        |f| f.front.clone(),
        |f| {
            let span = checks::span(&mut f.source, source);
            let near = f.source.text.as_str();
            let grounded = span != Outcome::Remove
                && source.contains_near(&f.front, near)
                && source.contains_filled_near(&f.back, &f.front, near);
            if grounded { span } else { Outcome::Remove }
        },
    );
    tally.review(
        "questions",
        &mut pack.questions,
        |q| q.prompt.clone(),
        |q| checks::question_grounding(q, source, limits),
    );
    tally.finish()
}

fn answer_in_options(pack: &mut LearningPack) -> GuardrailReport {
    let mut tally = Tally::new("answer_in_options");
    tally.review(
        "questions",
        &mut pack.questions,
        |q| q.prompt.clone(),
        checks::question_answer,
    );
    tally.finish()
}

fn unique_options(pack: &mut LearningPack, limits: &GuardrailLimits) -> GuardrailReport {
    let mut tally = Tally::new("unique_options");
    tally.review(
        "questions",
        &mut pack.questions,
        |q| q.prompt.clone(),
        |q| checks::question_unique_options(q, limits),
    );
    tally.finish()
}

fn unique_items(pack: &mut LearningPack) -> GuardrailReport {
    let mut tally = Tally::new("unique_items");
    let mut seen = HashSet::new();
    tally.review(
        "summary",
        &mut pack.summary,
        |s| s.text.clone(),
        |s| first(&mut seen, normalize(&s.text)),
    );
    let mut seen = HashSet::new();
    tally.review(
        "concepts",
        &mut pack.concepts,
        |c| c.term.clone(),
        |c| first(&mut seen, term_key(&c.term)),
    );
    let mut seen = HashSet::new();
    tally.review(
        "flashcards",
        &mut pack.flashcards,
        |f| f.front.clone(),
        |f| first(&mut seen, normalize(&f.front)),
    );
    let mut seen = HashSet::new();
    tally.review(
        "questions",
        &mut pack.questions,
        |q| q.prompt.clone(),
        |q| first(&mut seen, normalize(&q.prompt)),
    );
    tally.finish()
}

/// Keep the first item with a key, remove later ones.
pub(crate) fn first(seen: &mut HashSet<String>, key: String) -> Outcome {
    if seen.insert(key) {
        Outcome::Keep
    } else {
        Outcome::Remove
    }
}

fn schema_valid(pack: &mut LearningPack) -> GuardrailReport {
    let mut tally = Tally::new("schema_valid");
    if pack.format_version != PACK_FORMAT_VERSION {
        return tally.fail(&format!(
            "unsupported `format_version` `{}`, expected `{PACK_FORMAT_VERSION}`",
            pack.format_version
        ));
    }
    let title = if pack.title.trim().is_empty() {
        pack.title = UNTITLED.to_owned();
        Outcome::Repaired
    } else {
        Outcome::Keep
    };
    tally.record("title", title, "");

    let unlimited = usize::MAX;
    tally.review(
        "summary",
        &mut pack.summary,
        |s| s.text.clone(),
        |s| bounded(unlimited, [s.text.as_str()]),
    );
    tally.review(
        "outline",
        &mut pack.outline,
        |e| e.heading.clone(),
        |entry| {
            if entry.heading.trim().is_empty() {
                return Outcome::Remove;
            }
            let level = entry.level.clamp(1, 6);
            if level == entry.level {
                return Outcome::Keep;
            }
            entry.level = level;
            Outcome::Repaired
        },
    );
    tally.review(
        "concepts",
        &mut pack.concepts,
        |c| c.term.clone(),
        |c| bounded(unlimited, [c.term.as_str(), &c.definition]),
    );
    tally.review(
        "flashcards",
        &mut pack.flashcards,
        |f| f.front.clone(),
        |f| bounded(unlimited, [f.front.as_str(), &f.back]),
    );
    tally.review(
        "questions",
        &mut pack.questions,
        |q| q.prompt.clone(),
        |q| {
            let index_valid = (q.answer_index as usize) < q.options.len();
            let filled = bounded(unlimited, [q.prompt.as_str(), &q.answer]);
            if index_valid { filled } else { Outcome::Remove }
        },
    );

    unique_ids(&mut tally, "concepts", "concept", &mut pack.concepts);
    unique_ids(&mut tally, "flashcards", "flashcard", &mut pack.flashcards);
    unique_ids(&mut tally, "questions", "question", &mut pack.questions);

    let concept_ids: HashSet<String> = pack.concepts.iter().map(|c| c.id.clone()).collect();
    let dangling = |reference: &mut Option<String>| {
        if reference
            .as_ref()
            .is_some_and(|id| !concept_ids.contains(id))
        {
            *reference = None;
            return Outcome::Repaired;
        }
        Outcome::Keep
    };
    tally.review(
        "flashcards",
        &mut pack.flashcards,
        |f| f.front.clone(),
        |f| dangling(&mut f.concept_id),
    );
    tally.review(
        "questions",
        &mut pack.questions,
        |q| q.prompt.clone(),
        |q| dangling(&mut q.concept_id),
    );
    tally.finish()
}

fn item_counts(pack: &mut LearningPack, limits: &GuardrailLimits) -> GuardrailReport {
    let mut tally = Tally::new("item_counts");
    let reasons: Vec<String> = [
        enforce_count(
            &mut tally,
            "summary",
            &mut pack.summary,
            limits.summary_sentences,
        ),
        enforce_count(
            &mut tally,
            "outline",
            &mut pack.outline,
            limits.outline_entries,
        ),
        enforce_count(&mut tally, "concepts", &mut pack.concepts, limits.concepts),
        enforce_count(
            &mut tally,
            "flashcards",
            &mut pack.flashcards,
            limits.flashcards,
        ),
        enforce_count(
            &mut tally,
            "questions",
            &mut pack.questions,
            limits.questions,
        ),
    ]
    .into_iter()
    .flatten()
    .collect();
    if reasons.is_empty() {
        tally.finish()
    } else {
        tally.fail(&reasons.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::{DocumentKind, SourceSpan};
    use crate::guardrails::Verdict;
    use crate::pack::{
        Concept, ConceptOrigin, DocumentInfo, Flashcard, GeneratorInfo, OutlineEntry, Question,
        QuestionKind,
    };

    const SOURCE: &str = "Leaves\n\nChlorophyll is a green pigment. The stroma is a fluid. \
        A thylakoid is a sac. Glucose is a sugar. Ask Ms. Reed at reed@example.org for help.";

    fn span(text: &str) -> SourceSpan {
        SourceSpan {
            text: text.into(),
            offset: SOURCE.find(text).unwrap_or(0),
        }
    }

    fn concept(index: usize, term: &str, definition: &str, sentence: &str) -> Concept {
        Concept {
            id: format!("concept-{index}"),
            term: term.into(),
            definition: definition.into(),
            origin: ConceptOrigin::Definition,
            link: Some("is".into()),
            mentions: 1,
            source: span(sentence),
        }
    }

    fn question(index: usize, answer: &str, options: &[&str], sentence: &str) -> Question {
        Question {
            id: format!("question-{index}"),
            kind: QuestionKind::TermForDefinition,
            concept_id: Some(format!("concept-{index}")),
            prompt: format!("Which term is meant by sentence {index}?"),
            options: options.iter().map(|o| (*o).to_owned()).collect(),
            answer_index: options
                .iter()
                .position(|o| *o == answer)
                .map_or(0, |p| p as u32),
            answer: answer.into(),
            source: span(sentence),
        }
    }

    fn pack() -> LearningPack {
        let concepts = vec![
            concept(
                1,
                "Chlorophyll",
                "a green pigment",
                "Chlorophyll is a green pigment.",
            ),
            concept(2, "stroma", "a fluid", "The stroma is a fluid."),
            concept(3, "thylakoid", "a sac", "A thylakoid is a sac."),
            concept(4, "Glucose", "a sugar", "Glucose is a sugar."),
        ];
        let flashcards = concepts
            .iter()
            .enumerate()
            .map(|(index, c)| Flashcard {
                id: format!("flashcard-{}", index + 1),
                concept_id: Some(c.id.clone()),
                front: c.term.clone(),
                back: c.definition.clone(),
                source: c.source.clone(),
            })
            .collect();
        let options = ["Chlorophyll", "Stroma", "Thylakoid", "Glucose"];
        let questions = vec![
            question(
                1,
                "Chlorophyll",
                &options,
                "Chlorophyll is a green pigment.",
            ),
            question(2, "Stroma", &options, "The stroma is a fluid."),
            question(3, "Thylakoid", &options, "A thylakoid is a sac."),
            question(4, "Glucose", &options, "Glucose is a sugar."),
        ];
        LearningPack {
            format_version: PACK_FORMAT_VERSION,
            generator: GeneratorInfo {
                name: "test".into(),
                version: "1".into(),
            },
            document: DocumentInfo {
                kind: DocumentKind::PlainText,
                pages: None,
                characters: SOURCE.len() as u64,
                words: 20,
            },
            title: "Leaves".into(),
            summary: vec![span("Chlorophyll is a green pigment.")],
            outline: vec![OutlineEntry {
                heading: "Leaves".into(),
                level: 1,
                lead: Some(span("Chlorophyll is a green pigment.")),
            }],
            concepts,
            flashcards,
            questions,
        }
    }

    fn report<'a>(reports: &'a [GuardrailReport], name: &str) -> Option<&'a GuardrailReport> {
        reports.iter().find(|report| report.guardrail == name)
    }

    #[test]
    fn a_clean_pack_passes_every_guardrail_unchanged() {
        let mut checked = pack();
        let reports = check(&mut checked, SOURCE, &GuardrailLimits::default()).ok();
        let reports = reports.unwrap_or_default();
        let names: Vec<&str> = reports.iter().map(|r| r.guardrail).collect();
        assert_eq!(
            names,
            [
                "personal_data",
                "length_limits",
                "grounded_in_source",
                "answer_in_options",
                "unique_options",
                "unique_items",
                "schema_valid",
                "item_counts"
            ]
        );
        assert!(
            reports.iter().all(|r| r.verdict == Verdict::Passed),
            "{reports:?}"
        );
        assert_eq!(checked, pack());
    }

    #[test]
    fn invented_definitions_and_contact_details_are_removed_and_reported() {
        let mut broken = pack();
        broken.concepts.push(concept(
            5,
            "Ribosome",
            "a protein factory",
            "Glucose is a sugar.",
        ));
        broken.questions[0].prompt = "Email reed@example.org: which term is green?".into();
        broken.questions[1].answer_index = 0;

        let reports = check(&mut broken, SOURCE, &GuardrailLimits::default()).unwrap_or_default();

        let privacy = report(&reports, "personal_data");
        assert_eq!(
            privacy.map(|r| (r.verdict, r.items_removed)),
            Some((Verdict::Repaired, 1))
        );
        assert!(
            privacy
                .is_some_and(|r| r.detail.as_deref() == Some("questions: 1 removed, 0 repaired"))
        );
        assert!(privacy.is_some_and(|r| r.excerpts[0].contains("reed@example.org")));

        let grounding = report(&reports, "grounded_in_source");
        assert_eq!(grounding.map(|r| r.items_removed), Some(1));
        assert!(broken.concepts.iter().all(|c| c.term != "Ribosome"));

        let answers = report(&reports, "answer_in_options");
        assert_eq!(answers.map(|r| r.items_repaired), Some(1));
        assert!(
            broken
                .questions
                .iter()
                .all(|q| q.options[q.answer_index as usize] == q.answer)
        );
        let rendered = serde_json::to_string(&broken).unwrap_or_default();
        assert!(!rendered.contains("reed@example.org"));
    }

    #[test]
    fn too_few_items_fail_the_stage_with_every_report() {
        let mut thin = pack();
        thin.concepts.truncate(2);
        let failure = check(&mut thin, SOURCE, &GuardrailLimits::default()).err();
        assert_eq!(failure.as_ref().map(|f| f.guardrail), Some("item_counts"));
        assert_eq!(failure.as_ref().map(|f| f.reports.len()), Some(8));
        assert_eq!(
            failure.as_ref().map(|f| f.reason.as_str()),
            Some("`concepts`: `2` left, at least `3` required")
        );
        assert_eq!(
            failure.and_then(|f| f.reports.last().map(|r| r.verdict)),
            Some(Verdict::Failed)
        );
    }

    #[test]
    fn an_unknown_format_version_fails_schema_validation() {
        let mut future = pack();
        future.format_version = 2;
        let failure = check(&mut future, SOURCE, &GuardrailLimits::default()).err();
        assert_eq!(failure.map(|f| f.guardrail), Some("schema_valid"));
    }

    #[test]
    fn duplicates_are_removed_and_ids_and_references_repaired() {
        let mut repeated = pack();
        repeated.questions.push(repeated.questions[0].clone());
        repeated.concepts[1].id = "concept-1".into();
        let reports = check(&mut repeated, SOURCE, &GuardrailLimits::default()).unwrap_or_default();

        assert_eq!(
            report(&reports, "unique_items").map(|r| r.items_removed),
            Some(1)
        );
        assert_eq!(repeated.questions.len(), 4);
        let ids: Vec<&str> = repeated.concepts.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["concept-1", "concept-2", "concept-3", "concept-4"]);
        assert!(report(&reports, "schema_valid").is_some_and(|r| r.items_repaired >= 1));
    }

    #[test]
    fn long_definitions_are_shortened_and_long_terms_removed() {
        let filler = "that absorbs light ".repeat(30);
        let source = format!("{SOURCE} Chlorophyll is a green pigment {filler}");
        let mut long = pack();
        long.concepts[0].definition = format!("a green pigment {filler}");
        long.concepts[1].term = "stroma ".repeat(30);
        let reports = check(&mut long, &source, &GuardrailLimits::default()).unwrap_or_default();
        let lengths = report(&reports, "length_limits");
        assert_eq!(
            lengths.map(|r| (r.items_repaired, r.items_removed)),
            Some((1, 1))
        );
        assert!(long.concepts[0].definition.ends_with('…'));
        assert!(long.concepts[0].definition.chars().count() <= 400);
    }
}

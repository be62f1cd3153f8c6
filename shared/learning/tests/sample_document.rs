//! The whole pipeline on the photosynthesis sample and on a generated PDF: extraction,
//! generation, guardrails, and what a learner would see.

mod support;

use std::collections::HashSet;

use packforge_learning::{
    BLANK, ConceptOrigin, DeterministicGenerator, ExtractOptions, ExtractedDocument, Games,
    Generator, LearningPack, Verdict, check_games, check_pack, extract,
};
use support::{fixtures, normalized};

struct Run {
    document: ExtractedDocument,
    pack: LearningPack,
    games: Games,
    verdicts: Vec<(&'static str, Verdict)>,
}

fn run(bytes: &[u8], key: &str) -> Run {
    let document = extract(bytes, key, &ExtractOptions::default()).expect("document extracts");
    let generator = DeterministicGenerator::default();
    let mut pack = generator.generate_pack(&document).expect("pack generates");
    let pack_reports = check_pack(&mut pack, &document.text).expect("pack passes guardrails");
    let mut games = generator.generate_games(&pack).expect("games generate");
    let games_reports = check_games(&mut games, &document.text).expect("games pass guardrails");
    let verdicts = pack_reports
        .iter()
        .chain(&games_reports)
        .map(|report| (report.guardrail, report.verdict))
        .collect();
    Run {
        document,
        pack,
        games,
        verdicts,
    }
}

fn sample_run() -> Run {
    run(&support::sample(), "uploads/biology/photosynthesis.md")
}

/// Whether `claim` appears in `source` once both are normalized.
fn grounded(source: &str, claim: &str) -> bool {
    let claim = normalized(claim.trim_end_matches('…'));
    !claim.is_empty() && format!(" {} ", normalized(source)).contains(&format!(" {claim}"))
}

#[test]
fn the_sample_yields_a_substantial_pack_and_four_non_empty_games() {
    let run = sample_run();

    assert_eq!(run.pack.title, "Photosynthesis: How Plants Capture Light");
    assert!(
        run.pack.concepts.len() >= 5,
        "{} concepts",
        run.pack.concepts.len()
    );
    assert!(
        run.pack.flashcards.len() >= 5,
        "{} flashcards",
        run.pack.flashcards.len()
    );
    assert!(
        run.pack.questions.len() >= 5,
        "{} questions",
        run.pack.questions.len()
    );
    assert!(
        run.pack.summary.len() >= 3,
        "{} summary sentences",
        run.pack.summary.len()
    );
    assert!(
        run.pack.outline.len() >= 5,
        "{} outline entries",
        run.pack.outline.len()
    );

    assert!(!run.games.quiz.questions.is_empty());
    assert!(!run.games.matching.pairs.is_empty());
    assert!(!run.games.fill_in_blank.items.is_empty());
    assert!(!run.games.true_false.statements.is_empty());
    assert_eq!(run.verdicts.len(), 16);
}

#[test]
fn the_sample_concepts_include_its_stated_definitions() {
    let run = sample_run();
    let terms: HashSet<String> = run
        .pack
        .concepts
        .iter()
        .map(|c| normalized(&c.term))
        .collect();
    for expected in [
        "photosynthesis",
        "chlorophyll",
        "stroma",
        "calvin cycle",
        "autotrophs",
        "photolysis",
    ] {
        assert!(terms.contains(expected), "missing {expected}: {terms:?}");
    }
    let chlorophyll = run.pack.concepts.iter().find(|c| c.term == "Chlorophyll");
    assert_eq!(
        chlorophyll.map(|c| (c.origin, c.definition.as_str())),
        Some((
            ConceptOrigin::Definition,
            "the green pigment that absorbs light energy inside the chloroplast"
        ))
    );
}

#[test]
fn every_definition_and_answer_appears_in_the_source_text() {
    let run = sample_run();
    let source = &run.document.text;

    for concept in &run.pack.concepts {
        assert!(grounded(source, &concept.term), "{concept:?}");
        assert!(
            grounded(source, &concept.definition.replace(BLANK, &concept.term)),
            "{concept:?}"
        );
        assert!(concept.source.matches(source), "{concept:?}");
    }
    for card in &run.pack.flashcards {
        assert!(grounded(source, &card.back), "{card:?}");
    }
    for question in run.pack.questions.iter().chain(&run.games.quiz.questions) {
        assert!(grounded(source, &question.answer), "{question:?}");
        assert!(question.source.matches(source), "{question:?}");
    }
    for pair in &run.games.matching.pairs {
        assert!(
            grounded(source, &pair.definition.replace(BLANK, &pair.term)),
            "{pair:?}"
        );
    }
    for item in &run.games.fill_in_blank.items {
        assert!(
            grounded(source, &item.text.replace(BLANK, &item.answer)),
            "{item:?}"
        );
    }
    for statement in &run.games.true_false.statements {
        let truth = statement.definition.replace(BLANK, &statement.correct_term);
        assert!(grounded(source, &truth), "{statement:?}");
        assert!(statement.source.matches(source), "{statement:?}");
    }
    for span in &run.pack.summary {
        assert!(span.matches(source), "{span:?}");
    }
}

#[test]
fn every_question_offers_its_answer_once_among_distinct_options() {
    let run = sample_run();
    for question in run.pack.questions.iter().chain(&run.games.quiz.questions) {
        let index = question.answer_index as usize;
        assert_eq!(
            question.options.get(index),
            Some(&question.answer),
            "{question:?}"
        );
        let distinct: HashSet<String> = question.options.iter().map(|o| normalized(o)).collect();
        assert_eq!(distinct.len(), question.options.len(), "{question:?}");
        assert!((3..=6).contains(&question.options.len()), "{question:?}");
    }
    let positions: HashSet<u32> = run.pack.questions.iter().map(|q| q.answer_index).collect();
    assert!(positions.len() >= 3, "answers cluster at {positions:?}");
}

#[test]
fn games_are_consistent_with_their_answers() {
    let run = sample_run();

    let bank: HashSet<String> = run
        .games
        .fill_in_blank
        .word_bank
        .iter()
        .map(|w| normalized(w))
        .collect();
    for item in &run.games.fill_in_blank.items {
        assert!(item.text.contains(BLANK), "{item:?}");
        assert!(
            bank.contains(&normalized(&item.answer)),
            "{item:?} not in {bank:?}"
        );
    }

    let statements = &run.games.true_false.statements;
    assert!(statements.iter().any(|s| s.answer) && statements.iter().any(|s| !s.answer));
    for statement in statements {
        assert_eq!(
            statement.answer,
            statement.term == statement.correct_term,
            "{statement:?}"
        );
    }
    let falsehoods = statements.iter().filter(|s| !s.answer);
    for statement in falsehoods {
        let owner = run
            .pack
            .concepts
            .iter()
            .find(|c| c.term == statement.correct_term);
        assert!(
            owner.is_some_and(|c| c.definition == statement.definition),
            "{statement:?}"
        );
    }
}

#[test]
fn contact_details_in_the_document_never_reach_learners() {
    let run = sample_run();
    assert!(run.document.text.contains("science.office@example.org"));

    let pack = serde_json::to_string(&run.pack).expect("pack serializes");
    let games = serde_json::to_string(&run.games).expect("games serialize");
    for artifact in [pack, games] {
        assert!(!artifact.contains("example.org"));
        assert!(!artifact.contains("555-014-2368"));
    }
}

#[test]
fn the_same_upload_always_gives_the_same_artifacts() {
    let first = sample_run();
    let second = sample_run();
    assert_eq!(first.pack, second.pack);
    assert_eq!(first.games, second.games);
}

#[test]
fn a_generated_pdf_goes_through_the_whole_pipeline() {
    let run = run(
        &fixtures::water_cycle_pdf(12),
        "uploads/earth/water-cycle.pdf",
    );

    assert_eq!(run.pack.document.pages, Some(12));
    let terms: HashSet<String> = run
        .pack
        .concepts
        .iter()
        .map(|c| normalized(&c.term))
        .collect();
    for expected in ["evaporation", "condensation", "aquifer", "runoff"] {
        assert!(terms.contains(expected), "missing {expected}: {terms:?}");
    }
    assert!(run.pack.questions.len() >= 5);
    assert!(run.games.true_false.statements.len() >= 2);
}

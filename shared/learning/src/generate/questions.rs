//! Multiple-choice questions and flashcards built from concepts and summary sentences.
//!
//! Each concept yields one question: phrase definitions alternate between "which term is
//! described as ..." and "which description fits ...", blanked sentences become "complete the
//! sentence", and a heading's lead sentence asks which topic it introduces. Summary sentences
//! that name a concept add sentence-completion questions. A question is only emitted with at
//! least two distractors; option order is shuffled from a content seed. Nothing here fails.

use std::collections::HashSet;

use crate::analysis::words::{capitalize_first, lowercase_first_word};
use crate::document::SourceSpan;
use crate::generate::concepts::mask;
use crate::generate::distractors::DistractorPool;
use crate::generate::seed::SeededRng;
use crate::pack::{BLANK, Concept, Flashcard, Question, QuestionKind};

/// Wrong options per question when the document offers enough.
const DISTRACTORS: usize = 3;
/// Fewest wrong options for a question to be worth asking.
const MIN_DISTRACTORS: usize = 2;

/// Up to `max` questions with ids `question-1`, `question-2`, ...
pub(crate) fn build_questions(
    concepts: &[Concept],
    summary: &[SourceSpan],
    pool: &DistractorPool,
    rng: &mut SeededRng,
    max: usize,
) -> Vec<Question> {
    let mut drafts = Vec::new();
    let mut phrase_turn = 0;
    for concept in concepts {
        let draft = if concept.origin.defines_by_phrase() && !concept.definition.contains(BLANK) {
            phrase_turn += 1;
            let ask_definition = phrase_turn % 2 == 0 && pool.definition_count() > MIN_DISTRACTORS;
            if ask_definition {
                definition_for_term(concept, pool, rng)
            } else {
                term_for_definition(concept, pool, rng)
            }
        } else if concept.definition.contains(BLANK) {
            complete_sentence(&concept.definition, concept, &concept.source, pool, rng)
        } else {
            topic_of_sentence(concept, pool, rng)
        };
        drafts.extend(draft);
    }

    let used: HashSet<usize> = concepts
        .iter()
        .map(|concept| concept.source.offset)
        .collect();
    for span in summary.iter().filter(|span| !used.contains(&span.offset)) {
        let mut by_length: Vec<&Concept> = concepts.iter().collect();
        by_length.sort_by_key(|concept| std::cmp::Reverse(concept.term.len()));
        let found = by_length
            .into_iter()
            .find_map(|concept| mask(&span.text, &concept.term).map(|masked| (concept, masked)));
        if let Some((concept, masked)) = found {
            drafts.extend(complete_sentence(&masked, concept, span, pool, rng));
        }
    }

    drafts.truncate(max);
    for (index, question) in drafts.iter_mut().enumerate() {
        question.id = format!("question-{}", index + 1);
    }
    drafts
}

fn term_for_definition(
    concept: &Concept,
    pool: &DistractorPool,
    rng: &mut SeededRng,
) -> Option<Question> {
    let prompt = format!(
        "Which term is described as \"{}\"?",
        lowercase_first_word(&concept.definition)
    );
    let distractors = pool.terms_for(&concept.term, &prompt, DISTRACTORS, rng);
    assemble(
        QuestionKind::TermForDefinition,
        concept,
        prompt,
        capitalize_first(&concept.term),
        distractors,
        &concept.source,
        rng,
    )
}

fn definition_for_term(
    concept: &Concept,
    pool: &DistractorPool,
    rng: &mut SeededRng,
) -> Option<Question> {
    let prompt = format!("Which description fits {}?", concept.term);
    let answer = capitalize_first(&concept.definition);
    let distractors = pool.definitions_for(
        &concept.id,
        &concept.term,
        &concept.definition,
        DISTRACTORS,
        rng,
    );
    if distractors.len() < MIN_DISTRACTORS {
        return term_for_definition(concept, pool, rng);
    }
    assemble(
        QuestionKind::DefinitionForTerm,
        concept,
        prompt,
        answer,
        distractors,
        &concept.source,
        rng,
    )
}

fn topic_of_sentence(
    concept: &Concept,
    pool: &DistractorPool,
    rng: &mut SeededRng,
) -> Option<Question> {
    let prompt = format!(
        "Which topic does this sentence introduce: \"{}\"",
        concept.definition
    );
    let distractors = pool.terms_for(&concept.term, &prompt, DISTRACTORS, rng);
    assemble(
        QuestionKind::TermForDefinition,
        concept,
        prompt,
        capitalize_first(&concept.term),
        distractors,
        &concept.source,
        rng,
    )
}

fn complete_sentence(
    masked: &str,
    concept: &Concept,
    source: &SourceSpan,
    pool: &DistractorPool,
    rng: &mut SeededRng,
) -> Option<Question> {
    let prompt = format!("Which term completes the sentence: \"{masked}\"");
    let distractors = pool.terms_for(&concept.term, &prompt, DISTRACTORS, rng);
    assemble(
        QuestionKind::CompleteSentence,
        concept,
        prompt,
        capitalize_first(&concept.term),
        distractors,
        source,
        rng,
    )
}

fn assemble(
    kind: QuestionKind,
    concept: &Concept,
    prompt: String,
    answer: String,
    distractors: Vec<String>,
    source: &SourceSpan,
    rng: &mut SeededRng,
) -> Option<Question> {
    if distractors.len() < MIN_DISTRACTORS {
        return None;
    }
    let mut options = distractors;
    options.push(answer.clone());
    rng.shuffle(&mut options);
    let answer_index = options.iter().position(|option| *option == answer)?;
    Some(Question {
        id: String::new(),
        kind,
        concept_id: Some(concept.id.clone()),
        prompt,
        options,
        answer_index: u32::try_from(answer_index).ok()?,
        answer,
        source: source.clone(),
    })
}

/// One flashcard per concept (up to `max`): the term on the front; the phrase definition, or
/// the whole source sentence, on the back.
pub(crate) fn build_flashcards(concepts: &[Concept], max: usize) -> Vec<Flashcard> {
    concepts
        .iter()
        .take(max)
        .enumerate()
        .map(|(index, concept)| {
            let back = if concept.origin.defines_by_phrase() {
                capitalize_first(&concept.definition)
            } else {
                concept.source.text.clone()
            };
            Flashcard {
                id: format!("flashcard-{}", index + 1),
                concept_id: Some(concept.id.clone()),
                front: capitalize_first(&concept.term),
                back,
                source: concept.source.clone(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pack::ConceptOrigin;

    fn concept(index: usize, term: &str, definition: &str, origin: ConceptOrigin) -> Concept {
        Concept {
            id: format!("concept-{index}"),
            term: term.into(),
            definition: definition.into(),
            origin,
            link: Some("is".into()),
            mentions: 1,
            source: SourceSpan {
                text: format!("{term} is {definition}."),
                offset: index * 100,
            },
        }
    }

    fn concepts() -> Vec<Concept> {
        vec![
            concept(
                1,
                "Chlorophyll",
                "a green pigment that absorbs light",
                ConceptOrigin::Definition,
            ),
            concept(
                2,
                "stroma",
                "the fluid that fills the chloroplast",
                ConceptOrigin::Definition,
            ),
            concept(
                3,
                "thylakoid",
                "a flattened sac of membrane",
                ConceptOrigin::Definition,
            ),
            concept(
                4,
                "glucose",
                "a simple sugar made in the leaf",
                ConceptOrigin::Definition,
            ),
            concept(
                5,
                "Calvin cycle",
                "The ____ fixes carbon in the stroma.",
                ConceptOrigin::Context,
            ),
        ]
    }

    #[test]
    fn every_question_has_its_answer_among_distinct_options() {
        let concepts = concepts();
        let pool = DistractorPool::new(&concepts, &[]);
        let mut rng = SeededRng::new("leaves", "questions");
        let questions = build_questions(&concepts, &[], &pool, &mut rng, 20);

        assert_eq!(questions.len(), concepts.len());
        for question in &questions {
            let index = question.answer_index as usize;
            assert_eq!(
                question.options.get(index),
                Some(&question.answer),
                "{question:?}"
            );
            let unique: HashSet<&String> = question.options.iter().collect();
            assert_eq!(unique.len(), question.options.len(), "{question:?}");
            assert!(question.options.len() >= 3);
        }
        let kinds: HashSet<QuestionKind> = questions.iter().map(|q| q.kind).collect();
        assert_eq!(kinds.len(), 3, "{kinds:?}");
    }

    #[test]
    fn answers_do_not_always_sit_in_the_same_position() {
        let concepts = concepts();
        let pool = DistractorPool::new(&concepts, &[]);
        let mut rng = SeededRng::new("leaves", "questions");
        let positions: HashSet<u32> = build_questions(&concepts, &[], &pool, &mut rng, 20)
            .iter()
            .map(|question| question.answer_index)
            .collect();
        assert!(positions.len() > 1, "{positions:?}");
    }

    #[test]
    fn summary_sentences_naming_a_concept_become_completion_questions() {
        let concepts = concepts();
        let pool = DistractorPool::new(&concepts, &[]);
        let mut rng = SeededRng::new("leaves", "questions");
        let summary = [SourceSpan {
            text: "Glucose feeds every cell of the plant.".into(),
            offset: 9_999,
        }];
        let questions = build_questions(&concepts, &summary, &pool, &mut rng, 20);
        let last = questions.last();
        assert_eq!(last.map(|q| q.kind), Some(QuestionKind::CompleteSentence));
        assert!(last.is_some_and(|q| q.prompt.contains("\"____ feeds every cell")));
        assert_eq!(last.map(|q| q.answer.as_str()), Some("Glucose"));
    }

    #[test]
    fn flashcards_put_the_term_on_the_front() {
        let cards = build_flashcards(&concepts(), 3);
        assert_eq!(cards.len(), 3);
        assert_eq!(cards[1].front, "Stroma");
        assert_eq!(cards[1].back, "The fluid that fills the chloroplast");
    }
}

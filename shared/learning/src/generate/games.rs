//! Games built from a learning pack alone (no access to the document).
//!
//! - quiz: the pack's questions, renumbered;
//! - matching: concepts with short definitions, phrase definitions first;
//! - fill in the blank: each concept's source sentence with the term blanked, plus summary
//!   sentences that name a concept, and a word bank of the answers and a few other terms;
//! - true or false: each concept paired with its own definition (true) or with another
//!   concept's definition of the same shape (false), alternating from a content seed.
//!
//! Every item keeps the source sentence of the definition or sentence it shows. Nothing here
//! fails; a pack with few concepts gives small games and the games guardrails judge them.

use std::collections::HashSet;

use crate::analysis::words::{
    capitalize_first, is_generic_word, lowercase_first_word, normalize, singular, term_key,
};
use crate::document::SourceSpan;
use crate::games::{
    FillInBlankGame, FillInBlankItem, MatchingGame, MatchingPair, QuizGame, TrueFalseGame,
    TrueFalseStatement,
};
use crate::generate::GenerationOptions;
use crate::generate::concepts::mask;
use crate::generate::distractors::contains_words;
use crate::generate::seed::SeededRng;
use crate::pack::{BLANK, Concept, LearningPack};

/// Longest definition shown in the matching game.
const MAX_MATCHING_DEFINITION_CHARS: usize = 200;
/// Fewest words in a sentence worth completing.
const MIN_BLANK_SENTENCE_WORDS: usize = 6;
/// Terms added to the word bank that answer nothing.
const WORD_BANK_DISTRACTORS: usize = 3;

/// The quiz: the pack's questions in order.
pub(crate) fn quiz(pack: &LearningPack, options: &GenerationOptions) -> QuizGame {
    let questions = pack
        .questions
        .iter()
        .take(options.max_quiz_questions)
        .enumerate()
        .map(|(index, question)| {
            let mut question = question.clone();
            question.id = format!("quiz-{}", index + 1);
            question
        })
        .collect();
    QuizGame { questions }
}

/// Terms and definitions to match.
pub(crate) fn matching(pack: &LearningPack, options: &GenerationOptions) -> MatchingGame {
    let mut eligible: Vec<&Concept> = pack
        .concepts
        .iter()
        .filter(|concept| concept.definition.chars().count() <= MAX_MATCHING_DEFINITION_CHARS)
        .collect();
    eligible.sort_by_key(|concept| !concept.origin.defines_by_phrase());

    let mut seen_definitions = HashSet::new();
    let pairs = eligible
        .into_iter()
        .filter(|concept| seen_definitions.insert(normalize(&concept.definition)))
        .take(options.max_matching_pairs)
        .enumerate()
        .map(|(index, concept)| MatchingPair {
            id: format!("pair-{}", index + 1),
            term: capitalize_first(&concept.term),
            definition: capitalize_first(&concept.definition),
            source: concept.source.clone(),
        })
        .collect();
    MatchingGame { pairs }
}

/// Sentences to complete from a word bank.
pub(crate) fn fill_in_blank(
    pack: &LearningPack,
    options: &GenerationOptions,
    rng: &mut SeededRng,
) -> FillInBlankGame {
    let mut sentences: Vec<(&Concept, &SourceSpan)> = pack
        .concepts
        .iter()
        .map(|concept| (concept, &concept.source))
        .collect();
    for span in &pack.summary {
        let named = pack
            .concepts
            .iter()
            .find(|concept| contains_words(&normalize(&span.text), &normalize(&concept.term)));
        if let Some(concept) = named {
            sentences.push((concept, span));
        }
    }

    let mut seen = HashSet::new();
    let mut items = Vec::new();
    for (concept, span) in sentences {
        if items.len() == options.max_fill_in_blank_items {
            break;
        }
        let Some(text) = mask(&span.text, &concept.term) else {
            continue;
        };
        let words = text.split_whitespace().count();
        if words < MIN_BLANK_SENTENCE_WORDS || !seen.insert(span.offset) {
            continue;
        }
        items.push(FillInBlankItem {
            id: format!("blank-{}", items.len() + 1),
            text,
            answer: lowercase_first_word(&concept.term),
            source: span.clone(),
        });
    }

    let answers: HashSet<String> = items.iter().map(|item| term_key(&item.answer)).collect();
    let mut others: Vec<String> = pack
        .concepts
        .iter()
        .map(|concept| lowercase_first_word(&concept.term))
        .filter(|term| !answers.contains(&term_key(term)))
        .collect();
    rng.shuffle(&mut others);

    let mut bank_keys = HashSet::new();
    let mut word_bank: Vec<String> = items
        .iter()
        .map(|item| item.answer.clone())
        .chain(others.into_iter().take(WORD_BANK_DISTRACTORS))
        .filter(|word| bank_keys.insert(term_key(word)))
        .collect();
    word_bank.sort_by_key(|word| word.to_lowercase());
    FillInBlankGame { word_bank, items }
}

/// True and false statements pairing terms with definitions.
pub(crate) fn true_false(
    pack: &LearningPack,
    options: &GenerationOptions,
    rng: &mut SeededRng,
) -> TrueFalseGame {
    let phrases: Vec<&Concept> = pack
        .concepts
        .iter()
        .filter(|concept| concept.origin.defines_by_phrase() && !concept.definition.contains(BLANK))
        .collect();
    let blanked: Vec<&Concept> = pack
        .concepts
        .iter()
        .filter(|concept| concept.definition.contains(BLANK))
        .collect();

    let start_false = rng.below(2) == 1;
    let mut statements = Vec::new();
    let mut turn = usize::from(start_false);
    for group in [&phrases, &blanked] {
        for (index, concept) in group.iter().enumerate() {
            if statements.len() == options.max_true_false_statements {
                break;
            }
            let wants_false = turn % 2 == 1;
            let partner = wants_false
                .then(|| false_partner(concept, group, index, rng))
                .flatten();
            let shown = partner.unwrap_or(concept);
            statements.push(statement(concept, shown, statements.len() + 1));
            turn += 1;
        }
    }
    TrueFalseGame { statements }
}

/// Another concept of the same group whose definition does not mention this concept's term.
fn false_partner<'a>(
    concept: &Concept,
    group: &[&'a Concept],
    index: usize,
    rng: &mut SeededRng,
) -> Option<&'a Concept> {
    let term = normalize(&concept.term);
    let key = term_key(&concept.term);
    let candidates: Vec<&Concept> = group
        .iter()
        .enumerate()
        .filter(|(other_index, other)| {
            *other_index != index
                && term_key(&other.term) != key
                && !contains_words(&normalize(&other.definition), &term)
                && normalize(&other.definition) != normalize(&concept.definition)
        })
        .map(|(_, other)| *other)
        .collect();
    // A partner joined by the same verb keeps the statement grammatical, so grammar gives
    // nothing away.
    let same_link: Vec<&Concept> = candidates
        .iter()
        .copied()
        .filter(|other| other.link == concept.link)
        .collect();
    let pool = if same_link.is_empty() {
        candidates
    } else {
        same_link
    };

    // A definition sharing words with this concept might be partly true of it; prefer the
    // partners that share the fewest.
    let own = content_words(&format!("{} {}", concept.term, concept.definition));
    let shared = |other: &Concept| content_words(&other.definition).intersection(&own).count();
    let fewest = pool.iter().map(|other| shared(other)).min()?;
    let distant: Vec<&Concept> = pool
        .into_iter()
        .filter(|other| shared(other) == fewest)
        .collect();
    distant.get(rng.below(distant.len())).copied()
}

fn content_words(text: &str) -> HashSet<String> {
    normalize(text)
        .split(' ')
        .filter(|word| word.len() > 2 && !is_generic_word(word))
        .map(|word| singular(word).to_owned())
        .collect()
}

fn statement(concept: &Concept, shown: &Concept, number: usize) -> TrueFalseStatement {
    let definition = shown.definition.trim_end_matches(['.', ' ']);
    let text = if shown.definition.contains(BLANK) {
        capitalize_first(&shown.definition.replace(BLANK, &concept.term))
    } else {
        match &concept.link {
            Some(link) => format!(
                "{} {link} {}.",
                capitalize_first(&concept.term),
                lowercase_first_word(definition)
            ),
            None => format!(
                "{}: {}.",
                capitalize_first(&concept.term),
                lowercase_first_word(definition)
            ),
        }
    };
    TrueFalseStatement {
        id: format!("statement-{number}"),
        statement: text,
        answer: std::ptr::eq(concept, shown),
        term: concept.term.clone(),
        definition: shown.definition.clone(),
        correct_term: shown.term.clone(),
        source: shown.source.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::DocumentKind;
    use crate::pack::{ConceptOrigin, DocumentInfo, GeneratorInfo, PACK_FORMAT_VERSION};

    fn concept(index: usize, term: &str, definition: &str, origin: ConceptOrigin) -> Concept {
        let sentence = if definition.contains(BLANK) {
            definition.replace(BLANK, term)
        } else {
            format!("{term} is {definition}.")
        };
        Concept {
            id: format!("concept-{index}"),
            term: term.into(),
            definition: definition.into(),
            origin,
            link: origin.defines_by_phrase().then(|| "is".to_owned()),
            mentions: 1,
            source: SourceSpan {
                text: sentence,
                offset: index * 100,
            },
        }
    }

    fn pack() -> LearningPack {
        let concepts = vec![
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
                "a flattened sac of membrane in the chloroplast",
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
                "The ____ fixes carbon dioxide in the stroma.",
                ConceptOrigin::Context,
            ),
            concept(
                6,
                "light reactions",
                "The ____ split water and release oxygen gas.",
                ConceptOrigin::Context,
            ),
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
                characters: 1,
                words: 1,
            },
            title: "Leaves".into(),
            summary: Vec::new(),
            outline: Vec::new(),
            concepts,
            flashcards: Vec::new(),
            questions: Vec::new(),
        }
    }

    #[test]
    fn false_statements_pair_a_term_with_another_concepts_definition() {
        let pack = pack();
        let mut rng = SeededRng::new("leaves", "true_false");
        let game = true_false(&pack, &GenerationOptions::default(), &mut rng);

        assert_eq!(game.statements.len(), pack.concepts.len());
        assert!(game.statements.iter().any(|s| s.answer));
        assert!(game.statements.iter().any(|s| !s.answer));
        for statement in &game.statements {
            assert_eq!(
                statement.answer,
                statement.term == statement.correct_term,
                "{statement:?}"
            );
            let owner = pack
                .concepts
                .iter()
                .find(|c| c.term == statement.correct_term);
            assert_eq!(owner.map(|c| &c.definition), Some(&statement.definition));
        }
        let true_phrase = game
            .statements
            .iter()
            .find(|s| s.answer && s.term == "stroma")
            .map(|s| s.statement.as_str());
        if let Some(text) = true_phrase {
            assert_eq!(text, "Stroma is the fluid that fills the chloroplast.");
        }
    }

    #[test]
    fn blanks_take_the_term_and_the_word_bank_holds_every_answer() {
        let pack = pack();
        let mut rng = SeededRng::new("leaves", "fill_in_blank");
        let options = GenerationOptions {
            max_fill_in_blank_items: 4,
            ..GenerationOptions::default()
        };
        let game = fill_in_blank(&pack, &options, &mut rng);

        assert_eq!(game.items.len(), 4, "{game:?}");
        for item in &game.items {
            assert!(item.text.contains(BLANK));
            let filled = item.text.replace(BLANK, &item.answer);
            assert_eq!(normalize(&filled), normalize(&item.source.text));
            assert!(
                game.word_bank
                    .iter()
                    .any(|word| term_key(word) == term_key(&item.answer))
            );
        }
        assert!(game.word_bank.len() > game.items.len());
        let mut sorted = game.word_bank.clone();
        sorted.sort_by_key(|word| word.to_lowercase());
        assert_eq!(sorted, game.word_bank);
    }

    #[test]
    fn matching_prefers_phrase_definitions_and_caps_the_pairs() {
        let options = GenerationOptions {
            max_matching_pairs: 3,
            ..GenerationOptions::default()
        };
        let game = matching(&pack(), &options);
        assert_eq!(game.pairs.len(), 3);
        assert!(
            game.pairs
                .iter()
                .all(|pair| !pair.definition.contains(BLANK))
        );
    }
}

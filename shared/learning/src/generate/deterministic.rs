//! The built-in generator: offline, no model, no key, same input gives the same output.
//!
//! It splits the text into sentences, counts recurring phrases, picks concepts (see
//! `concepts`), an extractive summary and outline (see `summary`), questions and flashcards
//! (see `questions`), and then games from the pack (see `games`). Randomness (option order,
//! distractor choice, true/false pattern) is seeded from the content. It never fails: a
//! document with little structure yields a small pack, and the guardrails decide whether it is
//! enough.

use crate::analysis::sentences::split_document;
use crate::analysis::terms::TermIndex;
use crate::document::{ExtractedDocument, count_words};
use crate::error::Error;
use crate::games::{GAMES_FORMAT_VERSION, Games};
use crate::generate::Generator;
use crate::generate::distractors::DistractorPool;
use crate::generate::seed::SeededRng;
use crate::generate::{concepts, games, questions, summary};
use crate::pack::{DocumentInfo, GeneratorInfo, LearningPack, PACK_FORMAT_VERSION};

const NAME: &str = "deterministic";
/// Bumped whenever a change to this generator changes its output for the same document.
const VERSION: &str = "1";
/// Frequent phrases (besides concepts) offered as distractors.
const EXTRA_DISTRACTOR_TERMS: usize = 40;

/// How many items the deterministic generator aims for; the guardrail limits still apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenerationOptions {
    /// Most key concepts. Default 24.
    pub max_concepts: usize,
    /// Most outline entries. Default 100.
    pub max_outline_entries: usize,
    /// Most flashcards. Default 24.
    pub max_flashcards: usize,
    /// Most multiple-choice questions in the pack. Default 20.
    pub max_questions: usize,
    /// Most quiz questions in the games. Default 15.
    pub max_quiz_questions: usize,
    /// Most matching pairs. Default 8.
    pub max_matching_pairs: usize,
    /// Most fill-in-the-blank sentences. Default 10.
    pub max_fill_in_blank_items: usize,
    /// Most true-or-false statements. Default 12.
    pub max_true_false_statements: usize,
}

impl Default for GenerationOptions {
    fn default() -> Self {
        Self {
            max_concepts: 24,
            max_outline_entries: 100,
            max_flashcards: 24,
            max_questions: 20,
            max_quiz_questions: 15,
            max_matching_pairs: 8,
            max_fill_in_blank_items: 10,
            max_true_false_statements: 12,
        }
    }
}

/// Generator that works from the document's own sentences, with no network access.
#[derive(Debug, Clone, Default)]
pub struct DeterministicGenerator {
    options: GenerationOptions,
}

impl DeterministicGenerator {
    /// A generator with the given targets.
    pub fn new(options: GenerationOptions) -> Self {
        Self { options }
    }

    fn info() -> GeneratorInfo {
        GeneratorInfo {
            name: NAME.to_owned(),
            version: VERSION.to_owned(),
        }
    }
}

impl Generator for DeterministicGenerator {
    fn name(&self) -> &str {
        NAME
    }

    fn generate_pack(&self, document: &ExtractedDocument) -> Result<LearningPack, Error> {
        let options = &self.options;
        let sentences = split_document(document);
        let terms = TermIndex::build(&sentences);

        let concepts = concepts::find_concepts(document, &sentences, &terms, options.max_concepts);
        let summary = summary::summarize(&sentences, &concepts);
        let outline = summary::outline(document, &sentences, options.max_outline_entries);

        let extra_terms: Vec<String> = terms
            .ranked()
            .iter()
            .take(EXTRA_DISTRACTOR_TERMS)
            .map(|term| term.surface.clone())
            .collect();
        let pool = DistractorPool::new(&concepts, &extra_terms);
        let mut rng = SeededRng::new(&document.text, "questions");
        let questions =
            questions::build_questions(&concepts, &summary, &pool, &mut rng, options.max_questions);
        let flashcards = questions::build_flashcards(&concepts, options.max_flashcards);

        Ok(LearningPack {
            format_version: PACK_FORMAT_VERSION,
            generator: Self::info(),
            document: DocumentInfo {
                kind: document.kind,
                pages: document.pages,
                characters: document.text.chars().count() as u64,
                words: count_words(&document.text) as u64,
            },
            title: title(document),
            summary,
            outline,
            concepts,
            flashcards,
            questions,
        })
    }

    fn generate_games(&self, pack: &LearningPack) -> Result<Games, Error> {
        let options = &self.options;
        let seed: String = pack
            .concepts
            .iter()
            .map(|concept| concept.source.text.as_str())
            .collect();
        let mut blank_rng = SeededRng::new(&seed, "fill_in_blank");
        let mut statement_rng = SeededRng::new(&seed, "true_false");

        Ok(Games {
            format_version: GAMES_FORMAT_VERSION,
            generator: Self::info(),
            title: pack.title.clone(),
            quiz: games::quiz(pack, options),
            matching: games::matching(pack, options),
            fill_in_blank: games::fill_in_blank(pack, options, &mut blank_rng),
            true_false: games::true_false(pack, options, &mut statement_rng),
        })
    }
}

/// The document's title, else its first heading or the opening words of its text.
fn title(document: &ExtractedDocument) -> String {
    if let Some(title) = &document.title {
        return title.clone();
    }
    let opening: Vec<&str> = document.text.split_whitespace().take(8).collect();
    if opening.is_empty() {
        return "Untitled document".to_owned();
    }
    format!("{}…", opening.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::{DocumentKind, Section};

    fn document(text: &str) -> ExtractedDocument {
        ExtractedDocument {
            kind: DocumentKind::PlainText,
            text: text.to_owned(),
            pages: None,
            title: None,
            sections: vec![Section {
                heading: None,
                level: 0,
                text: text.to_owned(),
                offset: 0,
            }],
        }
    }

    #[test]
    fn the_same_document_gives_the_same_pack_and_games() {
        let text = "Chlorophyll is a green pigment that absorbs light. The stroma is the fluid \
            inside the chloroplast. A thylakoid is a flattened sac of membrane. Glucose is a \
            simple sugar made by the plant. Oxygen is a gas released by the leaf.";
        let generator = DeterministicGenerator::default();
        let first = generator.generate_pack(&document(text)).ok();
        let second = generator.generate_pack(&document(text)).ok();
        assert!(first.is_some());
        assert_eq!(first, second);

        let games = first
            .as_ref()
            .map(|pack| generator.generate_games(pack).ok());
        let again = first
            .as_ref()
            .map(|pack| generator.generate_games(pack).ok());
        assert_eq!(games, again);
    }

    #[test]
    fn an_untitled_document_is_named_by_its_opening_words() {
        let pack = DeterministicGenerator::default()
            .generate_pack(&document(
                "Leaves catch light and make sugar for the whole plant.",
            ))
            .ok();
        assert_eq!(
            pack.map(|pack| pack.title).as_deref(),
            Some("Leaves catch light and make sugar for the…")
        );
    }
}

//! Plausible wrong options for multiple-choice items, taken from the same document.
//!
//! A good distractor is the same kind of thing as the answer: for a term, another concept or
//! frequent phrase of similar length and shape (word count, ending, plural or not); for a
//! definition, another concept's definition of similar length. Candidates that contain the
//! answer, are contained in it, or appear in the question are never used, since they would give
//! the answer away or be arguably correct. Choice among the closest candidates is seeded from
//! content, so output is stable. Too few candidates means fewer distractors, never an error.

use std::collections::HashSet;

use crate::analysis::words::{capitalize_first, normalize, term_key};
use crate::generate::seed::SeededRng;
use crate::pack::{BLANK, Concept};

/// How many of the closest candidates the random pick chooses from.
const SHORTLIST_EXTRA: usize = 2;

struct PoolTerm {
    text: String,
    normalized: String,
    from_concept: bool,
}

/// Terms and definitions of one document, to draw distractors from.
pub(crate) struct DistractorPool {
    terms: Vec<PoolTerm>,
    definitions: Vec<(String, String)>,
}

impl DistractorPool {
    /// A pool of concept terms, then `extra_terms` (frequent phrases), and of the phrase
    /// definitions of concepts.
    pub(crate) fn new(concepts: &[Concept], extra_terms: &[String]) -> Self {
        let mut seen = HashSet::new();
        let mut terms = Vec::new();
        let concept_terms = concepts.iter().map(|concept| (concept.term.as_str(), true));
        let extra = extra_terms.iter().map(|term| (term.as_str(), false));
        for (term, from_concept) in concept_terms.chain(extra) {
            if seen.insert(term_key(term)) {
                terms.push(PoolTerm {
                    text: term.to_owned(),
                    normalized: normalize(term),
                    from_concept,
                });
            }
        }
        let definitions = concepts
            .iter()
            .filter(|concept| {
                concept.origin.defines_by_phrase() && !concept.definition.contains(BLANK)
            })
            .map(|concept| (concept.id.clone(), concept.definition.clone()))
            .collect();
        Self { terms, definitions }
    }

    /// Number of phrase definitions in the pool.
    pub(crate) fn definition_count(&self) -> usize {
        self.definitions.len()
    }

    /// Up to `count` terms that could be mistaken for `answer`, capitalized for display.
    pub(crate) fn terms_for(
        &self,
        answer: &str,
        question: &str,
        count: usize,
        rng: &mut SeededRng,
    ) -> Vec<String> {
        let answer_normalized = normalize(answer);
        let question_normalized = normalize(question);
        let answer_key = term_key(answer);
        let candidates = self
            .terms
            .iter()
            .filter(|term| {
                term_key(&term.text) != answer_key
                    && !overlaps(&term.normalized, &answer_normalized)
                    && !contains_words(&question_normalized, &term.normalized)
            })
            .map(|term| (term_similarity(answer, term), term.text.as_str()));
        pick(candidates, count, rng)
    }

    /// Up to `count` definitions of concepts other than `concept_id` for a question about
    /// `term`, capitalized for display.
    pub(crate) fn definitions_for(
        &self,
        concept_id: &str,
        term: &str,
        answer: &str,
        count: usize,
        rng: &mut SeededRng,
    ) -> Vec<String> {
        let answer_normalized = normalize(answer);
        let term_normalized = normalize(term);
        let answer_length = answer.chars().count() as f64;
        let candidates = self
            .definitions
            .iter()
            .filter(|(id, definition)| {
                let normalized = normalize(definition);
                id != concept_id
                    && !overlaps(&normalized, &answer_normalized)
                    && !contains_words(&normalized, &term_normalized)
            })
            .map(|(_, definition)| {
                let length = definition.chars().count() as f64;
                (-(length - answer_length).abs() / 10.0, definition.as_str())
            });
        pick(candidates, count, rng)
    }
}

fn pick<'a>(
    candidates: impl Iterator<Item = (f64, &'a str)>,
    count: usize,
    rng: &mut SeededRng,
) -> Vec<String> {
    let mut ranked: Vec<(f64, u64, &str)> = candidates
        .map(|(score, text)| (score, rng.next_u64(), text))
        .collect();
    ranked.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    ranked.truncate(count + SHORTLIST_EXTRA);
    rng.shuffle(&mut ranked);
    ranked
        .into_iter()
        .take(count)
        .map(|(_, _, text)| capitalize_first(text))
        .collect()
}

/// Higher is more alike: same word count, same ending, same plurality, similar length.
fn term_similarity(answer: &str, candidate: &PoolTerm) -> f64 {
    let answer_words = answer.split_whitespace().count() as f64;
    let candidate_words = candidate.text.split_whitespace().count() as f64;
    let answer_last = answer
        .split_whitespace()
        .last()
        .unwrap_or_default()
        .to_lowercase();
    let candidate_last = candidate.normalized.rsplit(' ').next().unwrap_or_default();

    let mut score = -3.0 * (answer_words - candidate_words).abs();
    let suffix = |word: &str| word.chars().rev().take(3).collect::<String>();
    if answer_last.chars().count() > 3 && suffix(&answer_last) == suffix(candidate_last) {
        score += 2.0;
    }
    if answer_last.ends_with('s') == candidate_last.ends_with('s') {
        score += 1.0;
    }
    if candidate.from_concept {
        score += 2.0;
    }
    let length_gap = answer.chars().count() as f64 - candidate.text.chars().count() as f64;
    score - length_gap.abs() / 4.0
}

/// Whether one normalized phrase contains the other as whole words.
fn overlaps(a: &str, b: &str) -> bool {
    contains_words(a, b) || contains_words(b, a)
}

/// Whether normalized `haystack` contains normalized `needle` as whole words.
pub(crate) fn contains_words(haystack: &str, needle: &str) -> bool {
    !needle.is_empty() && format!(" {haystack} ").contains(&format!(" {needle} "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::SourceSpan;
    use crate::pack::ConceptOrigin;

    fn concept(id: &str, term: &str, definition: &str) -> Concept {
        Concept {
            id: id.into(),
            term: term.into(),
            definition: definition.into(),
            origin: ConceptOrigin::Definition,
            link: Some("is".into()),
            mentions: 1,
            source: SourceSpan {
                text: String::new(),
                offset: 0,
            },
        }
    }

    fn pool() -> DistractorPool {
        let concepts = [
            concept(
                "concept-1",
                "chlorophyll",
                "a green pigment that absorbs light",
            ),
            concept("concept-2", "stroma", "the fluid inside a chloroplast"),
            concept(
                "concept-3",
                "thylakoid",
                "a membrane sac that holds chlorophyll",
            ),
            concept(
                "concept-4",
                "light reactions",
                "the first stage of photosynthesis",
            ),
            concept(
                "concept-5",
                "chloroplast",
                "the organelle where photosynthesis happens",
            ),
        ];
        DistractorPool::new(&concepts, &["carbon dioxide".into(), "Stroma".into()])
    }

    #[test]
    fn term_distractors_never_include_or_reveal_the_answer() {
        let mut rng = SeededRng::new("test", "distractors");
        let question = "Which term is described as \"a green pigment inside the thylakoid\"?";
        let picked = pool().terms_for("chlorophyll", question, 3, &mut rng);
        assert_eq!(picked.len(), 3, "{picked:?}");
        for option in &picked {
            let normalized = normalize(option);
            assert_ne!(normalized, "chlorophyll");
            assert_ne!(normalized, "thylakoid", "appears in the question");
        }
        let unique: HashSet<String> = picked.iter().map(|option| normalize(option)).collect();
        assert_eq!(unique.len(), picked.len());
    }

    #[test]
    fn definition_distractors_exclude_the_concepts_own_definition_and_its_term() {
        let mut rng = SeededRng::new("test", "distractors");
        let picked = pool().definitions_for(
            "concept-1",
            "chlorophyll",
            "a green pigment that absorbs light",
            3,
            &mut rng,
        );
        assert_eq!(picked.len(), 3, "{picked:?}");
        assert!(
            picked
                .iter()
                .all(|definition| !definition.contains("chlorophyll"))
        );
        assert!(
            picked
                .iter()
                .all(|definition| !definition.contains("green pigment"))
        );
    }

    #[test]
    fn similar_terms_rank_above_dissimilar_ones() {
        let single = PoolTerm {
            text: "stroma".into(),
            normalized: "stroma".into(),
            from_concept: true,
        };
        let phrase = PoolTerm {
            text: "light dependent reactions".into(),
            normalized: "light dependent reactions".into(),
            from_concept: true,
        };
        assert!(term_similarity("thylakoid", &single) > term_similarity("thylakoid", &phrase));
    }
}

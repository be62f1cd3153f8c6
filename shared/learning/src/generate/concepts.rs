//! Choosing key concepts and their definitions from the text.
//!
//! Candidates come from three places, in order of trust: sentences that define a term ("X is
//! a ...", "... is called X", glossary lines), section headings (defined by the section's first
//! sentence) and frequent phrases (defined by the first sentence that uses them, with the phrase
//! blanked out so the definition does not give the term away). One candidate per term survives;
//! the best scored (mentions weighted by trust) are kept and returned in document order.
//! A document without candidates yields no concepts; the pack guardrails decide whether that is
//! too few.

use std::collections::HashSet;

use crate::analysis::definitions::{DefinitionStyle, find_definition, is_plausible_term};
use crate::analysis::sentences::{Sentence, in_section};
use crate::analysis::terms::TermIndex;
use crate::analysis::words::{
    find_phrase, is_generic_word, is_referring_word, normalize, singular, term_key,
};
use crate::document::{ExtractedDocument, SourceSpan};
use crate::pack::{BLANK, Concept, ConceptOrigin};

/// Fewest and most words in a sentence used to define a heading or a frequent phrase.
const CONTEXT_WORDS: std::ops::RangeInclusive<usize> = 6..=50;
/// Frequent phrases considered as concepts.
const FREQUENT_CANDIDATES: usize = 30;

struct Candidate {
    term: String,
    definition: String,
    origin: ConceptOrigin,
    link: Option<String>,
    source: SourceSpan,
    score: f64,
}

/// Finds up to `max` concepts, in document order, with ids `concept-1`, `concept-2`, ...
pub(crate) fn find_concepts(
    document: &ExtractedDocument,
    sentences: &[Sentence<'_>],
    terms: &TermIndex,
    max: usize,
) -> Vec<Concept> {
    let mut candidates = Vec::new();
    candidates.extend(defined_in_sentences(sentences));
    candidates.extend(defined_by_headings(document, sentences));
    candidates.extend(frequent_phrases(sentences, terms));

    let mut seen = HashSet::new();
    let mut unique: Vec<Candidate> = Vec::new();
    for mut candidate in candidates {
        if !seen.insert(term_key(&candidate.term)) {
            continue;
        }
        candidate.score = terms.count(&candidate.term) as f64 * specificity(&candidate.term);
        unique.push(candidate);
    }

    // Stated definitions always outrank headings, and headings outrank mere frequency.
    unique.sort_by(|a, b| {
        tier(a.origin)
            .cmp(&tier(b.origin))
            .then(b.score.total_cmp(&a.score))
            .then(a.source.offset.cmp(&b.source.offset))
    });
    unique.truncate(max);
    unique.sort_by_key(|candidate| candidate.source.offset);

    unique
        .into_iter()
        .enumerate()
        .map(|(index, candidate)| Concept {
            id: format!("concept-{}", index + 1),
            mentions: u32::try_from(terms.count(&candidate.term)).unwrap_or(u32::MAX),
            term: candidate.term,
            definition: candidate.definition,
            origin: candidate.origin,
            link: candidate.link,
            source: candidate.source,
        })
        .collect()
}

fn tier(origin: ConceptOrigin) -> u8 {
    match origin {
        ConceptOrigin::Definition | ConceptOrigin::Glossary => 0,
        ConceptOrigin::Heading => 1,
        ConceptOrigin::Context => 2,
    }
}

/// Within a tier, phrases outrank single words seen as often: they are more specific.
fn specificity(term: &str) -> f64 {
    if term.split_whitespace().count() > 1 {
        1.5
    } else {
        1.0
    }
}

fn span(sentence: &Sentence<'_>) -> SourceSpan {
    SourceSpan {
        text: sentence.text.to_owned(),
        offset: sentence.offset,
    }
}

fn defined_in_sentences(sentences: &[Sentence<'_>]) -> Vec<Candidate> {
    sentences
        .iter()
        .filter_map(|sentence| {
            let found = find_definition(sentence.text)?;
            if is_generic_term(found.term) {
                return None;
            }
            let origin = match found.style {
                DefinitionStyle::Glossary => ConceptOrigin::Glossary,
                DefinitionStyle::Copula | DefinitionStyle::Naming => ConceptOrigin::Definition,
            };
            Some(Candidate {
                term: found.term.to_owned(),
                definition: found.definition.to_owned(),
                origin,
                link: found.link.map(str::to_owned),
                source: span(sentence),
                score: 0.0,
            })
        })
        .collect()
}

fn defined_by_headings(document: &ExtractedDocument, sentences: &[Sentence<'_>]) -> Vec<Candidate> {
    document
        .sections
        .iter()
        .enumerate()
        .filter_map(|(index, section)| {
            let heading = section.heading.as_deref()?;
            let term = heading_term(heading)?;
            let lead = in_section(sentences, index)
                .iter()
                .find(|sentence| is_context_sentence(sentence.text))?;
            let definition = mask(lead.text, term).unwrap_or_else(|| lead.text.to_owned());
            Some(Candidate {
                term: term.to_owned(),
                definition,
                origin: ConceptOrigin::Heading,
                link: None,
                source: span(lead),
                score: 0.0,
            })
        })
        .collect()
}

/// The term a heading names, without section numbering and a leading article, when the heading
/// names one ("2.1 The Calvin Cycle" names "Calvin Cycle"; "Why It Matters" names none).
fn heading_term(heading: &str) -> Option<&str> {
    let unnumbered = heading
        .trim_start_matches(|c: char| c.is_ascii_digit() || c == '.' || c == ')')
        .trim();
    let term = ["The ", "A ", "An "]
        .iter()
        .find_map(|article| unnumbered.strip_prefix(article))
        .unwrap_or(unnumbered);
    let first_word = term.split_whitespace().next()?;
    let generic = GENERIC_HEADINGS.contains(&normalize(term).as_str());
    let too_long = term.split_whitespace().count() > 5;
    (!generic && !too_long && !is_referring_word(first_word) && is_plausible_term(term))
        .then_some(term)
}

const GENERIC_HEADINGS: &[&str] = &[
    "abstract",
    "acknowledgements",
    "appendix",
    "background",
    "bibliography",
    "conclusion",
    "conclusions",
    "contents",
    "discussion",
    "exercises",
    "further reading",
    "glossary",
    "introduction",
    "key terms",
    "key words",
    "method",
    "methods",
    "notes",
    "overview",
    "questions",
    "references",
    "results",
    "review",
    "review questions",
    "summary",
    "table of contents",
    "vocabulary",
];

fn frequent_phrases(sentences: &[Sentence<'_>], terms: &TermIndex) -> Vec<Candidate> {
    // One blanked sentence per concept: reusing a sentence would make near-identical items.
    let mut used = HashSet::new();
    terms
        .ranked()
        .iter()
        .take(FREQUENT_CANDIDATES)
        .filter(|term| !is_generic_term(&term.surface))
        .filter_map(|term| {
            let start = sentences.partition_point(|sentence| {
                sentence.offset + sentence.text.len() <= term.first_offset
            });
            let sentence = sentences[start..].iter().find(|sentence| {
                is_context_sentence(sentence.text)
                    && !used.contains(&sentence.offset)
                    && find_definition(sentence.text).is_none()
                    && !find_phrase(sentence.text, &term.surface).is_empty()
            })?;
            used.insert(sentence.offset);
            Some(Candidate {
                term: term.surface.clone(),
                definition: mask(sentence.text, &term.surface)?,
                origin: ConceptOrigin::Context,
                link: None,
                source: span(sentence),
                score: 0.0,
            })
        })
        .collect()
}

fn is_generic_term(term: &str) -> bool {
    let normalized = normalize(term);
    !normalized.contains(' ') && is_generic_word(singular(&normalized))
}

fn is_context_sentence(text: &str) -> bool {
    let words = text.split_whitespace().count();
    let first = text.split_whitespace().next().unwrap_or_default();
    CONTEXT_WORDS.contains(&words) && !is_referring_word(first) && !text.ends_with('?')
}

/// The sentence with every occurrence of `term` (or its plural or singular) replaced by
/// [`BLANK`]; `None` when the term does not occur.
pub(crate) fn mask(sentence: &str, term: &str) -> Option<String> {
    let singular_form = term.strip_suffix('s').unwrap_or(term);
    let forms = [
        term.to_owned(),
        format!("{term}s"),
        format!("{term}es"),
        singular_form.to_owned(),
    ];
    let ranges = forms
        .iter()
        .map(|form| find_phrase(sentence, form))
        .find(|ranges| !ranges.is_empty())?;

    let mut masked = String::with_capacity(sentence.len());
    let mut last = 0;
    for range in ranges {
        masked.push_str(&sentence[last..range.start]);
        masked.push_str(BLANK);
        last = range.end;
    }
    masked.push_str(&sentence[last..]);
    Some(masked)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::sentences::split_document;
    use crate::document::{DocumentKind, Section};

    fn document(sections: &[(Option<&str>, &str)]) -> ExtractedDocument {
        let mut text = String::new();
        let mut built = Vec::new();
        for (heading, body) in sections {
            if !text.is_empty() {
                text.push_str("\n\n");
            }
            if let Some(heading) = heading {
                text.push_str(heading);
                text.push_str("\n\n");
            }
            built.push(Section {
                heading: heading.map(str::to_owned),
                level: u8::from(heading.is_some()),
                text: (*body).to_owned(),
                offset: text.len(),
            });
            text.push_str(body);
        }
        ExtractedDocument {
            kind: DocumentKind::PlainText,
            text,
            pages: None,
            title: None,
            sections: built,
        }
    }

    #[test]
    fn definitions_headings_and_frequent_phrases_all_become_concepts() {
        let document = document(&[
            (
                Some("The Calvin Cycle"),
                "The Calvin cycle builds sugar from carbon dioxide in the stroma of the leaf. \
                 Chlorophyll is a green pigment that absorbs red and blue light. \
                 Guard cells open the stomata during the day. Guard cells close them at night. \
                 Guard cells respond to water loss quickly.",
            ),
            (
                Some("Why It Matters"),
                "Food chains start with plants that capture sunlight energy.",
            ),
        ]);
        let sentences = split_document(&document);
        let terms = TermIndex::build(&sentences);
        let concepts = find_concepts(&document, &sentences, &terms, 10);

        let by_term = |term: &str| concepts.iter().find(|concept| concept.term == term);
        let chlorophyll = by_term("Chlorophyll");
        assert_eq!(
            chlorophyll.map(|c| (c.origin, c.definition.as_str(), c.link.as_deref())),
            Some((
                ConceptOrigin::Definition,
                "a green pigment that absorbs red and blue light",
                Some("is")
            ))
        );
        let calvin = by_term("Calvin Cycle");
        assert_eq!(calvin.map(|c| c.origin), Some(ConceptOrigin::Heading));
        assert!(calvin.is_some_and(|c| c.definition.starts_with("The ____ builds sugar")));
        let guard_cells = by_term("Guard cells");
        assert_eq!(guard_cells.map(|c| c.origin), Some(ConceptOrigin::Context));
        assert!(guard_cells.is_some_and(|c| c.definition.starts_with("____ open the stomata")));
        assert!(by_term("It Matters").is_none());

        for concept in &concepts {
            assert!(concept.source.matches(&document.text), "{concept:?}");
        }
        let offsets: Vec<usize> = concepts.iter().map(|c| c.source.offset).collect();
        let mut sorted = offsets.clone();
        sorted.sort_unstable();
        assert_eq!(offsets, sorted);
    }

    #[test]
    fn masking_replaces_every_form_of_the_term() {
        assert_eq!(
            mask("Stomata open; stomata close.", "stomata").as_deref(),
            Some("____ open; ____ close.")
        );
        assert_eq!(
            mask("Chloroplasts hold pigment.", "chloroplast").as_deref(),
            Some("____ hold pigment.")
        );
        assert_eq!(mask("Roots take up water.", "leaf"), None);
    }

    #[test]
    fn generic_headings_and_generic_words_are_not_concepts() {
        assert_eq!(heading_term("Introduction"), None);
        assert_eq!(heading_term("2.1 The Calvin Cycle"), Some("Calvin Cycle"));
        assert!(is_generic_term("Process"));
        assert!(!is_generic_term("Photosynthesis"));
    }
}

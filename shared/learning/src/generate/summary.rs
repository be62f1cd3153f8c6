//! Extractive summary and section outline.
//!
//! Each sentence is scored by how frequent its content words are across the document
//! (log-damped, normalized by sentence length), with a bonus for opening a section and for
//! naming a key concept. The best sentences that do not repeat each other are returned in
//! document order. Sentences that lean on context ("This means ...", "However, ...") or are
//! very short or long are never picked. Nothing here fails; a document without eligible
//! sentences gets an empty summary.

use std::collections::{HashMap, HashSet};

use crate::analysis::sentences::{Sentence, in_section};
use crate::analysis::words::{is_generic_word, singular, tokens};
use crate::document::{ExtractedDocument, SourceSpan};
use crate::pack::{Concept, OutlineEntry};

const SUMMARY_WORDS: std::ops::RangeInclusive<usize> = 8..=45;
const MIN_SUMMARY_SENTENCES: usize = 3;
const MAX_SUMMARY_SENTENCES: usize = 7;
/// One summary sentence per this many eligible sentences, within the bounds above.
const SENTENCES_PER_SUMMARY_SENTENCE: usize = 12;
/// Two sentences sharing more than this share of content words say the same thing.
const MAX_OVERLAP: f64 = 0.5;

/// The most representative sentences, in document order.
pub(crate) fn summarize(sentences: &[Sentence<'_>], concepts: &[Concept]) -> Vec<SourceSpan> {
    let frequencies = content_word_frequencies(sentences);
    let concept_terms: Vec<String> = concepts.iter().map(|c| c.term.to_lowercase()).collect();

    let mut scored: Vec<(f64, &Sentence<'_>, HashSet<String>)> = sentences
        .iter()
        .filter(|sentence| is_summary_sentence(sentence.text))
        .map(|sentence| {
            let words = content_words(sentence.text);
            let length = tokens(sentence.text).len().max(1) as f64;
            let weight: f64 = words
                .iter()
                .map(|word| (1.0 + frequencies.get(word).copied().unwrap_or(0) as f64).ln())
                .sum();
            let mut score = weight / length.sqrt();
            if sentence.position == 0 {
                score *= 1.25;
            }
            let lowercase = sentence.text.to_lowercase();
            if concept_terms
                .iter()
                .any(|term| lowercase.contains(term.as_str()))
            {
                score *= 1.15;
            }
            (score, sentence, words)
        })
        .collect();

    let wanted = (scored.len() / SENTENCES_PER_SUMMARY_SENTENCE)
        .clamp(MIN_SUMMARY_SENTENCES, MAX_SUMMARY_SENTENCES);
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.offset.cmp(&b.1.offset)));

    let mut chosen: Vec<(&Sentence<'_>, HashSet<String>)> = Vec::new();
    for (_, sentence, words) in scored {
        if chosen.len() == wanted {
            break;
        }
        let repeats = chosen
            .iter()
            .any(|(_, other)| overlap(&words, other) > MAX_OVERLAP);
        if !repeats {
            chosen.push((sentence, words));
        }
    }
    chosen.sort_by_key(|(sentence, _)| sentence.offset);
    chosen
        .into_iter()
        .map(|(sentence, _)| SourceSpan {
            text: sentence.text.to_owned(),
            offset: sentence.offset,
        })
        .collect()
}

/// One entry per heading (up to `max`), with the section's first readable sentence as its lead.
pub(crate) fn outline(
    document: &ExtractedDocument,
    sentences: &[Sentence<'_>],
    max: usize,
) -> Vec<OutlineEntry> {
    document
        .sections
        .iter()
        .enumerate()
        .filter_map(|(index, section)| {
            let heading = section.heading.clone()?;
            let lead = in_section(sentences, index)
                .iter()
                .find(|sentence| is_summary_sentence(sentence.text))
                .map(|sentence| SourceSpan {
                    text: sentence.text.to_owned(),
                    offset: sentence.offset,
                });
            Some(OutlineEntry {
                heading,
                level: section.level,
                lead,
            })
        })
        .take(max)
        .collect()
}

fn is_summary_sentence(text: &str) -> bool {
    let words = text.split_whitespace().count();
    let first = text
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .trim_end_matches(',')
        .to_lowercase();
    SUMMARY_WORDS.contains(&words)
        && ends_like_sentence(text)
        && !text.ends_with('?')
        && !LEANING_OPENERS.contains(&first.as_str())
}

/// Openers that make a sentence depend on the one before it.
const LEANING_OPENERS: &[&str] = &[
    "also",
    "and",
    "another",
    "as",
    "but",
    "finally",
    "for",
    "furthermore",
    "he",
    "hence",
    "here",
    "however",
    "in",
    "it",
    "its",
    "moreover",
    "next",
    "nevertheless",
    "or",
    "she",
    "similarly",
    "so",
    "such",
    "that",
    "then",
    "there",
    "therefore",
    "these",
    "they",
    "this",
    "those",
    "thus",
    "yet",
];

fn ends_like_sentence(text: &str) -> bool {
    text.trim_end_matches(['"', '\'', '”', '’', ')'])
        .ends_with(['.', '!'])
}

fn content_words(text: &str) -> HashSet<String> {
    tokens(text)
        .into_iter()
        .map(|token| token.text.to_lowercase())
        .filter(|word| word.chars().count() > 2 && !is_generic_word(word))
        .map(|word| singular(&word).to_owned())
        .collect()
}

fn content_word_frequencies(sentences: &[Sentence<'_>]) -> HashMap<String, usize> {
    let mut frequencies = HashMap::new();
    for sentence in sentences {
        for token in tokens(sentence.text) {
            let word = token.text.to_lowercase();
            if word.chars().count() > 2 && !is_generic_word(&word) {
                *frequencies.entry(singular(&word).to_owned()).or_default() += 1;
            }
        }
    }
    frequencies
}

fn overlap(a: &HashSet<String>, b: &HashSet<String>) -> f64 {
    let union = a.union(b).count();
    if union == 0 {
        return 0.0;
    }
    a.intersection(b).count() as f64 / union as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::sentences::split_document;
    use crate::document::{DocumentKind, Section};

    fn document(body: &str) -> ExtractedDocument {
        let heading = "Leaves";
        let text = format!("{heading}\n\n{body}");
        ExtractedDocument {
            kind: DocumentKind::PlainText,
            pages: None,
            title: None,
            sections: vec![Section {
                heading: Some(heading.into()),
                level: 1,
                text: body.into(),
                offset: heading.len() + 2,
            }],
            text,
        }
    }

    #[test]
    fn the_summary_prefers_central_sentences_and_skips_dependent_ones() {
        let body = "Leaves capture light energy and turn carbon dioxide into sugar for the plant. \
            Light energy drives the reactions that make sugar inside every leaf cell. \
            This means the leaf is a small sugar factory powered by light energy. \
            My neighbour once grew a very tall sunflower in a bucket outside. \
            Sugar made in leaves moves through the plant to the roots and the fruit. \
            Short one.";
        let document = document(body);
        let sentences = split_document(&document);
        let summary = summarize(&sentences, &[]);

        assert_eq!(summary.len(), 3, "{summary:?}");
        assert!(summary.iter().all(|span| span.matches(&document.text)));
        assert!(
            summary
                .iter()
                .all(|span| !span.text.starts_with("This means"))
        );
        assert!(summary.iter().all(|span| !span.text.contains("sunflower")));
        assert!(
            summary
                .windows(2)
                .all(|pair| pair[0].offset < pair[1].offset)
        );
    }

    #[test]
    fn the_outline_lists_headings_with_their_lead_sentence() {
        let document = document("Leaves are the main site of photosynthesis in most plants.");
        let sentences = split_document(&document);
        let outline = outline(&document, &sentences, 10);
        assert_eq!(outline.len(), 1);
        assert_eq!(outline[0].heading, "Leaves");
        assert_eq!(
            outline[0].lead.as_ref().map(|span| span.text.as_str()),
            Some("Leaves are the main site of photosynthesis in most plants.")
        );
    }
}

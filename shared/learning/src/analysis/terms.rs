//! Frequent noun-phrase-like terms: runs of one to three adjacent content words.
//!
//! Without a part-of-speech tagger, a "content word" is any word that is not a stop word, a
//! generic word ("process", "example"), an adverb in `-ly` or a past form in `-ed`. Counting
//! uses [`term_key`], so `chloroplast` and `Chloroplasts` add up. A phrase mostly seen inside a
//! longer phrase ("Calvin" inside "Calvin cycle") is dropped in favour of the longer one.
//! Indexing is linear in the text and never fails.

use std::collections::HashMap;

use crate::analysis::sentences::Sentence;
use crate::analysis::words::{Token, is_generic_word, singular, term_key, tokens};

const MAX_TERM_WORDS: usize = 3;
const MAX_RANKED: usize = 60;
/// A shorter phrase seen this often inside one longer phrase is dropped in its favour.
const SUBSUMED_SHARE: f64 = 0.6;

/// A phrase that recurs in the document.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FrequentTerm {
    /// The phrase as first written in the text.
    pub surface: String,
    /// Comparison key from [`term_key`].
    pub key: String,
    /// Occurrences in the document.
    pub count: usize,
    /// Byte offset of the first occurrence in the document text.
    pub first_offset: usize,
    /// Ranking score: count weighted towards longer phrases.
    pub score: f64,
}

/// Occurrence counts of every candidate phrase, and the frequent ones ranked.
#[derive(Debug, Default)]
pub(crate) struct TermIndex {
    counts: HashMap<String, usize>,
    ranked: Vec<FrequentTerm>,
}

impl TermIndex {
    /// Counts candidate phrases in the sentences and ranks the frequent ones.
    pub(crate) fn build(sentences: &[Sentence<'_>]) -> Self {
        let mut counts: HashMap<String, usize> = HashMap::new();
        let mut first_seen: HashMap<String, (String, usize)> = HashMap::new();

        for sentence in sentences {
            let words = tokens(sentence.text);
            for run in content_runs(sentence.text, &words) {
                for length in 1..=MAX_TERM_WORDS.min(run.len()) {
                    for window in run.windows(length) {
                        if !is_noun_phrase_shape(window) {
                            continue;
                        }
                        let (first, last) = (window[0], window[length - 1]);
                        let surface = &sentence.text[first.start..last.end];
                        let key = term_key(surface);
                        *counts.entry(key.clone()).or_default() += 1;
                        first_seen
                            .entry(key)
                            .or_insert_with(|| (surface.to_owned(), sentence.offset + first.start));
                    }
                }
            }
        }

        let ranked = rank(&counts, first_seen);
        Self { counts, ranked }
    }

    /// Occurrences of a phrase, at least 1 for a phrase the index never saw (it was found in
    /// the text some other way, e.g. as a heading).
    pub(crate) fn count(&self, phrase: &str) -> usize {
        self.counts
            .get(&term_key(phrase))
            .copied()
            .unwrap_or(1)
            .max(1)
    }

    /// Frequent phrases, best first.
    pub(crate) fn ranked(&self) -> &[FrequentTerm] {
        &self.ranked
    }
}

fn rank(
    counts: &HashMap<String, usize>,
    first_seen: HashMap<String, (String, usize)>,
) -> Vec<FrequentTerm> {
    // The largest count of any longer phrase that starts or ends with each phrase.
    let mut inside_longer: HashMap<String, usize> = HashMap::new();
    for (key, &count) in counts {
        let words: Vec<&str> = key.split(' ').collect();
        if words.len() < 2 || count < 2 {
            continue;
        }
        for part in [&words[..words.len() - 1], &words[1..]] {
            let part_key = term_key(&part.join(" "));
            let entry = inside_longer.entry(part_key).or_default();
            *entry = (*entry).max(count);
        }
    }

    let mut ranked: Vec<FrequentTerm> = first_seen
        .into_iter()
        .filter_map(|(key, (surface, first_offset))| {
            let count = counts.get(&key).copied().unwrap_or_default();
            let words = key.split(' ').count();
            let minimum = if words == 1 { 3 } else { 2 };
            let longer = inside_longer.get(&key).copied().unwrap_or_default();
            let subsumed = longer as f64 >= SUBSUMED_SHARE * count as f64;
            if count < minimum || subsumed {
                return None;
            }
            let weight = match words {
                1 => 1.0,
                2 => 1.6,
                _ => 1.8,
            };
            Some(FrequentTerm {
                surface,
                key,
                count,
                first_offset,
                score: count as f64 * weight,
            })
        })
        .collect();

    ranked.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then(a.first_offset.cmp(&b.first_offset))
    });
    ranked.truncate(MAX_RANKED);
    ranked
}

/// Maximal runs of content words joined only by spaces or hyphens.
fn content_runs<'a>(text: &str, words: &[Token<'a>]) -> Vec<Vec<Token<'a>>> {
    let mut runs = Vec::new();
    let mut current: Vec<Token<'a>> = Vec::new();
    for word in words {
        let adjacent = current
            .last()
            .is_none_or(|previous| text[previous.end..word.start].chars().all(|c| c == ' '));
        if !adjacent || !is_content_word(word.text) {
            if !current.is_empty() {
                runs.push(std::mem::take(&mut current));
            }
            if !is_content_word(word.text) {
                continue;
            }
        }
        current.push(*word);
    }
    if !current.is_empty() {
        runs.push(current);
    }
    runs
}

/// In English noun phrases only the last word is plural ("cell walls", not "cells walls"); a
/// word in `-s` before the end is usually a verb ("releases oxygen").
fn is_noun_phrase_shape(window: &[Token<'_>]) -> bool {
    window[..window.len() - 1].iter().all(|token| {
        let lowercase = token.text.to_lowercase();
        singular(&lowercase) == lowercase
    })
}

fn is_content_word(word: &str) -> bool {
    let lowercase = word.to_lowercase();
    let length = lowercase.chars().count();
    let has_digit = lowercase.chars().any(|c| c.is_ascii_digit());
    let all_digits = lowercase.chars().all(|c| c.is_ascii_digit());
    (length >= 3 || has_digit)
        && !all_digits
        && !is_generic_word(&lowercase)
        && !(length > 4 && lowercase.ends_with("ly"))
        && !(length > 5 && lowercase.ends_with("ed"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sentences(text: &str) -> Vec<Sentence<'_>> {
        let mut offset = 0;
        text.split('\n')
            .map(|line| {
                let sentence = Sentence {
                    text: line,
                    offset,
                    section: 0,
                    position: 0,
                };
                offset += line.len() + 1;
                sentence
            })
            .collect()
    }

    #[test]
    fn longer_phrases_replace_the_words_they_are_made_of() {
        let text = "The Calvin cycle uses carbon dioxide.\n\
                    The Calvin cycle runs in the stroma.\n\
                    Each turn of the Calvin cycle fixes carbon dioxide.";
        let index = TermIndex::build(&sentences(text));
        let keys: Vec<&str> = index
            .ranked()
            .iter()
            .map(|term| term.key.as_str())
            .collect();
        assert!(keys.contains(&"calvin cycle"), "{keys:?}");
        assert!(keys.contains(&"carbon dioxide"), "{keys:?}");
        assert!(!keys.contains(&"calvin"), "{keys:?}");
    }

    #[test]
    fn counts_group_plural_and_capitalized_forms() {
        let text = "Chloroplasts hold pigment.\nA chloroplast divides.\nChloroplast walls.";
        let index = TermIndex::build(&sentences(text));
        assert_eq!(index.count("chloroplasts"), 3);
        assert_eq!(index.count("never mentioned"), 1);
    }

    #[test]
    fn stop_words_and_generic_words_break_phrases() {
        let text =
            "Plants use the sunlight quickly.\nPlants use the sunlight.\nPlants use sunlight.";
        let index = TermIndex::build(&sentences(text));
        let keys: Vec<&str> = index
            .ranked()
            .iter()
            .map(|term| term.key.as_str())
            .collect();
        assert!(keys.contains(&"sunlight"), "{keys:?}");
        assert!(keys.iter().all(|key| !key.contains("use")), "{keys:?}");
    }

    #[test]
    fn first_occurrence_keeps_its_written_form_and_offset() {
        let text = "Stomata open.\nStomata close.\nstomata breathe.";
        let index = TermIndex::build(&sentences(text));
        let stomata = index.ranked().iter().find(|term| term.key == "stomata");
        assert_eq!(
            stomata.map(|term| (term.surface.as_str(), term.first_offset)),
            Some(("Stomata", 0))
        );
    }
}

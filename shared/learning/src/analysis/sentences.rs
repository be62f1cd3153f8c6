//! Sentence splitting over the canonical text, keeping every sentence's byte offset.
//!
//! A sentence ends at `.`, `!` or `?` (plus closing quotes or brackets) followed by a space and
//! a capital, digit or opening quote; common abbreviations and initials do not end sentences.
//! Every line of the canonical text is split on its own, so a list item or a heading-like line
//! without punctuation is one sentence. Splitting is total: odd input yields odd sentences,
//! never an error.

use std::ops::Range;

use crate::document::ExtractedDocument;

/// A sentence of the extracted text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Sentence<'a> {
    /// The sentence, trimmed; an exact slice of the document text.
    pub text: &'a str,
    /// Byte offset of `text` in the document text.
    pub offset: usize,
    /// Index of the section it belongs to.
    pub section: usize,
    /// Position within its section, 0 for the first sentence.
    pub position: usize,
}

/// Splits every section body of a document into sentences, in document order.
pub(crate) fn split_document(document: &ExtractedDocument) -> Vec<Sentence<'_>> {
    let mut sentences = Vec::new();
    for (section_index, section) in document.sections.iter().enumerate() {
        let mut position = 0;
        let mut line_start = 0;
        for line in section.text.split('\n') {
            for range in sentence_ranges(line) {
                sentences.push(Sentence {
                    text: &line[range.clone()],
                    offset: section.offset + line_start + range.start,
                    section: section_index,
                    position,
                });
                position += 1;
            }
            line_start += line.len() + 1;
        }
    }
    sentences
}

/// The sentences of one section, given all sentences in document order.
pub(crate) fn in_section<'s, 'a>(
    sentences: &'s [Sentence<'a>],
    section: usize,
) -> &'s [Sentence<'a>] {
    let start = sentences.partition_point(|sentence| sentence.section < section);
    let end = sentences.partition_point(|sentence| sentence.section <= section);
    &sentences[start..end]
}

/// Byte ranges of the sentences of one line of text, trimmed of surrounding whitespace.
pub(crate) fn sentence_ranges(line: &str) -> Vec<Range<usize>> {
    let mut ranges = Vec::new();
    let mut start = 0;
    let characters: Vec<(usize, char)> = line.char_indices().collect();

    let mut index = 0;
    while index < characters.len() {
        let (position, character) = characters[index];
        if !matches!(character, '.' | '!' | '?') {
            index += 1;
            continue;
        }

        let mut after = index + 1;
        while after < characters.len() && is_closing(characters[after].1) {
            after += 1;
        }
        let end = characters.get(after).map_or(line.len(), |&(at, _)| at);
        let next_word = characters[after..]
            .iter()
            .find(|(_, c)| !c.is_whitespace())
            .map(|&(_, c)| c);
        let followed_by_space = characters.get(after).is_none_or(|(_, c)| c.is_whitespace());
        let starts_sentence = next_word.is_none_or(|c| {
            c.is_uppercase() || c.is_numeric() || matches!(c, '"' | '“' | '\'' | '‘' | '(' | '[')
        });
        let abbreviation = character == '.' && ends_with_abbreviation(&line[start..position]);

        if followed_by_space && starts_sentence && !abbreviation {
            push_trimmed(&mut ranges, line, start..end);
            start = end;
        }
        index = after.max(index + 1);
    }
    push_trimmed(&mut ranges, line, start..line.len());
    ranges
}

fn push_trimmed(ranges: &mut Vec<Range<usize>>, line: &str, range: Range<usize>) {
    let slice = &line[range.clone()];
    let leading = slice.len() - slice.trim_start().len();
    let trimmed = slice.trim();
    if !trimmed.is_empty() {
        let start = range.start + leading;
        ranges.push(start..start + trimmed.len());
    }
}

fn is_closing(character: char) -> bool {
    matches!(character, '"' | '\'' | '”' | '’' | ')' | ']')
}

fn ends_with_abbreviation(text_before_period: &str) -> bool {
    let last_word = text_before_period
        .rsplit(|c: char| c.is_whitespace() || c == '(')
        .next()
        .unwrap_or_default();
    let bare = last_word.trim_start_matches(|c: char| !c.is_alphanumeric());
    if bare.chars().count() == 1 && bare.chars().all(char::is_alphabetic) {
        return true;
    }
    let lowercase = bare.to_lowercase();
    ABBREVIATIONS.contains(&lowercase.as_str())
}

const ABBREVIATIONS: &[&str] = &[
    "al", "approx", "ca", "cf", "co", "dr", "e.g", "eg", "etc", "fig", "figs", "i.e", "ie", "inc",
    "jr", "ltd", "mr", "mrs", "ms", "no", "nos", "p", "pp", "prof", "sr", "st", "vol", "vs",
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::{DocumentKind, Section};

    fn split(line: &str) -> Vec<&str> {
        sentence_ranges(line)
            .into_iter()
            .map(|range| &line[range])
            .collect()
    }

    #[test]
    fn sentences_end_at_terminal_punctuation_before_a_capital() {
        assert_eq!(
            split("Plants make sugar. They store it! Do they? Yes."),
            ["Plants make sugar.", "They store it!", "Do they?", "Yes."]
        );
    }

    #[test]
    fn abbreviations_initials_and_decimals_do_not_end_sentences() {
        assert_eq!(
            split("Dr. Hill measured 2.5 mg, e.g. in leaves. J. Smith agreed."),
            [
                "Dr. Hill measured 2.5 mg, e.g. in leaves.",
                "J. Smith agreed."
            ]
        );
    }

    #[test]
    fn closing_quotes_stay_with_their_sentence() {
        assert_eq!(
            split("He said \"light matters.\" Then he left."),
            ["He said \"light matters.\"", "Then he left."]
        );
    }

    #[test]
    fn lowercase_after_a_period_continues_the_sentence() {
        assert_eq!(
            split("See fig. three for more."),
            ["See fig. three for more."]
        );
    }

    #[test]
    fn document_sentences_carry_offsets_into_the_document_text() {
        let text = "Intro\n\nLeaves are green. Roots are brown.\nStems hold leaves.".to_owned();
        let body = "Leaves are green. Roots are brown.\nStems hold leaves.".to_owned();
        let document = ExtractedDocument {
            kind: DocumentKind::PlainText,
            pages: None,
            title: None,
            sections: vec![Section {
                heading: Some("Intro".into()),
                level: 1,
                offset: 7,
                text: body,
            }],
            text,
        };
        let sentences = split_document(&document);
        assert_eq!(sentences.len(), 3);
        for sentence in &sentences {
            let at = &document.text[sentence.offset..sentence.offset + sentence.text.len()];
            assert_eq!(at, sentence.text);
        }
        assert_eq!(sentences[2].text, "Stems hold leaves.");
        assert_eq!(sentences[2].position, 2);
        assert_eq!(in_section(&sentences, 0).len(), 3);
        assert!(in_section(&sentences, 1).is_empty());
    }
}

//! Recognizes sentences that define a term, and splits them into term and definition.
//!
//! Three shapes are recognized, all by surface patterns, no language model:
//! - copula: "Chlorophyll is a green pigment ...", "X refers to ...", "X is defined as ...";
//! - naming: "The process ... is called photosynthesis", "... are known as autotrophs";
//! - glossary: "Photon: a packet of light energy", "Photon – a packet ...".
//!
//! Both parts are exact slices of the sentence, so they stay grounded in the source. A sentence
//! that does not fit cleanly (a pronoun as subject, a one-word definition, a question) yields
//! `None`; recognition never fails otherwise.

use crate::analysis::words::{Token, is_referring_word, is_stop_word, tokens};

/// How a definition was phrased in the source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DefinitionStyle {
    /// Term first, then a linking verb and the definition.
    Copula,
    /// Definition first, then "is called" and the term.
    Naming,
    /// `Term: definition` or `Term – definition`.
    Glossary,
}

/// A term and its definition, both slices of the sentence they were found in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DefinitionMatch<'a> {
    pub term: &'a str,
    pub definition: &'a str,
    /// Verb phrase joining term and definition in a statement (`is`, `refers to`); `None` for
    /// glossary entries.
    pub link: Option<&'static str>,
    pub style: DefinitionStyle,
}

const MAX_TERM_WORDS: usize = 6;
const MAX_TERM_CHARS: usize = 60;
const MIN_DEFINITION_WORDS: usize = 3;
const MAX_DEFINITION_WORDS: usize = 60;
const MAX_GLOSSARY_WORDS: usize = 30;

/// Finds the definition a sentence states, if it states one.
pub(crate) fn find_definition(sentence: &str) -> Option<DefinitionMatch<'_>> {
    let sentence = sentence.trim();
    if sentence.ends_with('?') {
        return None;
    }
    let body = sentence.trim_end_matches(|c: char| {
        matches!(c, '.' | '!' | ';' | ',' | ':' | '"' | '”' | '\'' | '’') || c.is_whitespace()
    });

    glossary(body)
        .or_else(|| naming(body))
        .or_else(|| copula(body))
}

fn glossary(body: &str) -> Option<DefinitionMatch<'_>> {
    let (term_end, definition_start) = [": ", " – ", " — ", " - "]
        .iter()
        .filter_map(|separator| body.find(separator).map(|at| (at, at + separator.len())))
        .min()?;
    let term = body[..term_end].trim();
    let definition = body[definition_start..].trim();

    let starts_capitalized = term.chars().next().is_some_and(char::is_uppercase);
    let label = term
        .split_whitespace()
        .next()
        .is_some_and(|word| GLOSSARY_LABELS.contains(&word.to_lowercase().as_str()));
    let first_word = definition.split_whitespace().next().unwrap_or_default();
    let lowercase = first_word.to_lowercase();
    // "Light: on a dim morning, ..." is a remark about light, not a definition of it.
    let opens_like_definition = !is_referring_word(first_word)
        && (!is_stop_word(&lowercase) || matches!(lowercase.as_str(), "a" | "an" | "the" | "one"));
    let short = tokens(definition).len() <= MAX_GLOSSARY_WORDS;
    if !starts_capitalized || label || !opens_like_definition || !short || term.contains(['.', ','])
    {
        return None;
    }
    accept(term, definition, None, DefinitionStyle::Glossary)
}

fn naming(body: &str) -> Option<DefinitionMatch<'_>> {
    let words = tokens(body);
    let (connector_start, connector_len, link) = find_connector(&words, NAMING_CONNECTORS)?;

    // The named term runs over adjacent content words; "of" may join two of them.
    let named = &words[connector_start + connector_len..];
    let mut last = 0;
    for (index, word) in named.iter().enumerate() {
        let joined = index == 0 || only_spacing(&body[named[index - 1].end..word.start]);
        let lowercase = word.text.to_lowercase();
        let joining_of = lowercase == "of" && named.get(index + 1).is_some();
        if !joined || (is_stop_word(&lowercase) && !joining_of) {
            break;
        }
        last = index;
    }
    let first = named.first()?;
    let term = &body[first.start..named[last].end];

    let definition = body[..words[connector_start].start].trim_end_matches([',', ' ']);
    let first_word = definition.split_whitespace().next()?;
    if is_referring_word(first_word) {
        return None;
    }
    accept(term, definition, Some(link), DefinitionStyle::Naming)
}

fn only_spacing(between: &str) -> bool {
    between.chars().all(|c| c == ' ' || c == '-')
}

fn copula(body: &str) -> Option<DefinitionMatch<'_>> {
    let words = tokens(body);
    let (connector_start, connector_len, link) = find_connector(&words, COPULA_CONNECTORS)?;

    let subject = body[..words[connector_start].start].trim();
    // A leading clause ("In most plants, chlorophyll is ...") is not part of the term; a list
    // ("Plants, algae and bacteria are ...") is not a term at all.
    let subject = match subject.rsplit_once(", ") {
        Some((clause, rest)) => {
            let opener = clause
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_lowercase();
            if !CLAUSE_OPENERS.contains(&opener.as_str()) {
                return None;
            }
            rest.trim()
        }
        None => subject,
    };
    let term = strip_article(subject);

    let definition_token = if link_keeps_next_word(link) {
        connector_start + 1
    } else {
        connector_start + connector_len
    };
    let definition = body[words.get(definition_token)?.start..].trim();
    accept(term, definition, Some(link), DefinitionStyle::Copula)
}

/// Whether the definition begins with the connector's last word (`is a ...` keeps `a`).
fn link_keeps_next_word(link: &str) -> bool {
    matches!(link, "is" | "are")
}

fn accept<'a>(
    term: &'a str,
    definition: &'a str,
    link: Option<&'static str>,
    style: DefinitionStyle,
) -> Option<DefinitionMatch<'a>> {
    let term = term.trim();
    let definition = definition.trim();
    if !is_plausible_term(term) || !is_plausible_definition(definition) {
        return None;
    }
    Some(DefinitionMatch {
        term,
        definition,
        link,
        style,
    })
}

/// Whether text can name a concept: a short noun-like phrase, not a pronoun or a clause.
pub(crate) fn is_plausible_term(term: &str) -> bool {
    let words = tokens(term);
    let Some(first) = words.first() else {
        return false;
    };
    let last = words.last().map_or("", |token| token.text);
    let balanced = term.matches('(').count() == term.matches(')').count();

    words.len() <= MAX_TERM_WORDS
        && term.chars().count() <= MAX_TERM_CHARS
        && balanced
        && !term.contains([';', ':', '?', '!', '"', '“', '”', '.', ','])
        && !is_referring_word(first.text)
        && words.iter().skip(1).all(|token| {
            let lowercase = token.text.to_lowercase();
            !is_stop_word(&lowercase) || TERM_JOINERS.contains(&lowercase.as_str())
        })
        && !is_stop_word(&last.to_lowercase())
        && words
            .iter()
            .any(|token| !is_stop_word(&token.text.to_lowercase()) && token.text.len() > 1)
        && words
            .iter()
            .any(|token| token.text.chars().any(char::is_alphabetic))
}

fn is_plausible_definition(definition: &str) -> bool {
    let words = tokens(definition);
    (MIN_DEFINITION_WORDS..=MAX_DEFINITION_WORDS).contains(&words.len())
        && words
            .iter()
            .any(|token| !is_stop_word(&token.text.to_lowercase()))
}

fn strip_article(subject: &str) -> &str {
    for article in ["The ", "the ", "A ", "a ", "An ", "an "] {
        if let Some(rest) = subject.strip_prefix(article) {
            return rest;
        }
    }
    subject
}

/// First words of an introductory clause that may precede the term after a comma.
const CLAUSE_OPENERS: &[&str] = &[
    "after",
    "although",
    "among",
    "as",
    "at",
    "because",
    "before",
    "by",
    "during",
    "for",
    "here",
    "however",
    "in",
    "inside",
    "like",
    "now",
    "on",
    "overall",
    "since",
    "so",
    "then",
    "therefore",
    "thus",
    "today",
    "unlike",
    "when",
    "while",
    "within",
    "without",
];

/// Stop words that may appear inside a term ("rate of photosynthesis").
const TERM_JOINERS: &[&str] = &["and", "for", "in", "of", "to"];

type Connector = (&'static [&'static str], &'static str);

const COPULA_CONNECTORS: &[Connector] = &[
    (&["is", "defined", "as"], "is defined as"),
    (&["are", "defined", "as"], "are defined as"),
    (&["refers", "to"], "refers to"),
    (&["refer", "to"], "refer to"),
    (&["means"], "means"),
    (&["is", "a"], "is"),
    (&["is", "an"], "is"),
    (&["is", "the"], "is"),
    (&["is", "one"], "is"),
    (&["is", "any"], "is"),
    (&["is", "where"], "is"),
    (&["are", "a"], "are"),
    (&["are", "the"], "are"),
    (&["are", "any"], "are"),
];

const NAMING_CONNECTORS: &[Connector] = &[
    (&["is", "called"], "is"),
    (&["are", "called"], "are"),
    (&["is", "known", "as"], "is"),
    (&["are", "known", "as"], "are"),
    (&["is", "termed"], "is"),
    (&["are", "termed"], "are"),
    (&["is", "referred", "to", "as"], "is"),
    (&["are", "referred", "to", "as"], "are"),
];

const GLOSSARY_LABELS: &[&str] = &[
    "activity",
    "aim",
    "answer",
    "caution",
    "chapter",
    "definition",
    "example",
    "exercise",
    "figure",
    "goal",
    "hint",
    "important",
    "lesson",
    "note",
    "objective",
    "page",
    "part",
    "question",
    "remember",
    "section",
    "source",
    "step",
    "summary",
    "table",
    "task",
    "tip",
    "unit",
    "warning",
];

/// The leftmost connector in the sentence: (index of its first token, its length, link).
fn find_connector(
    words: &[Token<'_>],
    connectors: &[Connector],
) -> Option<(usize, usize, &'static str)> {
    (1..words.len()).find_map(|index| {
        connectors.iter().find_map(|(pattern, link)| {
            let window = words.get(index..index + pattern.len())?;
            let matches = window
                .iter()
                .zip(pattern.iter())
                .all(|(word, wanted)| word.text.eq_ignore_ascii_case(wanted));
            matches.then_some((index, pattern.len(), *link))
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(sentence: &str) -> Option<(&str, &str, Option<&'static str>)> {
        find_definition(sentence).map(|found| (found.term, found.definition, found.link))
    }

    #[test]
    fn copula_sentences_split_into_term_and_definition() {
        assert_eq!(
            parts("Chlorophyll is a green pigment that absorbs light."),
            Some((
                "Chlorophyll",
                "a green pigment that absorbs light",
                Some("is")
            ))
        );
        assert_eq!(
            parts("The stroma is the fluid that fills the chloroplast."),
            Some(("stroma", "the fluid that fills the chloroplast", Some("is")))
        );
        assert_eq!(
            parts("Transpiration refers to the loss of water vapour from leaves."),
            Some((
                "Transpiration",
                "the loss of water vapour from leaves",
                Some("refers to")
            ))
        );
    }

    #[test]
    fn naming_sentences_put_the_named_term_first() {
        assert_eq!(
            parts("The process by which plants make food from light is called photosynthesis."),
            Some((
                "photosynthesis",
                "The process by which plants make food from light",
                Some("is")
            ))
        );
        assert_eq!(
            parts("Organisms that make their own food are known as autotrophs."),
            Some((
                "autotrophs",
                "Organisms that make their own food",
                Some("are")
            ))
        );
    }

    #[test]
    fn glossary_lines_split_at_the_first_separator() {
        assert_eq!(
            parts("Photon: a tiny packet of light energy."),
            Some(("Photon", "a tiny packet of light energy", None))
        );
        assert_eq!(
            parts("Wavelength – the distance between two peaks of a wave"),
            Some((
                "Wavelength",
                "the distance between two peaks of a wave",
                None
            ))
        );
    }

    #[test]
    fn a_leading_clause_is_not_part_of_the_term() {
        assert_eq!(
            parts("In most plants, glucose is the main product of the cycle.").map(|p| p.0),
            Some("glucose")
        );
    }

    #[test]
    fn pronouns_questions_labels_and_adjectives_are_not_definitions() {
        for sentence in [
            "It is a very important process for life.",
            "This is the reason plants are green.",
            "What is a chloroplast?",
            "Note: plants need water every day.",
            "Glucose is stored as starch in many plants.",
            "Light is important.",
            "The process is called photosynthesis.",
        ] {
            assert_eq!(find_definition(sentence), None, "{sentence}");
        }
    }

    #[test]
    fn a_list_before_the_verb_is_not_a_term() {
        assert_eq!(
            find_definition("Plants, algae and cyanobacteria are the best-known autotrophs."),
            None
        );
    }

    #[test]
    fn glossary_remarks_that_do_not_define_are_ignored() {
        assert_eq!(
            find_definition("Light intensity: on a dim morning, more light speeds it up."),
            None
        );
    }

    #[test]
    fn a_named_term_stops_where_the_clause_continues() {
        assert_eq!(
            parts("The sugar made in the stroma is called glucose and it feeds the plant.")
                .map(|p| p.0),
            Some("glucose")
        );
    }

    #[test]
    fn clauses_with_verbs_are_not_terms() {
        assert_eq!(
            find_definition("Plants absorb light and the energy is the driver of growth."),
            None
        );
    }

    #[test]
    fn styles_are_reported() {
        let style = |s| find_definition(s).map(|found| found.style);
        assert_eq!(
            style("Chlorophyll is a green pigment that absorbs light."),
            Some(DefinitionStyle::Copula)
        );
        assert_eq!(
            style("Organisms that make their own food are called autotrophs."),
            Some(DefinitionStyle::Naming)
        );
        assert_eq!(
            style("Photon: a packet of light energy."),
            Some(DefinitionStyle::Glossary)
        );
    }
}

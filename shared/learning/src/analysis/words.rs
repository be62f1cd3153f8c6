//! Word-level helpers: tokens with offsets, stop words, normalization and case-insensitive
//! phrase search.
//!
//! Normalization (lowercase, every non-alphanumeric character a space, spaces collapsed) is the
//! one comparison used everywhere text is matched: deduplication, grounding and masking. These
//! functions are total; they never fail or panic on any input.

use std::ops::Range;

/// A word and its byte range in the text it came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Token<'a> {
    pub text: &'a str,
    pub start: usize,
    pub end: usize,
}

/// Splits text into words: runs of letters and digits, keeping inner hyphens and apostrophes
/// (`light-dependent`, `plant's`).
pub(crate) fn tokens(text: &str) -> Vec<Token<'_>> {
    let mut tokens = Vec::new();
    let mut start = None;
    let mut chars = text.char_indices().peekable();

    while let Some((index, character)) = chars.next() {
        let joins_word = matches!(character, '-' | '\'' | '’')
            && start.is_some()
            && chars.peek().is_some_and(|(_, next)| next.is_alphanumeric());
        if character.is_alphanumeric() || joins_word {
            start.get_or_insert(index);
            continue;
        }
        if let Some(begin) = start.take() {
            tokens.push(Token {
                text: &text[begin..index],
                start: begin,
                end: index,
            });
        }
    }
    if let Some(begin) = start {
        tokens.push(Token {
            text: &text[begin..],
            start: begin,
            end: text.len(),
        });
    }
    tokens
}

/// Lowercases, turns every character that is not a letter or digit into a space and collapses
/// spaces, so `"Light-dependent  Reactions!"` becomes `"light dependent reactions"`.
pub(crate) fn normalize(text: &str) -> String {
    let mut normalized = String::with_capacity(text.len());
    let mut pending_space = false;
    for character in text.chars() {
        if character.is_alphanumeric() {
            if pending_space && !normalized.is_empty() {
                normalized.push(' ');
            }
            pending_space = false;
            normalized.extend(character.to_lowercase());
        } else {
            pending_space = true;
        }
    }
    normalized
}

/// A comparison key for a term: normalized, with the last word reduced to a naive singular so
/// that `stomata`, `Chloroplasts` and `chloroplast` group as expected.
pub(crate) fn term_key(term: &str) -> String {
    let normalized = normalize(term);
    match normalized.rsplit_once(' ') {
        Some((head, last)) => format!("{head} {}", singular(last)),
        None => singular(&normalized).to_owned(),
    }
}

/// Strips a plural `s` from a lowercase word when that is plausibly a plural ending.
pub(crate) fn singular(word: &str) -> &str {
    let keep = word.len() <= 3
        || word.ends_with("ss")
        || word.ends_with("us")
        || word.ends_with("is")
        || word.ends_with("ous");
    if keep {
        return word;
    }
    word.strip_suffix('s').unwrap_or(word)
}

/// Whether a lowercase word carries no topic on its own.
pub(crate) fn is_stop_word(lowercase: &str) -> bool {
    STOP_WORDS.binary_search(&lowercase).is_ok()
}

/// Whether a lowercase word is too general to be a key concept on its own.
pub(crate) fn is_generic_word(lowercase: &str) -> bool {
    is_stop_word(lowercase) || GENERIC_WORDS.binary_search(&lowercase).is_ok()
}

/// Whether a word (any case) opens a phrase that points elsewhere instead of naming something:
/// pronouns, demonstratives, question words and quantifiers.
pub(crate) fn is_referring_word(word: &str) -> bool {
    let lowercase = word.to_lowercase();
    REFERRING_WORDS.binary_search(&lowercase.as_str()).is_ok()
}

/// Byte ranges of every case-insensitive, whole-word occurrence of `needle` in `haystack`.
pub(crate) fn find_phrase(haystack: &str, needle: &str) -> Vec<Range<usize>> {
    let needle: Vec<char> = needle.chars().flat_map(char::to_lowercase).collect();
    let Some(&first) = needle.first() else {
        return Vec::new();
    };

    let mut found = Vec::new();
    let mut previous: Option<char> = None;
    for (start, character) in haystack.char_indices() {
        let at_boundary = previous.is_none_or(|c| !c.is_alphanumeric());
        previous = Some(character);
        if !at_boundary
            || found
                .last()
                .is_some_and(|range: &Range<usize>| start < range.end)
        {
            continue;
        }
        if character.to_lowercase().next() != Some(first) {
            continue;
        }
        if let Some(end) = match_at(haystack, start, &needle) {
            let next = haystack[end..].chars().next();
            if next.is_none_or(|c| !c.is_alphanumeric()) {
                found.push(start..end);
            }
        }
    }
    found
}

fn match_at(haystack: &str, start: usize, needle: &[char]) -> Option<usize> {
    let mut wanted = needle.iter();
    let mut end = start;
    for (offset, character) in haystack[start..].char_indices() {
        for lower in character.to_lowercase() {
            if wanted.next() != Some(&lower) {
                return None;
            }
        }
        end = start + offset + character.len_utf8();
        if wanted.len() == 0 {
            return Some(end);
        }
    }
    (wanted.len() == 0).then_some(end)
}

/// Uppercases the first character, leaving the rest as written.
pub(crate) fn capitalize_first(text: &str) -> String {
    let mut characters = text.chars();
    match characters.next() {
        Some(first) => first.to_uppercase().chain(characters).collect(),
        None => String::new(),
    }
}

/// Lowercases the first character when the first word is a plain capitalized word (not an
/// acronym such as `ATP`), so a sentence start can follow other text.
pub(crate) fn lowercase_first_word(text: &str) -> String {
    let first_word = text.split_whitespace().next().unwrap_or_default();
    let capitals = first_word.chars().filter(|c| c.is_uppercase()).count();
    if capitals != 1 {
        return text.to_owned();
    }
    let mut characters = text.chars();
    match characters.next() {
        Some(first) if first.is_uppercase() => first.to_lowercase().chain(characters).collect(),
        _ => text.to_owned(),
    }
}

/// Cuts text to at most `max_chars` characters at a word boundary, marking the cut with `…`.
pub(crate) fn truncate_words(text: &str, max_chars: usize) -> String {
    if text.chars().count() <= max_chars {
        return text.to_owned();
    }
    let budget = max_chars.saturating_sub(1);
    let cut = text
        .char_indices()
        .nth(budget)
        .map_or(text.len(), |(index, _)| index);
    let head = &text[..cut];
    let head = match head.rfind(char::is_whitespace) {
        Some(space) if space > 0 => &head[..space],
        _ => head,
    };
    format!("{}…", head.trim_end_matches(|c: char| !c.is_alphanumeric()))
}

// Sorted for binary search; a test keeps them sorted.
const STOP_WORDS: &[&str] = &[
    "a",
    "about",
    "above",
    "after",
    "again",
    "against",
    "all",
    "almost",
    "along",
    "already",
    "also",
    "although",
    "always",
    "am",
    "among",
    "an",
    "and",
    "another",
    "any",
    "are",
    "around",
    "as",
    "at",
    "be",
    "because",
    "been",
    "before",
    "being",
    "below",
    "between",
    "both",
    "but",
    "by",
    "can",
    "cannot",
    "could",
    "did",
    "do",
    "does",
    "doing",
    "down",
    "during",
    "each",
    "either",
    "else",
    "enough",
    "etc",
    "even",
    "ever",
    "every",
    "few",
    "for",
    "from",
    "further",
    "had",
    "has",
    "have",
    "having",
    "he",
    "her",
    "here",
    "hers",
    "him",
    "his",
    "how",
    "however",
    "i",
    "if",
    "in",
    "into",
    "is",
    "it",
    "its",
    "itself",
    "just",
    "least",
    "less",
    "many",
    "may",
    "me",
    "might",
    "more",
    "most",
    "much",
    "must",
    "my",
    "neither",
    "no",
    "nor",
    "not",
    "now",
    "of",
    "off",
    "often",
    "on",
    "once",
    "one",
    "only",
    "onto",
    "or",
    "other",
    "others",
    "our",
    "out",
    "over",
    "own",
    "per",
    "perhaps",
    "quite",
    "rather",
    "same",
    "several",
    "shall",
    "she",
    "should",
    "since",
    "so",
    "some",
    "such",
    "than",
    "that",
    "the",
    "their",
    "them",
    "then",
    "there",
    "therefore",
    "these",
    "they",
    "this",
    "those",
    "though",
    "through",
    "thus",
    "to",
    "too",
    "toward",
    "towards",
    "under",
    "until",
    "up",
    "upon",
    "us",
    "very",
    "via",
    "was",
    "we",
    "were",
    "what",
    "when",
    "where",
    "whether",
    "which",
    "while",
    "who",
    "whom",
    "whose",
    "why",
    "will",
    "with",
    "within",
    "without",
    "would",
    "yet",
    "you",
    "your",
];

// Frequent words that rarely name a concept by themselves; sorted, a test keeps them sorted.
const GENERIC_WORDS: &[&str] = &[
    "able",
    "absorb",
    "absorbs",
    "across",
    "actually",
    "allow",
    "allows",
    "amount",
    "approach",
    "area",
    "areas",
    "aspect",
    "based",
    "become",
    "becomes",
    "begin",
    "begins",
    "best",
    "better",
    "big",
    "build",
    "builds",
    "call",
    "called",
    "carried",
    "carries",
    "carry",
    "case",
    "cases",
    "certain",
    "change",
    "changes",
    "chapter",
    "clear",
    "common",
    "consider",
    "contain",
    "contains",
    "create",
    "creates",
    "depend",
    "depends",
    "different",
    "does",
    "done",
    "each",
    "easy",
    "end",
    "enter",
    "enters",
    "example",
    "examples",
    "exist",
    "exists",
    "fact",
    "figure",
    "find",
    "first",
    "following",
    "form",
    "forms",
    "found",
    "four",
    "get",
    "give",
    "given",
    "gives",
    "go",
    "good",
    "great",
    "grow",
    "grows",
    "happen",
    "happens",
    "help",
    "helps",
    "high",
    "important",
    "include",
    "includes",
    "including",
    "instead",
    "keep",
    "keeps",
    "key",
    "kind",
    "kinds",
    "known",
    "large",
    "last",
    "later",
    "lead",
    "leads",
    "let",
    "lets",
    "like",
    "long",
    "low",
    "made",
    "main",
    "make",
    "makes",
    "making",
    "mean",
    "means",
    "method",
    "move",
    "moves",
    "need",
    "needed",
    "needs",
    "new",
    "next",
    "note",
    "number",
    "numbers",
    "occur",
    "occurs",
    "part",
    "parts",
    "pass",
    "passes",
    "place",
    "point",
    "possible",
    "process",
    "produce",
    "produces",
    "provide",
    "provides",
    "put",
    "real",
    "really",
    "refer",
    "refers",
    "release",
    "releases",
    "result",
    "results",
    "run",
    "runs",
    "second",
    "section",
    "see",
    "seen",
    "set",
    "show",
    "shown",
    "shows",
    "side",
    "similar",
    "simple",
    "small",
    "specific",
    "stage",
    "start",
    "starts",
    "step",
    "steps",
    "stop",
    "stops",
    "store",
    "stores",
    "take",
    "takes",
    "term",
    "terms",
    "thing",
    "things",
    "third",
    "three",
    "time",
    "times",
    "total",
    "turn",
    "turns",
    "two",
    "type",
    "types",
    "use",
    "used",
    "uses",
    "using",
    "usually",
    "various",
    "way",
    "ways",
    "well",
    "whole",
    "work",
    "works",
    "year",
    "years",
];

// Sorted, a test keeps them sorted.
const REFERRING_WORDS: &[&str] = &[
    "all", "another", "any", "both", "each", "every", "he", "her", "here", "his", "how", "it",
    "its", "many", "most", "much", "none", "one", "our", "she", "some", "such", "that", "their",
    "there", "these", "they", "this", "those", "we", "what", "when", "where", "which", "who",
    "why", "you", "your",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_lists_are_sorted_for_binary_search() {
        for list in [STOP_WORDS, GENERIC_WORDS, REFERRING_WORDS] {
            assert!(list.windows(2).all(|pair| pair[0] < pair[1]), "{list:?}");
        }
    }

    #[test]
    fn tokens_keep_inner_hyphens_and_their_offsets() {
        let text = "The light-dependent stage, then CO2.";
        let words: Vec<&str> = tokens(text).iter().map(|token| token.text).collect();
        assert_eq!(words, ["The", "light-dependent", "stage", "then", "CO2"]);
        let token = tokens(text)[1];
        assert_eq!(&text[token.start..token.end], "light-dependent");
    }

    #[test]
    fn normalize_ignores_case_punctuation_and_spacing() {
        assert_eq!(
            normalize("  Light-dependent   Reactions! "),
            "light dependent reactions"
        );
        assert_eq!(normalize("**Chlorophyll**"), "chlorophyll");
    }

    #[test]
    fn term_keys_group_singular_and_plural() {
        assert_eq!(term_key("Chloroplasts"), term_key("chloroplast"));
        assert_eq!(term_key("light reactions"), "light reaction");
        assert_eq!(term_key("glass"), "glass");
    }

    #[test]
    fn phrases_are_found_case_insensitively_on_word_boundaries() {
        let text = "Chlorophyll absorbs light; chlorophylls differ. The chlorophyll a form.";
        let found = find_phrase(text, "chlorophyll");
        let words: Vec<&str> = found.iter().map(|range| &text[range.clone()]).collect();
        assert_eq!(words, ["Chlorophyll", "chlorophyll"]);
    }

    #[test]
    fn phrase_search_handles_multibyte_text() {
        let text = "Über die Fotosynthese: Fotosynthese ist wichtig.";
        assert_eq!(find_phrase(text, "fotosynthese").len(), 2);
        assert!(find_phrase(text, "").is_empty());
    }

    #[test]
    fn truncation_cuts_at_a_word_and_marks_the_cut() {
        let cut = truncate_words("one two three four five", 12);
        assert_eq!(cut, "one two…");
        assert_eq!(truncate_words("short", 12), "short");
    }

    #[test]
    fn acronyms_keep_their_case_when_a_sentence_start_is_lowered() {
        assert_eq!(lowercase_first_word("The stroma"), "the stroma");
        assert_eq!(
            lowercase_first_word("ATP stores energy"),
            "ATP stores energy"
        );
    }
}

//! Checking that generated text comes from the source document.
//!
//! Two checks: a [`SourceSpan`] must be an exact slice of the source (an offset that drifted
//! is corrected when the text occurs elsewhere), and a claim (an answer, a term, a definition,
//! a blanked sentence with its answer filled in) must occur in the normalized source starting
//! at a word boundary, which tolerates case, punctuation, a truncation mark and a plural
//! ending. Neither check fails; each answers yes or no.

use std::cell::{OnceCell, RefCell};
use std::collections::{HashMap, HashSet};

use crate::analysis::words::normalize;
use crate::document::SourceSpan;
use crate::pack::BLANK;

/// Lines longer than this are paragraphs, never headings.
const MAX_HEADING_LINE_BYTES: usize = 400;

/// The source text, prepared for repeated checks.
pub(crate) struct SourceText<'a> {
    exact: &'a str,
    normalized: String,
    // The same terms are checked many times (as answers, options, card fronts); each scan of a
    // long document is worth remembering.
    verdicts: RefCell<HashMap<String, bool>>,
    lines: OnceCell<HashSet<String>>,
}

/// Where a span was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SpanCheck {
    /// At its recorded offset.
    Exact,
    /// At another offset, which is given.
    Moved(usize),
    /// Nowhere.
    Missing,
}

impl<'a> SourceText<'a> {
    pub(crate) fn new(source: &'a str) -> Self {
        Self {
            exact: source,
            normalized: format!(" {} ", normalize(source)),
            verdicts: RefCell::new(HashMap::new()),
            lines: OnceCell::new(),
        }
    }

    /// Whether the claim occurs in the source, normalized, starting at a word boundary.
    pub(crate) fn contains(&self, claim: &str) -> bool {
        self.contains_near(claim, "")
    }

    /// [`SourceText::contains`], looking first in `near`, which the caller has already found to
    /// be a slice of the source (an item's own source sentence) and is far shorter than it.
    pub(crate) fn contains_near(&self, claim: &str, near: &str) -> bool {
        let claim = normalize(claim);
        if claim.is_empty() {
            return false;
        }
        let needle = format!(" {claim}");
        if !near.is_empty() && format!(" {} ", normalize(near)).contains(&needle) {
            return true;
        }
        if let Some(&known) = self.verdicts.borrow().get(&claim) {
            return known;
        }
        let found = self.normalized.contains(&needle);
        self.verdicts.borrow_mut().insert(claim, found);
        found
    }

    /// Whether a heading is grounded: a whole line of the source (as headings are in the
    /// canonical text), else anywhere in it.
    pub(crate) fn contains_line(&self, heading: &str) -> bool {
        let lines = self.lines.get_or_init(|| {
            self.exact
                .lines()
                .filter(|line| line.len() <= MAX_HEADING_LINE_BYTES)
                .map(normalize)
                .collect()
        });
        lines.contains(&normalize(heading)) || self.contains(heading)
    }

    /// Whether text with [`BLANK`] gaps occurs in the source once the gaps hold `fill`, looking
    /// first in `near` (see [`SourceText::contains_near`]).
    pub(crate) fn contains_filled_near(&self, text: &str, fill: &str, near: &str) -> bool {
        self.contains_near(&text.replace(BLANK, fill), near)
    }

    /// Where the span's text is in the source.
    pub(crate) fn locate(&self, span: &SourceSpan) -> SpanCheck {
        if span.text.is_empty() {
            return SpanCheck::Missing;
        }
        if span.matches(self.exact) {
            return SpanCheck::Exact;
        }
        self.exact
            .find(&span.text)
            .map_or(SpanCheck::Missing, SpanCheck::Moved)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOURCE: &str = "Chlorophyll is a green pigment. The stroma is the fluid in chloroplasts.";

    #[test]
    fn claims_match_regardless_of_case_punctuation_and_plural() {
        let source = SourceText::new(SOURCE);
        assert!(source.contains("A GREEN pigment"));
        assert!(source.contains("chloroplast"));
        assert!(source.contains("the fluid in…"));
        assert!(!source.contains("a blue pigment"));
        assert!(!source.contains("roma"), "must start at a word boundary");
        assert!(!source.contains("..."));
    }

    #[test]
    fn blanks_are_filled_before_matching() {
        let source = SourceText::new(SOURCE);
        assert!(source.contains_filled_near("The ____ is the fluid", "stroma", ""));
        assert!(!source.contains_filled_near("The ____ is the fluid", "thylakoid", ""));
    }

    #[test]
    fn a_claim_near_its_sentence_is_found_without_the_whole_text() {
        let source = SourceText::new(SOURCE);
        let sentence = "The stroma is the fluid in chloroplasts.";
        assert!(source.contains_near("the FLUID", sentence));
        assert!(
            source.contains_near("green pigment", sentence),
            "falls back to the whole text"
        );
        assert!(!source.contains_near("blue pigment", sentence));
    }

    #[test]
    fn headings_are_found_as_whole_lines() {
        let source = SourceText::new("Leaves\n\nLeaves are green.");
        assert!(source.contains_line("LEAVES"));
        assert!(!source.contains_line("Roots"));
    }

    #[test]
    fn spans_are_found_exactly_or_relocated() {
        let source = SourceText::new(SOURCE);
        let exact = SourceSpan {
            text: "The stroma is the fluid in chloroplasts.".into(),
            offset: 32,
        };
        assert_eq!(source.locate(&exact), SpanCheck::Exact);
        let drifted = SourceSpan {
            offset: 3,
            ..exact.clone()
        };
        assert_eq!(source.locate(&drifted), SpanCheck::Moved(32));
        let invented = SourceSpan {
            text: "Roots are blue.".into(),
            offset: 0,
        };
        assert_eq!(source.locate(&invented), SpanCheck::Missing);
    }
}

//! Checking that generated text comes from the source document.
//!
//! Two checks: a [`SourceSpan`] must be an exact slice of the source (an offset that drifted
//! is corrected when the text occurs elsewhere), and a claim (an answer, a term, a definition,
//! a blanked sentence with its answer filled in) must occur in the normalized source starting
//! at a word boundary, which tolerates case, punctuation, a truncation mark and a plural
//! ending. Neither check fails; each answers yes or no.

use crate::analysis::words::normalize;
use crate::document::SourceSpan;
use crate::pack::BLANK;

/// The source text, prepared for repeated checks.
pub(crate) struct SourceText<'a> {
    exact: &'a str,
    normalized: String,
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
        }
    }

    /// Whether the claim occurs in the source, normalized, starting at a word boundary.
    pub(crate) fn contains(&self, claim: &str) -> bool {
        let claim = normalize(claim);
        !claim.is_empty() && self.normalized.contains(&format!(" {claim}"))
    }

    /// Whether text with [`BLANK`] gaps occurs in the source once the gaps hold `fill`.
    pub(crate) fn contains_filled(&self, text: &str, fill: &str) -> bool {
        self.contains(&text.replace(BLANK, fill))
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
        assert!(source.contains_filled("The ____ is the fluid", "stroma"));
        assert!(!source.contains_filled("The ____ is the fluid", "thylakoid"));
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

//! The extracted form of an uploaded document, and references back into its text.
//!
//! Extraction turns every supported format into the same canonical text: one paragraph or list
//! item per line, blank lines between paragraphs, headings on their own lines, runs of spaces
//! collapsed. Sections are exact slices of that text, so a byte offset found in a section body
//! is also an offset into [`ExtractedDocument::text`]. Nothing here fails; the types only hold
//! data.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The format a document was read as, decided by its content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocumentKind {
    /// UTF-8 or UTF-16 text without Markdown structure.
    PlainText,
    /// UTF-8 or UTF-16 text read as Markdown (by the object key's extension).
    Markdown,
    /// Portable Document Format.
    Pdf,
    /// Office Open XML word-processing document.
    Docx,
}

impl DocumentKind {
    /// The snake_case name used in JSON and in messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PlainText => "plain_text",
            Self::Markdown => "markdown",
            Self::Pdf => "pdf",
            Self::Docx => "docx",
        }
    }
}

impl fmt::Display for DocumentKind {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// A document reduced to canonical text plus the structure that survived extraction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtractedDocument {
    /// The format the bytes were read as.
    pub kind: DocumentKind,
    /// Canonical text: headings and paragraphs, one per line, separated by blank lines.
    pub text: String,
    /// Page count, for formats that have pages.
    pub pages: Option<u32>,
    /// Title from the document itself, else derived from the object key.
    pub title: Option<String>,
    /// Sections in document order; text before the first heading has no heading.
    pub sections: Vec<Section>,
}

impl ExtractedDocument {
    /// Number of words in the canonical text.
    pub fn word_count(&self) -> usize {
        count_words(&self.text)
    }
}

/// One heading and the body text under it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// Heading text, `None` for text before the first heading.
    pub heading: Option<String>,
    /// Heading depth, 1 for a top-level heading; 0 when there is no heading.
    pub level: u8,
    /// Body text: paragraphs separated by blank lines, an exact slice of the document text.
    pub text: String,
    /// Byte offset of [`Section::text`] in [`ExtractedDocument::text`].
    pub offset: usize,
}

/// A sentence (or other exact slice) of the extracted text that an item is grounded in.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SourceSpan {
    /// The exact text of the slice.
    pub text: String,
    /// Byte offset of the slice in the extracted text (UTF-8).
    pub offset: usize,
}

impl SourceSpan {
    /// Whether `source[offset..]` starts with exactly this text.
    pub fn matches(&self, source: &str) -> bool {
        source
            .get(self.offset..self.offset.saturating_add(self.text.len()))
            .is_some_and(|slice| slice == self.text)
    }
}

/// Counts whitespace-separated tokens that contain at least one letter or digit.
pub(crate) fn count_words(text: &str) -> usize {
    text.split_whitespace()
        .filter(|token| token.chars().any(char::is_alphanumeric))
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn span_matches_only_at_its_own_offset() {
        let source = "Leaves are green. Roots are not.";
        let span = SourceSpan {
            text: "Roots are not.".into(),
            offset: 18,
        };
        assert!(span.matches(source));

        let moved = SourceSpan { offset: 17, ..span };
        assert!(!moved.matches(source));
    }

    #[test]
    fn span_past_the_end_does_not_match_or_panic() {
        let span = SourceSpan {
            text: "x".into(),
            offset: usize::MAX,
        };
        assert!(!span.matches("short"));
    }

    #[test]
    fn words_without_letters_or_digits_are_not_counted() {
        assert_eq!(count_words("one -- two, three 4 *"), 4);
    }

    #[test]
    fn kind_names_match_their_json_form() {
        for kind in [
            DocumentKind::PlainText,
            DocumentKind::Markdown,
            DocumentKind::Pdf,
            DocumentKind::Docx,
        ] {
            let json = serde_json::to_string(&kind).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", kind.as_str()));
        }
    }
}

//! Turns the blocks every reader produces (headings and paragraphs) into the canonical text and
//! its sections, and holds the line heuristics shared by formats without markup.
//!
//! Plain text and PDF carry no structure, so headings are guessed: a short line that starts
//! with a capital or a section number and does not end like a sentence. A wrong guess costs an
//! outline entry, never text. Nothing here fails.

use crate::analysis::words::is_stop_word;
use crate::document::{DocumentKind, ExtractedDocument, Section};

/// A structural unit of a document before assembly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Block {
    /// A heading with its depth (1 is top level).
    Heading { level: u8, text: String },
    /// A paragraph or list item.
    Paragraph(String),
}

/// Longest text still taken for a heading; longer "headings" are kept as paragraphs.
const MAX_HEADING_CHARS: usize = 120;

/// Builds the canonical text and sections from blocks, cleaning each block's whitespace.
pub(crate) fn assemble(
    kind: DocumentKind,
    blocks: Vec<Block>,
    pages: Option<u32>,
    title: Option<String>,
) -> ExtractedDocument {
    let mut text = String::new();
    let mut sections = Vec::new();
    let mut heading: Option<(u8, String)> = None;
    let mut body: Vec<String> = Vec::new();
    let mut first_heading = None;

    for block in blocks {
        match block {
            Block::Heading { level, text: raw } => {
                let cleaned = clean_inline(&raw);
                if cleaned.is_empty() {
                    continue;
                }
                if cleaned.chars().count() > MAX_HEADING_CHARS {
                    body.push(cleaned);
                    continue;
                }
                push_section(&mut text, &mut sections, heading.take(), &mut body);
                first_heading.get_or_insert_with(|| cleaned.clone());
                heading = Some((level.clamp(1, 6), cleaned));
            }
            Block::Paragraph(raw) => {
                let cleaned = clean_inline(&raw);
                if !cleaned.is_empty() {
                    body.push(cleaned);
                }
            }
        }
    }
    push_section(&mut text, &mut sections, heading, &mut body);

    let title = title
        .map(|title| clean_inline(&title))
        .filter(|title| !title.is_empty())
        .or(first_heading);
    ExtractedDocument {
        kind,
        text,
        pages,
        title,
        sections,
    }
}

fn push_section(
    text: &mut String,
    sections: &mut Vec<Section>,
    heading: Option<(u8, String)>,
    body: &mut Vec<String>,
) {
    if heading.is_none() && body.is_empty() {
        return;
    }
    if !text.is_empty() {
        text.push_str("\n\n");
    }
    let (level, heading) = match heading {
        Some((level, heading)) => {
            text.push_str(&heading);
            if !body.is_empty() {
                text.push_str("\n\n");
            }
            (level, Some(heading))
        }
        None => (0, None),
    };
    let joined = body.join("\n\n");
    body.clear();
    let offset = text.len();
    text.push_str(&joined);
    sections.push(Section {
        heading,
        level,
        text: joined,
        offset,
    });
}

/// Collapses whitespace runs to one space and drops control characters.
pub(crate) fn clean_inline(text: &str) -> String {
    let mut cleaned = String::with_capacity(text.len());
    for word in text.split(|c: char| c.is_whitespace() || c.is_control()) {
        if word.is_empty() {
            continue;
        }
        if !cleaned.is_empty() {
            cleaned.push(' ');
        }
        cleaned.push_str(word);
    }
    cleaned
}

/// Heading depth when a line looks like a heading: `1.2 Light` is level 2, an all-capitals line
/// level 1, any other candidate `default_level`.
pub(crate) fn heading_level(line: &str, default_level: u8) -> Option<u8> {
    let line = line.trim().trim_end_matches(':');
    let words: Vec<&str> = line.split_whitespace().collect();
    let first = line.chars().next()?;
    let last = line.chars().last()?;
    let last_word = words.last()?.to_lowercase();

    let shaped_like_heading = (1..=MAX_HEADING_WORDS).contains(&words.len())
        && line.chars().count() <= MAX_HEADING_LINE_CHARS
        && (first.is_uppercase() || first.is_ascii_digit())
        && !matches!(last, '.' | ',' | ';' | '!' | '?' | '-')
        && line.chars().any(char::is_alphabetic)
        && !is_stop_word(&last_word)
        && !is_list_item(line);
    if !shaped_like_heading {
        return None;
    }

    let numbering = numbering_depth(words[0]);
    if let Some(depth) = numbering {
        if words.len() < 2 {
            return None;
        }
        return Some(depth);
    }
    let letters: Vec<char> = line.chars().filter(|c| c.is_alphabetic()).collect();
    if letters.len() > 3 && letters.iter().all(|c| c.is_uppercase()) {
        return Some(1);
    }
    Some(default_level)
}

const MAX_HEADING_WORDS: usize = 12;
const MAX_HEADING_LINE_CHARS: usize = 90;

/// `2`, `2.` and `2.1` style section numbers, as a depth.
fn numbering_depth(word: &str) -> Option<u8> {
    let trimmed = word.trim_end_matches(['.', ')']);
    let parts: Vec<&str> = trimmed.split('.').collect();
    let numeric = !trimmed.is_empty()
        && parts.iter().all(|part| {
            !part.is_empty() && part.len() <= 3 && part.chars().all(|c| c.is_ascii_digit())
        });
    numeric.then(|| parts.len().min(6) as u8)
}

/// Whether a line starts with a bullet or a list number followed by text.
pub(crate) fn is_list_item(line: &str) -> bool {
    list_item_text(line).is_some()
}

/// The text of a list item without its bullet or number.
pub(crate) fn list_item_text(line: &str) -> Option<&str> {
    let trimmed = line.trim_start();
    for bullet in ["- ", "* ", "+ ", "• ", "· ", "– ", "— ", "▪ ", "◦ "] {
        if let Some(rest) = trimmed.strip_prefix(bullet) {
            return Some(rest.trim_start());
        }
    }
    let (marker, rest) = trimmed.split_once(' ')?;
    let number = marker.strip_suffix(['.', ')'])?;
    let is_marker =
        (!number.is_empty() && number.len() <= 3 && number.chars().all(|c| c.is_ascii_digit()))
            || (number.len() == 1 && number.chars().all(|c| c.is_ascii_lowercase()));
    // "1. Introduction" is a numbered heading rather than an item when it reads like a title.
    (is_marker
        && rest
            .chars()
            .next()
            .is_some_and(|c| !c.is_uppercase() || rest.ends_with('.')))
    .then(|| rest.trim_start())
}

/// Whether a line ends like a sentence (terminal punctuation, maybe inside quotes or brackets).
pub(crate) fn ends_sentence(line: &str) -> bool {
    let trimmed = line
        .trim_end()
        .trim_end_matches(['"', '\'', '”', '’', ')', ']']);
    trimmed.ends_with(['.', '!', '?', ':'])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paragraph(text: &str) -> Block {
        Block::Paragraph(text.into())
    }

    fn heading(level: u8, text: &str) -> Block {
        Block::Heading {
            level,
            text: text.into(),
        }
    }

    #[test]
    fn sections_are_exact_slices_of_the_canonical_text() {
        let blocks = vec![
            paragraph("Before   any heading."),
            heading(1, "Leaves"),
            paragraph("Leaves are green.\n They catch light."),
            paragraph("Second paragraph."),
            heading(2, "Empty"),
            heading(2, "Roots"),
            paragraph("Roots take up water."),
        ];
        let document = assemble(DocumentKind::PlainText, blocks, None, None);

        assert_eq!(document.sections.len(), 4);
        for section in &document.sections {
            let slice = &document.text[section.offset..section.offset + section.text.len()];
            assert_eq!(slice, section.text);
        }
        assert_eq!(document.sections[0].heading, None);
        assert_eq!(
            document.sections[1].text,
            "Leaves are green. They catch light.\n\nSecond paragraph."
        );
        assert_eq!(document.title.as_deref(), Some("Leaves"));
        assert!(
            document
                .text
                .starts_with("Before any heading.\n\nLeaves\n\nLeaves are green.")
        );
    }

    #[test]
    fn an_explicit_title_wins_over_the_first_heading() {
        let blocks = vec![heading(1, "Leaves"), paragraph("Text.")];
        let document = assemble(DocumentKind::Docx, blocks, None, Some(" My  title ".into()));
        assert_eq!(document.title.as_deref(), Some("My title"));
    }

    #[test]
    fn headings_are_short_capitalized_lines_that_do_not_end_like_sentences() {
        assert_eq!(heading_level("The Light Reactions", 2), Some(2));
        assert_eq!(heading_level("2.1 Light reactions", 2), Some(2));
        assert_eq!(heading_level("3. Results", 2), Some(1));
        assert_eq!(heading_level("PHOTOSYNTHESIS", 2), Some(1));
        assert_eq!(heading_level("Plants make sugar.", 2), None);
        assert_eq!(heading_level("the light reactions", 2), None);
        assert_eq!(heading_level("Energy moves from the", 2), None);
        assert_eq!(heading_level("- Light", 2), None);
    }

    #[test]
    fn list_items_lose_their_markers() {
        assert_eq!(list_item_text("- water"), Some("water"));
        assert_eq!(
            list_item_text("  2) carbon dioxide"),
            Some("carbon dioxide")
        );
        assert_eq!(list_item_text("1. Introduction"), None);
        assert_eq!(list_item_text("Plain line"), None);
    }
}

//! Reading PDF text with `lopdf`, one line of text per line on the page.
//!
//! The content stream of every page is walked for text-showing operators; a change of vertical
//! position starts a new line and a horizontal jump or a wide kerning gap inserts a space.
//! Lines are then joined into paragraphs (a short line ending a sentence closes one), short
//! capitalized lines become headings, and running headers, footers and page numbers repeated
//! across pages are dropped.
//!
//! Failures: a PDF that needs a password is [`Error::EncryptedPdf`] (one that opens with the
//! empty user password, as permission-only PDFs do, is read normally); a PDF whose structure
//! cannot be parsed, or whose every page fails, is [`Error::CorruptDocument`]. A panic inside
//! the parser on hostile input is caught and reported as corruption. Text inside form XObjects
//! and text drawn as images is not read.

use std::collections::{BTreeMap, HashMap};
use std::panic::{AssertUnwindSafe, catch_unwind};

use lopdf::content::Content;
use lopdf::{Document, Encoding, LoadOptions, Object, ObjectId};

use crate::document::DocumentKind;
use crate::error::Error;
use crate::extract::assemble::{Block, ends_sentence, heading_level, list_item_text};

/// Text and structure read from a PDF.
pub(crate) struct PdfText {
    pub blocks: Vec<Block>,
    pub pages: u32,
    pub title: Option<String>,
}

/// Reads the text of a PDF.
///
/// # Errors
///
/// [`Error::EncryptedPdf`] or [`Error::CorruptDocument`], see the module documentation.
pub(crate) fn read(bytes: &[u8], max_stream_bytes: usize) -> Result<PdfText, Error> {
    catch_unwind(AssertUnwindSafe(|| read_unguarded(bytes, max_stream_bytes))).unwrap_or_else(
        |_| {
            Err(Error::corrupt(
                DocumentKind::Pdf,
                "pdf parser panicked on malformed input",
            ))
        },
    )
}

fn read_unguarded(bytes: &[u8], max_stream_bytes: usize) -> Result<PdfText, Error> {
    let options = LoadOptions {
        max_decompressed_size: Some(max_stream_bytes),
        ..LoadOptions::default()
    };
    let document = match Document::load_mem_with_options(bytes, options) {
        Ok(document) => document,
        // A broken encryption dictionary fails loading; it is still an encrypted file.
        Err(_) if contains(bytes, b"/Encrypt") => return Err(Error::EncryptedPdf),
        Err(error) => return Err(Error::corrupt(DocumentKind::Pdf, error)),
    };
    // Still encrypted after loading means the empty user password did not open it; an
    // `/Encrypt` entry that was never decrypted means its dictionary could not even be read.
    let declares_encryption = document.trailer.get(b"Encrypt").is_ok();
    if document.is_encrypted() || (declares_encryption && !document.was_encrypted()) {
        return Err(Error::EncryptedPdf);
    }

    let page_ids = document.get_pages();
    if page_ids.is_empty() {
        return Err(Error::corrupt(DocumentKind::Pdf, "pdf has no pages"));
    }

    let mut pages = Vec::with_capacity(page_ids.len());
    let mut first_error = None;
    for page_id in page_ids.values() {
        match page_lines(&document, *page_id, max_stream_bytes) {
            Ok(lines) => pages.push(lines),
            Err(error) => {
                first_error.get_or_insert(error);
                pages.push(Vec::new());
            }
        }
    }
    if let Some(error) = first_error
        && pages.iter().all(Vec::is_empty)
    {
        return Err(Error::corrupt(DocumentKind::Pdf, error));
    }

    Ok(PdfText {
        blocks: blocks_from_pages(pages),
        pages: u32::try_from(page_ids.len()).unwrap_or(u32::MAX),
        title: info_title(&document),
    })
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

fn info_title(document: &Document) -> Option<String> {
    let info = document.trailer.get(b"Info").ok()?;
    let (_, info) = document.dereference(info).ok()?;
    let title = info.as_dict().ok()?.get(b"Title").ok()?;
    let (_, title) = document.dereference(title).ok()?;
    let title = lopdf::decode_text_string(title).ok()?;
    let title = title.trim();
    let lowercase = title.to_lowercase();
    // Producers often store a file name or a placeholder instead of a title.
    let placeholder = lowercase.is_empty()
        || lowercase.starts_with("untitled")
        || lowercase.starts_with("microsoft word")
        || [".doc", ".pdf", ".txt", ".odt"]
            .iter()
            .any(|extension| lowercase.ends_with(extension));
    (!placeholder).then(|| title.to_owned())
}

/// Lines of text on one page, in content-stream order.
fn page_lines(
    document: &Document,
    page: ObjectId,
    limit: usize,
) -> Result<Vec<String>, lopdf::Error> {
    let encodings: BTreeMap<Vec<u8>, Encoding<'_>> = document
        .get_page_fonts(page)?
        .into_iter()
        .filter_map(|(name, font)| {
            let encoding = font.get_font_encoding_with_limit(document, limit).ok()?;
            Some((name, encoding))
        })
        .collect();
    let content = document.get_page_content_with_limit(page, limit)?;
    let content = Content::decode(&content)?;

    let mut lines = LineWriter::default();
    let mut encoding = None;
    for operation in &content.operations {
        let operands = &operation.operands;
        match operation.operator.as_str() {
            "BT" => lines.begin_text(),
            "Tf" => {
                encoding = operands
                    .first()
                    .and_then(|name| name.as_name().ok())
                    .and_then(|name| encodings.get(name));
            }
            "Td" | "TD" => lines.move_by(number(operands, 0), number(operands, 1)),
            "Tm" => lines.set_line(number(operands, 5)),
            "T*" => lines.next_line(),
            "Tj" => lines.show(&decode(encoding, operands.first())),
            "'" => {
                lines.next_line();
                lines.show(&decode(encoding, operands.first()));
            }
            "\"" => {
                lines.next_line();
                lines.show(&decode(encoding, operands.get(2)));
            }
            "TJ" => {
                let parts = operands.first().and_then(|array| array.as_array().ok());
                for part in parts.into_iter().flatten() {
                    match part {
                        Object::String(..) => lines.show(&decode(encoding, Some(part))),
                        // Thousandths of an em; a gap this wide separates words.
                        other if other.as_float().is_ok_and(|gap| gap < -200.0) => lines.space(),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    Ok(lines.finish())
}

fn number(operands: &[Object], index: usize) -> f32 {
    operands
        .get(index)
        .and_then(|operand| operand.as_float().ok())
        .unwrap_or_default()
}

fn decode(encoding: Option<&Encoding<'_>>, operand: Option<&Object>) -> String {
    let Some(bytes) = operand.and_then(|operand| operand.as_str().ok()) else {
        return String::new();
    };
    if let Some(text) = encoding.and_then(|encoding| encoding.bytes_to_string(bytes).ok()) {
        return text;
    }
    // Without a usable font encoding, printable Latin-1 is the best guess.
    bytes
        .iter()
        .map(|&byte| char::from(byte))
        .filter(|character| !character.is_control())
        .collect()
}

/// Collects shown text into lines, breaking where the vertical position changes.
#[derive(Default)]
struct LineWriter {
    lines: Vec<String>,
    current: String,
    line_y: f32,
    shown_y: Option<f32>,
    moved_across: bool,
    forced_break: bool,
}

impl LineWriter {
    fn begin_text(&mut self) {
        self.line_y = 0.0;
        self.moved_across = true;
    }

    fn move_by(&mut self, across: f32, down: f32) {
        self.line_y += down;
        if across != 0.0 {
            self.moved_across = true;
        }
    }

    fn set_line(&mut self, y: f32) {
        self.line_y = y;
        self.moved_across = true;
    }

    fn next_line(&mut self) {
        self.forced_break = true;
    }

    fn space(&mut self) {
        if !self.current.ends_with(' ') && !self.current.is_empty() {
            self.current.push(' ');
        }
    }

    fn show(&mut self, text: &str) {
        if text.is_empty() {
            return;
        }
        if let Some(shown_y) = self.shown_y {
            if self.forced_break || (self.line_y - shown_y).abs() > 0.5 {
                self.break_line();
            } else if self.moved_across {
                self.space();
            }
        }
        self.current.push_str(text);
        self.shown_y = Some(self.line_y);
        self.moved_across = false;
        self.forced_break = false;
    }

    fn break_line(&mut self) {
        let line = std::mem::take(&mut self.current);
        if !line.trim().is_empty() {
            self.lines.push(line);
        }
    }

    fn finish(mut self) -> Vec<String> {
        self.break_line();
        self.lines
    }
}

/// Lines repeated at the top or bottom of this share of pages are running headers or footers.
const FURNITURE_SHARE: usize = 2;
const FURNITURE_MIN_PAGES: usize = 3;

fn blocks_from_pages(mut pages: Vec<Vec<String>>) -> Vec<Block> {
    strip_page_furniture(&mut pages);
    let lines: Vec<String> = pages
        .into_iter()
        .flatten()
        .map(|line| line.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|line| !line.is_empty())
        .collect();
    blocks_from_lines(&lines)
}

fn strip_page_furniture(pages: &mut [Vec<String>]) {
    let mut edge_counts: HashMap<String, usize> = HashMap::new();
    for page in pages.iter() {
        let edges = [page.first(), page.last()];
        let mut keys: Vec<String> = edges
            .into_iter()
            .flatten()
            .map(|line| furniture_key(line))
            .collect();
        keys.dedup();
        for key in keys {
            *edge_counts.entry(key).or_default() += 1;
        }
    }
    let threshold = FURNITURE_MIN_PAGES.max(pages.len() / FURNITURE_SHARE);
    let is_furniture = |line: &String| {
        is_page_number(line)
            || edge_counts
                .get(&furniture_key(line))
                .is_some_and(|&count| count >= threshold)
    };

    for page in pages.iter_mut() {
        while page.first().is_some_and(is_furniture) {
            page.remove(0);
        }
        while page.last().is_some_and(is_furniture) {
            page.pop();
        }
    }
}

/// Lines that differ only in their digits (page numbers, dates) share a key.
fn furniture_key(line: &str) -> String {
    line.trim()
        .chars()
        .map(|c| if c.is_ascii_digit() { '#' } else { c })
        .collect()
}

fn is_page_number(line: &str) -> bool {
    let lowercase = line.trim().to_lowercase();
    let rest = lowercase.strip_prefix("page").unwrap_or(&lowercase).trim();
    !rest.is_empty()
        && rest
            .split(|c: char| c.is_whitespace() || c == '/')
            .filter(|part| !part.is_empty() && *part != "of")
            .all(|part| part.chars().all(|c| c.is_ascii_digit()))
        && rest.chars().any(|c| c.is_ascii_digit())
}

/// Joins lines into paragraphs and picks out headings and list items.
fn blocks_from_lines(lines: &[String]) -> Vec<Block> {
    let typical = typical_line_length(lines);
    let short = |line: &str| (line.chars().count() as f64) < typical * 0.8;

    let mut blocks = Vec::new();
    let mut paragraph = String::new();
    for (index, line) in lines.iter().enumerate() {
        let previous_closed = paragraph.is_empty() || ends_sentence(&paragraph);
        let next_starts_upper = lines.get(index + 1).is_none_or(|next| {
            next.chars()
                .next()
                .is_some_and(|c| c.is_uppercase() || c.is_ascii_digit())
        });
        let heading = (previous_closed && next_starts_upper && short(line))
            .then(|| heading_level(line, 2))
            .flatten();

        if let Some(level) = heading {
            flush(&mut blocks, &mut paragraph);
            blocks.push(Block::Heading {
                level,
                text: line.clone(),
            });
            continue;
        }
        if let Some(item) = list_item_text(line) {
            flush(&mut blocks, &mut paragraph);
            paragraph.push_str(item);
        } else {
            join_line(&mut paragraph, line);
        }
        if ends_sentence(line) && short(line) {
            flush(&mut blocks, &mut paragraph);
        }
    }
    flush(&mut blocks, &mut paragraph);
    blocks
}

fn typical_line_length(lines: &[String]) -> f64 {
    let mut lengths: Vec<usize> = lines
        .iter()
        .map(|line| line.chars().count())
        .filter(|&length| length > 30)
        .collect();
    if lengths.is_empty() {
        return 60.0;
    }
    lengths.sort_unstable();
    lengths[lengths.len() / 2] as f64
}

/// Appends a wrapped line; a word hyphenated across lines keeps its hyphen and loses the space.
fn join_line(paragraph: &mut String, line: &str) {
    let hyphenated = paragraph.ends_with('-')
        && paragraph
            .chars()
            .rev()
            .nth(1)
            .is_some_and(char::is_alphabetic)
        && line.chars().next().is_some_and(char::is_lowercase);
    if !paragraph.is_empty() && !hyphenated {
        paragraph.push(' ');
    }
    paragraph.push_str(line);
}

fn flush(blocks: &mut Vec<Block>, paragraph: &mut String) {
    if !paragraph.trim().is_empty() {
        blocks.push(Block::Paragraph(std::mem::take(paragraph)));
    }
    paragraph.clear();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &[&str]) -> Vec<String> {
        text.iter().map(|line| (*line).to_owned()).collect()
    }

    #[test]
    fn wrapped_lines_join_into_paragraphs_under_headings() {
        let page = lines(&[
            "The Light Reactions",
            "The light-dependent reactions take place in the thylakoid membranes of",
            "the chloroplast, where chlorophyll absorbs light energy from the sun and",
            "passes it along an electron transport chain.",
            "Water molecules are split to replace the electrons that chlorophyll loses",
            "during this stage of photo-",
            "synthesis.",
        ]);
        let blocks = blocks_from_lines(&page);
        assert_eq!(blocks.len(), 3, "{blocks:?}");
        assert_eq!(
            blocks[0],
            Block::Heading {
                level: 2,
                text: "The Light Reactions".into()
            }
        );
        assert!(matches!(&blocks[1], Block::Paragraph(text)
            if text.starts_with("The light-dependent") && text.ends_with("transport chain.")));
        assert!(matches!(&blocks[2], Block::Paragraph(text) if text.ends_with("photo-synthesis.")));
    }

    #[test]
    fn running_headers_and_page_numbers_are_dropped() {
        let mut pages: Vec<Vec<String>> = (1..=4)
            .map(|page| {
                lines(&[
                    "Biology Notes – Unit 3",
                    "Body text that differs on every page.",
                    &format!("Page {page} of 4"),
                ])
            })
            .collect();
        strip_page_furniture(&mut pages);
        assert!(pages.iter().all(|page| page.len() == 1), "{pages:?}");
    }

    #[test]
    fn page_numbers_are_recognized_in_common_forms() {
        for line in ["12", "Page 3", "page 3 of 10", "4 / 20"] {
            assert!(is_page_number(line), "{line}");
        }
        for line in ["3 plants", "Chapter 2", ""] {
            assert!(!is_page_number(line), "{line}");
        }
    }

    #[test]
    fn line_writer_breaks_on_vertical_moves_and_spaces_horizontal_ones() {
        let mut writer = LineWriter::default();
        writer.begin_text();
        writer.move_by(72.0, 700.0);
        writer.show("Light");
        writer.move_by(40.0, 0.0);
        writer.show("energy");
        writer.move_by(-40.0, -14.0);
        writer.show("next line");
        assert_eq!(writer.finish(), ["Light energy", "next line"]);
    }
}

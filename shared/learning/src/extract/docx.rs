//! Reading DOCX text: only `word/document.xml`, with limits that defuse zip bombs.
//!
//! Before anything is decompressed the archive must have at most [`ArchiveLimits::max_entries`]
//! entries, declare at most [`ArchiveLimits::max_uncompressed_bytes`] in total, and declare
//! `word/document.xml` at a compression ratio of at most [`ArchiveLimits::max_ratio`]. Declared
//! sizes can lie, so the decompressed stream is also cut off one byte past the limit and the
//! ratio is checked again on what was actually read. Breaking a limit is
//! [`Error::UnsafeArchive`]; an unreadable archive or malformed XML is
//! [`Error::CorruptDocument`].
//!
//! Paragraph styles `Title` and `Heading1`..`Heading9` (or an outline level) become the title
//! and headings; tables, text boxes and lists read as paragraphs. Headers, footers, footnotes and
//! comments live in other parts and are not read.

use std::io::{Cursor, Read};

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

use crate::document::DocumentKind;
use crate::error::Error;
use crate::extract::ArchiveLimits;
use crate::extract::assemble::Block;

const DOCUMENT_PART: &str = "word/document.xml";

/// Text and structure read from a DOCX.
pub(crate) struct DocxText {
    pub blocks: Vec<Block>,
    pub title: Option<String>,
}

/// Reads the text of a DOCX within the archive limits.
///
/// # Errors
///
/// [`Error::UnsafeArchive`] or [`Error::CorruptDocument`], see the module documentation.
pub(crate) fn read(bytes: &[u8], limits: &ArchiveLimits) -> Result<DocxText, Error> {
    let xml = document_xml(bytes, limits)?;
    let xml = String::from_utf8(xml).map_err(|error| Error::corrupt(DocumentKind::Docx, error))?;
    parse(&xml)
}

fn document_xml(bytes: &[u8], limits: &ArchiveLimits) -> Result<Vec<u8>, Error> {
    let corrupt = |error: zip::result::ZipError| Error::corrupt(DocumentKind::Docx, error);
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(corrupt)?;

    let entries = archive.len() as u64;
    if entries > limits.max_entries {
        return Err(Error::UnsafeArchive {
            limit: "entries",
            value: entries,
            max: limits.max_entries,
        });
    }
    let mut declared_total: u64 = 0;
    for index in 0..archive.len() {
        let entry = archive.by_index_raw(index).map_err(corrupt)?;
        declared_total = declared_total.saturating_add(entry.size());
    }
    check_uncompressed(declared_total, limits)?;

    let entry = archive.by_name(DOCUMENT_PART).map_err(corrupt)?;
    let compressed = entry.compressed_size();
    check_ratio(entry.size(), compressed, limits)?;

    // Stop decompressing one byte past whichever limit is closer.
    let ratio_cap = compressed
        .saturating_mul(limits.max_ratio)
        .max(RATIO_FLOOR_BYTES);
    let cap = limits.max_uncompressed_bytes.min(ratio_cap);
    let mut xml = Vec::new();
    entry
        .take(cap.saturating_add(1))
        .read_to_end(&mut xml)
        .map_err(|error| Error::corrupt(DocumentKind::Docx, error))?;

    let read = xml.len() as u64;
    if read > cap && cap == limits.max_uncompressed_bytes {
        return Err(Error::UnsafeArchive {
            limit: "uncompressed_bytes",
            value: read,
            max: limits.max_uncompressed_bytes,
        });
    }
    if read > cap {
        return Err(Error::UnsafeArchive {
            limit: "compression_ratio",
            value: read.div_ceil(compressed.max(1)),
            max: limits.max_ratio,
        });
    }
    Ok(xml)
}

fn check_uncompressed(size: u64, limits: &ArchiveLimits) -> Result<(), Error> {
    if size > limits.max_uncompressed_bytes {
        return Err(Error::UnsafeArchive {
            limit: "uncompressed_bytes",
            value: size,
            max: limits.max_uncompressed_bytes,
        });
    }
    Ok(())
}

fn check_ratio(uncompressed: u64, compressed: u64, limits: &ArchiveLimits) -> Result<(), Error> {
    let ratio = uncompressed / compressed.max(1);
    // Tiny parts compress badly or not at all; the ratio only matters for large output.
    if uncompressed > RATIO_FLOOR_BYTES && ratio > limits.max_ratio {
        return Err(Error::UnsafeArchive {
            limit: "compression_ratio",
            value: ratio,
            max: limits.max_ratio,
        });
    }
    Ok(())
}

const RATIO_FLOOR_BYTES: u64 = 1024 * 1024;

/// Paragraph-level state while walking `document.xml`.
#[derive(Default)]
struct Paragraph {
    text: String,
    style: Option<String>,
    outline_level: Option<u8>,
}

fn parse(xml: &str) -> Result<DocxText, Error> {
    let mut reader = Reader::from_str(xml);
    let mut open: Vec<Paragraph> = Vec::new();
    let mut blocks = Vec::new();
    let mut title = None;
    let mut in_text = false;
    let mut depth: usize = 0;

    loop {
        let event = reader
            .read_event()
            .map_err(|error| Error::corrupt(DocumentKind::Docx, error))?;
        match event {
            Event::Start(element) => {
                depth += 1;
                start_element(&element, &mut open, &mut in_text);
            }
            Event::Empty(element) => {
                start_element(&element, &mut open, &mut in_text);
                if element.local_name().as_ref() == "p" {
                    open.pop();
                }
            }
            Event::Text(text) if in_text => {
                if let Some(paragraph) = open.last_mut() {
                    paragraph.text.push_str(&text.xml10_content());
                }
            }
            Event::GeneralRef(reference) if in_text => {
                let name = reference.xml10_content();
                let resolved = match reference.resolve_char_ref() {
                    Ok(Some(character)) => Some(character.to_string()),
                    _ => quick_xml::escape::resolve_predefined_entity(&name).map(str::to_owned),
                };
                if let (Some(paragraph), Some(resolved)) = (open.last_mut(), resolved) {
                    paragraph.text.push_str(&resolved);
                }
            }
            Event::End(element) => {
                depth = depth.saturating_sub(1);
                match element.local_name().as_ref() {
                    "t" => in_text = false,
                    "p" => {
                        if let Some(paragraph) = open.pop() {
                            finish_paragraph(paragraph, &mut blocks, &mut title);
                        }
                    }
                    _ => {}
                }
            }
            // The reader accepts end of input inside open elements; a truncated part is corrupt.
            Event::Eof if depth > 0 => {
                return Err(Error::corrupt(
                    DocumentKind::Docx,
                    "`word/document.xml` ends inside an element",
                ));
            }
            Event::Eof => break,
            _ => {}
        }
    }
    Ok(DocxText { blocks, title })
}

fn start_element(element: &BytesStart<'_>, open: &mut Vec<Paragraph>, in_text: &mut bool) {
    let name = element.local_name();
    match name.as_ref() {
        "p" => open.push(Paragraph::default()),
        "t" => *in_text = true,
        "tab" | "br" | "cr" => {
            if let Some(paragraph) = open.last_mut() {
                paragraph.text.push(' ');
            }
        }
        "pStyle" => {
            if let Some(paragraph) = open.last_mut() {
                paragraph.style = attribute(element, "val");
            }
        }
        "outlineLvl" => {
            if let Some(paragraph) = open.last_mut() {
                paragraph.outline_level = attribute(element, "val")
                    .and_then(|value| value.parse::<u8>().ok())
                    .filter(|level| *level < 9)
                    .map(|level| level + 1);
            }
        }
        _ => {}
    }
}

fn attribute(element: &BytesStart<'_>, wanted: &str) -> Option<String> {
    element
        .attributes()
        .flatten()
        .find(|attribute| attribute.key.local_name().as_ref() == wanted)
        .map(|attribute| attribute.value.into_owned())
}

fn finish_paragraph(paragraph: Paragraph, blocks: &mut Vec<Block>, title: &mut Option<String>) {
    if paragraph.text.trim().is_empty() {
        return;
    }
    let style = paragraph.style.unwrap_or_default().to_lowercase();
    if style == "title" {
        if title.is_none() {
            *title = Some(paragraph.text.clone());
        }
        blocks.push(Block::Heading {
            level: 1,
            text: paragraph.text,
        });
        return;
    }
    let styled_level = style
        .strip_prefix("heading")
        .map(str::trim)
        .and_then(|digits| digits.parse::<u8>().ok());
    match styled_level.or(paragraph.outline_level) {
        Some(level) => blocks.push(Block::Heading {
            level,
            text: paragraph.text,
        }),
        None => blocks.push(Block::Paragraph(paragraph.text)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAMESPACE: &str = "http://schemas.openxmlformats.org/wordprocessingml/2006/main";

    fn body(paragraphs: &str) -> String {
        format!(
            "<?xml version=\"1.0\"?><w:document xmlns:w=\"{NAMESPACE}\"><w:body>{paragraphs}</w:body></w:document>"
        )
    }

    #[test]
    fn styles_become_title_and_headings_and_runs_join() {
        let xml = body(
            "<w:p><w:pPr><w:pStyle w:val=\"Title\"/></w:pPr><w:r><w:t>Plants</w:t></w:r></w:p>\
             <w:p><w:pPr><w:pStyle w:val=\"Heading2\"/></w:pPr><w:r><w:t>Leaves</w:t></w:r></w:p>\
             <w:p><w:r><w:t xml:space=\"preserve\">Leaves are </w:t></w:r><w:r><w:t>green &amp; flat</w:t></w:r>\
             <w:r><w:tab/><w:t>&#8364;5</w:t></w:r></w:p>\
             <w:p><w:pPr><w:outlineLvl w:val=\"0\"/></w:pPr><w:r><w:t>Roots</w:t></w:r></w:p>\
             <w:p/>",
        );
        let read = parse(&xml).ok();
        let read = read.as_ref();
        assert_eq!(read.and_then(|r| r.title.as_deref()), Some("Plants"));
        assert_eq!(
            read.map(|r| r.blocks.clone()),
            Some(vec![
                Block::Heading {
                    level: 1,
                    text: "Plants".into()
                },
                Block::Heading {
                    level: 2,
                    text: "Leaves".into()
                },
                Block::Paragraph("Leaves are green & flat €5".into()),
                Block::Heading {
                    level: 1,
                    text: "Roots".into()
                },
            ])
        );
    }

    #[test]
    fn deleted_text_and_field_codes_are_not_read() {
        let xml = body(
            "<w:p><w:r><w:t>Kept</w:t></w:r><w:del><w:r><w:delText>gone</w:delText></w:r></w:del>\
             <w:r><w:instrText>PAGE</w:instrText></w:r></w:p>",
        );
        let blocks = parse(&xml).map(|r| r.blocks).ok();
        assert_eq!(blocks, Some(vec![Block::Paragraph("Kept".into())]));
    }

    #[test]
    fn malformed_xml_is_a_corrupt_document() {
        let xml = body("<w:p><w:r><w:t>open</w:r></w:p>");
        assert_eq!(
            parse(&xml).err().map(|e| e.kind()),
            Some("corrupt_document")
        );
    }

    #[test]
    fn ratio_is_only_enforced_on_large_parts() {
        let limits = ArchiveLimits::default();
        assert!(check_ratio(10_000, 10, &limits).is_ok());
        let error = check_ratio(500 * 1024 * 1024, 10, &limits).err();
        assert!(matches!(
            error,
            Some(Error::UnsafeArchive {
                limit: "compression_ratio",
                ..
            })
        ));
    }
}

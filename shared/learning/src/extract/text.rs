//! Decoding text bytes and reading plain text into blocks.
//!
//! Accepted encodings: UTF-8 (a byte-order mark is dropped) and UTF-16 little or big endian
//! with a byte-order mark. Anything else that is not valid UTF-8 fails with
//! [`Error::InvalidEncoding`] naming the offset of the first bad byte; guessing a legacy code
//! page would silently garble the text every later stage learns from.
//!
//! Plain text has paragraphs separated by blank lines, hard-wrapped lines are joined, list items
//! stay separate and short standalone lines become headings.

use crate::error::Error;
use crate::extract::assemble::{Block, ends_sentence, heading_level, list_item_text};

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";
const UTF16_LE_BOM: &[u8] = b"\xFF\xFE";
const UTF16_BE_BOM: &[u8] = b"\xFE\xFF";

/// Decodes text bytes to a string with `\n` line ends.
///
/// # Errors
///
/// [`Error::InvalidEncoding`] when the bytes are not valid UTF-8, or not valid UTF-16 after a
/// UTF-16 byte-order mark.
pub(crate) fn decode(bytes: &[u8]) -> Result<String, Error> {
    let text = if let Some(rest) = bytes.strip_prefix(UTF8_BOM) {
        utf8(rest, UTF8_BOM.len())?
    } else if let Some(rest) = bytes.strip_prefix(UTF16_LE_BOM) {
        utf16(rest, u16::from_le_bytes, "utf-16le")?
    } else if let Some(rest) = bytes.strip_prefix(UTF16_BE_BOM) {
        utf16(rest, u16::from_be_bytes, "utf-16be")?
    } else {
        utf8(bytes, 0)?
    };
    Ok(text.replace("\r\n", "\n").replace('\r', "\n"))
}

fn utf8(bytes: &[u8], skipped: usize) -> Result<String, Error> {
    match std::str::from_utf8(bytes) {
        Ok(text) => Ok(text.to_owned()),
        Err(error) => Err(Error::InvalidEncoding {
            encoding: "utf-8",
            offset: skipped + error.valid_up_to(),
        }),
    }
}

fn utf16(bytes: &[u8], unit: fn([u8; 2]) -> u16, encoding: &'static str) -> Result<String, Error> {
    let bom = 2;
    if !bytes.len().is_multiple_of(2) {
        return Err(Error::InvalidEncoding {
            encoding,
            offset: bom + bytes.len() - 1,
        });
    }
    let units = bytes.chunks_exact(2).map(|pair| unit([pair[0], pair[1]]));
    let mut text = String::with_capacity(bytes.len() / 2);
    for (index, decoded) in char::decode_utf16(units).enumerate() {
        match decoded {
            Ok(character) => text.push(character),
            Err(_) => {
                return Err(Error::InvalidEncoding {
                    encoding,
                    offset: bom + index * 2,
                });
            }
        }
    }
    Ok(text)
}

/// Reads plain text into blocks: blank lines separate paragraphs, short standalone lines are
/// headings, underlined lines (`===` or `---`) are headings.
pub(crate) fn blocks(text: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let lines: Vec<&str> = text.lines().map(str::trim_end).collect();

    for group in lines.split(|line| line.trim().is_empty()) {
        let mut paragraph: Vec<&str> = Vec::new();
        let mut index = 0;
        while index < group.len() {
            let line = group[index].trim();
            let underline = group.get(index + 1).and_then(|next| underline_level(next));
            if let Some(level) = underline {
                flush(&mut blocks, &mut paragraph);
                blocks.push(Block::Heading {
                    level,
                    text: line.to_owned(),
                });
                index += 2;
                continue;
            }

            let standalone = group.len() == 1 || (index == 0 && starts_paragraph(group.get(1)));
            let level = if blocks.is_empty() { 1 } else { 2 };
            if paragraph.is_empty()
                && standalone
                && let Some(level) = heading_level(line, level)
            {
                blocks.push(Block::Heading {
                    level,
                    text: line.to_owned(),
                });
            } else if let Some(item) = list_item_text(line) {
                flush(&mut blocks, &mut paragraph);
                paragraph.push(item);
            } else {
                paragraph.push(line);
            }
            index += 1;
        }
        flush(&mut blocks, &mut paragraph);
    }
    blocks
}

/// A heading line directly above a paragraph: the next line is long prose.
fn starts_paragraph(next: Option<&&str>) -> bool {
    next.is_some_and(|next| {
        let next = next.trim();
        let capitalized = next
            .chars()
            .next()
            .is_some_and(|c| c.is_uppercase() || c.is_numeric());
        capitalized && (next.chars().count() > 40 || ends_sentence(next))
    })
}

fn underline_level(line: &str) -> Option<u8> {
    let line = line.trim();
    if line.len() < 3 {
        return None;
    }
    if line.chars().all(|c| c == '=') {
        Some(1)
    } else if line.chars().all(|c| c == '-') {
        Some(2)
    } else {
        None
    }
}

fn flush(blocks: &mut Vec<Block>, paragraph: &mut Vec<&str>) {
    if !paragraph.is_empty() {
        blocks.push(Block::Paragraph(paragraph.join(" ")));
        paragraph.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_utf8_byte_order_mark_is_dropped() {
        let decoded = decode(b"\xEF\xBB\xBFLeaves\r\nRoots").ok();
        assert_eq!(decoded.as_deref(), Some("Leaves\nRoots"));
    }

    #[test]
    fn utf16_with_a_byte_order_mark_is_converted() {
        let mut little = vec![0xFF, 0xFE];
        let mut big = vec![0xFE, 0xFF];
        for unit in "Blätter ☀".encode_utf16() {
            little.extend(unit.to_le_bytes());
            big.extend(unit.to_be_bytes());
        }
        assert_eq!(decode(&little).ok().as_deref(), Some("Blätter ☀"));
        assert_eq!(decode(&big).ok().as_deref(), Some("Blätter ☀"));
    }

    #[test]
    fn latin1_text_is_rejected_with_the_offset_of_the_first_bad_byte() {
        let error = decode(b"caf\xE9 au lait").err();
        assert!(matches!(
            error,
            Some(Error::InvalidEncoding {
                encoding: "utf-8",
                offset: 3
            })
        ));
    }

    #[test]
    fn truncated_utf16_is_rejected() {
        let error = decode(&[0xFF, 0xFE, 0x41, 0x00, 0x42]).err();
        assert_eq!(error.map(|e| e.kind()), Some("invalid_encoding"));
    }

    #[test]
    fn unpaired_surrogates_are_rejected() {
        let error = decode(&[0xFF, 0xFE, 0x41, 0x00, 0x00, 0xD8, 0x41, 0x00]).err();
        assert!(matches!(
            error,
            Some(Error::InvalidEncoding { offset: 4, .. })
        ));
    }

    #[test]
    fn plain_text_becomes_headings_paragraphs_and_items() {
        let text = "Photosynthesis\n\nPlants make sugar from light\nand water in their leaves.\n\n\
                    Inputs\n- water\n- carbon dioxide\n\nLight Reactions\n=========\n\
                    These happen first.";
        let blocks = blocks(text);
        assert_eq!(
            blocks,
            vec![
                Block::Heading {
                    level: 1,
                    text: "Photosynthesis".into()
                },
                Block::Paragraph("Plants make sugar from light and water in their leaves.".into()),
                Block::Paragraph("Inputs".into()),
                Block::Paragraph("water".into()),
                Block::Paragraph("carbon dioxide".into()),
                Block::Heading {
                    level: 1,
                    text: "Light Reactions".into()
                },
                Block::Paragraph("These happen first.".into()),
            ]
        );
    }
}

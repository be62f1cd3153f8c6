//! Deciding a document's format from its bytes.
//!
//! Content decides: a `%PDF-` header is a PDF, a zip archive holding `word/document.xml` is a
//! DOCX, known binary signatures (images, archives, legacy Office files) are refused by name.
//! Only text falls back to the object key: `.md` and `.markdown` read as Markdown, anything else
//! as plain text. A misleading extension therefore never routes bytes to the wrong parser.
//! Detection fails with [`Error::UnsupportedType`] or, for text that is not UTF-8 or UTF-16,
//! with [`Error::InvalidEncoding`] from decoding.

use std::io::Cursor;

use crate::error::Error;

/// The reader a document goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    Pdf,
    Docx,
    Text { markdown: bool },
}

/// PDF readers accept the header anywhere in the first kilobyte.
const PDF_HEADER_WINDOW: usize = 1024;
/// Bytes inspected when telling text from binary data.
const SNIFF_WINDOW: usize = 8192;

/// Decides the format of `bytes`; `key` only matters for text.
///
/// # Errors
///
/// [`Error::UnsupportedType`] for recognised non-document formats, zip archives other than DOCX
/// and binary data.
pub(crate) fn detect(bytes: &[u8], key: &str) -> Result<Format, Error> {
    let head = &bytes[..bytes.len().min(PDF_HEADER_WINDOW)];
    if head.windows(5).any(|window| window == b"%PDF-") {
        return Ok(Format::Pdf);
    }
    if bytes.starts_with(b"PK\x03\x04") {
        return if zip_has_word_document(bytes) {
            Ok(Format::Docx)
        } else {
            Err(Error::UnsupportedType {
                detected: "zip archive without `word/document.xml`",
            })
        };
    }
    if let Some(detected) = known_binary(bytes) {
        return Err(Error::UnsupportedType { detected });
    }
    let has_bom = bytes.starts_with(b"\xFF\xFE") || bytes.starts_with(b"\xFE\xFF");
    if !has_bom && looks_binary(&bytes[..bytes.len().min(SNIFF_WINDOW)]) {
        return Err(Error::UnsupportedType {
            detected: "binary data",
        });
    }
    Ok(Format::Text {
        markdown: is_markdown_key(key),
    })
}

fn zip_has_word_document(bytes: &[u8]) -> bool {
    // Reading the central directory decompresses nothing, so this is safe before any limit.
    zip::ZipArchive::new(Cursor::new(bytes))
        .map(|archive| archive.index_for_name("word/document.xml").is_some())
        .unwrap_or(true)
}

fn known_binary(bytes: &[u8]) -> Option<&'static str> {
    const SIGNATURES: &[(&[u8], &str)] = &[
        (b"\x89PNG\r\n\x1a\n", "png image"),
        (b"\xFF\xD8\xFF", "jpeg image"),
        (b"GIF87a", "gif image"),
        (b"GIF89a", "gif image"),
        (b"II*\x00", "tiff image"),
        (b"MM\x00*", "tiff image"),
        (b"BM", "bmp image"),
        (
            b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1",
            "legacy or password-protected office file",
        ),
        (b"{\\rtf", "rich text format"),
        (b"\x1F\x8B", "gzip archive"),
        (b"7z\xBC\xAF\x27\x1C", "7z archive"),
        (b"Rar!\x1A\x07", "rar archive"),
        (b"\x7FELF", "executable"),
        (b"MZ", "executable"),
        (b"OggS", "audio"),
        (b"ID3", "audio"),
        (b"fLaC", "audio"),
    ];
    if bytes.len() >= 12 && &bytes[..4] == b"RIFF" {
        return Some(match &bytes[8..12] {
            b"WEBP" => "webp image",
            b"WAVE" => "audio",
            _ => "riff media",
        });
    }
    if bytes.len() >= 12 && &bytes[4..8] == b"ftyp" {
        return Some(match &bytes[8..12] {
            b"heic" | b"heix" | b"mif1" | b"avif" => "heic or avif image",
            _ => "video",
        });
    }
    SIGNATURES
        .iter()
        .find(|(signature, _)| bytes.starts_with(signature))
        .map(|&(_, name)| name)
        // "BM" and "MZ" are short: only trust them when the rest is not text.
        .filter(|name| !matches!(*name, "bmp image" | "executable") || looks_binary(bytes))
}

/// Binary data has NUL bytes or many control characters; text in any 8-bit encoding has few.
fn looks_binary(sample: &[u8]) -> bool {
    if sample.contains(&0) {
        return true;
    }
    let controls = sample
        .iter()
        .filter(|&&byte| byte < 0x20 && !matches!(byte, b'\t' | b'\n' | b'\r' | 0x0C | 0x1B))
        .count();
    controls * 50 > sample.len()
}

fn is_markdown_key(key: &str) -> bool {
    let name = key.rsplit('/').next().unwrap_or(key);
    let extension = name
        .rsplit_once('.')
        .map(|(_, extension)| extension.to_ascii_lowercase());
    matches!(
        extension.as_deref(),
        Some("md" | "markdown" | "mdown" | "mkd")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_wins_over_a_misleading_extension() {
        assert_eq!(
            detect(b"%PDF-1.7\n...", "notes.txt").ok(),
            Some(Format::Pdf)
        );
        let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
        let error = detect(png, "notes.pdf").err();
        assert!(matches!(
            error,
            Some(Error::UnsupportedType {
                detected: "png image"
            })
        ));
    }

    #[test]
    fn text_uses_the_extension_only_to_choose_markdown() {
        assert_eq!(
            detect(b"# Title", "uploads/a/b.MD").ok(),
            Some(Format::Text { markdown: true })
        );
        assert_eq!(
            detect(b"# Title", "uploads/a.md/notes").ok(),
            Some(Format::Text { markdown: false })
        );
    }

    #[test]
    fn random_binary_is_unsupported() {
        let noise: Vec<u8> = (0u32..4096)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        assert_eq!(
            detect(&noise, "x.txt").err().map(|e| e.kind()),
            Some("unsupported_type")
        );
    }

    #[test]
    fn utf16_text_with_a_byte_order_mark_is_not_mistaken_for_binary() {
        let mut utf16 = vec![0xFF, 0xFE];
        for unit in "Leaves are green.".encode_utf16() {
            utf16.extend(unit.to_le_bytes());
        }
        assert_eq!(
            detect(&utf16, "a.txt").ok(),
            Some(Format::Text { markdown: false })
        );
    }

    #[test]
    fn text_starting_with_short_signatures_is_still_text() {
        assert_eq!(
            detect(b"MZ is a postcode area in the text.", "a.txt").ok(),
            Some(Format::Text { markdown: false })
        );
    }

    #[test]
    fn a_legacy_word_file_is_refused_by_name() {
        let error = detect(b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1rest", "a.doc").err();
        assert!(error.is_some_and(|e| e.to_string().contains("legacy")));
    }
}

//! Reading an uploaded object into an [`ExtractedDocument`].
//!
//! [`extract()`] checks the size, detects the format from the content (magic bytes), runs the
//! reader for that format and assembles canonical text and sections. It refuses, with a typed
//! [`Error`], objects over [`ExtractOptions::max_bytes`], unsupported or binary content, text
//! that is not UTF-8/UTF-16, password-protected or corrupt PDFs, corrupt DOCX files, archives
//! over the [`ArchiveLimits`], and documents with fewer than [`ExtractOptions::min_words`]
//! words (empty, scanned or image-only files). Extraction is pure and synchronous.

mod assemble;
mod detect;
mod docx;
mod markdown;
mod pdf;
mod text;

use crate::document::{DocumentKind, ExtractedDocument};
use crate::error::Error;
use detect::Format;

/// Limits for reading a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtractOptions {
    /// Largest object accepted, in bytes. Default 20 MiB.
    pub max_bytes: u64,
    /// Fewest words a document must yield. Default 30.
    pub min_words: usize,
    /// Largest size any single PDF stream may decompress to. Default 64 MiB.
    pub max_pdf_stream_bytes: usize,
    /// Zip-bomb limits for DOCX archives.
    pub archive: ArchiveLimits,
}

impl Default for ExtractOptions {
    fn default() -> Self {
        Self {
            max_bytes: 20 * 1024 * 1024,
            min_words: 30,
            max_pdf_stream_bytes: 64 * 1024 * 1024,
            archive: ArchiveLimits::default(),
        }
    }
}

impl ExtractOptions {
    /// Refuses an object by its size alone, before it is downloaded.
    ///
    /// # Errors
    ///
    /// [`Error::TooLarge`] when `size` is over [`ExtractOptions::max_bytes`].
    pub fn check_size(&self, size: u64) -> Result<(), Error> {
        if size > self.max_bytes {
            return Err(Error::TooLarge {
                size,
                max: self.max_bytes,
            });
        }
        Ok(())
    }
}

/// Limits on a DOCX archive, checked before and while decompressing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveLimits {
    /// Most entries the archive may hold. Default 2,000.
    pub max_entries: u64,
    /// Most bytes the archive may declare in total, and the most read from the document part.
    /// Default 64 MiB.
    pub max_uncompressed_bytes: u64,
    /// Highest compression ratio of the document part once it is over 1 MiB. Default 100.
    pub max_ratio: u64,
}

impl Default for ArchiveLimits {
    fn default() -> Self {
        Self {
            max_entries: 2_000,
            max_uncompressed_bytes: 64 * 1024 * 1024,
            max_ratio: 100,
        }
    }
}

/// Reads an object's bytes into canonical text and sections.
///
/// `key` is the object key; its extension only decides whether text is read as Markdown, and
/// its file name is the title of last resort.
///
/// # Errors
///
/// Every [`Error`] variant except [`Error::Generation`] and [`Error::Guardrail`]; see the module
/// documentation for which input causes which.
pub fn extract(
    bytes: &[u8],
    key: &str,
    options: &ExtractOptions,
) -> Result<ExtractedDocument, Error> {
    options.check_size(bytes.len() as u64)?;

    let document = match detect::detect(bytes, key)? {
        Format::Pdf => {
            let read = pdf::read(bytes, options.max_pdf_stream_bytes)?;
            assemble::assemble(DocumentKind::Pdf, read.blocks, Some(read.pages), read.title)
        }
        Format::Docx => {
            let read = docx::read(bytes, &options.archive)?;
            assemble::assemble(DocumentKind::Docx, read.blocks, None, read.title)
        }
        Format::Text { markdown: true } => {
            let (blocks, title) = markdown::blocks(&text::decode(bytes)?);
            assemble::assemble(DocumentKind::Markdown, blocks, None, title)
        }
        Format::Text { markdown: false } => {
            let blocks = text::blocks(&text::decode(bytes)?);
            assemble::assemble(DocumentKind::PlainText, blocks, None, None)
        }
    };

    let words = document.word_count();
    if words < options.min_words {
        return Err(Error::EmptyDocument {
            words,
            minimum: options.min_words,
        });
    }
    Ok(with_fallback_title(document, key))
}

fn with_fallback_title(mut document: ExtractedDocument, key: &str) -> ExtractedDocument {
    if document.title.is_none() {
        document.title = title_from_key(key);
    }
    document
}

/// `uploads/biology/photo_synthesis-notes.pdf` becomes `Photo synthesis notes`.
fn title_from_key(key: &str) -> Option<String> {
    let name = key.rsplit('/').next()?;
    let stem = name.rsplit_once('.').map_or(name, |(stem, _)| stem);
    let words: Vec<&str> = stem
        .split(|c: char| c == '_' || c == '-' || c == '+' || c.is_whitespace())
        .filter(|word| !word.is_empty())
        .collect();
    if words.is_empty() {
        return None;
    }
    Some(crate::analysis::words::capitalize_first(&words.join(" ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PARAGRAPH: &str = "Plants capture light energy in their leaves and turn it into sugar. \
        The sugar feeds the plant and every animal that eats it, so nearly all food chains \
        begin with this process. Oxygen is released as a by-product of the reaction.";

    #[test]
    fn oversized_objects_are_refused_before_reading() {
        let options = ExtractOptions {
            max_bytes: 10,
            ..ExtractOptions::default()
        };
        let error = extract(PARAGRAPH.as_bytes(), "a.txt", &options).err();
        assert!(matches!(error, Some(Error::TooLarge { max: 10, .. })));
        assert!(options.check_size(10).is_ok());
    }

    #[test]
    fn short_documents_are_refused_as_empty() {
        let error = extract(b"Just a title", "a.txt", &ExtractOptions::default()).err();
        assert!(matches!(
            error,
            Some(Error::EmptyDocument {
                words: 3,
                minimum: 30
            })
        ));
        let error = extract(b"", "a.md", &ExtractOptions::default()).err();
        assert_eq!(error.map(|e| e.kind()), Some("empty_document"));
    }

    #[test]
    fn markdown_is_chosen_by_extension_and_titled_by_its_heading() {
        let text = format!("# Plant Energy\n\n{PARAGRAPH}");
        let document = extract(text.as_bytes(), "uploads/x.md", &ExtractOptions::default()).ok();
        assert_eq!(
            document.as_ref().map(|d| d.kind),
            Some(DocumentKind::Markdown)
        );
        assert_eq!(
            document.and_then(|d| d.title).as_deref(),
            Some("Plant Energy")
        );
    }

    #[test]
    fn the_file_name_is_the_title_of_last_resort() {
        let text = PARAGRAPH.to_lowercase();
        let document = extract(
            text.as_bytes(),
            "uploads/biology/photo_synthesis-notes.txt",
            &ExtractOptions::default(),
        )
        .ok();
        assert_eq!(
            document.and_then(|d| d.title).as_deref(),
            Some("Photo synthesis notes")
        );
    }
}

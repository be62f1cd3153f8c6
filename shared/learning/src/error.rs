//! The one error type of this crate: why a document did not become a learning pack or games.
//!
//! Every variant is caused by the uploaded object (its size, type, encoding or content) or by
//! guardrails refusing what was generated from it, so retrying the same object cannot help.
//! [`Error::kind`] is a stable snake_case name for manifests and telemetry; the message is
//! lowercase, names offending values in backticks and says what the uploader can do.

use crate::document::DocumentKind;
use crate::guardrails::GuardrailFailure;

/// A boxed source error from a parser or a generator.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why extraction, generation or guardrails refused a document.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The object is larger than the configured maximum.
    #[error("document is `{size}` bytes, over the limit of `{max}` bytes; upload a smaller file")]
    TooLarge {
        /// Size of the object in bytes.
        size: u64,
        /// The configured maximum.
        max: u64,
    },

    /// The content is not plain text, Markdown, PDF or DOCX.
    #[error("unsupported document type `{detected}`; upload plain text, markdown, pdf or docx")]
    UnsupportedType {
        /// What the content looks like, e.g. `png image` or `binary data`.
        detected: &'static str,
    },

    /// Text that is neither UTF-8 nor UTF-16 with a byte-order mark.
    #[error(
        "document is not valid `{encoding}` text (first bad byte at offset `{offset}`); \
         save it as utf-8 and upload again"
    )]
    InvalidEncoding {
        /// The encoding the text was read as.
        encoding: &'static str,
        /// Byte offset of the first undecodable sequence.
        offset: usize,
    },

    /// A PDF that cannot be read without a password.
    #[error("pdf is password-protected; remove the password and upload again")]
    EncryptedPdf,

    /// A PDF or DOCX whose structure cannot be parsed.
    #[error("`{kind}` document is corrupt or truncated; re-export it and upload again")]
    CorruptDocument {
        /// The format the bytes claimed to be.
        kind: DocumentKind,
        /// What the parser reported.
        source: BoxError,
    },

    /// A DOCX archive that exceeds a decompression limit, as zip bombs do.
    #[error(
        "docx archive exceeds the `{limit}` limit (`{value}` over `{max}`); re-save it in word"
    )]
    UnsafeArchive {
        /// Which limit: `entries`, `uncompressed_bytes` or `compression_ratio`.
        limit: &'static str,
        /// The value found in the archive.
        value: u64,
        /// The configured maximum.
        max: u64,
    },

    /// Too little text to learn from: empty, scanned or image-only documents.
    #[error(
        "document has too little text (`{words}` words, at least `{minimum}` needed); \
         scanned or image-only files need text recognition before upload"
    )]
    EmptyDocument {
        /// Words found.
        words: usize,
        /// The configured minimum.
        minimum: usize,
    },

    /// A generator could not produce its artifact.
    #[error("generator `{generator}` failed")]
    Generation {
        /// Name of the generator.
        generator: String,
        /// What went wrong inside it.
        source: BoxError,
    },

    /// Guardrails removed so much that too few items remain.
    #[error(transparent)]
    Guardrail(#[from] GuardrailFailure),
}

impl Error {
    /// Stable snake_case name of the error, used as `error.kind` in manifests.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::TooLarge { .. } => "too_large",
            Self::UnsupportedType { .. } => "unsupported_type",
            Self::InvalidEncoding { .. } => "invalid_encoding",
            Self::EncryptedPdf => "encrypted_pdf",
            Self::CorruptDocument { .. } => "corrupt_document",
            Self::UnsafeArchive { .. } => "unsafe_archive",
            Self::EmptyDocument { .. } => "empty_document",
            Self::Generation { .. } => "generation_failed",
            Self::Guardrail(_) => "guardrail_failed",
        }
    }

    pub(crate) fn corrupt(kind: DocumentKind, source: impl Into<BoxError>) -> Self {
        Self::CorruptDocument {
            kind,
            source: source.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_lowercase_and_name_values_in_backticks() {
        let error = Error::TooLarge { size: 10, max: 5 };
        let message = error.to_string();
        assert!(message.starts_with("document is `10` bytes"));
        assert!(message.contains("`5`"));
        assert!(!message.ends_with('.'));
    }

    #[test]
    fn corrupt_document_keeps_the_parser_error_as_its_source() {
        let error = Error::corrupt(DocumentKind::Pdf, "missing xref table");
        let source = std::error::Error::source(&error).map(ToString::to_string);
        assert_eq!(source.as_deref(), Some("missing xref table"));
        assert!(!error.to_string().contains("xref"));
        assert_eq!(error.kind(), "corrupt_document");
    }

    #[test]
    fn every_kind_is_snake_case() {
        let errors = [
            Error::TooLarge { size: 1, max: 0 },
            Error::UnsupportedType {
                detected: "png image",
            },
            Error::InvalidEncoding {
                encoding: "utf-8",
                offset: 3,
            },
            Error::EncryptedPdf,
            Error::corrupt(DocumentKind::Docx, "bad zip"),
            Error::UnsafeArchive {
                limit: "entries",
                value: 9,
                max: 1,
            },
            Error::EmptyDocument {
                words: 0,
                minimum: 30,
            },
        ];
        for error in errors {
            let kind = error.kind();
            assert!(
                kind.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
                "{kind}"
            );
        }
    }
}

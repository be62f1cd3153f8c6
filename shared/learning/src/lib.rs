//! Learning material from uploaded documents: extraction, generation and guardrails.
//!
//! Pure Rust, synchronous, no network and no AWS: the `generate` function calls these steps
//! in order and emits telemetry between them.
//!
//! ```text
//! bytes + key --extract()--> ExtractedDocument
//!             --Generator::generate_pack()--> LearningPack --check_pack()--> reports
//!             --Generator::generate_games()--> Games       --check_games()--> reports
//! ```
//!
//! # API overview
//!
//! - [`extract()`]`(bytes, key, &`[`ExtractOptions`]`) -> Result<`[`ExtractedDocument`]`, `[`Error`]`>`
//!   detects the format from the content (plain text, Markdown, PDF, DOCX) and returns
//!   canonical text with sections. [`ExtractOptions::check_size`] refuses an object by size
//!   before it is downloaded.
//! - [`Generator`] (`generate_pack`, `generate_games`) with the offline
//!   [`DeterministicGenerator`]. A [`LearningPack`] holds a summary, outline, concepts,
//!   flashcards and multiple-choice questions; [`Games`] hold a quiz, a matching game,
//!   fill-in-the-blank with a word bank, and true-or-false statements. Every item carries the
//!   [`SourceSpan`] of the extracted text it comes from.
//! - [`check_pack`]`(&mut pack, &document.text)` and [`check_games`]`(&mut games,
//!   &document.text)` repair the artifact in place and return one [`GuardrailReport`] per
//!   guardrail, or a [`GuardrailFailure`] that still carries every report.
//! - [`Error::kind`] is the stable `error.kind` for a failed manifest: `too_large`,
//!   `unsupported_type`, `invalid_encoding`, `encrypted_pdf`, `corrupt_document`,
//!   `unsafe_archive`, `empty_document`, `generation_failed`, `guardrail_failed`. All are caused
//!   by the document, so retrying the same object cannot help.
//!
//! Both artifacts serialize with serde to versioned JSON (`format_version`, see
//! [`PACK_FORMAT_VERSION`] and [`GAMES_FORMAT_VERSION`]) described by the JSON Schemas in
//! `schemas/learning-pack.schema.json` and `schemas/games.schema.json`.
//!
//! ```
//! use packforge_learning::{
//!     DeterministicGenerator, ExtractOptions, Generator, check_games, check_pack, extract,
//! };
//!
//! let markdown = include_bytes!("../samples/photosynthesis.md");
//! let document = extract(markdown, "uploads/photosynthesis.md", &ExtractOptions::default())?;
//! let generator = DeterministicGenerator::default();
//!
//! let mut pack = generator.generate_pack(&document)?;
//! let pack_reports = check_pack(&mut pack, &document.text)?;
//! let mut games = generator.generate_games(&pack)?;
//! let games_reports = check_games(&mut games, &document.text)?;
//!
//! assert!(pack.concepts.len() >= 5);
//! assert_eq!(pack_reports.len() + games_reports.len(), 16);
//! # Ok::<(), packforge_learning::Error>(())
//! ```
//!
//! # Limitations
//!
//! - The generator's patterns (definitions, stop words, plurals) are for English text; other
//!   languages yield mostly frequent-phrase concepts and fewer questions.
//! - PDF: no text recognition for scanned pages; text inside form XObjects is not read;
//!   multi-column layouts come out in content-stream order, which may interleave columns.
//! - A PDF that opens with the empty user password (permissions-only protection) is read;
//!   only PDFs that need a password are refused as `encrypted_pdf`.
//! - DOCX: only `word/document.xml` is read (no headers, footers, footnotes or comments);
//!   localized heading style names are recognised only through their outline level.
//! - A false true-or-false statement pairs a term with another concept's definition, chosen
//!   to share as few words as possible; it can still be partly true in rare cases.
//! - Email addresses and phone numbers are recognised by shape, erring towards removal.

#![warn(missing_docs)]

pub(crate) mod analysis;
pub mod document;
pub mod error;
pub mod extract;
pub mod games;
pub mod generate;
pub mod guardrails;
pub mod pack;

pub use document::{DocumentKind, ExtractedDocument, Section, SourceSpan};
pub use error::Error;
pub use extract::{ArchiveLimits, ExtractOptions, extract};
pub use games::{
    FillInBlankGame, FillInBlankItem, GAMES_FORMAT_VERSION, Games, MatchingGame, MatchingPair,
    QuizGame, TrueFalseGame, TrueFalseStatement,
};
pub use generate::{DeterministicGenerator, GenerationOptions, Generator};
pub use guardrails::{
    CountRange, GuardrailFailure, GuardrailLimits, GuardrailReport, Stage, Verdict, check_games,
    check_games_with_limits, check_pack, check_pack_with_limits,
};
pub use pack::{
    BLANK, Concept, ConceptOrigin, DocumentInfo, Flashcard, GeneratorInfo, LearningPack,
    OutlineEntry, PACK_FORMAT_VERSION, Question, QuestionKind,
};

//! The learning pack: summary, outline, key concepts, flashcards and questions.
//!
//! This is the `learning-pack.json` artifact, format version [`PACK_FORMAT_VERSION`], described
//! by `schemas/learning-pack.schema.json`. Every item carries a [`SourceSpan`]: the sentence of
//! the extracted text it was made from, so guardrails (and people) can check that answers come
//! from the document. Text with a gap to fill uses [`BLANK`] for the gap. The types only hold
//! data; nothing here fails.

use serde::{Deserialize, Serialize};

use crate::document::{DocumentKind, SourceSpan};

/// Format version written in `format_version`; bumped on any incompatible change.
pub const PACK_FORMAT_VERSION: u32 = 1;

/// The gap in a sentence a learner completes.
pub const BLANK: &str = "____";

/// The `learning-pack.json` artifact.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LearningPack {
    /// Always [`PACK_FORMAT_VERSION`] for packs built by this crate.
    pub format_version: u32,
    /// Which generator built the pack.
    pub generator: GeneratorInfo,
    /// What was read.
    pub document: DocumentInfo,
    /// Title for the pack.
    pub title: String,
    /// Extractive summary: the most representative sentences, in document order.
    pub summary: Vec<SourceSpan>,
    /// The document's headings, in order.
    pub outline: Vec<OutlineEntry>,
    /// Key concepts with definitions taken from the text.
    pub concepts: Vec<Concept>,
    /// Two-sided cards for review.
    pub flashcards: Vec<Flashcard>,
    /// Multiple-choice questions.
    pub questions: Vec<Question>,
}

impl LearningPack {
    /// Number of learner-facing items (summary sentences, concepts, flashcards, questions).
    pub fn item_count(&self) -> usize {
        self.summary.len() + self.concepts.len() + self.flashcards.len() + self.questions.len()
    }
}

/// Name and version of the generator that built an artifact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GeneratorInfo {
    /// Generator name, e.g. `deterministic`.
    pub name: String,
    /// Generator version; output may change when it does.
    pub version: String,
}

/// Facts about the source document, free of its text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentInfo {
    /// The format the document was read as.
    pub kind: DocumentKind,
    /// Page count, for formats with pages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pages: Option<u32>,
    /// Characters of extracted text.
    pub characters: u64,
    /// Words of extracted text.
    pub words: u64,
}

/// One heading of the document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutlineEntry {
    /// The heading text.
    pub heading: String,
    /// Heading depth, 1 for top level.
    pub level: u8,
    /// The section's opening sentence, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lead: Option<SourceSpan>,
}

/// How a concept was found in the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConceptOrigin {
    /// A defining sentence ("X is a ...", "... is called X"); the definition is a phrase.
    Definition,
    /// A glossary line ("X: ..."); the definition is a phrase.
    Glossary,
    /// A heading; the definition is the section's opening sentence.
    Heading,
    /// A frequent phrase; the definition is a sentence using it, with the phrase blanked.
    Context,
}

impl ConceptOrigin {
    /// Whether the definition is a phrase that completes "term is ..." (not a sentence).
    pub fn defines_by_phrase(self) -> bool {
        matches!(self, Self::Definition | Self::Glossary)
    }
}

/// A key concept and its definition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Concept {
    /// Identifier, unique in the pack.
    pub id: String,
    /// The term as written in the text.
    pub term: String,
    /// Definition taken from the text; may contain [`BLANK`] where the term was.
    pub definition: String,
    /// How the concept was found.
    pub origin: ConceptOrigin,
    /// Verb joining term and phrase definition in a statement (`is`, `refers to`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    /// How often the term occurs in the document.
    pub mentions: u32,
    /// The sentence the definition comes from.
    pub source: SourceSpan,
}

/// A card with a prompt on the front and the answer on the back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flashcard {
    /// Identifier, unique in the pack.
    pub id: String,
    /// The concept the card reviews.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concept_id: Option<String>,
    /// Prompt side.
    pub front: String,
    /// Answer side, taken from the text.
    pub back: String,
    /// The sentence the answer comes from.
    pub source: SourceSpan,
}

/// What a multiple-choice question asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QuestionKind {
    /// Pick the term that a definition describes.
    TermForDefinition,
    /// Pick the definition of a term.
    DefinitionForTerm,
    /// Pick the term that completes a sentence from the text.
    CompleteSentence,
}

/// A multiple-choice question with exactly one correct option.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Question {
    /// Identifier, unique in its artifact.
    pub id: String,
    /// What the question asks for.
    pub kind: QuestionKind,
    /// The concept the question tests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concept_id: Option<String>,
    /// The question text.
    pub prompt: String,
    /// Options in display order; distractors come from other parts of the document.
    pub options: Vec<String>,
    /// Index of the correct option in `options`.
    pub answer_index: u32,
    /// The correct option's text.
    pub answer: String,
    /// The sentence that shows the answer is right.
    pub source: SourceSpan,
}

//! Games built from a learning pack: quiz, matching, fill in the blank, true or false.
//!
//! This is the `games.json` artifact, format version [`GAMES_FORMAT_VERSION`], described by
//! `schemas/games.schema.json`. Like pack items, every game item keeps the [`SourceSpan`] that
//! proves its answer. Answers are compared by the player app case-insensitively; the types only
//! hold data and nothing here fails.

use serde::{Deserialize, Serialize};

use crate::document::SourceSpan;
use crate::pack::{GeneratorInfo, Question};

/// Format version written in `format_version`; bumped on any incompatible change.
pub const GAMES_FORMAT_VERSION: u32 = 1;

/// The `games.json` artifact.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Games {
    /// Always [`GAMES_FORMAT_VERSION`] for games built by this crate.
    pub format_version: u32,
    /// Which generator built the games.
    pub generator: GeneratorInfo,
    /// Title shared with the learning pack.
    pub title: String,
    /// Multiple-choice quiz.
    pub quiz: QuizGame,
    /// Match terms to definitions.
    pub matching: MatchingGame,
    /// Complete sentences from a word bank.
    pub fill_in_blank: FillInBlankGame,
    /// Decide whether statements are true.
    pub true_false: TrueFalseGame,
}

impl Games {
    /// Number of playable items across all games.
    pub fn item_count(&self) -> usize {
        self.quiz.questions.len()
            + self.matching.pairs.len()
            + self.fill_in_blank.items.len()
            + self.true_false.statements.len()
    }
}

/// A multiple-choice quiz.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuizGame {
    /// Questions in play order.
    pub questions: Vec<Question>,
}

/// Terms to be matched with their definitions; the player app shuffles the definitions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MatchingGame {
    /// Correct pairs.
    pub pairs: Vec<MatchingPair>,
}

/// A term and its definition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MatchingPair {
    /// Identifier, unique in the game.
    pub id: String,
    /// The term.
    pub term: String,
    /// Its definition from the text; may contain a blank where the term was.
    pub definition: String,
    /// The sentence the definition comes from.
    pub source: SourceSpan,
}

/// Sentences with a gap, completed from a shared word bank.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FillInBlankGame {
    /// Words to choose from: every answer plus a few distractors, sorted.
    pub word_bank: Vec<String>,
    /// Sentences to complete.
    pub items: Vec<FillInBlankItem>,
}

/// A sentence from the text with one term replaced by a blank.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FillInBlankItem {
    /// Identifier, unique in the game.
    pub id: String,
    /// The sentence with the blank (every blank takes the same answer).
    pub text: String,
    /// The word or phrase that fills the blank.
    pub answer: String,
    /// The complete sentence.
    pub source: SourceSpan,
}

/// Statements to judge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrueFalseGame {
    /// Statements in play order.
    pub statements: Vec<TrueFalseStatement>,
}

/// A statement pairing a term with a definition, which is true when the definition belongs to
/// that term. False statements pair a term with another concept's definition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrueFalseStatement {
    /// Identifier, unique in the game.
    pub id: String,
    /// The statement shown to the player.
    pub statement: String,
    /// Whether the statement is true.
    pub answer: bool,
    /// The term the statement is about.
    pub term: String,
    /// The definition the statement gives for it.
    pub definition: String,
    /// The term that definition actually belongs to (equals `term` when true).
    pub correct_term: String,
    /// The sentence the definition comes from.
    pub source: SourceSpan,
}

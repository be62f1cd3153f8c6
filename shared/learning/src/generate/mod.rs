//! Turning an extracted document into a learning pack, and a pack into games.
//!
//! [`Generator`] is the seam: the built-in [`DeterministicGenerator`] works offline from surface
//! patterns of the text, and a model-backed generator can implement the same trait later. The
//! generate function runs guardrails after each stage whatever the generator, so a generator
//! may return imperfect items; it returns [`Error::Generation`] only when it cannot produce an
//! artifact at all.

mod concepts;
mod deterministic;
mod distractors;
mod games;
mod questions;
mod seed;
mod summary;

pub use deterministic::{DeterministicGenerator, GenerationOptions};

use crate::document::ExtractedDocument;
use crate::error::Error;
use crate::games::Games;
use crate::pack::LearningPack;

/// Builds the two artifacts of a generation run.
pub trait Generator: Send + Sync {
    /// Short stable name, recorded in artifacts and telemetry.
    fn name(&self) -> &str;

    /// Builds the learning pack for a document.
    ///
    /// # Errors
    ///
    /// [`Error::Generation`] when the generator cannot produce a pack at all.
    fn generate_pack(&self, document: &ExtractedDocument) -> Result<LearningPack, Error>;

    /// Builds games from a learning pack (already checked by the pack guardrails).
    ///
    /// # Errors
    ///
    /// [`Error::Generation`] when the generator cannot produce games at all.
    fn generate_games(&self, pack: &LearningPack) -> Result<Games, Error>;
}

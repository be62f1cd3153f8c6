//! Text analysis shared by generation and guardrails: words, sentences, definitions, terms.
//!
//! Everything here works on the canonical extracted text and returns slices or byte offsets
//! into it, which is what keeps generated items traceable to their source. No function in these
//! modules fails: unusual text yields fewer sentences, definitions or terms.

pub(crate) mod definitions;
pub(crate) mod sentences;
pub(crate) mod terms;
pub(crate) mod words;

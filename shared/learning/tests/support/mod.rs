//! Helpers shared by the integration tests.

// Each test binary uses a different subset of these helpers.
#![allow(dead_code)]

pub mod fixtures;

use std::path::Path;

/// Lowercase letters and digits, every other run of characters one space: the comparison the
/// guardrails use, written out independently so the tests check it rather than reuse it.
pub fn normalized(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            let kept = if c.is_alphanumeric() { c } else { ' ' };
            kept.to_lowercase()
        })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// The photosynthesis sample document.
pub fn sample() -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/photosynthesis.md");
    std::fs::read(path).expect("sample document is in the repository")
}

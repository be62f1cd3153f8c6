//! The CPU-bound part of a run: extraction, generation and guardrails, with no I/O.
//!
//! Everything the run needs to report comes back as data: the encoded artifacts on success,
//! a [`RunFailure`] with a stable kind otherwise, and every guardrail verdict in both cases,
//! so the caller can emit one telemetry event per guardrail even for a failed stage.

use packforge_learning::{
    DeterministicGenerator, ExtractOptions, Generator, extract,
    guardrails::{self, GuardrailFailure, GuardrailReport, Stage},
};
use packforge_telemetry::event::{Pipeline, Verdict};
use serde_json::{Value, json};

/// Encoded artifacts of a successful run.
#[derive(Debug, Clone)]
pub struct Artifacts {
    /// `learning-pack.json`.
    pub learning_pack_json: Vec<u8>,
    /// `games.json`.
    pub games_json: Vec<u8>,
    /// Items in the pack.
    pub pack_items: u32,
    /// Items across the games.
    pub game_items: u32,
    /// The pack's title (document text: sensitive).
    pub title: String,
}

/// Why a run produced no pack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunFailure {
    /// Stable kind, e.g. `empty_document`.
    pub kind: String,
    /// Message free of document text.
    pub message: String,
    /// The stage that failed.
    pub stage: Pipeline,
}

impl RunFailure {
    /// A failure of `stage`.
    pub fn new(kind: impl Into<String>, message: impl Into<String>, stage: Pipeline) -> Self {
        Self {
            kind: kind.into(),
            message: message.into(),
            stage,
        }
    }
}

/// One guardrail's verdict, ready for telemetry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageVerdict {
    /// The stage it checked.
    pub pipeline: Pipeline,
    /// Guardrail name.
    pub guardrail: String,
    /// Verdict.
    pub verdict: Verdict,
    /// Items looked at.
    pub items_checked: u32,
    /// Items repaired.
    pub items_repaired: u32,
    /// Items removed.
    pub items_removed: u32,
    /// Reason free of document text.
    pub detail: Option<String>,
    /// Offending item text (sensitive).
    pub excerpts: Vec<String>,
}

/// What the pipeline produced.
#[derive(Debug, Clone)]
pub struct PipelineOutput {
    /// Every guardrail verdict, in order.
    pub verdicts: Vec<StageVerdict>,
    /// Facts about the document, when it could be read.
    pub document: Option<Value>,
    /// Artifacts, or why there are none.
    pub result: Result<Artifacts, RunFailure>,
}

impl PipelineOutput {
    /// An output with no verdicts and no document.
    pub fn failed(failure: RunFailure) -> Self {
        Self {
            verdicts: Vec::new(),
            document: None,
            result: Err(failure),
        }
    }
}

/// Runs extraction, the built-in generator and both guardrail stages on `bytes`.
pub fn run_pipeline(bytes: &[u8], key: &str, max_bytes: u64) -> PipelineOutput {
    run_with(&DeterministicGenerator::default(), bytes, key, max_bytes)
}

/// [`run_pipeline`] with any generator.
pub fn run_with(
    generator: &dyn Generator,
    bytes: &[u8],
    key: &str,
    max_bytes: u64,
) -> PipelineOutput {
    let options = ExtractOptions {
        max_bytes,
        ..ExtractOptions::default()
    };
    let document = match extract(bytes, key, &options) {
        Ok(document) => document,
        Err(error) => {
            return PipelineOutput::failed(RunFailure::new(
                error.kind(),
                error.to_string(),
                Pipeline::LearningPack,
            ));
        }
    };
    let mut output = PipelineOutput {
        verdicts: Vec::new(),
        document: Some(json!({
            "kind": document.kind.as_str(),
            "pages": document.pages,
            "words": document.word_count(),
        })),
        result: Err(RunFailure::new(
            "internal_error",
            "not run",
            Pipeline::LearningPack,
        )),
    };

    let mut pack = match generator.generate_pack(&document) {
        Ok(pack) => pack,
        Err(error) => {
            output.result = Err(RunFailure::new(
                error.kind(),
                error.to_string(),
                Pipeline::LearningPack,
            ));
            return output;
        }
    };
    match guardrails::check_pack(&mut pack, &document.text) {
        Ok(reports) => output
            .verdicts
            .extend(verdicts(Pipeline::LearningPack, reports)),
        Err(failure) => {
            output.result = Err(stage_failed(&mut output.verdicts, failure));
            return output;
        }
    }

    let mut games = match generator.generate_games(&pack) {
        Ok(games) => games,
        Err(error) => {
            output.result = Err(RunFailure::new(
                error.kind(),
                error.to_string(),
                Pipeline::Games,
            ));
            return output;
        }
    };
    match guardrails::check_games(&mut games, &document.text) {
        Ok(reports) => output.verdicts.extend(verdicts(Pipeline::Games, reports)),
        Err(failure) => {
            output.result = Err(stage_failed(&mut output.verdicts, failure));
            return output;
        }
    }

    output.result = match (
        serde_json::to_vec_pretty(&pack),
        serde_json::to_vec_pretty(&games),
    ) {
        (Ok(learning_pack_json), Ok(games_json)) => Ok(Artifacts {
            learning_pack_json,
            games_json,
            pack_items: pack.item_count() as u32,
            game_items: games.item_count() as u32,
            title: pack.title.clone(),
        }),
        (Err(error), _) | (_, Err(error)) => Err(RunFailure::new(
            "internal_error",
            format!("artifact could not be encoded: {error}"),
            Pipeline::Games,
        )),
    };
    output
}

fn pipeline_of(stage: Stage) -> Pipeline {
    match stage {
        Stage::LearningPack => Pipeline::LearningPack,
        Stage::Games => Pipeline::Games,
    }
}

fn stage_failed(verdicts: &mut Vec<StageVerdict>, failure: GuardrailFailure) -> RunFailure {
    let pipeline = pipeline_of(failure.stage);
    let message = failure.to_string();
    verdicts.extend(self::verdicts(pipeline, failure.reports));
    RunFailure::new("guardrail_failed", message, pipeline)
}

fn verdicts(
    pipeline: Pipeline,
    reports: Vec<GuardrailReport>,
) -> impl Iterator<Item = StageVerdict> {
    reports.into_iter().map(move |report| StageVerdict {
        pipeline,
        guardrail: report.guardrail.to_string(),
        verdict: match report.verdict {
            guardrails::Verdict::Passed => Verdict::Passed,
            guardrails::Verdict::Repaired => Verdict::Repaired,
            guardrails::Verdict::Failed => Verdict::Failed,
        },
        items_checked: report.items_checked,
        items_repaired: report.items_repaired,
        items_removed: report.items_removed,
        detail: report.detail,
        excerpts: report.excerpts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = include_str!("../../../shared/learning/samples/photosynthesis.md");

    #[test]
    fn the_sample_document_yields_both_artifacts_and_verdicts_for_both_stages() {
        let output = run_pipeline(SAMPLE.as_bytes(), "uploads/photosynthesis.md", 1 << 20);
        let artifacts = output.result.expect("sample generates");

        assert!(
            artifacts.pack_items > 10,
            "pack items: {}",
            artifacts.pack_items
        );
        assert!(
            artifacts.game_items > 10,
            "game items: {}",
            artifacts.game_items
        );
        let pack: Value = serde_json::from_slice(&artifacts.learning_pack_json).unwrap();
        assert!(!pack["concepts"].as_array().unwrap().is_empty());
        for stage in [Pipeline::LearningPack, Pipeline::Games] {
            assert!(
                output
                    .verdicts
                    .iter()
                    .any(|verdict| verdict.pipeline == stage),
                "{stage:?}"
            );
        }
        assert_eq!(output.document.unwrap()["kind"], "markdown");
    }

    #[test]
    fn an_empty_document_fails_with_a_stable_kind() {
        let output = run_pipeline(b"", "uploads/empty.txt", 1 << 20);
        let failure = output.result.unwrap_err();
        assert_eq!(failure.kind, "empty_document");
        assert_eq!(failure.stage, Pipeline::LearningPack);
    }

    #[test]
    fn an_image_is_an_unsupported_type() {
        let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0";
        let failure = run_pipeline(png, "uploads/photo.png", 1 << 20)
            .result
            .unwrap_err();
        assert_eq!(failure.kind, "unsupported_type");
    }
}

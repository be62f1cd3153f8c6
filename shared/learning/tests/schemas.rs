//! Generated artifacts validate against the JSON Schemas shipped in `schemas/`, and the
//! schemas reject artifacts that drift from them.

mod support;

use std::path::Path;

use packforge_learning::{
    DeterministicGenerator, ExtractOptions, Generator, check_games, check_pack, extract,
};
use serde_json::Value;
use support::fixtures;

fn schema(name: &str) -> jsonschema::Validator {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("schemas")
        .join(name);
    let text = std::fs::read_to_string(&path).expect("schema file is in the repository");
    let schema: Value = serde_json::from_str(&text).expect("schema is json");
    jsonschema::validator_for(&schema).expect("schema compiles")
}

fn artifacts(bytes: &[u8], key: &str) -> (Value, Value) {
    let document = extract(bytes, key, &ExtractOptions::default()).expect("document extracts");
    let generator = DeterministicGenerator::default();
    let mut pack = generator.generate_pack(&document).expect("pack generates");
    check_pack(&mut pack, &document.text).expect("pack passes guardrails");
    let mut games = generator.generate_games(&pack).expect("games generate");
    check_games(&mut games, &document.text).expect("games pass guardrails");
    (
        serde_json::to_value(&pack).expect("pack serializes"),
        serde_json::to_value(&games).expect("games serialize"),
    )
}

fn errors(validator: &jsonschema::Validator, instance: &Value) -> Vec<String> {
    validator
        .iter_errors(instance)
        .map(|error| format!("{} at {}", error, error.instance_path()))
        .collect()
}

#[test]
fn artifacts_from_the_sample_match_their_schemas() {
    let (pack, games) = artifacts(&support::sample(), "photosynthesis.md");
    assert_eq!(
        errors(&schema("learning-pack.schema.json"), &pack),
        Vec::<String>::new()
    );
    assert_eq!(
        errors(&schema("games.schema.json"), &games),
        Vec::<String>::new()
    );
}

#[test]
fn artifacts_from_a_pdf_match_their_schemas() {
    let (pack, games) = artifacts(&fixtures::water_cycle_pdf(6), "water.pdf");
    assert!(
        pack.pointer("/document/pages").is_some(),
        "pages is written for a pdf"
    );
    assert_eq!(
        errors(&schema("learning-pack.schema.json"), &pack),
        Vec::<String>::new()
    );
    assert_eq!(
        errors(&schema("games.schema.json"), &games),
        Vec::<String>::new()
    );
}

#[test]
fn the_pack_schema_rejects_undocumented_fields_missing_fields_and_other_versions() {
    let validator = schema("learning-pack.schema.json");
    let (pack, _) = artifacts(&support::sample(), "photosynthesis.md");

    let mut extra = pack.clone();
    extra["concepts"][0]["confidence"] = Value::from(0.9);
    assert!(!validator.is_valid(&extra));

    let mut missing = pack.clone();
    if let Some(question) = missing["questions"][0].as_object_mut() {
        question.remove("answer_index");
    }
    assert!(!validator.is_valid(&missing));

    let mut future = pack;
    future["format_version"] = Value::from(2);
    assert!(!validator.is_valid(&future));
}

#[test]
fn the_games_schema_rejects_a_blank_without_a_gap() {
    let validator = schema("games.schema.json");
    let (_, mut games) = artifacts(&support::sample(), "photosynthesis.md");
    games["fill_in_blank"]["items"][0]["text"] = Value::from("No gap in this sentence.");
    assert!(!validator.is_valid(&games));
}

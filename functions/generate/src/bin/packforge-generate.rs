//! Runs the generate job on a local document with the built-in generator: no cloud account,
//! no API key. Prints where the pack and games went and a short summary of them.
//!
//! Usage: `packforge-generate [DOCUMENT] [--out DIR]`; the document defaults to the sample in
//! `shared/learning/samples/`, the output directory to `packforge-out/`.

use std::path::PathBuf;

use anyhow::{Context, bail};
use generate::{local::run_local, run::RunOutcome};
use serde_json::Value;

const SAMPLE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/learning/samples/photosynthesis.md"
);

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();

    let mut document = None;
    let mut out_dir = PathBuf::from("packforge-out");
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--out" => out_dir = args.next().context("`--out` needs a directory")?.into(),
            "-h" | "--help" => {
                println!("usage: packforge-generate [DOCUMENT] [--out DIR]");
                return Ok(());
            }
            _ if document.is_none() => document = Some(PathBuf::from(arg)),
            _ => bail!("unexpected argument `{arg}`; see --help"),
        }
    }
    let document = document.unwrap_or_else(|| PathBuf::from(SAMPLE));

    let run = run_local(&document, &out_dir).await?;
    match &run.outcome {
        RunOutcome::Succeeded {
            manifest_key,
            telemetry,
        } => {
            let manifest = read_json(&run.store.path("local", manifest_key))?;
            let pack_key = manifest["artifacts"]["learning_pack"]
                .as_str()
                .unwrap_or_default();
            let games_key = manifest["artifacts"]["games"].as_str().unwrap_or_default();
            let pack_path = run.store.path("local", pack_key);
            let games_path = run.store.path("local", games_key);
            println!("learning pack: {}", pack_path.display());
            println!("games:         {}", games_path.display());
            println!(
                "manifest:      {}",
                run.store.path("local", manifest_key).display()
            );
            println!(
                "telemetry:     {} (emitted {}, sent {}, dropped {})",
                run.telemetry_file.display(),
                telemetry.emitted,
                telemetry.sent,
                telemetry.dropped_total
            );
            println!();
            print_pack(&read_json(&pack_path)?);
            print_games(&read_json(&games_path)?);
        }
        RunOutcome::Failed {
            manifest_key, kind, ..
        } => {
            let manifest = read_json(&run.store.path("local", manifest_key))?;
            println!(
                "generation failed ({kind}): {}",
                manifest["error"]["message"].as_str().unwrap_or("")
            );
            println!(
                "manifest: {}",
                run.store.path("local", manifest_key).display()
            );
            std::process::exit(1);
        }
        RunOutcome::Duplicate { manifest_key } => {
            println!(
                "already generated for this content: {}",
                run.store.path("local", manifest_key).display()
            );
        }
        RunOutcome::Ignored | RunOutcome::Superseded => bail!("document was not processed"),
    }
    Ok(())
}

fn read_json(path: &std::path::Path) -> anyhow::Result<Value> {
    let text = std::fs::read(path).with_context(|| format!("reading `{}`", path.display()))?;
    serde_json::from_slice(&text).with_context(|| format!("parsing `{}`", path.display()))
}

fn count(value: &Value) -> usize {
    value.as_array().map_or(0, Vec::len)
}

fn print_pack(pack: &Value) {
    println!("# {}", pack["title"].as_str().unwrap_or("(untitled)"));
    if let Some(first) = pack["summary"].get(0) {
        println!("{}", first["text"].as_str().unwrap_or_default());
    }
    println!();
    println!("key concepts ({}):", count(&pack["concepts"]));
    for concept in pack["concepts"].as_array().into_iter().flatten().take(5) {
        println!(
            "  - {}: {}",
            concept["term"].as_str().unwrap_or(""),
            concept["definition"].as_str().unwrap_or("")
        );
    }
    println!(
        "flashcards: {}, questions: {}",
        count(&pack["flashcards"]),
        count(&pack["questions"])
    );
    if let Some(question) = pack["questions"].get(0) {
        println!(
            "sample question: {}",
            question["prompt"].as_str().unwrap_or_default()
        );
        for option in question["options"].as_array().into_iter().flatten() {
            println!("  * {}", option.as_str().unwrap_or_default());
        }
    }
    println!();
}

fn print_games(games: &Value) {
    let sizes: Vec<String> = ["quiz", "matching", "fill_in_blank", "true_false"]
        .iter()
        .map(|name| {
            let game = &games[*name];
            let items = game
                .as_object()
                .and_then(|fields| fields.values().find_map(Value::as_array))
                .map_or(0, Vec::len);
            format!("{name} ({items} items)")
        })
        .collect();
    println!("games: {}", sizes.join(", "));
}

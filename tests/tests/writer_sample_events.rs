//! The sample SQS batches in `events/` (shaped like Lambda's event, see `events/README.md`)
//! give the outcomes that README documents.

mod writer_support;

use std::collections::BTreeSet;

use aws_lambda_events::sqs::SqsEvent;
use telemetry_writer::poison::REASON_ATTRIBUTE;
use writer_support::WriterFixture;

fn sample(name: &str) -> anyhow::Result<SqsEvent> {
    let path = format!("{}/../events/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path)?;
    Ok(serde_json::from_str(&text)?)
}

fn run_of(event: &SqsEvent, index: usize) -> anyhow::Result<String> {
    let body = event.records[index].body.as_deref().unwrap_or_default();
    let value: serde_json::Value = serde_json::from_str(body)?;
    Ok(value["run_id"].as_str().unwrap_or_default().to_string())
}

#[tokio::test]
async fn sample_batches_are_stored_deduplicated_and_dead_lettered_as_documented()
-> anyhow::Result<()> {
    let fixture = WriterFixture::start(5).await?;

    let valid = sample("sqs-valid-batch.json")?;
    let run_id = run_of(&valid, 0)?;
    let response = fixture.handle(valid).await?;
    assert!(response.batch_item_failures.is_empty());
    let runs = fixture.run_summaries().await?;
    assert_eq!(runs[&run_id].get_i32("event_count")?, 6);
    assert_eq!(runs[&run_id].get_i32("artifact_count")?, 2);
    assert_eq!(runs[&run_id].get_str("status")?, "succeeded");
    let stored = fixture.stored_events().await?;
    assert_eq!(stored.len(), 6);
    assert!(
        !stored
            .values()
            .any(|event| format!("{event}").contains("Photosynthesis"))
    );

    let duplicate = fixture.handle(sample("sqs-duplicate-batch.json")?).await?;
    assert!(duplicate.batch_item_failures.is_empty());
    assert_eq!(fixture.stored_events().await?.len(), 6);
    assert_eq!(fixture.run_summaries().await?[&run_id], runs[&run_id]);

    let poison = sample("sqs-poison-batch.json")?;
    let other_run = run_of(&poison, 3)?;
    let response = fixture.handle(poison).await?;
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(fixture.stored_events().await?.len(), 7);
    assert!(fixture.run_summaries().await?.contains_key(&other_run));
    let reasons: BTreeSet<String> = fixture
        .receive_dlq(3)
        .await?
        .iter()
        .filter_map(|message| message.message_attributes()?.get(REASON_ATTRIBUTE).cloned())
        .filter_map(|value| value.string_value().map(str::to_string))
        .collect();
    let expected = ["invalid_event", "not_json", "unsupported_schema_version"];
    assert_eq!(reasons, expected.map(String::from).into());

    fixture.cleanup().await
}

//! Redelivered and reordered events leave the same run summary as one clean delivery.

mod writer_support;

use mongodb::bson::Document;
use packforge_testkit::{fault_proxy::FaultProxy, stack::unique_name};
use writer_support::{WriterFixture, build_writer, run_events, sqs_event};

#[tokio::test]
async fn duplicates_and_reordering_give_identical_run_summaries() -> anyhow::Result<()> {
    let fixture = WriterFixture::start(5).await?;
    let events = run_events("run-order");
    let bodies: Vec<String> = events
        .iter()
        .map(|event| event.to_json())
        .collect::<Result<_, _>>()?;

    // In order, one delivery each: the reference summary.
    let in_order = fixture.handle(sqs_event(&bodies)).await?;
    assert!(in_order.batch_item_failures.is_empty());

    // Reversed, in three batches, one of them delivered twice, into a second database.
    let shuffled_database = unique_name("writer_shuffled").replace('-', "_");
    let proxy = FaultProxy::start(fixture.stack.mongodb_addr()).await?;
    let shuffled = build_writer(
        &proxy,
        &shuffled_database,
        fixture.sqs.clone(),
        &fixture.dlq_url,
        fixture.dynamodb.clone(),
        &fixture.table,
        fixture.key.clone(),
    )
    .await?;
    let reversed: Vec<String> = bodies.iter().rev().cloned().collect();
    let batches = [
        vec![reversed[0].clone()],
        vec![
            reversed[2].clone(),
            reversed[1].clone(),
            reversed[0].clone(),
        ],
        vec![reversed[3].clone(), reversed[2].clone()],
        vec![reversed[3].clone(), reversed[2].clone()],
    ];
    for batch in &batches {
        let deadline = tokio::time::Instant::now() + writer_support::INVOCATION_BUDGET;
        let response = shuffled.handle(sqs_event(batch), deadline).await?;
        assert!(response.batch_item_failures.is_empty());
    }

    let reference = fixture.run_summaries().await?;
    let other_database = fixture.mongodb.database(&shuffled_database);
    let other: Vec<Document> = {
        use futures::TryStreamExt;
        other_database
            .collection::<Document>("generation_runs")
            .find(mongodb::bson::doc! {})
            .await?
            .try_collect()
            .await?
    };
    assert_eq!(other.len(), 1);
    // Same fields, same values, same order.
    assert_eq!(other[0], reference["run-order"]);
    assert_eq!(other[0].get_i32("event_count")?, 4);

    let stored = other_database
        .collection::<Document>("generation_events")
        .count_documents(mongodb::bson::doc! {})
        .await?;
    assert_eq!(stored, 4);

    other_database.drop().await?;
    fixture.cleanup().await
}

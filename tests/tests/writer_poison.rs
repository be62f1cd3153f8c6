//! Poison messages go to the dead-letter queue at once, with their reason, and are counted.

mod writer_support;

use std::collections::BTreeSet;

use packforge_ops::drops::read_drops;
use packforge_testkit::fault_proxy::{Fault, FaultProxy};
use serde_json::json;
use telemetry_writer::{
    COMPONENT,
    poison::{ORIGINAL_ID_ATTRIBUTE, REASON_ATTRIBUTE},
};
use writer_support::{WriterFixture, build_writer, run_events};

fn poison_bodies() -> Vec<String> {
    vec![
        "this is not json".to_string(),
        json!({"schema_version": 2, "event_id": "x"}).to_string(),
        json!({"schema_version": 1, "type": "run_started"}).to_string(),
    ]
}

#[tokio::test]
async fn poison_messages_go_to_the_dlq_at_once_with_their_reason_and_are_counted()
-> anyhow::Result<()> {
    let fixture = WriterFixture::start(5).await?;
    let valid = run_events("run-with-poison");
    fixture.send(&valid[..1]).await?;
    fixture.send_bodies(&poison_bodies()).await?;

    let report = fixture.drain().await?;

    // Nothing was retried: poison is settled on its first delivery.
    assert_eq!(report.received, 4, "{report:?}");
    assert_eq!(report.failed, 0, "{report:?}");
    assert!(
        fixture
            .stored_events()
            .await?
            .contains_key(&valid[0].event_id.to_string())
    );

    let dead = fixture.receive_dlq(3).await?;
    assert_eq!(dead.len(), 3);
    let mut reasons = BTreeSet::new();
    for message in &dead {
        let attributes = message.message_attributes().cloned().unwrap_or_default();
        let reason = attributes[REASON_ATTRIBUTE]
            .string_value()
            .unwrap_or_default();
        reasons.insert(reason.to_string());
        assert!(attributes.contains_key(ORIGINAL_ID_ATTRIBUTE));
        assert!(poison_bodies().contains(&message.body().unwrap_or_default().to_string()));
    }
    let expected: BTreeSet<String> = ["not_json", "unsupported_schema_version", "invalid_event"]
        .map(String::from)
        .into();
    assert_eq!(reasons, expected);

    let rows = read_drops(
        &fixture.dynamodb,
        &fixture.table,
        &[COMPONENT.to_string()],
        1,
        time::OffsetDateTime::now_utc(),
    )
    .await?;
    let counted: Vec<(&str, u64)> = rows
        .iter()
        .map(|row| (row.reason.as_str(), row.count))
        .collect();
    assert_eq!(
        counted,
        vec![
            ("poison_invalid_event", 1),
            ("poison_not_json", 1),
            ("poison_unsupported_schema_version", 1),
        ]
    );

    fixture.cleanup().await
}

#[tokio::test]
async fn poison_that_cannot_be_forwarded_reaches_the_dlq_through_the_redrive_policy()
-> anyhow::Result<()> {
    let mut fixture = WriterFixture::start(2).await?;
    // The writer's SQS client goes through a proxy that refuses, so SendMessage to the DLQ
    // fails; the trigger and the test still reach moto directly.
    let sqs_proxy = FaultProxy::start(fixture.stack.moto_addr()).await?;
    sqs_proxy.set(Fault::Refuse);
    let refused_sqs =
        aws_sdk_sqs::Client::new(&packforge_testkit::stack::sdk_config(&sqs_proxy.url()));
    fixture.writer = build_writer(
        &fixture.mongodb_proxy,
        &fixture.database,
        refused_sqs,
        &fixture.dlq_url,
        fixture.dynamodb.clone(),
        &fixture.table,
        fixture.key.clone(),
    )
    .await?;
    fixture.send_bodies(&poison_bodies()[..1]).await?;

    let first = fixture.invoke_once().await?;
    assert_eq!(
        first.failed, first.received,
        "unforwarded poison must be retried"
    );

    let report = fixture.drain().await?;
    assert_eq!(report.deleted, 0, "{report:?}");
    let dead = fixture.receive_dlq(1).await?;
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].body(), Some(poison_bodies()[0].as_str()));
    // Not counted: the writer never saw it accepted by the DLQ.
    let rows = read_drops(
        &fixture.dynamodb,
        &fixture.table,
        &[COMPONENT.to_string()],
        1,
        time::OffsetDateTime::now_utc(),
    )
    .await?;
    assert!(rows.is_empty(), "{rows:?}");

    fixture.cleanup().await
}

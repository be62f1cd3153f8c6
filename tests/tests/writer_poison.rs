//! Poison messages go to the dead-letter queue at once, with their reason, and are counted
//! once, however often they are redriven.

mod writer_support;

use std::collections::BTreeSet;

use packforge_ops::{
    drops::read_drops,
    redrive::{RedriveOutcome, RedriveRequest, redrive},
};
use packforge_testkit::fault_proxy::{Fault, FaultProxy};
use serde_json::json;
use telemetry_writer::{
    COMPONENT,
    poison::{MISSING_BODY_PLACEHOLDER, ORIGINAL_ID_ATTRIBUTE, REASON_ATTRIBUTE},
};
use writer_support::{WriterFixture, build_writer, run_events, sqs_event};

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

    assert_eq!(writer_drops(&fixture).await?, counted_once());

    fixture.cleanup().await
}

/// Today's drop counters of the writer, by reason.
async fn writer_drops(fixture: &WriterFixture) -> anyhow::Result<Vec<(String, u64)>> {
    let rows = read_drops(
        &fixture.dynamodb,
        &fixture.table,
        &[COMPONENT.to_string()],
        1,
        time::OffsetDateTime::now_utc(),
    )
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| (row.reason, row.count))
        .collect())
}

/// The counters after each of [`poison_bodies`] was counted once.
fn counted_once() -> Vec<(String, u64)> {
    [
        "poison_invalid_event",
        "poison_not_json",
        "poison_unsupported_schema_version",
    ]
    .map(|reason| (reason.to_string(), 1))
    .into()
}

#[tokio::test]
async fn redriven_poison_stays_put_unless_included_and_is_counted_once() -> anyhow::Result<()> {
    let fixture = WriterFixture::start(5).await?;
    fixture.send_bodies(&poison_bodies()).await?;
    fixture.drain().await?;
    assert_eq!(writer_drops(&fixture).await?, counted_once());
    let request = fixture.redrive_request();

    // By default poison stays in the dead-letter queue, visible again at once.
    let outcome = redrive(&fixture.sqs, &request).await?;
    let RedriveOutcome::Moved(skipped) = outcome else {
        anyhow::bail!("skipping poison needs a client-side move: {outcome:?}");
    };
    assert_eq!(
        (skipped.moved, skipped.skipped_poison),
        (0, 3),
        "{skipped:?}"
    );
    let dry_run = RedriveRequest {
        dry_run: true,
        ..request.clone()
    };
    assert_eq!(
        redrive(&fixture.sqs, &dry_run).await?,
        RedriveOutcome::DryRun { available: 3 }
    );

    // Included, it moves with its attributes; the writer sends it back without a recount.
    let include = RedriveRequest {
        include_poison: true,
        ..request
    };
    let outcome = redrive(&fixture.sqs, &include).await?;
    let RedriveOutcome::Moved(moved) = outcome else {
        anyhow::bail!("moto has no move task, expected a client-side move: {outcome:?}");
    };
    assert_eq!((moved.moved, moved.skipped_poison), (3, 0), "{moved:?}");
    let report = fixture.drain().await?;
    assert_eq!((report.received, report.failed), (3, 0), "{report:?}");
    let dead = fixture.receive_dlq(3).await?;
    assert_eq!(dead.len(), 3);
    for message in &dead {
        let attributes = message.message_attributes().cloned().unwrap_or_default();
        assert!(attributes.contains_key(REASON_ATTRIBUTE), "{attributes:?}");
    }
    assert_eq!(writer_drops(&fixture).await?, counted_once());

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
    assert!(writer_drops(&fixture).await?.is_empty());

    // Without the reason attribute it is redriven by default, and counted now, once.
    fixture
        .sqs
        .change_message_visibility()
        .queue_url(&fixture.dlq_url)
        .receipt_handle(dead[0].receipt_handle().unwrap_or_default())
        .visibility_timeout(0)
        .send()
        .await?;
    sqs_proxy.switch(Fault::Pass).await;
    let request = fixture.redrive_request();
    let outcome = redrive(&fixture.sqs, &request).await?;
    assert!(
        matches!(outcome, RedriveOutcome::Moved(moved) if moved.moved == 1),
        "{outcome:?}"
    );
    fixture.drain().await?;
    assert_eq!(
        writer_drops(&fixture).await?,
        vec![("poison_not_json".to_string(), 1)]
    );

    fixture.cleanup().await
}

#[tokio::test]
async fn a_record_without_a_body_is_dead_lettered_with_a_placeholder_and_counted()
-> anyhow::Result<()> {
    let fixture = WriterFixture::start(5).await?;
    // SQS never delivers an empty body, but the field is optional in the event Lambda sends.
    let mut event = sqs_event(&[String::new()]);
    event.records[0].body = None;

    let response = fixture.handle(event).await?;
    assert!(response.batch_item_failures.is_empty(), "{response:?}");

    let dead = fixture.receive_dlq(1).await?;
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].body(), Some(MISSING_BODY_PLACEHOLDER));
    let attributes = dead[0].message_attributes().cloned().unwrap_or_default();
    assert_eq!(
        attributes[REASON_ATTRIBUTE].string_value(),
        Some("missing_body")
    );
    assert_eq!(
        writer_drops(&fixture).await?,
        vec![("poison_missing_body".to_string(), 1)]
    );

    fixture.cleanup().await
}

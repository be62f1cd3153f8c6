//! Events dead-lettered during an outage are written exactly once after a redrive.

mod writer_support;

use packforge_ops::redrive::{RedriveOutcome, RedriveRequest, redrive};
use packforge_testkit::fault_proxy::Fault;
use writer_support::{WriterFixture, run_events};

#[tokio::test]
async fn events_dead_lettered_during_an_outage_are_written_exactly_once_after_redrive()
-> anyhow::Result<()> {
    let fixture = WriterFixture::start(2).await?;
    let mut events = run_events("run-outage");
    events.extend(run_events("run-outage-2"));

    // The first run is written before the outage and delivered again during it.
    fixture.send(&events[..4]).await?;
    fixture.drain().await?;

    fixture.mongodb_proxy.set(Fault::Refuse);
    fixture.send(&events).await?;
    let report = fixture.drain().await?;
    assert_eq!(report.deleted, 0, "{report:?}");
    assert_eq!(fixture.dlq_size().await?, events.len() as u64);

    fixture.mongodb_proxy.set(Fault::Pass);
    let request = RedriveRequest {
        dry_run: true,
        ..fixture.redrive_request()
    };
    let dry_run = redrive(&fixture.sqs, &request).await?;
    assert_eq!(
        dry_run,
        RedriveOutcome::DryRun {
            available: events.len() as u64
        }
    );
    let outcome = redrive(
        &fixture.sqs,
        &RedriveRequest {
            dry_run: false,
            ..request
        },
    )
    .await?;
    let RedriveOutcome::Moved(moved) = outcome else {
        anyhow::bail!("moto has no move task, expected a client-side move: {outcome:?}");
    };
    assert_eq!(moved.moved, events.len());
    assert_eq!(moved.failed, 0);

    let report = fixture.drain().await?;
    assert_eq!(report.failed, 0, "{report:?}");
    assert_eq!(report.deleted, events.len());
    let stored = fixture.stored_events().await?;
    assert_eq!(stored.len(), events.len());
    for event in &events {
        assert!(stored.contains_key(&event.event_id.to_string()));
    }
    let runs = fixture.run_summaries().await?;
    assert_eq!(runs["run-outage"].get_i32("event_count")?, 4);
    assert_eq!(runs["run-outage-2"].get_i32("event_count")?, 4);
    assert_eq!(fixture.dlq_size().await?, 0);

    fixture.cleanup().await
}

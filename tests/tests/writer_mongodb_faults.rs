//! MongoDB faults fail the affected messages; redelivery writes each event exactly once.

mod writer_support;

use std::time::Duration;

use packforge_testkit::fault_proxy::Fault;
use tokio::time::Instant;
use writer_support::{WriterFixture, run_events};

/// Warms the writer (connection pool, indexes) with one run, so the fault hits a batch write.
async fn warm(fixture: &WriterFixture) -> anyhow::Result<()> {
    fixture.send(&run_events("run-warm")).await?;
    let report = fixture.drain().await?;
    anyhow::ensure!(report.failed == 0, "warm-up failed: {report:?}");
    Ok(())
}

/// Invokes the writer until a batch arrives (failed messages come back after the visibility
/// timeout).
async fn invoke_until_received(
    fixture: &WriterFixture,
) -> anyhow::Result<packforge_testkit::sqs_trigger::Invocation> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let invocation = fixture.invoke_once().await?;
        if !invocation.received.is_empty() {
            return Ok(invocation);
        }
        anyhow::ensure!(Instant::now() < deadline, "no batch came back");
    }
}

async fn assert_written_once(
    fixture: &WriterFixture,
    run_id: &str,
    events: &[packforge_telemetry::TelemetryEvent],
) -> anyhow::Result<()> {
    let stored = fixture.stored_events().await?;
    for event in events {
        assert!(stored.contains_key(&event.event_id.to_string()));
    }
    let in_run = stored
        .values()
        .filter(|document| document.get_str("run_id").ok() == Some(run_id))
        .count();
    assert_eq!(in_run, events.len());
    let runs = fixture.run_summaries().await?;
    assert_eq!(runs[run_id].get_i32("event_count")?, events.len() as i32);
    assert_eq!(fixture.dlq_size().await?, 0);
    Ok(())
}

#[tokio::test]
async fn refused_mongodb_fails_the_batch_then_redelivery_writes_each_event_once()
-> anyhow::Result<()> {
    let fixture = WriterFixture::start(5).await?;
    warm(&fixture).await?;
    let events = run_events("run-refused");
    fixture.send(&events).await?;

    fixture.mongodb_proxy.set(Fault::Refuse);
    let invocation = fixture.invoke_once().await?;
    assert_eq!(invocation.failed.len(), invocation.received.len());
    assert_eq!(invocation.deleted, 0);

    fixture.mongodb_proxy.set(Fault::Pass);
    let report = fixture.drain().await?;
    assert_eq!(report.deleted, events.len(), "{report:?}");
    assert_written_once(&fixture, "run-refused", &events).await?;

    fixture.cleanup().await
}

#[tokio::test]
async fn blackholed_mongodb_fails_the_batch_within_the_operation_timeout() -> anyhow::Result<()> {
    let fixture = WriterFixture::start(5).await?;
    warm(&fixture).await?;
    let events = run_events("run-blackholed");
    fixture.send(&events).await?;

    fixture.mongodb_proxy.set(Fault::Blackhole);
    let started = Instant::now();
    let invocation = fixture.invoke_once().await?;
    let took = started.elapsed();
    assert_eq!(invocation.failed.len(), invocation.received.len());
    assert!(!invocation.received.is_empty());
    assert!(
        took < writer_support::OPERATION_TIMEOUT * 2 + Duration::from_secs(1),
        "a blackholed server held the batch for {took:?}"
    );

    fixture.mongodb_proxy.set(Fault::Pass);
    fixture.drain().await?;
    assert_written_once(&fixture, "run-blackholed", &events).await?;

    fixture.cleanup().await
}

#[tokio::test]
async fn mongodb_restarted_mid_batch_loses_the_reply_but_no_event_is_written_twice()
-> anyhow::Result<()> {
    let fixture = WriterFixture::start(5).await?;
    warm(&fixture).await?;
    let events = run_events("run-restarted");
    fixture.send(&events).await?;

    // The insert reaches the server, the connection dies before the reply: the writer cannot
    // know the events were stored, so it reports them failed.
    fixture
        .mongodb_proxy
        .set(Fault::CutResponse { after_bytes: 0 });
    let invocation = fixture.invoke_once().await?;
    assert_eq!(invocation.failed.len(), invocation.received.len());
    assert_eq!(invocation.received.len(), events.len());
    // Yet they are stored, so the redelivery below meets duplicate keys.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let stored = fixture.stored_events().await?;
        let present = events
            .iter()
            .filter(|event| stored.contains_key(&event.event_id.to_string()))
            .count();
        if present == events.len() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the cut insert never reached the server: {present} stored"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        !fixture.run_summaries().await?.contains_key("run-restarted"),
        "the summary must wait for a confirmed insert"
    );

    // The server is down while the batch comes back: the writer waits out its short server
    // selection timeout and fails the batch again. Only then is the server back.
    fixture.mongodb_proxy.switch(Fault::Refuse).await;
    let down = invoke_until_received(&fixture).await?;
    assert_eq!(down.received.len(), events.len(), "{down:?}");
    assert_eq!(down.failed.len(), events.len(), "{down:?}");
    fixture.mongodb_proxy.switch(Fault::Pass).await;

    let report = fixture.drain().await?;
    assert_eq!(report.failed, 0, "{report:?}");
    assert_written_once(&fixture, "run-restarted", &events).await?;

    fixture.cleanup().await
}

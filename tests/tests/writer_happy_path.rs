//! The telemetry writer stores every event of a run once, encrypted where sensitive, and
//! summarises the run; the operations CLI reads it back.

mod writer_support;

use packforge_ops::run_report::read_run;
use telemetry_writer::encryption::KeyRing;
use writer_support::{WriterFixture, run_events};

#[tokio::test]
async fn events_are_stored_encrypted_and_their_runs_summarised() -> anyhow::Result<()> {
    let fixture = WriterFixture::start(5).await?;
    let first = run_events("run-a");
    let second = run_events("run-b");
    fixture.send(&first).await?;
    fixture.send(&second).await?;

    let report = fixture.drain().await?;

    assert_eq!(report.failed, 0, "{report:?}");
    assert_eq!(report.deleted, 8, "{report:?}");
    let stored = fixture.stored_events().await?;
    assert_eq!(stored.len(), 8);
    for event in first.iter().chain(&second) {
        let document = &stored[&event.event_id.to_string()];
        assert_eq!(document.get_str("run_id")?, event.run_id);
        assert_eq!(document.get_str("type")?, event.event_type().as_str());
    }
    let artifact = &stored[&first[1].event_id.to_string()];
    let sensitive = artifact
        .get_document("payload")?
        .get_document("sensitive")?;
    assert_eq!(sensitive.get_str("alg")?, "A256GCM");
    assert_eq!(sensitive.get_str("kid")?, fixture.key.key_id());
    assert!(!format!("{artifact}").contains("Photosynthesis"));

    let runs = fixture.run_summaries().await?;
    let run = &runs["run-a"];
    assert_eq!(run.get_str("status")?, "succeeded");
    assert_eq!(run.get_i32("event_count")?, 4);
    assert_eq!(run.get_i32("artifact_count")?, 1);
    assert_eq!(run.get_str("document_id")?, "doc-run-a");
    assert_eq!(run.get_str("source_key")?, "uploads/run-a/notes.pdf");
    assert_eq!(fixture.dlq_size().await?, 0);

    let hidden = read_run(&fixture.database(), "run-a", &KeyRing::default()).await?;
    assert_eq!(hidden.events.len(), 4);
    assert_eq!(hidden.events[1]["payload"]["sensitive"]["encrypted"], true);
    let keys = KeyRing::new(vec![fixture.key.clone()]);
    let shown = read_run(&fixture.database(), "run-a", &keys).await?;
    assert_eq!(
        shown.events[1]["payload"]["sensitive"]["title"],
        "Photosynthesis in C4 plants"
    );
    assert_eq!(
        shown.summary.as_ref().map(|s| &s["event_count"]),
        Some(&4.into())
    );

    fixture.cleanup().await
}

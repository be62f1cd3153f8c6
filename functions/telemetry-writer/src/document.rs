//! The stored shape of an event in `generation_events`.
//!
//! The document is the event's wire JSON with three changes: `event_id` becomes `_id` (so a
//! redelivered event is a duplicate-key no-op), `occurred_at` becomes a BSON date (so the TTL
//! index can expire it and range queries sort correctly; BSON dates keep milliseconds), and
//! `payload.sensitive` is replaced by its encrypted [`Envelope`](crate::encryption::Envelope).
//! `written_at` records when the writer first stored the event. Unknown fields are stored as
//! received.

use mongodb::bson::{self, Bson, DateTime, Document};
use packforge_telemetry::TelemetryEvent;
use serde_json::Value;
use time::OffsetDateTime;

use crate::{encryption::EncryptionKey, error::WriterError};

/// Collection of stored events, `_id` = event id.
pub const EVENTS_COLLECTION: &str = "generation_events";

/// Builds the document stored for `event`, encrypting `payload.sensitive` with `key`.
///
/// # Errors
///
/// [`WriterError::Encrypt`] if encryption fails; [`WriterError::Document`] or
/// [`WriterError::Json`] if a value has no stored form (an integer above `i64::MAX`), which is
/// permanent for this event.
pub fn stored_document(
    event: &TelemetryEvent,
    key: &EncryptionKey,
    written_at: OffsetDateTime,
) -> Result<Document, WriterError> {
    let event_id = event.event_id.to_string();
    let mut value = serde_json::to_value(event).map_err(WriterError::Json)?;

    if let Some(sensitive) = value
        .get_mut("payload")
        .and_then(|payload| payload.get_mut("sensitive"))
        .filter(|sensitive| !sensitive.is_null())
    {
        let envelope = key.encrypt_json(sensitive, event_id.as_bytes())?;
        *sensitive = serde_json::to_value(envelope).expect("envelope is plain strings");
    }
    if let Value::Object(object) = &mut value {
        object.remove("event_id");
        object.remove("occurred_at");
    }

    let mut document = bson::serialize_to_document(&value).map_err(WriterError::Document)?;
    document.insert("_id", Bson::String(event_id));
    document.insert("occurred_at", bson_date(event.occurred_at));
    document.insert("written_at", bson_date(written_at));
    Ok(document)
}

/// Milliseconds since the epoch as a BSON date.
pub fn bson_date(at: OffsetDateTime) -> Bson {
    let millis = at.unix_timestamp_nanos() / 1_000_000;
    Bson::DateTime(DateTime::from_millis(millis as i64))
}

#[cfg(test)]
mod tests {
    use packforge_telemetry::event::{ArtifactRecorded, EventBody, Extra, Pipeline, Source};
    use serde_json::json;
    use time::macros::datetime;

    use super::*;
    use crate::encryption::{Envelope, KeyRing};

    fn event(sensitive: Option<Value>) -> TelemetryEvent {
        let mut event = TelemetryEvent::new(
            "run-1",
            "doc-1",
            Pipeline::LearningPack,
            Source {
                function_name: "generate".into(),
                function_version: "$LATEST".into(),
                request_id: "req-1".into(),
                trace_id: None,
                extra: Extra::new(),
            },
            EventBody::ArtifactRecorded(ArtifactRecorded {
                artifact: "learning_pack".into(),
                key: "packs/a/learning-pack.json".into(),
                bytes: 10,
                item_count: 3,
                sensitive: sensitive.map(|value| value.as_object().unwrap().clone()),
                extra: Extra::new(),
            }),
        );
        event.occurred_at = datetime!(2026-12-03 10:15:30.123456 UTC);
        event
            .extra
            .insert("future_field".into(), json!({"kept": true}));
        event
    }

    fn key() -> EncryptionKey {
        EncryptionKey::from_bytes(&[4; 32], None).unwrap()
    }

    #[test]
    fn sensitive_payload_is_stored_encrypted_and_decrypts_to_the_original() {
        let original = json!({"title": "Cell biology", "excerpt": "mitochondria"});
        let event = event(Some(original.clone()));
        let document = stored_document(&event, &key(), OffsetDateTime::now_utc()).unwrap();

        let stored = document.get_document("payload").unwrap();
        let envelope: Envelope =
            bson::deserialize_from_document(stored.get_document("sensitive").unwrap().clone())
                .unwrap();
        let text = format!("{document}");
        assert!(!text.contains("mitochondria"), "{text}");
        assert_eq!(stored.get_str("key").unwrap(), "packs/a/learning-pack.json");

        let ring = KeyRing::new(vec![key()]);
        let id = event.event_id.to_string();
        assert_eq!(
            ring.decrypt_json(&envelope, id.as_bytes()).unwrap(),
            original
        );
    }

    #[test]
    fn ids_and_dates_take_their_stored_form() {
        let event = event(None);
        let written_at = datetime!(2026-12-03 10:15:31 UTC);
        let document = stored_document(&event, &key(), written_at).unwrap();

        assert_eq!(document.get_str("_id").unwrap(), event.event_id.to_string());
        assert!(!document.contains_key("event_id"));
        let occurred = document.get_datetime("occurred_at").unwrap();
        assert_eq!(occurred.timestamp_millis(), 1_796_292_930_123);
        assert_eq!(
            document
                .get_datetime("written_at")
                .unwrap()
                .timestamp_millis(),
            1_796_292_931_000
        );
        assert_eq!(document.get_str("type").unwrap(), "artifact_recorded");
        assert!(
            document
                .get_document("future_field")
                .unwrap()
                .get_bool("kept")
                .unwrap()
        );
        assert!(
            !document
                .get_document("payload")
                .unwrap()
                .contains_key("sensitive")
        );
    }
}

//! Turning an invocation payload into the objects to process.
//!
//! Two shapes arrive: S3 event notifications (`Records`) and EventBridge "Object Created"
//! events. Both are parsed with `aws_lambda_events`, behind a lenient layer: emulators and
//! some real senders omit fields the crate requires (moto drops `userIdentity`,
//! `requestParameters` and `responseElements`), so those are filled with empty values before
//! parsing. A record that still cannot be parsed is reported on its own and never stops the
//! others. S3's `s3:TestEvent`, sent when a notification is configured, has no records and is
//! recognised so it can be ignored.

use aws_lambda_events::{eventbridge::EventBridgeEvent, s3::S3EventRecord};
use serde_json::{Value, json};

use crate::keys::decode_notification_key;

/// One uploaded object named by a notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectRef {
    /// Bucket name.
    pub bucket: String,
    /// Decoded key.
    pub key: String,
    /// Size in bytes, when the event carried it.
    pub size: Option<u64>,
    /// ETag without quotes, when the event carried it.
    pub etag: Option<String>,
    /// Object version, for versioned buckets.
    pub version_id: Option<String>,
}

/// What one entry of a payload turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// An object to process.
    Object(ObjectRef),
    /// An entry that could not be understood, with the reason.
    Malformed(String),
}

/// What an invocation payload holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notification {
    /// S3 records or an EventBridge event.
    Entries(Vec<Entry>),
    /// S3's configuration test message.
    TestEvent,
    /// A payload of no known shape, with a short description.
    Unrecognized(String),
}

/// Classifies an invocation payload.
pub fn parse(payload: &Value) -> Notification {
    if payload.get("Event").and_then(Value::as_str) == Some("s3:TestEvent") {
        return Notification::TestEvent;
    }
    if let Some(records) = payload.get("Records").and_then(Value::as_array) {
        return Notification::Entries(records.iter().map(parse_record).collect());
    }
    if payload.get("detail-type").is_some() {
        return Notification::Entries(vec![parse_eventbridge(payload)]);
    }
    Notification::Unrecognized("payload has neither `Records` nor `detail-type`".into())
}

fn parse_record(record: &Value) -> Entry {
    let mut record = record.clone();
    if let Some(fields) = record.as_object_mut() {
        fields.entry("userIdentity").or_insert_with(|| json!({}));
        fields
            .entry("requestParameters")
            .or_insert_with(|| json!({}));
        fields
            .entry("responseElements")
            .or_insert_with(|| json!({}));
        fields
            .entry("eventTime")
            .or_insert_with(|| json!("1970-01-01T00:00:00Z"));
    }
    let record: S3EventRecord = match serde_json::from_value(record) {
        Ok(record) => record,
        Err(error) => return Entry::Malformed(format!("s3 record does not parse: {error}")),
    };
    if let Some(name) = record.event_name.as_deref()
        && !name.starts_with("ObjectCreated:")
    {
        return Entry::Malformed(format!("s3 event `{name}` is not an object creation"));
    }
    let object = &record.s3.object;
    let (Some(bucket), Some(key)) = (record.s3.bucket.name.clone(), object.key.as_deref()) else {
        return Entry::Malformed("s3 record has no bucket name or object key".into());
    };
    Entry::Object(ObjectRef {
        bucket,
        key: decode_notification_key(key),
        size: object.size.and_then(|size| u64::try_from(size).ok()),
        etag: object.e_tag.as_deref().map(unquote),
        version_id: object.version_id.clone().filter(|id| !id.is_empty()),
    })
}

fn parse_eventbridge(payload: &Value) -> Entry {
    let event: EventBridgeEvent<Value> = match serde_json::from_value(payload.clone()) {
        Ok(event) => event,
        Err(error) => {
            return Entry::Malformed(format!("eventbridge event does not parse: {error}"));
        }
    };
    if event.source != "aws.s3" || event.detail_type != "Object Created" {
        return Entry::Malformed(format!(
            "eventbridge event `{}` from `{}` is not an s3 object creation",
            event.detail_type, event.source
        ));
    }
    let detail = &event.detail;
    let text = |pointer: &str| detail.pointer(pointer).and_then(Value::as_str);
    let (Some(bucket), Some(key)) = (text("/bucket/name"), text("/object/key")) else {
        return Entry::Malformed("eventbridge detail has no bucket name or object key".into());
    };
    // EventBridge carries keys as written, not form-encoded.
    Entry::Object(ObjectRef {
        bucket: bucket.to_string(),
        key: key.to_string(),
        size: detail.pointer("/object/size").and_then(Value::as_u64),
        etag: text("/object/etag").map(unquote),
        version_id: text("/object/version-id").map(str::to_string),
    })
}

fn unquote(etag: &str) -> String {
    etag.trim_matches('"').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Value {
        let path = format!("{}/../../events/{name}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        serde_json::from_str(&text).unwrap()
    }

    fn objects(notification: Notification) -> Vec<ObjectRef> {
        match notification {
            Notification::Entries(entries) => entries
                .into_iter()
                .map(|entry| match entry {
                    Entry::Object(object) => object,
                    Entry::Malformed(reason) => panic!("malformed: {reason}"),
                })
                .collect(),
            other => panic!("not entries: {other:?}"),
        }
    }

    #[test]
    fn aws_put_notification_decodes_spaces_and_non_ascii() {
        let objects = objects(parse(&fixture("s3-put.json")));
        assert_eq!(objects.len(), 1);
        assert_eq!(
            objects[0].key,
            "uploads/biology/photosynthesis notes été.md"
        );
        assert!(
            objects[0]
                .etag
                .as_deref()
                .is_some_and(|etag| !etag.contains('"'))
        );
    }

    #[test]
    fn moto_notification_without_identity_fields_parses() {
        let objects = objects(parse(&fixture("s3-put-moto.json")));
        assert_eq!(
            objects[0].key,
            "uploads/biology/photosynthesis notes été.md"
        );
        assert_eq!(objects[0].bucket, "packforge-uploads");
        assert_eq!(objects[0].size, Some(48213));
    }

    #[test]
    fn eventbridge_object_created_parses_without_decoding() {
        let objects = objects(parse(&fixture("eventbridge-object-created.json")));
        assert_eq!(
            objects[0].key,
            "uploads/biology/photosynthesis notes été.md"
        );
        assert_eq!(
            objects[0].version_id.as_deref(),
            Some("3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrH")
        );
    }

    #[test]
    fn s3_test_event_is_recognised() {
        assert_eq!(
            parse(&fixture("s3-test-event.json")),
            Notification::TestEvent
        );
    }

    #[test]
    fn a_broken_record_does_not_hide_the_others() {
        let mut payload = fixture("s3-put.json");
        let good = payload["Records"][0].clone();
        payload["Records"] = json!([{"s3": "nonsense"}, good]);
        let Notification::Entries(entries) = parse(&payload) else {
            panic!("expected entries");
        };
        assert!(matches!(entries[0], Entry::Malformed(_)));
        assert!(matches!(entries[1], Entry::Object(_)));
    }

    #[test]
    fn unknown_payloads_are_unrecognized() {
        assert!(matches!(
            parse(&json!({"hello": 1})),
            Notification::Unrecognized(_)
        ));
    }
}

//! Decoding and validation of one SQS message body.
//!
//! A body that cannot become a valid v1 event never will, so every failure here is a
//! [`Poison`] message: it goes to the dead-letter queue at once rather than through
//! `maxReceiveCount` retries. The reason names are stable; they are the DLQ message attribute
//! and, prefixed with `poison_`, the drop-counter attribute.

use packforge_telemetry::{TelemetryEvent, event::DecodeError};

/// Reason for an event that parses but breaks a rule the schema cannot express.
pub const INVALID_EVENT: &str = "invalid_event";
/// Reason for a record that arrived without a body (or with an empty one).
pub const MISSING_BODY: &str = "missing_body";
/// Reason for an event whose sensitive fields cannot be encrypted.
pub const ENCRYPTION_FAILED: &str = "encryption_failed";

/// Why a message can never be written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Poison {
    /// Stable reason: `not_json`, `missing_schema_version`, `unsupported_schema_version`,
    /// `invalid_event`, `missing_body` or `encryption_failed`.
    pub reason: &'static str,
    /// A short description for logs; never contains the body.
    pub detail: String,
}

impl Poison {
    /// The drop-counter attribute this message is counted under.
    pub fn counter_name(&self) -> String {
        format!("poison_{}", self.reason)
    }
}

/// Decodes and validates one message body.
///
/// # Errors
///
/// Returns the [`Poison`] reason when the body is not a valid v1 event.
pub fn decode(body: &str) -> Result<TelemetryEvent, Poison> {
    let event = TelemetryEvent::from_json(body).map_err(|error| Poison {
        reason: error.reason(),
        detail: describe(&error),
    })?;
    validate(&event)?;
    Ok(event)
}

/// Rules beyond the JSON shape: the ids that key storage must be present.
fn validate(event: &TelemetryEvent) -> Result<(), Poison> {
    let invalid = |detail: &str| Poison {
        reason: INVALID_EVENT,
        detail: detail.into(),
    };
    if event.event_id.is_nil() {
        return Err(invalid("`event_id` is the nil uuid"));
    }
    if event.run_id.trim().is_empty() {
        return Err(invalid("`run_id` is empty"));
    }
    if event.document_id.trim().is_empty() {
        return Err(invalid("`document_id` is empty"));
    }
    Ok(())
}

/// A description safe to log. serde_json quotes offending values in some messages ("invalid
/// type: string \"...\""), which could be document text, so only messages that name a field
/// are kept whole; the rest become a category and position.
fn describe(error: &DecodeError) -> String {
    let source = match error {
        DecodeError::NotJson(source) | DecodeError::Invalid(source) => source,
        DecodeError::MissingSchemaVersion | DecodeError::UnsupportedSchemaVersion(_) => {
            return error.to_string();
        }
    };
    let message = source.to_string();
    if message.starts_with("missing field") {
        return format!("{error}: {message}");
    }
    format!(
        "{error}: {:?} error at line {} column {}",
        source.classify(),
        source.line(),
        source.column()
    )
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn valid() -> Value {
        json!({
            "schema_version": 1,
            "event_id": "01939c4e-7a3b-7cc0-8d2e-5b7f3f1a9e01",
            "type": "run_started",
            "occurred_at": "2026-12-03T10:15:30.123Z",
            "run_id": "run-1",
            "document_id": "doc-1",
            "pipeline": "learning_pack",
            "source": {
                "function_name": "generate",
                "function_version": "$LATEST",
                "request_id": "c6af9ac6-7b61-11e6-9a41-93e812345678"
            },
            "payload": {"bucket": "uploads", "key": "uploads/a.pdf", "size_bytes": 10}
        })
    }

    #[test]
    fn valid_events_decode() {
        let event = decode(&valid().to_string()).unwrap();
        assert_eq!(event.run_id, "run-1");
    }

    #[test]
    fn poison_reasons_come_from_the_schema_decoder() {
        let cases = [
            ("{oops".to_string(), "not_json"),
            (json!({"run_id": "r"}).to_string(), "missing_schema_version"),
            (
                json!({"schema_version": 9}).to_string(),
                "unsupported_schema_version",
            ),
            (json!({"schema_version": 1}).to_string(), "invalid_event"),
        ];
        for (body, reason) in cases {
            let poison = decode(&body).unwrap_err();
            assert_eq!(poison.reason, reason, "{body}");
            assert_eq!(poison.counter_name(), format!("poison_{reason}"));
        }
    }

    #[test]
    fn details_never_quote_field_values() {
        let mut event = valid();
        event["payload"]["size_bytes"] = json!("the secret chapter title");
        let poison = decode(&event.to_string()).unwrap_err();
        assert_eq!(poison.reason, INVALID_EVENT);
        assert!(!poison.detail.contains("secret"), "{}", poison.detail);

        let mut event = valid();
        event.as_object_mut().unwrap().remove("run_id");
        let poison = decode(&event.to_string()).unwrap_err();
        assert!(
            poison.detail.contains("missing field `run_id`"),
            "{}",
            poison.detail
        );
    }

    #[test]
    fn empty_ids_are_invalid() {
        for field in ["run_id", "document_id"] {
            let mut event = valid();
            event[field] = json!(" ");
            let poison = decode(&event.to_string()).unwrap_err();
            assert_eq!(poison.reason, INVALID_EVENT);
            assert!(poison.detail.contains(field), "{}", poison.detail);
        }
        let mut event = valid();
        event["event_id"] = json!("00000000-0000-0000-0000-000000000000");
        assert_eq!(
            decode(&event.to_string()).unwrap_err().reason,
            INVALID_EVENT
        );
    }
}

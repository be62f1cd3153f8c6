//! A run's story from MongoDB: its summary from `generation_runs` and its events from
//! `generation_events`, oldest first.
//!
//! Sensitive fields stay encrypted in the output unless keys are given; with keys, each
//! envelope is decrypted with the key its id names, and one that cannot be (a retired key that
//! was not given, an altered ciphertext) is shown as encrypted with the reason.

use std::time::Duration;

use futures::TryStreamExt;
use mongodb::{
    Client, Database,
    bson::{Bson, Document, doc},
};
use serde_json::{Value, json};
use telemetry_writer::{
    document::EVENTS_COLLECTION,
    encryption::{Envelope, KeyRing},
    error::error_chain,
    run_summary::RUNS_COLLECTION,
    store::client_options,
};

use crate::error::OpsError;

/// What `run` prints.
#[derive(Debug, Clone, PartialEq)]
pub struct RunReport {
    /// The summary document, if the run has one.
    pub summary: Option<Value>,
    /// The stored events, oldest first, sensitive fields decrypted where a key allowed.
    pub events: Vec<Value>,
}

impl RunReport {
    /// The report as one JSON value.
    pub fn to_json(&self) -> Value {
        json!({ "summary": self.summary, "events": self.events })
    }
}

/// A client for `uri` that gives up on an unreachable server after
/// `server_selection_timeout`, as the writer does, unless the URI says otherwise.
///
/// # Errors
///
/// Fails if the URI cannot be parsed.
pub async fn connect(uri: &str, server_selection_timeout: Duration) -> Result<Client, OpsError> {
    let options = client_options(uri, server_selection_timeout, "packforge-ops")
        .await
        .map_err(|source| OpsError::Mongo {
            operation: "connection string parsing",
            source,
        })?;
    Client::with_options(options).map_err(|source| OpsError::Mongo {
        operation: "client creation",
        source,
    })
}

/// Reads run `run_id` from `database`, decrypting with `keys` where it can.
///
/// # Errors
///
/// Fails if MongoDB cannot be queried.
pub async fn read_run(
    database: &Database,
    run_id: &str,
    keys: &KeyRing,
) -> Result<RunReport, OpsError> {
    let summary = database
        .collection::<Document>(RUNS_COLLECTION)
        .find_one(doc! { "_id": run_id })
        .await
        .map_err(|source| OpsError::Mongo {
            operation: "run summary read",
            source,
        })?
        .map(|document| Bson::Document(document).into_relaxed_extjson());

    let events: Vec<Document> = database
        .collection::<Document>(EVENTS_COLLECTION)
        .find(doc! { "run_id": run_id })
        .sort(doc! { "occurred_at": 1, "_id": 1 })
        .await
        .map_err(|source| OpsError::Mongo {
            operation: "event query",
            source,
        })?
        .try_collect()
        .await
        .map_err(|source| OpsError::Mongo {
            operation: "event query",
            source,
        })?;

    let events = events
        .into_iter()
        .map(|document| show_event(document, keys))
        .collect();
    Ok(RunReport { summary, events })
}

fn show_event(document: Document, keys: &KeyRing) -> Value {
    let event_id = document.get_str("_id").unwrap_or_default().to_string();
    let mut value = Bson::Document(document).into_relaxed_extjson();
    if let Some(sensitive) = value
        .get_mut("payload")
        .and_then(|payload| payload.get_mut("sensitive"))
    {
        *sensitive = show_sensitive(sensitive, &event_id, keys);
    }
    value
}

fn show_sensitive(stored: &Value, event_id: &str, keys: &KeyRing) -> Value {
    let Ok(envelope) = serde_json::from_value::<Envelope>(stored.clone()) else {
        return stored.clone();
    };
    let hidden = |note: Option<String>| {
        let mut shown = json!({ "encrypted": true, "alg": envelope.alg, "kid": envelope.kid });
        if let Some(note) = note {
            shown["not_decrypted"] = json!(note);
        }
        shown
    };
    if keys.is_empty() {
        return hidden(None);
    }
    match keys.decrypt_json(&envelope, event_id.as_bytes()) {
        Ok(value) => value,
        Err(error) => hidden(Some(error_chain(&error))),
    }
}

#[cfg(test)]
mod tests {
    use telemetry_writer::encryption::EncryptionKey;
    use tokio::time::Instant;

    use super::*;

    #[tokio::test]
    async fn an_unreachable_server_fails_the_read_within_the_short_timeout() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let uri = format!("mongodb://{addr}/?directConnection=true");
        let client = connect(&uri, Duration::from_millis(300)).await.unwrap();

        let started = Instant::now();
        let result = read_run(&client.database("packforge"), "run-1", &KeyRing::default()).await;
        assert!(result.is_err());
        let took = started.elapsed();
        assert!(took < Duration::from_secs(5), "took {took:?}");
    }

    #[test]
    fn sensitive_fields_stay_encrypted_without_a_key() {
        let key = EncryptionKey::from_bytes(&[2; 32], None).unwrap();
        let envelope = key.encrypt_json(&json!({"title": "t"}), b"e1").unwrap();
        let stored = serde_json::to_value(&envelope).unwrap();

        let hidden = show_sensitive(&stored, "e1", &KeyRing::default());
        assert_eq!(hidden["encrypted"], true);
        assert_eq!(hidden["kid"], key.key_id());
        assert!(hidden.get("ciphertext").is_none());

        let ring = KeyRing::new(vec![key]);
        assert_eq!(show_sensitive(&stored, "e1", &ring), json!({"title": "t"}));

        let wrong_event = show_sensitive(&stored, "e2", &ring);
        assert!(wrong_event["not_decrypted"].is_string(), "{wrong_event}");
    }
}

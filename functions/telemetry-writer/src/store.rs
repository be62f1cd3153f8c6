//! MongoDB storage: one client per container, indexes ensured once per container, one unordered
//! bulk insert of events and one multi-statement run summary update per batch.
//!
//! Failure behaviour: every operation is bounded by the batch's deadline (the driver has no
//! socket timeout, so a blackholed connection would otherwise hang until Lambda kills the
//! invocation). Outcomes are reported per document: a duplicate key (code 11000) means the event
//! was written by an earlier delivery and counts as success; any other write error fails only
//! its own document; a lost connection, timeout or write-concern error fails every document of
//! the operation, since any of them may not have been written. All of these are safe to retry:
//! the insert is keyed by event id and the summary update is idempotent.

use std::time::Duration;

use mongodb::{
    Client, Collection, Database, IndexModel,
    bson::{Bson, Document, doc},
    error::{ErrorKind, InsertManyError},
    options::{ClientOptions, IndexOptions},
};
use tokio::{sync::OnceCell, time::Instant};

use crate::{
    document::EVENTS_COLLECTION,
    error::{WriterError, error_chain},
    run_summary::{RUNS_COLLECTION, RunUpdate},
};

/// Server error code for a duplicate key.
pub const DUPLICATE_KEY: i32 = 11000;
/// Index exists with other options (MongoDB answers 85, some compatible servers 86).
const INDEX_OPTIONS_CONFLICT: [i32; 2] = [85, 86];
/// Name of the TTL index on `generation_events.occurred_at`.
pub const EVENTS_TTL_INDEX: &str = "occurred_at_ttl";
/// Name of the TTL index on `generation_runs.last_event_at`.
pub const RUNS_TTL_INDEX: &str = "last_event_at_ttl";

/// What happened to one document of a batch insert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InsertOutcome {
    /// Stored by this insert.
    Inserted,
    /// Already stored by an earlier delivery of the same event.
    AlreadyWritten,
    /// Not stored; the text says why.
    Failed(String),
}

impl InsertOutcome {
    /// Whether the event is now stored.
    pub fn is_stored(&self) -> bool {
        !matches!(self, Self::Failed(_))
    }
}

/// Parses `uri` into client options whose server selection and connect timeouts default to
/// `server_selection_timeout`, not the driver's 30 s, unless the URI sets them.
///
/// # Errors
///
/// Fails if the URI cannot be parsed (or, for `mongodb+srv`, resolved).
pub async fn client_options(
    uri: &str,
    server_selection_timeout: Duration,
    app_name: &str,
) -> Result<ClientOptions, mongodb::error::Error> {
    let mut options = ClientOptions::parse(uri).await?;
    options
        .server_selection_timeout
        .get_or_insert(server_selection_timeout);
    options
        .connect_timeout
        .get_or_insert(server_selection_timeout);
    options.app_name.get_or_insert_with(|| app_name.into());
    Ok(options)
}

/// The writer's view of one MongoDB database.
#[derive(Debug)]
pub struct EventStore {
    database: Database,
    events: Collection<Document>,
    event_retention: Duration,
    operation_timeout: Duration,
    indexes: OnceCell<()>,
}

impl EventStore {
    /// Builds a client for `uri` without connecting; the driver connects on first use.
    ///
    /// The server selection and connect timeouts default to `server_selection_timeout` unless
    /// the URI sets them, so an unreachable server fails an operation quickly.
    ///
    /// # Errors
    ///
    /// Fails if the URI cannot be parsed (or, for `mongodb+srv`, resolved).
    pub async fn connect(
        uri: &str,
        database: &str,
        server_selection_timeout: Duration,
        operation_timeout: Duration,
        event_retention: Duration,
    ) -> Result<Self, WriterError> {
        let options = client_options(uri, server_selection_timeout, "telemetry-writer")
            .await
            .map_err(|source| WriterError::Mongo {
                operation: "connection string parsing",
                source,
            })?;
        let client = Client::with_options(options).map_err(|source| WriterError::Mongo {
            operation: "client creation",
            source,
        })?;
        Ok(Self::new(
            &client,
            database,
            operation_timeout,
            event_retention,
        ))
    }

    /// Uses an existing client.
    pub fn new(
        client: &Client,
        database: &str,
        operation_timeout: Duration,
        event_retention: Duration,
    ) -> Self {
        let database = client.database(database);
        Self {
            events: database.collection(EVENTS_COLLECTION),
            database,
            event_retention,
            operation_timeout,
            indexes: OnceCell::new(),
        }
    }

    /// The database the store writes to.
    pub fn database(&self) -> &Database {
        &self.database
    }

    /// Creates the indexes, once per container; a failed attempt is retried by the next batch.
    ///
    /// # Errors
    ///
    /// Fails if MongoDB is unreachable or refuses the indexes before `deadline`.
    pub async fn ensure_indexes(&self, deadline: Instant) -> Result<(), WriterError> {
        self.indexes
            .get_or_try_init(|| async {
                let deadline = self.operation_deadline(deadline);
                within(deadline, "index creation", self.create_indexes()).await?;
                tracing::info!(database = self.database.name(), "indexes ensured");
                Ok::<(), WriterError>(())
            })
            .await
            .map(|_| ())
    }

    async fn create_indexes(&self) -> Result<(), WriterError> {
        let runs: Collection<Document> = self.database.collection(RUNS_COLLECTION);
        let by_run = IndexModel::builder()
            .keys(doc! { "run_id": 1, "occurred_at": 1 })
            .build();
        self.events
            .create_index(by_run)
            .await
            .map_err(|source| WriterError::Mongo {
                operation: "index creation",
                source,
            })?;
        let by_document = IndexModel::builder()
            .keys(doc! { "document_id": 1 })
            .build();
        runs.create_index(by_document)
            .await
            .map_err(|source| WriterError::Mongo {
                operation: "index creation",
                source,
            })?;
        self.ensure_ttl(&self.events, "occurred_at", EVENTS_TTL_INDEX)
            .await?;
        self.ensure_ttl(&runs, "last_event_at", RUNS_TTL_INDEX)
            .await
    }

    /// Creates a TTL index, or changes its expiry when the configured retention changed.
    async fn ensure_ttl(
        &self,
        collection: &Collection<Document>,
        field: &str,
        name: &str,
    ) -> Result<(), WriterError> {
        let options = IndexOptions::builder()
            .name(name.to_string())
            .expire_after(self.event_retention)
            .build();
        let model = IndexModel::builder()
            .keys(doc! { field: 1 })
            .options(options)
            .build();
        let error = match collection.create_index(model).await {
            Ok(_) => return Ok(()),
            Err(error) => error,
        };
        let conflict = matches!(
            error.kind.as_ref(),
            ErrorKind::Command(command) if INDEX_OPTIONS_CONFLICT.contains(&command.code)
        );
        if !conflict {
            return Err(WriterError::Mongo {
                operation: "index creation",
                source: error,
            });
        }
        let seconds = self.event_retention.as_secs() as i64;
        let command = doc! {
            "collMod": collection.name(),
            "index": { "name": name, "expireAfterSeconds": seconds },
        };
        self.database
            .run_command(command)
            .await
            .map_err(|source| WriterError::Mongo {
                operation: "ttl index update",
                source,
            })?;
        tracing::info!(
            collection = collection.name(),
            expire_after_seconds = seconds,
            "ttl index retention changed"
        );
        Ok(())
    }

    /// Inserts `documents` with one unordered bulk insert and reports each document's outcome,
    /// in input order.
    pub async fn insert_events(
        &self,
        documents: &[Document],
        deadline: Instant,
    ) -> Vec<InsertOutcome> {
        if documents.is_empty() {
            return Vec::new();
        }
        let insert = self.events.insert_many(documents).ordered(false);
        let result = within(self.operation_deadline(deadline), "event insert", async {
            insert.await.map_err(|source| WriterError::Mongo {
                operation: "event insert",
                source,
            })
        })
        .await;

        match result {
            Ok(_) => vec![InsertOutcome::Inserted; documents.len()],
            Err(WriterError::Mongo { source, .. }) => match source.kind.as_ref() {
                ErrorKind::InsertMany(failure) => per_document_outcomes(failure, documents.len()),
                _ => all_failed(documents.len(), &error_chain(&source)),
            },
            Err(error) => all_failed(documents.len(), &error_chain(&error)),
        }
    }

    /// Applies `updates` with one unordered `update` command and reports each update's
    /// outcome, in input order (`Err` holds the reason).
    pub async fn update_runs(
        &self,
        updates: &[RunUpdate],
        deadline: Instant,
    ) -> Vec<Result<(), String>> {
        if updates.is_empty() {
            return Vec::new();
        }
        // One command with many statements: one round trip for the whole batch, with errors
        // reported per statement. The driver's update_one would cost a round trip per run.
        let statements: Vec<Bson> = updates
            .iter()
            .map(|update| {
                let pipeline: Vec<Bson> = update
                    .pipeline
                    .iter()
                    .cloned()
                    .map(Bson::Document)
                    .collect();
                Bson::Document(doc! {
                    "q": { "_id": &update.run_id },
                    "u": pipeline,
                    "upsert": true,
                })
            })
            .collect();
        let command = doc! {
            "update": RUNS_COLLECTION,
            "updates": statements,
            "ordered": false,
        };
        let result = within(
            self.operation_deadline(deadline),
            "run summary update",
            async {
                self.database
                    .run_command(command)
                    .await
                    .map_err(|source| WriterError::Mongo {
                        operation: "run summary update",
                        source,
                    })
            },
        )
        .await;

        match result {
            Ok(reply) => update_outcomes(&reply, updates.len()),
            Err(error) => vec![Err(error_chain(&error)); updates.len()],
        }
    }

    fn operation_deadline(&self, deadline: Instant) -> Instant {
        deadline.min(Instant::now() + self.operation_timeout)
    }
}

/// Runs `future` until `deadline`. Dropping the driver's future closes its connection, so a
/// timed-out operation leaves nothing behind in the pool.
async fn within<T>(
    deadline: Instant,
    operation: &'static str,
    future: impl Future<Output = Result<T, WriterError>>,
) -> Result<T, WriterError> {
    tokio::time::timeout_at(deadline, future)
        .await
        .unwrap_or(Err(WriterError::Timeout { operation }))
}

fn all_failed(count: usize, reason: &str) -> Vec<InsertOutcome> {
    vec![InsertOutcome::Failed(reason.to_string()); count]
}

fn per_document_outcomes(failure: &InsertManyError, count: usize) -> Vec<InsertOutcome> {
    if let Some(concern) = &failure.write_concern_error {
        return all_failed(count, &format!("write concern error: {}", concern.message));
    }
    let mut outcomes = vec![InsertOutcome::Inserted; count];
    for error in failure.write_errors.iter().flatten() {
        let Some(outcome) = outcomes.get_mut(error.index) else {
            continue;
        };
        *outcome = if error.code == DUPLICATE_KEY {
            InsertOutcome::AlreadyWritten
        } else {
            InsertOutcome::Failed(format!("write error {}: {}", error.code, error.message))
        };
    }
    outcomes
}

fn update_outcomes(reply: &Document, count: usize) -> Vec<Result<(), String>> {
    if let Ok(concern) = reply.get_document("writeConcernError") {
        let message = concern.get_str("errmsg").unwrap_or("unknown");
        return vec![Err(format!("write concern error: {message}")); count];
    }
    let mut outcomes = vec![Ok(()); count];
    for error in reply
        .get_array("writeErrors")
        .map(|errors| errors.as_slice())
        .unwrap_or_default()
    {
        let Some(error) = error.as_document() else {
            continue;
        };
        let index = match error.get("index") {
            Some(Bson::Int32(index)) => *index as usize,
            Some(Bson::Int64(index)) => *index as usize,
            _ => continue,
        };
        let code = error.get_i32("code").unwrap_or_default();
        let message = error.get_str("errmsg").unwrap_or("unknown");
        if let Some(outcome) = outcomes.get_mut(index) {
            *outcome = Err(format!("write error {code}: {message}"));
        }
    }
    outcomes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn update_reply_fails_only_the_statements_it_names() {
        let reply = doc! {
            "n": 2,
            "writeErrors": [{ "index": 1, "code": 14, "errmsg": "type mismatch" }],
            "ok": 1.0,
        };
        let outcomes = update_outcomes(&reply, 3);
        assert_eq!(outcomes[0], Ok(()));
        assert_eq!(outcomes[1], Err("write error 14: type mismatch".into()));
        assert_eq!(outcomes[2], Ok(()));
    }

    #[test]
    fn write_concern_error_fails_every_statement() {
        let reply = doc! { "n": 2, "writeConcernError": { "code": 64, "errmsg": "timeout" } };
        assert!(update_outcomes(&reply, 2).iter().all(Result::is_err));
    }

    #[tokio::test]
    async fn timeouts_default_short_unless_the_uri_sets_them() {
        let short = Duration::from_millis(700);
        let options = client_options("mongodb://127.0.0.1:1", short, "test")
            .await
            .unwrap();
        assert_eq!(options.server_selection_timeout, Some(short));
        assert_eq!(options.connect_timeout, Some(short));

        let uri = "mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=9000";
        let options = client_options(uri, short, "test").await.unwrap();
        assert_eq!(
            options.server_selection_timeout,
            Some(Duration::from_secs(9))
        );
    }

    #[tokio::test(start_paused = true)]
    async fn operations_stop_at_the_deadline() {
        let deadline = Instant::now() + Duration::from_millis(100);
        let result = within(deadline, "event insert", async {
            tokio::time::sleep(Duration::from_secs(60)).await;
            Ok(())
        })
        .await;
        assert!(matches!(
            result,
            Err(WriterError::Timeout {
                operation: "event insert"
            })
        ));
    }
}

//! Configuration from the environment, read once at cold start.
//!
//! Secrets (the MongoDB URI and the encryption key) come either as plain variables, for local
//! runs, or as Secrets Manager ARNs, on AWS. Reading happens in two steps so the first can be
//! tested without AWS: [`EnvConfig::from_lookup`] checks every variable and names the first one
//! that is missing or wrong; [`EnvConfig::resolve`] fetches the secrets it names. Either step
//! failing stops the container before it takes a message.

use std::{fmt, time::Duration};

use crate::{encryption::EncryptionKey, error::WriterError};

/// Database used when `MONGODB_DATABASE` is unset.
pub const DEFAULT_DATABASE: &str = "packforge";
/// How long the driver looks for a server before failing an operation; well inside the
/// function timeout, unlike the driver's own 30 s default.
pub const DEFAULT_SERVER_SELECTION_TIMEOUT: Duration = Duration::from_secs(2);
/// Budget of one MongoDB operation (index creation, batch insert, run summary update).
pub const DEFAULT_OPERATION_TIMEOUT: Duration = Duration::from_secs(5);
/// How long stored events and run summaries are kept before MongoDB's TTL monitor removes them.
pub const DEFAULT_EVENT_RETENTION_DAYS: u64 = 90;

/// A setting given either as its value or as the ARN of a Secrets Manager secret holding it.
#[derive(Clone, PartialEq, Eq)]
pub enum SecretSetting {
    /// The value itself, from a plain variable.
    Value(String),
    /// The ARN of a secret whose string value is the setting.
    SecretArn(String),
}

impl fmt::Debug for SecretSetting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Value(_) => f.write_str("Value(<redacted>)"),
            Self::SecretArn(arn) => f.debug_tuple("SecretArn").field(arn).finish(),
        }
    }
}

/// The writer's environment, checked but with secrets not yet fetched.
#[derive(Debug, Clone)]
pub struct EnvConfig {
    /// `MONGODB_URI` or `MONGODB_URI_SECRET_ARN`.
    pub mongodb_uri: SecretSetting,
    /// `MONGODB_DATABASE`, default [`DEFAULT_DATABASE`].
    pub database: String,
    /// `TELEMETRY_DLQ_URL`: where poison messages go.
    pub dlq_url: String,
    /// `TELEMETRY_DROP_TABLE`: the DynamoDB drop-counter table.
    pub drop_table: String,
    /// `TELEMETRY_ENCRYPTION_KEY` or `TELEMETRY_ENCRYPTION_KEY_SECRET_ARN`: base64 of 32 bytes.
    pub encryption_key: SecretSetting,
    /// `TELEMETRY_ENCRYPTION_KEY_ID`: overrides the key id derived from the key.
    pub encryption_key_id: Option<String>,
    /// `MONGODB_SERVER_SELECTION_TIMEOUT_MS`, default 2000.
    pub server_selection_timeout: Duration,
    /// `MONGODB_OPERATION_TIMEOUT_MS`, default 5000.
    pub operation_timeout: Duration,
    /// `TELEMETRY_EVENT_RETENTION_DAYS`, default 90.
    pub event_retention: Duration,
}

/// The writer's configuration with every secret fetched.
#[derive(Clone)]
pub struct WriterConfig {
    /// MongoDB connection string.
    pub mongodb_uri: String,
    /// MongoDB database holding `generation_events` and `generation_runs`.
    pub database: String,
    /// Dead-letter queue URL for poison messages.
    pub dlq_url: String,
    /// DynamoDB drop-counter table.
    pub drop_table: String,
    /// Key that encrypts `payload.sensitive`.
    pub encryption_key: EncryptionKey,
    /// Driver server selection timeout, unless the URI sets `serverSelectionTimeoutMS`.
    pub server_selection_timeout: Duration,
    /// Budget of one MongoDB operation.
    pub operation_timeout: Duration,
    /// TTL of stored events and run summaries.
    pub event_retention: Duration,
}

impl fmt::Debug for WriterConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WriterConfig")
            .field("mongodb_uri", &"<redacted>")
            .field("database", &self.database)
            .field("dlq_url", &self.dlq_url)
            .field("drop_table", &self.drop_table)
            .field("encryption_key", &self.encryption_key)
            .field("server_selection_timeout", &self.server_selection_timeout)
            .field("operation_timeout", &self.operation_timeout)
            .field("event_retention", &self.event_retention)
            .finish()
    }
}

impl EnvConfig {
    /// Reads the process environment.
    ///
    /// # Errors
    ///
    /// Names the first variable that is missing or holds an unusable value.
    pub fn from_env() -> Result<Self, WriterError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads variables through `lookup`; an empty value counts as unset.
    ///
    /// # Errors
    ///
    /// Names the first variable that is missing or holds an unusable value.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, WriterError> {
        let get = |name: &str| lookup(name).filter(|value| !value.trim().is_empty());

        let mongodb_uri = secret_setting(
            &get,
            "MONGODB_URI",
            "MONGODB_URI_SECRET_ARN",
            "a mongodb:// connection string (or `MONGODB_URI_SECRET_ARN` on AWS)",
        )?;
        let encryption_key = secret_setting(
            &get,
            "TELEMETRY_ENCRYPTION_KEY",
            "TELEMETRY_ENCRYPTION_KEY_SECRET_ARN",
            "base64 of 32 random bytes (or `TELEMETRY_ENCRYPTION_KEY_SECRET_ARN` on AWS)",
        )?;
        let dlq_url = get("TELEMETRY_DLQ_URL").ok_or(WriterError::MissingConfig {
            name: "TELEMETRY_DLQ_URL",
            hint: "the URL of the queue that receives poison messages",
        })?;
        let drop_table = get("TELEMETRY_DROP_TABLE").ok_or(WriterError::MissingConfig {
            name: "TELEMETRY_DROP_TABLE",
            hint: "the name of the DynamoDB drop-counter table",
        })?;
        let retention_days = positive_number(
            &get,
            "TELEMETRY_EVENT_RETENTION_DAYS",
            DEFAULT_EVENT_RETENTION_DAYS,
        )?;

        Ok(Self {
            mongodb_uri,
            database: get("MONGODB_DATABASE").unwrap_or_else(|| DEFAULT_DATABASE.into()),
            dlq_url,
            drop_table,
            encryption_key,
            encryption_key_id: get("TELEMETRY_ENCRYPTION_KEY_ID"),
            server_selection_timeout: milliseconds(
                &get,
                "MONGODB_SERVER_SELECTION_TIMEOUT_MS",
                DEFAULT_SERVER_SELECTION_TIMEOUT,
            )?,
            operation_timeout: milliseconds(
                &get,
                "MONGODB_OPERATION_TIMEOUT_MS",
                DEFAULT_OPERATION_TIMEOUT,
            )?,
            event_retention: Duration::from_secs(retention_days * 24 * 3600),
        })
    }

    /// Fetches the secrets named by ARN and parses the encryption key.
    ///
    /// # Errors
    ///
    /// Fails if a secret cannot be read or the key is not base64 of 32 bytes.
    pub async fn resolve(
        self,
        secrets: &aws_sdk_secretsmanager::Client,
    ) -> Result<WriterConfig, WriterError> {
        let mongodb_uri =
            resolve_secret(secrets, self.mongodb_uri, "MONGODB_URI_SECRET_ARN").await?;
        let key_text = resolve_secret(
            secrets,
            self.encryption_key,
            "TELEMETRY_ENCRYPTION_KEY_SECRET_ARN",
        )
        .await?;
        let encryption_key = EncryptionKey::from_base64(&key_text, self.encryption_key_id)?;

        Ok(WriterConfig {
            mongodb_uri,
            database: self.database,
            dlq_url: self.dlq_url,
            drop_table: self.drop_table,
            encryption_key,
            server_selection_timeout: self.server_selection_timeout,
            operation_timeout: self.operation_timeout,
            event_retention: self.event_retention,
        })
    }
}

fn secret_setting(
    get: &impl Fn(&str) -> Option<String>,
    value_name: &'static str,
    arn_name: &'static str,
    hint: &'static str,
) -> Result<SecretSetting, WriterError> {
    match (get(value_name), get(arn_name)) {
        (Some(_), Some(_)) => Err(WriterError::ConflictingConfig {
            value: value_name,
            secret_arn: arn_name,
        }),
        (Some(value), None) => Ok(SecretSetting::Value(value)),
        (None, Some(arn)) => Ok(SecretSetting::SecretArn(arn)),
        (None, None) => Err(WriterError::MissingConfig {
            name: value_name,
            hint,
        }),
    }
}

fn positive_number(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: u64,
) -> Result<u64, WriterError> {
    let Some(text) = get(name) else {
        return Ok(default);
    };
    match text.trim().parse::<u64>() {
        Ok(value) if value > 0 => Ok(value),
        _ => Err(WriterError::InvalidConfig {
            name,
            reason: format!("expected a positive whole number, got `{text}`"),
        }),
    }
}

fn milliseconds(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: Duration,
) -> Result<Duration, WriterError> {
    let default_ms = default.as_millis() as u64;
    positive_number(get, name, default_ms).map(Duration::from_millis)
}

async fn resolve_secret(
    secrets: &aws_sdk_secretsmanager::Client,
    setting: SecretSetting,
    arn_name: &'static str,
) -> Result<String, WriterError> {
    let arn = match setting {
        SecretSetting::Value(value) => return Ok(value),
        SecretSetting::SecretArn(arn) => arn,
    };
    let output = secrets
        .get_secret_value()
        .secret_id(&arn)
        .send()
        .await
        .map_err(|error| WriterError::Secret {
            name: arn_name,
            arn: arn.clone(),
            source: Box::new(error),
        })?;
    match output.secret_string() {
        Some(value) if !value.trim().is_empty() => Ok(value.trim().to_string()),
        _ => Err(WriterError::SecretNotString {
            name: arn_name,
            arn,
        }),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| map.get(name).cloned()
    }

    const COMPLETE: [(&str, &str); 4] = [
        ("MONGODB_URI", "mongodb://127.0.0.1:27017"),
        ("TELEMETRY_DLQ_URL", "http://127.0.0.1/123456789012/dlq"),
        ("TELEMETRY_DROP_TABLE", "drops"),
        (
            "TELEMETRY_ENCRYPTION_KEY",
            "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
        ),
    ];

    #[test]
    fn defaults_apply_when_optional_variables_are_unset() {
        let config = EnvConfig::from_lookup(lookup(&COMPLETE)).unwrap();

        assert_eq!(config.database, "packforge");
        assert_eq!(config.server_selection_timeout, Duration::from_secs(2));
        assert_eq!(config.operation_timeout, Duration::from_secs(5));
        assert_eq!(config.event_retention, Duration::from_secs(90 * 86_400));
        assert_eq!(config.encryption_key_id, None);
    }

    #[test]
    fn each_missing_variable_is_named() {
        for (name, _) in COMPLETE {
            let pairs: Vec<_> = COMPLETE
                .iter()
                .filter(|(other, _)| *other != name)
                .copied()
                .collect();
            let error = EnvConfig::from_lookup(lookup(&pairs)).unwrap_err();
            assert!(
                error.to_string().contains(&format!("`{name}`")),
                "{name}: {error}"
            );
        }
    }

    #[test]
    fn empty_values_count_as_missing() {
        let mut pairs = COMPLETE.to_vec();
        pairs[2] = ("TELEMETRY_DROP_TABLE", "  ");
        let error = EnvConfig::from_lookup(lookup(&pairs)).unwrap_err();
        assert!(matches!(
            error,
            WriterError::MissingConfig {
                name: "TELEMETRY_DROP_TABLE",
                ..
            }
        ));
    }

    #[test]
    fn secret_arn_replaces_the_plain_value() {
        let mut pairs = COMPLETE.to_vec();
        pairs[0] = ("MONGODB_URI_SECRET_ARN", "arn:aws:secretsmanager:x");
        let config = EnvConfig::from_lookup(lookup(&pairs)).unwrap();
        assert_eq!(
            config.mongodb_uri,
            SecretSetting::SecretArn("arn:aws:secretsmanager:x".into())
        );

        pairs.push(("MONGODB_URI", "mongodb://other"));
        let error = EnvConfig::from_lookup(lookup(&pairs)).unwrap_err();
        assert!(matches!(error, WriterError::ConflictingConfig { .. }));
    }

    #[test]
    fn numbers_must_be_positive() {
        let mut pairs = COMPLETE.to_vec();
        pairs.push(("MONGODB_OPERATION_TIMEOUT_MS", "0"));
        let error = EnvConfig::from_lookup(lookup(&pairs)).unwrap_err();
        assert_eq!(
            error.to_string(),
            "invalid configuration `MONGODB_OPERATION_TIMEOUT_MS`: \
             expected a positive whole number, got `0`"
        );
    }

    #[test]
    fn debug_output_hides_secrets() {
        let config = EnvConfig::from_lookup(lookup(&COMPLETE)).unwrap();
        let text = format!("{config:?}");
        assert!(!text.contains("27017"), "{text}");
        assert!(!text.contains("AAECAwQF"), "{text}");
    }
}

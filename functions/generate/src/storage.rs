//! Reading uploads and writing outputs: the [`ObjectStore`] seam, S3 behind it on AWS, and a
//! directory behind it for the local command.
//!
//! S3 failures are classified where the SDK types are known: timeouts, connection failures,
//! throttling and 5xx answers are retryable; other 4xx answers are not. Every S3 call is bounded
//! by [`StorageTimeouts`], so an S3 that stops answering fails the call as retryable instead of
//! holding the invocation until Lambda kills it. A missing object is not an error but
//! [`Fetched::Missing`] (it was deleted between upload and processing), an object over the
//! size limit is [`Fetched::TooLarge`], known from its length before its body is read, and a
//! version that is no longer the one the notification named is [`Fetched::Superseded`].

use std::{future::Future, path::PathBuf, time::Duration};

use aws_sdk_s3::{
    Client,
    config::{http::HttpResponse, timeout::TimeoutConfig},
    error::{ProvideErrorMetadata, SdkError},
    primitives::ByteStream,
};

use crate::error::GenerateError;

/// An object read whole.
#[derive(Debug, Clone)]
pub struct StoredObject {
    /// The content.
    pub bytes: Vec<u8>,
    /// ETag without quotes.
    pub etag: Option<String>,
    /// Version, for versioned buckets.
    pub version_id: Option<String>,
}

/// The version of an upload a notification names, so that a fetch reads that version and no
/// other.
///
/// S3 reads the current object and checks it is this version, rather than reading the
/// version by id: an old version is still there to read, and generating from it would
/// overwrite the outputs of the newer upload that replaced it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RequestedVersion<'a> {
    /// Version id, for versioned buckets: the current object must be this version.
    pub version_id: Option<&'a str>,
    /// ETag without quotes: the current object must have it (`If-Match`).
    pub etag: Option<&'a str>,
}

impl RequestedVersion<'_> {
    /// Whether an object with version id `found` may be this version. Unversioned buckets
    /// answer without a version id or with `null`, which proves nothing either way.
    fn admits(&self, found: Option<&str>) -> bool {
        match (known_version(self.version_id), known_version(found)) {
            (Some(wanted), Some(found)) => wanted == found,
            _ => true,
        }
    }
}

fn known_version(id: Option<&str>) -> Option<&str> {
    id.filter(|id| *id != "null")
}

/// The result of fetching an upload.
#[derive(Debug, Clone)]
pub enum Fetched {
    /// The object, within the size limit.
    Object(StoredObject),
    /// The object is larger than allowed; its body was not read.
    TooLarge {
        /// Its size in bytes.
        size: u64,
        /// ETag without quotes.
        etag: Option<String>,
        /// Version, for versioned buckets.
        version_id: Option<String>,
    },
    /// No such object (any more).
    Missing,
    /// The requested version is no longer current: a newer upload replaced it, and that
    /// upload's own notification covers it.
    Superseded,
}

/// Where uploads are read and outputs written.
pub trait ObjectStore: Send + Sync {
    /// Reads the `requested` version of an upload (the current one when it names none),
    /// refusing objects over `max_bytes` before reading them.
    fn fetch(
        &self,
        bucket: &str,
        key: &str,
        requested: RequestedVersion<'_>,
        max_bytes: u64,
    ) -> impl Future<Output = Result<Fetched, GenerateError>> + Send;

    /// Reads a small object if it exists.
    fn read_optional(
        &self,
        bucket: &str,
        key: &str,
    ) -> impl Future<Output = Result<Option<Vec<u8>>, GenerateError>> + Send;

    /// Writes a JSON document.
    fn put_json(
        &self,
        bucket: &str,
        key: &str,
        body: Vec<u8>,
    ) -> impl Future<Output = Result<(), GenerateError>> + Send;
}

/// Time limits of S3 calls.
///
/// The defaults fit many times into the function's default timeout (120 s), so a blackholed
/// S3 fails a call as retryable while there is still time to flush telemetry and report the
/// failure. A call that hangs costs at most `operation`, plus `body` once headers arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StorageTimeouts {
    /// Opening a connection (default 2 s).
    pub connect: Duration,
    /// One attempt, up to the response headers (default 4 s).
    pub attempt: Duration,
    /// One call with the SDK's retries, up to the response headers (default 8 s).
    pub operation: Duration,
    /// Reading a body once its headers arrived (default 8 s), which the SDK's own limits do
    /// not cover: a 25 MiB upload reads from S3 in well under a second.
    pub body: Duration,
}

impl Default for StorageTimeouts {
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(2),
            attempt: Duration::from_secs(4),
            operation: Duration::from_secs(8),
            body: Duration::from_secs(8),
        }
    }
}

/// S3 as an [`ObjectStore`].
#[derive(Debug, Clone)]
pub struct S3Store {
    client: Client,
    body_timeout: Duration,
}

impl S3Store {
    /// Wraps an S3 client; bodies are read within the default [`StorageTimeouts::body`].
    pub fn new(client: Client) -> Self {
        Self {
            client,
            body_timeout: StorageTimeouts::default().body,
        }
    }

    /// Reads bodies within `limit` instead.
    pub fn with_body_timeout(mut self, limit: Duration) -> Self {
        self.body_timeout = limit;
        self
    }
}

/// Whether a later attempt of a failed S3 call may succeed.
fn is_retryable<E: ProvideErrorMetadata>(error: &SdkError<E, HttpResponse>) -> bool {
    match error {
        // The request could not be built: the same request fails the same way.
        SdkError::ConstructionFailure(_) => false,
        // No answer in time, no connection, or an answer cut short: S3 may be back soon.
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            true
        }
        SdkError::ServiceError(service) => {
            let status = service.raw().status().as_u16();
            let throttled = matches!(
                service.err().code(),
                Some("SlowDown" | "Throttling" | "ThrottlingException" | "RequestTimeout")
            );
            status >= 500 || throttled
        }
        // Variants added to the SDK later are most likely transport faults.
        _ => true,
    }
}

/// Whether S3 refused a fetch because the current object is not the requested version: a
/// failed `If-Match` answers 412 `PreconditionFailed`.
fn is_superseded<E: ProvideErrorMetadata>(error: &SdkError<E, HttpResponse>) -> bool {
    match error {
        SdkError::ServiceError(service) => {
            service.raw().status().as_u16() == 412
                || service.err().code() == Some("PreconditionFailed")
        }
        _ => false,
    }
}

fn storage_error<E>(
    operation: &'static str,
    bucket: &str,
    key: &str,
    error: SdkError<E, HttpResponse>,
) -> GenerateError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    GenerateError::Storage {
        operation,
        bucket: bucket.into(),
        key: key.into(),
        retryable: is_retryable(&error),
        source: Box::new(error),
    }
}

impl ObjectStore for S3Store {
    async fn fetch(
        &self,
        bucket: &str,
        key: &str,
        requested: RequestedVersion<'_>,
        max_bytes: u64,
    ) -> Result<Fetched, GenerateError> {
        let mut request = self.client.get_object().bucket(bucket).key(key);
        if let Some(etag) = requested.etag {
            request = request.if_match(format!("\"{etag}\""));
        }
        let output = match request.send().await {
            Ok(output) => output,
            Err(SdkError::ServiceError(service)) if service.err().is_no_such_key() => {
                return Ok(Fetched::Missing);
            }
            Err(error) if is_superseded(&error) => return Ok(Fetched::Superseded),
            Err(error) => return Err(storage_error("get", bucket, key, error)),
        };
        if !requested.admits(output.version_id()) {
            return Ok(Fetched::Superseded);
        }
        let size = output
            .content_length()
            .and_then(|n| u64::try_from(n).ok())
            .unwrap_or(0);
        let etag = output
            .e_tag()
            .map(|etag| etag.trim_matches('"').to_string());
        let version_id = output.version_id().map(str::to_string);
        if size > max_bytes {
            return Ok(Fetched::TooLarge {
                size,
                etag,
                version_id,
            });
        }
        let bytes = collect_body(output.body, self.body_timeout, bucket, key).await?;
        Ok(Fetched::Object(StoredObject {
            bytes,
            etag,
            version_id,
        }))
    }

    async fn read_optional(
        &self,
        bucket: &str,
        key: &str,
    ) -> Result<Option<Vec<u8>>, GenerateError> {
        match self
            .client
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
        {
            Ok(output) => Ok(Some(
                collect_body(output.body, self.body_timeout, bucket, key).await?,
            )),
            Err(SdkError::ServiceError(service)) if service.err().is_no_such_key() => Ok(None),
            Err(error) => Err(storage_error("get", bucket, key, error)),
        }
    }

    async fn put_json(&self, bucket: &str, key: &str, body: Vec<u8>) -> Result<(), GenerateError> {
        self.client
            .put_object()
            .bucket(bucket)
            .key(key)
            .content_type("application/json")
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(|error| storage_error("put", bucket, key, error))?;
        Ok(())
    }
}

async fn collect_body(
    body: ByteStream,
    limit: Duration,
    bucket: &str,
    key: &str,
) -> Result<Vec<u8>, GenerateError> {
    // A body cut midway or stalled is a network fault like any other: worth a retry.
    let retryable = |source: Box<dyn std::error::Error + Send + Sync>| GenerateError::Storage {
        operation: "get",
        bucket: bucket.into(),
        key: key.into(),
        retryable: true,
        source,
    };
    let bytes = tokio::time::timeout(limit, body.collect())
        .await
        .map_err(|elapsed| retryable(Box::new(elapsed)))?
        .map_err(|error| retryable(Box::new(error)))?;
    Ok(bytes.into_bytes().to_vec())
}

/// A local directory as an [`ObjectStore`]: `<root>/<bucket>/<key>`.
#[derive(Debug, Clone)]
pub struct DirectoryStore {
    root: PathBuf,
}

impl DirectoryStore {
    /// Objects live under `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The file holding `bucket/key`.
    pub fn path(&self, bucket: &str, key: &str) -> PathBuf {
        self.root.join(bucket).join(key)
    }

    fn io_error(
        operation: &'static str,
        bucket: &str,
        key: &str,
        error: std::io::Error,
    ) -> GenerateError {
        GenerateError::Storage {
            operation,
            bucket: bucket.into(),
            key: key.into(),
            retryable: false,
            source: Box::new(error),
        }
    }
}

impl ObjectStore for DirectoryStore {
    /// A directory keeps one version of each file, so `requested` is not checked.
    async fn fetch(
        &self,
        bucket: &str,
        key: &str,
        _requested: RequestedVersion<'_>,
        max_bytes: u64,
    ) -> Result<Fetched, GenerateError> {
        let path = self.path(bucket, key);
        let metadata = match tokio::fs::metadata(&path).await {
            Ok(metadata) => metadata,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Fetched::Missing);
            }
            Err(error) => return Err(Self::io_error("get", bucket, key, error)),
        };
        if metadata.len() > max_bytes {
            return Ok(Fetched::TooLarge {
                size: metadata.len(),
                etag: None,
                version_id: None,
            });
        }
        let bytes = tokio::fs::read(&path)
            .await
            .map_err(|error| Self::io_error("get", bucket, key, error))?;
        Ok(Fetched::Object(StoredObject {
            bytes,
            etag: None,
            version_id: None,
        }))
    }

    async fn read_optional(
        &self,
        bucket: &str,
        key: &str,
    ) -> Result<Option<Vec<u8>>, GenerateError> {
        match tokio::fs::read(self.path(bucket, key)).await {
            Ok(bytes) => Ok(Some(bytes)),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(error) => Err(Self::io_error("get", bucket, key, error)),
        }
    }

    async fn put_json(&self, bucket: &str, key: &str, body: Vec<u8>) -> Result<(), GenerateError> {
        let path = self.path(bucket, key);
        if let Some(parent) = path.parent() {
            tokio::fs::create_dir_all(parent)
                .await
                .map_err(|error| Self::io_error("put", bucket, key, error))?;
        }
        tokio::fs::write(&path, body)
            .await
            .map_err(|error| Self::io_error("put", bucket, key, error))
    }
}

/// An S3 client from shared settings with the default [`StorageTimeouts`]; path-style
/// addressing when an endpoint override (`AWS_ENDPOINT_URL_S3` or `AWS_ENDPOINT_URL`) points
/// at a local server, which cannot serve bucket subdomains.
pub fn s3_client(sdk_config: &aws_config::SdkConfig) -> Client {
    let local = ["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"]
        .iter()
        .any(|name| std::env::var_os(name).is_some_and(|value| !value.is_empty()));
    s3_client_with(sdk_config, local, &StorageTimeouts::default())
}

/// An S3 client from shared settings, addressing buckets by path when `path_style`, with the
/// connection, attempt and operation limits of `timeouts`.
pub fn s3_client_with(
    sdk_config: &aws_config::SdkConfig,
    path_style: bool,
    timeouts: &StorageTimeouts,
) -> Client {
    let timeout_config = TimeoutConfig::builder()
        .connect_timeout(timeouts.connect)
        .operation_attempt_timeout(timeouts.attempt)
        .operation_timeout(timeouts.operation)
        .build();
    let config = aws_sdk_s3::config::Builder::from(sdk_config)
        .force_path_style(path_style)
        .timeout_config(timeout_config)
        .build();
    Client::from_conf(config)
}

#[cfg(test)]
mod tests {
    use aws_sdk_s3::{
        error::ErrorMetadata, operation::get_object::GetObjectError, primitives::SdkBody,
    };

    use super::*;

    fn answer(status: u16, code: &str) -> SdkError<GetObjectError, HttpResponse> {
        let error = GetObjectError::generic(ErrorMetadata::builder().code(code).build());
        let raw = HttpResponse::new(status.try_into().unwrap(), SdkBody::empty());
        SdkError::service_error(error, raw)
    }

    #[test]
    fn a_timeout_is_retryable() {
        let error: SdkError<GetObjectError, HttpResponse> = SdkError::timeout_error("elapsed");
        assert!(is_retryable(&error));
        assert!(storage_error("get", "b", "k", error).is_retryable());
    }

    #[test]
    fn throttling_and_server_errors_are_retryable_but_access_denied_is_not() {
        assert!(is_retryable(&answer(503, "SlowDown")));
        assert!(is_retryable(&answer(500, "InternalError")));
        assert!(is_retryable(&answer(400, "RequestTimeout")));
        assert!(!is_retryable(&answer(403, "AccessDenied")));
    }

    #[test]
    fn a_failed_precondition_means_superseded() {
        assert!(is_superseded(&answer(412, "PreconditionFailed")));
        assert!(!is_superseded(&answer(404, "NoSuchKey")));
        assert!(!is_superseded(&answer(403, "AccessDenied")));
    }

    #[test]
    fn only_a_different_known_version_is_refused() {
        let requested = RequestedVersion {
            version_id: Some("v1"),
            etag: None,
        };
        assert!(requested.admits(Some("v1")));
        assert!(!requested.admits(Some("v2")));
        assert!(requested.admits(None));
        assert!(requested.admits(Some("null")));
        assert!(RequestedVersion::default().admits(Some("v2")));
    }

    #[test]
    fn default_timeouts_leave_most_of_the_function_timeout() {
        let timeouts = StorageTimeouts::default();
        assert!(timeouts.connect <= timeouts.attempt && timeouts.attempt <= timeouts.operation);
        assert!(timeouts.operation + timeouts.body <= Duration::from_secs(30));
    }
}

//! Reading uploads and writing outputs: the [`ObjectStore`] seam, S3 behind it on AWS, and a
//! directory behind it for the local command.
//!
//! S3 failures are classified where the SDK types are known: timeouts, connection failures,
//! throttling and 5xx answers are retryable; other 4xx answers are not. A missing object is not
//! an error but [`Fetched::Missing`] (it was deleted between upload and processing), and an
//! object over the size limit is [`Fetched::TooLarge`], known from its length before its body
//! is read.

use std::{future::Future, path::PathBuf};

use aws_sdk_s3::{
    Client,
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

/// The result of fetching an upload.
#[derive(Debug, Clone)]
pub enum Fetched {
    /// The object, within the size limit.
    Object(StoredObject),
    /// The object is larger than allowed; its body was not read.
    TooLarge {
        /// Its size in bytes.
        size: u64,
    },
    /// No such object (any more).
    Missing,
}

/// Where uploads are read and outputs written.
pub trait ObjectStore: Send + Sync {
    /// Reads an upload, refusing objects over `max_bytes` before reading them.
    fn fetch(
        &self,
        bucket: &str,
        key: &str,
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

/// S3 as an [`ObjectStore`].
#[derive(Debug, Clone)]
pub struct S3Store {
    client: Client,
}

impl S3Store {
    /// Wraps an S3 client.
    pub fn new(client: Client) -> Self {
        Self { client }
    }
}

fn storage_error<E>(
    operation: &'static str,
    bucket: &str,
    key: &str,
    error: SdkError<E, aws_sdk_s3::config::http::HttpResponse>,
) -> GenerateError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let retryable = match &error {
        SdkError::ConstructionFailure(_) => false,
        SdkError::ServiceError(service) => {
            let status = service.raw().status().as_u16();
            let throttled = matches!(
                service.err().code(),
                Some("SlowDown" | "Throttling" | "ThrottlingException" | "RequestTimeout")
            );
            status >= 500 || throttled
        }
        _ => true,
    };
    GenerateError::Storage {
        operation,
        bucket: bucket.into(),
        key: key.into(),
        retryable,
        source: Box::new(error),
    }
}

impl ObjectStore for S3Store {
    async fn fetch(
        &self,
        bucket: &str,
        key: &str,
        max_bytes: u64,
    ) -> Result<Fetched, GenerateError> {
        let response = self
            .client
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await;
        let output = match response {
            Ok(output) => output,
            Err(SdkError::ServiceError(service)) if service.err().is_no_such_key() => {
                return Ok(Fetched::Missing);
            }
            Err(error) => return Err(storage_error("get", bucket, key, error)),
        };
        let size = output
            .content_length()
            .and_then(|n| u64::try_from(n).ok())
            .unwrap_or(0);
        if size > max_bytes {
            return Ok(Fetched::TooLarge { size });
        }
        let etag = output
            .e_tag()
            .map(|etag| etag.trim_matches('"').to_string());
        let version_id = output.version_id().map(str::to_string);
        let bytes = collect_body(output.body, bucket, key).await?;
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
            Ok(output) => Ok(Some(collect_body(output.body, bucket, key).await?)),
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

async fn collect_body(body: ByteStream, bucket: &str, key: &str) -> Result<Vec<u8>, GenerateError> {
    // A body cut midway is a network fault like any other: worth a retry.
    let bytes = body
        .collect()
        .await
        .map_err(|error| GenerateError::Storage {
            operation: "get",
            bucket: bucket.into(),
            key: key.into(),
            retryable: true,
            source: Box::new(error),
        })?;
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
    async fn fetch(
        &self,
        bucket: &str,
        key: &str,
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

/// An S3 client from shared settings; path-style addressing when an endpoint override
/// (`AWS_ENDPOINT_URL_S3` or `AWS_ENDPOINT_URL`) points at a local server, which cannot serve
/// bucket subdomains.
pub fn s3_client(sdk_config: &aws_config::SdkConfig) -> Client {
    let local = ["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"]
        .iter()
        .any(|name| std::env::var_os(name).is_some_and(|value| !value.is_empty()));
    let config = aws_sdk_s3::config::Builder::from(sdk_config)
        .force_path_style(local)
        .build();
    Client::from_conf(config)
}

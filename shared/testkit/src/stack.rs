//! Endpoints of the local stack started by `scripts/stack.sh`, and helpers to build clients
//! for it.
//!
//! The stack publishes its loopback ports through `PACKFORGE_MOTO_ENDPOINT` and
//! `PACKFORGE_MONGODB_ADDR`; tests never assume fixed ports. Each test isolates its state by
//! creating resources under a [`unique_name`], so tests can share one server and run in
//! parallel without seeing each other's queues, tables or databases.

use std::net::SocketAddr;

use anyhow::{Context, bail};
use aws_config::{BehaviorVersion, Region, SdkConfig};

/// Variable holding moto's base URL.
pub const MOTO_ENDPOINT_VAR: &str = "PACKFORGE_MOTO_ENDPOINT";
/// Variable holding SecantusDB's `host:port`.
pub const MONGODB_ADDR_VAR: &str = "PACKFORGE_MONGODB_ADDR";

/// The running local stack.
#[derive(Debug, Clone)]
pub struct LocalStack {
    moto_addr: SocketAddr,
    mongodb_addr: SocketAddr,
}

impl LocalStack {
    /// Reads the stack's endpoints from the environment.
    ///
    /// # Errors
    ///
    /// Fails with a message saying how to start the stack when a variable is missing or
    /// malformed.
    pub fn from_env() -> anyhow::Result<Self> {
        let moto = required(MOTO_ENDPOINT_VAR)?;
        let moto_addr = moto
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .parse()
            .with_context(|| format!("`{MOTO_ENDPOINT_VAR}` is not http://host:port: `{moto}`"))?;
        let mongodb = required(MONGODB_ADDR_VAR)?;
        let mongodb_addr = mongodb
            .parse()
            .with_context(|| format!("`{MONGODB_ADDR_VAR}` is not host:port: `{mongodb}`"))?;
        Ok(Self {
            moto_addr,
            mongodb_addr,
        })
    }

    /// moto's listening address.
    pub fn moto_addr(&self) -> SocketAddr {
        self.moto_addr
    }

    /// moto's base URL.
    pub fn moto_url(&self) -> String {
        format!("http://{}", self.moto_addr)
    }

    /// SecantusDB's listening address.
    pub fn mongodb_addr(&self) -> SocketAddr {
        self.mongodb_addr
    }

    /// A MongoDB URI for `addr` (the server itself or a proxy in front of it), with a short
    /// server selection timeout so a fault shows up as an error, not a 30 s wait.
    pub fn mongodb_uri_via(addr: SocketAddr, selection_timeout_ms: u64) -> String {
        format!(
            "mongodb://{addr}/?directConnection=true&serverSelectionTimeoutMS={selection_timeout_ms}\
             &connectTimeoutMS={selection_timeout_ms}"
        )
    }
}

fn required(name: &str) -> anyhow::Result<String> {
    match std::env::var(name) {
        Ok(value) if !value.is_empty() => Ok(value),
        _ => bail!(
            "`{name}` is not set: the local stack is not running; run the tests with \
             `scripts/test.sh`, or `scripts/stack.sh start && source .stack/env` first"
        ),
    }
}

/// SDK configuration for a local endpoint: static test credentials, `us-east-1`, and every
/// service pointed at `endpoint_url`.
pub fn sdk_config(endpoint_url: &str) -> SdkConfig {
    let credentials =
        aws_sdk_sqs::config::Credentials::new("testing", "testing", None, None, "testkit");
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint_url)
        .credentials_provider(aws_sdk_sqs::config::SharedCredentialsProvider::new(
            credentials,
        ))
        .build()
}

/// A name no other test uses: `prefix` plus a fresh UUID's first 12 hex digits.
pub fn unique_name(prefix: &str) -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!("{prefix}-{}", &id[..12])
}

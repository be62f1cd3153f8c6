//! Lambda binary: read configuration, build the writer once per container, serve batches.

use anyhow::Context;
use lambda_runtime::{LambdaEvent, service_fn};
use telemetry_writer::{EnvConfig, Writer, handler::handle_invocation};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    packforge_telemetry::logging::init_lambda_logs();

    // Checked before anything touches the network, so a missing variable fails at once.
    let config = EnvConfig::from_env().context("telemetry-writer cannot start")?;
    let aws = aws_config::load_from_env().await;
    let config = config
        .resolve(&aws_sdk_secretsmanager::Client::new(&aws))
        .await
        .context("telemetry-writer cannot start")?;
    let writer = Writer::from_config(config, &aws)
        .await
        .context("telemetry-writer cannot start")?;

    let writer = &writer;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<_>| async move {
        handle_invocation(writer, event).await
    }))
    .await
    .map_err(|error| anyhow::anyhow!(error))
}

//! Lambda entry point of the generate function: build clients once, then serve invocations.

use anyhow::Context;
use generate::{
    config::GenerateConfig,
    handler::{handle, lambda_source},
    run::Invocation,
    storage::S3Store,
};
use lambda_runtime::{LambdaEvent, service_fn};
use packforge_telemetry::{TelemetryClient, deadline_from_epoch_millis};
use serde_json::Value;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    packforge_telemetry::logging::init_lambda_logs();

    let config = GenerateConfig::from_env().context("generate configuration")?;
    let sdk_config = aws_config::load_from_env().await;
    let telemetry =
        TelemetryClient::from_env(&sdk_config, "generate").context("telemetry configuration")?;
    let store = S3Store::new(generate::storage::s3_client(&sdk_config));

    let (config, telemetry, store) = (&config, &telemetry, &store);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let invocation = Invocation {
            source: lambda_source(&event.context),
            deadline: deadline_from_epoch_millis(event.context.deadline),
        };
        handle(store, config, telemetry, &invocation, &event.payload).await
    }))
    .await
    .map_err(|error| anyhow::anyhow!(error))
}

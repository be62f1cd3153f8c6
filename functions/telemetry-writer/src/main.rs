//! Lambda binary: read configuration, build the writer once per container, serve batches.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use telemetry_writer::{EnvConfig, Writer, handler::handle_invocation};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();

    let aws = aws_config::load_from_env().await;
    let config = EnvConfig::from_env()?
        .resolve(&aws_sdk_secretsmanager::Client::new(&aws))
        .await?;
    let writer = Writer::from_config(config, &aws).await?;

    let writer = &writer;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<_>| async move {
        handle_invocation(writer, event).await
    }))
    .await
}

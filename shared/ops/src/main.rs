//! `packforge-ops`: the operations CLI. AWS endpoints and credentials come from the standard
//! SDK environment (`AWS_ENDPOINT_URL`, `AWS_PROFILE`, ...).

use std::time::Duration;

use clap::{Parser, Subcommand};
use packforge_ops::{
    drops::{self, COMPONENTS},
    keys::load_keys,
    redrive::{self, RedriveRequest},
    run_report,
};
use telemetry_writer::config::{DEFAULT_DATABASE, DEFAULT_SERVER_SELECTION_TIMEOUT};

/// Operate the packforge telemetry pipeline.
#[derive(Debug, Parser)]
#[command(name = "packforge-ops", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Move messages from the dead-letter queue back to the telemetry queue.
    Redrive {
        /// URL of the dead-letter queue.
        #[arg(long, value_name = "DLQ_URL")]
        from: String,
        /// URL of the queue to move the messages to.
        #[arg(long, value_name = "QUEUE_URL")]
        to: String,
        /// Print how many messages would move, and move nothing.
        #[arg(long)]
        dry_run: bool,
        /// Move at most N messages (moves client-side).
        #[arg(long, value_name = "N")]
        max: Option<usize>,
        /// Move poison messages too (those with a `packforge_poison_reason` attribute).
        #[arg(long)]
        include_poison: bool,
    },
    /// Print dropped-telemetry counters by day, component and reason.
    Drops {
        /// The DynamoDB drop-counter table.
        #[arg(long, env = "TELEMETRY_DROP_TABLE", value_name = "TABLE")]
        table: String,
        /// Days to show, today (UTC) included.
        #[arg(long, default_value_t = 7, value_name = "N")]
        days: u32,
        /// Only this component; repeatable. Default: generate and telemetry-writer.
        #[arg(long, value_name = "COMPONENT")]
        component: Vec<String>,
    },
    /// Show a generation run's summary and events from MongoDB.
    Run {
        /// The run id.
        #[arg(long, value_name = "RUN_ID")]
        run_id: String,
        /// MongoDB connection string.
        #[arg(long, env = "MONGODB_URI", value_name = "URI", hide_env_values = true)]
        mongodb_uri: String,
        /// MongoDB database.
        #[arg(long, env = "MONGODB_DATABASE", default_value = DEFAULT_DATABASE)]
        database: String,
        /// How long to look for a MongoDB server before giving up.
        #[arg(
            long,
            env = "MONGODB_SERVER_SELECTION_TIMEOUT_MS",
            value_name = "MS",
            default_value_t = DEFAULT_SERVER_SELECTION_TIMEOUT.as_millis() as u64
        )]
        server_selection_timeout_ms: u64,
        /// Environment variable holding a base64 decryption key, its key id in `<VARIABLE>_ID`
        /// if the writer had one set; repeatable, for rotated keys. Without one, sensitive
        /// fields are shown encrypted.
        #[arg(long, value_name = "VARIABLE")]
        key_env: Vec<String>,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Redrive {
            from,
            to,
            dry_run,
            max,
            include_poison,
        } => {
            let aws = aws_config::load_from_env().await;
            let client = aws_sdk_sqs::Client::new(&aws);
            let request = RedriveRequest {
                from,
                to,
                dry_run,
                max,
                include_poison,
            };
            let outcome = redrive::redrive(&client, &request).await?;
            println!("{outcome}");
        }
        Command::Drops {
            table,
            days,
            component,
        } => {
            let aws = aws_config::load_from_env().await;
            let client = aws_sdk_dynamodb::Client::new(&aws);
            let components = if component.is_empty() {
                COMPONENTS.iter().map(|name| name.to_string()).collect()
            } else {
                component
            };
            let now = time::OffsetDateTime::now_utc();
            let rows = drops::read_drops(&client, &table, &components, days, now).await?;
            print!("{}", drops::render(&rows));
        }
        Command::Run {
            run_id,
            mongodb_uri,
            database,
            server_selection_timeout_ms,
            key_env,
        } => {
            let keys = load_keys(&key_env, |name| std::env::var(name).ok())?;
            let timeout = Duration::from_millis(server_selection_timeout_ms);
            let client = run_report::connect(&mongodb_uri, timeout).await?;
            let report = run_report::read_run(&client.database(&database), &run_id, &keys).await?;
            if report.summary.is_none() && report.events.is_empty() {
                anyhow::bail!("run `{run_id}` not found in database `{database}`");
            }
            println!("{}", serde_json::to_string_pretty(&report.to_json())?);
        }
    }
    Ok(())
}

//! Creating and reading the AWS resources a test owns: queues, the drop-counter table,
//! buckets. Every name is unique to the test, so tests never see each other's state.

use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
    ScalarAttributeType,
};

use crate::stack::unique_name;

/// Creates a queue named `<prefix>-<unique>` and returns its URL.
///
/// # Errors
///
/// Fails if moto refuses.
pub async fn create_queue(sqs: &aws_sdk_sqs::Client, prefix: &str) -> anyhow::Result<String> {
    let output = sqs
        .create_queue()
        .queue_name(unique_name(prefix))
        .send()
        .await?;
    output
        .queue_url
        .ok_or_else(|| anyhow::anyhow!("create_queue returned no url"))
}

/// Receives every message body in the queue, in receive order, hiding each for a minute so
/// none is read twice.
///
/// # Errors
///
/// Fails if a receive fails.
pub async fn drain_bodies(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
) -> anyhow::Result<Vec<String>> {
    let mut bodies = Vec::new();
    loop {
        let received = sqs
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(10)
            .visibility_timeout(60)
            .send()
            .await?;
        let messages = received.messages.unwrap_or_default();
        if messages.is_empty() {
            return Ok(bodies);
        }
        bodies.extend(messages.into_iter().filter_map(|message| message.body));
    }
}

/// Creates a drop-counter table with the contract's key schema (`pk`, `sk`, both strings).
///
/// # Errors
///
/// Fails if moto refuses.
pub async fn create_drop_table(
    dynamodb: &aws_sdk_dynamodb::Client,
    prefix: &str,
) -> anyhow::Result<String> {
    let table = unique_name(prefix);
    let key = |name: &str, key_type| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(key_type)
            .build()
    };
    let attribute = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
    };
    dynamodb
        .create_table()
        .table_name(&table)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(key("pk", KeyType::Hash)?)
        .key_schema(key("sk", KeyType::Range)?)
        .attribute_definitions(attribute("pk")?)
        .attribute_definitions(attribute("sk")?)
        .send()
        .await?;
    Ok(table)
}

/// The counter of `reason` for `component` on `day` (`YYYY-MM-DD`); zero when absent.
///
/// # Errors
///
/// Fails if the read fails.
pub async fn drop_count(
    dynamodb: &aws_sdk_dynamodb::Client,
    table: &str,
    component: &str,
    day: &str,
    reason: &str,
) -> anyhow::Result<u64> {
    let item = dynamodb
        .get_item()
        .table_name(table)
        .key("pk", AttributeValue::S(component.into()))
        .key("sk", AttributeValue::S(day.into()))
        .send()
        .await?
        .item
        .unwrap_or_default();
    Ok(match item.get(reason) {
        Some(AttributeValue::N(n)) => n.parse()?,
        _ => 0,
    })
}

/// Creates a bucket named `<prefix>-<unique>`.
///
/// # Errors
///
/// Fails if moto refuses.
pub async fn create_bucket(s3: &aws_sdk_s3::Client, prefix: &str) -> anyhow::Result<String> {
    let bucket = unique_name(prefix);
    s3.create_bucket().bucket(&bucket).send().await?;
    Ok(bucket)
}

/// An S3 client for a local endpoint (path-style addressing).
pub fn s3_client(endpoint_url: &str) -> aws_sdk_s3::Client {
    let config = aws_sdk_s3::config::Builder::from(&crate::stack::sdk_config(endpoint_url))
        .force_path_style(true)
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

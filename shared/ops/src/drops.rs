//! Drop counters: how much telemetry was lost, by UTC day, component and reason.
//!
//! Reads the table the telemetry client and the writer add to (`pk` = component, `sk` = day
//! `YYYY-MM-DD`, one number attribute per reason) with one `Query` per component, so the cost
//! is proportional to the days asked for, never to the table. A reason missing from the table
//! means nothing was dropped for it, or that the counter write itself failed; the EMF metrics
//! in CloudWatch (`Packforge/Telemetry`) carry those.

use aws_sdk_dynamodb::{Client, types::AttributeValue};
use packforge_telemetry::drop_counter::utc_day;
use time::{Duration, OffsetDateTime};

use crate::error::OpsError;

/// Components that write drop counters.
pub const COMPONENTS: [&str; 2] = ["generate", "telemetry-writer"];

/// One counter: the drops of one reason, on one day, in one component.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct DropRow {
    /// UTC day, `YYYY-MM-DD`.
    pub day: String,
    /// `generate` or `telemetry-writer`.
    pub component: String,
    /// Drop reason, e.g. `circuit_open` or `poison_not_json`.
    pub reason: String,
    /// Events dropped.
    pub count: u64,
}

/// Reads the counters of `components` for the last `days` UTC days up to `now`, today
/// included, sorted by day, component and reason.
///
/// # Errors
///
/// Fails if a query fails.
pub async fn read_drops(
    client: &Client,
    table: &str,
    components: &[String],
    days: u32,
    now: OffsetDateTime,
) -> Result<Vec<DropRow>, OpsError> {
    let first_day = utc_day(now - Duration::days(i64::from(days.max(1)) - 1));
    let mut rows = Vec::new();
    for component in components {
        let mut start_key = None;
        loop {
            let output = client
                .query()
                .table_name(table)
                .key_condition_expression("pk = :component AND sk >= :first_day")
                .expression_attribute_values(":component", AttributeValue::S(component.clone()))
                .expression_attribute_values(":first_day", AttributeValue::S(first_day.clone()))
                .set_exclusive_start_key(start_key)
                .send()
                .await
                .map_err(|error| OpsError::DynamoDb {
                    table: table.to_string(),
                    component: component.clone(),
                    source: Box::new(error),
                })?;
            for item in output.items() {
                rows.extend(rows_of(component, item));
            }
            start_key = output.last_evaluated_key().cloned();
            if start_key.is_none() {
                break;
            }
        }
    }
    rows.sort();
    Ok(rows)
}

fn rows_of(
    component: &str,
    item: &std::collections::HashMap<String, AttributeValue>,
) -> Vec<DropRow> {
    let Some(AttributeValue::S(day)) = item.get("sk") else {
        return Vec::new();
    };
    item.iter()
        .filter(|(name, _)| !matches!(name.as_str(), "pk" | "sk" | "expires_at"))
        .filter_map(|(name, value)| match value {
            AttributeValue::N(number) => Some(DropRow {
                day: day.clone(),
                component: component.to_string(),
                reason: name.clone(),
                count: number.parse().unwrap_or(0),
            }),
            _ => None,
        })
        .collect()
}

/// Renders rows as an aligned table with a total line.
pub fn render(rows: &[DropRow]) -> String {
    if rows.is_empty() {
        return "no drops recorded in this period\n".into();
    }
    let width = |pick: fn(&DropRow) -> usize, header: &str| {
        rows.iter().map(pick).max().unwrap_or(0).max(header.len())
    };
    let component_width = width(|row| row.component.len(), "component");
    let reason_width = width(|row| row.reason.len(), "reason");
    let mut text = format!(
        "{:<10}  {:<component_width$}  {:<reason_width$}  {:>8}\n",
        "day", "component", "reason", "dropped"
    );
    for row in rows {
        text.push_str(&format!(
            "{:<10}  {:<component_width$}  {:<reason_width$}  {:>8}\n",
            row.day, row.component, row.reason, row.count
        ));
    }
    let total: u64 = rows.iter().map(|row| row.count).sum();
    text.push_str(&format!("total dropped: {total}\n"));
    text
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    #[test]
    fn every_number_attribute_but_the_ttl_is_a_reason() {
        let item = HashMap::from([
            ("pk".to_string(), AttributeValue::S("generate".into())),
            ("sk".to_string(), AttributeValue::S("2026-12-03".into())),
            (
                "expires_at".to_string(),
                AttributeValue::N("1830000000".into()),
            ),
            ("circuit_open".to_string(), AttributeValue::N("4".into())),
            ("buffer_full".to_string(), AttributeValue::N("1".into())),
        ]);
        let mut rows = rows_of("generate", &item);
        rows.sort();
        let reasons: Vec<_> = rows
            .iter()
            .map(|row| (row.reason.as_str(), row.count))
            .collect();
        assert_eq!(reasons, vec![("buffer_full", 1), ("circuit_open", 4)]);
        assert!(rows.iter().all(|row| row.day == "2026-12-03"));
    }

    #[test]
    fn render_aligns_columns_and_totals() {
        let rows = vec![DropRow {
            day: "2026-12-03".into(),
            component: "telemetry-writer".into(),
            reason: "poison_not_json".into(),
            count: 3,
        }];
        let text = render(&rows);
        assert!(
            text.starts_with("day         component         reason"),
            "{text}"
        );
        assert!(text.ends_with("total dropped: 3\n"), "{text}");
    }
}

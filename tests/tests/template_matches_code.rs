//! `template.yaml` and the code agree: the variables each function receives are the ones its
//! configuration reads, the queues are sized for the writer, the writer reports failures per
//! message, uploads trigger generation while outputs never do, every build names a real
//! binary, Lambda keeps every log line the functions write, and the drop alarm and dashboard
//! read the metrics the code emits.
//!
//! The template is read with `saphyr`, which keeps CloudFormation's short tags (`!Ref`,
//! `!GetAtt`, `!Sub`) as tagged nodes, so a check can tell a reference from a literal.
//! Configuration is read through each crate's `from_lookup` with a lookup that serves the
//! template's values and records every name asked for: the list of variables the code reads
//! comes from the code itself, not from a copy that could drift.

use std::{
    cell::RefCell,
    collections::{BTreeMap, BTreeSet},
    process::Command,
};

use packforge_telemetry::{
    DropContext, DropReason,
    drop_counter::{TOTAL_METRIC, emf_line},
};
use saphyr::{LoadableYamlNode, ScalarOwned, YamlOwned};
use serde_json::Value;

/// Read while the process starts, by the log subscriber rather than a configuration module.
const SUBSCRIBER_VARIABLES: [&str; 1] = ["RUST_LOG"];
/// The component the generate binary hands its telemetry client, the `pk` of its drop counters.
const GENERATE_COMPONENT: &str = "generate";

struct Template {
    root: YamlOwned,
}

/// One `AWS::Serverless::Function` of the template.
struct Function<'a> {
    logical_id: String,
    binary: String,
    properties: &'a YamlOwned,
    environment: BTreeMap<String, &'a YamlOwned>,
}

impl Template {
    fn load() -> Self {
        let path = format!("{}/../template.yaml", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).expect("template.yaml is readable");
        let mut documents = YamlOwned::load_from_str(&text).expect("template.yaml is YAML");
        assert_eq!(documents.len(), 1, "template.yaml holds one document");
        Self {
            root: documents.remove(0),
        }
    }

    fn resource(&self, logical_id: &str) -> &YamlOwned {
        at(&self.root, &["Resources", logical_id])
    }

    fn parameter_default(&self, name: &str) -> Option<&YamlOwned> {
        self.root
            .as_mapping_get("Parameters")?
            .as_mapping_get(name)?
            .as_mapping_get("Default")
    }

    fn functions(&self) -> Vec<Function<'_>> {
        let resources = at(&self.root, &["Resources"])
            .as_mapping()
            .expect("mapping");
        let global_variables = self
            .root
            .as_mapping_get("Globals")
            .and_then(|globals| globals.as_mapping_get("Function"))
            .and_then(|function| function.as_mapping_get("Environment"))
            .and_then(|environment| environment.as_mapping_get("Variables"));
        resources
            .iter()
            .filter(|(_, resource)| text(at(resource, &["Type"])) == "AWS::Serverless::Function")
            .map(|(logical_id, resource)| {
                let properties = at(resource, &["Properties"]);
                let own_variables = properties
                    .as_mapping_get("Environment")
                    .and_then(|environment| environment.as_mapping_get("Variables"));
                let environment = [global_variables, own_variables]
                    .into_iter()
                    .flatten()
                    .flat_map(|variables| variables.as_mapping().expect("mapping").iter())
                    .map(|(name, value)| (text(name), value))
                    .collect();
                Function {
                    logical_id: text(logical_id),
                    binary: text(at(resource, &["Metadata", "BuildProperties", "Binary"])),
                    properties,
                    environment,
                }
            })
            .collect()
    }

    fn function(&self, binary: &str) -> Function<'_> {
        self.functions()
            .into_iter()
            .find(|function| function.binary == binary)
            .unwrap_or_else(|| panic!("no function builds binary `{binary}`"))
    }

    /// A value as the function would see it: a literal as written, a parameter's default, or a
    /// placeholder for what only a deployment knows (resource names, parameters without
    /// defaults).
    fn resolve(&self, value: &YamlOwned) -> String {
        match reference(value) {
            Some(name) => match self.parameter_default(name) {
                Some(default) => text(default),
                None => format!("resolved-{name}"),
            },
            None if is_tagged(value) => "resolved-expression".into(),
            None => text(value),
        }
    }

    /// A number written literally or as `!Ref` to a parameter with a numeric default.
    fn number(&self, value: &YamlOwned) -> i64 {
        let value = match reference(value) {
            Some(name) => self
                .parameter_default(name)
                .unwrap_or_else(|| panic!("parameter `{name}` has no default")),
            None => value,
        };
        value
            .as_integer()
            .unwrap_or_else(|| panic!("not a number: {value:?}"))
    }
}

fn at<'a>(node: &'a YamlOwned, path: &[&str]) -> &'a YamlOwned {
    path.iter().fold(node, |node, key| {
        node.as_mapping_get(key)
            .unwrap_or_else(|| panic!("template has no `{}`", path.join(".")))
    })
}

fn text(node: &YamlOwned) -> String {
    match node {
        YamlOwned::Value(ScalarOwned::String(text)) => text.clone(),
        YamlOwned::Value(ScalarOwned::Integer(number)) => number.to_string(),
        YamlOwned::Value(ScalarOwned::Boolean(flag)) => flag.to_string(),
        other => panic!("expected a scalar, found {other:?}"),
    }
}

fn is_tagged(node: &YamlOwned) -> bool {
    matches!(node, YamlOwned::Tagged(..))
}

fn tagged<'a>(node: &'a YamlOwned, function: &str) -> Option<&'a YamlOwned> {
    match node {
        YamlOwned::Tagged(tag, inner) if tag.handle == "!" && tag.suffix == function => Some(inner),
        _ => None,
    }
}

/// The logical id or parameter behind `!Ref X`.
fn reference(node: &YamlOwned) -> Option<&str> {
    tagged(node, "Ref")?.as_str()
}

/// `X.Attribute` for `!GetAtt X.Attribute` or `!GetAtt [X, Attribute]`.
fn get_att(node: &YamlOwned) -> Option<String> {
    let inner = tagged(node, "GetAtt")?;
    match inner.as_sequence() {
        Some(parts) => Some(parts.iter().map(text).collect::<Vec<_>>().join(".")),
        None => inner.as_str().map(str::to_string),
    }
}

/// Runs the configuration reader of `binary` over `environment`; returns every variable name
/// it asked for and whether it accepted the values.
fn read_configuration(
    binary: &str,
    environment: &BTreeMap<String, String>,
) -> (BTreeSet<String>, Result<(), String>) {
    let asked = RefCell::new(BTreeSet::new());
    let lookup = |name: &str| {
        asked.borrow_mut().insert(name.to_string());
        environment.get(name).cloned()
    };
    let outcome = match binary {
        "generate" => generate::config::GenerateConfig::from_lookup(lookup)
            .map(drop)
            .map_err(|error| error.to_string())
            .and_then(|()| {
                packforge_telemetry::TelemetryConfig::from_lookup("generate", lookup)
                    .map(drop)
                    .map_err(|error| error.to_string())
            }),
        "telemetry-writer" => telemetry_writer::EnvConfig::from_lookup(lookup)
            .map(drop)
            .map_err(|error| error.to_string()),
        other => panic!("no configuration reader known for binary `{other}`"),
    };
    (asked.into_inner(), outcome)
}

fn resolved_environment(template: &Template, function: &Function<'_>) -> BTreeMap<String, String> {
    function
        .environment
        .iter()
        .map(|(name, value)| (name.clone(), template.resolve(value)))
        .collect()
}

#[test]
fn every_variable_the_template_sets_is_one_the_code_reads() {
    let template = Template::load();
    for function in template.functions() {
        let environment = resolved_environment(&template, &function);
        let (read, _) = read_configuration(&function.binary, &environment);
        let unread: Vec<_> = environment
            .keys()
            .filter(|name| !read.contains(*name) && !SUBSCRIBER_VARIABLES.contains(&name.as_str()))
            .collect();
        assert!(
            unread.is_empty(),
            "{} sets variables `{}` never reads: {unread:?}",
            function.logical_id,
            function.binary
        );
    }
}

#[test]
fn each_function_starts_with_only_the_variables_the_template_sets() {
    let template = Template::load();
    let functions = template.functions();
    assert_eq!(functions.len(), 2, "generate and telemetry-writer");
    for function in functions {
        let environment = resolved_environment(&template, &function);
        let (_, outcome) = read_configuration(&function.binary, &environment);
        if let Err(error) = outcome {
            panic!(
                "`{}` refuses the environment {} gives it: {error}",
                function.binary, function.logical_id
            );
        }
    }
}

#[test]
fn queue_and_table_variables_name_the_stack_resources() {
    let template = Template::load();
    let expected = [
        ("generate", "TELEMETRY_QUEUE_URL", "TelemetryQueue"),
        ("generate", "TELEMETRY_DROP_TABLE", "DropCounterTable"),
        (
            "telemetry-writer",
            "TELEMETRY_DLQ_URL",
            "TelemetryDeadLetterQueue",
        ),
        (
            "telemetry-writer",
            "TELEMETRY_DROP_TABLE",
            "DropCounterTable",
        ),
    ];
    for (binary, variable, resource) in expected {
        let function = template.function(binary);
        let value = function
            .environment
            .get(variable)
            .unwrap_or_else(|| panic!("{binary} gets no `{variable}`"));
        assert_eq!(reference(value), Some(resource), "{binary} `{variable}`");
    }
}

#[test]
fn telemetry_queue_outlasts_writer_invocations_and_redrives_to_a_longer_lived_queue() {
    let template = Template::load();
    let writer = template.function("telemetry-writer");
    let timeout = template.number(at(writer.properties, &["Timeout"]));
    let source = writer_queue_source(&writer);
    let batching_window = template.number(at(source, &["MaximumBatchingWindowInSeconds"]));

    let queue = at(template.resource("TelemetryQueue"), &["Properties"]);
    let visibility = template.number(at(queue, &["VisibilityTimeout"]));
    // Lambda's guidance for SQS sources: at least six function timeouts plus the batching
    // window, or a batch retried after throttling comes back while still being processed.
    assert!(
        visibility >= 6 * timeout + batching_window,
        "VisibilityTimeout {visibility} < 6 x {timeout} + {batching_window}"
    );

    let redrive = at(queue, &["RedrivePolicy"]);
    let receives = template.number(at(redrive, &["maxReceiveCount"]));
    assert!(receives >= 5, "maxReceiveCount {receives} < 5");
    assert_eq!(
        get_att(at(redrive, &["deadLetterTargetArn"])).as_deref(),
        Some("TelemetryDeadLetterQueue.Arn")
    );

    let dead_letters = at(
        template.resource("TelemetryDeadLetterQueue"),
        &["Properties"],
    );
    let queue_retention = template.number(at(queue, &["MessageRetentionPeriod"]));
    let dead_letter_retention = template.number(at(dead_letters, &["MessageRetentionPeriod"]));
    // A message keeps its original enqueue time when it moves to the dead-letter queue.
    assert!(
        dead_letter_retention > queue_retention,
        "dead-letter retention {dead_letter_retention} <= queue retention {queue_retention}"
    );
}

fn writer_queue_source<'a>(writer: &Function<'a>) -> &'a YamlOwned {
    let events = at(writer.properties, &["Events"])
        .as_mapping()
        .expect("mapping");
    let sqs: Vec<_> = events
        .values()
        .filter(|event| text(at(event, &["Type"])) == "SQS")
        .collect();
    assert_eq!(sqs.len(), 1, "the writer reads one queue");
    at(sqs[0], &["Properties"])
}

#[test]
fn writer_reads_the_telemetry_queue_and_reports_failures_per_message() {
    let template = Template::load();
    let source = writer_queue_source(&template.function("telemetry-writer"));

    assert_eq!(
        get_att(at(source, &["Queue"])).as_deref(),
        Some("TelemetryQueue.Arn")
    );
    let response_types: Vec<String> = at(source, &["FunctionResponseTypes"])
        .as_sequence()
        .expect("a list")
        .iter()
        .map(text)
        .collect();
    assert!(
        response_types
            .iter()
            .any(|kind| kind == "ReportBatchItemFailures"),
        "without ReportBatchItemFailures one bad message retries the whole batch: \
         {response_types:?}"
    );
}

#[test]
fn uploads_trigger_generate_and_its_outputs_never_do() {
    let template = Template::load();
    let generate = template.function("generate");

    let events = at(generate.properties, &["Events"])
        .as_mapping()
        .expect("mapping");
    let s3: Vec<_> = events
        .values()
        .filter(|event| text(at(event, &["Type"])) == "S3")
        .map(|event| at(event, &["Properties"]))
        .collect();
    assert_eq!(s3.len(), 1, "one S3 notification");
    assert_eq!(reference(at(s3[0], &["Bucket"])), Some("UploadBucket"));
    let rules = at(s3[0], &["Filter", "S3Key", "Rules"])
        .as_sequence()
        .expect("a list");
    let prefixes: Vec<_> = rules
        .iter()
        .filter(|rule| text(at(rule, &["Name"])).eq_ignore_ascii_case("prefix"))
        .map(|rule| reference(at(rule, &["Value"])))
        .collect();
    assert_eq!(prefixes, [Some("UploadPrefix")]);

    assert_eq!(
        reference(generate.environment["UPLOAD_PREFIX"]),
        Some("UploadPrefix")
    );
    assert_eq!(
        reference(generate.environment["OUTPUT_PREFIX"]),
        Some("OutputPrefix")
    );
    let upload = text(template.parameter_default("UploadPrefix").expect("default"));
    let output = text(template.parameter_default("OutputPrefix").expect("default"));
    assert!(
        !upload.starts_with(&output) && !output.starts_with(&upload),
        "default prefixes overlap: `{upload}`, `{output}`"
    );

    // Deployments override the defaults, so a rule must refuse equal prefixes at deploy time.
    let rules = at(&template.root, &["Rules"])
        .as_mapping()
        .expect("mapping");
    let guarded = rules.values().any(|rule| {
        rule.as_mapping_get("Assertions")
            .and_then(YamlOwned::as_sequence)
            .into_iter()
            .flatten()
            .filter_map(|assertion| assertion.as_mapping_get("Assert"))
            .any(|assert| {
                not_equal_references(assert)
                    == Some(BTreeSet::from(["OutputPrefix", "UploadPrefix"]))
            })
    });
    assert!(
        guarded,
        "no rule asserts `!Not [!Equals [!Ref UploadPrefix, !Ref OutputPrefix]]`"
    );
}

/// The two parameters of `!Not [!Equals [!Ref A, !Ref B]]`, if `node` has exactly that shape.
fn not_equal_references(node: &YamlOwned) -> Option<BTreeSet<&str>> {
    let [equals] = tagged(node, "Not")?.as_sequence()?.as_slice() else {
        return None;
    };
    let [left, right] = tagged(equals, "Equals")?.as_sequence()?.as_slice() else {
        return None;
    };
    let references = BTreeSet::from([reference(left)?, reference(right)?]);
    (references.len() == 2).then_some(references)
}

#[test]
fn writer_batches_messages_within_the_concurrency_the_parameter_sets() {
    let template = Template::load();
    let source = writer_queue_source(&template.function("telemetry-writer"));

    // Without a window every message that arrives alone is an invocation (and MongoDB round
    // trip) of its own; Lambda allows at most 300 s.
    let window = template.number(at(source, &["MaximumBatchingWindowInSeconds"]));
    assert!(
        (1..=300).contains(&window),
        "MaximumBatchingWindowInSeconds {window} is not in 1..=300"
    );
    assert_eq!(
        reference(at(source, &["BatchSize"])),
        Some("WriterBatchSize")
    );

    let concurrency = at(source, &["ScalingConfig", "MaximumConcurrency"]);
    assert_eq!(reference(concurrency), Some("WriterMaxConcurrency"));
    let parameter = at(&template.root, &["Parameters", "WriterMaxConcurrency"]);
    let (low, high) = (
        template.number(at(parameter, &["MinValue"])),
        template.number(at(parameter, &["MaxValue"])),
    );
    // The range Lambda accepts for an SQS source's maximum concurrency.
    assert!(
        low >= 2 && high <= 1000,
        "WriterMaxConcurrency allows {low}..={high}, Lambda accepts 2..=1000"
    );
}

/// Lambda's application log levels, least severe first.
const LAMBDA_LEVELS: [&str; 6] = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"];

fn lambda_level_rank(level: &str) -> usize {
    LAMBDA_LEVELS
        .iter()
        .position(|known| known.eq_ignore_ascii_case(level))
        .unwrap_or_else(|| panic!("`{level}` is not a Lambda log level"))
}

#[test]
fn lambda_keeps_every_log_line_the_functions_write() {
    let template = Template::load();
    let logging = at(&template.root, &["Globals", "Function", "LoggingConfig"]);
    // Level filtering needs JSON lines; the functions write JSON with `level` and `timestamp`.
    assert_eq!(text(at(logging, &["LogFormat"])), "JSON");

    let lookup = tagged(at(logging, &["ApplicationLogLevel"]), "FindInMap")
        .and_then(YamlOwned::as_sequence)
        .expect("ApplicationLogLevel is a `!FindInMap`");
    let [map, key, column] = lookup.as_slice() else {
        panic!("`!FindInMap` takes three arguments: {lookup:?}");
    };
    assert_eq!(reference(key), Some("LogLevel"));
    let mapping = at(&template.root, &["Mappings", &text(map)]);

    let log_levels = at(&template.root, &["Parameters", "LogLevel", "AllowedValues"])
        .as_sequence()
        .expect("a list");
    for log_level in log_levels.iter().map(text) {
        let application = text(at(mapping, &[&log_level, &text(column)]));
        // RUST_LOG filters inside the process; a stricter Lambda filter would drop lines the
        // process chose to write, and above INFO it would drop the EMF drop records, which
        // have no `level` and count as INFO.
        assert!(
            lambda_level_rank(&application) <= lambda_level_rank(&log_level)
                && lambda_level_rank(&application) <= lambda_level_rank("INFO"),
            "LogLevel `{log_level}` filters Lambda logs at `{application}`"
        );
    }

    for function in template.functions() {
        assert_eq!(
            reference(function.environment["RUST_LOG"]),
            Some("LogLevel"),
            "{}",
            function.logical_id
        );
        let format = function
            .properties
            .as_mapping_get("LoggingConfig")
            .and_then(|config| config.as_mapping_get("LogFormat"));
        assert!(
            format.is_none_or(|format| text(format) == "JSON"),
            "{} overrides LogFormat",
            function.logical_id
        );
    }
}

/// The EMF directive of a drop record with every reason: namespace, dimension names, metric
/// names, as the code writes them.
fn emitted_drop_metrics(component: &str) -> (String, Vec<String>, Vec<String>) {
    let counts: Vec<(&str, u64)> = DropReason::ALL
        .iter()
        .map(|reason| (reason.as_str(), 1))
        .collect();
    let line = emf_line(
        component,
        &counts,
        &DropContext::default(),
        false,
        false,
        time::OffsetDateTime::now_utc(),
    );
    let record: Value = serde_json::from_str(&line).expect("EMF line is JSON");
    let directive = &record["_aws"]["CloudWatchMetrics"][0];
    let strings = |value: &Value| -> Vec<String> {
        value
            .as_array()
            .expect("a list")
            .iter()
            .map(|item| item.as_str().expect("a string").to_string())
            .collect()
    };
    let dimensions = strings(&directive["Dimensions"][0]);
    for dimension in &dimensions {
        assert_eq!(record[dimension], component, "dimension `{dimension}`");
    }
    let metrics = directive["Metrics"]
        .as_array()
        .expect("a list")
        .iter()
        .map(|metric| metric["Name"].as_str().expect("a name").to_string())
        .collect();
    (
        directive["Namespace"].as_str().expect("a namespace").into(),
        dimensions,
        metrics,
    )
}

/// A dashboard metric row with CloudWatch's shorthand expanded: `"."` repeats the value at
/// the same position in the row above, a leading `"..."` repeats the row above except for the
/// values that follow it. Rendering options (the trailing object) are left off.
fn expand_dashboard_rows(rows: &[Value]) -> Vec<Vec<String>> {
    let mut expanded: Vec<Vec<String>> = Vec::new();
    for row in rows {
        let values: Vec<&str> = row
            .as_array()
            .expect("a metric row is a list")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        let previous = expanded.last().cloned().unwrap_or_default();
        let row = match values.split_first() {
            Some((&"...", rest)) => {
                let kept = previous.len().saturating_sub(rest.len());
                previous[..kept]
                    .iter()
                    .cloned()
                    .chain(rest.iter().map(|value| value.to_string()))
                    .collect()
            }
            _ => values
                .iter()
                .enumerate()
                .map(|(index, value)| match *value {
                    "." => previous[index].clone(),
                    other => other.to_string(),
                })
                .collect(),
        };
        expanded.push(row);
    }
    expanded
}

#[test]
fn drop_alarm_and_dashboard_read_the_metrics_the_code_emits() {
    let template = Template::load();
    let (namespace, dimensions, metrics) = emitted_drop_metrics(GENERATE_COMPONENT);
    assert_eq!(dimensions, ["Component"], "one dimension, the component");
    let reason_metrics: Vec<&String> = metrics
        .iter()
        .filter(|name| *name != TOTAL_METRIC)
        .collect();
    assert_eq!(reason_metrics.len(), DropReason::ALL.len(), "{metrics:?}");

    let alarm = at(template.resource("TelemetryDroppedAlarm"), &["Properties"]);
    assert_eq!(text(at(alarm, &["Namespace"])), namespace);
    assert_eq!(text(at(alarm, &["MetricName"])), TOTAL_METRIC);
    assert!(metrics.iter().any(|name| name == TOTAL_METRIC));
    let alarm_dimensions: Vec<(String, String)> = at(alarm, &["Dimensions"])
        .as_sequence()
        .expect("a list")
        .iter()
        .map(|dimension| {
            (
                text(at(dimension, &["Name"])),
                text(at(dimension, &["Value"])),
            )
        })
        .collect();
    assert_eq!(
        alarm_dimensions,
        [(dimensions[0].clone(), GENERATE_COMPONENT.to_string())]
    );

    let body = at(
        template.resource("OperationsDashboard"),
        &["Properties", "DashboardBody"],
    );
    let body = tagged(body, "Sub")
        .and_then(YamlOwned::as_str)
        .expect("DashboardBody is a `!Sub` string");
    let body: Value = serde_json::from_str(body).expect("DashboardBody is JSON");
    let rows: Vec<Vec<String>> = body["widgets"]
        .as_array()
        .expect("widgets")
        .iter()
        .filter_map(|widget| widget["properties"]["metrics"].as_array())
        .flat_map(|rows| expand_dashboard_rows(rows))
        .filter(|row| row.first() == Some(&namespace))
        .collect();
    assert!(
        !rows.is_empty(),
        "the dashboard shows no `{namespace}` metric"
    );

    let components = [GENERATE_COMPONENT, telemetry_writer::COMPONENT];
    for row in &rows {
        let [_, metric, dimension, value] = row.as_slice() else {
            panic!("expected namespace, metric, dimension, value: {row:?}");
        };
        assert!(metrics.contains(metric), "the code emits no `{metric}`");
        assert_eq!(dimension, &dimensions[0], "{row:?}");
        assert!(components.contains(&value.as_str()), "{row:?}");
    }
    let charted_reasons: Vec<&String> = rows
        .iter()
        .filter(|row| row[1] != TOTAL_METRIC && row[3] == GENERATE_COMPONENT)
        .map(|row| &row[1])
        .collect();
    assert_eq!(
        charted_reasons, reason_metrics,
        "the by-reason chart must show every DropReason, in DropReason::ALL order"
    );
    for component in components {
        assert!(
            rows.iter()
                .any(|row| row[1] == TOTAL_METRIC && row[3] == component),
            "no `{TOTAL_METRIC}` line for `{component}`"
        );
    }
}

#[test]
fn parameter_defaults_are_the_code_defaults() {
    let template = Template::load();
    let default = |name: &str| {
        text(
            template
                .parameter_default(name)
                .unwrap_or_else(|| panic!("parameter `{name}` has no default")),
        )
    };
    let generate = generate::config::GenerateConfig::default();
    let expected = [
        ("UploadPrefix", generate.upload_prefix),
        ("OutputPrefix", generate.output_prefix),
        ("MaxDocumentBytes", generate.max_document_bytes.to_string()),
        (
            "TelemetryFlushMs",
            packforge_telemetry::config::DEFAULT_FLUSH_BUDGET
                .as_millis()
                .to_string(),
        ),
        (
            "TelemetryBufferEvents",
            packforge_telemetry::config::DEFAULT_BUFFER_EVENTS.to_string(),
        ),
        (
            "MongoDbDatabase",
            telemetry_writer::config::DEFAULT_DATABASE.to_string(),
        ),
    ];
    for (parameter, code_default) in expected {
        assert_eq!(default(parameter), code_default, "default of `{parameter}`");
    }
}

#[test]
fn failed_generate_events_reach_a_queue_and_a_lost_delivery_raises_an_alarm() {
    let template = Template::load();
    let generate = template.function("generate");
    let on_failure = at(
        generate.properties,
        &["EventInvokeConfig", "DestinationConfig", "OnFailure"],
    );
    assert_eq!(
        get_att(at(on_failure, &["Destination"])).as_deref(),
        Some("GenerateFailureQueue.Arn")
    );

    // An event Lambda cannot hand to the destination is in no queue at all.
    let resources = at(&template.root, &["Resources"])
        .as_mapping()
        .expect("mapping");
    let alarmed = resources
        .values()
        .filter(|resource| text(at(resource, &["Type"])) == "AWS::CloudWatch::Alarm")
        .map(|alarm| at(alarm, &["Properties"]))
        .any(|alarm| {
            text(at(alarm, &["Namespace"])) == "AWS/Lambda"
                && text(at(alarm, &["MetricName"])) == "DestinationDeliveryFailures"
                && at(alarm, &["Dimensions"])
                    .as_sequence()
                    .is_some_and(|dimensions| {
                        dimensions.iter().any(|dimension| {
                            text(at(dimension, &["Name"])) == "FunctionName"
                                && reference(at(dimension, &["Value"]))
                                    == Some(generate.logical_id.as_str())
                        })
                    })
        });
    assert!(
        alarmed,
        "no alarm on DestinationDeliveryFailures of {}",
        generate.logical_id
    );
}

#[test]
fn build_properties_name_binaries_the_workspace_builds() {
    let template = Template::load();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(cargo)
        .args([
            "metadata",
            "--no-deps",
            "--format-version",
            "1",
            "--offline",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo metadata runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");

    let binaries: BTreeMap<String, String> = metadata["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .flat_map(|package| {
            let name = package["name"].as_str().unwrap_or_default().to_string();
            package["targets"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|target| {
                    target["kind"]
                        .as_array()
                        .is_some_and(|kinds| kinds.iter().any(|kind| kind == "bin"))
                })
                .map(move |target| {
                    let bin = target["name"].as_str().unwrap_or_default().to_string();
                    (bin, name.clone())
                })
        })
        .collect();

    for function in template.functions() {
        let package = binaries.get(&function.binary).unwrap_or_else(|| {
            panic!(
                "{} builds `{}`, which no workspace package declares as a [[bin]]",
                function.logical_id, function.binary
            )
        });
        assert_eq!(
            package, &function.binary,
            "{}: the binary should come from the package of the same name",
            function.logical_id
        );
        assert_eq!(
            text(at(
                &template.root,
                &["Resources", &function.logical_id, "Metadata", "BuildMethod"]
            )),
            "rust-cargolambda"
        );
    }
}

//! Both function binaries, run as Lambda runs them: each process polls cargo-lambda's Lambda
//! Runtime API emulator (`cargo lambda watch --only-lambda-apis`) and is invoked with the
//! sample events in `events/` through `cargo lambda invoke`, against moto and SecantusDB.
//!
//! The binaries are built before the tests run (`scripts/test.sh` does it): a test cannot
//! build them itself while `cargo test` holds the build directory. `PACKFORGE_LAMBDA_PROFILE`
//! picks the profile directory (`debug` by default, `release` for the release binaries).
//! Every process a test starts is stopped by its PID when the test ends, failed or not.
//!
//! Each function's own log lines are checked as Lambda reads them with `LogFormat: JSON`: a
//! `level` and an RFC 3339 UTC `timestamp` on every line, or Lambda files WARN and ERROR under
//! INFO. The writer gets its secrets as Secrets Manager ARNs, as the template gives them.
//!
//! cargo-lambda's emulator sends `lambda-runtime-deadline-ms: 600000`, a duration, where
//! Lambda sends the deadline as epoch milliseconds, so a function served directly sees a
//! deadline in 1970 and cuts every bounded step short. A small proxy between each function
//! and the emulator rewrites that header to a real deadline, as Lambda would send it.

use std::{
    collections::BTreeSet,
    fs::File,
    net::{TcpListener, TcpStream},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use aws_sdk_s3::types::{BucketVersioningStatus, VersioningConfiguration};
use aws_sdk_sqs::types::MessageSystemAttributeName;
use mongodb::bson::{Document, doc};
use packforge_ops::drops::read_drops;
use packforge_testkit::{
    resources::{create_bucket, create_drop_table, create_queue, drain_bodies, s3_client},
    stack::{LocalStack, sdk_config, unique_name},
};
use serde_json::{Value, json};
use telemetry_writer::{COMPONENT, poison::REASON_ATTRIBUTE};
use time::{OffsetDateTime, UtcOffset, format_description::well_known::Rfc3339};

/// Profile directory under the target directory holding the binaries.
const PROFILE_VAR: &str = "PACKFORGE_LAMBDA_PROFILE";
/// The upload every sample S3 event describes, as it reads once the key is decoded.
const SAMPLE_KEY: &str = "uploads/biology/photosynthesis notes été.md";
const SAMPLE_DOCUMENT: &str = include_str!("../../shared/learning/samples/photosynthesis.md");
/// Base64 of the bytes 0..=31: a well-formed key that protects nothing, for tests only.
const TEST_ENCRYPTION_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
/// Longest a single invocation may take before the test gives up on it.
const INVOKE_TIMEOUT: Duration = Duration::from_secs(60);
/// The function timeout the deadline proxy announces, as the template's writer has.
const FUNCTION_TIMEOUT: Duration = Duration::from_secs(30);
/// Header carrying the invocation deadline, epoch milliseconds on Lambda.
const DEADLINE_HEADER: &str = "lambda-runtime-deadline-ms";
/// The levels Lambda's log-level filter recognises in a JSON line's `level`.
const LAMBDA_LOG_LEVELS: [&str; 6] = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"];

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the workspace")
        .to_path_buf()
}

fn function_binary(name: &str) -> PathBuf {
    let root = workspace_root();
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(|dir| root.join(dir))
        .unwrap_or_else(|| root.join("target"));
    let profile = std::env::var(PROFILE_VAR).unwrap_or_else(|_| "debug".into());
    let profile = if profile == "dev" {
        "debug".into()
    } else {
        profile
    };
    let path = target.join(&profile).join(name);
    assert!(
        path.is_file(),
        "`{}` is missing: build it first with `cargo build{} --bin generate --bin \
         telemetry-writer`, or run `scripts/test.sh`",
        path.display(),
        if profile == "debug" {
            String::new()
        } else {
            format!(" --profile {profile}")
        },
    );
    path
}

fn cargo_lambda() -> PathBuf {
    let venv = workspace_root().join(".venv/bin/cargo-lambda");
    if venv.is_file() {
        return venv;
    }
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .map(|dir| dir.join("cargo-lambda"))
        .find(|candidate| candidate.is_file())
        .expect("cargo-lambda is not installed: run scripts/bootstrap.sh")
}

/// A scratch directory for rewritten events and process logs, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Self {
        let path = std::env::temp_dir().join(unique_name("packforge-lambda-emulator"));
        std::fs::create_dir_all(&path).expect("scratch directory");
        Self(path)
    }

    fn write_json(&self, name: &str, value: &Value) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, serde_json::to_vec_pretty(value).expect("json")).expect("write");
        path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A child process stopped by its PID when dropped, including when a test panics.
struct Process {
    name: String,
    child: Child,
    log: PathBuf,
}

impl Process {
    fn spawn(name: &str, mut command: Command, scratch: &Scratch) -> Self {
        let log = scratch.0.join(format!("{name}.log"));
        let file = File::create(&log).expect("log file");
        command
            .stdin(Stdio::null())
            .stdout(file.try_clone().expect("log file"))
            .stderr(file);
        let child = command
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {name}: {error}"));
        Self {
            name: name.into(),
            child,
            log,
        }
    }

    /// The exit status, if the process has already ended.
    fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// The levels of the process's tracing lines, after checking that every line is JSON with
    /// a level Lambda knows and a `timestamp` in RFC 3339 UTC. EMF lines (`_aws`) carry their
    /// own timestamp and are skipped.
    fn checked_log_levels(&self) -> BTreeSet<String> {
        let text = std::fs::read_to_string(&self.log).expect("process log");
        let mut levels = BTreeSet::new();
        for line in text.lines().filter(|line| !line.trim().is_empty()) {
            let value: Value = serde_json::from_str(line).unwrap_or_else(|error| {
                panic!("{} logged a non-JSON line ({error}): {line}", self.name)
            });
            if value.get("_aws").is_some() {
                continue;
            }
            let level = value["level"].as_str().unwrap_or_default();
            assert!(
                LAMBDA_LOG_LEVELS.contains(&level),
                "{} logged a line without a level Lambda knows: {line}",
                self.name
            );
            let timestamp = value["timestamp"].as_str().unwrap_or_default();
            let parsed = OffsetDateTime::parse(timestamp, &Rfc3339).unwrap_or_else(|error| {
                panic!(
                    "{} logged a line without an RFC 3339 timestamp ({error}): {line}",
                    self.name
                )
            });
            assert_eq!(parsed.offset(), UtcOffset::UTC, "{}: {line}", self.name);
            levels.insert(level.to_string());
        }
        levels
    }

    fn log_text(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let tail: Vec<&str> = text.lines().rev().take(40).collect();
        tail.into_iter().rev().collect::<Vec<_>>().join("\n")
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if self.exited().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        if std::thread::panicking() {
            eprintln!("--- {} log ---\n{}", self.name, self.log_text());
        }
    }
}

/// cargo-lambda's Runtime and Invoke APIs on a free loopback port, with one function process.
struct Emulator {
    port: u16,
    function: String,
    // Declared before the emulator so the function stops first.
    function_process: Option<Process>,
    emulator: Process,
}

impl Emulator {
    fn start(scratch: &Scratch, function: &str) -> Self {
        let port = free_port();
        let mut command = Command::new(cargo_lambda());
        command
            .args(["lambda", "watch", "--only-lambda-apis", "--quiet"])
            .args(["--invoke-address", "127.0.0.1"])
            .args(["--invoke-port", &port.to_string()])
            .current_dir(workspace_root());
        let mut emulator = Process::spawn("cargo-lambda-watch", command, scratch);

        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Some(status) = emulator.exited() {
                panic!(
                    "cargo lambda watch exited ({status}):\n{}",
                    emulator.log_text()
                );
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "cargo lambda watch did not listen on {port}:\n{}",
                emulator.log_text()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Self {
            port,
            function: function.into(),
            function_process: None,
            emulator,
        }
    }

    /// Starts the function's binary with only the variables Lambda and `environment` give it.
    async fn run_function(&mut self, scratch: &Scratch, environment: &[(&str, String)]) {
        let proxy = deadline_proxy(self.port).await;
        let mut command = Command::new(function_binary(&self.function));
        command
            .env_clear()
            .env(
                "AWS_LAMBDA_RUNTIME_API",
                format!("http://{proxy}/.rt/{}", self.function),
            )
            .env("AWS_LAMBDA_FUNCTION_NAME", &self.function)
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "1024")
            .env(
                "AWS_LAMBDA_LOG_GROUP_NAME",
                format!("/local/{}", self.function),
            )
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "local")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_CONFIG_FILE", "/dev/null")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
            .env("RUST_LOG", "info")
            .envs(environment.iter().map(|(name, value)| (*name, value)));
        self.function_process = Some(Process::spawn(&self.function, command, scratch));
    }

    /// [`Process::checked_log_levels`] of the function process.
    fn function_log_levels(&self) -> BTreeSet<String> {
        self.function_process
            .as_ref()
            .expect("function started")
            .checked_log_levels()
    }

    /// `cargo lambda invoke <function> --data-file <event>`; the function's JSON response.
    async fn invoke(&mut self, event: &Path) -> Value {
        let mut invoke = tokio::process::Command::new(cargo_lambda());
        invoke
            .args(["lambda", "invoke", &self.function])
            .args(["--invoke-address", "127.0.0.1"])
            .args(["--invoke-port", &self.port.to_string()])
            .arg("--data-file")
            .arg(event)
            .args(["--output-format", "json"])
            .stdin(Stdio::null())
            .kill_on_drop(true);
        let output = invoke.output();
        tokio::pin!(output);

        let deadline = Instant::now() + INVOKE_TIMEOUT;
        let output = loop {
            tokio::select! {
                output = &mut output => break output.expect("cargo lambda invoke runs"),
                () = tokio::time::sleep(Duration::from_millis(100)) => {}
            }
            if let Some(status) = self.emulator.exited() {
                panic!(
                    "cargo lambda watch exited ({status}):\n{}",
                    self.emulator.log_text()
                );
            }
            let function = self.function_process.as_mut().expect("function started");
            if let Some(status) = function.exited() {
                panic!(
                    "{} exited ({status}) during {}:\n{}",
                    self.function,
                    event.display(),
                    function.log_text()
                );
            }
            assert!(
                Instant::now() < deadline,
                "{} gave no response to {} within {INVOKE_TIMEOUT:?}",
                self.function,
                event.display()
            );
        };
        assert!(
            output.status.success(),
            "cargo lambda invoke {} failed: {}",
            event.display(),
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout).unwrap_or_else(|error| {
            panic!(
                "response to {} is not JSON ({error}): {}",
                event.display(),
                String::from_utf8_lossy(&output.stdout)
            )
        })
    }
}

/// Listens on a free loopback port and forwards every Runtime API request to the emulator on
/// `emulator_port`, one upstream connection per request, replacing the deadline header of each
/// response with now plus [`FUNCTION_TIMEOUT`]. Response bodies pass through untouched.
async fn deadline_proxy(emulator_port: u16) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("proxy port");
    let addr = listener.local_addr().expect("proxy address");
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            tokio::spawn(async move {
                let _ = relay_connection(client, emulator_port).await;
            });
        }
    });
    addr
}

async fn relay_connection(
    mut client: tokio::net::TcpStream,
    emulator_port: u16,
) -> std::io::Result<()> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let mut pending = Vec::new();
    loop {
        let Some(request) = read_request(&mut client, &mut pending).await? else {
            return Ok(());
        };
        let mut upstream = tokio::net::TcpStream::connect(("127.0.0.1", emulator_port)).await?;
        upstream.write_all(&request).await?;
        let mut response = Vec::new();
        upstream.read_to_end(&mut response).await?;
        client.write_all(&with_real_deadline(&response)).await?;
    }
}

/// One request from `stream`, its `Connection` header replaced by `close` so the upstream
/// response ends at EOF; `None` once the client hangs up.
async fn read_request(
    stream: &mut tokio::net::TcpStream,
    pending: &mut Vec<u8>,
) -> std::io::Result<Option<Vec<u8>>> {
    use tokio::io::AsyncReadExt;

    let mut chunk = [0_u8; 8192];
    let head_end = loop {
        if let Some(at) = find(pending, b"\r\n\r\n") {
            break at + 4;
        }
        let read = stream.read(&mut chunk).await?;
        if read == 0 {
            return Ok(None);
        }
        pending.extend_from_slice(&chunk[..read]);
    };
    let head = String::from_utf8_lossy(&pending[..head_end]).into_owned();
    let header = |name: &str| {
        head.lines()
            .filter_map(|line| line.split_once(':'))
            .find(|(key, _)| key.trim().eq_ignore_ascii_case(name))
            .map(|(_, value)| value.trim().to_string())
    };
    let chunked = header("transfer-encoding").is_some_and(|value| value.contains("chunked"));
    let length: usize = header("content-length")
        .and_then(|value| value.parse().ok())
        .unwrap_or(0);
    let complete = |buffer: &[u8]| {
        let body = &buffer[head_end..];
        if chunked {
            body.ends_with(b"0\r\n\r\n")
        } else {
            body.len() >= length
        }
    };
    while !complete(pending) {
        let read = stream.read(&mut chunk).await?;
        if read == 0 {
            return Ok(None);
        }
        pending.extend_from_slice(&chunk[..read]);
    }
    let body_end = if chunked {
        pending.len()
    } else {
        head_end + length
    };

    let mut request: Vec<u8> = head
        .trim_end()
        .lines()
        .filter(|line| !line.to_ascii_lowercase().starts_with("connection:"))
        .flat_map(|line| [line.as_bytes(), b"\r\n"].concat())
        .collect();
    request.extend_from_slice(b"connection: close\r\n\r\n");
    request.extend_from_slice(&pending[head_end..body_end]);
    pending.drain(..body_end);
    Ok(Some(request))
}

fn with_real_deadline(response: &[u8]) -> Vec<u8> {
    let Some(head_end) = find(response, b"\r\n\r\n") else {
        return response.to_vec();
    };
    let deadline = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        + FUNCTION_TIMEOUT;
    let head = String::from_utf8_lossy(&response[..head_end]);
    let mut rewritten: Vec<u8> = head
        .lines()
        .map(|line| match line.split_once(':') {
            Some((name, _)) if name.trim().eq_ignore_ascii_case(DEADLINE_HEADER) => {
                format!("{DEADLINE_HEADER}: {}", deadline.as_millis())
            }
            _ => line.to_string(),
        })
        .flat_map(|line| [line.into_bytes(), b"\r\n".to_vec()].concat())
        .collect();
    rewritten.extend_from_slice(&response[head_end + 2..]);
    rewritten
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("address").port()
}

/// One Secrets Manager call to moto over the JSON protocol; the answer's JSON body.
///
/// Raw HTTP because this crate has no Secrets Manager SDK; moto routes the request by the
/// service in the authorization header's scope and does not check the signature.
async fn secrets_manager(
    moto: std::net::SocketAddr,
    operation: &str,
    body: &Value,
) -> anyhow::Result<Value> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let body = body.to_string();
    let request = format!(
        "POST / HTTP/1.1\r\nhost: {moto}\r\ncontent-type: application/x-amz-json-1.1\r\n\
         x-amz-target: secretsmanager.{operation}\r\nauthorization: AWS4-HMAC-SHA256 \
         Credential=testing/20260101/us-east-1/secretsmanager/aws4_request, \
         SignedHeaders=host, Signature=0\r\ncontent-length: {}\r\n\
         connection: close\r\n\r\n{body}",
        body.len()
    );
    let mut stream = tokio::net::TcpStream::connect(moto).await?;
    stream.write_all(request.as_bytes()).await?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await?;

    let head_end = find(&response, b"\r\n\r\n")
        .ok_or_else(|| anyhow::anyhow!("no HTTP response from moto to {operation}"))?;
    let text = String::from_utf8_lossy(&response);
    anyhow::ensure!(
        text.starts_with("HTTP/1.1 200"),
        "moto refused {operation}: {text}"
    );
    Ok(serde_json::from_slice(&response[head_end + 4..])?)
}

/// A secret in moto; its ARN is what the template passes, and [`Secret::delete`] removes it.
struct Secret {
    moto: std::net::SocketAddr,
    arn: String,
}

impl Secret {
    async fn create(moto: std::net::SocketAddr, prefix: &str, value: &str) -> anyhow::Result<Self> {
        let name = unique_name(prefix);
        let created = secrets_manager(
            moto,
            "CreateSecret",
            &json!({"Name": name, "SecretString": value}),
        )
        .await?;
        let arn = created["ARN"]
            .as_str()
            .ok_or_else(|| anyhow::anyhow!("CreateSecret answered no ARN: {created}"))?;
        Ok(Self {
            moto,
            arn: arn.to_string(),
        })
    }

    async fn delete(self) -> anyhow::Result<()> {
        let body = json!({"SecretId": self.arn, "ForceDeleteWithoutRecovery": true});
        secrets_manager(self.moto, "DeleteSecret", &body).await?;
        Ok(())
    }
}

fn sample_event(name: &str) -> Value {
    let path = workspace_root().join("events").join(name);
    let text = std::fs::read_to_string(&path).expect("sample event");
    serde_json::from_str(&text).expect("sample event is JSON")
}

/// The object a test uploaded, as S3 answered the upload.
struct Uploaded {
    bucket: String,
    etag: String,
    version_id: Option<String>,
    size: usize,
}

/// The sample S3 event naming the test's own upload: its bucket, ETag, size and, where the
/// sample carries one, its version. The function reads exactly the version a notification
/// names, so the sample's made-up identity would be skipped as superseded.
fn s3_event_for(name: &str, uploaded: &Uploaded) -> Value {
    let mut event = sample_event(name);
    for record in event["Records"].as_array_mut().expect("Records") {
        let bucket = &uploaded.bucket;
        record["s3"]["bucket"]["name"] = json!(bucket);
        record["s3"]["bucket"]["arn"] = json!(format!("arn:aws:s3:::{bucket}"));
        let object = &mut record["s3"]["object"];
        object["eTag"] = json!(uploaded.etag);
        object["size"] = json!(uploaded.size);
        if object.get("versionId").is_some() {
            object["versionId"] = json!(uploaded.version_id);
        }
    }
    event
}

#[tokio::test(flavor = "multi_thread")]
async fn generate_binary_turns_the_sample_s3_events_into_a_pack_under_the_emulator()
-> anyhow::Result<()> {
    let stack = LocalStack::from_env()?;
    let aws = sdk_config(&stack.moto_url());
    let s3 = s3_client(&stack.moto_url());
    let sqs = aws_sdk_sqs::Client::new(&aws);
    let dynamodb = aws_sdk_dynamodb::Client::new(&aws);
    let bucket = create_bucket(&s3, "emulator-uploads").await?;
    let queue_url = create_queue(&sqs, "emulator-telemetry").await?;
    let table = create_drop_table(&dynamodb, "emulator-drops").await?;
    // Versioned, as the template's upload bucket is, so the sample's `versionId` has a value.
    s3.put_bucket_versioning()
        .bucket(&bucket)
        .versioning_configuration(
            VersioningConfiguration::builder()
                .status(BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await?;
    let upload = s3
        .put_object()
        .bucket(&bucket)
        .key(SAMPLE_KEY)
        .body(SAMPLE_DOCUMENT.as_bytes().to_vec().into())
        .send()
        .await?;
    let uploaded = Uploaded {
        bucket: bucket.clone(),
        etag: upload
            .e_tag()
            .unwrap_or_default()
            .trim_matches('"')
            .to_string(),
        version_id: upload.version_id().map(str::to_string),
        size: SAMPLE_DOCUMENT.len(),
    };

    let scratch = Scratch::new();
    let mut emulator = Emulator::start(&scratch, "generate");
    emulator
        .run_function(
            &scratch,
            &[
                ("AWS_ENDPOINT_URL", stack.moto_url()),
                ("UPLOAD_PREFIX", "uploads/".into()),
                ("OUTPUT_PREFIX", "packs/".into()),
                ("TELEMETRY_QUEUE_URL", queue_url.clone()),
                ("TELEMETRY_DROP_TABLE", table.clone()),
            ],
        )
        .await;

    let put = scratch.write_json("s3-put.json", &s3_event_for("s3-put.json", &uploaded));
    let response = emulator.invoke(&put).await;
    let manifest_key = format!("packs/{}/manifest.json", &SAMPLE_KEY["uploads/".len()..]);
    assert_eq!(
        response,
        json!({"records": [{"key": SAMPLE_KEY, "outcome": "succeeded", "manifest": manifest_key}]})
    );
    let manifest = s3
        .get_object()
        .bucket(&bucket)
        .key(&manifest_key)
        .send()
        .await?
        .body
        .collect()
        .await?
        .into_bytes();
    let manifest: Value = serde_json::from_slice(&manifest)?;
    assert_eq!(manifest["status"], "succeeded", "{manifest}");
    assert_eq!(manifest["source"]["key"], SAMPLE_KEY, "{manifest}");
    assert_eq!(manifest["source"]["etag"], uploaded.etag, "{manifest}");
    assert_eq!(
        manifest["source"]["version_id"],
        json!(uploaded.version_id),
        "{manifest}"
    );

    let report = &manifest["telemetry"];
    let emitted = report["emitted"].as_u64().expect("emitted");
    let sent = report["sent"].as_u64().expect("sent");
    let dropped = report["dropped_total"].as_u64().expect("dropped_total");
    assert!(emitted > 0, "{report}");
    assert_eq!(
        dropped, 0,
        "moto is healthy, nothing should be lost: {report}"
    );
    assert_eq!(emitted, sent + dropped, "{report}");
    let shipped = drain_bodies(&sqs, &queue_url).await?;
    assert_eq!(shipped.len() as u64, sent, "{report}");

    // moto's shape of the same upload (key `%2F`-encoded, no version) is the same object.
    let moto = scratch.write_json(
        "s3-put-moto.json",
        &s3_event_for("s3-put-moto.json", &uploaded),
    );
    let response = emulator.invoke(&moto).await;
    assert_eq!(response["records"][0]["key"], SAMPLE_KEY, "{response}");
    assert_eq!(response["records"][0]["outcome"], "duplicate", "{response}");

    let test_event = workspace_root().join("events/s3-test-event.json");
    assert_eq!(emulator.invoke(&test_event).await, json!({"records": []}));

    let levels = emulator.function_log_levels();
    assert!(levels.contains("INFO"), "{levels:?}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn writer_binary_reads_its_secrets_by_arn_stores_the_samples_and_counts_poison()
-> anyhow::Result<()> {
    let stack = LocalStack::from_env()?;
    let aws = sdk_config(&stack.moto_url());
    let sqs = aws_sdk_sqs::Client::new(&aws);
    let dynamodb = aws_sdk_dynamodb::Client::new(&aws);
    let dead_letter_url = create_queue(&sqs, "emulator-dlq").await?;
    let table = create_drop_table(&dynamodb, "emulator-drops").await?;
    let database = unique_name("emulator");
    let mongodb_uri = LocalStack::mongodb_uri_via(stack.mongodb_addr(), 2000);
    let uri_secret =
        Secret::create(stack.moto_addr(), "emulator-mongodb-uri", &mongodb_uri).await?;
    let key_secret = Secret::create(
        stack.moto_addr(),
        "emulator-encryption-key",
        TEST_ENCRYPTION_KEY,
    )
    .await?;

    let scratch = Scratch::new();
    let mut emulator = Emulator::start(&scratch, "telemetry-writer");
    emulator
        .run_function(
            &scratch,
            &[
                ("AWS_ENDPOINT_URL", stack.moto_url()),
                ("MONGODB_URI_SECRET_ARN", uri_secret.arn.clone()),
                ("MONGODB_DATABASE", database.clone()),
                ("TELEMETRY_DLQ_URL", dead_letter_url.clone()),
                ("TELEMETRY_DROP_TABLE", table.clone()),
                (
                    "TELEMETRY_ENCRYPTION_KEY_SECRET_ARN",
                    key_secret.arn.clone(),
                ),
            ],
        )
        .await;
    let mongodb = mongodb::Client::with_uri_str(&mongodb_uri).await?;
    let events = mongodb
        .database(&database)
        .collection::<Document>("generation_events");
    let runs = mongodb
        .database(&database)
        .collection::<Document>("generation_runs");

    let valid = workspace_root().join("events/sqs-valid-batch.json");
    let response = emulator.invoke(&valid).await;
    assert_eq!(response, json!({"batchItemFailures": []}));
    assert_eq!(events.count_documents(doc! {}).await?, 6);
    let valid_run = sample_event("sqs-valid-batch.json")["Records"][0]["body"]
        .as_str()
        .and_then(|body| serde_json::from_str::<Value>(body).ok())
        .and_then(|body| body["run_id"].as_str().map(str::to_string))
        .expect("run id of the valid batch");
    let summary = runs
        .find_one(doc! {"_id": &valid_run})
        .await?
        .expect("run summary");
    assert_eq!(summary.get_str("status")?, "succeeded");

    // Poison is forwarded at once rather than reported: a retry cannot make it valid, and
    // reporting it would send it through five receives before the queue's own redrive.
    let poison = workspace_root().join("events/sqs-poison-batch.json");
    let response = emulator.invoke(&poison).await;
    assert_eq!(response, json!({"batchItemFailures": []}));
    assert_eq!(events.count_documents(doc! {}).await?, 7);

    let received = sqs
        .receive_message()
        .queue_url(&dead_letter_url)
        .max_number_of_messages(10)
        .message_attribute_names("All")
        .message_system_attribute_names(MessageSystemAttributeName::All)
        .send()
        .await?;
    let reasons: BTreeSet<String> = received
        .messages()
        .iter()
        .filter_map(|message| message.message_attributes()?.get(REASON_ATTRIBUTE))
        .filter_map(|value| value.string_value().map(str::to_string))
        .collect();
    assert_eq!(received.messages().len(), 3);
    assert_eq!(
        reasons,
        ["invalid_event", "not_json", "unsupported_schema_version"]
            .map(String::from)
            .into()
    );

    let rows = read_drops(
        &dynamodb,
        &table,
        &[COMPONENT.to_string()],
        1,
        OffsetDateTime::now_utc(),
    )
    .await?;
    let counted: Vec<(&str, u64)> = rows
        .iter()
        .map(|row| (row.reason.as_str(), row.count))
        .collect();
    assert_eq!(
        counted,
        [
            ("poison_invalid_event", 1),
            ("poison_not_json", 1),
            ("poison_unsupported_schema_version", 1),
        ]
    );

    // Every poison message is logged at WARN, which Lambda keeps as WARN only with a timestamp.
    let levels = emulator.function_log_levels();
    assert!(levels.contains("WARN"), "{levels:?}");

    mongodb.database(&database).drop().await?;
    uri_secret.delete().await?;
    key_secret.delete().await?;
    Ok(())
}

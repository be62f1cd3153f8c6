#!/usr/bin/env python3
"""Size and cold start of Lambda function binaries.

For each binary: its size, then the time from starting the process to its first
`GET /2018-06-01/runtime/invocation/next`, the moment a Lambda runtime is ready for work.
A local listener stands in for the Runtime API and never answers, so only initialisation is
timed: logging, configuration, SDK and MongoDB client construction. The process is then
killed by its PID. One start warms the page cache and is not counted; the median of the
others is reported. Exits 1, after printing every figure, when a binary misses its size or
cold-start target.

Standard library only; run by scripts/bench-lambda.sh, which builds the release binaries.
"""

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time

NEXT_INVOCATION = b"GET /2018-06-01/runtime/invocation/next"
SIZE_TARGET_MB = 15
COLD_START_TARGET_MS = 30

# Every variable a function needs to get through its cold start, with values that make no
# network call at startup: the AWS SDK resolves region and credentials from these, and the
# MongoDB driver connects lazily, in the background.
COMMON = {
    "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024",
    "AWS_LAMBDA_LOG_GROUP_NAME": "/bench",
    "AWS_LAMBDA_LOG_STREAM_NAME": "bench",
    "AWS_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_CONFIG_FILE": "/dev/null",
    "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
    "RUST_LOG": "info",
}
FUNCTIONS = {
    "generate": {
        "TELEMETRY_QUEUE_URL": "http://127.0.0.1:9/000000000000/bench-telemetry",
        "TELEMETRY_DROP_TABLE": "bench-drops",
    },
    "telemetry-writer": {
        "MONGODB_URI": "mongodb://127.0.0.1:9/?directConnection=true",
        "TELEMETRY_DLQ_URL": "http://127.0.0.1:9/000000000000/bench-dlq",
        "TELEMETRY_DROP_TABLE": "bench-drops",
        "TELEMETRY_ENCRYPTION_KEY": "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
    },
}


def one_start(binary: str, environment: dict, timeout: float) -> float:
    """Milliseconds from spawning `binary` to its first next-invocation request."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener, \
            tempfile.TemporaryFile() as log:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        listener.settimeout(timeout)
        env = dict(environment)
        env["AWS_LAMBDA_RUNTIME_API"] = "127.0.0.1:%d" % listener.getsockname()[1]

        started = time.perf_counter_ns()
        process = subprocess.Popen([binary], env=env, stdin=subprocess.DEVNULL,
                                   stdout=log, stderr=log)
        try:
            connection, _ = listener.accept()
            with connection:
                connection.settimeout(timeout)
                request = b""
                while b"\r\n\r\n" not in request:
                    chunk = connection.recv(4096)
                    if not chunk:
                        break
                    request += chunk
                arrived = time.perf_counter_ns()
        except socket.timeout:
            process.kill()
            process.wait()
            log.seek(0)
            sys.exit("%s made no Runtime API request within %.0f s:\n%s"
                     % (binary, timeout, log.read().decode(errors="replace")))
        finally:
            if process.poll() is None:
                process.kill()
            process.wait()
        if not request.startswith(NEXT_INVOCATION):
            sys.exit("%s: unexpected first request %r" % (binary, request[:80]))
        return (arrived - started) / 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin-dir", default="target/release",
                        help="directory holding the binaries (default: target/release)")
    parser.add_argument("--runs", type=int, default=7, help="counted starts (default: 7)")
    parser.add_argument("--timeout", type=float, default=10.0,
                        help="seconds to wait for one start (default: 10)")
    arguments = parser.parse_args()

    print("%-17s %12s %8s %14s %s" % ("function", "bytes", "MB", "cold start ms",
                                      "starts (ms)"))
    missed = []
    for name, variables in FUNCTIONS.items():
        binary = os.path.join(arguments.bin_dir, name)
        if not os.path.isfile(binary):
            sys.exit("%s is missing: build it with "
                     "`cargo build --release --bin generate --bin telemetry-writer`" % binary)
        environment = dict(COMMON, AWS_LAMBDA_FUNCTION_NAME=name, **variables)
        size = os.path.getsize(binary)
        one_start(binary, environment, arguments.timeout)
        starts = [one_start(binary, environment, arguments.timeout)
                  for _ in range(arguments.runs)]
        median = statistics.median(starts)
        print("%-17s %12d %8.2f %14.1f %s" % (
            name, size, size / 1e6, median, " ".join("%.1f" % s for s in starts)))
        size_met = size <= SIZE_TARGET_MB * 10**6
        start_met = median <= COLD_START_TARGET_MS
        print("%-17s size %s %d MB, cold start %s %d ms" % (
            "", "within" if size_met else "OVER", SIZE_TARGET_MB,
            "within" if start_met else "OVER", COLD_START_TARGET_MS))
        if not size_met:
            missed.append(name + " size")
        if not start_met:
            missed.append(name + " cold start")

    if missed:
        print("targets missed: " + ", ".join(missed), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

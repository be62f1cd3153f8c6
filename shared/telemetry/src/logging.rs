//! The log format both functions write: one JSON object a line, as Lambda reads it with
//! `LogFormat: JSON`.
//!
//! Lambda takes a line's `level` only when its `timestamp` is valid RFC 3339, and files every
//! other line under INFO; the system clock's timer writes UTC with a `Z`. The filter comes from
//! `RUST_LOG` (tracing `EnvFilter` syntax), `info` when unset or malformed.

/// Installs the JSON log subscriber for the process.
///
/// # Panics
///
/// Panics when a global subscriber is already installed.
pub fn init_lambda_logs() {
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_current_span(true)
        .with_timer(tracing_subscriber::fmt::time::SystemTime)
        .init();
}

//! Errors of the telemetry crate. Emitting and flushing never fail; only configuration can.

/// Invalid or missing telemetry configuration, detected at cold start.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A required variable is absent or empty.
    #[error("missing required environment variable `{name}`")]
    Missing {
        /// The variable's name.
        name: &'static str,
    },
    /// A variable holds something other than a positive whole number.
    #[error("environment variable `{name}` must be a positive whole number, got `{value}`")]
    Invalid {
        /// The variable's name.
        name: &'static str,
        /// The value found.
        value: String,
    },
    /// A variable holds a number past what the client can honour.
    #[error("environment variable `{name}` must be at most {max}, got `{value}`")]
    TooLarge {
        /// The variable's name.
        name: &'static str,
        /// The value found.
        value: u64,
        /// The largest value accepted.
        max: u64,
    },
}

/// Renders an error and its sources on one line, for logs and diagnostics.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

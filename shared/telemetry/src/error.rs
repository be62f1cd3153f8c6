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
}

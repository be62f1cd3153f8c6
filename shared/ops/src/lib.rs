//! Operations for the telemetry pipeline, behind the `packforge-ops` binary: redrive the
//! dead-letter queue ([`redrive`]), read drop counters ([`drops`]) and show a generation run
//! from MongoDB ([`run_report`]), decrypted with keys from the environment ([`keys`]). The
//! binary only parses arguments and prints; the logic lives here so tests can call it against
//! the local stack.

pub mod drops;
pub mod error;
pub mod keys;
pub mod redrive;
pub mod run_report;

pub use error::OpsError;

//! Test support for packforge: the local stack's endpoints, a TCP fault proxy to put between
//! the SDK clients and those servers, and an emulation of the Lambda SQS trigger.
//!
//! Everything here talks to real local servers (moto and SecantusDB) started by
//! `scripts/stack.sh`; failures are injected at the network level, never by mocking an SDK.

pub mod fault_proxy;
pub mod resources;
pub mod sqs_trigger;
pub mod stack;

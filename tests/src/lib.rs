//! End-to-end tests of packforge against the local stack; the tests live under `tests/tests/`.
//!
//! Each test creates its own queues, tables and database under a unique name and deletes them
//! when it ends, so tests run in parallel without seeing each other's state.

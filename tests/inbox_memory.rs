//! The inbox on its store in memory (`MemoryStore`): the same conformance
//! suite as the durable stores (`tests/inbox_suite`), so that tests and
//! examples written against it see the rules production sees.

mod common;
mod inbox_suite;

/// The store every conformance test of this crate runs on.
const STORE_UNDER_TEST: inbox_suite::Backend = inbox_suite::Backend::Memory;

//! The durable inbox on PostgreSQL, in-process: the same conformance suite
//! as the SQLite store (`tests/inbox_suite`), each test in a schema of its
//! own. Needs `PESAKIT_TEST_POSTGRES_URL` (`.ci/run` sets it); without it
//! every test says how to run it and passes without running.

mod common;
mod inbox_suite;

use inbox_suite::Backend;

every_inbox_conformance_test!(Backend::Postgres);

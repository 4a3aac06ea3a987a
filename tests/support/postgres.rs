//! The PostgreSQL server the inbox tests use, and a schema of their own for
//! each test.

#![allow(dead_code, unreachable_pub)]

use std::sync::atomic::{AtomicU32, Ordering};

/// The variable naming the server; `.ci/run` sets it and checks that the
/// server answers.
pub const POSTGRES_URL_VARIABLE: &str = "PESAKIT_TEST_POSTGRES_URL";

/// The configured server's URL; `None`, after saying how to run the test,
/// when none is configured.
pub fn url_or_skip() -> Option<String> {
    let url = std::env::var(POSTGRES_URL_VARIABLE).ok().filter(|url| !url.is_empty());
    if url.is_none() {
        eprintln!(
            "skipped: {POSTGRES_URL_VARIABLE} is not set; to run the PostgreSQL inbox tests, set it, for example to \
             postgres://postgres@127.0.0.1:5432/test"
        );
    }
    url
}

/// A schema name no other test or test run uses (names are at most 63
/// characters: a number, not the test's name).
pub fn new_schema() -> String {
    static SCHEMAS: AtomicU32 = AtomicU32::new(0);
    format!("pesakit_test_{}_{}", std::process::id(), SCHEMAS.fetch_add(1, Ordering::Relaxed))
}

/// Runs `sql` on a connection of its own, on a thread and runtime of its
/// own (callers may be inside a test's runtime, or dropping).
pub fn execute(url: &str, sql: &str) -> Result<Vec<tokio_postgres::Row>, String> {
    let (url, sql) = (url.to_owned(), sql.to_owned());
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
        runtime.block_on(async {
            let (client, connection) =
                tokio_postgres::connect(&url, tokio_postgres::NoTls).await.map_err(|error| error.to_string())?;
            tokio::spawn(connection);
            client.query(&sql, &[]).await.map_err(|error| error.to_string())
        })
    })
    .join()
    .expect("the query thread")
}

/// Removes a test's schema and everything in it.
pub fn drop_schema(url: &str, schema: &str) {
    execute(url, &format!("DROP SCHEMA IF EXISTS {schema} CASCADE")).ok();
}

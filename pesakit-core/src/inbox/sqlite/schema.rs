//! The SQLite inbox's schema: tables and indexes, applied by versioned
//! migrations that run once each, inside one transaction.

use rusqlite::{Connection, TransactionBehavior};

/// Schema migrations, applied in order once each; the version is stored in
/// the database.
const MIGRATIONS: [&str; 3] = [
    FIRST_SCHEMA,
    // Conflicting deliveries: a callback may hold several bodies under one
    // kind and dedupe key, one row each, numbered. Bodies are compared only
    // when a first delivery is stored already, from the bodies themselves.
    r"
        ALTER TABLE callbacks ADD COLUMN delivery INTEGER NOT NULL DEFAULT 1;
        DROP INDEX callbacks_dedupe_key_kind;
        CREATE UNIQUE INDEX callbacks_deliveries ON callbacks (dedupe_key, kind, delivery)
            WHERE dedupe_key IS NOT NULL;
    ",
    // Bodies are written once, in a table of their own: settling a callback
    // rewrites its small row, never the pages of its body.
    r"
        CREATE TABLE callback_bodies (id INTEGER PRIMARY KEY, body BLOB NOT NULL);
        INSERT INTO callback_bodies (id, body) SELECT id, body FROM callbacks;
        ALTER TABLE callbacks DROP COLUMN body;
        CREATE TRIGGER callbacks_forget_body AFTER DELETE ON callbacks
            BEGIN DELETE FROM callback_bodies WHERE id = old.id; END;
    ",
];

const FIRST_SCHEMA: &str = r"
    CREATE TABLE callbacks (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        kind TEXT NOT NULL,
        route_path TEXT NOT NULL,
        dedupe_key TEXT,
        state TEXT NOT NULL,
        body BLOB NOT NULL,
        content_type TEXT,
        forwarded TEXT,
        peer TEXT,
        client TEXT,
        received_at INTEGER NOT NULL,
        last_seen_at INTEGER NOT NULL,
        seen_count INTEGER NOT NULL DEFAULT 1,
        attempts INTEGER NOT NULL DEFAULT 0,
        due_at INTEGER,
        last_error TEXT,
        verdict_code TEXT,
        verdict_tag TEXT,
        reconcile_reason TEXT,
        is_final INTEGER NOT NULL,
        settled_at INTEGER,
        secondary_ids TEXT NOT NULL DEFAULT '[]'
    );
    CREATE UNIQUE INDEX callbacks_dedupe_key_kind ON callbacks (dedupe_key, kind) WHERE dedupe_key IS NOT NULL;
    CREATE INDEX callbacks_to_reconcile ON callbacks (id) WHERE reconcile_reason IS NOT NULL;
    CREATE INDEX callbacks_state_due_at ON callbacks (state, due_at);
    CREATE TABLE callback_ids (
        value TEXT NOT NULL,
        callback_id INTEGER NOT NULL,
        PRIMARY KEY (value, callback_id)
    ) WITHOUT ROWID;
";

pub(super) fn migrate(connection: &mut Connection) -> rusqlite::Result<()> {
    let transaction = connection.transaction_with_behavior(TransactionBehavior::Exclusive)?;
    transaction.execute_batch("CREATE TABLE IF NOT EXISTS pesakit_schema (version INTEGER NOT NULL)")?;
    let version: Option<i64> =
        transaction.query_row("SELECT MAX(version) FROM pesakit_schema", [], |row| row.get(0))?;
    let applied = usize::try_from(version.unwrap_or(0)).unwrap_or(0);
    for (index, migration) in MIGRATIONS.iter().enumerate().skip(applied) {
        transaction.execute_batch(migration)?;
        transaction.execute(
            "INSERT INTO pesakit_schema (version) VALUES (?1)",
            [i64::try_from(index + 1).unwrap_or(i64::MAX)],
        )?;
    }
    transaction.commit()
}

//! The checkpointer: copies the write-ahead log back into the database on a
//! thread of its own, so that the writer never stalls a batch of callbacks
//! on a checkpoint and its fsync. Durability does not depend on it: a
//! commit is durable once its WAL frames are on the disk.

use std::path::Path;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::Duration;

use rusqlite::Connection;

/// How often the checkpointer copies what the log holds: pages written
/// several times in that window are copied once.
const EVERY: Duration = Duration::from_millis(100);

/// Past this many frames in the log the writer checkpoints itself, should
/// the checkpointer fall behind (about 80 MiB of 4 KiB pages).
pub(super) const WRITER_BACKSTOP_FRAMES: i64 = 80_000;

/// Starts the checkpointer of the database at `path`; it ends when
/// `writer_alive` is disconnected (the writer thread ended).
pub(super) fn start(path: &Path, writer_alive: Receiver<()>) -> std::io::Result<()> {
    let path = path.to_owned();
    std::thread::Builder::new().name("pesakit-inbox-checkpointer".to_owned()).spawn(move || {
        let connection = match Connection::open(&path) {
            Ok(connection) => connection,
            Err(error) => {
                return tracing::error!(%error, "the inbox checkpointer could not open the database; the writer checkpoints alone");
            }
        };
        while let Err(RecvTimeoutError::Timeout) = writer_alive.recv_timeout(EVERY) {
            // PASSIVE: copies what no reader needs, never waits for the writer.
            let checkpointed = connection.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| row.get::<_, i64>(0));
            if let Err(error) = checkpointed {
                tracing::warn!(%error, "the inbox checkpointer could not copy the log; it tries again");
            }
        }
    })?;
    Ok(())
}

//! The embedded store's writer thread logs through the global subscriber
//! even when the application sets it after opening the inbox. A process of
//! its own: a global subscriber is set once per process.

#[path = "support/log_text.rs"]
mod log_text;

use std::time::SystemTime;

use pesakit::CallbackKind;
use pesakit::inbox::{Arrived, InboxStore, QuarantinedCallback, SqliteStore};

#[test]
fn a_global_subscriber_set_after_the_inbox_opened_gets_the_writer_s_logs() {
    let dir = std::env::temp_dir().join(format!("pesakit-inbox-logs-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    let store = SqliteStore::open(dir.join("inbox.db")).expect("the store opens").quarantine_bounds(1, u64::MAX);

    let log = log_text::LogText::default();
    let writer = log.clone();
    let subscriber = tracing_subscriber::fmt().with_ansi(false).with_writer(move || writer.clone()).finish();
    tracing::subscriber::set_global_default(subscriber).expect("the only global subscriber");

    let runtime = tokio::runtime::Builder::new_current_thread().build().expect("a runtime");
    for body in ["not json 1", "not json 2"] {
        let arrived = Arrived {
            kind: CallbackKind::B2cResult,
            route_path: "/b2c".to_owned(),
            body: body.into(),
            content_type: None,
            forwarded: None,
            peer: None,
            client: None,
            received_at: SystemTime::now(),
        };
        let callback = QuarantinedCallback { arrived, parse_error: "expected value".to_owned() };
        runtime.block_on(store.quarantine(callback)).expect("stored");
    }
    std::fs::remove_dir_all(&dir).ok();
    assert!(log.text().contains("quarantine full"), "the writer's error reached the log: {}", log.text());
}

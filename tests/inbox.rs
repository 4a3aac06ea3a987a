//! The durable inbox on its embedded SQLite store, in-process: the
//! conformance suite every store passes (`tests/inbox_suite`), and what only
//! the embedded store does (work with no Tokio runtime at all). The crash
//! test, over real sockets with a killed server process, is
//! `tests/inbox_crash.rs`.

mod common;
mod inbox_suite;

use std::sync::Arc;
use std::time::Duration;

use http::StatusCode;
use inbox_suite::{Backend, Log, table};
use pesakit::inbox::{CallbackState, InboxStore, SqliteStore};
use pesakit::testing::{self, C2bPaymentBuilder, StkCallbackBuilder};

/// The store every conformance test of this crate runs on.
const STORE_UNDER_TEST: Backend = Backend::Sqlite;

/// Runs `future` on this thread, with no Tokio runtime anywhere.
fn block_on<F: std::future::Future>(future: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl std::task::Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = std::task::Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut context = std::task::Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        if let std::task::Poll::Ready(output) = future.as_mut().poll(&mut context) {
            return output;
        }
        std::thread::park_timeout(Duration::from_millis(50));
    }
}

#[test]
fn outside_a_tokio_runtime_the_inbox_still_stores_and_handles_before_answering() {
    let place = Backend::Sqlite.place("no-runtime").expect("SQLite is always there");
    let (inbox, log) = (block_on(place.inbox()), Log::default());
    let routes = table(&inbox, &log);
    let stk = StkCallbackBuilder::paid();
    let validation = C2bPaymentBuilder::pay_bill().bill_ref("invoice-3").for_validation();
    for (path, body) in [("/inbox/stk", stk.build()), ("/inbox/validate", validation.build())] {
        let request = testing::TestRequest::post(path).body(body).build();
        assert_eq!(block_on(routes.dispatch(request)).status(), StatusCode::OK, "{path}");
    }
    let stored = block_on(inbox.find(&stk.checkout_id())).expect("the store answers");
    assert_eq!(stored[0].state, CallbackState::Done, "handled before the answer");
    let validated = block_on(inbox.find(validation.id())).expect("the store answers");
    assert_eq!(validated[0].verdict.as_ref().map(|verdict| verdict.code.as_str()), Some("0"));
    assert_eq!(log.runs().len(), 2);
}

#[test]
fn an_inbox_s_debug_output_shows_its_settings_with_the_documented_defaults() {
    let place = Backend::Sqlite.place("debug-defaults").expect("SQLite is always there");
    let inbox_suite::Place::Sqlite(dir) = &place else { unreachable!("a SQLite place") };
    let inbox = pesakit::Inbox::sqlite(dir.join("inbox.db")).expect("the inbox opens");
    let debug = format!("{inbox:?}");
    // 90 days, 5 minutes, 1 second, 8 attempts from 1 s to 10 min.
    for setting in ["retention: 7776000s", "lease: 300s", "poll_interval: 1s", "max_attempts: 8", "max_backoff: 600s"] {
        assert!(debug.contains(setting), "{setting} in {debug}");
    }
}

#[test]
fn a_tool_beside_the_server_opens_its_inbox_and_sees_what_it_stored() {
    let place = Backend::Sqlite.place("beside").expect("SQLite is always there");
    let inbox_suite::Place::Sqlite(dir) = &place else { unreachable!("a SQLite place") };
    let (inbox, log) = (block_on(place.inbox()), Log::default());
    let stk = StkCallbackBuilder::paid();
    let request = testing::TestRequest::post("/inbox/stk").body(stk.build()).build();
    assert_eq!(block_on(table(&inbox, &log).dispatch(request)).status(), StatusCode::OK);
    let beside = SqliteStore::open_existing(dir.join("inbox.db")).expect("the server's file opens");
    let found = block_on(beside.find(stk.checkout_id())).expect("the store answers");
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].state, CallbackState::Done);
}

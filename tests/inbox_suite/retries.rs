//! Handlers that fail, panic or die with their process: retried until done or dead, and backlogs taken up.

use super::*;

conformance! {
    async fn a_handler_that_fails_twice_is_done_after_three_attempts(place: Place) {
        let (inbox, log) = (place.inbox().await, Log::default());
        log.failures_left.store(2, Ordering::SeqCst);
        let routes = table(&inbox, &log);
        let builder = StkCallbackBuilder::paid();
        assert_eq!(testing::post(&routes, "/inbox/stk", builder.build()).await.status(), StatusCode::OK);

        let stored = wait_for(&inbox, &builder.checkout_id(), |callback| callback.state == CallbackState::Done).await;
        assert_eq!(stored.attempts, 3);
        assert_eq!(stored.last_error, None);
        let id = builder.checkout_id();
        assert_eq!(log.runs(), [format!("{id} attempt 1"), format!("{id} attempt 2"), format!("{id} attempt 3")]);
    }

    async fn a_handler_that_always_fails_ends_dead_with_its_error(place: Place) {
        let (inbox, log) = (place.inbox().await.max_attempts(3), Log::default());
        log.failures_left.store(u32::MAX, Ordering::SeqCst);
        let routes = table(&inbox, &log);
        let builder = StkCallbackBuilder::paid();
        testing::post(&routes, "/inbox/stk", builder.build()).await;

        let stored = wait_for(&inbox, &builder.checkout_id(), |callback| callback.state == CallbackState::Dead).await;
        assert_eq!(stored.attempts, 3);
        assert_eq!(stored.last_error.as_deref(), Some("ledger unavailable on attempt 3"));
        assert_eq!(stored.next_attempt_at, None);
        // Parked: no further attempt.
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(log.runs().len(), 3);
    }

    async fn a_dead_callback_retried_runs_again_and_can_end_done(place: Place) {
        let (inbox, log) = (place.inbox().await.max_attempts(2), Log::default());
        log.failures_left.store(2, Ordering::SeqCst);
        let routes = table(&inbox, &log);
        let builder = StkCallbackBuilder::paid();
        testing::post(&routes, "/inbox/stk", builder.build()).await;
        let dead = wait_for(&inbox, &builder.checkout_id(), |callback| callback.state == CallbackState::Dead).await;
        assert!(!inbox.retry(RecordId(u64::MAX)).await.expect("the store answers"), "no such callback");

        // The ledger is back: a person retries it.
        assert!(inbox.retry(dead.id).await.expect("the store answers"));
        let done = wait_for(&inbox, &builder.checkout_id(), |callback| callback.state == CallbackState::Done).await;
        assert_eq!(done.attempts, 3, "attempts are kept across the retry");
        assert_eq!(log.runs().last(), Some(&format!("{} attempt 3", builder.checkout_id())));
        assert!(!inbox.retry(done.id).await.expect("the store answers"), "a done callback is not retried");
    }

    async fn a_panicking_handler_counts_as_a_failure_and_the_worker_goes_on(place: Place) {
        let (inbox, log) = (place.inbox().await.max_attempts(2), Log::default());
        let routes = table(&inbox, &log);
        let panics = StkCallbackBuilder::paid();
        assert_eq!(testing::post(&routes, "/inbox/panicking", panics.build()).await.status(), StatusCode::OK);
        let stored = wait_for(&inbox, &panics.checkout_id(), |callback| callback.state == CallbackState::Dead).await;
        assert_eq!(stored.last_error.as_deref(), Some("the handler panicked: handler bug"));

        let next = StkCallbackBuilder::paid();
        testing::post(&routes, "/inbox/stk", next.build()).await;
        wait_for(&inbox, &next.checkout_id(), |callback| callback.state == CallbackState::Done).await;
    }

    async fn callbacks_left_pending_are_taken_up_after_their_lease(place: Place) {
        let builder = StkCallbackBuilder::paid();
        // A process stored it and died before its handler ended: a runtime of
        // its own, dropped with everything on it (the held handler, the inbox's
        // background task), as a killed process leaves nothing running. Its
        // lease is short, so the next one need not wait long.
        std::thread::scope(|scope| {
            scope.spawn(|| {
                let dying_runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
                dying_runtime.block_on(async {
                    let dying = Inbox::with_store(place.store().await).lease(Duration::from_millis(300));
                    let request = testing::TestRequest::post("/inbox/stk").body(builder.build()).build();
                    let recorder_table = pesakit::routes![paid]
                        .with_state(Log { hold: Arc::new(AtomicBool::new(true)), ..Log::default() })
                        .with_inbox(dying);
                    let response = recorder_table.dispatch(request);
                    // Answered once stored; the held handler never finishes.
                    let answered = tokio::time::timeout(Duration::from_secs(5), response).await.expect("answered");
                    assert_eq!(answered.status(), 200);
                    // Long enough for the handler to have started.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                });
            });
        });
        let (inbox, log) = (place.inbox().await, Log::default());
        let routes = table(&inbox, &log);
        routes.start_inbox();
        let stored = wait_for(&inbox, &builder.checkout_id(), |callback| callback.state == CallbackState::Done).await;
        assert_eq!(stored.attempts, 2, "the run its process died in counts");
        assert_eq!(log.runs(), [format!("{} attempt 2", builder.checkout_id())], "the delivery says it ran before");
    }

    async fn a_backlog_is_taken_up_batch_after_batch_without_waiting_to_poll(place: Place) {
        // 150 payments stored and due, as a crash leaves them: more than one
        // look's worth (64 a look).
        let store = place.store().await;
        let now = SystemTime::now();
        for _ in 0..150 {
            let builder = StkCallbackBuilder::paid();
            let callback = pesakit::inbox::NewCallback::new(
                arrived(CallbackKind::StkCallback, "/inbox/stk", builder.build()),
                builder.checkout_id(),
                Vec::new(),
                None,
                now,
            );
            store.record(callback).await.expect("stored");
        }
        // The next look is an hour away: only the first may wait for it.
        let inbox = Inbox::with_store(store).poll_interval(Duration::from_secs(3600));
        let log = Log::default();
        let routes = table(&inbox, &log);
        routes.start_inbox();
        for _ in 0..3000 {
            if log.runs().len() == 150 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("{} of 150 handled in 30 s: the rest waited for the next look", log.runs().len());
    }

    async fn a_table_rebuilt_or_replaced_after_its_inbox_started_still_retries(place: Place) {
        let (inbox, log) = (place.inbox().await, Log::default());
        let routes = table(&inbox, &log);
        routes.start_inbox();
        // Each payment fails once: its retry comes from the inbox's worker.
        log.failures_left.store(1, Ordering::SeqCst);
        let first = StkCallbackBuilder::paid();
        assert_eq!(testing::post(&routes, "/inbox/stk", first.build()).await.status(), StatusCode::OK);
        // A builder method moves the table away from the handle the worker held.
        let routes = routes.body_limit(32 * 1024);
        let done = wait_for(&inbox, &first.checkout_id(), |callback| callback.state == CallbackState::Done).await;
        assert_eq!(done.attempts, 2);

        // Every table dropped, then a new one with the same inbox.
        drop(routes);
        tokio::time::sleep(Duration::from_millis(50)).await;
        let routes = table(&inbox, &log);
        log.failures_left.store(1, Ordering::SeqCst);
        let second = StkCallbackBuilder::paid();
        assert_eq!(testing::post(&routes, "/inbox/stk", second.build()).await.status(), StatusCode::OK);
        let done = wait_for(&inbox, &second.checkout_id(), |callback| callback.state == CallbackState::Done).await;
        assert_eq!(done.attempts, 2);
    }

    async fn settled_returns_once_every_posted_callback_is_handled_and_its_outcome_stored(place: Place) {
        let (inbox, log) = (place.inbox().await, Log::default());
        let routes = table(&inbox, &log);
        let payments: Vec<_> = (0..20).map(|_| StkCallbackBuilder::paid()).collect();
        for payment in &payments {
            assert_eq!(testing::post(&routes, "/inbox/stk", payment.build()).await.status(), StatusCode::OK);
        }
        testing::settled(&routes).await.expect("the store answers");
        assert_eq!(log.runs().len(), payments.len(), "every handler ran: {:?}", log.runs());
        for payment in &payments {
            let stored = inbox.find(&payment.checkout_id()).await.expect("the store answers");
            assert_eq!(stored[0].state, CallbackState::Done, "its outcome is stored");
        }
        // Held handlers keep it waiting until they end.
        log.hold.store(true, Ordering::SeqCst);
        let held = StkCallbackBuilder::paid();
        testing::post(&routes, "/inbox/stk", held.build()).await;
        let waiting = tokio::time::timeout(Duration::from_millis(200), testing::settled(&routes)).await;
        assert!(waiting.is_err(), "settled while a handler still runs");
        log.release.notify_one();
        testing::settled(&routes).await.expect("the store answers");
        let stored = inbox.find(&held.checkout_id()).await.expect("the store answers");
        assert_eq!(stored[0].state, CallbackState::Done);
    }
}

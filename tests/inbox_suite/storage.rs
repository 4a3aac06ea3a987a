//! What is stored and kept, and a store in trouble: pruning, reopening, counters, a full or slow disk.

use super::*;

conformance! {
    async fn what_is_stored_is_what_arrived(place: Place) {
        let (inbox, log) = (place.inbox().await, Log::default());
        let routes = table(&inbox, &log);
        let body = StkCallbackBuilder::paid().build();
        let before = SystemTime::now();
        let request = testing::TestRequest::post("/inbox/stk")
            .body(body.clone())
            .header("x-forwarded-for", "196.201.214.200")
            .peer("10.0.0.7:41000".parse().expect("an address"))
            .build();
        testing::send(&routes, request).await;
        let stored = inbox.list(ListFilter::default()).await.expect("the store answers").remove(0);
        assert_eq!(&stored.arrived.body[..], body.as_bytes());
        assert_eq!(stored.arrived.content_type.as_deref(), Some("application/json"));
        assert_eq!(stored.arrived.forwarded.as_deref(), Some("x-forwarded-for: 196.201.214.200"));
        assert_eq!(stored.arrived.peer, Some("10.0.0.7:41000".parse().expect("an address")));
        assert_eq!(
            stored.arrived.client,
            Some("10.0.0.7".parse().expect("an address")),
            "no guard: the peer is the client"
        );
        assert!(stored.arrived.received_at >= before - Duration::from_millis(5));
        assert_eq!(stored.secondary_ids.len(), 2);
        let by_id = inbox.get(stored.id).await.expect("the store answers").expect("stored under its id");
        assert_eq!((by_id.id, by_id.arrived), (stored.id, stored.arrived));
    }

    async fn done_callbacks_past_the_retention_period_are_pruned_and_nothing_else(place: Place) {
        let (inbox, log) = (place.inbox().await, Log::default());
        let routes = table(&inbox, &log);
        let done = StkCallbackBuilder::paid();
        testing::post(&routes, "/inbox/stk", done.build()).await;
        wait_for(&inbox, &done.checkout_id(), |callback| callback.state == CallbackState::Done).await;
        testing::post(&routes, "/inbox/timeout", ResultBuilder::queue_timeout().build()).await;
        testing::post(&routes, "/inbox/b2c", "not json").await;

        let pruned = inbox.prune(SystemTime::now() + Duration::from_secs(1)).await.expect("the store answers");
        assert_eq!(pruned, 1);
        let left: Vec<_> = inbox.list(ListFilter::default()).await.expect("the store answers");
        assert_eq!(left.len(), 2, "the timeout to reconcile and the quarantined body stay");
        assert!(inbox.find(&done.checkout_id()).await.expect("the store answers").is_empty());
    }

    async fn pruning_runs_when_the_inbox_starts_then_hourly_not_at_every_look(place: Place) {
        let store = Troubled::new(place.store().await);
        let prunes = Arc::clone(&store.prunes);
        let (inbox, log) = (fast(Inbox::with_store(store)), Log::default());
        let routes = table(&inbox, &log);
        routes.start_inbox();
        // A hundred looks at 10 ms apart: the prune is a scan of the table,
        // and once an hour is enough.
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert_eq!(prunes.load(Ordering::SeqCst), 1);
    }

    async fn migrations_apply_once_and_reopening_keeps_everything(place: Place) {
        // Two at once, as two instances starting together.
        let (first, second) = tokio::join!(place.store(), place.store());
        let (first, second) = (fast(Inbox::with_store(first)), Inbox::with_store(second));
        let log = Log::default();
        let routes = table(&first, &log);
        let builder = StkCallbackBuilder::paid();
        testing::post(&routes, "/inbox/stk", builder.build()).await;
        wait_for(&first, &builder.checkout_id(), |callback| callback.state == CallbackState::Done).await;
        drop(routes);
        drop(first);
        let found = second.find(&builder.checkout_id()).await.expect("the store answers");
        assert_eq!(found.len(), 1);
        let reopened = Inbox::with_store(place.store().await);
        assert_eq!(reopened.find(&builder.checkout_id()).await.expect("the store answers"), found);
    }

    async fn stats_count_commits_and_the_operations_they_held(place: Place) {
        let (inbox, log) = (place.inbox().await, Log::default());
        let routes = table(&inbox, &log);
        let before = inbox.store().stats();
        for _ in 0..3 {
            testing::post(&routes, "/inbox/stk", StkCallbackBuilder::paid().build()).await;
        }
        let after = inbox.store().stats();
        let (commits, operations) = (after.commits - before.commits, after.operations - before.operations);
        assert!(operations >= 3 && (1..=operations).contains(&commits), "{before:?} then {after:?}");
    }

    async fn a_store_that_cannot_write_is_a_500_never_a_503_or_a_200(place: Place) {
        let store = Troubled::new(place.store().await);
        let down = Arc::clone(&store.down);
        let (inbox, log) = (Inbox::with_store(store), Log::default());
        let routes = table(&inbox, &log);
        down.store(true, Ordering::SeqCst);

        let validation = C2bPaymentBuilder::pay_bill().bill_ref("invoice-9").for_validation().build();
        for (path, body) in [
            ("/inbox/stk", StkCallbackBuilder::paid().build()),
            ("/inbox/validate", validation),
            ("/inbox/b2c", "not json".to_owned()),
        ] {
            let response = testing::post(&routes, path, body).await;
            assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR, "{path}: {}", response.text());
        }
        assert!(log.runs().is_empty(), "no handler ran for what was not stored: {:?}", log.runs());

        down.store(false, Ordering::SeqCst);
        assert_eq!(testing::post(&routes, "/inbox/stk", StkCallbackBuilder::paid().build()).await.status(), StatusCode::OK);
    }

    async fn a_slow_store_cannot_make_a_validation_late(place: Place) {
        let store = Troubled::new(place.store().await);
        *store.slow.lock().expect("not poisoned") = Duration::from_secs(30);
        let log = Log::default();
        let routes = table(&Inbox::with_store(store), &log)
            .validation_deadline(Duration::from_millis(100))
            .validation_fallback(Validation::Accept);
        let payment = C2bPaymentBuilder::pay_bill().bill_ref("invoice-5").for_validation().build();
        let answered = tokio::time::timeout(Duration::from_secs(5), testing::post(&routes, "/inbox/validate", payment))
            .await
            .expect("answered long before the store");
        assert_eq!(answered.text(), r#"{"ResultCode":"0","ResultDesc":"Accepted"}"#);
        assert!(log.runs().is_empty(), "the handler had no time left: the fallback was sent");
    }

    async fn storing_a_verdict_never_delays_it(place: Place) {
        let store = Troubled::new(place.store().await);
        *store.slow_settle.lock().expect("not poisoned") = Duration::from_secs(30);
        let log = Log::default();
        let routes = table(&Inbox::with_store(store), &log);
        let payment = C2bPaymentBuilder::pay_bill().bill_ref("invoice-6");
        let answered = tokio::time::timeout(
            Duration::from_secs(5),
            testing::post(&routes, "/inbox/validate", payment.for_validation().build()),
        )
        .await
        .expect("answered long before its settlement is stored");
        assert_eq!(answered.text(), r#"{"ResultCode":"0","ResultDesc":"Accepted"}"#, "the handler's own verdict");
        assert_eq!(log.runs().len(), 1);
    }
}

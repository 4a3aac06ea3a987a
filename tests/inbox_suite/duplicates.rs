//! Repeats of one callback: handled once, whatever arrives alongside, and ids of any size and character.

use super::*;

conformance! {
    async fn fifty_identical_callbacks_in_parallel_run_the_handler_once(place: Place) {
        let (inbox, log) = (place.inbox().await, Log::default());
        let routes = table(&inbox, &log);
        let builder = StkCallbackBuilder::paid();
        let body = builder.build();
        let posts: Vec<_> = (0..50)
            .map(|_| {
                let (routes, body) = (routes.clone(), body.clone());
                tokio::spawn(async move { testing::post(&routes, "/inbox/stk", body).await })
            })
            .collect();
        for post in posts {
            let response = post.await.expect("the post task");
            assert_eq!(response.status(), StatusCode::OK);
            assert_eq!(response.text(), r#"{"ResultCode":0,"ResultDesc":"Success"}"#);
        }
        let stored = wait_for(&inbox, &builder.checkout_id(), |callback| callback.state == CallbackState::Done).await;
        assert_eq!(stored.seen_count, 50);
        assert_eq!(stored.attempts, 1);
        assert_eq!(log.runs(), [format!("{} attempt 1", builder.checkout_id())]);
    }

    async fn a_duplicate_while_the_first_is_still_handled_does_not_start_a_second_handler(place: Place) {
        let (inbox, log) = (place.inbox().await, Log::default());
        log.hold.store(true, Ordering::SeqCst);
        let routes = table(&inbox, &log);
        let builder = StkCallbackBuilder::paid();

        // Both answered while the handler is still held.
        for _ in 0..2 {
            assert_eq!(testing::post(&routes, "/inbox/stk", builder.build()).await.status(), StatusCode::OK);
        }
        let stored = wait_for(&inbox, &builder.checkout_id(), |callback| callback.seen_count == 2).await;
        assert_eq!(stored.state, CallbackState::Pending);

        log.release.notify_one();
        wait_for(&inbox, &builder.checkout_id(), |callback| callback.state == CallbackState::Done).await;
        assert_eq!(log.runs().len(), 1, "{:?}", log.runs());
    }

    async fn a_repeated_validation_gets_the_verdict_already_given(place: Place) {
        let (inbox, log) = (place.inbox().await, Log::default());
        let routes = table(&inbox, &log);
        let rejected = C2bPaymentBuilder::pay_bill().bill_ref("not-an-invoice").for_validation();
        let first = testing::post(&routes, "/inbox/validate", rejected.build()).await;
        assert_eq!(first.text(), r#"{"ResultCode":"C2B00012","ResultDesc":"Rejected"}"#);

        // The verdict is stored after it is sent; wait for it.
        wait_for(&inbox, rejected.id(), |callback| callback.verdict.is_some()).await;
        let again = testing::post(&routes, "/inbox/validate", rejected.clone().bill_ref("invoice-1").build()).await;
        assert_eq!(again.text(), first.text());
        assert_eq!(log.runs(), [format!("validate {}", rejected.id())]);
    }

    async fn ids_holding_any_character_are_stored(place: Place) {
        let (inbox, log) = (place.inbox().await, Log::default());
        let routes = table(&inbox, &log);
        // JSON can carry a NUL, which PostgreSQL text cannot.
        let body =
            StkCallbackBuilder::paid().checkout_request_id("ws_CO_NUL").build().replace("ws_CO_NUL", "ws_CO_\\u0000");
        let response = testing::post(&routes, "/inbox/stk", body.clone()).await;
        let stored = inbox.list(ListFilter::default()).await.expect("the store answers");
        assert_eq!(stored.len(), 1, "answered {} and stored: {stored:?}", response.status());
        assert_eq!(&stored[0].arrived.body[..], body.as_bytes(), "the body exactly as received");
        if response.status() == StatusCode::OK {
            assert_ne!(stored[0].state, CallbackState::Quarantined);
        } else {
            assert_eq!(stored[0].state, CallbackState::Quarantined);
        }
    }

    async fn the_longest_id_accepted_is_stored_and_a_longer_one_is_quarantined(place: Place) {
        let (inbox, log) = (place.inbox().await, Log::default());
        let routes = table(&inbox, &log);
        // 341 three-byte characters and one ASCII digit: exactly 1,024 bytes
        // (the bound counts bytes, not characters).
        let longest = format!("{}7", "\u{20ac}".repeat(pesakit::MAX_ID_BYTES / 3));
        let accepted = StkCallbackBuilder::paid().checkout_request_id(&longest).receipt(&longest);
        assert_eq!(testing::post(&routes, "/inbox/stk", accepted.build()).await.status(), StatusCode::OK);
        wait_for(&inbox, &longest, |callback| callback.state == CallbackState::Done).await;

        let longer = StkCallbackBuilder::paid().checkout_request_id(&format!("{longest}7"));
        let response = testing::post(&routes, "/inbox/stk", longer.build()).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        let filter = ListFilter { state: Some(CallbackState::Quarantined), ..ListFilter::default() };
        let quarantined = inbox.list(filter).await.expect("the store answers");
        assert_eq!(quarantined.len(), 1);
        assert!(quarantined[0].last_error.as_deref().is_some_and(|error| error.contains("CheckoutRequestID")));
    }

    async fn a_handler_taking_an_optional_delivery_gets_it_from_the_inbox(place: Place) {
        let (inbox, log) = (place.inbox().await, Log::default());
        let routes = table(&inbox, &log);
        let result = ResultBuilder::b2c_success();
        let originator = result.ids().0.to_owned();
        testing::post(&routes, "/inbox/b2c", result.build()).await;
        wait_for(&inbox, &originator, |callback| callback.state == CallbackState::Done).await;
        assert_eq!(log.runs(), [format!("b2c {originator} attempt 1")]);
    }
}

//! What needs reconciling and what clears it, and finding a callback by any Daraja id.

use super::*;

conformance! {
    async fn queue_timeouts_and_unknown_codes_need_reconciling_until_a_final_result_comes(place: Place) {
        let (inbox, log) = (place.inbox().await, Log::default());
        let routes = table(&inbox, &log);

        let timeout = ResultBuilder::queue_timeout();
        let (originator, conversation) = timeout.ids();
        let (originator, conversation) = (originator.to_owned(), conversation.to_owned());
        testing::post(&routes, "/inbox/timeout", timeout.build()).await;
        let unknown = StkCallbackBuilder::failed(4242, "Something new");
        testing::post(&routes, "/inbox/stk", unknown.build()).await;
        let expired = StkCallbackBuilder::expired();
        testing::post(&routes, "/inbox/stk", expired.build()).await;
        testing::post(&routes, "/inbox/stk", StkCallbackBuilder::cancelled().build()).await;

        let marked = inbox.needs_reconciliation().await.expect("the store answers");
        let mut keys: Vec<_> = marked.iter().filter_map(|callback| callback.dedupe_key.clone()).collect();
        keys.sort();
        let mut expected = vec![originator.clone(), unknown.checkout_id(), expired.checkout_id()];
        expected.sort();
        assert_eq!(keys, expected);
        assert!(marked.iter().all(|callback| callback.needs_reconciliation.as_deref().is_some_and(|why| !why.is_empty())));

        // The final result of the request that timed out clears its mark.
        let result = ResultBuilder::b2c_success().originator_conversation_id(&originator).conversation_id(&conversation);
        testing::post(&routes, "/inbox/b2c", result.build()).await;
        let still: Vec<_> = inbox
            .needs_reconciliation()
            .await
            .expect("the store answers")
            .into_iter()
            .filter_map(|callback| callback.dedupe_key)
            .collect();
        assert!(!still.contains(&originator), "{still:?}");
        assert_eq!(still.len(), 2);

        // A timeout that arrives after its final result needs no reconciling.
        let late = ResultBuilder::queue_timeout().originator_conversation_id("late-1").conversation_id("AG_late");
        let final_result = ResultBuilder::b2c_success().originator_conversation_id("late-1").conversation_id("AG_late");
        testing::post(&routes, "/inbox/b2c", final_result.build()).await;
        testing::post(&routes, "/inbox/timeout", late.build()).await;
        let marked = inbox.needs_reconciliation().await.expect("the store answers");
        assert!(marked.iter().all(|callback| callback.dedupe_key.as_deref() != Some("late-1")));
    }

    async fn a_timeout_and_its_result_arriving_together_leave_nothing_to_reconcile(place: Place) {
        let (inbox, log) = (place.inbox().await, Log::default());
        let routes = table(&inbox, &log);
        for round in 0..10 {
            let (originator, conversation) = (format!("together-{round}"), format!("AG_together_{round}"));
            let timeout =
                ResultBuilder::queue_timeout().originator_conversation_id(&originator).conversation_id(&conversation);
            let result =
                ResultBuilder::b2c_success().originator_conversation_id(&originator).conversation_id(&conversation);
            let (timeout_answer, result_answer) = tokio::join!(
                testing::post(&routes, "/inbox/timeout", timeout.build()),
                testing::post(&routes, "/inbox/b2c", result.build()),
            );
            assert_eq!((timeout_answer.status(), result_answer.status()), (StatusCode::OK, StatusCode::OK));
        }
        let marked = inbox.needs_reconciliation().await.expect("the store answers");
        assert!(marked.is_empty(), "every timeout has its final result: {marked:?}");
    }

    async fn any_daraja_id_finds_every_callback_that_carries_it(place: Place) {
        let (inbox, log) = (place.inbox().await, Log::default());
        let routes = table(&inbox, &log);
        let stk = StkCallbackBuilder::paid().receipt("RKT0000042").merchant_request_id("29115-1");
        testing::post(&routes, "/inbox/stk", stk.build()).await;
        // The same payment to a paybill, as its C2B confirmation.
        testing::post(&routes, "/inbox/confirm", C2bPaymentBuilder::pay_bill().trans_id("RKT0000042").build()).await;

        let found = inbox.find("RKT0000042").await.expect("the store answers");
        let kinds: Vec<_> = found.iter().map(|callback| callback.arrived.kind).collect();
        assert_eq!(kinds.len(), 2);
        assert!(kinds.contains(&CallbackKind::StkCallback) && kinds.contains(&CallbackKind::C2bConfirmation));
        assert_eq!(inbox.find("29115-1").await.expect("the store answers").len(), 1);
        assert_eq!(
            inbox.find(&stk.checkout_id()).await.expect("the store answers")[0].arrived.kind,
            CallbackKind::StkCallback
        );
        assert!(inbox.find("nothing-like-it").await.expect("the store answers").is_empty());
    }
}

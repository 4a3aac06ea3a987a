//! Conflicting deliveries: another body under an id already stored is stored, handled and flagged.

use super::*;

conformance! {
    async fn a_different_stk_result_under_one_checkout_id_is_stored_handled_and_needs_reconciling(place: Place) {
        let (inbox, log) = (place.inbox().await, Log::default());
        let addr = serving(table(&inbox, &log)).await;
        let paid = StkCallbackBuilder::paid();
        let no_response = StkCallbackBuilder::timeout().checkout_request_id(&paid.checkout_id());
        for body in [no_response.build(), paid.build()] {
            let reply = client::post(addr, "/inbox/stk", body).await;
            assert_eq!(reply.status, StatusCode::OK);
            assert_eq!(reply.text(), r#"{"ResultCode":0,"ResultDesc":"Success"}"#);
        }
        let deliveries = wait_for_done(&inbox, &paid.checkout_id(), 2).await;
        assert_eq!(deliveries[0].arrived.body, no_response.build().as_bytes());
        assert_eq!(deliveries[1].arrived.body, paid.build().as_bytes(), "the paid body is stored");
        assert_eq!(deliveries.iter().map(|delivery| delivery.delivery).collect::<Vec<_>>(), [1, 2]);
        assert_eq!(deliveries[0].needs_reconciliation, None, "one mark per callback, on its latest delivery");
        assert_eq!(
            deliveries[1].needs_reconciliation.as_deref(),
            Some("conflicting deliveries: ResultCode 1037 then ResultCode 0")
        );
        let id = paid.checkout_id();
        assert_eq!(log.runs(), [format!("{id} attempt 1"), format!("{id} attempt 1 delivery 2")]);
        let to_reconcile = inbox.needs_reconciliation().await.expect("the store answers");
        assert_eq!(to_reconcile.iter().map(|callback| callback.id).collect::<Vec<_>>(), [deliveries[1].id]);
    }

    async fn a_confirmation_repeated_with_another_amount_is_stored_handled_and_needs_reconciling(place: Place) {
        let (inbox, log) = (place.inbox().await, Log::default());
        let addr = serving(table(&inbox, &log)).await;
        let first = C2bPaymentBuilder::pay_bill().amount(pesakit::Amount::from_minor_units(10_000).expect("an amount"));
        let second = first.clone().amount(pesakit::Amount::from_minor_units(50_000).expect("an amount"));
        for body in [first.build(), second.build()] {
            assert_eq!(client::post(addr, "/inbox/confirm", body).await.status, StatusCode::OK);
        }
        let deliveries = wait_for_done(&inbox, first.id(), 2).await;
        assert_eq!(deliveries[1].arrived.body, second.build().as_bytes());
        let reason = deliveries[1].needs_reconciliation.as_deref().expect("the conflict is marked");
        assert!(reason.starts_with("conflicting deliveries: TransAmount "), "{reason}");
        assert!(reason.contains("100") && reason.contains("500") && reason.find("100") < reason.find("500"), "{reason}");
        let id = first.id();
        assert_eq!(log.runs(), [format!("confirmed {id} 100.00"), format!("confirmed {id} 500.00 delivery 2")]);
    }

    async fn a_byte_identical_or_reformatted_repeat_is_a_duplicate_with_nothing_to_reconcile(place: Place) {
        let (inbox, log) = (place.inbox().await, Log::default());
        let addr = serving(table(&inbox, &log)).await;
        let paid = StkCallbackBuilder::paid();
        let body = paid.build();
        let value: serde_json::Value = serde_json::from_str(&body).expect("JSON");
        // Indented, and every object's keys in another order.
        let reformatted = serde_json::to_string_pretty(&value).expect("JSON");
        assert_ne!(reformatted, body);
        for body in [body.clone(), body.clone(), reformatted] {
            let reply = client::post(addr, "/inbox/stk", body).await;
            assert_eq!(reply.status, StatusCode::OK);
        }
        let stored = wait_for(&inbox, &paid.checkout_id(), |callback| callback.seen_count == 3).await;
        assert_eq!(inbox.find(&paid.checkout_id()).await.expect("the store answers").len(), 1);
        assert_eq!((stored.delivery, stored.arrived.body.as_ref()), (1, body.as_bytes()), "the first copy is kept");
        wait_for(&inbox, &paid.checkout_id(), |callback| callback.state == CallbackState::Done).await;
        assert_eq!(log.runs(), [format!("{} attempt 1", paid.checkout_id())]);
        assert!(inbox.needs_reconciliation().await.expect("the store answers").is_empty());
    }

    async fn a_fake_first_callback_leaves_the_real_one_stored_handled_and_flagged(place: Place) {
        let (inbox, log) = (place.inbox().await, Log::default());
        let addr = serving(table(&inbox, &log)).await;
        let real = StkCallbackBuilder::paid().amount(pesakit::Amount::from_minor_units(250_000).expect("an amount"));
        // Someone who learnt the CheckoutRequestID posts first.
        let fake = real.clone().receipt("FAKE123456").amount(pesakit::Amount::from_minor_units(100).expect("an amount"));
        for body in [fake.build(), real.build()] {
            assert_eq!(client::post(addr, "/inbox/stk", body).await.status, StatusCode::OK);
        }
        let deliveries = wait_for_done(&inbox, &real.checkout_id(), 2).await;
        assert_eq!(deliveries[1].arrived.body, real.build().as_bytes(), "the real body is stored");
        assert_eq!(
            deliveries[1].needs_reconciliation.as_deref(),
            Some("conflicting deliveries: ResultCode 0 both times, other fields differ")
        );
        let changed: Vec<String> =
            pesakit::inbox::differing_fields(&deliveries[0].arrived.body, &deliveries[1].arrived.body)
                .into_iter()
                .map(|change| change.path)
                .collect();
        assert!(changed.iter().any(|path| path.ends_with("Item[0].Value")), "the amount differs: {changed:?}");
        assert!(changed.iter().any(|path| path.ends_with("Item[1].Value")), "the receipt differs: {changed:?}");
        assert_eq!(log.runs().len(), 2, "the real callback reached the handler: {:?}", log.runs());
    }

    async fn a_third_body_moves_the_one_mark_to_the_latest_delivery(place: Place) {
        let (inbox, log) = (place.inbox().await, Log::default());
        let routes = table(&inbox, &log);
        let paid = StkCallbackBuilder::paid();
        let id = paid.checkout_id();
        let bodies = [
            StkCallbackBuilder::expired().checkout_request_id(&id).build(),
            StkCallbackBuilder::timeout().checkout_request_id(&id).build(),
            paid.build(),
        ];
        for body in &bodies {
            assert_eq!(testing::post(&routes, "/inbox/stk", body.clone()).await.status(), StatusCode::OK);
        }
        // A repeat of the second stays its duplicate.
        assert_eq!(testing::post(&routes, "/inbox/stk", bodies[1].clone()).await.status(), StatusCode::OK);
        let deliveries = wait_for_done(&inbox, &id, 3).await;
        assert_eq!(deliveries.iter().map(|delivery| delivery.delivery).collect::<Vec<_>>(), [1, 2, 3]);
        assert_eq!(deliveries.iter().map(|delivery| delivery.seen_count).collect::<Vec<_>>(), [1, 2, 1]);
        let marks: Vec<_> = deliveries.iter().map(|delivery| delivery.needs_reconciliation.as_deref()).collect();
        assert_eq!(marks, [None, None, Some("conflicting deliveries: ResultCode 1037 then ResultCode 0")]);
        assert_eq!(log.runs().len(), 3, "{:?}", log.runs());
    }

    async fn a_final_result_of_another_kind_does_not_clear_a_conflict(place: Place) {
        let (inbox, log) = (place.inbox().await, Log::default());
        let routes = table(&inbox, &log);
        let first = C2bPaymentBuilder::pay_bill().bill_ref("invoice-9");
        let second = first.clone().amount(pesakit::Amount::from_minor_units(90_000).expect("an amount"));
        for body in [first.build(), second.build()] {
            assert_eq!(testing::post(&routes, "/inbox/confirm", body).await.status(), StatusCode::OK);
        }
        let marked = wait_for(&inbox, first.id(), |callback| callback.needs_reconciliation.is_some()).await;
        // A validation under the same TransID is final, and clears what a
        // first delivery waited for; a conflict waits for the reconciliation.
        let validation = first.clone().for_validation();
        assert_eq!(testing::post(&routes, "/inbox/validate", validation.build()).await.status(), StatusCode::OK);
        wait_for(&inbox, first.id(), |callback| callback.verdict.is_some()).await;
        let stored = inbox.get(marked.id).await.expect("the store answers").expect("stored");
        assert_eq!(stored.needs_reconciliation, marked.needs_reconciliation);
    }

    async fn an_inbox_of_the_first_schema_is_upgraded_and_its_repeats_stay_duplicates(place: Place) {
        let paid = StkCallbackBuilder::paid();
        let validation = C2bPaymentBuilder::pay_bill().bill_ref("invoice-4").for_validation();
        {
            let (inbox, log) = (place.inbox().await, Log::default());
            let routes = table(&inbox, &log);
            testing::post(&routes, "/inbox/stk", paid.build()).await;
            testing::post(&routes, "/inbox/validate", validation.build()).await;
            wait_for(&inbox, &paid.checkout_id(), |callback| callback.state == CallbackState::Done).await;
            wait_for(&inbox, validation.id(), |callback| callback.verdict.is_some()).await;
        }
        if !place.back_to_first_schema() {
            eprintln!("a store in memory has no schema to upgrade: nothing to test");
            return;
        }

        let (inbox, log) = (place.inbox().await, Log::default());
        let routes = table(&inbox, &log);
        testing::post(&routes, "/inbox/stk", paid.build()).await;
        let repeated = wait_for(&inbox, &paid.checkout_id(), |callback| callback.seen_count == 2).await;
        assert_eq!((repeated.delivery, repeated.state), (1, CallbackState::Done));
        let again = testing::post(&routes, "/inbox/validate", validation.clone().bill_ref("other").build()).await;
        assert_eq!(again.text(), r#"{"ResultCode":"0","ResultDesc":"Accepted"}"#, "the verdict given before the upgrade");
        assert!(log.runs().is_empty(), "nothing handled twice: {:?}", log.runs());

        let no_response = StkCallbackBuilder::timeout().checkout_request_id(&paid.checkout_id());
        testing::post(&routes, "/inbox/stk", no_response.build()).await;
        let deliveries = wait_for_done(&inbox, &paid.checkout_id(), 2).await;
        assert_eq!(
            deliveries[1].needs_reconciliation.as_deref(),
            Some("conflicting deliveries: ResultCode 0 then ResultCode 1037"),
            "the summary of a body stored before the upgrade"
        );
    }
}

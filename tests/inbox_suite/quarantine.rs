//! Bodies that do not parse: kept before their 400, within bounds.

use super::*;

conformance! {
    async fn every_bad_body_on_a_notification_route_is_quarantined_before_its_400(place: Place) {
        let (inbox, log) = (place.inbox().await, Log::default());
        let routes = table(&inbox, &log);
        let bad = common::bad_bodies();
        for (name, body) in &bad {
            let response = testing::post(&routes, "/inbox/b2c", body.clone()).await;
            assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{name}");
        }
        let filter = ListFilter { state: Some(CallbackState::Quarantined), ..ListFilter::default() };
        let quarantined = inbox.list(filter).await.expect("the store answers");
        assert_eq!(quarantined.len(), bad.len());
        // Newest first: the same bodies, in reverse order, each with its error.
        for (stored, (name, body)) in quarantined.iter().rev().zip(&bad) {
            assert_eq!(&stored.arrived.body[..], &body[..], "{name}");
            assert_eq!(stored.arrived.kind, CallbackKind::B2cResult, "{name}");
            assert_eq!(stored.arrived.route_path, "/inbox/b2c", "{name}");
            assert!(stored.last_error.as_deref().is_some_and(|error| !error.is_empty()), "{name}");
        }
        assert!(log.runs().is_empty());
    }

    async fn quarantine_is_bounded_and_drops_the_oldest(place: Place) {
        let store = place.store_with_quarantine_bounds(3, u64::MAX).await;
        let (inbox, log) = (Inbox::with_store(store), Log::default());
        let routes = table(&inbox, &log);
        for number in 0..5 {
            testing::post(&routes, "/inbox/b2c", format!("not json {number}")).await;
        }
        let bodies = |kept: Vec<StoredCallback>| -> Vec<String> {
            kept.iter().map(|callback| String::from_utf8_lossy(&callback.arrived.body).into_owned()).collect()
        };
        assert_eq!(
            bodies(inbox.list(ListFilter::default()).await.expect("the store answers")),
            ["not json 4", "not json 3", "not json 2"]
        );

        // Bytes bound too: the newest body is kept even when it alone is over.
        let small = place.store_with_quarantine_bounds(100, 25).await;
        let (inbox, log) = (Inbox::with_store(small), Log::default());
        let routes = table(&inbox, &log);
        testing::post(&routes, "/inbox/b2c", "not json 5, longer than the rest").await;
        assert_eq!(
            bodies(inbox.list(ListFilter::default()).await.expect("the store answers")),
            ["not json 5, longer than the rest"]
        );

        // Exactly at the bound is within it: two bodies of 10 bytes fit in 20.
        let exact = place.store_with_quarantine_bounds(100, 20).await;
        let (inbox, log) = (Inbox::with_store(exact), Log::default());
        let routes = table(&inbox, &log);
        for body in ["not json 6", "not json 7", "not json 8"] {
            testing::post(&routes, "/inbox/b2c", body).await;
        }
        assert_eq!(
            bodies(inbox.list(ListFilter::default()).await.expect("the store answers")),
            ["not json 8", "not json 7"]
        );
    }

    async fn quarantine_keeps_sixty_four_mebibytes_by_default(place: Place) {
        let store = place.store().await;
        // Eight bodies of 1 MiB: far over any bound smaller than the documented
        // 64 MiB, far under it.
        for number in 0..8_u8 {
            store.quarantine(unparsed(vec![number; 1024 * 1024])).await.expect("stored");
        }
        let kept = store.list(ListFilter::default()).await.expect("the store answers");
        let firsts: Vec<u8> = kept.iter().map(|callback| callback.arrived.body[0]).collect();
        assert_eq!(firsts, [7, 6, 5, 4, 3, 2, 1, 0]);
    }

    async fn quarantine_logs_an_error_only_when_it_drops_bodies(place: Place) {
        let (log, _guard) = log_text::LogText::capture();
        let store = place.store_with_quarantine_bounds(2, u64::MAX).await;
        store.quarantine(unparsed("not json 1")).await.expect("stored");
        store.quarantine(unparsed("not json 2")).await.expect("stored");
        assert!(!log.text().contains("quarantine full"), "nothing dropped, nothing to say: {}", log.text());
        store.quarantine(unparsed("not json 3")).await.expect("stored");
        let text = log.text();
        let lines: Vec<&str> = text.lines().filter(|line| line.contains("quarantine full")).collect();
        assert_eq!(lines.len(), 1, "{text}");
        assert!(lines[0].contains("ERROR") && lines[0].contains("dropped=1") && lines[0].contains("max_rows=2"), "{text}");
    }
}

//! The source guard: Safaricom's gateways and added sources get in, the
//! client is resolved behind trusted proxies only, and no forwarding header
//! can smuggle an address in. Property tests for the header parser; real
//! sockets for the bundled runtime.

#[path = "support/client.rs"]
mod client;

use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use http::{HeaderMap, HeaderValue, StatusCode};
use pesakit::guard::{ForwardedHeader, SourceGuard};
use pesakit::testing::{self, TestRequest};
use pesakit::{ClientAddr, Inbox, State, StkCallback, daraja};
use proptest::prelude::*;

#[daraja::stk_callback("/guarded/stk")]
fn paid(callback: StkCallback, State(seen): State<Arc<Mutex<Vec<String>>>>, client: ClientAddr) {
    seen.lock().expect("not poisoned").push(format!("{} from {}", callback.checkout_request_id, client.0));
}

const CANCELLED: &str = r#"{"Body":{"stkCallback":{"MerchantRequestID":"1","CheckoutRequestID":"ws_CO_9","ResultCode":1032,"ResultDesc":"Request cancelled by user"}}}"#;

fn table(guard: SourceGuard) -> (pesakit::Routes, Arc<Mutex<Vec<String>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    (pesakit::routes![paid].with_state(Arc::clone(&seen)).guard(guard), seen)
}

async fn post_from(routes: &pesakit::Routes, peer: &str, forwarded_for: Option<&str>) -> StatusCode {
    let mut request = TestRequest::post("/guarded/stk").body(CANCELLED).peer(peer.parse().expect("a peer"));
    if let Some(value) = forwarded_for {
        request = request.header("x-forwarded-for", value);
    }
    testing::send(routes, request.build()).await.status()
}

#[tokio::test]
async fn gateways_get_in_and_anyone_else_gets_403_unhandled() {
    let (routes, seen) = table(SourceGuard::safaricom());
    assert_eq!(post_from(&routes, "196.201.214.200:443", None).await, StatusCode::OK);
    assert_eq!(post_from(&routes, "196.201.212.69:50000", None).await, StatusCode::OK);
    assert_eq!(post_from(&routes, "203.0.113.9:50000", None).await, StatusCode::FORBIDDEN);
    // A client claiming to be a gateway, without going through a trusted proxy.
    assert_eq!(post_from(&routes, "203.0.113.9:50000", Some("196.201.214.200")).await, StatusCode::FORBIDDEN);
    assert_eq!(seen.lock().expect("not poisoned").len(), 2);
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_right_most_untrusted_hop_decides() {
    let guard = SourceGuard::safaricom().trust_proxy("10.0.0.0/8").expect("a range");
    let (routes, seen) = table(guard);
    let proxy = "10.0.0.5:41000";
    assert_eq!(post_from(&routes, proxy, Some("196.201.214.200")).await, StatusCode::OK);
    assert_eq!(post_from(&routes, proxy, Some("6.6.6.6, 196.201.214.200, 10.0.0.7")).await, StatusCode::OK);
    // The left-most entry is the client's own claim: it does not decide.
    assert_eq!(post_from(&routes, proxy, Some("196.201.214.200, 6.6.6.6")).await, StatusCode::FORBIDDEN);
    assert_eq!(post_from(&routes, proxy, Some("196.201.214.200, unknown")).await, StatusCode::FORBIDDEN);
    assert_eq!(post_from(&routes, proxy, None).await, StatusCode::FORBIDDEN, "the proxy itself is not Daraja");
    // Handlers see the client the guard resolved, not the proxy.
    assert_eq!(*seen.lock().expect("not poisoned"), ["ws_CO_9 from 196.201.214.200", "ws_CO_9 from 196.201.214.200"]);
}

#[tokio::test]
async fn the_inbox_records_the_resolved_client_beside_the_peer() {
    let dir = std::env::temp_dir().join(format!("pesakit-guard-inbox-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    let inbox = Inbox::sqlite(dir.join("inbox.db")).expect("the inbox opens");
    let guard = SourceGuard::safaricom().trust_proxy("10.0.0.0/8").expect("a range");
    let (routes, _) = table(guard);
    let routes = routes.with_inbox(inbox.clone());
    assert_eq!(post_from(&routes, "10.0.0.5:41000", Some("6.6.6.6, 196.201.214.200")).await, StatusCode::OK);
    let stored = inbox.list(pesakit::inbox::ListFilter::default()).await.expect("the store answers").remove(0);
    assert_eq!(stored.arrived.peer, Some("10.0.0.5:41000".parse().expect("an address")));
    assert_eq!(stored.arrived.client, Some("196.201.214.200".parse().expect("an address")));
    assert_eq!(stored.arrived.forwarded.as_deref(), Some("x-forwarded-for: 6.6.6.6, 196.201.214.200"));
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn report_only_lets_everything_through() {
    let (routes, seen) = table(SourceGuard::safaricom().report_only());
    assert_eq!(post_from(&routes, "203.0.113.9:50000", None).await, StatusCode::OK);
    assert_eq!(seen.lock().expect("not poisoned").len(), 1);
}

/// Serves `guard`'s table on a loopback port and POSTs one callback to it;
/// `None` if the connection closed unanswered.
async fn post_to_bundled_runtime(guard: SourceGuard) -> Option<StatusCode> {
    let (routes, _) = table(guard);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
    let addr = listener.local_addr().expect("bound");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = pesakit::Server::from_listener(listener).with_graceful_shutdown(async move {
        stopped.await.ok();
    });
    let task = tokio::spawn(server.serve(routes));
    let reply = client::try_post(addr, "/guarded/stk", CANCELLED).await;
    stop.send(()).ok();
    task.await.expect("the server task").expect("a clean stop");
    reply.map(|reply| reply.status)
}

#[tokio::test]
async fn the_bundled_runtime_passes_the_real_peer() {
    let allowed = SourceGuard::safaricom().allow("127.0.0.1").expect("an address");
    assert_eq!(post_to_bundled_runtime(allowed).await, Some(StatusCode::OK));
    // Through a trusted proxy, the forwarded client decides, per request.
    let behind_proxy = SourceGuard::safaricom().trust_proxy("127.0.0.1").expect("an address");
    assert_eq!(post_to_bundled_runtime(behind_proxy).await, Some(StatusCode::FORBIDDEN));
}

#[tokio::test]
async fn the_bundled_runtime_closes_a_refused_peer_before_reading_a_byte() {
    assert_eq!(post_to_bundled_runtime(SourceGuard::safaricom()).await, None);
    assert_eq!(post_to_bundled_runtime(SourceGuard::safaricom().report_only()).await, Some(StatusCode::OK));
}

/// Every address a header's text could name: the oracle for "nothing but
/// what the header says".
fn named_addresses(text: &str) -> Vec<IpAddr> {
    text.split([',', ';', '=', '"', ' ', '[', ']', '\t'])
        .filter_map(|token| {
            token
                .parse::<IpAddr>()
                .ok()
                .or_else(|| token.parse::<std::net::SocketAddr>().ok().map(|socket| socket.ip()))
        })
        .collect()
}

fn headers(name: &'static str, value: &[u8]) -> Option<HeaderMap> {
    let value = HeaderValue::from_bytes(value).ok()?;
    let mut headers = HeaderMap::new();
    headers.insert(name, value);
    Some(headers)
}

fn address() -> impl Strategy<Value = IpAddr> {
    prop_oneof![
        any::<[u8; 4]>().prop_map(IpAddr::from),
        any::<[u16; 8]>().prop_map(IpAddr::from),
        Just("10.1.2.3".parse().expect("an address")),
        Just("196.201.214.200".parse().expect("an address")),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_headers_never_panic_nor_name_an_address_they_do_not_hold(
        value in prop::collection::vec(any::<u8>(), 0..200),
        text in "[0-9a-fA-F:.,;=\"\\[\\] forFOR_unkw]{0,120}",
        forwarded in any::<bool>(),
    ) {
        let (name, header) = if forwarded {
            ("forwarded", ForwardedHeader::Forwarded)
        } else {
            ("x-forwarded-for", ForwardedHeader::XForwardedFor)
        };
        let guard = SourceGuard::safaricom().trust_proxy("10.0.0.0/8").expect("a range").forwarded_header(header);
        let peer: IpAddr = "10.0.0.1".parse().expect("an address");
        for raw in [value.as_slice(), text.as_bytes()] {
            let Some(map) = headers(name, raw) else { continue };
            if let Ok(client) = guard.client_address(peer, &map) {
                let text = String::from_utf8_lossy(raw);
                prop_assert!(client == peer || named_addresses(&text).contains(&client), "{client} from {text:?}");
            }
        }
    }

    #[test]
    fn the_client_is_the_right_most_hop_that_is_not_a_trusted_proxy(hops in prop::collection::vec(address(), 1..8)) {
        let guard = SourceGuard::safaricom().trust_proxy("10.0.0.0/8").expect("a range");
        let trusted = |hop: &IpAddr| matches!(hop, IpAddr::V4(v4) if v4.octets()[0] == 10);
        let written: Vec<String> = hops.iter().map(|hop| match hop {
            IpAddr::V6(v6) => format!("[{v6}]"),
            v4 => v4.to_string(),
        }).collect();
        let map = headers("x-forwarded-for", written.join(", ").as_bytes()).expect("a header value");
        let expected = hops.iter().rev().find(|hop| !trusted(hop)).or(hops.first()).copied();
        let client = guard.client_address("10.0.0.1".parse().expect("an address"), &map);
        prop_assert_eq!(client.ok(), expected);
    }
}

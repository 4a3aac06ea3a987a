//! One contract, every host: the HTTP contract of `Routes::dispatch`, for
//! every callback kind, over real loopback sockets, against the bundled
//! runtime, axum 0.8, actix-web 4 and plain hyper.

#[path = "support/callbacks.rs"]
mod callbacks;
#[path = "support/client.rs"]
mod client;
mod common;

use std::net::{SocketAddr, TcpListener as StdListener};

use callbacks::{KINDS, Seen};
use http::{Method, StatusCode};
use pesakit::{MountRoutes, PeerAddr, Routes};
use tokio::net::TcpListener;

/// Runs every row of the contract against a host serving `callbacks::table(seen)` at `addr`.
async fn contract(addr: SocketAddr, seen: &Seen, host: &str) {
    for (folder, path) in KINDS {
        for (name, body) in common::fixtures(folder) {
            let reply = client::post(addr, path, body).await;
            assert_eq!(reply.status, StatusCode::OK, "{host} {folder}/{name}: {}", reply.text());
            assert_eq!(reply.headers["content-type"], "application/json", "{host} {folder}/{name}");
            assert_eq!(reply.text(), common::acknowledgement(folder), "{host} {folder}/{name}");
        }
    }
    let handled = seen.ids.lock().expect("not poisoned").len();
    let fixtures: usize = KINDS.iter().map(|(folder, _)| common::fixtures(folder).len()).sum();
    assert_eq!(handled, fixtures, "{host}: every fixture reached its handler once");

    for (folder, path) in KINDS {
        for (name, body) in common::bad_bodies() {
            let reply = client::post(addr, path, body).await;
            if folder == "c2b_validation" {
                assert_eq!(reply.status, StatusCode::OK, "{host} {name}");
                assert_eq!(reply.text(), r#"{"ResultCode":"C2B00016","ResultDesc":"Rejected"}"#, "{host} {name}");
            } else {
                assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{host} {path} {name}");
                assert_eq!(reply.json()["error"], "invalid_payload", "{host} {path} {name}");
            }
        }
    }
    assert_eq!(seen.ids.lock().expect("not poisoned").len(), handled, "{host}: no bad body reached a handler");

    // Unknown paths outside the table belong to the host; the status is the contract.
    assert_eq!(client::post(addr, "/contract/unknown", "{}").await.status, StatusCode::NOT_FOUND, "{host}");
    for method in [Method::GET, Method::PUT, Method::DELETE] {
        let reply = client::request(addr, method.clone(), "/contract/stk", "").await;
        assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED, "{host} {method}");
        assert_eq!(reply.headers["allow"], "POST", "{host} {method}");
    }
    let oversized = client::post(addr, "/contract/stk", vec![b' '; pesakit::DEFAULT_BODY_LIMIT + 1]).await;
    assert_eq!(oversized.status, StatusCode::PAYLOAD_TOO_LARGE, "{host}");

    let cancelled = std::fs::read(common::fixtures_dir().join("stk/official_v3_cancelled_1032.json")).expect("fixture");
    for path in ["/contract/failing", "/contract/panicking"] {
        let reply = client::post(addr, path, cancelled.clone()).await;
        assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR, "{host} {path}");
        assert_eq!(reply.json()["error"], "handler_failed", "{host} {path}");
    }
    assert_eq!(
        client::post(addr, "/contract/stk", cancelled.clone()).await.status,
        StatusCode::OK,
        "{host} after a panic"
    );
    let peer = seen.peer.lock().expect("not poisoned").map(|PeerAddr(peer)| peer.ip());
    assert_eq!(peer, Some(std::net::Ipv4Addr::LOCALHOST.into()), "{host}: handlers see the peer address");

    let payment = std::fs::read(common::fixtures_dir().join("c2b_validation/real_2021_sandbox_validation.json"))
        .expect("fixture");
    let late = client::post(addr, "/contract/slow-validate", payment).await;
    assert_eq!(late.text(), r#"{"ResultCode":"C2B00016","ResultDesc":"Rejected"}"#, "{host}: the fallback verdict");

    // Guards: a refusal never reaches the handler. (The test guard also
    // refuses a request without a peer address, so every answer above shows
    // that the host passes it.)
    let handled = seen.ids.lock().expect("not poisoned").len();
    let forbidden =
        client::post_with_header(addr, "/contract/stk", ("x-contract-guard", "forbid"), cancelled.clone()).await;
    assert_eq!(forbidden.status, StatusCode::FORBIDDEN, "{host}");
    assert_eq!(forbidden.json()["error"], "forbidden", "{host}");
    let concealed = client::post_with_header(addr, "/contract/stk", ("x-contract-guard", "conceal"), cancelled).await;
    assert_eq!(concealed.status, StatusCode::NOT_FOUND, "{host}");
    assert_eq!(seen.ids.lock().expect("not poisoned").len(), handled, "{host}: refused requests were not handled");

    // The source guard, behind loopback as a trusted proxy: the right-most
    // untrusted forwarded address decides.
    let cancelled = std::fs::read(common::fixtures_dir().join("stk/official_v3_cancelled_1032.json")).expect("fixture");
    for (forwarded, expected) in [
        ("196.201.214.200", StatusCode::OK),
        ("203.0.113.9", StatusCode::FORBIDDEN),
        ("196.201.214.200, 203.0.113.9", StatusCode::FORBIDDEN),
        ("203.0.113.9, 196.201.214.200", StatusCode::OK),
        ("unknown", StatusCode::FORBIDDEN),
    ] {
        let reply =
            client::post_with_header(addr, "/contract/stk", ("x-forwarded-for", forwarded), cancelled.clone()).await;
        assert_eq!(reply.status, expected, "{host}: X-Forwarded-For {forwarded}");
    }
    // From 127.0.0.2, which is not a trusted proxy, a forwarded address is
    // only a claim: the peer decides, and it is not allowed. The bundled
    // runtime closes such a connection at accept; a framework answers 403.
    let claimed = client::post_from(
        "127.0.0.2".parse().expect("an address"),
        addr,
        "/contract/stk",
        ("x-forwarded-for", "196.201.214.200"),
        cancelled.clone(),
    )
    .await;
    let refused = if host == BUNDLED_RUNTIME { None } else { Some(StatusCode::FORBIDDEN) };
    assert_eq!(claimed.map(|reply| reply.status), refused, "{host}: a client's own X-Forwarded-For");
    let handled = seen.ids.lock().expect("not poisoned").len();

    // A secret path: served with the secret, 404 with any other value.
    let body = std::fs::read(common::fixtures_dir().join("stk/official_v3_cancelled_1032.json")).expect("fixture");
    let secret_path = format!("/contract/{}/stk", callbacks::SECRET);
    assert_eq!(client::post(addr, &secret_path, body.clone()).await.status, StatusCode::OK, "{host}");
    let wrong = client::post(addr, "/contract/contract-Secret_0123456788/stk", body).await;
    assert_eq!(wrong.status, StatusCode::NOT_FOUND, "{host}");
    assert_eq!(seen.ids.lock().expect("not poisoned").len(), handled + 1, "{host}: only the right secret was handled");
}

/// The host whose own accept loop closes refused peers before reading.
const BUNDLED_RUNTIME: &str = "bundled runtime";

async fn loopback() -> (TcpListener, SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
    let addr = listener.local_addr().expect("bound");
    (listener, addr)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bundled_runtime() {
    let seen = Seen::default();
    let (listener, addr) = loopback().await;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(
        pesakit::Server::from_listener(listener)
            .with_graceful_shutdown(async move {
                stopped.await.ok();
            })
            .serve(callbacks::table(&seen)),
    );
    contract(addr, &seen, BUNDLED_RUNTIME).await;
    stop.send(()).expect("server running");
    server.await.expect("server task").expect("server stopped cleanly");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn axum_08() {
    let seen = Seen::default();
    let (listener, addr) = loopback().await;
    let app = axum::Router::new()
        .route("/app/health", axum::routing::get(|| async { "ok" }))
        .mount(callbacks::table(&seen))
        .into_make_service_with_connect_info::<SocketAddr>();
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    contract(addr, &seen, "axum 0.8").await;
    let health = client::request(addr, Method::GET, "/app/health", "").await;
    assert_eq!((health.status, health.text()), (StatusCode::OK, "ok".to_owned()), "the app's own routes still work");
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actix_web_4() {
    let seen = Seen::default();
    let listener = StdListener::bind("127.0.0.1:0").expect("a loopback port");
    let addr = listener.local_addr().expect("bound");
    let routes = callbacks::table(&seen);
    let (handle_sender, handle) = std::sync::mpsc::channel();
    let server_thread = std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let server = actix_web::HttpServer::new(move || {
                actix_web::App::new()
                    .route("/app/health", actix_web::web::get().to(|| async { "ok" }))
                    .mount(routes.clone())
            })
            .workers(1)
            .disable_signals()
            .listen(listener)
            .expect("listening")
            .run();
            handle_sender.send(server.handle()).expect("test waiting");
            server.await
        })
    });
    let handle = handle.recv().expect("actix started");
    contract(addr, &seen, "actix-web 4").await;
    let health = client::request(addr, Method::GET, "/app/health", "").await;
    assert_eq!((health.status, health.text()), (StatusCode::OK, "ok".to_owned()), "the app's own routes still work");
    handle.stop(true).await;
    server_thread.join().expect("actix thread").expect("actix stopped cleanly");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_hyper() {
    let seen = Seen::default();
    let (listener, addr) = loopback().await;
    let routes: Routes = callbacks::table(&seen);
    let server = tokio::spawn(async move {
        loop {
            let Ok((stream, peer)) = listener.accept().await else { return };
            let routes = routes.clone();
            let service = hyper::service::service_fn(move |mut request: http::Request<hyper::body::Incoming>| {
                request.extensions_mut().insert(PeerAddr(peer));
                tower_call(routes.clone(), request)
            });
            tokio::spawn(
                hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service),
            );
        }
    });
    contract(addr, &seen, "plain hyper").await;
    server.abort();
}

/// Calls the table through its `tower::Service` implementation, as any tower host does.
async fn tower_call(
    mut routes: Routes,
    request: http::Request<hyper::body::Incoming>,
) -> Result<http::Response<pesakit::ResponseBody>, std::convert::Infallible> {
    tower_service::Service::call(&mut routes, request).await
}

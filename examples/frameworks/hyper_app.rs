//! pesakit as a tower service inside a hand-rolled hyper 1 server, beside
//! the application's own endpoint.
//!
//! ```sh
//! cargo run -p pesakit-framework-examples --example hyper_app
//! curl -s localhost:3003/shop/total
//! ```

#[path = "shared/handlers.rs"]
mod handlers;

use std::convert::Infallible;
use std::sync::atomic::Ordering;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use pesakit::PeerAddr;
use tower_service::Service;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    tracing_subscriber::fmt().init();
    let shop = handlers::Shop::default();
    let routes = handlers::routes(shop.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3003").await?;
    println!("hyper app on http://127.0.0.1:3003: /shop/total, and Daraja callbacks at /payments/…");
    loop {
        let (stream, peer) = listener.accept().await?;
        let (routes, shop) = (routes.clone(), shop.clone());
        let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
            let (mut routes, shop) = (routes.clone(), shop.clone());
            async move {
                if request.uri().path() == "/shop/total" {
                    let total = format!("paid so far: {} cents\n", shop.paid_cents.load(Ordering::Relaxed));
                    return Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(total))));
                }
                request.extensions_mut().insert(PeerAddr(peer));
                routes.call(request).await
            }
        });
        tokio::spawn(async move {
            if let Err(error) =
                hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service).await
            {
                tracing::debug!(%error, "connection ended with an error");
            }
        });
    }
}

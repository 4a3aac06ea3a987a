//! pesakit mounted into an axum 0.8 application beside its own routes.
//!
//! ```sh
//! cargo run -p pesakit-framework-examples --example axum_app
//! curl -s localhost:3001/shop/total
//! ```

#[path = "shared/handlers.rs"]
mod handlers;

use std::net::SocketAddr;
use std::sync::atomic::Ordering;

use axum::extract::State;
use axum::routing::get;
use pesakit::MountRoutes;

async fn total(State(shop): State<handlers::Shop>) -> String {
    format!("paid so far: {} cents\n", shop.paid_cents.load(Ordering::Relaxed))
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    tracing_subscriber::fmt().init();
    let shop = handlers::Shop::default();
    let app =
        axum::Router::new().route("/shop/total", get(total)).with_state(shop.clone()).mount(handlers::routes(shop));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3001").await?;
    println!("axum app on http://127.0.0.1:3001: /shop/total, and Daraja callbacks at /payments/…");
    axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await
}

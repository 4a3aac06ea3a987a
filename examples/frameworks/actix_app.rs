//! pesakit mounted into an actix-web 4 application beside its own routes.
//!
//! ```sh
//! cargo run -p pesakit-framework-examples --example actix_app
//! curl -s localhost:3002/shop/total
//! ```

#[path = "shared/handlers.rs"]
mod handlers;

use std::sync::atomic::Ordering;

use actix_web::{App, HttpServer, web};
use pesakit::MountRoutes;

async fn total(shop: web::Data<handlers::Shop>) -> String {
    format!("paid so far: {} cents\n", shop.paid_cents.load(Ordering::Relaxed))
}

fn main() -> std::io::Result<()> {
    tracing_subscriber::fmt().init();
    let shop = handlers::Shop::default();
    println!("actix-web app on http://127.0.0.1:3002: /shop/total, and Daraja callbacks at /payments/…");
    actix_web::rt::System::new().block_on(
        HttpServer::new(move || {
            App::new()
                .app_data(web::Data::new(shop.clone()))
                .route("/shop/total", web::get().to(total))
                .mount(handlers::routes(shop.clone()))
        })
        .bind("127.0.0.1:3002")?
        .run(),
    )
}

//! Plug pesakit into your framework.
//!
//! Every host runs the same pipeline (see
//! [`Routes::dispatch`](crate::Routes::dispatch)), so statuses, bodies,
//! limits, guards and recording are identical wherever the table is mounted.
//!
//! ## Frameworks built on tower (axum, hyper, poem, tonic, …)
//!
//! [`Routes`] is a `tower::Service<http::Request<B>>` for any body `B`, with
//! `Error = Infallible`: hand it to anything that takes a tower service. With
//! hyper directly, wrap it in `hyper_util::service::TowerToHyperService`.
//! Insert a [`PeerAddr`](crate::PeerAddr) into the request's extensions so
//! that guards and handlers see the peer address, and call
//! [`Routes::check`](crate::Routes::check) before serving.
//!
//! ## Shipped adapters, named by framework major version
//!
//! | feature | framework | how |
//! | --- | --- | --- |
//! | `axum-08` | axum 0.8 | `Router::new().mount(routes)`, beside your own routes and state |
//! | `actix-web-4` | actix-web 4 (http 0.2 types) | `App::new().mount(routes)` or `Scope::mount` |
//!
//! ## Writing an adapter for another framework
//!
//! Implement [`MountRoutes`] for the framework's router: for each route in
//! `routes.iter()`, register `route.path()` for every method with a handler
//! that turns the framework's request into an `http::Request` whose body
//! implements `http_body::Body`, with the peer's [`PeerAddr`](crate::PeerAddr)
//! in its extensions, passes it to
//! [`Routes::dispatch_streaming`](crate::Routes::dispatch_streaming) (which
//! runs the guards before reading the body and applies the body limit while
//! reading), and turns the `http::Response<Bytes>` back. Register every
//! method, not only POST, so that the table answers 405 itself. Refuse a
//! table that fails [`Routes::check`](crate::Routes::check) when it is
//! mounted.
//!
//! ```
//! use pesakit::{MountRoutes, Routes};
//!
//! /// A toy framework: a list of paths and the table that serves them.
//! #[derive(Default)]
//! struct ToyRouter {
//!     mounted: Vec<(&'static str, Routes)>,
//! }
//!
//! impl MountRoutes for ToyRouter {
//!     fn mount(mut self, routes: Routes) -> Self {
//!         if let Err(error) = routes.check() {
//!             panic!("cannot mount the Daraja callback routes: {error}");
//!         }
//!         for route in &routes {
//!             self.mounted.push((route.path(), routes.clone()));
//!         }
//!         self
//!     }
//! }
//!
//! let router = ToyRouter::default().mount(Routes::new());
//! assert!(router.mounted.is_empty());
//! ```

#[cfg(feature = "actix-web-4")]
mod actix_web_4;
#[cfg(feature = "axum-08")]
mod axum_08;

use crate::route::Routes;

/// A framework router or application that can host a route table.
pub trait MountRoutes: Sized {
    /// Returns the router serving every route of `routes` at its path,
    /// beside whatever it already serves.
    ///
    /// # Panics
    ///
    /// When `routes` fails [`Routes::check`] (a handler takes a state the
    /// table was not given): a mistake in building the application, found
    /// at start-up rather than when Daraja calls.
    fn mount(self, routes: Routes) -> Self;
}

/// [`Routes::check`] for the shipped adapters.
#[cfg(any(feature = "axum-08", feature = "actix-web-4"))]
fn checked(routes: Routes) -> Routes {
    if let Err(error) = routes.check() {
        panic!("cannot mount the Daraja callback routes: {error}");
    }
    routes
}

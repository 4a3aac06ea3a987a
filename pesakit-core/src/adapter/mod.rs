//! Plug pesakit into your framework.
//!
//! Every host runs the same [`Routes::dispatch`](crate::Routes::dispatch),
//! so statuses, bodies and limits are identical wherever the table is
//! mounted.
//!
//! ## Frameworks built on tower (axum, hyper, poem, tonic, …)
//!
//! [`Routes`] is a `tower::Service<http::Request<B>>` for any body `B`, with
//! `Error = Infallible`: hand it to anything that takes a tower service. With
//! hyper directly, wrap it in `hyper_util::service::TowerToHyperService`.
//! Insert a [`PeerAddr`](crate::PeerAddr) into the request's extensions if
//! handlers want the peer address.
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
//! implements `http_body::Body`, passes it to
//! [`Routes::handle`](crate::Routes::handle) (which applies the body limit
//! while reading), and turns the `http::Response<Bytes>` back. Register every
//! method, not only POST, so that the table answers 405 itself.
//!
//! ```
//! use pesakit_core::{MountRoutes, Routes};
//!
//! /// A toy framework: a list of paths and the table that serves them.
//! #[derive(Default)]
//! struct ToyRouter {
//!     mounted: Vec<(&'static str, Routes)>,
//! }
//!
//! impl MountRoutes for ToyRouter {
//!     fn mount(mut self, routes: Routes) -> Self {
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
    fn mount(self, routes: Routes) -> Self;
}

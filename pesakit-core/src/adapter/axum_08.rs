//! axum 0.8: each route's path is served by the table as a tower service.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::task::{Context, Poll};

use axum::extract::ConnectInfo;
use http::Request;
use tower_service::Service;

use super::MountRoutes;
use crate::extract::PeerAddr;
use crate::route::Routes;

/// Mounts a route table into an axum `Router`, beside the application's own
/// routes and state.
///
/// ```
/// use axum::{Router, routing::get};
/// use pesakit::{MountRoutes, Routes};
///
/// let app: Router = Router::new().route("/health", get(|| async { "ok" })).mount(Routes::new());
/// ```
///
/// Serve it with `into_make_service_with_connect_info::<SocketAddr>()` to
/// give guards and handlers the [`PeerAddr`].
impl<S: Clone + Send + Sync + 'static> MountRoutes for axum::Router<S> {
    fn mount(self, routes: Routes) -> Self {
        let routes = super::checked(routes);
        routes.iter().fold(self, |router, route| router.route_service(route.path(), AxumRoutes(routes.clone())))
    }
}

/// The table as axum sees it: axum's `ConnectInfo` becomes a [`PeerAddr`].
#[derive(Clone)]
struct AxumRoutes(Routes);

impl Service<Request<axum::body::Body>> for AxumRoutes {
    type Response = <Routes as Service<Request<axum::body::Body>>>::Response;
    type Error = Infallible;
    type Future = <Routes as Service<Request<axum::body::Body>>>::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Service::<Request<axum::body::Body>>::poll_ready(&mut self.0, cx)
    }

    fn call(&mut self, mut request: Request<axum::body::Body>) -> Self::Future {
        if let Some(ConnectInfo(peer)) = request.extensions().get::<ConnectInfo<SocketAddr>>().copied() {
            request.extensions_mut().insert(PeerAddr(peer));
        }
        self.0.call(request)
    }
}

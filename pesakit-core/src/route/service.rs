//! `Routes` as a `tower::Service`, which hosts built on tower mount.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Request, Response};
use http_body::Body;
use http_body_util::Full;

use super::Routes;

/// The response body every host sends.
pub type ResponseBody = Full<Bytes>;

/// `Routes` is a `tower::Service`, so it mounts in axum, hyper, tower
/// stacks and any framework that takes one; each call runs
/// [`Routes::dispatch_streaming`].
impl<B> tower_service::Service<Request<B>> for Routes
where
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Response = Response<ResponseBody>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let routes = self.clone();
        Box::pin(async move { Ok(routes.dispatch_streaming(request).await.map(Full::new)) })
    }
}

//! Serving any `http_body::Body`: the size limit while reading, and the
//! `tower::Service` implementation hosts mount.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Request, Response};
use http_body::Body;
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};

use super::Routes;
use super::dispatch::{Refusal, Started};
use crate::extract::PeerAddr;

/// The response body every host sends.
pub type ResponseBody = Full<Bytes>;

impl Routes {
    /// Serves a request whose body is still streaming: the path and method
    /// are checked first, a declared `Content-Length` over the limit is
    /// refused unread, and the body is never buffered past the limit.
    ///
    /// ```
    /// use http_body_util::Full;
    /// use pesakit_core::Routes;
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let request = http::Request::post("/callbacks/stk").body(Full::new(bytes::Bytes::new())).unwrap();
    /// assert_eq!(Routes::new().handle(request).await.status(), 404);
    /// # });
    /// ```
    pub fn handle<B>(&self, request: Request<B>) -> impl Future<Output = Response<Bytes>>
    where
        B: Body,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        self.handle_from(request, None)
    }

    /// [`handle`](Self::handle) with the peer address known to the host.
    pub(crate) fn handle_from<B>(
        &self,
        request: Request<B>,
        peer: Option<PeerAddr>,
    ) -> impl Future<Output = Response<Bytes>>
    where
        B: Body,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        // Taken apart before the future is built, so that it holds the
        // request once.
        let (parts, body) = request.into_parts();
        async move {
            // Hosts derive the size hint from `Content-Length`.
            let declared = usize::try_from(body.size_hint().lower()).ok();
            let route = match self.receive(&parts, declared.unwrap_or(0)) {
                Ok(route) => route,
                Err(refusal) => return refusal.into_response(&parts, declared.unwrap_or(0)),
            };
            let limit = self.settings.body_limit;
            let bytes = match Limited::new(body, limit).collect().await {
                Ok(collected) => collected.to_bytes(),
                Err(error) if error.downcast_ref::<LengthLimitError>().is_some() => {
                    return Refusal::TooLarge { limit }.into_response(&parts, limit + 1);
                }
                Err(error) => return Refusal::BodyUnreadable { reason: error.to_string() }.into_response(&parts, 0),
            };
            let handling = match self.start(route, &parts, &bytes, peer) {
                Started::Handling(handling) => handling,
                Started::Answered(response) => return response,
            };
            handling.await
        }
    }
}

/// `Routes` is a `tower::Service`, so it mounts in axum, hyper, tower
/// stacks and any framework that takes one.
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
        Box::pin(async move { Ok(routes.handle(request).await.map(Full::new)) })
    }
}

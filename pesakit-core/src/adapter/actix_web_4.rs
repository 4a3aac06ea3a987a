//! actix-web 4, which speaks http 0.2: requests and responses are converted
//! at the edge, and the body streams through the table's size limit.

use std::pin::Pin;
use std::task::{Context, Poll};

use actix_web::dev::{ServiceFactory, ServiceRequest};
use actix_web::{HttpRequest, HttpResponse, web};
use bytes::Bytes;
use futures_core::Stream;
use http_body::Frame;

use super::MountRoutes;
use crate::extract::PeerAddr;
use crate::route::Routes;

/// Mounts a route table into an actix-web `App`, beside its own services.
///
/// ```
/// use actix_web::App;
/// use pesakit::{MountRoutes, Routes};
///
/// let app = App::new().mount(Routes::new());
/// ```
impl<T> MountRoutes for actix_web::App<T>
where
    T: ServiceFactory<ServiceRequest, Config = (), Error = actix_web::Error, InitError = ()>,
{
    fn mount(self, routes: Routes) -> Self {
        let routes = super::checked(routes);
        self.configure(|config| configure(config, &routes))
    }
}

/// Mounts a route table into an actix-web `Scope`; paths are relative to the
/// scope's prefix.
impl MountRoutes for actix_web::Scope {
    fn mount(self, routes: Routes) -> Self {
        let routes = super::checked(routes);
        self.configure(|config| configure(config, &routes))
    }
}

fn configure(config: &mut web::ServiceConfig, routes: &Routes) {
    for route in routes {
        let routes = routes.clone();
        config.route(
            route.path(),
            web::to(move |request: HttpRequest, payload: web::Payload| {
                let routes = routes.clone();
                async move { serve(&routes, &request, payload).await }
            }),
        );
    }
}

async fn serve(routes: &Routes, request: &HttpRequest, payload: web::Payload) -> HttpResponse {
    let Some(converted) = convert_request(request, ActixBody(payload)) else {
        return HttpResponse::BadRequest()
            .content_type("application/json")
            .body(r#"{"error":"bad_request","message":"the request line or headers could not be read"}"#);
    };
    let response = routes.dispatch_streaming(converted).await;
    let status = actix_web::http::StatusCode::from_u16(response.status().as_u16())
        .unwrap_or(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR);
    let mut builder = HttpResponse::build(status);
    for (name, value) in response.headers() {
        builder.append_header((name.as_str(), value.as_bytes()));
    }
    builder.body(response.into_body())
}

/// The actix request as an `http` 1 request; `None` if a part does not
/// convert (never for what actix itself accepted).
fn convert_request(request: &HttpRequest, body: ActixBody) -> Option<http::Request<ActixBody>> {
    let mut converted = http::Request::new(body);
    *converted.method_mut() = http::Method::from_bytes(request.method().as_str().as_bytes()).ok()?;
    *converted.uri_mut() = request.uri().to_string().parse().ok()?;
    for (name, value) in request.headers() {
        converted.headers_mut().append(
            http::HeaderName::from_bytes(name.as_str().as_bytes()).ok()?,
            http::HeaderValue::from_bytes(value.as_bytes()).ok()?,
        );
    }
    if let Some(peer) = request.peer_addr() {
        converted.extensions_mut().insert(PeerAddr(peer));
    }
    Some(converted)
}

/// actix's streaming payload as an `http_body::Body`.
struct ActixBody(web::Payload);

impl http_body::Body for ActixBody {
    type Data = Bytes;
    type Error = actix_web::error::PayloadError;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        Pin::new(&mut self.get_mut().0).poll_next(cx).map(|chunk| chunk.map(|chunk| chunk.map(Frame::data)))
    }
}

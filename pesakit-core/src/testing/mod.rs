//! Test your handlers without Safaricom: build realistic Daraja bodies
//! ([`StkCallbackBuilder`], [`C2bPaymentBuilder`], [`ResultBuilder`]) and
//! post them to a [`Routes`] in-process, without a socket; with an inbox,
//! [`settled`] waits until what was posted has been handled.
//!
//! ```
//! use pesakit::{Routes, testing};
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let routes = Routes::new();
//! let response = testing::post(&routes, "/callbacks/stk", r#"{"Body":{}}"#).await;
//! assert_eq!(response.status(), 404);
//! assert_eq!(response.json()["error"], "not_found");
//! # });
//! ```

mod c2b_builder;
mod ids;
mod json;
mod phone;
mod result_builder;
mod stk_builder;

use std::net::SocketAddr;

use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::{HeaderMap, HeaderValue, Method, Request, StatusCode};

pub use c2b_builder::C2bPaymentBuilder;
pub use phone::{PhoneError, kenyan_mobile_number};
pub use result_builder::ResultBuilder;
pub use stk_builder::StkCallbackBuilder;

use crate::extract::PeerAddr;
use crate::inbox::StoreError;
use crate::route::Routes;

/// POSTs `body` to `path` as Daraja would (`Content-Type: application/json`).
///
/// # Panics
///
/// If `path` is not a valid request path, or `routes` fails
/// [`Routes::check`]: a mistake in the test.
pub async fn post(routes: &Routes, path: &str, body: impl Into<Bytes>) -> TestResponse {
    send(routes, TestRequest::post(path).body(body).build()).await
}

/// Waits until the table's inbox has handled what was posted to it and
/// stored each outcome, so that a test can check a handler's effect
/// without sleeping; at once for a table without an inbox, whose handlers
/// finish before their answer.
///
/// A handler that never ends keeps this waiting: give the test a timeout.
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use pesakit::testing::{self, StkCallbackBuilder};
/// use pesakit::{Inbox, State, StkCallback, daraja};
///
/// #[derive(Clone, Default)]
/// struct Orders(Arc<Mutex<Vec<String>>>);
///
/// #[daraja::stk_callback("/payments/stk")]
/// async fn paid(callback: StkCallback, State(orders): State<Orders>) {
///     orders.0.lock().unwrap().push(callback.checkout_request_id);
/// }
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// # let dir = std::env::temp_dir().join(format!("pesakit-doc-settled-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir).unwrap();
/// let orders = Orders::default();
/// let inbox = Inbox::sqlite(dir.join("inbox.db"))?;
/// let routes = pesakit::routes![paid].with_state(orders.clone()).with_inbox(inbox);
/// let payment = StkCallbackBuilder::paid();
/// testing::post(&routes, "/payments/stk", payment.build()).await; // answered once stored
/// testing::settled(&routes).await?; // ... and now handled
/// assert_eq!(*orders.0.lock().unwrap(), [payment.checkout_id()]);
/// # std::fs::remove_dir_all(&dir).ok();
/// # Ok::<(), pesakit::inbox::StoreError>(())
/// # }).unwrap();
/// ```
pub async fn settled(routes: &Routes) -> Result<(), StoreError> {
    match routes.inbox() {
        Some(inbox) => inbox.settled().await,
        None => Ok(()),
    }
}

/// Sends any request through [`Routes::dispatch`].
///
/// # Panics
///
/// When `routes` fails [`Routes::check`] (a handler takes a state the table
/// was not given), as serving it would refuse to start.
pub async fn send(routes: &Routes, request: Request<Bytes>) -> TestResponse {
    if let Err(error) = routes.check() {
        panic!("this route table cannot serve: {error}");
    }
    let response = routes.dispatch(request).await;
    let (parts, body) = response.into_parts();
    TestResponse { status: parts.status, headers: parts.headers, body }
}

/// A request under construction, for methods, headers and peers other
/// than a plain POST.
///
/// ```
/// use pesakit::testing::TestRequest;
///
/// let request = TestRequest::new(http::Method::GET, "/callbacks/stk")
///     .header("x-forwarded-for", "196.201.214.200")
///     .peer("196.201.214.200:443".parse().unwrap())
///     .build();
/// assert_eq!(request.method(), http::Method::GET);
/// ```
#[derive(Debug)]
pub struct TestRequest {
    request: Request<Bytes>,
}

impl TestRequest {
    /// A request with `method` to `path` and an empty body.
    ///
    /// # Panics
    ///
    /// If `path` is not a valid request path.
    pub fn new(method: Method, path: &str) -> Self {
        let mut request = Request::new(Bytes::new());
        *request.method_mut() = method;
        *request.uri_mut() = path.parse().unwrap_or_else(|error| panic!("invalid test path {path:?}: {error}"));
        request.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        Self { request }
    }

    /// A POST to `path`.
    pub fn post(path: &str) -> Self {
        Self::new(Method::POST, path)
    }

    /// Sets the body.
    pub fn body(mut self, body: impl Into<Bytes>) -> Self {
        *self.request.body_mut() = body.into();
        self
    }

    /// Adds a header.
    ///
    /// # Panics
    ///
    /// If `name` or `value` is not valid in a header.
    pub fn header(mut self, name: &'static str, value: &str) -> Self {
        let value =
            HeaderValue::from_str(value).unwrap_or_else(|error| panic!("invalid header value {value:?}: {error}"));
        self.request.headers_mut().append(name, value);
        self
    }

    /// Sets the peer address a [`PeerAddr`] argument sees.
    pub fn peer(mut self, address: SocketAddr) -> Self {
        self.request.extensions_mut().insert(PeerAddr(address));
        self
    }

    /// The finished request.
    pub fn build(self) -> Request<Bytes> {
        self.request
    }
}

/// The answer a [`Routes`] gave.
#[derive(Debug, Clone)]
pub struct TestResponse {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl TestResponse {
    /// The status code.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The body bytes.
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// The body as text (lossy for invalid UTF-8, which pesakit never sends).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON.
    ///
    /// # Panics
    ///
    /// If the body is not JSON, which pesakit never sends.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|error| panic!("response body is not JSON ({error}): {}", self.text()))
    }
}

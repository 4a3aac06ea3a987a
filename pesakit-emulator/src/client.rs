//! One POST of JSON over HTTP/1.1 or HTTPS, as Daraja delivers a callback:
//! the emulator's deliveries and `pesakit simulate` go through it.
//!
//! HTTPS trusts the Mozilla roots, as Daraja trusts publicly issued
//! certificates; a receiver with a certificate of its own (a self-signed one
//! on a developer's machine) is trusted once it is added with
//! [`Poster::trust`].

use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderMap, Request, StatusCode, Uri};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use rustls_pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

/// What a receiver answered.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The status.
    pub status: StatusCode,
    /// The `Content-Type`, if any and readable.
    pub content_type: Option<String>,
    /// The body.
    pub body: Bytes,
}

/// Posts JSON bodies; cheap to clone.
///
/// ```no_run
/// # async fn run() -> Result<(), String> {
/// use pesakit_emulator::client::Poster;
///
/// let answer = Poster::new()?
///     .post("https://pay.example.co.ke/callbacks/stk", r#"{"Body":{}}"#.to_owned(), &http::HeaderMap::new())
///     .await?;
/// println!("{}", answer.status);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Poster {
    roots: rustls::RootCertStore,
    tls: TlsConnector,
}

impl std::fmt::Debug for Poster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Poster").field("trusted_roots", &self.roots.len()).finish()
    }
}

impl Poster {
    /// Trusts the Mozilla roots.
    pub fn new() -> Result<Self, String> {
        Self::with_roots(rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() })
    }

    /// Also trusts `certificate` (DER), such as a receiver's self-signed
    /// one.
    pub fn trust(mut self, certificate: CertificateDer<'static>) -> Result<Self, String> {
        self.roots.add(certificate).map_err(|error| format!("cannot trust that certificate: {error}"))?;
        Self::with_roots(self.roots)
    }

    fn with_roots(roots: rustls::RootCertStore) -> Result<Self, String> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|error| format!("cannot set up TLS: {error}"))?
            .with_root_certificates(roots.clone())
            .with_no_client_auth();
        Ok(Self { roots, tls: TlsConnector::from(Arc::new(config)) })
    }

    /// POSTs `body` as JSON to `url` with `headers` besides `Host` and
    /// `Content-Type`; errors say what to fix. The caller bounds the time.
    pub async fn post(&self, url: &str, body: String, headers: &HeaderMap) -> Result<Answer, String> {
        if !url.contains("://") {
            return Err(format!("{url:?} has no scheme: did you mean \"http://{url}\"?"));
        }
        let uri: Uri = url.parse().map_err(|error| format!("{url:?} is not a URL: {error}"))?;
        let secure = match uri.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            _ => return Err(format!("{url:?} needs an http:// or https:// scheme")),
        };
        let host = uri.host().ok_or_else(|| format!("{url:?} has no host"))?;
        let bare_host = host.trim_matches(['[', ']']);
        let port = uri.port_u16().unwrap_or(if secure { 443 } else { 80 });
        let authority = uri.authority().map_or(host, |authority| authority.as_str());
        let path = uri.path_and_query().map_or("/", |path| path.as_str());
        let stream = TcpStream::connect((bare_host, port)).await.map_err(|error| {
            format!("cannot reach {host}:{port}: {error}; is the server running and the port right?")
        })?;
        let request = request(authority, path, body, headers)?;
        if !secure {
            return exchange(stream, request).await;
        }
        let name = ServerName::try_from(bare_host.to_owned())
            .map_err(|error| format!("{host:?} is not a valid TLS server name: {error}"))?;
        let stream =
            self.tls.connect(name, stream).await.map_err(|error| {
                format!("TLS with {host} failed: {error}; Daraja needs a publicly trusted certificate")
            })?;
        exchange(stream, request).await
    }
}

fn request(authority: &str, path: &str, body: String, headers: &HeaderMap) -> Result<Request<Full<Bytes>>, String> {
    let mut request = Request::post(path)
        .header(http::header::HOST, authority)
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from(body)))
        .map_err(|error| format!("cannot build the request: {error}"))?;
    request.headers_mut().extend(headers.clone());
    Ok(request)
}

async fn exchange<IO>(io: IO, request: Request<Full<Bytes>>) -> Result<Answer, String>
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(io))
        .await
        .map_err(|error| format!("HTTP handshake failed: {error}"))?;
    tokio::spawn(connection);
    let response = sender.send_request(request).await.map_err(|error| format!("the request failed: {error}"))?;
    let status = response.status();
    let content_type = response.headers().get("content-type").and_then(|value| value.to_str().ok()).map(str::to_owned);
    let body =
        response.into_body().collect().await.map_err(|error| format!("reading the answer failed: {error}"))?.to_bytes();
    Ok(Answer { status, content_type, body })
}

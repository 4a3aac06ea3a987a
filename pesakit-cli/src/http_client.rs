//! One POST over HTTP/1.1 or HTTPS (rustls with the Mozilla roots), with a
//! timeout, for the simulator.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, StatusCode, Uri};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

/// The answer an endpoint gave.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) content_type: Option<String>,
    pub(crate) body: Bytes,
}

/// POSTs `body` as JSON to `url`, with `X-Forwarded-For: forwarded_for`
/// if given; errors say what to fix.
pub(crate) async fn post(
    url: &str,
    body: String,
    forwarded_for: Option<IpAddr>,
    timeout: Duration,
) -> Result<Answer, String> {
    let without_scheme = || format!("{url:?} has no scheme: did you mean \"http://{url}\"?");
    if !url.contains("://") {
        return Err(without_scheme());
    }
    let uri: Uri = url.parse().map_err(|error| format!("{url:?} is not a URL: {error}"))?;
    let secure = match uri.scheme_str() {
        Some("https") => true,
        Some("http") => false,
        _ => return Err(format!("{url:?} needs an http:// or https:// scheme")),
    };
    let host = uri.host().ok_or_else(|| format!("{url:?} has no host"))?.to_owned();
    let port = uri.port_u16().unwrap_or(if secure { 443 } else { 80 });
    let path = uri.path_and_query().map_or("/", |path| path.as_str()).to_owned();
    let exchange = async {
        let stream = TcpStream::connect((host.trim_matches(['[', ']']), port)).await.map_err(|error| {
            format!("cannot reach {host}:{port}: {error}; is the server running and the port right?")
        })?;
        if secure {
            let connector = tls_connector()?;
            let name = rustls_pki_types::ServerName::try_from(host.clone())
                .map_err(|error| format!("{host:?} is not a valid TLS server name: {error}"))?;
            let stream = connector.connect(name, stream).await.map_err(|error| {
                format!("TLS with {host} failed: {error}; Daraja needs a publicly trusted certificate")
            })?;
            exchange(stream, &host, &path, body, forwarded_for).await
        } else {
            exchange(stream, &host, &path, body, forwarded_for).await
        }
    };
    tokio::time::timeout(timeout, exchange)
        .await
        .map_err(|_| format!("{url} did not answer within {timeout:?}; Daraja gives up on slow endpoints"))?
}

async fn exchange<IO>(
    io: IO,
    host: &str,
    path: &str,
    body: String,
    forwarded_for: Option<IpAddr>,
) -> Result<Answer, String>
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(io))
        .await
        .map_err(|error| format!("HTTP handshake failed: {error}"))?;
    tokio::spawn(connection);
    let mut request = Request::post(path)
        .header("host", host)
        .header("content-type", "application/json")
        .header("user-agent", concat!("pesakit-simulator/", env!("CARGO_PKG_VERSION")));
    if let Some(address) = forwarded_for {
        request = request.header("x-forwarded-for", address.to_string());
    }
    let request =
        request.body(Full::new(Bytes::from(body))).map_err(|error| format!("cannot build the request: {error}"))?;
    let response = sender.send_request(request).await.map_err(|error| format!("the request failed: {error}"))?;
    let status = response.status();
    let content_type = response.headers().get("content-type").and_then(|value| value.to_str().ok()).map(str::to_owned);
    let body =
        response.into_body().collect().await.map_err(|error| format!("reading the answer failed: {error}"))?.to_bytes();
    Ok(Answer { status, content_type, body })
}

fn tls_connector() -> Result<tokio_rustls::TlsConnector, String> {
    let roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|error| format!("cannot set up TLS: {error}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(tokio_rustls::TlsConnector::from(Arc::new(config)))
}

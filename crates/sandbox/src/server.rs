//! HTTPS listeners on loopback. Every service the sandbox emulates is an axum router served here.

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

/// The largest request body any emulated service accepts.
const MAX_BODY: usize = 32 * 1024 * 1024;

/// Binds 127.0.0.1:`port` (0 = any free port). Never another interface: the sandbox is local only.
pub async fn bind(port: u16) -> std::io::Result<TcpListener> {
    TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port))).await
}

/// Serves `router` over TLS on `listener` until the task is dropped.
pub async fn serve(listener: TcpListener, tls: Arc<rustls::ServerConfig>, router: Router) {
    let acceptor = TlsAcceptor::from(tls);
    loop {
        let (tcp, peer) = match listener.accept().await {
            Ok(conn) => conn,
            Err(e) => {
                tracing::warn!("accept failed: {e}");
                continue;
            }
        };
        let acceptor = acceptor.clone();
        let router = router.clone();
        let chain = std::sync::Arc::new(std::sync::OnceLock::<crate::x509::ClientChain>::new());
        let connection_chain = chain.clone();
        // A response marked ResetConnection (fault injection) ends the connection unanswered.
        let service = hyper::service::service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
            let router = router.clone();
            let connection_chain = connection_chain.clone();
            async move {
                // The whole body is read before routing: a request refused early must not leave
                // unread bytes, or hyper closes the kept-alive connection under the client's feet.
                let (mut parts, body) = request.into_parts();
                if let Some(chain) = connection_chain.get() {
                    parts.extensions.insert(chain.clone());
                }
                let response = match axum::body::to_bytes(axum::body::Body::new(body), MAX_BODY).await {
                    Ok(bytes) => {
                        router.oneshot(axum::http::Request::from_parts(parts, axum::body::Body::from(bytes))).await.unwrap_or_else(|never| match never {})
                    }
                    Err(_) => axum::response::IntoResponse::into_response((
                        axum::http::StatusCode::PAYLOAD_TOO_LARGE,
                        "The request body is larger than the sandbox accepts (32 MiB).",
                    )),
                };
                match response.extensions().get::<crate::faults::ResetConnection>() {
                    Some(_) => Err(std::io::Error::new(std::io::ErrorKind::ConnectionReset, "fault injected: connection reset")),
                    None => Ok(response),
                }
            }
        });
        tokio::spawn(async move {
            let tls = match acceptor.accept(tcp).await {
                Ok(tls) => tls,
                Err(e) => {
                    tracing::debug!(%peer, "TLS handshake failed: {e}");
                    return;
                }
            };
            if let Some(certs) = tls.get_ref().1.peer_certificates() {
                let _ = chain.set(crate::x509::ClientChain(std::sync::Arc::new(certs.iter().map(|c| c.clone().into_owned()).collect())));
            }
            if let Err(e) = auto::Builder::new(TokioExecutor::new()).serve_connection(TokioIo::new(tls), service).await {
                tracing::debug!(%peer, "connection ended: {e}");
            }
        });
    }
}

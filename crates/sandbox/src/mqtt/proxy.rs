//! An HTTP CONNECT proxy on loopback, for device SDKs whose MQTT port is fixed. The Python SDK
//! always dials port 8883, which the sandbox cannot own, but it honours
//! `ProxyOptions("HTTP", "127.0.0.1", port)`: it then sends `CONNECT localhost:8883 HTTP/1.1`
//! here, and `route` says which of the sandbox's ephemeral ports stands for that host and port.
//! After the `200` the proxy only copies bytes; TLS runs end to end between device and service.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tokio::time::timeout;

/// Where a `CONNECT host:port` goes; `None` refuses it with 403. The host is as the client wrote it
/// (PySocks sends the name, or the IP if told to resolve locally).
pub type Route = Arc<dyn Fn(&str, u16) -> Option<SocketAddr> + Send + Sync>;

/// A CONNECT request and its headers are a few dozen bytes; more is not a device SDK.
const MAX_HEAD: usize = 8 * 1024;
const HEAD_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a refused client may keep sending before the socket closes under it.
const LINGER: Duration = Duration::from_millis(500);

const ESTABLISHED: &[u8] = b"HTTP/1.1 200 Connection established\r\n\r\n";

#[derive(Debug, thiserror::Error)]
enum ProxyError {
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error("the request head did not arrive within {HEAD_TIMEOUT:?}")]
    Timeout,
    #[error("the request head passed {MAX_HEAD} bytes")]
    HeadTooLarge,
    #[error("the client closed before the end of the request head")]
    Incomplete,
    #[error("malformed request: {0}")]
    Malformed(&'static str),
    #[error("method {0} is not CONNECT")]
    NotConnect(String),
    #[error("no route to {0}:{1}")]
    NoRoute(String, u16),
    #[error("the route for {0}:{1} leads to {2}, which refused: {3}")]
    Unreachable(String, u16, SocketAddr, std::io::Error),
    #[error("a non-loopback peer {0}")]
    NotLoopback(SocketAddr),
}

impl ProxyError {
    /// The response that explains the failure to the client, when it is still listening.
    fn response(&self) -> Option<&'static [u8]> {
        match self {
            ProxyError::Malformed(_) => Some(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"),
            ProxyError::NotConnect(_) => Some(b"HTTP/1.1 405 Method Not Allowed\r\nAllow: CONNECT\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"),
            ProxyError::HeadTooLarge => Some(b"HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"),
            ProxyError::NoRoute(..) => Some(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"),
            ProxyError::Unreachable(..) => Some(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"),
            ProxyError::Io(_) | ProxyError::Timeout | ProxyError::Incomplete | ProxyError::NotLoopback(_) => None,
        }
    }
}

/// Serves CONNECT tunnels on `listener` (bind it with `crate::server::bind`: loopback only) until
/// the task is dropped, which also closes every tunnel it opened.
pub async fn serve_connect_proxy(listener: TcpListener, route: Route) {
    let mut tunnels = JoinSet::new();
    loop {
        let (client, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(e) => {
                    tracing::warn!("proxy accept failed: {e}");
                    continue;
                }
            },
            Some(_) = tunnels.join_next() => continue,
        };
        let route = route.clone();
        tunnels.spawn(async move {
            match tunnel(client, peer, &route).await {
                Ok(()) => tracing::debug!(%peer, "proxy tunnel closed"),
                Err(e) => tracing::debug!(%peer, "proxy tunnel ended: {e}"),
            }
        });
    }
}

async fn tunnel(mut client: TcpStream, peer: SocketAddr, route: &Route) -> Result<(), ProxyError> {
    if !peer.ip().is_loopback() {
        return Err(ProxyError::NotLoopback(peer));
    }
    let opened = match timeout(HEAD_TIMEOUT, read_head(&mut client)).await {
        Err(_) => Err(ProxyError::Timeout),
        Ok(head) => head.and_then(|(head, early)| {
            let (host, port) = parse_connect(&head)?;
            let target = route(&host, port).ok_or_else(|| ProxyError::NoRoute(host.clone(), port))?;
            Ok((host, port, target, early))
        }),
    };
    let (host, port, target, early) = match opened {
        Ok(opened) => opened,
        Err(e) => return Err(answer(&mut client, e).await),
    };
    let mut upstream = match TcpStream::connect(target).await {
        Ok(upstream) => upstream,
        Err(e) => return Err(answer(&mut client, ProxyError::Unreachable(host, port, target, e)).await),
    };
    tracing::debug!(%peer, %host, port, %target, "proxy tunnel open");
    // One write: PySocks reads the status line through a buffered file and throws the buffer away,
    // so the blank line must arrive with it, never after it in front of the TLS handshake.
    client.write_all(ESTABLISHED).await?;
    upstream.write_all(&early).await?;
    tokio::io::copy_bidirectional(&mut client, &mut upstream).await?;
    Ok(())
}

/// Sends the error's response, if it has one, and hands the error back for the log. Unread request
/// bytes are drained for a moment first: closing a socket with unread input sends a reset, which
/// can destroy the response before the client reads it.
async fn answer(client: &mut TcpStream, error: ProxyError) -> ProxyError {
    if let Some(response) = error.response() {
        let _ = client.write_all(response).await;
        let _ = client.shutdown().await;
        let mut sink = [0u8; 1024];
        let _ = timeout(LINGER, async {
            let mut drained = 0;
            while drained < MAX_HEAD * 8 {
                match client.read(&mut sink).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => drained += n,
                }
            }
        })
        .await;
    }
    error
}

/// The request head up to its blank line, and any bytes the client sent after it (a client that
/// starts TLS without waiting for the 200 must not lose its ClientHello).
async fn read_head(client: &mut TcpStream) -> Result<(String, Vec<u8>), ProxyError> {
    let mut buf = Vec::with_capacity(512);
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let early = buf.split_off(end + 4);
            let head = String::from_utf8(buf).map_err(|_| ProxyError::Malformed("the request head is not UTF-8"))?;
            return Ok((head, early));
        }
        if buf.len() >= MAX_HEAD {
            return Err(ProxyError::HeadTooLarge);
        }
        let mut chunk = [0u8; 1024];
        let want = chunk.len().min(MAX_HEAD + 3 - buf.len());
        match client.read(&mut chunk[..want]).await? {
            0 => return Err(ProxyError::Incomplete),
            n => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

/// `CONNECT host:port HTTP/1.x` → host and port. IPv6 hosts come bracketed: `[::1]:8883`.
fn parse_connect(head: &str) -> Result<(String, u16), ProxyError> {
    let request_line = head.split("\r\n").next().unwrap_or_default();
    let mut parts = request_line.split(' ');
    let (Some(method), Some(authority), Some(version), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(ProxyError::Malformed("the request line is not `METHOD target HTTP/1.x`"));
    };
    if !version.starts_with("HTTP/1.") {
        return Err(ProxyError::Malformed("not HTTP/1.x"));
    }
    if method != "CONNECT" {
        return Err(ProxyError::NotConnect(method.to_owned()));
    }
    let (host, port) = authority.rsplit_once(':').ok_or(ProxyError::Malformed("the CONNECT target has no port"))?;
    let port: u16 = port.parse().map_err(|_| ProxyError::Malformed("the CONNECT target's port is not a number"))?;
    let host = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
    if host.is_empty() || port == 0 {
        return Err(ProxyError::Malformed("the CONNECT target has no host or port 0"));
    }
    Ok((host.to_owned(), port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connect_targets_are_parsed() {
        let head = "CONNECT localhost:8883 HTTP/1.1\r\nHost: localhost\r\n\r\n";
        assert_eq!(parse_connect(head).unwrap(), ("localhost".to_owned(), 8883));
        assert_eq!(parse_connect("CONNECT [::1]:443 HTTP/1.0\r\n\r\n").unwrap(), ("::1".to_owned(), 443));
        assert_eq!(parse_connect("CONNECT 127.0.0.1:8883 HTTP/1.1\r\n\r\n").unwrap(), ("127.0.0.1".to_owned(), 8883));
    }

    #[test]
    fn bad_request_lines_are_refused_with_the_right_status() {
        for bad in [
            "CONNECT localhost HTTP/1.1",
            "CONNECT localhost:http HTTP/1.1",
            "CONNECT :8883 HTTP/1.1",
            "CONNECT localhost:8883",
            "CONNECT localhost:8883 SPDY/3",
            "garbage",
            "",
        ] {
            let err = parse_connect(bad).unwrap_err();
            assert!(matches!(err, ProxyError::Malformed(_)), "{bad}: {err}");
            assert!(err.response().unwrap().starts_with(b"HTTP/1.1 400 "));
        }
        let err = parse_connect("GET http://localhost/ HTTP/1.1\r\n\r\n").unwrap_err();
        assert!(matches!(err, ProxyError::NotConnect(ref m) if m == "GET"));
        assert!(err.response().unwrap().starts_with(b"HTTP/1.1 405 "));
    }
}

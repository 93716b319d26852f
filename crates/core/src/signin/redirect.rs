//! The one-shot redirect listener: `http://localhost:<port>` on the loopback addresses only, IPv4
//! and IPv6 both. `localhost` in the redirect URI resolves to either, and browsers try `[::1]`
//! first; listening on 127.0.0.1 alone let a program on `[::1]:<port>` take the redirect while the
//! sign-in waited for nothing. So both are bound, and a port taken on either is reported with who
//! holds it. It answers every request the browser makes, but ends only on the one carrying this
//! sign-in's `state` — with its code, or with Entra's error explained — so a stray or forged request
//! cannot end or hijack the sign-in. It gives up after the timeout or when cancelled, and closes
//! when it ends.

use super::aadsts::explain;
use super::{page, port_holder, SignInError};
use std::collections::HashMap;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

/// How long the app waits for the browser, as the issue and MSAL's defaults do.
pub const SIGN_IN_TIMEOUT: Duration = Duration::from_secs(5 * 60);

pub struct RedirectListener {
    listener: TcpListener,
    /// `[::1]` on the same port; `None` where this computer has no IPv6 loopback (nothing else
    /// can listen there either).
    listener_v6: Option<TcpListener>,
    port: u16,
}

/// How many times a random port (0) is drawn again when its IPv6 twin is taken.
const RANDOM_PORT_TRIES: usize = 5;

/// The authorization code, once the right redirect arrived. Secret until redeemed.
pub struct AuthorizationCode(pub String);

impl std::fmt::Debug for AuthorizationCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuthorizationCode([REDACTED])")
    }
}

impl RedirectListener {
    /// Binds 127.0.0.1:`port` and [::1]:`port`; a port busy on either is reported with who holds
    /// it. Port 0 draws a port free on both.
    pub async fn bind(port: u16) -> Result<RedirectListener, SignInError> {
        let mut tries = if port == 0 { RANDOM_PORT_TRIES } else { 1 };
        loop {
            tries -= 1;
            let listener = match TcpListener::bind(("127.0.0.1", port)).await {
                Ok(listener) => listener,
                Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => return Err(SignInError::PortBusy { port, holder: port_holder::holder(port) }),
                Err(e) => return Err(SignInError::ListenerFailed { port, message: e.to_string() }),
            };
            let bound = listener.local_addr().map(|a| a.port()).unwrap_or(port);
            match TcpListener::bind(("::1", bound)).await {
                Ok(v6) => return Ok(RedirectListener { listener, listener_v6: Some(v6), port: bound }),
                Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
                    // Ours is let go first, so the holder found is the other program.
                    drop(listener);
                    if tries > 0 {
                        continue;
                    }
                    let holder = port_holder::holder(bound).unwrap_or_else(|| "another program".into());
                    return Err(SignInError::PortBusy { port: bound, holder: Some(format!("{holder} on [::1], the IPv6 localhost")) });
                }
                // No IPv6 loopback here: `localhost` can only mean 127.0.0.1.
                Err(e) => {
                    tracing::debug!("no IPv6 loopback to listen on ({e}); the redirect comes to 127.0.0.1");
                    return Ok(RedirectListener { listener, listener_v6: None, port: bound });
                }
            }
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://localhost:<port>` — what the app registration lists.
    pub fn redirect_uri(&self) -> String {
        format!("http://localhost:{}", self.port)
    }

    /// Waits for the redirect carrying `state`.
    pub async fn wait(self, state: &str, timeout: Duration, cancel: oneshot::Receiver<()>) -> Result<AuthorizationCode, SignInError> {
        let redirect_uri = self.redirect_uri();
        let accept_v6 = || async {
            match &self.listener_v6 {
                Some(v6) => v6.accept().await,
                None => std::future::pending().await,
            }
        };
        let serve = async {
            loop {
                let accepted = tokio::select! {
                    accepted = self.listener.accept() => accepted,
                    accepted = accept_v6() => accepted,
                };
                let Ok((stream, peer)) = accepted else { continue };
                if !peer.ip().is_loopback() {
                    continue;
                }
                if let Some(outcome) = answer(stream, state, &redirect_uri).await {
                    return outcome;
                }
            }
        };
        tokio::select! {
            outcome = serve => outcome,
            _ = tokio::time::sleep(timeout) => Err(SignInError::TimedOut { minutes: timeout.as_secs().div_ceil(60) }),
            _ = cancel => Err(SignInError::Cancelled),
        }
    }
}

/// Reads one request and answers it; `Some` when it was this sign-in's redirect.
async fn answer(mut stream: TcpStream, state: &str, redirect_uri: &str) -> Option<Result<AuthorizationCode, SignInError>> {
    let mut head = Vec::with_capacity(2048);
    let mut buf = [0u8; 1024];
    let read = tokio::time::timeout(Duration::from_secs(10), async {
        while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16 * 1024 {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => head.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    if read.is_err() {
        return None;
    }
    let text = String::from_utf8_lossy(&head);
    let target = text.lines().next().and_then(|line| line.strip_prefix("GET ")).and_then(|rest| rest.split(' ').next()).unwrap_or("");
    let query: HashMap<String, String> =
        target.split_once('?').map(|(_, q)| url::form_urlencoded::parse(q.as_bytes()).into_owned().collect()).unwrap_or_default();
    if query.get("state").map(String::as_str) != Some(state) {
        let status = if target.starts_with("/favicon") { "404 Not Found" } else { "400 Bad Request" };
        respond(&mut stream, status, &page::not_this_sign_in()).await;
        return None;
    }
    let outcome = match (query.get("code"), query.get("error")) {
        (Some(code), None) if !code.is_empty() => Ok(AuthorizationCode(code.clone())),
        (_, error) => {
            let explained =
                explain(error.map(String::as_str).unwrap_or("invalid_request"), query.get("error_description").map(String::as_str).unwrap_or(""), redirect_uri);
            Err(SignInError::Entra(explained))
        }
    };
    let body = match &outcome {
        Ok(_) => page::signed_in(),
        Err(e) => page::failed(&e.to_string(), e.fix().as_deref()),
    };
    respond(&mut stream, if outcome.is_ok() { "200 OK" } else { "400 Bad Request" }, &body).await;
    Some(outcome)
}

async fn respond(stream: &mut TcpStream, status: &str, body: &str) {
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nCache-Control: no-store\r\nContent-Security-Policy: default-src 'none'; style-src 'unsafe-inline'\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn get(port: u16, path: &str) -> String {
        let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        s.write_all(format!("GET {path} HTTP/1.1\r\nHost: localhost:{port}\r\n\r\n").as_bytes()).await.unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).await.unwrap();
        out
    }

    #[tokio::test]
    async fn only_the_redirect_with_the_right_state_ends_the_wait_and_its_code_comes_back() {
        let listener = RedirectListener::bind(0).await.unwrap();
        let port = listener.port();
        let (_cancel, cancelled) = oneshot::channel();
        let waiting = tokio::spawn(async move { listener.wait("s-1", SIGN_IN_TIMEOUT, cancelled).await });
        assert!(get(port, "/favicon.ico").await.starts_with("HTTP/1.1 404"));
        assert!(get(port, "/?code=stolen&state=forged").await.contains("Not this sign-in"));
        let ok = get(port, "/?code=the-code&state=s-1").await;
        assert!(ok.starts_with("HTTP/1.1 200") && ok.contains("Signed in"));
        assert_eq!(waiting.await.unwrap().unwrap().0, "the-code");
        assert!(TcpStream::connect(("127.0.0.1", port)).await.is_err(), "the listener closes once done");
    }

    #[tokio::test]
    async fn an_entra_error_in_the_redirect_is_explained_in_the_tab_and_to_the_app() {
        let listener = RedirectListener::bind(0).await.unwrap();
        let port = listener.port();
        let (_cancel, cancelled) = oneshot::channel();
        let waiting = tokio::spawn(async move { listener.wait("s-2", SIGN_IN_TIMEOUT, cancelled).await });
        let page = get(port, "/?error=access_denied&error_description=AADSTS65004%3A+User+declined+to+consent&state=s-2").await;
        assert!(page.contains("Sign-in failed") && page.contains("declined"));
        let err = waiting.await.unwrap().unwrap_err();
        assert_eq!(err.code(), "signin.access_denied");
    }

    #[tokio::test]
    async fn cancel_and_timeout_end_the_wait() {
        let listener = RedirectListener::bind(0).await.unwrap();
        let (cancel, cancelled) = oneshot::channel();
        let waiting = tokio::spawn(async move { listener.wait("s", SIGN_IN_TIMEOUT, cancelled).await });
        cancel.send(()).unwrap();
        assert_eq!(waiting.await.unwrap().unwrap_err(), SignInError::Cancelled);
        let listener = RedirectListener::bind(0).await.unwrap();
        let (_keep, cancelled) = oneshot::channel();
        let err = listener.wait("s", Duration::from_millis(50), cancelled).await.unwrap_err();
        assert_eq!(err.code(), "signin.timed_out");
    }

    #[tokio::test]
    async fn the_redirect_is_received_on_the_ipv6_localhost_too() {
        let listener = RedirectListener::bind(0).await.unwrap();
        let port = listener.port();
        let (_cancel, cancelled) = oneshot::channel();
        let waiting = tokio::spawn(async move { listener.wait("s-6", SIGN_IN_TIMEOUT, cancelled).await });
        let mut s = TcpStream::connect(("::1", port)).await.expect("the listener is on [::1] too");
        s.write_all(format!("GET /?code=six&state=s-6 HTTP/1.1\r\nHost: localhost:{port}\r\n\r\n").as_bytes()).await.unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).await.unwrap();
        assert!(out.starts_with("HTTP/1.1 200"), "{out}");
        assert_eq!(waiting.await.unwrap().unwrap().0, "six");
    }

    #[tokio::test]
    async fn a_program_on_the_ipv6_localhost_port_is_named_not_left_to_take_the_redirect() {
        let taken = std::net::TcpListener::bind(("::1", 0)).expect("this computer has an IPv6 loopback");
        let port = taken.local_addr().unwrap().port();
        match RedirectListener::bind(port).await {
            Err(SignInError::PortBusy { port: p, holder }) => {
                assert_eq!(p, port);
                let holder = holder.unwrap();
                assert!(holder.contains("[::1]"), "{holder}");
                #[cfg(target_os = "linux")]
                assert!(holder.contains(&std::process::id().to_string()), "{holder}");
            }
            other => panic!("expected PortBusy, got a listener on {:?}", other.map(|l| l.port())),
        }
    }

    #[tokio::test]
    async fn a_busy_port_says_who_holds_it() {
        let taken = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
        let port = taken.local_addr().unwrap().port();
        match RedirectListener::bind(port).await {
            Err(SignInError::PortBusy { port: p, holder }) => {
                assert_eq!(p, port);
                #[cfg(target_os = "linux")]
                assert!(holder.is_some_and(|h| h.contains(&std::process::id().to_string())));
            }
            other => panic!("expected PortBusy, got {:?}", other.map(|l| l.port())),
        }
    }
}

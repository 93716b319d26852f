//! The MQTT 3.1.1 server over TLS: the smallest responder the Azure device SDKs accept (measured:
//! CONNACK, SUBACK, PUBACK, UNSUBACK, PINGRESP over TLS 1.2). No retained messages, no persistent
//! sessions, no QoS 2; every connection is a client of the one `MqttHandler`.

use super::codec::{self, CodecError, Packet, Publish};
use super::handler::{ConnectInfo, ConnectRefusal, MqttHandler, MqttSession, Outgoing};
use super::topic;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio::time::{sleep_until, timeout, timeout_at, Instant};
use tokio_rustls::TlsAcceptor;

/// TLS handshake plus CONNECT must finish within this, so a silent socket cannot linger.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a connection ended other than by DISCONNECT or the client closing it. Logged at debug only:
/// a misbehaving client is the client's problem, not the sandbox's.
#[derive(Debug, thiserror::Error)]
enum ConnectionError {
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Codec(#[from] CodecError),
    #[error("TLS handshake and CONNECT took longer than {CONNECT_TIMEOUT:?}")]
    ConnectTimeout,
    #[error("the first packet was {0}, not CONNECT")]
    NotConnect(&'static str),
    #[error("CONNECT refused: {0}")]
    Refused(ConnectRefusal),
    #[error("nothing received for 1.5 × the {0}-second keep-alive")]
    KeepAliveExpired(u16),
    #[error("protocol violation: {0}")]
    Protocol(&'static str),
    #[error("the client sent {0}, which only servers send")]
    ServerOnly(&'static str),
}

/// Serves MQTT over TLS on `listener` until the task is dropped; dropping it also ends every
/// connection it accepted, so a reloaded sandbox leaves no device talking to a stale service.
pub async fn serve(listener: TcpListener, tls: Arc<rustls::ServerConfig>, handler: Arc<dyn MqttHandler>) {
    let acceptor = TlsAcceptor::from(without_alpn(&tls));
    let mut connections = JoinSet::new();
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(e) => {
                    tracing::warn!("MQTT accept failed: {e}");
                    continue;
                }
            },
            Some(_) = connections.join_next() => continue,
        };
        let acceptor = acceptor.clone();
        let handler = handler.clone();
        connections.spawn(async move {
            let deadline = Instant::now() + CONNECT_TIMEOUT;
            let result = match timeout(CONNECT_TIMEOUT, acceptor.accept(tcp)).await {
                Ok(Ok(stream)) => {
                    let certificates = stream.get_ref().1.peer_certificates().map(|c| c.iter().map(|c| c.clone().into_owned()).collect()).unwrap_or_default();
                    serve_connection(stream, peer, certificates, handler.as_ref(), deadline).await
                }
                Ok(Err(e)) => Err(ConnectionError::Io(e)),
                Err(_) => Err(ConnectionError::ConnectTimeout),
            };
            match result {
                Ok(()) => tracing::debug!(%peer, "MQTT connection closed"),
                Err(e) => tracing::debug!(%peer, "MQTT connection ended: {e}"),
            }
        });
    }
}

/// The HTTPS listeners' config offers ALPN `http/1.1`; a client offering only `mqtt` would then be
/// refused, so MQTT uses the same certificate with no ALPN (rustls then ignores the client's list).
fn without_alpn(tls: &rustls::ServerConfig) -> Arc<rustls::ServerConfig> {
    let mut config = tls.clone();
    config.alpn_protocols.clear();
    Arc::new(config)
}

/// Calls `closed` however the connection ends, including the task being aborted.
struct SessionGuard(Box<dyn MqttSession>);

impl Drop for SessionGuard {
    fn drop(&mut self) {
        self.0.closed();
    }
}

async fn serve_connection<S>(
    mut stream: S,
    peer: SocketAddr,
    client_certificates: Vec<rustls::pki_types::CertificateDer<'static>>,
    handler: &dyn MqttHandler,
    deadline: Instant,
) -> Result<(), ConnectionError>
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    let mut buf = Vec::with_capacity(4096);
    let connect = match timeout_at(deadline, read_packet(&mut stream, &mut buf)).await {
        Err(_) => return Err(ConnectionError::ConnectTimeout),
        Ok(read) => match read? {
            None => return Ok(()),
            Some(Packet::Connect(connect)) => connect,
            Some(other) => return Err(ConnectionError::NotConnect(packet_name(&other))),
        },
    };
    if connect.protocol_name != "MQTT" || connect.protocol_level != 4 {
        return refuse(&mut stream, ConnectRefusal::UnacceptableProtocolVersion).await;
    }
    let (outbox, inbox) = mpsc::unbounded_channel();
    let info = ConnectInfo {
        client_id: connect.client_id.clone(),
        username: connect.username.clone(),
        password: connect.password.clone(),
        keep_alive: connect.keep_alive,
        clean_session: connect.clean_session,
        peer,
        client_certificates,
    };
    let session = match handler.connect(&info, outbox) {
        Ok(session) => SessionGuard(session),
        Err(refusal) => return refuse(&mut stream, refusal).await,
    };
    tracing::debug!(%peer, client_id = %info.client_id, "MQTT client connected");
    write(&mut stream, &Packet::ConnAck { session_present: false, code: 0 }).await?;
    Connection { stream, buf, session, subscriptions: Vec::new(), next_packet_id: 0 }.run(connect.keep_alive, inbox).await
}

async fn refuse<S: AsyncWrite + Unpin>(stream: &mut S, refusal: ConnectRefusal) -> Result<(), ConnectionError> {
    write(stream, &Packet::ConnAck { session_present: false, code: refusal.code() }).await?;
    let _ = stream.shutdown().await;
    Err(ConnectionError::Refused(refusal))
}

/// Reads until one packet is whole; `None` when the client closed the stream.
async fn read_packet<S: AsyncRead + Unpin>(stream: &mut S, buf: &mut Vec<u8>) -> Result<Option<Packet>, ConnectionError> {
    loop {
        if let Some(packet) = codec::decode(buf)? {
            return Ok(Some(packet));
        }
        if stream.read_buf(buf).await? == 0 {
            return Ok(None);
        }
    }
}

async fn write<S: AsyncWrite + Unpin>(stream: &mut S, packet: &Packet) -> Result<(), ConnectionError> {
    stream.write_all(&packet.encode()?).await?;
    // TLS streams buffer plaintext into records; without a flush the packet may sit there.
    stream.flush().await?;
    Ok(())
}

/// An accepted connection after CONNACK.
struct Connection<S> {
    stream: S,
    buf: Vec<u8>,
    session: SessionGuard,
    /// Topic filters with the QoS granted for each.
    subscriptions: Vec<(String, u8)>,
    next_packet_id: u16,
}

/// Whether to keep reading after a packet.
enum Flow {
    Continue,
    Close,
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Connection<S> {
    async fn run(mut self, keep_alive: u16, mut inbox: mpsc::UnboundedReceiver<Outgoing>) -> Result<(), ConnectionError> {
        // Spec 3.1.2.10: the server may close after 1.5 × keep-alive without a control packet.
        let grace = (keep_alive > 0).then(|| Duration::from_millis(u64::from(keep_alive) * 1500));
        let mut deadline = grace.map(|g| Instant::now() + g);
        loop {
            while let Some(packet) = codec::decode(&mut self.buf)? {
                if let Flow::Close = self.handle(packet).await? {
                    let _ = self.stream.shutdown().await;
                    return Ok(());
                }
            }
            let expiry = async move {
                match deadline {
                    Some(at) => sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                read = self.stream.read_buf(&mut self.buf) => {
                    if read? == 0 {
                        return Ok(());
                    }
                    deadline = grace.map(|g| Instant::now() + g);
                }
                Some(message) = inbox.recv() => {
                    if message.is_close() {
                        let _ = self.stream.shutdown().await;
                        return Ok(());
                    }
                    self.deliver(message).await?
                }
                () = expiry => return Err(ConnectionError::KeepAliveExpired(keep_alive)),
            }
        }
    }

    async fn handle(&mut self, packet: Packet) -> Result<Flow, ConnectionError> {
        match packet {
            Packet::Publish(publish) => return self.publish(publish).await,
            // Acknowledges one of our QoS 1 deliveries; nothing is retransmitted, so nothing to do.
            Packet::PubAck { .. } => {}
            Packet::Subscribe { packet_id, filters } => self.subscribe(packet_id, filters).await?,
            Packet::Unsubscribe { packet_id, filters } => {
                self.subscriptions.retain(|(held, _)| !filters.contains(held));
                // The Node DPS client waits for this before it disconnects.
                write(&mut self.stream, &Packet::UnsubAck { packet_id }).await?;
            }
            Packet::PingReq => write(&mut self.stream, &Packet::PingResp).await?,
            Packet::Disconnect => return Ok(Flow::Close),
            Packet::Connect(_) => return Err(ConnectionError::Protocol("a second CONNECT")),
            other @ (Packet::ConnAck { .. } | Packet::SubAck { .. } | Packet::UnsubAck { .. } | Packet::PingResp) => {
                return Err(ConnectionError::ServerOnly(packet_name(&other)));
            }
        }
        Ok(Flow::Continue)
    }

    /// Acknowledges, hands the message to the session, and sends its replies; a reply that is
    /// `Outgoing::close()` ends the connection (IoT Hub refusing a message over its daily quota).
    async fn publish(&mut self, publish: Publish) -> Result<Flow, ConnectionError> {
        if !topic::valid_topic(&publish.topic) {
            return Err(ConnectionError::Protocol("PUBLISH to a topic with wildcards"));
        }
        if let Some(packet_id) = publish.packet_id {
            write(&mut self.stream, &Packet::PubAck { packet_id }).await?;
        }
        let replies = self.session.0.publish(&publish.topic, &publish.payload).await;
        for reply in replies {
            if reply.is_close() {
                return Ok(Flow::Close);
            }
            self.deliver(reply).await?;
        }
        Ok(Flow::Continue)
    }

    /// Grants min(requested, 1) per valid filter and 0x80 (failure) for an invalid one. A filter
    /// subscribed again replaces the earlier one (spec 3.8.4).
    async fn subscribe(&mut self, packet_id: u16, filters: Vec<(String, u8)>) -> Result<(), ConnectionError> {
        let mut return_codes = Vec::with_capacity(filters.len());
        let mut granted = Vec::new();
        for (filter, requested) in filters {
            if !topic::valid_filter(&filter) {
                return_codes.push(0x80);
                continue;
            }
            let qos = requested.min(1);
            return_codes.push(qos);
            self.subscriptions.retain(|(held, _)| *held != filter);
            self.subscriptions.push((filter.clone(), qos));
            granted.push(filter);
        }
        write(&mut self.stream, &Packet::SubAck { packet_id, return_codes }).await?;
        if !granted.is_empty() {
            self.session.0.subscribed(&granted);
        }
        Ok(())
    }

    /// Sends `message` if a subscription matches, at the highest QoS granted among the matches.
    async fn deliver(&mut self, message: Outgoing) -> Result<(), ConnectionError> {
        let Some(qos) = self.subscriptions.iter().filter(|(filter, _)| topic::matches(filter, &message.topic)).map(|(_, qos)| *qos).max() else {
            tracing::debug!(topic = %message.topic, "dropped a message no subscription matches");
            return Ok(());
        };
        let packet_id = (qos > 0).then(|| self.packet_id());
        let packet = Packet::Publish(Publish { topic: message.topic, packet_id, payload: message.payload, retain: false, dup: false });
        match packet.encode() {
            Ok(bytes) => {
                self.stream.write_all(&bytes).await?;
                self.stream.flush().await?;
            }
            Err(e) => tracing::debug!("dropped a message MQTT cannot carry: {e}"),
        }
        Ok(())
    }

    /// Packet IDs for our QoS 1 deliveries: 1..=65535, wrapping, never 0.
    fn packet_id(&mut self) -> u16 {
        self.next_packet_id = self.next_packet_id.checked_add(1).unwrap_or(1);
        self.next_packet_id
    }
}

fn packet_name(packet: &Packet) -> &'static str {
    match packet {
        Packet::Connect(_) => "CONNECT",
        Packet::ConnAck { .. } => "CONNACK",
        Packet::Publish(_) => "PUBLISH",
        Packet::PubAck { .. } => "PUBACK",
        Packet::Subscribe { .. } => "SUBSCRIBE",
        Packet::SubAck { .. } => "SUBACK",
        Packet::Unsubscribe { .. } => "UNSUBSCRIBE",
        Packet::UnsubAck { .. } => "UNSUBACK",
        Packet::PingReq => "PINGREQ",
        Packet::PingResp => "PINGRESP",
        Packet::Disconnect => "DISCONNECT",
    }
}

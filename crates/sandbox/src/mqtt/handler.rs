//! What the MQTT server asks of the service behind it (DPS, later IoT Hub's device side). The server
//! owns the protocol (acks, pings, subscriptions, keep-alive); the service sees only who connected,
//! what they published, and answers with messages. No async-trait: futures are boxed by hand.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use tokio::sync::mpsc;

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A message for the connected client. It is delivered only if one of the client's subscriptions
/// matches `topic`, as a broker would; otherwise it is dropped (and logged at debug).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    pub topic: String,
    pub payload: Vec<u8>,
}

impl Outgoing {
    pub fn new(topic: impl Into<String>, payload: impl Into<Vec<u8>>) -> Outgoing {
        Outgoing { topic: topic.into(), payload: payload.into() }
    }

    /// Not a message (no topic is empty): the service ends the connection, as IoT Hub ends a
    /// device's earlier connection when it connects again, or the connection of a deleted device.
    pub fn close() -> Outgoing {
        Outgoing { topic: String::new(), payload: Vec::new() }
    }

    pub fn is_close(&self) -> bool {
        self.topic.is_empty()
    }
}

/// Pushes messages to one connection at any later time: DPS's delayed operation results, IoT Hub's
/// direct methods and cloud-to-device messages, or `Outgoing::close()` to end it. `send` fails once
/// the connection has closed, which is how a service learns the device went offline.
pub type Outbox = mpsc::UnboundedSender<Outgoing>;

/// The CONNECT as the service needs it. Azure devices put the SAS token in `password` and the
/// scope or hub host, device and api-version in `username`.
#[derive(Clone)]
pub struct ConnectInfo {
    pub client_id: String,
    pub username: Option<String>,
    pub password: Option<Vec<u8>>,
    /// Seconds; 0 turns the keep-alive timer off.
    pub keep_alive: u16,
    pub clean_session: bool,
    pub peer: SocketAddr,
    /// The certificate chain the client presented in the TLS handshake (leaf first), if any.
    pub client_certificates: Vec<rustls::pki_types::CertificateDer<'static>>,
}

impl ConnectInfo {
    /// The password as text (a SAS token is ASCII); `None` if absent or not UTF-8.
    pub fn password_text(&self) -> Option<&str> {
        self.password.as_deref().and_then(|p| std::str::from_utf8(p).ok())
    }
}

/// Passwords are SAS tokens: they never reach a log through Debug.
impl std::fmt::Debug for ConnectInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectInfo")
            .field("client_id", &self.client_id)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("keep_alive", &self.keep_alive)
            .field("clean_session", &self.clean_session)
            .field("peer", &self.peer)
            .field("client_certificates", &self.client_certificates.len())
            .finish()
    }
}

/// CONNACK's refusal codes (MQTT 3.1.1 table 3.1). The SDKs map 4 and 5 to an unauthorised error,
/// 3 to a retryable connection failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ConnectRefusal {
    #[error("unacceptable protocol version")]
    UnacceptableProtocolVersion = 1,
    #[error("identifier rejected")]
    IdentifierRejected = 2,
    #[error("server unavailable")]
    ServerUnavailable = 3,
    #[error("bad user name or password")]
    BadUsernameOrPassword = 4,
    #[error("not authorised")]
    NotAuthorized = 5,
}

impl ConnectRefusal {
    pub fn code(self) -> u8 {
        self as u8
    }
}

/// A service reachable over MQTT. One value serves every connection.
pub trait MqttHandler: Send + Sync + 'static {
    /// Accepts or refuses a CONNECT. The returned session handles this connection's traffic; keep
    /// `outbox` (in the session or elsewhere) to push messages later. Messages pushed before the
    /// client subscribes are dropped, as on a broker.
    fn connect(&self, info: &ConnectInfo, outbox: Outbox) -> Result<Box<dyn MqttSession>, ConnectRefusal>;
}

/// One accepted connection, as the service sees it.
pub trait MqttSession: Send + Sync + 'static {
    /// A PUBLISH from the client (already PUBACKed if QoS 1). The returned messages go out at once
    /// (an `Outgoing::close()` among them ends the connection there).
    /// The server reads nothing more from this client until the future ends, so anything slow
    /// belongs on a task that answers through the outbox.
    fn publish<'a>(&'a self, topic: &'a str, payload: &'a [u8]) -> BoxFuture<'a, Vec<Outgoing>>;

    /// The client now holds these (valid) subscriptions; e.g. IoT Hub reports a device able to take
    /// direct methods only once it subscribed to `$iothub/methods/POST/#`.
    fn subscribed(&self, _filters: &[String]) {}

    /// The connection is over (DISCONNECT, error, keep-alive expiry or the listener stopping).
    fn closed(&self) {}
}

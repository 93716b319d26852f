//! End to end over loopback: a TLS 1.2 client (what paho and the Python SDK negotiate) speaks MQTT
//! to `serve` with an echoing handler, directly and through the CONNECT proxy.

use super::codec::{self, Connect, Packet, Publish};
use super::*;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

const WAIT: Duration = Duration::from_secs(5);

/// Accepts password "right" (client ID "forbidden" is not authorised) and answers every PUBLISH
/// on `echo/<topic>`; keeps each connection's outbox so tests can push messages later.
#[derive(Default)]
struct Echo {
    outboxes: Mutex<Vec<(String, Outbox)>>,
    events: Arc<Mutex<Vec<String>>>,
}

struct EchoSession {
    client_id: String,
    events: Arc<Mutex<Vec<String>>>,
}

impl MqttHandler for Echo {
    fn connect(&self, info: &ConnectInfo, outbox: Outbox) -> Result<Box<dyn MqttSession>, ConnectRefusal> {
        if info.password_text() != Some("right") {
            return Err(ConnectRefusal::BadUsernameOrPassword);
        }
        if info.client_id == "forbidden" {
            return Err(ConnectRefusal::NotAuthorized);
        }
        self.events.lock().unwrap().push(format!("connect {} as {}", info.client_id, info.username.as_deref().unwrap_or_default()));
        self.outboxes.lock().unwrap().push((info.client_id.clone(), outbox));
        Ok(Box::new(EchoSession { client_id: info.client_id.clone(), events: self.events.clone() }))
    }
}

impl MqttSession for EchoSession {
    fn publish<'a>(&'a self, topic: &'a str, payload: &'a [u8]) -> BoxFuture<'a, Vec<Outgoing>> {
        Box::pin(async move {
            tokio::task::yield_now().await;
            // The service refusing a message by ending the connection (a hub past its quota).
            if topic == "refused" {
                return vec![Outgoing::close()];
            }
            vec![Outgoing::new(format!("echo/{topic}"), payload)]
        })
    }
    fn subscribed(&self, filters: &[String]) {
        self.events.lock().unwrap().push(format!("{} subscribed {}", self.client_id, filters.join(" ")));
    }
    fn closed(&self) {
        self.events.lock().unwrap().push(format!("{} closed", self.client_id));
    }
}

struct Sandbox {
    addr: SocketAddr,
    handler: Arc<Echo>,
    tls: Arc<rustls::ClientConfig>,
    _dir: tempfile::TempDir,
}

async fn start() -> Sandbox {
    let dir = tempfile::tempdir().unwrap();
    let authority = crate::tls::load_or_create(dir.path()).unwrap();
    let listener = crate::server::bind(0).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let handler = Arc::new(Echo::default());
    tokio::spawn(serve(listener, authority.server_config.clone(), handler.clone()));
    Sandbox { addr, handler, tls: client_config(&authority.ca_cert_path), _dir: dir }
}

/// Trusts only the sandbox CA, speaks only TLS 1.2 and offers ALPN `mqtt`, which the HTTPS
/// listeners' `http/1.1` would refuse.
fn client_config(ca: &std::path::Path) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    use rustls::pki_types::pem::PemObject;
    for cert in rustls::pki_types::CertificateDer::pem_slice_iter(&std::fs::read(ca).unwrap()) {
        roots.add(cert.unwrap()).unwrap();
    }
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_protocol_versions(&[&rustls::version::TLS12])
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"mqtt".to_vec()];
    Arc::new(config)
}

struct Client {
    stream: TlsStream<TcpStream>,
    buf: Vec<u8>,
}

impl Client {
    async fn over(tcp: TcpStream, tls: &Arc<rustls::ClientConfig>) -> Client {
        let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
        let stream = tokio_rustls::TlsConnector::from(tls.clone()).connect(name, tcp).await.unwrap();
        Client { stream, buf: Vec::new() }
    }

    async fn open(sandbox: &Sandbox) -> Client {
        Client::over(TcpStream::connect(sandbox.addr).await.unwrap(), &sandbox.tls).await
    }

    /// Opens a connection and completes CONNECT with the right password.
    async fn connected(sandbox: &Sandbox, client_id: &str, keep_alive: u16) -> Client {
        let mut client = Client::open(sandbox).await;
        client.send(&connect(client_id, "right", keep_alive)).await;
        assert_eq!(client.recv().await, Packet::ConnAck { session_present: false, code: 0 });
        client
    }

    async fn send(&mut self, packet: &Packet) {
        self.send_raw(&packet.encode().unwrap()).await;
    }

    async fn send_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.unwrap();
        self.stream.flush().await.unwrap();
    }

    async fn recv(&mut self) -> Packet {
        tokio::time::timeout(WAIT, async {
            loop {
                if let Some(packet) = codec::decode(&mut self.buf).unwrap() {
                    return packet;
                }
                assert_ne!(self.stream.read_buf(&mut self.buf).await.unwrap(), 0, "the server closed the connection");
            }
        })
        .await
        .expect("a packet within 5 s")
    }

    /// True when the server closes the connection (EOF or reset) within `WAIT`, having sent
    /// nothing more.
    async fn closed_by_server(&mut self) -> bool {
        let mut rest = Vec::new();
        match tokio::time::timeout(WAIT, self.stream.read_to_end(&mut rest)).await {
            Ok(_) => rest.is_empty(),
            Err(_) => false,
        }
    }
}

fn connect(client_id: &str, password: &str, keep_alive: u16) -> Packet {
    Packet::Connect(Connect {
        protocol_name: "MQTT".into(),
        protocol_level: 4,
        client_id: client_id.into(),
        clean_session: false,
        keep_alive,
        will: None,
        username: Some(format!("0ne00000001/registrations/{client_id}/api-version=2019-03-31&ClientVersion=test")),
        password: Some(password.as_bytes().to_vec()),
    })
}

fn publish(topic: &str, packet_id: Option<u16>, payload: &[u8]) -> Packet {
    Packet::Publish(Publish { topic: topic.into(), packet_id, payload: payload.to_vec(), retain: false, dup: false })
}

fn events(sandbox: &Sandbox) -> Vec<String> {
    sandbox.handler.events.lock().unwrap().clone()
}

async fn eventually(what: &str, check: impl Fn() -> bool) {
    for _ in 0..100 {
        if check() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{what} did not happen within 5 s");
}

#[tokio::test]
async fn mqtt_session_subscribes_publishes_pings_unsubscribes_and_disconnects() {
    let sandbox = start().await;
    let mut client = Client::connected(&sandbox, "reg-1", 60).await;

    client.send(&Packet::Subscribe { packet_id: 1, filters: vec![("echo/#".into(), 1), ("bad/#/filter".into(), 0), ("other/+".into(), 2)] }).await;
    assert_eq!(client.recv().await, Packet::SubAck { packet_id: 1, return_codes: vec![1, 0x80, 1] });

    client.send(&publish("$dps/registrations/PUT/iotdps-register/?$rid=1", Some(9), b"{\"registrationId\":\"reg-1\"}")).await;
    assert_eq!(client.recv().await, Packet::PubAck { packet_id: 9 });
    let Packet::Publish(reply) = client.recv().await else { panic!("expected the echo") };
    assert_eq!(reply.topic, "echo/$dps/registrations/PUT/iotdps-register/?$rid=1");
    assert_eq!(reply.payload, b"{\"registrationId\":\"reg-1\"}");
    let reply_id = reply.packet_id.expect("delivered at the granted QoS 1");
    client.send(&Packet::PubAck { packet_id: reply_id }).await;

    client.send(&Packet::PingReq).await;
    assert_eq!(client.recv().await, Packet::PingResp);

    client.send(&Packet::Unsubscribe { packet_id: 2, filters: vec!["echo/#".into()] }).await;
    assert_eq!(client.recv().await, Packet::UnsubAck { packet_id: 2 });
    // The echo of a QoS 0 publish now matches no subscription: the next packet is the PINGRESP.
    client.send(&publish("t/2", None, b"unheard")).await;
    client.send(&Packet::PingReq).await;
    assert_eq!(client.recv().await, Packet::PingResp);

    client.send(&Packet::Disconnect).await;
    assert!(client.closed_by_server().await);
    eventually("closed()", || events(&sandbox).contains(&"reg-1 closed".to_owned())).await;
    assert_eq!(
        events(&sandbox),
        ["connect reg-1 as 0ne00000001/registrations/reg-1/api-version=2019-03-31&ClientVersion=test", "reg-1 subscribed echo/# other/+", "reg-1 closed"]
    );
}

#[tokio::test]
async fn mqtt_qos0_subscriptions_get_qos0_deliveries() {
    let sandbox = start().await;
    let mut client = Client::connected(&sandbox, "reg-2", 60).await;
    client.send(&Packet::Subscribe { packet_id: 5, filters: vec![("echo/+".into(), 0)] }).await;
    assert_eq!(client.recv().await, Packet::SubAck { packet_id: 5, return_codes: vec![0] });
    client.send(&publish("hello", None, b"x")).await;
    assert_eq!(client.recv().await, publish("echo/hello", None, b"x"));
}

#[tokio::test]
async fn mqtt_refused_connects_get_their_connack_code_and_are_closed() {
    let sandbox = start().await;
    for (packet, code) in [(connect("reg-3", "wrong", 60), 4), (connect("forbidden", "right", 60), 5)] {
        let mut client = Client::open(&sandbox).await;
        client.send(&packet).await;
        assert_eq!(client.recv().await, Packet::ConnAck { session_present: false, code });
        assert!(client.closed_by_server().await);
    }
    let Packet::Connect(mut mqtt_3_1) = connect("reg-3", "right", 60) else { unreachable!() };
    mqtt_3_1.protocol_name = "MQIsdp".into();
    mqtt_3_1.protocol_level = 3;
    let mut client = Client::open(&sandbox).await;
    client.send(&Packet::Connect(mqtt_3_1)).await;
    assert_eq!(client.recv().await, Packet::ConnAck { session_present: false, code: 1 });
    assert!(client.closed_by_server().await);
    assert!(events(&sandbox).is_empty(), "no session was opened: {:?}", events(&sandbox));
}

#[tokio::test]
async fn mqtt_pushed_messages_reach_only_subscribed_topics_until_the_client_leaves() {
    let sandbox = start().await;
    let mut client = Client::connected(&sandbox, "dev-1", 60).await;
    let outbox = sandbox.handler.outboxes.lock().unwrap()[0].1.clone();
    outbox.send(Outgoing::new("$iothub/methods/POST/early/?$rid=0", "before subscribing")).unwrap();
    client.send(&Packet::Subscribe { packet_id: 1, filters: vec![("$iothub/methods/POST/#".into(), 0)] }).await;
    assert_eq!(client.recv().await, Packet::SubAck { packet_id: 1, return_codes: vec![0] });
    outbox.send(Outgoing::new("devices/dev-1/messages/devicebound/x", "not subscribed")).unwrap();
    outbox.send(Outgoing::new("$iothub/methods/POST/reboot/?$rid=1", "{}")).unwrap();
    assert_eq!(client.recv().await, publish("$iothub/methods/POST/reboot/?$rid=1", None, b"{}"));

    client.send(&Packet::Disconnect).await;
    assert!(client.closed_by_server().await);
    eventually("the outbox closing", || outbox.is_closed()).await;
    assert!(outbox.send(Outgoing::new("$iothub/methods/POST/late/?$rid=2", "{}")).is_err());
}

#[tokio::test]
async fn mqtt_a_service_ends_a_connection_through_its_outbox() {
    let sandbox = start().await;
    let mut client = Client::connected(&sandbox, "dev-2", 60).await;
    let outbox = sandbox.handler.outboxes.lock().unwrap()[0].1.clone();
    outbox.send(Outgoing::close()).unwrap();
    assert!(client.closed_by_server().await);
    eventually("the session hearing of it", || events(&sandbox).contains(&"dev-2 closed".to_string())).await;
}

#[tokio::test]
async fn mqtt_a_service_ends_a_connection_in_reply_to_a_publish() {
    let sandbox = start().await;
    let mut client = Client::connected(&sandbox, "dev-3", 60).await;
    client.send(&publish("refused", Some(4), b"{}")).await;
    assert_eq!(client.recv().await, Packet::PubAck { packet_id: 4 }, "acknowledged, then refused");
    assert!(client.closed_by_server().await);
    eventually("the session hearing of it", || events(&sandbox).contains(&"dev-3 closed".to_string())).await;
}

#[tokio::test]
async fn mqtt_garbage_closes_the_connection_and_the_server_keeps_serving() {
    let sandbox = start().await;
    // An HTTP request where CONNECT belongs: "GE" reads as a PUBACK with bad flags and 69 more bytes.
    let mut http = Client::open(&sandbox).await;
    http.send_raw(b"GET / HTTP/1.1\r\nHost: localhost:8883\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\n\r\n").await;
    assert!(http.closed_by_server().await);
    // A valid packet, but not CONNECT.
    let mut pinger = Client::open(&sandbox).await;
    pinger.send(&Packet::PingReq).await;
    assert!(pinger.closed_by_server().await);
    // Garbage after a good CONNECT, and a packet announcing 512 KiB.
    let mut client = Client::connected(&sandbox, "reg-4", 60).await;
    client.send_raw(&[0xff; 16]).await;
    assert!(client.closed_by_server().await);
    let mut oversize = Client::connected(&sandbox, "reg-5", 60).await;
    oversize.send_raw(&[0x30, 0x80, 0x80, 0x20]).await;
    assert!(oversize.closed_by_server().await);
    // Plain TCP without TLS.
    let mut plain = TcpStream::connect(sandbox.addr).await.unwrap();
    plain.write_all(&connect("reg-6", "right", 60).encode().unwrap()).await.unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(WAIT, plain.read_to_end(&mut answer)).await.expect("closed within 5 s");
    assert!(!answer.starts_with(&[0x20]), "no CONNACK without TLS");

    let mut fine = Client::connected(&sandbox, "reg-7", 60).await;
    fine.send(&Packet::PingReq).await;
    assert_eq!(fine.recv().await, Packet::PingResp);
}

#[tokio::test]
async fn mqtt_keep_alive_expiry_closes_an_idle_connection_but_pings_keep_it_open() {
    let sandbox = start().await;
    let mut pinging = Client::connected(&sandbox, "reg-8", 1).await;
    for _ in 0..4 {
        tokio::time::sleep(Duration::from_millis(700)).await;
        pinging.send(&Packet::PingReq).await;
        assert_eq!(pinging.recv().await, Packet::PingResp);
    }
    let mut idle = Client::connected(&sandbox, "reg-9", 1).await;
    let started = std::time::Instant::now();
    assert!(idle.closed_by_server().await);
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(1300) && waited < Duration::from_secs(4), "closed after {waited:?}");
}

#[tokio::test]
async fn mqtt_through_the_connect_proxy_reaches_the_routed_server() {
    let sandbox = start().await;
    let target = sandbox.addr;
    let proxy = crate::server::bind(0).await.unwrap();
    let proxy_addr = proxy.local_addr().unwrap();
    tokio::spawn(serve_connect_proxy(proxy, Arc::new(move |host: &str, port: u16| (host == "localhost" && port == 8883).then_some(target))));

    // What PySocks sends for ProxyOptions("HTTP", "127.0.0.1", port).
    let mut tcp = TcpStream::connect(proxy_addr).await.unwrap();
    tcp.write_all(b"CONNECT localhost:8883 HTTP/1.1\r\nHost: localhost\r\n\r\n").await.unwrap();
    let mut response = [0u8; 39];
    tokio::time::timeout(WAIT, tcp.read_exact(&mut response)).await.unwrap().unwrap();
    assert_eq!(&response, b"HTTP/1.1 200 Connection established\r\n\r\n");
    let mut client = Client::over(tcp, &sandbox.tls).await;
    client.send(&connect("via-proxy", "right", 60)).await;
    assert_eq!(client.recv().await, Packet::ConnAck { session_present: false, code: 0 });
    client.send(&Packet::PingReq).await;
    assert_eq!(client.recv().await, Packet::PingResp);

    for (request, status) in [
        (b"CONNECT example.com:8883 HTTP/1.1\r\nHost: example.com\r\n\r\n".to_vec(), "HTTP/1.1 403 Forbidden\r\n"),
        (b"CONNECT localhost:443 HTTP/1.1\r\n\r\n".to_vec(), "HTTP/1.1 403 Forbidden\r\n"),
        (b"CONNECT localhost HTTP/1.1\r\n\r\n".to_vec(), "HTTP/1.1 400 Bad Request\r\n"),
        (b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n".to_vec(), "HTTP/1.1 405 Method Not Allowed\r\n"),
        ([b"CONNECT localhost:8883 HTTP/1.1\r\nX-Padding: ".as_slice(), &[b'a'; 9000]].concat(), "HTTP/1.1 431 Request Header Fields Too Large\r\n"),
    ] {
        let mut tcp = TcpStream::connect(proxy_addr).await.unwrap();
        tcp.write_all(&request).await.unwrap();
        let mut answer = Vec::new();
        tokio::time::timeout(WAIT, tcp.read_to_end(&mut answer)).await.unwrap().unwrap();
        let answer = String::from_utf8(answer).unwrap();
        assert!(answer.starts_with(status), "{}: {answer}", String::from_utf8_lossy(&request[..30]));
    }
}

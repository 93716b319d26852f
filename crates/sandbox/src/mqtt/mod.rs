//! MQTT 3.1.1 for the device side of DPS and (later) IoT Hub: the official device SDKs register
//! and receive direct methods over MQTT on TLS. A protocol server with a handler trait, so each
//! service supplies only its topics' meaning, and a CONNECT proxy for SDKs that insist on port 8883.

pub mod codec;
mod handler;
pub mod proxy;
pub mod server;
pub mod topic;

pub use handler::{BoxFuture, ConnectInfo, ConnectRefusal, MqttHandler, MqttSession, Outbox, Outgoing};
pub use proxy::{serve_connect_proxy, Route};
pub use server::serve;

#[cfg(test)]
mod tests;

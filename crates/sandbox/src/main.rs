//! `iotm-sandbox`: the sandbox cloud as a standalone process, for tests and demos.
//!
//! Prints one JSON line on stdout once listening — `{"baseUrl", "caCert", "caBundle", "dpsMqttHost",
//! "hubMqttGateway", "proxy", "azurite", "controlToken"}` — so a test harness can read where to point its clients.
//! `azurite` is the blob service's URL, or null when Azurite is not installed (or `--no-azurite`).
//! `controlToken` is minted for this run: the control API (`/_sandbox/…`) answers only calls that
//! send it as `Authorization: Bearer <controlToken>`; stdout goes only to whoever started us.
//! Every run starts fresh from its scenario, unless `--persistent` keeps the state in the state
//! folder across runs (as the app's in-app sandbox does).

use iotm_sandbox::scenario::Scenario;
use iotm_sandbox::{Sandbox, SandboxConfig};
use std::path::PathBuf;

const USAGE: &str =
    "usage: iotm-sandbox [--scenario FILE] [--port PORT] [--mqtt-port PORT] [--proxy-port PORT] [--state-dir DIR] [--persistent] [--no-azurite] [--print-default-scenario]";

fn fail(message: String) -> ! {
    eprintln!("iotm-sandbox: {message}\n{USAGE}");
    std::process::exit(2)
}

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .init();
    let mut args = std::env::args().skip(1);
    let (mut scenario, mut port, mut mqtt_port, mut proxy_port, mut state_dir) = (None, 0u16, 0u16, 0u16, iotm_sandbox::default_state_dir());
    let (mut azurite, mut persistent) = (true, false);
    while let Some(arg) = args.next() {
        let mut value = || args.next().unwrap_or_else(|| fail(format!("{arg} needs a value")));
        match arg.as_str() {
            "--scenario" => {
                let path = PathBuf::from(value());
                let text = std::fs::read_to_string(&path).unwrap_or_else(|e| fail(format!("{}: {e}", path.display())));
                scenario =
                    Some(Scenario::from_json(&text).unwrap_or_else(|e| fail(format!("{} line {}, column {}: {e}", path.display(), e.line(), e.column()))));
            }
            "--port" => port = value().parse().unwrap_or_else(|e| fail(format!("--port: {e}"))),
            "--mqtt-port" => mqtt_port = value().parse().unwrap_or_else(|e| fail(format!("--mqtt-port: {e}"))),
            "--proxy-port" => proxy_port = value().parse().unwrap_or_else(|e| fail(format!("--proxy-port: {e}"))),
            "--state-dir" => state_dir = PathBuf::from(value()),
            "--no-azurite" => azurite = false,
            "--persistent" => persistent = true,
            "--print-default-scenario" => {
                println!("{}", serde_json::to_string_pretty(&Scenario::builtin()).expect("serialise"));
                return;
            }
            other => fail(format!("unknown argument {other}")),
        }
    }
    let mut config =
        SandboxConfig { port, mqtt_port, proxy_port, ..SandboxConfig::new(state_dir, scenario.unwrap_or_else(Scenario::builtin)) }.with_control_api();
    if azurite {
        config = config.with_azurite();
    }
    if persistent {
        config = config.persistent();
    }
    let sandbox = Sandbox::start(config).await.unwrap_or_else(|e| fail(e.to_string()));
    println!(
        "{}",
        serde_json::json!({"baseUrl": sandbox.base_url, "caCert": sandbox.ca_cert_path, "caBundle": sandbox.ca_bundle_path,
                           "dpsMqttHost": sandbox.dps_mqtt_host, "hubMqttGateway": sandbox.hub_mqtt_gateway, "proxy": sandbox.proxy_address, "azurite": sandbox.azurite_url, "controlToken": sandbox.control_token})
    );
    stopped().await;
    sandbox.stop();
}

/// Ctrl-C, or SIGTERM (what test harnesses send): either way Azurite is stopped with the sandbox.
async fn stopped() {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("a SIGTERM handler");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}

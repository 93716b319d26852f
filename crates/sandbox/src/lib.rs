//! The sandbox cloud: an offline emulator of the Azure services IoT Migrator talks to, speaking
//! their real wire format so official Azure clients run against it unmodified.
//!
//! One HTTPS listener on 127.0.0.1 serves Entra ID and ARM (and the control API); services that
//! Azure puts on their own host names get listeners of their own, told apart by port, because only
//! `localhost` resolves offline. Entra's sign-in page alone is also on plain `http://localhost`
//! (`entra::sign_in_pages`), so a browser opens it without a certificate warning. Runs embedded in the app, as the `iotm-sandbox` binary, or from tests.

pub mod api_versions;
pub mod arm;
pub mod azurite;
pub mod central;
pub mod cloud;
pub mod control;
pub mod device_endpoint;
pub mod dps;
pub mod entra;
pub mod faults;
pub mod fleet;
pub mod hub;
pub mod live;
pub mod mqtt;
pub mod persist;
pub mod rejections;
pub mod sas;
pub mod scenario;
pub mod scenario_check;
pub mod server;
pub mod storage;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod timestamps;
pub mod tls;
pub mod tokens;
pub mod x509;

use cloud::Cloud;
use scenario::Scenario;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::task::JoinHandle;

#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
    #[error("{what}: {source}")]
    Io { what: String, source: std::io::Error },
}

pub struct SandboxConfig {
    /// Where the CA and the token-signing key are kept between runs.
    pub state_dir: PathBuf,
    /// Port of the Entra + ARM listener; 0 picks a free one.
    pub port: u16,
    /// Port of the MQTT endpoint of DPS and every hub (8883 is what SDKs without a port option
    /// dial); 0 picks one.
    pub mqtt_port: u16,
    /// Port of the HTTP CONNECT proxy that leads `…:8883` to that endpoint; 0 picks one.
    pub proxy_port: u16,
    pub scenario: Scenario,
    /// Whether blob storage (Azurite) runs beside the sandbox; off unless asked for.
    pub azurite: azurite::Launch,
    /// Whether the control API (`/_sandbox/…`: minted secrets, faults, scenario loads) is served,
    /// behind a token minted per run; off unless asked for (the app's release build never asks).
    pub control_api: bool,
    /// Whether the cloud's state is kept in the state folder across restarts (`persist`); off
    /// unless asked for: tests and the standalone binary start fresh every time.
    pub persistent: bool,
}

impl SandboxConfig {
    /// Every listener on a free port, no blob storage.
    pub fn new(state_dir: PathBuf, scenario: Scenario) -> SandboxConfig {
        SandboxConfig { state_dir, port: 0, mqtt_port: 0, proxy_port: 0, scenario, azurite: azurite::Launch::Off, control_api: false, persistent: false }
    }

    /// With Azurite as blob storage, when Node and the package are installed.
    pub fn with_azurite(mut self) -> SandboxConfig {
        self.azurite = azurite::Launch::Auto;
        self
    }

    /// Keeping its state across restarts: restored on start from the state folder when saved
    /// there for the same scenario, saved while it runs and on stop.
    pub fn persistent(mut self) -> SandboxConfig {
        self.persistent = true;
        self
    }

    /// Serving the control API, to callers that send the run's token (`Sandbox::control_token`).
    pub fn with_control_api(mut self) -> SandboxConfig {
        self.control_api = true;
        self
    }
}

pub struct Sandbox {
    pub cloud: Arc<Cloud>,
    pub base_url: String,
    /// `http://localhost:<port>` of Entra's sign-in page (and nothing else), for browsers.
    pub sign_in_url: String,
    pub ca_cert_path: PathBuf,
    pub ca_bundle_path: PathBuf,
    /// `localhost:<port>` of DPS's global device endpoint over MQTT (TLS).
    pub dps_mqtt_host: String,
    /// `localhost:<port>` of every hub's device side over MQTT (TLS): the same endpoint, which
    /// tells hubs apart by the CONNECT's username (`device_endpoint`). A device keeps its hub's
    /// `HostName` and adds `GatewayHostName=localhost`: port 8883 through the proxy, or this port.
    pub hub_mqtt_gateway: String,
    /// `127.0.0.1:<port>` of the CONNECT proxy for device SDKs fixed on port 8883.
    pub proxy_address: String,
    /// `https://127.0.0.1:<port>` of Azurite's blob service, when it runs.
    pub azurite_url: Option<String>,
    /// The token the control API asks for (`Authorization: Bearer …`), when it is served.
    pub control_token: Option<String>,
    tasks: Vec<JoinHandle<()>>,
    saver: Option<persist::Saver>,
}

impl Sandbox {
    pub async fn start(config: SandboxConfig) -> Result<Sandbox, SandboxError> {
        let authority = tls::load_or_create(&config.state_dir)?;
        let signer = tokens::TokenSigner::load_or_create(&config.state_dir)
            .map_err(|source| SandboxError::Io { what: format!("token signing key in {}", config.state_dir.display()), source })?;
        let cloud = Cloud::new(signer, authority.server_config.clone(), authority.device_config.clone());
        let storage = azurite::start(&config.state_dir, &config.azurite, &storage::accounts::scenario_accounts(&config.scenario));
        let azurite_url = storage.running().ok().map(|a| a.url.clone());
        cloud.set_storage(storage);
        let store = config.persistent.then(|| Arc::new(persist::Store::new(&config.state_dir, &config.scenario)));
        let saved = match store.as_ref().and_then(|s| s.load()) {
            Some(loaded) => {
                tracing::info!(file = %store.as_ref().map(|s| s.path().display().to_string()).unwrap_or_default(), "the sandbox cloud resumes its saved state");
                cloud.restore(loaded.restored);
                loaded.ports
            }
            None => {
                cloud.load(config.scenario).map_err(|source| SandboxError::Io { what: "starting the scenario's hubs and DPS".into(), source })?;
                persist::Ports::default()
            }
        };
        let listener =
            bind_again(config.port, saved.control).await.map_err(|source| SandboxError::Io { what: format!("binding 127.0.0.1:{}", config.port), source })?;
        let port = listener.local_addr().map_err(|source| SandboxError::Io { what: "local address".into(), source })?.port();
        let base_url = format!("https://localhost:{port}");
        cloud.set_base_url(base_url.clone());
        // Loopback is shared with every local user, and the control API hands out secrets and
        // reshapes the cloud: served only when asked for, and then only to the run's token.
        let control_token = config.control_api.then(live::new_key);
        // The sign-in page for browsers, over plain HTTP on loopback: see entra::sign_in_pages.
        let pages = bind_again(0, saved.sign_in).await.map_err(|source| SandboxError::Io { what: "binding 127.0.0.1 for the sign-in page".into(), source })?;
        let pages_port = pages.local_addr().map_err(|source| SandboxError::Io { what: "local address".into(), source })?.port();
        let sign_in_pages = entra::SignInPages::on_port(pages_port);
        let sign_in_url = sign_in_pages.origin.clone();
        let mut router = entra::router(sign_in_pages).merge(central::router());
        router = match &control_token {
            Some(token) => router.merge(control::router().layer(axum::middleware::from_fn_with_state(Arc::new(token.clone()), control::authorize))),
            None => router.route("/_sandbox/{*rest}", axum::routing::any(control::not_served)),
        };
        let router = router
            .fallback(arm::handle)
            .layer(axum::middleware::from_fn_with_state(None, rejections::reshape))
            .layer(axum::middleware::from_fn_with_state((cloud.clone(), None), faults::apply))
            .with_state(cloud.clone());
        let mut tasks = vec![tokio::spawn(server::serve(listener, authority.server_config.clone(), router))];
        tasks.push(tokio::spawn(entra::sign_in_pages::serve(pages, cloud.clone())));
        let bind = |(port, last): (u16, u16), what: &'static str| async move {
            let listener = bind_again(port, last).await.map_err(|source| SandboxError::Io { what: format!("binding 127.0.0.1:{port} for {what}"), source })?;
            let port = listener.local_addr().map_err(|source| SandboxError::Io { what: "local address".into(), source })?.port();
            Ok::<_, SandboxError>((listener, port))
        };
        let (mqtt, mqtt_port) = bind((config.mqtt_port, saved.mqtt), "DPS and IoT Hub over MQTT").await?;
        let handler = Arc::new(device_endpoint::DeviceEndpoint::new(cloud.clone()));
        tasks.push(tokio::spawn(mqtt::serve(mqtt, authority.device_config.clone(), handler)));
        let (proxy, proxy_port) = bind((config.proxy_port, saved.proxy), "the CONNECT proxy").await?;
        // Device SDKs ask for the provisioning host, or their gateway (`localhost`) for a hub, on
        // 8883; all of those lead to the MQTT endpoint.
        let route: mqtt::Route = Arc::new(move |host: &str, port: u16| {
            let known = ["localhost", "127.0.0.1", "global.azure-devices-provisioning.net"].contains(&host.to_ascii_lowercase().as_str());
            (known && (port == 8883 || port == mqtt_port)).then(|| std::net::SocketAddr::from(([127, 0, 0, 1], mqtt_port)))
        });
        tasks.push(tokio::spawn(mqtt::serve_connect_proxy(proxy, route)));
        let ports = persist::Ports { control: port, mqtt: mqtt_port, proxy: proxy_port, sign_in: pages_port };
        let saver = store.map(|store| persist::Saver::start(cloud.clone(), store, ports));
        tracing::info!(%base_url, %sign_in_url, mqtt_port, proxy_port, ca = %authority.ca_cert_path.display(), "sandbox cloud listening");
        Ok(Sandbox {
            cloud,
            base_url,
            sign_in_url,
            ca_cert_path: authority.ca_cert_path,
            ca_bundle_path: authority.bundle_path,
            dps_mqtt_host: format!("localhost:{mqtt_port}"),
            hub_mqtt_gateway: format!("localhost:{mqtt_port}"),
            proxy_address: format!("127.0.0.1:{proxy_port}"),
            azurite_url,
            control_token,
            tasks,
            saver,
        })
    }

    /// Stops every listener; a persistent sandbox writes its state a last time first.
    pub fn stop(mut self) {
        if let Some(saver) = self.saver.take() {
            saver.finish();
        }
        self.halt();
    }

    /// Stops, and forgets the saved state: the next start is the scenario's, fresh.
    pub fn reset(mut self, state_dir: &Path) -> std::io::Result<()> {
        if let Some(saver) = self.saver.take() {
            saver.abandon();
        }
        self.halt();
        persist::forget(state_dir).map(|_| ())
    }

    fn halt(self) {
        if let Ok(azurite) = self.cloud.azurite() {
            azurite.stop();
        }
        self.cloud.stop_endpoints();
        self.tasks.iter().for_each(JoinHandle::abort);
    }
}

/// Binds `port` when one is asked for; else the port of the last run when free (the URLs the
/// app knows stay valid), else any.
async fn bind_again(port: u16, last: u16) -> std::io::Result<tokio::net::TcpListener> {
    if port == 0 && last != 0 {
        if let Ok(listener) = server::bind(last).await {
            return Ok(listener);
        }
    }
    server::bind(port).await
}

/// The default state folder for a standalone run.
pub fn default_state_dir() -> PathBuf {
    std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".local/share")))
        .unwrap_or_else(std::env::temp_dir)
        .join("iot-migrator-sandbox")
}

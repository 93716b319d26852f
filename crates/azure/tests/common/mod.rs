//! The sandbox cloud started in-process for a test, with a pipeline on its profile and the
//! built-in scenario's confidential client signed in.
#![allow(dead_code)]

use iotm_azure::arm::ArmClient;
use iotm_azure::central::CentralClient;
use iotm_azure::{CentralApiToken, ClientSecretCredential, Cloud, Pipeline, PipelineOptions, Secret};
use iotm_sandbox::faults::{FaultKind, FaultRule};
use iotm_sandbox::scenario::{Scenario, SANDBOX_CONFIDENTIAL_CLIENT_ID};
use iotm_sandbox::{Sandbox, SandboxConfig};
use std::sync::Arc;

pub const PRODUCTION: &str = "3c1e7a52-9f0b-4c55-8a6e-2d4b6f8a0c11";
/// The lab subscription, which the confidential client has no access to.
pub const LAB: &str = "8d2f4b63-1e7c-4a9d-b5f0-3e6a8c0d2f22";
pub const GROUP: &str = "rg-iot-prod";
pub const FLEET: &str = "contoso-fleet";

pub struct TestCloud {
    pub sandbox: Sandbox,
    pub state: tempfile::TempDir,
    pub pipeline: Pipeline,
    pub credential: Arc<ClientSecretCredential>,
    pub client_secret: String,
}

pub fn tenant() -> String {
    Scenario::builtin().tenants[0].id.clone()
}

impl TestCloud {
    pub async fn start() -> TestCloud {
        TestCloud::start_with(PipelineOptions::default()).await
    }

    pub async fn start_with(options: PipelineOptions) -> TestCloud {
        TestCloud::start_config(options, |c| c).await
    }

    /// With Azurite serving the scenario's storage accounts (tests/azurite must be installed).
    pub async fn start_with_storage() -> TestCloud {
        TestCloud::start_config(PipelineOptions::default(), SandboxConfig::with_azurite).await
    }

    async fn start_config(options: PipelineOptions, config: impl FnOnce(SandboxConfig) -> SandboxConfig) -> TestCloud {
        let state = tempfile::tempdir().expect("a temporary state folder");
        let config = config(SandboxConfig::new(state.path().to_path_buf(), Scenario::builtin()));
        let sandbox = Sandbox::start(config).await.expect("the sandbox starts");
        let pipeline = Pipeline::new(TestCloud::profile(&sandbox), options).expect("a pipeline on the sandbox profile");
        let client_secret = sandbox.cloud.grants().client_secret(SANDBOX_CONFIDENTIAL_CLIENT_ID).expect("the confidential client's secret");
        let credential =
            Arc::new(ClientSecretCredential::new(pipeline.clone(), &tenant(), SANDBOX_CONFIDENTIAL_CLIENT_ID, Secret::new(client_secret.clone())).unwrap());
        TestCloud { sandbox, state, pipeline, credential, client_secret }
    }

    /// The sandbox profile: its base URL and its CA.
    pub fn profile(sandbox: &Sandbox) -> Cloud {
        let ca = std::fs::read_to_string(&sandbox.ca_cert_path).expect("the sandbox CA");
        Cloud::sandbox(&sandbox.base_url, ca).unwrap()
    }

    pub fn arm(&self) -> ArmClient {
        ArmClient::new(self.pipeline.clone(), self.credential.clone())
    }

    /// The app's API token, as the control API's `credentials` hands it out.
    pub fn api_token(&self, subdomain: &str) -> Secret<String> {
        let app = self.sandbox.cloud.central_apps().by_subdomain(subdomain).expect("the Central app");
        Secret::new(app.api_token().expect("an API token"))
    }

    pub fn central(&self, subdomain: &str) -> CentralClient {
        CentralClient::new(self.pipeline.clone(), Arc::new(CentralApiToken::new(self.api_token(subdomain))), subdomain).unwrap()
    }

    pub fn fault(&self, service: &str, operation: Option<&str>, kind: FaultKind, share: f64, count: Option<u64>, retry_after_seconds: u64) {
        let rule =
            FaultRule { service: Some(service.into()), operation: operation.map(str::to_string), kind, share, count, retry_after_seconds, stall_seconds: 120 };
        self.sandbox.cloud.faults().add(rule).expect("a valid fault rule");
    }

    /// Calls the sandbox saw, by `service METHOD route`.
    pub fn counters(&self) -> std::collections::BTreeMap<String, u64> {
        self.sandbox.cloud.faults().counters()
    }

    pub fn calls_to(&self, service: &str) -> u64 {
        self.counters().iter().filter(|(k, _)| k.starts_with(&format!("{service} "))).map(|(_, n)| n).sum()
    }
}

/// An HTTPS server on the sandbox's CA (so the sandbox profile trusts it) serving `router`, for
/// answers the sandbox never gives. Returns its base URL (`https://localhost:<port>`).
pub async fn https_server(state: &std::path::Path, router: axum::Router) -> String {
    let tls = iotm_sandbox::tls::load_or_create(state).unwrap().server_config;
    let listener = iotm_sandbox::server::bind(0).await.unwrap();
    let base = format!("https://localhost:{}", listener.local_addr().unwrap().port());
    tokio::spawn(iotm_sandbox::server::serve(listener, tls, router));
    base
}

/// A pipeline on the sandbox profile pointed at `base` (a server from `https_server`).
pub fn pipeline_to(sandbox: &Sandbox, base: &str) -> Pipeline {
    let ca = std::fs::read_to_string(&sandbox.ca_cert_path).unwrap();
    Pipeline::new(Cloud::sandbox(base, ca).unwrap(), PipelineOptions::default()).unwrap()
}

//! Everything logged across a run that signs in with a client secret, uses bearer tokens, SAS
//! tokens and an API token, reads keys and retries: not one secret in it. Its own test binary,
//! because it installs the process-wide subscriber.

mod common;

use common::{TestCloud, FLEET, GROUP, PRODUCTION};
use iotm_azure::dps::{DpsClient, EnrollmentGroup};
use iotm_azure::hub::{DeviceIdentity, HubClient};
use iotm_azure::{ConnectionString, Credential};
use iotm_sandbox::faults::FaultKind;
use std::io::Write;
use std::sync::{Arc, Mutex};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn no_token_key_or_signature_reaches_the_log() {
    let log = Captured::default();
    let writer = log.clone();
    let subscriber = tracing_subscriber::fmt().with_writer(move || writer.clone()).with_ansi(false).with_env_filter("trace").finish();
    tracing::subscriber::set_global_default(subscriber).unwrap();

    let cloud = TestCloud::start().await;
    let arm = cloud.arm();
    let mut secrets: Vec<String> = vec![cloud.client_secret.clone()];

    // Bearer tokens, with one throttled try so a retry is logged too.
    cloud.fault("arm", Some("GET /subscriptions"), FaultKind::Throttle, 1.0, Some(1), 0);
    assert_eq!(arm.subscriptions().unwrap().all().await.unwrap().len(), 1);
    let bearer = cloud.credential.authorization("https://management.azure.com").await.unwrap();
    secrets.push(bearer.expose().trim_start_matches("Bearer ").to_string());

    // Hub keys, and a device created over SAS; its generated keys read back.
    let hub = arm.iot_hub(PRODUCTION, GROUP, "contoso-hub-weu").await.unwrap();
    let policies = arm.iot_hub_keys(PRODUCTION, GROUP, "contoso-hub-weu").unwrap().all().await.unwrap();
    for policy in &policies {
        secrets.extend(policy.primary_key.iter().chain(policy.secondary_key.iter()).map(|k| k.expose().clone()));
    }
    let owner = policies.iter().find(|p| p.key_name == "iothubowner").unwrap();
    let connection = ConnectionString::for_policy(hub.properties.host_name.as_deref().unwrap(), "iothubowner", owner.primary_key.as_ref().unwrap());
    let registry = HubClient::from_connection_string(cloud.pipeline.clone(), connection.clone());
    let device = registry.create_or_update_device(&DeviceIdentity::with_generated_keys("logged-device"), None).await.unwrap();
    let keys = device.authentication.unwrap().symmetric_key.unwrap();
    secrets.extend([keys.primary_key.unwrap().expose().clone(), keys.secondary_key.unwrap().expose().clone()]);
    assert!(registry.device("missing-device").await.is_err(), "an error is logged too");
    let sas = iotm_azure::SasCredential::new(connection).authorization("").await.unwrap();
    secrets.push(sas.expose().split("sig=").nth(1).unwrap().split('&').next().unwrap().to_string());

    // DPS keys and an enrollment group's generated keys.
    let dps = arm.provisioning_service(PRODUCTION, GROUP, "contoso-dps").await.unwrap();
    let dps_key = arm.provisioning_service_keys(PRODUCTION, GROUP, "contoso-dps").unwrap().all().await.unwrap().remove(0);
    secrets.push(dps_key.primary_key.as_ref().unwrap().expose().clone());
    let provisioning = DpsClient::from_connection_string(
        cloud.pipeline.clone(),
        ConnectionString::for_policy(dps.properties.service_operations_host_name.as_deref().unwrap(), &dps_key.key_name, dps_key.primary_key.as_ref().unwrap()),
    );
    let group = provisioning.create_or_update_enrollment_group(&EnrollmentGroup::symmetric_key("logged-group"), None).await.unwrap();
    secrets.push(group.attestation.symmetric_key.unwrap().primary_key.unwrap().expose().clone());

    // Central over its API token; a device's derived keys.
    let central = cloud.central(FLEET);
    secrets.push(cloud.api_token(FLEET).expose().clone());
    assert_eq!(central.devices().unwrap().all().await.unwrap().len(), 252);
    let credentials = central.device_credentials("thermostat-007").await.unwrap();
    secrets.push(credentials.symmetric_key.unwrap().primary_key.expose().clone());

    let text = String::from_utf8(log.0.lock().unwrap().clone()).unwrap();
    for secret in &secrets {
        assert!(secret.len() >= 8, "a real secret to look for");
        assert!(!text.contains(secret.as_str()), "a secret reached the log: …{}…", &secret[..4]);
    }
    for shape in ["eyJ", "SharedAccessSignature", "SharedAccessKey=", "Bearer ", "client_secret="] {
        assert!(!text.contains(shape), "'{shape}' appears in the log");
    }
    // And the log does say what happened.
    for expected in
        ["client_request_id=", "operation=\"Subscriptions_List\"", "retrying after status 429", "status=200", "DeviceNotFound", "url=https://localhost:"]
    {
        assert!(text.contains(expected), "the log lacks '{expected}'");
    }
    eprintln!("{} log lines checked against {} secrets", text.lines().count(), secrets.len());
}

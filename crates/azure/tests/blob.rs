//! The blob client against Microsoft's Azurite (npm `azurite`, installed by `./x test` into
//! tests/azurite), served over HTTPS with a certificate from the sandbox CA, reached through the
//! sandbox profile's pipeline: a container SAS minted from the account key, then upload, list,
//! download, delete — and a SAS without write permission refused in Storage's own terms.

mod common;

use common::TestCloud;
use iotm_azure::blob::{container_sas_url, permissions, ContainerClient};
use iotm_azure::Secret;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

/// Azurite's well-known development account (public, in Azurite's own source: common/utils/constants.js).
const ACCOUNT: &str = "devstoreaccount1";
const ACCOUNT_KEY: &str = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

struct Azurite(Child);

impl Drop for Azurite {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn azurite_binary() -> PathBuf {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/azurite/node_modules/.bin/azurite-blob");
    assert!(path.exists(), "Azurite is not installed: run `./x test` (or `npm ci --prefix tests/azurite`); looked for {}", path.display());
    path
}

async fn start_azurite(cloud: &TestCloud) -> (Azurite, u16) {
    let (cert, key) = iotm_sandbox::tls::issue_localhost_certificate(cloud.state.path(), "azurite").unwrap();
    let port = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap().local_addr().unwrap().port();
    let child = Command::new(azurite_binary())
        .args(["--blobHost", "127.0.0.1", "--blobPort", &port.to_string(), "--inMemoryPersistence", "--skipApiVersionCheck", "--disableTelemetry", "--loose"])
        .arg("--cert")
        .arg(cert)
        .arg("--key")
        .arg(key)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("Azurite starts");
    let azurite = Azurite(child);
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            return (azurite, port);
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("Azurite did not listen on {port}");
}

/// Creating a container needs the account (an account SAS), which the wizards never hold: the
/// test makes one so the container exists, as a storage admin would have.
async fn create_container(cloud: &TestCloud, port: u16, container: &str) {
    use base64::Engine;
    use hmac::Mac;
    let expiry = "2099-01-01T00:00:00Z";
    let to_sign = format!("{ACCOUNT}\nc\nb\nc\n\n{expiry}\n\nhttps\n{}\n\n", iotm_azure::blob::VERSION);
    let key = base64::engine::general_purpose::STANDARD.decode(ACCOUNT_KEY).unwrap();
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
    mac.update(to_sign.as_bytes());
    let sig = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    let mut url = url::Url::parse(&format!("https://127.0.0.1:{port}/{ACCOUNT}/{container}?restype=container")).unwrap();
    url.query_pairs_mut()
        .append_pair("sv", iotm_azure::blob::VERSION)
        .append_pair("ss", "b")
        .append_pair("srt", "c")
        .append_pair("sp", "c")
        .append_pair("se", expiry)
        .append_pair("spr", "https")
        .append_pair("sig", &sig);
    let request = iotm_azure::Request::new(iotm_azure::Service::Storage, "Container_Create", reqwest::Method::PUT, url)
        .header("x-ms-version", iotm_azure::blob::VERSION)
        .unwrap();
    let created = cloud.pipeline.send(&request, None).await.unwrap();
    assert_eq!(created.status.as_u16(), 201);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_container_sas_uploads_lists_downloads_and_deletes_devices_txt() {
    let cloud = TestCloud::start().await;
    let (_azurite, port) = start_azurite(&cloud).await;
    create_container(&cloud, port, "exports").await;
    let container_url = url::Url::parse(&format!("https://127.0.0.1:{port}/{ACCOUNT}/exports")).unwrap();
    let all =
        container_sas_url(&container_url, ACCOUNT, &Secret::new(ACCOUNT_KEY.into()), &permissions(true, true, true, true, true, true), "2099-01-01T00:00:00Z")
            .unwrap();
    let container = ContainerClient::from_sas_url(cloud.pipeline.clone(), &all).unwrap();
    let lines = b"{\"id\":\"d1\",\"importMode\":\"create\"}\n{\"id\":\"d2\",\"importMode\":\"create\"}\n".to_vec();
    container.upload("devices.txt", lines.clone(), "text/plain").await.unwrap();
    container.upload("logs/importErrors.log", b"".to_vec(), "text/plain").await.unwrap();
    let listed = container.list(None).await.unwrap();
    assert_eq!(listed.iter().map(|b| (b.name.as_str(), b.size)).collect::<Vec<_>>(), [("devices.txt", lines.len() as u64), ("logs/importErrors.log", 0)]);
    assert_eq!(container.list(Some("logs/")).await.unwrap().len(), 1);
    assert_eq!(container.download("devices.txt").await.unwrap(), lines);
    container.delete("devices.txt").await.unwrap();
    let err = container.download("devices.txt").await.unwrap_err();
    assert_eq!(err.service_error().and_then(|e| e.code.as_deref()), Some("BlobNotFound"), "{err}");
    assert!(!container.display_url().contains("sig="));

    let read_only = container_sas_url(
        &container_url,
        ACCOUNT,
        &Secret::new(ACCOUNT_KEY.into()),
        &permissions(true, false, false, false, false, true),
        "2099-01-01T00:00:00Z",
    )
    .unwrap();
    let refused = ContainerClient::from_sas_url(cloud.pipeline.clone(), &read_only).unwrap().upload("x.txt", b"x".to_vec(), "text/plain").await.unwrap_err();
    assert_eq!(refused.status(), Some(403), "{refused}");
    assert!(refused.service_error().and_then(|e| e.code.as_deref()).is_some_and(|c| c.contains("Permission")), "{refused}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sas_url_without_its_signature_or_container_is_refused_before_any_call() {
    let cloud = TestCloud::start().await;
    let no_sig =
        ContainerClient::from_sas_url(cloud.pipeline.clone(), &Secret::new("https://127.0.0.1:1/devstoreaccount1/exports?sv=2024-08-04".into())).err().unwrap();
    assert!(no_sig.to_string().contains("sig="), "{no_sig}");
    let no_container = ContainerClient::from_sas_url(cloud.pipeline.clone(), &Secret::new("https://127.0.0.1:1/?sig=x".into())).err().unwrap();
    assert!(no_container.to_string().contains("exactly one container"), "{no_container}");
    let elsewhere = ContainerClient::from_sas_url(cloud.pipeline.clone(), &Secret::new("https://evil.example.com/a/b?sig=x".into())).err().unwrap();
    assert_eq!(elsewhere.code(), "azure.host_not_allowed");
}

//! The bulk-job clients against the in-process sandbox with Azurite serving the scenario's storage
//! account: the account found through ARM, a container created and SAS URLs minted from its key,
//! an export job run and its devices.txt downloaded range by range, a file uploaded in blocks that
//! resumes after an interruption, and one job per hub.

mod common;

use common::{TestCloud, GROUP, PRODUCTION};
use iotm_azure::blob::{container_create_sas_url, container_sas_url, ContainerClient};
use iotm_azure::blob_blocks::block_id;
use iotm_azure::hub::{DeviceIdentity, HubClient};
use iotm_azure::hub_jobs::NewJob;
use iotm_azure::{ConnectionString, Secret};
use std::time::Duration;

const ACCOUNT: &str = "contosomigration";
const HUB: &str = "contoso-hub-weu";
const EXPIRY: &str = "2099-01-01T00:00:00Z";

struct Storage {
    endpoint: String,
    key: Secret<String>,
}

async fn storage(cloud: &TestCloud) -> Storage {
    let arm = cloud.arm();
    let listed = arm.storage_accounts(PRODUCTION).unwrap().all().await.unwrap();
    assert_eq!(listed.iter().map(|a| a.name.as_str()).collect::<Vec<_>>(), [ACCOUNT]);
    let account = arm.storage_account(PRODUCTION, GROUP, ACCOUNT).await.unwrap();
    let endpoint = account.properties.primary_endpoints.blob.unwrap().trim_end_matches('/').to_string();
    let keys = arm.storage_account_keys(PRODUCTION, GROUP, ACCOUNT).await.unwrap();
    assert_eq!(keys.iter().map(|k| k.key_name.as_str()).collect::<Vec<_>>(), ["key1", "key2"]);
    Storage { endpoint, key: keys[0].value.clone() }
}

impl Storage {
    async fn container(&self, cloud: &TestCloud, name: &str) -> url::Url {
        let url = url::Url::parse(&format!("{}/{name}", self.endpoint)).unwrap();
        let creator = ContainerClient::from_sas_url(cloud.pipeline.clone(), &container_create_sas_url(&url, ACCOUNT, &self.key, EXPIRY).unwrap()).unwrap();
        assert!(creator.create_container().await.unwrap(), "created");
        assert!(!creator.create_container().await.unwrap(), "a second create finds it there");
        url
    }

    fn client(&self, cloud: &TestCloud, url: &url::Url, permissions: &str) -> (ContainerClient, Secret<String>) {
        let sas = container_sas_url(url, ACCOUNT, &self.key, permissions, EXPIRY).unwrap();
        (ContainerClient::from_sas_url(cloud.pipeline.clone(), &sas).unwrap(), sas)
    }
}

async fn hub(cloud: &TestCloud) -> HubClient {
    let arm = cloud.arm();
    let host = arm.iot_hub(PRODUCTION, GROUP, HUB).await.unwrap().properties.host_name.unwrap();
    let policy = arm.iot_hub_key(PRODUCTION, GROUP, HUB, "iothubowner").await.unwrap();
    HubClient::from_connection_string(cloud.pipeline.clone(), ConnectionString::for_policy(&host, "iothubowner", &policy.primary_key.unwrap()))
}

async fn wait(hub: &HubClient, id: &str) -> iotm_azure::hub_jobs::Job {
    for _ in 0..600 {
        let job = hub.import_export_job(id).await.unwrap();
        if job.ended() {
            return job;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("job {id} did not end");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_export_job_writes_devices_txt_which_downloads_range_by_range() {
    let cloud = TestCloud::start_with_storage().await;
    let storage = storage(&cloud).await;
    let hub = hub(&cloud).await;
    for i in 0..3 {
        hub.create_or_update_device(&DeviceIdentity::with_generated_keys(&format!("exp-{i}")), None).await.unwrap();
    }
    let url = storage.container(&cloud, "exports").await;
    // The hub gets write only; the app reads with a SAS of its own.
    let (_, hub_sas) = storage.client(&cloud, &url, "w");
    let created = hub.create_import_export_job(&NewJob::export(hub_sas, false)).await.unwrap();
    assert_eq!((created.kind.as_str(), created.status.as_str()), ("export", "enqueued"));
    let done = wait(&hub, &created.job_id).await;
    assert_eq!((done.status.as_str(), done.failure_reason), ("completed", None));
    let (reader, _) = storage.client(&cloud, &url, "r");
    let mut file = Vec::new();
    let mut chunks = 0;
    let size = reader.download_to("devices.txt", &mut file, 100, |_| chunks += 1).await.unwrap();
    assert_eq!(size as usize, file.len());
    assert!(chunks > 1, "a small chunk size takes several ranges ({chunks})");
    let ids: Vec<String> =
        String::from_utf8(file).unwrap().lines().map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["id"].as_str().unwrap().to_string()).collect();
    assert_eq!(ids, ["exp-0", "exp-1", "exp-2"]);
    assert_eq!(hub.import_export_jobs().await.unwrap().iter().map(|j| j.job_id.clone()).collect::<Vec<_>>(), [created.job_id]);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_upload_interrupted_after_two_blocks_resumes_at_the_third() {
    let cloud = TestCloud::start_with_storage().await;
    let storage = storage(&cloud).await;
    let url = storage.container(&cloud, "uploads").await;
    let (client, _) = storage.client(&cloud, &url, "rw");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("devices.txt");
    let text: String = (0..40).map(|i| format!("{{\"id\":\"d-{i:03}\",\"importMode\":\"create\"}}\n")).collect();
    std::fs::write(&path, &text).unwrap();
    let block = 256;
    // The first run staged two blocks, then stopped.
    for index in 0..2 {
        client.stage_block("devices.txt", &block_id(index), text.as_bytes()[index * block..(index + 1) * block].to_vec()).await.unwrap();
    }
    let mut seen = Vec::new();
    let done = client.upload_file("devices.txt", &path, block, "text/plain", |t| seen.push(t.bytes)).await.unwrap();
    assert_eq!(done.resumed_blocks, 2);
    assert_eq!(done.bytes, text.len() as u64);
    assert_eq!(seen.len(), text.len().div_ceil(block));
    assert_eq!(client.download("devices.txt").await.unwrap(), text.as_bytes());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_job_is_refused_while_one_runs_and_a_cancelled_job_frees_the_hub() {
    let cloud = TestCloud::start_with_storage().await;
    let storage = storage(&cloud).await;
    let hub = hub(&cloud).await;
    let url = storage.container(&cloud, "big").await;
    let (writer, _) = storage.client(&cloud, &url, "w");
    let lines: String = (0..60_000).map(|i| format!("{{\"id\":\"bulk-{i:06}\",\"importMode\":\"createOrUpdate\"}}\n")).collect();
    writer.upload("devices.txt", lines.into_bytes(), "text/plain").await.unwrap();
    let (_, input) = storage.client(&cloud, &url, "r");
    let (_, output) = storage.client(&cloud, &url, "w");
    let first = hub.create_import_export_job(&NewJob::import(input, None, output.clone())).await.unwrap();
    let refused = hub.create_import_export_job(&NewJob::export(output.clone(), true)).await.unwrap_err();
    let service = refused.service_error().expect("the hub's own error");
    assert_eq!((service.status, service.code.as_deref()), (403, Some("JobQuotaExceeded")), "{refused}");
    hub.cancel_import_export_job(&first.job_id).await.unwrap();
    assert_eq!(hub.import_export_job(&first.job_id).await.unwrap().status, "cancelled");
    let second = hub.create_import_export_job(&NewJob::export(output, true)).await.unwrap();
    assert_eq!(wait(&hub, &second.job_id).await.status, "completed");
}

"""IoT Hub import/export jobs benchmark (release build, Azurite installed): 100,000 devices with
twins (tags and desired properties) imported into one hub, exported to devices.txt, and that file
imported into the other hub, as a hub-to-hub migration does. Prints each job's seconds and the
sandbox's resident memory (after each job, and its peak), with the official clients throughout.
Then the twin query over the imported hub: by tag (2,000 of the 100,000 twins, paged by 1,000) and
by a tag no twin has (one call that evaluates every twin), each timed.

    cargo build --release -p iotm-sandbox
    .venv/bin/python tests/bench/hub_jobs.py      # IOTM_SANDBOX_BINARY=… for a build elsewhere
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BINARY = Path(os.environ.get("IOTM_SANDBOX_BINARY") or ROOT / "target" / "release" / "iotm-sandbox")
DEVICES = 100_000
MB = 1024 * 1024
TENANT = "72f9a1b0-5c1e-4d7a-9b8e-0c1d2e3f4a5b"
AUTOMATION_CLIENT = "5a4b1c2d-0000-4000-8000-00000000a003"
SUBSCRIPTION = "3c1e7a52-9f0b-4c55-8a6e-2d4b6f8a0c11"
RG, ACCOUNT = "rg-iot-prod", "contosomigration"


def status(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    return 0


class Peak(threading.Thread):
    """Samples the sandbox's RSS while a job runs (VmHWM would also count earlier phases)."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid, self.peak, self.running = pid, 0, True

    def run(self):
        while self.running:
            self.peak = max(self.peak, status(self.pid, "VmRSS"))
            time.sleep(0.05)

    def stop(self) -> int:
        self.running = False
        self.join()
        return self.peak


def main() -> None:
    if not BINARY.exists():
        sys.exit(f"{BINARY} is missing: cargo build --release -p iotm-sandbox")
    from azure.identity import ClientSecretCredential
    from azure.iot.hub import IoTHubJobManager, IoTHubRegistryManager
    from azure.iot.hub.models import JobProperties, QuerySpecification
    from azure.mgmt.iothub import IotHubClient
    from azure.mgmt.storage import StorageManagementClient
    from azure.mgmt.storage.models import ServiceSasParameters
    from azure.storage.blob import BlobServiceClient, ContainerClient

    state = Path(tempfile.mkdtemp(prefix="iotm-bench-jobs-"))
    # A release sandbox runs only the Azurite it is told of, by absolute path (it never searches).
    env = {**os.environ, "IOTM_AZURITE_BIN": os.environ.get("IOTM_AZURITE_BIN") or str(ROOT / "tests" / "azurite" / "node_modules" / ".bin" / "azurite-blob")}
    proc = subprocess.Popen([str(BINARY), "--state-dir", str(state)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    try:
        info = json.loads(proc.stdout.readline())
        if not info.get("azurite"):
            sys.exit("the sandbox runs without Azurite: run `npm ci` in tests/azurite")
        os.environ["REQUESTS_CA_BUNDLE"] = info["caBundle"]
        base = info["baseUrl"]
        import requests

        control = {"Authorization": f"Bearer {info['controlToken']}"}
        secret = requests.get(f"{base}/_sandbox/credentials", verify=info["caBundle"], timeout=30, headers=control).json()["clientSecrets"][AUTOMATION_CLIENT]
        cred = ClientSecretCredential(TENANT, AUTOMATION_CLIENT, secret, authority=base, disable_instance_discovery=True)
        common = {"base_url": base, "credential_scopes": ["https://management.azure.com/.default"]}
        hubs, storage = IotHubClient(cred, SUBSCRIPTION, **common), StorageManagementClient(cred, SUBSCRIPTION, **common)

        def connection_string(name: str) -> str:
            host = hubs.iot_hub_resource.get(RG, name).properties.host_name
            key = hubs.iot_hub_resource.get_keys_for_key_name(RG, name, "iothubowner").primary_key
            return f"HostName={host};SharedAccessKeyName=iothubowner;SharedAccessKey={key}"

        def job_manager(name: str) -> IoTHubJobManager:
            return IoTHubJobManager.from_connection_string(connection_string(name))

        endpoint = storage.storage_accounts.get_properties(RG, ACCOUNT).primary_endpoints.blob.rstrip("/")
        key = storage.storage_accounts.list_keys(RG, ACCOUNT).keys_property[0].value
        service = BlobServiceClient(endpoint, credential={"account_name": ACCOUNT, "account_key": key})

        def container(name: str) -> str:
            service.create_container(name)
            params = ServiceSasParameters(canonicalized_resource=f"/blob/{ACCOUNT}/{name}", resource="c", permissions="rwdl",
                                          shared_access_expiry_time=datetime.now(timezone.utc) + timedelta(hours=2))
            return f"{endpoint}/{name}?{storage.storage_accounts.list_service_sas(RG, ACCOUNT, params).service_sas_token}"

        def run(jobs: IoTHubJobManager, what: str, props: JobProperties) -> dict:
            peak = Peak(proc.pid)
            peak.start()
            started = time.monotonic()
            job = jobs.create_import_export_job(props)
            while (job := jobs.get_import_export_job(job.job_id)).status not in ("completed", "failed", "cancelled"):
                time.sleep(0.1)
            seconds = time.monotonic() - started
            peak_rss = peak.stop()
            if job.status != "completed":
                sys.exit(f"{what}: {job.status}: {job.failure_reason}")
            figures = {"seconds": round(seconds, 2), "peak_rss_mb": round(peak_rss / MB, 1), "rss_after_mb": round(status(proc.pid, "VmRSS") / MB, 1)}
            print(f"{what}: {figures}", flush=True)
            return figures

        seed_url, export_url, target_url = container("seed"), container("export"), container("target")
        print(f"sandbox idle: rss {status(proc.pid, 'VmRSS') / MB:.1f} MB", flush=True)
        lines = "".join(json.dumps({"id": f"bench-{i:06}", "importMode": "createOrUpdate", "status": "enabled",
                                    "tags": {"site": f"site-{i % 50}", "wave": i % 7},
                                    "properties": {"desired": {"telemetryInterval": 30, "firmware": {"version": "1.4.2", "channel": "stable"}}}}) + "\n"
                        for i in range(DEVICES))
        ContainerClient.from_container_url(seed_url).upload_blob("devices.txt", lines.encode(), overwrite=True, max_concurrency=4)
        del lines
        weu, neu = job_manager("contoso-hub-weu"), job_manager("contoso-hub-neu")
        results = {"devices": DEVICES}
        results["seed_import"] = run(weu, f"import {DEVICES:,} devices with twins (seed)", JobProperties(type="import", input_blob_container_uri=seed_url, output_blob_container_uri=seed_url))
        results["export"] = run(weu, f"export {DEVICES:,} devices with twins", JobProperties(type="export", output_blob_container_uri=export_url))
        exported = ContainerClient.from_container_url(export_url).get_blob_client("devices.txt").get_blob_properties().size
        results["devices_txt_mb"] = round(exported / MB, 1)
        print(f"devices.txt: {exported / MB:.1f} MB", flush=True)
        # The exported file as it is (lines without importMode: create) into the other hub.
        results["import"] = run(neu, "import that devices.txt into the other hub", JobProperties(type="import", input_blob_container_uri=export_url, output_blob_container_uri=target_url))
        errors = ContainerClient.from_container_url(target_url).download_blob("importErrors.log").readall()
        results["import_error_lines"] = errors.count(b"\n")

        def query(what: str, text: str) -> dict:
            registry = IoTHubRegistryManager.from_connection_string(connection_string("contoso-hub-neu"))
            peak = Peak(proc.pid)
            peak.start()
            started, twins, token, calls = time.monotonic(), 0, None, 0
            while True:
                page = registry.query_iot_hub(QuerySpecification(query=text), token, 1000)
                twins, token, calls = twins + len(page.items), page.continuation_token, calls + 1
                if not token:
                    break
            figures = {"seconds": round(time.monotonic() - started, 2), "twins": twins, "calls": calls, "peak_rss_mb": round(peak.stop() / MB, 1)}
            print(f"{what}: {figures}", flush=True)
            return figures

        results["query_by_tag"] = query("query by tag (site-7)", "SELECT * FROM devices WHERE tags.site = 'site-7'")
        results["query_no_match"] = query("query matching no twin", "SELECT deviceId FROM devices WHERE tags.site = 'nowhere'")
        print(json.dumps(results))
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(state, ignore_errors=True)


if __name__ == "__main__":
    main()

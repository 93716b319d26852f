"""Hub state benchmark (`./x bench hub-state`, release builds, Azurite installed), issue 14's rows
side by side in one run, each on a freshly loaded sandbox:

1. `iotm hub-state migrate` of N devices with twins (10% with two modules), quotas off: seconds and
   devices/s (goal: 100,000 in ≤ 60 s). The job path (import/export jobs) is not built: said so.
2. The same on S1×1 hubs with quotas on, beside the floor the documented throttles allow for the
   writes the migrate cannot avoid (goal ≤ 1.1×).
3. Peak RSS of `iotm hub-state export` of a hub of 1,000,000 devices (goal ≤ 150 MB).
4. `az iot hub state migrate` (azure-cli with the azure-iot extension, `./x bench` installs both)
   beside `iotm hub-state migrate` on the same hub: both times and the ratio (goal ≥ 30×).

Sizes: --devices (100000), --s1-devices (300), --rss-devices (1000000), --az-devices (1000; az moves
about 16 devices a second, so its goal's 10,000 takes ten minutes: pass --az-devices 10000 for it).
IOTM_SANDBOX_BINARY / IOTM_CLI_BINARY measure other builds.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sandbox import ROOT, service_sas  # noqa: E402

SANDBOX = Path(os.environ.get("IOTM_SANDBOX_BINARY") or ROOT / "target" / "release" / "iotm-sandbox")
CLI = Path(os.environ.get("IOTM_CLI_BINARY") or ROOT / "target" / "release" / "iotm")
AZURITE = os.environ.get("IOTM_AZURITE_BIN") or str(ROOT / "tests" / "azurite" / "node_modules" / ".bin" / "azurite-blob")
RG, ACCOUNT, SOURCE, TARGET = "rg-iot-prod", "contosomigration", "contoso-hub-weu", "contoso-hub-neu"
HUB_API = "api-version=2021-04-12"
MB = 1024 * 1024


class Sandbox:
    """One release sandbox for the whole run; each row reloads its scenario."""

    def __init__(self):
        self.state = Path(tempfile.mkdtemp(prefix="iotm-bench-hub-state-"))
        self.proc = subprocess.Popen([str(SANDBOX), "--state-dir", str(self.state)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     text=True, env={**os.environ, "IOTM_AZURITE_BIN": AZURITE})
        self.info = json.loads(self.proc.stdout.readline())
        if not self.info.get("azurite"):
            sys.exit("the sandbox runs without Azurite: run `npm ci` in tests/azurite")
        self.base, self.ca = self.info["baseUrl"], self.info["caBundle"]
        self.control = {"Authorization": f"Bearer {self.info['controlToken']}"}
        self.default = self.call("GET", "scenario")
        tenant = self.default["tenants"][0]
        self.tenant = tenant["id"]
        self.client = next(a["clientId"] for a in tenant["appRegistrations"] if a["kind"] == "confidential")
        self.subscription = self.default["subscriptions"][0]["id"]

    def call(self, method: str, path: str, body=None):
        response = requests.request(method, f"{self.base}/_sandbox/{path}", json=body, headers=self.control, verify=self.ca, timeout=600)
        response.raise_for_status()
        return response.json() if response.content else None

    def load(self, sku: str = "S1", units: int = 1, quotas: bool = False) -> None:
        scenario = json.loads(json.dumps(self.default))
        for hub in scenario["subscriptions"][0]["resourceGroups"][0]["iotHubs"]:
            hub["sku"], hub["capacity"] = sku, units
        self.call("POST", "scenario", scenario)
        self.call("POST", "quotas", {"enabled": quotas})
        self.secret = self.call("GET", "credentials")["clientSecrets"][self.client]
        self.arm_token = requests.post(f"{self.base}/{self.tenant}/oauth2/v2.0/token", verify=self.ca, timeout=30, data={
            "grant_type": "client_credentials", "client_id": self.client, "client_secret": self.secret,
            "scope": "https://management.azure.com/.default"}).json()["access_token"]

    def arm(self, method: str, path: str, body=None) -> dict:
        url = f"{self.base}/subscriptions/{self.subscription}/resourceGroups/{RG}/providers/{path}"
        response = requests.request(method, url, json=body, headers={"Authorization": f"Bearer {self.arm_token}"}, verify=self.ca, timeout=60)
        response.raise_for_status()
        return response.json()

    def hub(self, name: str) -> tuple[str, str, str]:
        """Host, iothubowner SAS and connection string, found through ARM as a client would."""
        host = self.arm("GET", f"Microsoft.Devices/IotHubs/{name}?api-version=2023-06-30")["properties"]["hostName"]
        key = self.arm("POST", f"Microsoft.Devices/IotHubs/{name}/IotHubKeys/iothubowner/listkeys?api-version=2023-06-30")["primaryKey"]
        return host, service_sas(host, "iothubowner", key), f"HostName={host};SharedAccessKeyName=iothubowner;SharedAccessKey={key}"

    def container_sas(self, name: str) -> str:
        """A new container on the scenario's storage account (made with the account key, found
        through ARM) and a service SAS for it minted by ARM."""
        from azure.storage.blob import BlobServiceClient

        storage = "Microsoft.Storage/storageAccounts/" + ACCOUNT
        endpoint = self.arm("GET", f"{storage}?api-version=2023-05-01")["properties"]["primaryEndpoints"]["blob"].rstrip("/")
        key = self.arm("POST", f"{storage}/listKeys?api-version=2023-05-01")["keys"][0]["value"]
        BlobServiceClient(endpoint, credential={"account_name": ACCOUNT, "account_key": key}, connection_verify=self.ca).create_container(name)
        expiry = (datetime.now(timezone.utc) + timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
        token = self.arm("POST", f"{storage}/ListServiceSas?api-version=2023-05-01", {
            "canonicalizedResource": f"/blob/{ACCOUNT}/{name}", "signedResource": "c", "signedPermission": "rwdl", "signedExpiry": expiry})
        return f"{endpoint}/{name}?{token['serviceSasToken']}"

    def seed(self, hub: str, devices: int, with_modules: bool) -> None:
        """Devices with twin tags and desired properties through an import job; every tenth with two
        modules through the registry (import jobs carry no modules)."""
        host, sas, _ = self.hub(hub)
        container = self.container_sas(f"seed-{int(time.time() * 1000)}")
        lines = "".join(json.dumps({"id": f"bench-{i:07}", "importMode": "createOrUpdate", "status": "enabled",
                                    "tags": {"site": f"site-{i % 50}", "wave": i % 7},
                                    "properties": {"desired": {"telemetryInterval": 30, "firmware": {"version": "1.4.2"}}}}) + "\n"
                        for i in range(devices)).encode()
        base, query = container.split("?", 1)
        put = requests.put(f"{base}/devices.txt?{query}", data=lines, headers={"x-ms-blob-type": "BlockBlob"}, verify=self.ca, timeout=600)
        put.raise_for_status()
        del lines
        headers = {"Authorization": sas, "Content-Type": "application/json"}
        job = requests.post(f"https://{host}/jobs/create?{HUB_API}", headers=headers, verify=self.ca, timeout=60,
                            json={"type": "import", "inputBlobContainerUri": container, "outputBlobContainerUri": container}).json()
        while (job := requests.get(f"https://{host}/jobs/{job['jobId']}?{HUB_API}", headers=headers, verify=self.ca, timeout=60).json())["status"] not in (
                "completed", "failed", "cancelled"):
            time.sleep(0.2)
        if job["status"] != "completed":
            sys.exit(f"seeding {hub}: the import job {job['status']}: {job.get('failureReason')}")
        if with_modules:
            session = requests.Session()
            session.headers = headers

            def modules(i: int) -> None:
                for module in ("filter", "relay"):
                    url = f"https://{host}/devices/bench-{i:07}/modules/{module}?{HUB_API}"
                    session.put(url, json={"deviceId": f"bench-{i:07}", "moduleId": module}, verify=self.ca, timeout=60).raise_for_status()

            with ThreadPoolExecutor(8) as pool:
                list(pool.map(modules, range(0, devices, 10)))

    def cli_env(self) -> dict:
        return {**os.environ, "AZURE_TENANT_ID": self.tenant, "AZURE_CLIENT_ID": self.client, "AZURE_CLIENT_SECRET": self.secret,
                "IOTM_SANDBOX_URL": self.base, "IOTM_SANDBOX_CA": self.info["caCert"]}

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)


def timed(argv: list[str], env: dict, what: str) -> tuple[float, float]:
    """Runs a command to its end: (seconds, its peak RSS in MB); exits on failure."""
    started = time.monotonic()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.monotonic() - started
    if status != 0:
        sys.exit(f"{what} failed:\n{output[-3000:]}")
    return seconds, usage.ru_maxrss / 1024


def iotm(cloud: Sandbox, *args: str, work: Path) -> list[str]:
    return [str(CLI), "hub-state", *args, "--cloud", "sandbox", "--subscription", cloud.subscription,
            "--journal", str(work / f"journal-{time.monotonic_ns()}.db"), "--report-dir", str(work)]


def throttle_floor(devices: int, modules: int) -> float:
    """Seconds S1×1's documented throttles need for the writes a migrate into an empty hub cannot
    avoid: one identity-registry create per device and per module (100 a minute a unit, a minute's
    worth let through at once), one twin update per device with a twin (50 a second). The buckets
    run side by side, so the slowest one sets the floor."""
    registry = max(0, devices + modules - 100) / (100 / 60)
    twins = max(0, devices - 50) / 50
    return max(registry, twins)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--devices", type=int, default=100_000)
    parser.add_argument("--s1-devices", type=int, default=300)
    parser.add_argument("--rss-devices", type=int, default=1_000_000)
    parser.add_argument("--az-devices", type=int, default=1_000)
    sizes = parser.parse_args()
    for binary, build in ((SANDBOX, "iotm-sandbox"), (CLI, "iotm-cli")):
        if not binary.exists():
            sys.exit(f"{binary} is missing: cargo build --release -p {build}")
    work = Path(tempfile.mkdtemp(prefix="iotm-bench-hub-state-work-"))
    cloud = Sandbox()
    rows = {}
    try:
        n = sizes.devices
        cloud.load(sku="S3", units=1)
        cloud.seed(SOURCE, n, with_modules=True)
        seconds, rss = timed(iotm(cloud, "migrate", f"{RG}/{SOURCE}", f"{RG}/{TARGET}", work=work), cloud.cli_env(), "iotm migrate")
        rows["per_device_quotas_off"] = {"devices": n, "seconds": round(seconds, 1), "devices_per_s": round(n / seconds), "peak_rss_mb": round(rss, 1),
                                         "goal_seconds_at_100k": 60}
        rows["job_path"] = "not built: the migrate uses the per-device path only (issue 14)"
        print(f"1. migrate {n:,} devices, quotas off: {seconds:.1f} s, {n / seconds:,.0f} devices/s, CLI peak RSS {rss:.0f} MB "
              f"(goal at 100,000: ≤ 60 s) | job path: not built", flush=True)

        n = sizes.s1_devices
        cloud.load(sku="S1", units=1)
        cloud.seed(SOURCE, n, with_modules=True)
        cloud.call("POST", "quotas", {"enabled": True})
        seconds, _ = timed(iotm(cloud, "migrate", f"{RG}/{SOURCE}", f"{RG}/{TARGET}", work=work), cloud.cli_env(), "iotm migrate at S1")
        floor = throttle_floor(n, 2 * len(range(0, n, 10)))
        rows["s1_quotas_on"] = {"devices": n, "seconds": round(seconds, 1), "floor_seconds": round(floor, 1), "ratio": round(seconds / floor, 2), "goal_ratio": 1.1}
        print(f"2. migrate {n:,} devices, S1×1, quotas on: {seconds:.1f} s beside a floor of {floor:.1f} s: {seconds / floor:.2f}× (goal ≤ 1.1×)", flush=True)

        n = sizes.rss_devices
        cloud.load(sku="S3", units=1)
        cloud.seed(SOURCE, n, with_modules=False)
        seconds, rss = timed(iotm(cloud, "export", f"{RG}/{SOURCE}", str(work / "export.json"), work=work), cloud.cli_env(), "iotm export")
        rows["export_rss"] = {"devices": n, "seconds": round(seconds, 1), "peak_rss_mb": round(rss, 1), "goal_mb": 150}
        print(f"3. export {n:,} devices: {seconds:.1f} s, CLI peak RSS {rss:.0f} MB (goal ≤ 150 MB)", flush=True)

        az = os.environ.get("IOTM_AZ")
        n = sizes.az_devices
        if not az:
            rows["az"] = "not run: the az CLI is not installed (./x bench hub-state installs it when ../shared/peers has the extension)"
            print(f"4. {rows['az']}")
        else:
            times = {}
            for tool in ("iotm", "az"):
                cloud.load(sku="S3", units=1)
                cloud.seed(SOURCE, n, with_modules=True)
                if tool == "iotm":
                    times[tool], _ = timed(iotm(cloud, "migrate", f"{RG}/{SOURCE}", f"{RG}/{TARGET}", work=work), cloud.cli_env(), "iotm migrate")
                else:
                    env = {**os.environ, "AZURE_CONFIG_DIR": str(work / "az-config"), "AZURE_EXTENSION_DIR": os.environ["IOTM_AZ_EXTENSIONS"],
                           "AZURE_CORE_COLLECT_TELEMETRY": "false", "REQUESTS_CA_BUNDLE": cloud.ca}
                    argv = [az, "iot", "hub", "state", "migrate", "--origin-hub-login", cloud.hub(SOURCE)[2], "--destination-hub-login", cloud.hub(TARGET)[2],
                            "--aspects", "devices", "configurations", "--only-show-errors"]
                    times[tool], _ = timed(argv, env, "az iot hub state migrate")
            ratio = times["az"] / times["iotm"]
            rows["az"] = {"devices": n, "az_seconds": round(times["az"], 1), "iotm_seconds": round(times["iotm"], 1), "ratio": round(ratio, 1), "goal_ratio": 30}
            print(f"4. migrate {n:,} devices: az {times['az']:.1f} s, iotm {times['iotm']:.1f} s: iotm {ratio:.1f}× faster (goal ≥ 30× at 10,000)", flush=True)
        print(json.dumps(rows))
    finally:
        cloud.stop()


if __name__ == "__main__":
    main()

"""IoT Hub quota benchmark (release build): the identity-registry create rate an S1 hub with one
unit lets through when driven as fast as possible, beside the documented 100 a minute a unit, and
with quotas off the devices created a second (through bulk registry when the hub serves it).

The throttle lets a minute's worth through at once (100 on S1 x1), then holds callers to the
rate; the sustained rate is measured from the first 429 on, when the burst is spent.
Run: python3 tests/bench/hub_quotas.py  (after cargo build --release -p iotm-sandbox)
"""

import json
import os
import shutil
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sandbox import ROOT, service_sas  # noqa: E402

BINARY = Path(os.environ.get("IOTM_SANDBOX_BINARY") or ROOT / "target" / "release" / "iotm-sandbox")
DRIVE_SECONDS = float(os.environ.get("HUB_QUOTAS_SECONDS", "75"))
OFF_SECONDS = 10
WORKERS = 8
DOCUMENTED_PER_MINUTE = 100  # identity registry operations, S1, per unit
API = "api-version=2021-04-12"
CA: list[str] = [""]  # the sandbox's CA bundle, once started


def start(scenario: dict):
    import tempfile
    state = Path(tempfile.mkdtemp(prefix="iotm-bench-hub-quotas-"))
    path = state / "scenario.json"
    path.write_text(json.dumps(scenario))
    proc = subprocess.Popen([str(BINARY), "--state-dir", str(state), "--scenario", str(path)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    return proc, json.loads(proc.stdout.readline()), state


def hub_access(info: dict, scenario: dict, name: str) -> tuple[str, str]:
    """The hub's host and an iothubowner SAS, found through ARM as a client would."""
    base, ca = info["baseUrl"], info["caBundle"]
    creds = requests.get(f"{base}/_sandbox/credentials", verify=ca, timeout=30, headers={"Authorization": f"Bearer {info['controlToken']}"}).json()
    tenant = scenario["tenants"][0]["id"]
    client = next(a["clientId"] for a in scenario["tenants"][0]["appRegistrations"] if a["kind"] == "confidential")
    token = requests.post(f"{base}/{tenant}/oauth2/v2.0/token", verify=ca, timeout=30, data={
        "grant_type": "client_credentials", "client_id": client, "client_secret": creds["clientSecrets"][client],
        "scope": "https://management.azure.com/.default"}).json()["access_token"]
    sub = scenario["subscriptions"][0]["id"]
    hub_id = f"/subscriptions/{sub}/resourceGroups/rg-iot-prod/providers/Microsoft.Devices/IotHubs/{name}"
    arm = {"Authorization": f"Bearer {token}"}
    host = requests.get(f"{base}{hub_id}?api-version=2023-06-30", headers=arm, verify=ca, timeout=30).json()["properties"]["hostName"]
    key = requests.post(f"{base}{hub_id}/IotHubKeys/iothubowner/listkeys?api-version=2023-06-30", headers=arm, verify=ca, timeout=30).json()["primaryKey"]
    return host, service_sas(host, "iothubowner", key)


def drive(host: str, sas: str, ca: str, seconds: float, make) -> tuple[list[float], int, int, float]:
    """WORKERS threads calling `make(session)` until `seconds` pass: success times, devices, 429s."""
    ok_times: list[float] = []
    counts = {"devices": 0, "throttled": 0, "other": 0}
    lock = threading.Lock()
    started = time.monotonic()

    def worker():
        session = requests.Session()
        session.headers["Authorization"] = sas
        while time.monotonic() - started < seconds:
            status, devices = make(session)
            with lock:
                if 200 <= status < 300:
                    ok_times.append(time.monotonic() - started)
                    counts["devices"] += devices
                elif status == 429:
                    counts["throttled"] += 1
                else:
                    counts["other"] += 1

    threads = [threading.Thread(target=worker) for _ in range(WORKERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if counts["other"]:
        print(f"  warning: {counts['other']} calls answered neither 2xx nor 429")
    return sorted(ok_times), counts["devices"], counts["throttled"], time.monotonic() - started


def single_create(host: str):
    def make(session):
        device_id = f"bench-{uuid.uuid4().hex[:12]}"
        r = session.put(f"https://{host}/devices/{device_id}?{API}", json={"deviceId": device_id}, timeout=30, verify=CA[0])
        return r.status_code, 1
    return make


def bulk_create(host: str, size: int = 100):
    def make(session):
        body = [{"id": f"bulk-{uuid.uuid4().hex[:12]}", "importMode": "create"} for _ in range(size)]
        r = session.post(f"https://{host}/devices?{API}", json=body, timeout=60, verify=CA[0])
        return r.status_code, size
    return make


def main() -> None:
    if not BINARY.exists():
        sys.exit(f"{BINARY} is missing: cargo build --release -p iotm-sandbox")
    scenario = json.loads(subprocess.run([str(BINARY), "--print-default-scenario"], capture_output=True, text=True, check=True).stdout)
    scenario["quotas"] = True
    hubs = scenario["subscriptions"][0]["resourceGroups"][0]["iotHubs"]
    hubs[:] = [{"name": "bench-s1", "sku": "S1", "capacity": 1}, {"name": "bench-unthrottled", "sku": "S1", "capacity": 1, "quotas": False}]
    for rg in scenario["subscriptions"][0]["resourceGroups"]:
        rg["provisioningServices"] = []
        for app in rg["iotCentralApps"]:
            app["fleets"] = []
    proc, info, state = start(scenario)
    try:
        ca = CA[0] = info["caBundle"]
        host, sas = hub_access(info, scenario, "bench-s1")
        ok, created, throttled, elapsed = drive(host, sas, ca, DRIVE_SECONDS, single_create(host))
        # Sustained: successes after the burst (the first minute's worth) over the time they took.
        after_burst = ok[DOCUMENTED_PER_MINUTE:]
        sustained = (len(after_burst) - 1) / (after_burst[-1] - after_burst[0]) * 60 if len(after_burst) > 1 else 0.0
        overall = created / elapsed * 60

        fast_host, fast_sas = hub_access(info, scenario, "bench-unthrottled")
        probe = requests.post(f"https://{fast_host}/devices?{API}", json=[{"id": "probe-1", "importMode": "create"}], headers={"Authorization": fast_sas}, verify=ca, timeout=30)
        bulk = 200 <= probe.status_code < 300
        make = bulk_create(fast_host) if bulk else single_create(fast_host)
        _, off_devices, off_throttled, off_elapsed = drive(fast_host, fast_sas, ca, OFF_SECONDS, make)
    finally:
        proc.terminate()
        proc.wait()
        shutil.rmtree(state, ignore_errors=True)

    ratio = sustained / DOCUMENTED_PER_MINUTE
    print("IoT Hub quota benchmark (release build, loopback, 2 cores shared with the load generator)")
    print(f"  S1 x1, quotas on, {WORKERS} workers creating identities as fast as possible for {elapsed:.0f} s: "
          f"{created} created, {throttled} answered 429")
    print(f"  overall {overall:6.1f} creates/min (includes the first minute's burst of {DOCUMENTED_PER_MINUTE})")
    print(f"  sustained after the burst {sustained:6.1f} creates/min   documented {DOCUMENTED_PER_MINUTE}/min/unit   "
          f"ratio {ratio:4.2f}  {'within 10 %' if abs(ratio - 1) <= 0.10 else 'OFF BY MORE THAN 10 %'}")
    how = "bulk registry (POST /devices, 100 a call)" if bulk else f"single creates (bulk registry not served here: POST /devices answered {probe.status_code})"
    print(f"  quotas off: {off_devices / off_elapsed:8.0f} devices created/s through {how}, {WORKERS} workers, {off_elapsed:.0f} s, {off_throttled} 429s")


if __name__ == "__main__":
    main()

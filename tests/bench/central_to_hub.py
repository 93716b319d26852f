"""Central → Hub benchmark (release builds): 10,000 healthy simulated devices moved by the `iotm` CLI
(the same engine as the window), against the floor the sandbox allows — listing the devices through
Central at its 20 requests/s, creating the job, and the devices' own latency until the last one is
connected in the target hub — measured side by side in one run, each on a fresh sandbox. Prints
both times, their ratio (goal ≤ 1.1) and the engine's peak RSS (goal ≤ 200 MB). `./x bench central-to-hub`.
"""

import base64
import hashlib
import hmac
import json
import os
import urllib.parse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
SANDBOX = ROOT / "target" / "release" / "iotm-sandbox"
CLI = ROOT / "target" / "release" / "iotm"
DEVICES = 10_000
TIMING = {"answerMs": 1000, "slowAnswerMs": 20000, "reconnectMs": 2000, "commandTimeoutMs": 30000}
THERMOSTAT = "dtmi:contoso:Thermostat;1"
V = "api-version=2022-07-31"


def scenario() -> dict:
    out = subprocess.run([str(SANDBOX), "--print-default-scenario"], capture_output=True, text=True, check=True)
    s = json.loads(out.stdout)
    s["deviceTiming"] = TIMING
    s["quotas"] = False
    rg = s["subscriptions"][0]["resourceGroups"][0]
    rg["iotCentralApps"][0]["fleets"] = [{"prefix": "mover-", "count": DEVICES, "template": THERMOSTAT}]
    # The target is the hub the DPS already links (a link is a one-off ARM operation, not part of
    # moving devices), on S3: the engine paces the hub at its tier's throttle (S1 allows 100 calls a minute).
    for hub in rg["iotHubs"]:
        if hub["name"] == "contoso-hub-weu":
            hub["sku"] = "S3"
    return s


# The running sandbox's control API token (`Authorization`), set by `start`.
CONTROL: dict[str, str] = {}


def start(s: dict):
    state = Path(tempfile.mkdtemp(prefix="iotm-bench-c2h-"))
    (state / "scenario.json").write_text(json.dumps(s))
    proc = subprocess.Popen([str(SANDBOX), "--state-dir", str(state), "--scenario", str(state / "scenario.json")], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    info = json.loads(proc.stdout.readline())
    # The control API answers only the token this run printed.
    CONTROL["Authorization"] = f"Bearer {info['controlToken']}"
    return proc, info, state


def stop(proc, state):
    proc.terminate()
    proc.wait(timeout=20)
    shutil.rmtree(state, ignore_errors=True)


def connected(base, ca, host) -> int:
    fleet = requests.get(f"{base}/_sandbox/fleet/contoso-fleet?summary=true", verify=ca, timeout=60, headers=CONTROL).json()
    return fleet["connectedByHub"].get(host, 0)


def hub_host(base, ca, s) -> str:
    creds = requests.get(f"{base}/_sandbox/credentials", verify=ca, timeout=30, headers=CONTROL).json()
    tenant = s["tenants"][0]["id"]
    client = next(a["clientId"] for a in s["tenants"][0]["appRegistrations"] if a["kind"] == "confidential")
    token = requests.post(f"{base}/{tenant}/oauth2/v2.0/token", verify=ca, timeout=30, data={
        "grant_type": "client_credentials", "client_id": client, "client_secret": creds["clientSecrets"][client],
        "scope": "https://management.azure.com/.default"}).json()["access_token"]
    sub = s["subscriptions"][0]["id"]
    hub = requests.get(f"{base}/subscriptions/{sub}/resourceGroups/rg-iot-prod/providers/Microsoft.Devices/IotHubs/contoso-hub-weu?api-version=2023-06-30",
                       headers={"Authorization": f"Bearer {token}"}, verify=ca, timeout=30).json()
    dps = requests.get(f"{base}/subscriptions/{sub}/resourceGroups/rg-iot-prod/providers/Microsoft.Devices/provisioningServices/contoso-dps?api-version=2022-12-12",
                       headers={"Authorization": f"Bearer {token}"}, verify=ca, timeout=30).json()
    return hub["properties"]["hostName"], dps["properties"]["idScope"], creds, client, tenant


def sas(host: str, key_name: str, key: str) -> str:
    expiry = int(time.time()) + 3600
    sr = urllib.parse.quote(host, safe="")
    sig = base64.b64encode(hmac.new(base64.b64decode(key), f"{sr}\n{expiry}".encode(), hashlib.sha256).digest()).decode()
    return f"SharedAccessSignature sr={sr}&sig={urllib.parse.quote(sig, safe='')}&se={expiry}&skn={key_name}"


def prepare_target(base, ca, s, arm_token, central_headers) -> str:
    """The floor's cloud as the app leaves it before its job: the DPS enrollment group holding
    Central's keys, for the hub the DPS already links (contoso-hub-weu). Answers that hub's host."""
    sub = s["subscriptions"][0]["id"]
    rg = f"{base}/subscriptions/{sub}/resourceGroups/rg-iot-prod/providers/Microsoft.Devices"
    arm = {"Authorization": f"Bearer {arm_token}"}
    dps = requests.get(f"{rg}/provisioningServices/contoso-dps?api-version=2022-12-12", headers=arm, verify=ca, timeout=30).json()
    weu = requests.get(f"{rg}/IotHubs/contoso-hub-weu?api-version=2023-06-30", headers=arm, verify=ca, timeout=30).json()["properties"]["hostName"]
    owner = requests.post(f"{rg}/provisioningServices/contoso-dps/keys/provisioningserviceowner/listKeys?api-version=2022-12-12", headers=arm, verify=ca, timeout=30).json()
    keys = requests.get(f"{base}/iotc/contoso-fleet/api/enrollmentGroups/sas-iot-devices?{V}", headers=central_headers, verify=ca, timeout=30).json()["attestation"]["symmetricKey"]
    host = dps["properties"]["serviceOperationsHostName"]
    group = {"enrollmentGroupId": "floor", "attestation": {"type": "symmetricKey", "symmetricKey": keys}, "iotHubs": [weu], "allocationPolicy": "hashed", "provisioningStatus": "enabled"}
    r = requests.put(f"https://{host}/enrollmentGroups/floor?api-version=2021-10-01", json=group,
                     headers={"Authorization": sas(host, "provisioningserviceowner", owner["primaryKey"])}, verify=ca, timeout=30)
    assert r.status_code == 200, r.text
    return weu


def floor(s: dict) -> float:
    """What the sandbox itself needs: the devices listed at Central's rate, the job, the devices' latency."""
    proc, info, state = start(s)
    try:
        base, ca = info["baseUrl"], info["caBundle"]
        _, scope, creds, client, tenant = hub_host(base, ca, s)
        token = creds["centralApiTokens"]["contoso-fleet"]
        h = {"Authorization": token}
        arm_token = requests.post(f"{base}/{tenant}/oauth2/v2.0/token", verify=ca, timeout=30, data={
            "grant_type": "client_credentials", "client_id": client, "client_secret": creds["clientSecrets"][client],
            "scope": "https://management.azure.com/.default"}).json()["access_token"]
        host = prepare_target(base, ca, s, arm_token, h)
        app = f"{base}/iotc/contoso-fleet/api"
        t0 = time.perf_counter()
        url, pages = f"{app}/deviceGroups/thermostats/devices?{V}", 0
        while url:
            due = t0 + max(0, pages - 20) / 20.0  # Central's 20 requests/s (a second's worth at once, as the app's client may)
            time.sleep(max(0.0, due - time.perf_counter()))
            body = requests.get(url, headers=h, verify=ca, timeout=60).json()
            pages += 1
            url = body.get("nextLink")
        job = {"displayName": "floor", "group": "thermostats",
               "data": [{"type": "command", "target": THERMOSTAT, "path": "migration.DeviceMove", "value": {"idScope": scope}}]}
        r = requests.put(f"{app}/jobs/floor?{V}", json=job, headers=h, verify=ca, timeout=60)
        assert r.status_code == 200, r.text
        deadline = time.perf_counter() + 300
        while connected(base, ca, host) < DEVICES:
            assert time.perf_counter() < deadline, f"only {connected(base, ca, host)} devices connected after 300 s"
            time.sleep(0.05)
        return time.perf_counter() - t0
    finally:
        stop(proc, state)


def app_run(s: dict) -> tuple[float, float, str]:
    proc, info, state = start(s)
    try:
        base, ca = info["baseUrl"], info["caBundle"]
        host, _, creds, client, tenant = hub_host(base, ca, s)
        work = Path(tempfile.mkdtemp(prefix="iotm-bench-cli-"))
        plan = work / "plan.json"
        plan.write_text(json.dumps({
            "source": {"subdomain": "contoso-fleet", "templateId": THERMOSTAT, "deviceGroups": ["thermostats"]},
            "target": {"subscriptionId": s["subscriptions"][0]["id"], "resourceGroup": "rg-iot-prod", "dpsName": "contoso-dps", "hubName": "contoso-hub-weu"},
            "verify": {"settleSeconds": 30},
        }))
        env = dict(os.environ, AZURE_TENANT_ID=tenant, AZURE_CLIENT_ID=client, AZURE_CLIENT_SECRET=creds["clientSecrets"][client],
                   IOTM_CENTRAL_API_TOKEN=creds["centralApiTokens"]["contoso-fleet"], IOTM_SANDBOX_URL=base, IOTM_SANDBOX_CA=info["caCert"])
        t0 = time.perf_counter()
        cli = subprocess.Popen([str(CLI), "central-to-hub", "run", str(plan), "--cloud", "sandbox", "--journal", str(work / "journal.db"), "--report-dir", str(work)],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        out = "".join(f"{time.perf_counter() - t0:6.2f} {line}" for line in cli.stdout)
        _, status, usage = os.wait4(cli.pid, 0)
        elapsed = time.perf_counter() - t0
        assert os.waitstatus_to_exitcode(status) == 0, out
        report = json.loads(next(work.glob("iot-migrator-*.json")).read_text())
        assert report["verified"] == DEVICES, (report["verified"], out[-2000:])
        assert connected(base, ca, host) == DEVICES
        shutil.rmtree(work, ignore_errors=True)
        return elapsed, usage.ru_maxrss / 1024, out
    finally:
        stop(proc, state)


def main():
    s = scenario()
    app, rss, out = app_run(s)
    low = floor(s)
    print(f"central-to-hub, {DEVICES} healthy devices (answer {TIMING['answerMs']} ms, reconnect {TIMING['reconnectMs']} ms), target hub S3×1 already linked, sandbox quotas off")
    print(f"  floor (list devices at Central's 20 req/s + job + device latency): {low:6.2f} s")
    print(f"  iotm run (process start, sign-in, checks, enrollment group, list, job, verify): {app:6.2f} s")
    print(f"  ratio app/floor: {app / low:.2f} (goal ≤ 1.10) {'OK' if app / low <= 1.10 else 'OVER'}")
    print(f"  engine peak RSS: {rss:.0f} MB (goal ≤ 200) {'OK' if rss <= 200 else 'OVER'}")
    if "-v" in sys.argv:
        print(out)


if __name__ == "__main__":
    main()

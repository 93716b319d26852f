"""Sandbox cloud benchmark (release build): requests/s on a simple GET, the time 10,000 healthy
simulated devices take to complete DeviceMove (answer, re-register through DPS, connect to the
hub) against their configured latency, and memory holding 100,000 registered devices.
Run by `./x bench sandbox`.
"""

import json
import uuid
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BINARY = ROOT / "target" / "release" / "iotm-sandbox"
DEVICES = 100_000
MB = 1024 * 1024


def start(scenario: dict | None) -> tuple[subprocess.Popen, dict, Path]:
    state = Path(tempfile.mkdtemp(prefix="iotm-bench-sandbox-"))
    args = [str(BINARY), "--state-dir", str(state)]
    if scenario is not None:
        path = state / "scenario.json"
        path.write_text(json.dumps(scenario))
        args += ["--scenario", str(path)]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    return proc, json.loads(proc.stdout.readline()), state


MOVERS = 10_000
# The devices' configured latency: answer the command, then disconnect and reach the new DPS.
TIMING = {"answerMs": 1000, "slowAnswerMs": 20000, "reconnectMs": 2000, "commandTimeoutMs": 30000}
LATENCY_S = (TIMING["answerMs"] + TIMING["reconnectMs"]) / 1000


def device_move(default: dict) -> tuple[float, int, int]:
    """Seconds from creating the DeviceMove job to all devices connected in the target hub."""
    import requests

    scenario = json.loads(json.dumps(default))
    scenario["deviceTiming"] = TIMING
    scenario["quotas"] = False
    app = scenario["subscriptions"][0]["resourceGroups"][0]["iotCentralApps"][0]
    app["fleets"] = [{"prefix": "mover-", "count": MOVERS, "template": "dtmi:contoso:Thermostat;1"}]
    proc, info, state = start(scenario)
    try:
        base, ca = info["baseUrl"], info["caBundle"]
        headers = {"Authorization": f"Bearer {info['controlToken']}"}  # this run's control API token
        control = lambda path: requests.get(f"{base}/_sandbox/{path}", verify=ca, timeout=60, headers=headers).json()
        creds = control("credentials")
        tenant = scenario["tenants"][0]["id"]
        client = next(a["clientId"] for a in scenario["tenants"][0]["appRegistrations"] if a["kind"] == "confidential")
        token = requests.post(f"{base}/{tenant}/oauth2/v2.0/token", verify=ca, timeout=30, data={
            "grant_type": "client_credentials", "client_id": client, "client_secret": creds["clientSecrets"][client],
            "scope": "https://management.azure.com/.default"}).json()["access_token"]
        sub = scenario["subscriptions"][0]["id"]
        dps_id = f"/subscriptions/{sub}/resourceGroups/rg-iot-prod/providers/Microsoft.Devices/provisioningServices/contoso-dps"
        arm = {"Authorization": f"Bearer {token}"}
        dps = requests.get(f"{base}{dps_id}?api-version=2022-12-12", headers=arm, verify=ca, timeout=30).json()
        key = requests.post(f"{base}{dps_id}/keys/provisioningserviceowner/listkeys?api-version=2022-12-12", headers=arm, verify=ca, timeout=30).json()["primaryKey"]
        dps_host, scope = dps["properties"]["serviceOperationsHostName"], dps["properties"]["idScope"]
        hub_host = dps["properties"]["iotHubs"][0]["name"]
        central = f"{base}/iotc/{app['subdomain']}/api"
        api = {"Authorization": creds["centralApiTokens"][app["subdomain"]]}
        keys = requests.get(f"{central}/enrollmentGroups/sas-iot-devices?api-version=2022-07-31", headers=api, verify=ca, timeout=30).json()["attestation"]["symmetricKey"]
        sas = service_sas(dps_host, "provisioningserviceowner", key)
        group = {"enrollmentGroupId": "movers", "attestation": {"type": "symmetricKey", "symmetricKey": keys}}
        requests.put(f"https://{dps_host}/enrollmentGroups/movers?api-version=2021-10-01", json=group, headers={"Authorization": sas}, verify=ca, timeout=30).raise_for_status()
        job = {"group": "thermostats", "data": [{"type": "command", "target": "dtmi:contoso:Thermostat;1", "path": "migration.DeviceMove", "value": {"idScope": scope}}]}
        started = time.monotonic()
        requests.put(f"{central}/jobs/{uuid.uuid4()}?api-version=2022-07-31", json=job, headers=api, verify=ca, timeout=30).raise_for_status()
        moved = 0
        while time.monotonic() - started < 120:
            moved = control(f"fleet/{app['subdomain']}?summary=true")["connectedByHub"].get(hub_host, 0)
            if moved >= MOVERS:
                break
            time.sleep(0.25)
        return time.monotonic() - started, moved, rss(proc.pid)
    finally:
        proc.terminate()
        proc.wait()
        shutil.rmtree(state, ignore_errors=True)


def service_sas(host: str, policy: str, key: str) -> str:
    import base64, hashlib, hmac, urllib.parse
    sr = urllib.parse.quote(host, safe="")
    se = int(time.time()) + 3600
    sig = base64.b64encode(hmac.new(base64.b64decode(key), f"{sr}\n{se}".encode(), hashlib.sha256).digest()).decode()
    return f"SharedAccessSignature sr={sr}&sig={urllib.parse.quote(sig, safe='')}&se={se}&skn={policy}"


def rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def main() -> None:
    if not BINARY.exists():
        sys.exit(f"{BINARY} is missing: ./x bench sandbox builds it")
    default = json.loads(subprocess.run([str(BINARY), "--print-default-scenario"], capture_output=True, text=True, check=True).stdout)

    proc, info, state = start(None)
    try:
        idle = rss(proc.pid)
        url = f"{info['baseUrl']}/organizations/v2.0/.well-known/openid-configuration"
        out = subprocess.run(["wrk", "-t2", "-c32", "-d10s", url], capture_output=True, text=True, check=True).stdout
        rate = float(next(l.split()[1] for l in out.splitlines() if l.startswith("Requests/sec:")))
    finally:
        proc.terminate()
        proc.wait()
        shutil.rmtree(state, ignore_errors=True)

    move_seconds, moved, move_rss = device_move(default)

    big = json.loads(json.dumps(default))
    app = big["subscriptions"][0]["resourceGroups"][0]["iotCentralApps"][0]
    app["fleets"] = [{"prefix": "device-", "count": DEVICES, "template": "dtmi:contoso:Thermostat;1"}]
    started = time.monotonic()
    proc, info, state = start(big)
    try:
        loaded = time.monotonic() - started
        time.sleep(2)
        held = rss(proc.pid)
    finally:
        proc.terminate()
        proc.wait()
        shutil.rmtree(state, ignore_errors=True)

    print("Sandbox cloud benchmark (release build, loopback, 2 cores shared with the load generator)")
    print(f"  simple GET (OpenID configuration), wrk 2 threads x 32 connections, TLS: {rate:10.0f} requests/s")
    builtin = sum(f["count"] for s in default["subscriptions"] for g in s["resourceGroups"] for a in g["iotCentralApps"] for f in a["fleets"])
    print(f"  RSS idle, built-in scenario ({builtin} Central devices): {idle / MB:8.1f} MB")
    print(f"  RSS holding {DEVICES:,} registered devices (+ the built-in ones): {held / MB:8.1f} MB   goal <= 300 MB  ratio {held / MB / 300:4.2f}  {'meets goal' if held / MB <= 300 else 'OVER GOAL'}")
    print(f"  start-up with {DEVICES:,} devices (each provisioned through DPS): {loaded:.1f} s")
    goal = LATENCY_S + 10
    print(f"  DeviceMove of {MOVERS:,} healthy devices, job created -> all connected to the target hub: {move_seconds:5.1f} s "
          f"({moved:,} moved; configured latency {LATENCY_S:.1f} s)   goal <= {goal:.1f} s  ratio {move_seconds / goal:4.2f}  "
          f"{'meets goal' if moved >= MOVERS and move_seconds <= goal else 'OVER GOAL'}   RSS {move_rss / MB:.1f} MB")


if __name__ == "__main__":
    main()

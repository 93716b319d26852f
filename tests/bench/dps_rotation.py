"""DPS key rotation benchmark: `iotm dps linked-hubs rotate-keys` end to end against the sandbox
(secondary → prove → renew primary → primary → prove → renew secondary) while simulated devices
start registering through DPS every 100 ms over HTTPS. Prints the rotation's seconds and the
registrations that failed during it (goal 0). `./x bench dps-rotation` (release builds; set
IOTM_SANDBOX_BINARY / IOTM_CLI_BINARY to measure other builds).
"""

import base64
import hashlib
import hmac
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
SANDBOX = Path(os.environ.get("IOTM_SANDBOX_BINARY") or ROOT / "target" / "release" / "iotm-sandbox")
CLI = Path(os.environ.get("IOTM_CLI_BINARY") or ROOT / "target" / "release" / "iotm")
GROUP_KEY = base64.b64encode(hashlib.sha256(b"dps rotation bench group key").digest()).decode()
RG = "rg-iot-prod"


def sas(resource: str, key: str, name: str | None = None) -> str:
    sr = urllib.parse.quote(resource, safe="")
    se = int(time.time()) + 3600
    sig = base64.b64encode(hmac.new(base64.b64decode(key), f"{sr}\n{se}".encode(), hashlib.sha256).digest()).decode()
    token = f"SharedAccessSignature sr={sr}&sig={urllib.parse.quote(sig, safe='')}&se={se}"
    return token + (f"&skn={name}" if name else "")


def derived(registration_id: str) -> str:
    return base64.b64encode(hmac.new(base64.b64decode(GROUP_KEY), registration_id.encode(), hashlib.sha256).digest()).decode()


def main():
    state = Path(tempfile.mkdtemp(prefix="iotm-bench-rotation-"))
    proc = subprocess.Popen([str(SANDBOX), "--state-dir", str(state)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        info = json.loads(proc.stdout.readline())
        base, ca = info["baseUrl"], info["caBundle"]
        control = {"Authorization": f"Bearer {info['controlToken']}"}
        scenario = json.loads(subprocess.run([str(SANDBOX), "--print-default-scenario"], capture_output=True, text=True, check=True).stdout)
        tenant = scenario["tenants"][0]["id"]
        client = next(a["clientId"] for a in scenario["tenants"][0]["appRegistrations"] if a["kind"] == "confidential")
        secret = requests.get(f"{base}/_sandbox/credentials", verify=ca, timeout=30, headers=control).json()["clientSecrets"][client]
        token = requests.post(f"{base}/{tenant}/oauth2/v2.0/token", verify=ca, timeout=30, data={
            "grant_type": "client_credentials", "client_id": client, "client_secret": secret,
            "scope": "https://management.azure.com/.default"}).json()["access_token"]
        sub = scenario["subscriptions"][0]["id"]
        arm = f"{base}/subscriptions/{sub}/resourceGroups/{RG}/providers/Microsoft.Devices/provisioningServices/contoso-dps"
        bearer = {"Authorization": f"Bearer {token}"}
        dps = requests.get(f"{arm}?api-version=2022-12-12", verify=ca, timeout=30, headers=bearer).json()
        host, scope = dps["properties"]["serviceOperationsHostName"], dps["properties"]["idScope"]
        owner = requests.post(f"{arm}/keys/provisioningserviceowner/listKeys?api-version=2022-12-12", verify=ca, timeout=30, headers=bearer).json()
        requests.put(f"https://{host}/enrollmentGroups/bench?api-version=2021-10-01", verify=ca, timeout=30,
                     headers={"Authorization": sas(host, owner["primaryKey"], "provisioningserviceowner")},
                     json={"enrollmentGroupId": "bench", "attestation": {"type": "symmetricKey", "symmetricKey": {"primaryKey": GROUP_KEY, "secondaryKey": GROUP_KEY}}}).raise_for_status()

        results: list[tuple[str, str]] = []
        lock = threading.Lock()

        def register(n: int):
            rid = f"bench-{n}"
            auth = {"Authorization": sas(f"{scope}/registrations/{rid}", derived(rid))}
            url = f"https://{host}/{scope}/registrations/{rid}"
            try:
                op = requests.put(f"{url}/register?api-version=2021-06-01", json={"registrationId": rid}, verify=ca, timeout=30, headers=auth).json()
                status = op.get("status")
                while status == "assigning":
                    time.sleep(0.05)
                    status = requests.get(f"{url}/operations/{op['operationId']}?api-version=2021-06-01", verify=ca, timeout=30, headers=auth).json()["status"]
            except requests.RequestException as e:
                status = f"error: {e}"
            with lock:
                results.append((rid, status))

        stop = threading.Event()
        threads: list[threading.Thread] = []

        def every_100_ms():
            # On a fixed 100 ms grid, so a slow thread start does not stretch the cadence.
            begin, n = time.monotonic(), 0
            while not stop.is_set():
                n += 1
                t = threading.Thread(target=register, args=(n,))
                t.start()
                threads.append(t)
                time.sleep(max(0.0, begin + n * 0.1 - time.monotonic()))

        ticker = threading.Thread(target=every_100_ms)
        ticker.start()
        env = dict(os.environ, AZURE_TENANT_ID=tenant, AZURE_CLIENT_ID=client, AZURE_CLIENT_SECRET=secret)
        journal = state / "rotations.db"
        started = time.monotonic()
        rotation = subprocess.run([str(CLI), "dps", "linked-hubs", "rotate-keys", "--dps", f"{sub}/{RG}/contoso-dps", "--hub", f"{sub}/{RG}/contoso-hub-weu",
                                   "--renew-secondary", "--cloud", "sandbox", "--sandbox-url", base, "--sandbox-ca", info["caCert"], "--journal", str(journal), "--report-dir", str(state)],
                                  env=env, capture_output=True, text=True, timeout=600)
        seconds = time.monotonic() - started
        stop.set()
        ticker.join()
        for t in threads:
            t.join()
        if rotation.returncode != 0:
            raise SystemExit(f"the rotation failed ({rotation.returncode}): {rotation.stdout}{rotation.stderr}")
        failed = [r for r in results if r[1] != "assigned"]
        print(f"rotation end to end: {seconds:.1f} s")
        print(f"registrations during it: {len(results)} (one started every {1000 * seconds / max(1, len(results)):.0f} ms on average; aimed at 100), failed: {len(failed)} (goal 0)")
        for rid, status in failed[:10]:
            print(f"  {rid}: {status}")
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        shutil.rmtree(state, ignore_errors=True)


if __name__ == "__main__":
    main()

"""What a test reaches in the app's own sandbox, the way a person would find it: the sandbox's
address (the app's log says it), its CA, the control API's token (a debug build writes it beside
the CA), and a hub's connection string read through ARM as the portal shows it."""

import re
import time

import requests

TENANT = "72f9a1b0-5c1e-4d7a-9b8e-0c1d2e3f4a5b"
AUTOMATION_CLIENT = "5a4b1c2d-0000-4000-8000-00000000a003"
PROD_SUBSCRIPTION = "3c1e7a52-9f0b-4c55-8a6e-2d4b6f8a0c11"


def sandbox_of(home) -> tuple[str, str, dict]:
    """The in-app sandbox's address (from the app's log), its CA, and the headers its control API
    asks for (the debug build writes the run's token beside the CA; a release build serves none)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        log = "\n".join(p.read_text(errors="replace") for p in home.log_dir.glob("*"))
        found = re.findall(r"sandbox cloud started url=(https://\S+)", log)
        if found:
            token = (home.data_dir / "sandbox" / "control-token").read_text()
            return found[-1], str(home.data_dir / "sandbox" / "sandbox-ca.pem"), {"Authorization": f"Bearer {token}"}
        time.sleep(0.3)
    raise AssertionError("the app's log never said where the sandbox listens")


def hub_connection_string(home, hub: str, resource_group: str = "rg-iot-prod", policy: str = "iothubowner") -> str:
    """A hub's connection string as the portal gives it: ARM's listkeys, as the scenario's
    automation service principal."""
    base, ca, control = sandbox_of(home)
    secret = requests.get(f"{base}/_sandbox/credentials", verify=ca, timeout=30, headers=control).json()["clientSecrets"][AUTOMATION_CLIENT]
    token = requests.post(f"{base}/{TENANT}/oauth2/v2.0/token", verify=ca, timeout=30, data={
        "grant_type": "client_credentials", "client_id": AUTOMATION_CLIENT, "client_secret": secret,
        "scope": "https://management.azure.com/.default"}).json()["access_token"]
    arm = f"{base}/subscriptions/{PROD_SUBSCRIPTION}/resourceGroups/{resource_group}/providers/Microsoft.Devices/IotHubs/{hub}"
    headers = {"Authorization": f"Bearer {token}"}
    host = requests.get(f"{arm}?api-version=2023-06-30", verify=ca, timeout=30, headers=headers).json()["properties"]["hostName"]
    keys = requests.post(f"{arm}/IotHubKeys/{policy}/listkeys?api-version=2023-06-30", verify=ca, timeout=30, headers=headers).json()
    return f"HostName={host};SharedAccessKeyName={policy};SharedAccessKey={keys['primaryKey']}"

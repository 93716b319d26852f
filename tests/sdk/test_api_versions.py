"""Every api-version a service publishes is accepted, as on Azure, and only an unknown one is
refused with the service's own error: the hub's service API at 2024-03-31 (what the az CLI's
azure-iot extension sends on every hub call — a hub refusing it makes `az iot hub state export`
write an empty state), and each API version azure-mgmt-iothub ships, through the official client."""

import base64
import hashlib
import hmac
import pkgutil
import time
import urllib.parse

import azure.mgmt.iothub
import pytest
import requests
from azure.identity import ClientSecretCredential
from azure.mgmt.iothub import IotHubClient

from conftest import AUTOMATION_CLIENT, PROD_SUBSCRIPTION, TENANT, arm_view
from swagger import validate

SPEC = "azure-iot-sdk-python/azure-iot-hub/service.json"


def sas(hub_cs: str) -> tuple[str, dict]:
    parts = dict(p.split("=", 1) for p in hub_cs.split(";"))
    sr, se = urllib.parse.quote(parts["HostName"], safe=""), int(time.time()) + 3600
    sig = base64.b64encode(hmac.new(base64.b64decode(parts["SharedAccessKey"]), f"{sr}\n{se}".encode(), hashlib.sha256).digest()).decode()
    token = f"SharedAccessSignature sr={sr}&sig={urllib.parse.quote(sig, safe='')}&se={se}&skn={parts['SharedAccessKeyName']}"
    return f"https://{parts['HostName']}", {"Authorization": token}


def test_the_hub_answers_the_az_cli_extensions_api_version(sandbox, fresh_scenario):
    base, auth = sas(arm_view(sandbox)["hub_cs"])
    v = "api-version=2024-03-31"
    created = requests.put(f"{base}/devices/az-1?{v}", json={"deviceId": "az-1"}, headers=auth, timeout=10)
    assert created.status_code == 200, created.text
    query = requests.post(f"{base}/devices/query?{v}", json={"query": "SELECT * FROM devices WHERE deviceId = 'az-1'"}, headers=auth, timeout=10)
    assert query.status_code == 200, query.text
    validate(SPEC, "/devices/query", "post", 200, query.json())
    assert [t["deviceId"] for t in query.json()] == ["az-1"]
    for older in ["2018-06-30", "2019-10-01", "2020-05-31-preview", "2021-04-12"]:
        assert requests.get(f"{base}/devices/az-1?api-version={older}", headers=auth, timeout=10).status_code == 200, older

    refused = requests.get(f"{base}/devices/az-1?api-version=2099-01-01", headers=auth, timeout=10)
    assert (refused.status_code, refused.headers["iothub-errorcode"]) == (400, "InvalidProtocolVersion")
    assert refused.json()["Message"].startswith("ErrorCode:InvalidProtocolVersion;")


def shipped_versions() -> list[str]:
    """The API versions azure-mgmt-iothub ships (its v2019_03_22… subpackages)."""
    names = [m.name for m in pkgutil.iter_modules(azure.mgmt.iothub.__path__) if m.name.startswith("v")]
    return sorted(n[1:].replace("_", "-", 2).replace("_", "-") for n in names)


def test_every_api_version_the_official_arm_client_ships(sandbox, fresh_scenario):
    cred = ClientSecretCredential(TENANT, AUTOMATION_CLIENT, sandbox.client_secret(AUTOMATION_CLIENT),
                                  authority=sandbox.base_url, disable_instance_discovery=True)
    versions = shipped_versions()
    assert "2019-03-22" in versions and len(versions) >= 3, versions
    for version in versions:
        client = IotHubClient(cred, PROD_SUBSCRIPTION, base_url=sandbox.base_url, api_version=version,
                              credential_scopes=["https://management.azure.com/.default"])
        assert client.iot_hub_resource.get("rg-iot-prod", "contoso-hub-weu").name == "contoso-hub-weu", version

    raw = requests.get(f"{sandbox.base_url}/subscriptions/{PROD_SUBSCRIPTION}/resourceGroups/rg-iot-prod/providers/Microsoft.Devices/IotHubs/contoso-hub-weu?api-version=2015-01-01",
                       headers={"Authorization": f"Bearer {cred.get_token('https://management.azure.com/.default').token}"}, timeout=10)
    assert (raw.status_code, raw.json()["error"]["code"]) == (400, "NoRegisteredProviderFound")


def spec_versions() -> list[tuple[str, str]]:
    """(spec file, its info.version) for every spec of a service the sandbox serves over HTTPS."""
    import json
    from swagger import SPECS
    found = []
    for path in sorted(SPECS.rglob("*.json")):
        rel = path.relative_to(SPECS).as_posix()
        if "/examples/" in rel or "common-types" in rel or "data-plane/DeviceProvisioningServices" in rel:
            continue
        found.append((rel, json.loads(path.read_text())["info"]["version"]))
    return found


def call_for(spec: str, sandbox, view: dict, version: str):
    """One read of the service `spec` describes, at `version`; None for a service not emulated."""
    arm = f"/subscriptions/{PROD_SUBSCRIPTION}/resourceGroups/rg-iot-prod/providers"
    if spec.endswith("azure-iot-hub/service.json"):
        base, auth = sas(view["hub_cs"])
        return requests.get(f"{base}/devices?api-version={version}", headers=auth, timeout=10)
    if "deviceprovisioningservices/data-plane" in spec:
        base, auth = sas(view["dps_cs"])
        return requests.post(f"{base}/enrollmentGroups/query?api-version={version}", json={"query": "*"}, headers=auth, timeout=10)
    if "iotcentral/data-plane" in spec:
        token = sandbox.control("GET", "credentials")["centralApiTokens"]["contoso-fleet"]
        return requests.get(f"{sandbox.base_url}/iotc/contoso-fleet/api/devices?api-version={version}", headers={"Authorization": token}, timeout=10)
    paths = {
        "iothub/resource-manager": f"{arm}/Microsoft.Devices/IotHubs",
        "deviceprovisioningservices/resource-manager": f"{arm}/Microsoft.Devices/provisioningServices",
        "iotcentral/resource-manager": f"{arm}/Microsoft.IoTCentral/iotApps",
        "storage/resource-manager": f"{arm}/Microsoft.Storage/storageAccounts",
        "resources.json": f"/subscriptions/{PROD_SUBSCRIPTION}/resourcegroups",
        "subscriptions.json": "/subscriptions",
    }
    path = next((p for k, p in paths.items() if k in spec), None)
    if path is None:
        return None
    cred = ClientSecretCredential(TENANT, AUTOMATION_CLIENT, sandbox.client_secret(AUTOMATION_CLIENT), authority=sandbox.base_url, disable_instance_discovery=True)
    token = cred.get_token("https://management.azure.com/.default").token
    return requests.get(f"{sandbox.base_url}{path}?api-version={version}", headers={"Authorization": f"Bearer {token}"}, timeout=10)


def test_every_spec_version_is_answered_by_its_service(sandbox, fresh_scenario):
    view = arm_view(sandbox)
    answered = []
    for spec, version in spec_versions():
        r = call_for(spec, sandbox, view, version)
        if r is None:
            continue
        assert r.status_code == 200, f"{spec} at {version}: {r.status_code} {r.text[:200]}"
        answered.append(spec)
    assert len(answered) >= 9, answered

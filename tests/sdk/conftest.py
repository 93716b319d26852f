"""Starts the sandbox cloud (the `iotm-sandbox` binary) for the official-SDK suites.

Official clients are pointed at it only the way a user would point them at a cloud: an authority
host, a base URL, a connection string, and a CA bundle variable (REQUESTS_CA_BUNDLE).
"""

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
# IOTM_SANDBOX_BINARY points at a build elsewhere (a separate CARGO_TARGET_DIR, say).
BINARY = Path(os.environ.get("IOTM_SANDBOX_BINARY") or ROOT / "target" / "debug" / "iotm-sandbox")

TENANT = "72f9a1b0-5c1e-4d7a-9b8e-0c1d2e3f4a5b"
SPA_CLIENT = "5a4b1c2d-0000-4000-8000-00000000a001"
DESKTOP_CLIENT = "5a4b1c2d-0000-4000-8000-00000000a002"
AUTOMATION_CLIENT = "5a4b1c2d-0000-4000-8000-00000000a003"
PROD_SUBSCRIPTION = "3c1e7a52-9f0b-4c55-8a6e-2d4b6f8a0c11"
LAB_SUBSCRIPTION = "8d2f4b63-1e7c-4a9d-b5f0-3e6a8c0d2f22"
ARM_SCOPE = "https://management.azure.com/user_impersonation"
CENTRAL_SCOPE = "https://apps.azureiotcentral.com/user_impersonation"


class Sandbox:
    def __init__(self, info: dict):
        self.base_url: str = info["baseUrl"]
        self.ca_bundle: str = info["caBundle"]
        self.authority = f"{self.base_url}/{TENANT}"
        # DPS's global device endpoint over MQTT, and the CONNECT proxy for SDKs fixed on port 8883.
        self.dps_mqtt_host: str = info["dpsMqttHost"]
        # Every hub's device side over MQTT, on the same endpoint: devices keep their hub's HostName
        # and name `localhost` as their gateway (GatewayHostName), reached through the same proxy.
        self.hub_mqtt_gateway: str = info["hubMqttGateway"]
        self.proxy_host, proxy_port = info["proxy"].split(":")
        self.proxy_port = int(proxy_port)
        self.ca_cert: str = info["caCert"]
        # Azurite's blob service (https://127.0.0.1:<port>), or None when it is not installed.
        self.azurite: str | None = info.get("azurite")
        # The control API answers only this run's token (printed on the sandbox's stdout).
        self.control_headers = {"Authorization": f"Bearer {info['controlToken']}"}

    def control(self, method: str, path: str, **kwargs) -> dict:
        r = requests.request(method, f"{self.base_url}/_sandbox/{path}", verify=self.ca_bundle, timeout=10, headers=self.control_headers, **kwargs)
        r.raise_for_status()
        return r.json()

    def client_secret(self, client_id: str) -> str:
        return self.control("GET", "credentials")["clientSecrets"][client_id]

    def load_scenario(self, scenario: dict) -> None:
        self.control("POST", "scenario", data=json.dumps(scenario))

    def default_scenario(self) -> dict:
        out = subprocess.run([str(BINARY), "--print-default-scenario"], capture_output=True, text=True, check=True)
        return json.loads(out.stdout)


@pytest.fixture(scope="session")
def sandbox():
    assert BINARY.exists(), f"build it first: {BINARY} is missing"
    state = Path(tempfile.mkdtemp(prefix="iotm-sandbox-"))
    proc = subprocess.Popen([str(BINARY), "--state-dir", str(state)], stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert line, "the sandbox exited before it listened"
        sb = Sandbox(json.loads(line))
        # What a user sets so Python clients trust the sandbox CA.
        os.environ["REQUESTS_CA_BUNDLE"] = sb.ca_bundle
        yield sb
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(state, ignore_errors=True)


@pytest.fixture
def fresh_scenario(sandbox):
    """Each test that changes the cloud starts from, and leaves, the built-in scenario."""
    scenario = sandbox.default_scenario()
    sandbox.load_scenario(scenario)
    yield scenario
    sandbox.load_scenario(sandbox.default_scenario())


def arm_view(sandbox: Sandbox, rg: str = "rg-iot-prod", dps_name: str = "contoso-dps", hub_name: str = "contoso-hub-weu") -> dict:
    """The target DPS and hub as the wizard finds them: through ARM, with the official clients."""
    from azure.identity import ClientSecretCredential
    from azure.mgmt.iothub import IotHubClient
    from azure.mgmt.iothubprovisioningservices import IotDpsClient

    cred = ClientSecretCredential(TENANT, AUTOMATION_CLIENT, sandbox.client_secret(AUTOMATION_CLIENT),
                                  authority=sandbox.base_url, disable_instance_discovery=True)
    common = {"base_url": sandbox.base_url, "credential_scopes": ["https://management.azure.com/.default"]}
    dps = IotDpsClient(cred, PROD_SUBSCRIPTION, **common).iot_dps_resource
    hubs = IotHubClient(cred, PROD_SUBSCRIPTION, **common).iot_hub_resource
    d = dps.get(dps_name, rg)
    owner = dps.list_keys_for_key_name(dps_name, "provisioningserviceowner", rg)
    hub = hubs.get(rg, hub_name)
    hub_key = hubs.get_keys_for_key_name(rg, hub_name, "iothubowner")
    return {
        "dps_name": dps_name,
        "dps_host": d.properties.service_operations_host_name,
        "id_scope": d.properties.id_scope,
        "dps_cs": f"HostName={d.properties.service_operations_host_name};SharedAccessKeyName=provisioningserviceowner;SharedAccessKey={owner.primary_key}",
        "hub_host": hub.properties.host_name,
        "hub_cs": f"HostName={hub.properties.host_name};SharedAccessKeyName=iothubowner;SharedAccessKey={hub_key.primary_key}",
    }

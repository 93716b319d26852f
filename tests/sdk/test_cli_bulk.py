"""`iotm bulk` against the sandbox with Azurite, as an admin types it: generate test devices,
export them to a file, import a file with a device already registered (the error shown beside its
line), and a change that is not confirmed changes nothing. The hub's state is read back with the
official azure-iot-hub client."""

import json
import subprocess

import pytest
from azure.identity import ClientSecretCredential
from azure.iot.hub import IoTHubRegistryManager
from azure.mgmt.iothub import IotHubClient

from conftest import AUTOMATION_CLIENT, PROD_SUBSCRIPTION, TENANT
from cli_runs import CLI, cli_env

RG, HUB = "rg-iot-prod", "contoso-hub-weu"
TARGETS = ["--hub", f"{PROD_SUBSCRIPTION}/{RG}/{HUB}", "--storage", f"{PROD_SUBSCRIPTION}/{RG}/contosomigration/bulk-cli"]


@pytest.fixture
def registry(sandbox, fresh_scenario):
    assert sandbox.azurite, "Azurite is not installed: run `npm ci` in tests/azurite (./x test does)"
    credential = ClientSecretCredential(TENANT, AUTOMATION_CLIENT, sandbox.client_secret(AUTOMATION_CLIENT),
                                        authority=sandbox.base_url, disable_instance_discovery=True)
    hubs = IotHubClient(credential, PROD_SUBSCRIPTION, base_url=sandbox.base_url, credential_scopes=["https://management.azure.com/.default"])
    host = hubs.iot_hub_resource.get(RG, HUB).properties.host_name
    key = hubs.iot_hub_resource.get_keys_for_key_name(RG, HUB, "iothubowner").primary_key
    return IoTHubRegistryManager.from_connection_string(f"HostName={host};SharedAccessKeyName=iothubowner;SharedAccessKey={key}")


def iotm(sandbox, tmp_path, *args, answer=None):
    assert CLI.exists(), f"build it first: {CLI} is missing"
    common = ["--cloud", "sandbox", "--journal", str(tmp_path / "journal.db"), "--report-dir", str(tmp_path)]
    return subprocess.run([str(CLI), *common, "bulk", *args, *TARGETS], env=cli_env(sandbox), capture_output=True, text=True, input=answer, timeout=300)


def test_generate_export_and_import_from_the_command_line(sandbox, registry, tmp_path):
    keys = tmp_path / "lab-keys.txt"
    done = iotm(sandbox, tmp_path, "generate", "--count", "3", "--prefix", "lab", "--keys-file", str(keys), "--yes")
    assert done.returncode == 0, done.stderr + done.stdout
    assert "3 devices lab-0000001… are created with new keys" in done.stdout
    created = {d.device_id: d for d in registry.get_devices()}
    assert sorted(created) == ["lab-0000001", "lab-0000002", "lab-0000003"]
    first = json.loads(keys.read_text().splitlines()[0])
    assert created["lab-0000001"].authentication.symmetric_key.primary_key == first["authentication"]["symmetricKey"]["primaryKey"]

    exported = tmp_path / "devices.txt"
    done = iotm(sandbox, tmp_path, "export", "--to", str(exported), "--keys", "exclude", "--yes")
    assert done.returncode == 0, done.stderr + done.stdout
    lines = [json.loads(line) for line in exported.read_text().splitlines()]
    assert [line["id"] for line in lines] == ["lab-0000001", "lab-0000002", "lab-0000003"]
    assert all(line["authentication"]["symmetricKey"]["primaryKey"] is None for line in lines)

    devices = tmp_path / "import.txt"
    devices.write_text(json.dumps({"id": "cli-new", "importMode": "create"}) + "\n" + json.dumps({"id": "lab-0000002", "importMode": "create"}) + "\n")
    done = iotm(sandbox, tmp_path, "import", "--file", str(devices), "--mode", "create", "--yes")
    assert done.returncode == 0, done.stderr + done.stdout
    assert "line 2: lab-0000002 — a device with this ID is registered already (409001)" in done.stdout, done.stdout
    assert registry.get_device("cli-new").device_id == "cli-new"


def test_a_change_not_confirmed_and_a_bad_file_change_nothing(sandbox, registry, tmp_path):
    registry.create_device_with_sas("keep-me", "", "", "enabled")
    done = iotm(sandbox, tmp_path, "delete", "--query", "SELECT * FROM devices", answer="n\n")
    assert done.returncode == 3 and "1 devices are deleted" in done.stdout, done.stderr + done.stdout
    assert [d.device_id for d in registry.get_devices()] == ["keep-me"]
    bad = tmp_path / "bad.txt"
    bad.write_text('{"id": "a"}\n{"id": "a"}\n{"id": "b", "importMode": "merge"}\n')
    done = iotm(sandbox, tmp_path, "import", "--file", str(bad), "--yes")
    assert done.returncode != 0
    assert "line 2" in done.stderr + done.stdout and "line 3" in done.stderr + done.stdout, done.stderr + done.stdout
    assert [d.device_id for d in registry.get_devices()] == ["keep-me"]

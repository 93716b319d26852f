"""The az CLI as a client of the sandbox: azure-cli 2.65.0 with the azure-iot 0.25.0 extension, unmodified.

`./x test sdk` installs both into a virtual environment of their own (target/tools/az-venv, the
extension from ../shared/peers, see its README) and passes their paths in IOTM_AZ and
IOTM_AZ_EXTENSIONS. The CLI is aimed at the sandbox only the ways a user aims it at a private cloud:
`az cloud register` with the ARM URL (the rest is read from the cloud's metadata endpoint),
`core.instance_discovery=false` (the setting az documents for clouds Microsoft's discovery does not
know), a CA bundle, and hub connection strings for `--login`.
"""

import json
import os
import subprocess

import pytest

from conftest import AUTOMATION_CLIENT, PROD_SUBSCRIPTION, TENANT, arm_view

AZ = os.environ.get("IOTM_AZ")
pytestmark = pytest.mark.skipif(not AZ, reason="the az CLI is not installed (./x test sdk installs it when ../shared/peers has the extension)")


@pytest.fixture
def az(sandbox, tmp_path):
    """Runs az with a configuration folder of this test's own; returns its parsed JSON output."""
    env = dict(os.environ)
    env.update({
        "AZURE_CONFIG_DIR": str(tmp_path / "az-config"),
        "AZURE_EXTENSION_DIR": os.environ["IOTM_AZ_EXTENSIONS"],
        "AZURE_CORE_INSTANCE_DISCOVERY": "false",
        "AZURE_CORE_COLLECT_TELEMETRY": "false",
        "AZURE_CORE_NO_COLOR": "true",
        "REQUESTS_CA_BUNDLE": sandbox.ca_bundle,
    })

    def run(*args: str):
        done = subprocess.run([AZ, *args, "--only-show-errors"], env=env, capture_output=True, text=True, timeout=300)
        # azure-cli 2.65 prints errors about its own rdbms/mysql modules while it loads; they are not ours.
        errors = [line for line in done.stderr.splitlines() if "rdbms" not in line and "mysql" not in line and line.strip()]
        assert done.returncode == 0, f"az {' '.join(args[:4])} failed: {errors}"
        return json.loads(done.stdout) if done.stdout.strip() else None

    return run


def populate(hub_cs: str) -> None:
    """Devices with keys, twin tags and desired properties, a module, an edge device and an ADM configuration."""
    from azure.iot.hub import IoTHubConfigurationManager, IoTHubRegistryManager
    from azure.iot.hub.models import Configuration, ConfigurationContent, Twin, TwinProperties

    registry = IoTHubRegistryManager(hub_cs)
    for i in range(3):
        device = registry.create_device_with_sas(f"az-dev-{i}", None, None, "enabled")
        twin = registry.get_twin(device.device_id)
        registry.update_twin(device.device_id, Twin(tags={"site": "lyon", "n": i}, properties=TwinProperties(desired={"interval": 10 + i})), twin.etag)
    registry.create_module_with_sas("az-dev-0", "filter", None, None, None)
    registry.create_device_with_sas("az-edge", None, None, "enabled", iot_edge=True)
    IoTHubConfigurationManager(hub_cs).create_configuration(Configuration(
        id="firmware-2", target_condition="tags.site='lyon'", priority=5, labels={"team": "ops"},
        content=ConfigurationContent(device_content={"properties.desired.firmware": {"version": "2.0"}})))


def hub_contents(hub_cs: str) -> dict:
    """What a hub holds, read back with the official service SDK (not with az)."""
    from azure.iot.hub import IoTHubConfigurationManager, IoTHubRegistryManager

    registry = IoTHubRegistryManager(hub_cs)
    devices = {}
    for d in registry.get_devices():
        twin = registry.get_twin(d.device_id)
        modules = sorted(m.module_id for m in registry.get_modules(d.device_id))
        devices[d.device_id] = {
            "keys": (d.authentication.symmetric_key.primary_key, d.authentication.symmetric_key.secondary_key),
            "edge": d.capabilities.iot_edge, "tags": twin.tags or {}, "desired": {k: v for k, v in twin.properties.desired.items() if not k.startswith("$")},
            "modules": modules,
        }
    configurations = {c.id: (c.target_condition, c.priority, c.content.device_content) for c in IoTHubConfigurationManager(hub_cs).get_configurations()}
    return {"devices": devices, "configurations": configurations}


def test_az_registers_the_sandbox_from_its_metadata_signs_in_and_finds_a_hub_through_arm(sandbox, fresh_scenario, az, tmp_path):
    view = arm_view(sandbox)
    populate(view["hub_cs"])

    az("cloud", "register", "-n", "IotmSandbox", "--endpoint-resource-manager", f"{sandbox.base_url}/")
    endpoints = az("cloud", "show", "-n", "IotmSandbox")["endpoints"]
    assert endpoints["activeDirectory"] == f"{sandbox.base_url}/", "the sign-in endpoint comes from the sandbox's /metadata/endpoints"
    assert endpoints["activeDirectoryResourceId"] == "https://management.core.windows.net/"
    az("cloud", "set", "-n", "IotmSandbox")
    accounts = az("login", "--service-principal", "-u", AUTOMATION_CLIENT, "-p", sandbox.client_secret(AUTOMATION_CLIENT), "--tenant", TENANT)
    assert PROD_SUBSCRIPTION in [a["id"] for a in accounts]
    az("account", "set", "-s", PROD_SUBSCRIPTION)

    hub = az("iot", "hub", "show", "-n", "contoso-hub-weu", "-g", "rg-iot-prod")
    assert (hub["resourcegroup"], hub["subscriptionid"]) == ("rg-iot-prod", PROD_SUBSCRIPTION), "az reads the hub's group from these to find its policies"

    # The extension finds the hub's policy and key through ARM (no --login), then reads the data plane.
    state_file = tmp_path / "state.json"
    az("iot", "hub", "state", "export", "-n", "contoso-hub-weu", "-g", "rg-iot-prod", "--aspects", "devices", "configurations", "-f", str(state_file))
    state = json.loads(state_file.read_text())
    assert sorted(state["devices"]) == ["az-dev-0", "az-dev-1", "az-dev-2", "az-edge"]
    assert state["devices"]["az-dev-1"]["twin"]["tags"] == {"site": "lyon", "n": 1}
    assert list(state["configurations"]["admConfigurations"]) == ["firmware-2"]


def test_az_iot_hub_state_export_import_and_migrate_carry_a_hub_whole(sandbox, fresh_scenario, az, tmp_path):
    source = arm_view(sandbox)["hub_cs"]
    target = arm_view(sandbox, hub_name="contoso-hub-neu")["hub_cs"]
    populate(source)
    expected = hub_contents(source)

    state_file = tmp_path / "state.json"
    az("iot", "hub", "state", "export", "--login", source, "--aspects", "devices", "configurations", "-f", str(state_file))
    state = json.loads(state_file.read_text())
    # The configuration's content is the one section in use, as Azure answers (az refuses to import
    # a configuration that names both deviceContent and moduleContent).
    assert state["configurations"]["admConfigurations"]["firmware-2"]["content"] == {"deviceContent": {"properties.desired.firmware": {"version": "2.0"}}}
    assert state["devices"]["az-dev-0"]["modules"]["filter"]["identity"]["authentication"]["type"] == "sas"

    az("iot", "hub", "state", "import", "--login", target, "--aspects", "devices", "configurations", "-f", str(state_file), "-r")
    assert hub_contents(target) == expected, "the import recreated every device with its keys, twin and modules, and the configuration"

    # Migrate into a hub that already holds something the source lacks: -r replaces it.
    from azure.iot.hub import IoTHubRegistryManager
    registry = IoTHubRegistryManager(target)
    registry.delete_device("az-dev-2")
    registry.create_device_with_sas("stray", None, None, "enabled")
    az("iot", "hub", "state", "migrate", "--origin-hub-login", source, "--destination-hub-login", target, "--aspects", "devices", "configurations", "-r")
    assert hub_contents(target) == expected


def test_a_state_file_written_by_either_tool_imports_with_the_other(sandbox, fresh_scenario, az, tmp_path):
    """Issue 14's promise: `iotm hub-state` reads what `az iot hub state export` writes, and the reverse."""
    from test_cli_hub_state import hub_state
    from cli_runs import CLI, cli_env

    assert CLI.exists(), f"build it first: {CLI} is missing"
    source = arm_view(sandbox)["hub_cs"]
    target = arm_view(sandbox, hub_name="contoso-hub-neu")["hub_cs"]
    populate(source)
    expected = hub_contents(source)
    env = cli_env(sandbox)

    ours = tmp_path / "iotm-state.json"
    done = hub_state("export", "rg-iot-prod/contoso-hub-weu", str(ours), env=env, tmp=tmp_path, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    az("iot", "hub", "state", "import", "--login", target, "--aspects", "devices", "configurations", "-f", str(ours), "-r")
    assert hub_contents(target) == expected, "az imported the file iotm wrote: every device, key, twin, module and the configuration"

    theirs = tmp_path / "az-state.json"
    az("iot", "hub", "state", "export", "--login", source, "--aspects", "devices", "configurations", "-f", str(theirs))
    sandbox.load_scenario(sandbox.default_scenario())  # both hubs empty again, with new keys and secrets
    target = arm_view(sandbox, hub_name="contoso-hub-neu")["hub_cs"]
    env = cli_env(sandbox)
    assert hub_contents(target) == {"devices": {}, "configurations": {}}
    (tmp_path / "second").mkdir()
    done = hub_state("import", str(theirs), "rg-iot-prod/contoso-hub-neu", env=env, tmp=tmp_path / "second", timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert hub_contents(target) == expected, "iotm imported the file az wrote"

"""`iotm hub-state` from a command line against the sandbox cloud (a separate process, so the
cloud outlives the CLI). A 600-device hub (created with the official azure-iot-hub client's bulk
registry, twins with tags and desired properties) is migrated to an empty hub by `iotm hub-state
migrate`, killed with SIGKILL at 5 random points and resumed each time with `iotm hub-state resume`;
in the end the target, exported by `iotm hub-state export`, holds what the source holds, no device
failed, and the hubs (S3, their throttles on) never answered 429. A `--replace` migrate without
`--yes` that is not confirmed changes nothing."""

import json
import random
import subprocess
from pathlib import Path

import pytest
from azure.iot.hub import IoTHubRegistryManager
from azure.iot.hub.models import ExportImportDevice
from azure.iot.hub.protocol.models import AuthenticationMechanism, SymmetricKey

from conftest import PROD_SUBSCRIPTION, arm_view
from cli_runs import CLI, cli_env, run_killed

DEVICES = 600


@pytest.fixture
def s3_hubs(sandbox):
    """Both hubs at S3 (5,000 registry operations a minute), throttles on: the CLI paces itself at them."""
    scenario = sandbox.default_scenario()
    for hub in scenario["subscriptions"][0]["resourceGroups"][0]["iotHubs"]:
        hub["sku"] = "S3"
    sandbox.load_scenario(scenario)
    registry = IoTHubRegistryManager.from_connection_string(arm_view(sandbox)["hub_cs"])
    sas = AuthenticationMechanism(type="sas", symmetric_key=SymmetricKey(primary_key="", secondary_key=""))
    for start in range(0, DEVICES, 100):
        done = registry.bulk_create_or_update_devices([
            ExportImportDevice(id=f"meter-{n:04}", import_mode="create", authentication=sas, status="enabled",
                               tags={"site": f"plant-{n % 5}"}) for n in range(start, start + 100)
        ])
        assert done.is_successful, done.errors
    yield scenario
    sandbox.load_scenario(sandbox.default_scenario())


def hub_state(*args, env, tmp: Path, **kwargs):
    common = ["--cloud", "sandbox", "--subscription", PROD_SUBSCRIPTION, "--journal", str(tmp / "journal.db"), "--report-dir", str(tmp)]
    return subprocess.run([str(CLI), "hub-state", *args, *common], env=env, capture_output=True, text=True, **kwargs)


def state_of(path: Path) -> dict:
    state = json.loads(path.read_text())
    state.pop("$iotMigratorFormatVersion")
    return state


def test_a_migrate_killed_five_times_and_resumed_ends_with_the_target_equal_to_the_source(sandbox, s3_hubs, tmp_path):
    assert CLI.exists(), f"build it first: {CLI} is missing"
    env = cli_env(sandbox)
    common = ["--cloud", "sandbox", "--subscription", PROD_SUBSCRIPTION, "--journal", str(tmp_path / "journal.db"), "--report-dir", str(tmp_path)]
    first = [str(CLI), "hub-state", "migrate", "rg-iot-prod/contoso-hub-weu", "rg-iot-prod/contoso-hub-neu", *common]

    def resume(migration):
        return [str(CLI), "hub-state", "resume", migration, *common]

    def written(counts):
        return sum(n for state, n in counts.items() if state != "pending")

    migration_id, kills, outputs = run_killed(first, resume, env, kills=5, rng=random.Random(20261202), seconds=(0.5, 3.0),
                                              total=DEVICES, progress=written)
    # The last leg logs every retry (RUST_LOG=info): paced at the hubs' throttles, none is a 429.
    final = hub_state("resume", migration_id, env={**env, "RUST_LOG": "info"}, tmp=tmp_path, timeout=600)
    assert final.returncode == 0, final.stdout + final.stderr
    assert kills == 5, f"the migrate ended after {kills} kills; outputs: {outputs}"

    report = json.loads((tmp_path / f"iot-migrator-{migration_id}.json").read_text())
    assert report["counts"]["device"].get("failed") is None, report["counts"]
    assert sum(report["counts"]["device"].values()) == DEVICES
    for name in ("weu", "neu"):
        done = hub_state("export", f"rg-iot-prod/contoso-hub-{name}", str(tmp_path / f"{name}.json"), env=env, tmp=tmp_path, timeout=300)
        assert done.returncode == 0, done.stdout + done.stderr
    source, target = state_of(tmp_path / "weu.json"), state_of(tmp_path / "neu.json")
    assert len(target["devices"]) == DEVICES
    assert target == source
    retries = [line for line in final.stderr.splitlines() if "retrying after" in line]
    assert not any("429" in line or "hrottl" in line for line in retries), retries[:5]


def test_a_replace_not_confirmed_changes_nothing(sandbox, fresh_scenario, tmp_path):
    env = cli_env(sandbox)
    registry = IoTHubRegistryManager.from_connection_string(arm_view(sandbox, hub_name="contoso-hub-neu")["hub_cs"])
    registry.create_device_with_sas("stray-1", "", "", "enabled")
    done = hub_state("migrate", "rg-iot-prod/contoso-hub-weu", "rg-iot-prod/contoso-hub-neu", "--replace", env=env, tmp=tmp_path, input="n\n", timeout=120)
    assert done.returncode == 3, done.stdout + done.stderr
    assert "Replace deletes from contoso-hub-neu what the state does not hold: 1 devices, 0 modules, 0 configurations." in done.stdout
    assert "  delete device stray-1" in done.stdout, done.stdout
    assert registry.get_device("stray-1").device_id == "stray-1"

"""The Central → Hub engine survives being killed. The `iotm` CLI runs a 2,000-device migration
against the sandbox cloud (a separate process, so the cloud outlives the CLI) and is killed with
SIGKILL at 10 random points; each time `iotm central-to-hub resume` picks it up from the journal.
In the end every healthy (and slow) device is verified in the target hub, exactly one DPS enrollment
group and exactly one Central job exist, and the report's counts match the fleet's personas."""

import json
import random
import subprocess
from pathlib import Path

import pytest

from cli_runs import CLI, cli_env, run_killed
from conftest import PROD_SUBSCRIPTION, arm_view

DEVICES = 2000
TIMING = {"answerMs": 20, "slowAnswerMs": 300, "reconnectMs": 50, "commandTimeoutMs": 800}


def plan(tmp: Path) -> Path:
    path = tmp / "plan.json"
    path.write_text(json.dumps({
        "source": {"subdomain": "contoso-fleet", "templateId": "dtmi:contoso:Thermostat;1", "deviceGroups": ["thermostats"]},
        "target": {"subscriptionId": PROD_SUBSCRIPTION, "resourceGroup": "rg-iot-prod", "dpsName": "contoso-dps", "hubName": "contoso-hub-neu"},
        "enrollment": {"centralGroupId": "sas-iot-devices", "dpsGroupId": "central-migration"},
        "verify": {"settleSeconds": 3},
    }))
    return path


@pytest.fixture
def big_fleet(sandbox):
    scenario = sandbox.default_scenario()
    app = scenario["subscriptions"][0]["resourceGroups"][0]["iotCentralApps"][0]
    fleet = next(f for f in app["fleets"] if f["prefix"] == "thermostat-")
    fleet["count"] = DEVICES
    scenario["deviceTiming"] = TIMING
    sandbox.load_scenario(scenario)
    yield scenario
    sandbox.load_scenario(sandbox.default_scenario())


def test_killed_ten_times_and_resumed_the_migration_ends_as_if_never_interrupted(sandbox, big_fleet, tmp_path):
    assert CLI.exists(), f"build it first: {CLI} is missing"
    env = cli_env(sandbox)
    common = ["--cloud", "sandbox", "--journal", str(tmp_path / "journal.db"), "--report-dir", str(tmp_path)]
    first = [str(CLI), "central-to-hub", "run", str(plan(tmp_path)), *common]

    def resume(migration):
        return [str(CLI), "central-to-hub", "resume", migration, *common]

    def settled(counts):
        return counts.get("verified", 0) + counts.get("failed", 0)

    migration_id, kills, outputs = run_killed(first, resume, env, kills=10, rng=random.Random(20261123), seconds=(0.2, 2.5),
                                              total=DEVICES, progress=settled)
    final = subprocess.run([str(CLI), "central-to-hub", "resume", migration_id, *common], env=env, capture_output=True, text=True, timeout=300)
    assert final.returncode == 0, final.stdout + final.stderr
    assert kills == 10, f"the run ended after {kills} kills; outputs: {outputs}"

    # The report the CLI wrote, checked against the fleet's personas.
    report = json.loads((tmp_path / f"iot-migrator-{migration_id}.json").read_text())
    personas = {d["id"]: d["persona"] for d in sandbox.control("GET", "fleet/contoso-fleet")["devices"] if d["id"].startswith("thermostat-")}
    states = {d["deviceId"]: (d["state"], d["reasonCode"]) for d in report["devices"]}
    assert len(states) == DEVICES
    expected = {"healthy": ("verified", None), "slow": ("verified", None), "offline": ("failed", "noAnswer"),
                "noDeviceMove": ("failed", "noDeviceMove"), "wrongKey": ("failed", "wrongKey"), "neverMoves": ("failed", "neverRegistered")}
    wrong = {d: (personas[d], s) for d, s in states.items() if s != expected[personas[d]]}
    assert not wrong, f"{len(wrong)} devices ended wrong, e.g. {list(wrong.items())[:5]}"

    # Exactly one enrollment group and one job were made, whatever the kills interrupted.
    from azure.iot.deviceprovisioning import DeviceProvisioningClient
    view = arm_view(sandbox, hub_name="contoso-hub-neu")
    dps = DeviceProvisioningClient.from_connection_string(view["dps_cs"])
    groups = [g["enrollmentGroupId"] for g in dps.enrollment_group.query(query_specification={"query": "*"})]
    assert groups == ["central-migration"], groups
    import requests
    token = env["IOTM_CENTRAL_API_TOKEN"]
    jobs = requests.get(f"{sandbox.base_url}/iotc/contoso-fleet/api/jobs?api-version=2022-07-31", headers={"Authorization": token}, timeout=30).json()["value"]
    ours = [j["id"] for j in jobs if j["id"].startswith("iotm-")]
    assert len(ours) == 1, ours

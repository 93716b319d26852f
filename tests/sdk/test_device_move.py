"""The whole DeviceMove path in the sandbox, as the migration wizard will drive it: Central's
enrollment-group keys copied into a DPS enrollment group (official DPS client), a Central job
sending DeviceMove to a device group, each simulated device acting out its persona, and the moved
devices found connected in the target hub (official azure-iot-hub client). Responses validated
against the IoT Central 2022-07-31 spec."""

import base64
import hashlib
import hmac
import time
import uuid

import pytest
import requests
from azure.core.exceptions import ResourceNotFoundError
from azure.iot.deviceprovisioning import DeviceProvisioningClient
from azure.iot.hub import IoTHubRegistryManager
from msrest.exceptions import HttpOperationError

from conftest import arm_view
from swagger import validate

SPEC = "specification/iotcentral/data-plane/Microsoft.IoTCentral/stable/2022-07-31/iotcentral.json"
V = "api-version=2022-07-31"
THERMOSTAT = "dtmi:contoso:Thermostat;1"
# Fast devices so a run takes seconds; a slow device still answers inside the timeout.
TIMING = {"answerMs": 50, "slowAnswerMs": 600, "reconnectMs": 100, "commandTimeoutMs": 1000}


class Central:
    def __init__(self, sandbox, subdomain="contoso-fleet"):
        self.sandbox = sandbox
        self.subdomain = subdomain
        self.url = f"{sandbox.base_url}/iotc/{subdomain}/api"
        self.token = sandbox.control("GET", "credentials")["centralApiTokens"][subdomain]

    def call(self, method, path, body=None, expect=200):
        sep = "&" if "?" in path else "?"
        for _ in range(20):
            r = requests.request(method, f"{self.url}{path}{sep}{V}", json=body, headers={"Authorization": self.token}, timeout=30)
            if r.status_code != 429:
                break
            time.sleep(int(r.headers["Retry-After"]))
        assert r.status_code == expect, r.text
        return r.json() if r.content else None

    def pages(self, path):
        items, url = [], f"{self.url}{path}?{V}"
        while url:
            r = requests.get(url, headers={"Authorization": self.token}, timeout=30)
            if r.status_code == 429:
                time.sleep(int(r.headers["Retry-After"]))
                continue
            body = r.json()
            items += body["value"]
            url = body.get("nextLink")
        return items

    def wait_job(self, job_id, until=("completed", "cancelled", "stopped"), timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            job = self.call("GET", f"/jobs/{job_id}")
            if job["status"] in until:
                return job
            time.sleep(0.2)
        raise AssertionError(f"job {job_id} still {job['status']} after {timeout} s")

    def fleet(self):
        return self.sandbox.control("GET", f"fleet/{self.subdomain}")


def move_job(id_scope, group="thermostats", **extra):
    payload = {"idScope": id_scope, "dpsName": "contoso-dps", "centralAppSubdomain": "contoso-fleet", "deviceTemplateId": THERMOSTAT}
    return {"displayName": "Move thermostats", "description": "IoT Migrator test", "group": group,
            "data": [{"type": "command", "target": THERMOSTAT, "path": "migration.DeviceMove", "value": payload}], **extra}


@pytest.fixture
def world(sandbox):
    scenario = sandbox.default_scenario()
    scenario["deviceTiming"] = TIMING
    sandbox.load_scenario(scenario)
    central = Central(sandbox)
    target = arm_view(sandbox)
    keys = central.call("GET", "/enrollmentGroups/sas-iot-devices")["attestation"]["symmetricKey"]
    DeviceProvisioningClient.from_connection_string(target["dps_cs"]).enrollment_group.create_or_update(
        "from-contoso-fleet", {"enrollmentGroupId": "from-contoso-fleet", "attestation": {"type": "symmetricKey", "symmetricKey": keys}})
    yield central, target
    sandbox.load_scenario(sandbox.default_scenario())


def by_persona(fleet):
    groups = {}
    for d in fleet["devices"]:
        groups.setdefault(d["persona"], []).append(d)
    return groups


def test_device_move_lands_each_persona_where_it_should(world):
    central, target = world
    before = by_persona(central.fleet())
    assert {p: len(v) for p, v in before.items()} == {"healthy": 211 + 12, "offline": 10, "slow": 7, "wrongKey": 5, "neverMoves": 5, "noDeviceMove": 2}

    job_id = str(uuid.uuid4())
    created = central.call("PUT", f"/jobs/{job_id}", move_job(target["id_scope"]))
    validate(SPEC, "/jobs/{jobId}", "put", 200, created)
    assert created["status"] == "running" and created["progress"]["total"] == 240

    job = central.wait_job(job_id)
    validate(SPEC, "/jobs/{jobId}", "get", 200, job)
    assert job["status"] == "completed"
    statuses = {s["id"]: s["status"] for s in central.pages(f"/jobs/{job_id}/devices")}
    assert len(statuses) == 240
    failed = {i for i, s in statuses.items() if s == "failed"}
    expected_failed = {d["id"] for p in ("offline", "noDeviceMove") for d in before[p]}
    assert failed == expected_failed
    assert job["progress"] == {"total": 240, "pending": 0, "completed": 240 - len(expected_failed), "failed": len(expected_failed)}

    movers = {d["id"] for p in ("healthy", "slow") for d in before[p] if d["id"].startswith("thermostat-")}
    deadline = time.time() + 15
    while time.time() < deadline:
        fleet = central.fleet()
        if fleet["connectedByHub"].get(target["hub_host"], 0) == len(movers):
            break
        time.sleep(0.2)
    after = {d["id"]: d for d in fleet["devices"]}
    assert {i for i, d in after.items() if d["link"]["hub"] == target["hub_host"] and d["link"]["connected"]} == movers

    registry = IoTHubRegistryManager.from_connection_string(target["hub_cs"])
    healthy = sorted(movers)[0]
    device = registry.get_device(healthy)
    assert device.connection_state == "Connected"
    state = DeviceProvisioningClient.from_connection_string(target["dps_cs"]).device_registration_state.get(healthy)
    assert state["assignedHub"] == target["hub_host"] and state["status"] == "assigned"

    wrong_key = before["wrongKey"][0]["id"]
    assert "401" in after[wrong_key]["link"]["lastError"] and not after[wrong_key]["link"]["connected"]
    with pytest.raises(HttpOperationError) as missing:
        registry.get_device(wrong_key)
    assert missing.value.response.status_code == 404
    # Why: Central enrolled it on its own, so the group's keys copied to the target do not cover it.
    own = central.call("GET", f"/devices/{wrong_key}/attestation")
    validate(SPEC, "/devices/{deviceId}/attestation", "get", 200, own)
    group_key = base64.b64decode(central.call("GET", "/enrollmentGroups/sas-iot-devices")["attestation"]["symmetricKey"]["primaryKey"])
    derived = base64.b64encode(hmac.new(group_key, wrong_key.encode(), hashlib.sha256).digest()).decode()
    assert own["type"] == "symmetricKey" and own["symmetricKey"]["primaryKey"] != derived
    assert central.call("GET", f"/devices/{wrong_key}/credentials")["symmetricKey"] == own["symmetricKey"]
    assert before["wrongKey"][0]["link"]["connected"], "its home DPS took it"
    stayed = before["neverMoves"][0]["id"]
    assert after[stayed]["link"]["hub"] == central.fleet()["hub"] and after[stayed]["link"]["connected"]


def test_rerun_retries_only_the_failed_devices(world, sandbox):
    central, target = world
    personas = by_persona(central.fleet())
    job_id = str(uuid.uuid4())
    central.call("PUT", f"/jobs/{job_id}", move_job(target["id_scope"]))
    central.wait_job(job_id)
    back_online = personas["offline"][0]["id"]
    sandbox.control("POST", f"fleet/contoso-fleet/{back_online}", json={"persona": "healthy"})

    rerun = central.call("PUT", f"/jobs/{job_id}/rerun/{job_id}-retry")
    validate(SPEC, "/jobs/{jobId}/rerun/{rerunId}", "put", 200, rerun)
    assert rerun["id"] == f"{job_id}-retry" and rerun["progress"]["total"] == 12
    central.wait_job(rerun["id"])
    statuses = {s["id"]: s["status"] for s in central.pages(f"/jobs/{rerun['id']}/devices")}
    assert statuses[back_online] == "completed"
    assert [i for i, s in statuses.items() if s == "completed"] == [back_online]


def test_a_stopped_job_keeps_its_pending_devices_until_resumed(world):
    central, target = world
    job_id = str(uuid.uuid4())
    central.call("PUT", f"/jobs/{job_id}", move_job(target["id_scope"], batch={"type": "number", "value": 20}))
    time.sleep(0.1)
    central.call("POST", f"/jobs/{job_id}/stop", expect=204)
    stopped = central.wait_job(job_id, until=("stopped",))
    time.sleep(1.5)  # the batch in flight finishes; no new batch starts
    progress = central.call("GET", f"/jobs/{job_id}")["progress"]
    assert stopped["status"] == "stopped" and progress["pending"] >= 200
    central.call("POST", f"/jobs/{job_id}/resume", expect=204)
    done = central.wait_job(job_id, timeout=60)
    assert done["status"] == "completed" and done["progress"]["pending"] == 0


def test_the_cancellation_threshold_cancels_the_job(world):
    central, target = world
    job_id = str(uuid.uuid4())
    central.call("PUT", f"/jobs/{job_id}", move_job(target["id_scope"], batch={"type": "number", "value": 60},
                                                        cancellationThreshold={"type": "number", "value": 1}))
    job = central.wait_job(job_id)
    assert job["status"] == "cancelled" and job["progress"]["failed"] >= 1 and job["progress"]["pending"] > 0


def test_a_sixth_running_job_is_refused_and_quotas_off_lifts_it(sandbox):
    scenario = sandbox.default_scenario()
    scenario["deviceTiming"] = {**TIMING, "answerMs": 3000, "commandTimeoutMs": 5000}
    sandbox.load_scenario(scenario)
    try:
        central = Central(sandbox)
        for n in range(5):
            central.call("PUT", f"/jobs/long-{n}", move_job("0neNOWHERE"))
        refused = central.call("PUT", "/jobs/long-5", move_job("0neNOWHERE"), expect=409)
        assert refused["error"]["code"] == "TooManyRunningJobs"
        validate(SPEC, "/jobs/{jobId}", "put", "default", refused)
        sandbox.control("POST", "quotas", json={"enabled": False})
        central.call("PUT", "/jobs/long-5", move_job("0neNOWHERE"))
    finally:
        sandbox.load_scenario(sandbox.default_scenario())


@pytest.mark.parametrize("body,message", [
    ({"group": "thermostats", "data": [{"type": "command", "target": THERMOSTAT, "path": "migration.Reboot"}]}, "no command at 'migration.Reboot'"),
    ({"group": "no-such-group", "data": [{"type": "command", "target": THERMOSTAT, "path": "migration.DeviceMove"}]}, "Device group no-such-group"),
    ({"group": "thermostats", "data": []}, "at least one item"),
    ({"group": "thermostats", "data": [{"type": "command", "target": THERMOSTAT, "path": "migration.DeviceMove"}], "batch": {"type": "percentage", "value": 150}}, "at most 100"),
])
def test_a_bad_job_is_refused_with_the_reason(sandbox, fresh_scenario, body, message):
    central = Central(sandbox)
    r = requests.put(f"{central.url}/jobs/bad?{V}", json=body, headers={"Authorization": central.token}, timeout=10)
    assert r.status_code in (400, 404) and message in r.json()["error"]["message"], r.text
    assert requests.get(f"{central.url}/jobs/bad?{V}", headers={"Authorization": central.token}, timeout=10).status_code == 404


def test_a_single_device_command_is_answered_by_the_device(sandbox, fresh_scenario):
    central = Central(sandbox)
    scope = arm_view(sandbox)["id_scope"]
    answer = central.call("POST", "/devices/legacy-001/commands/DeviceMove", {"request": scope}, expect=400)
    assert "no command" in answer["error"]["message"]
    sent = central.call("POST", "/devices/thermostat-001/components/migration/commands/DeviceMove", {"request": {"idScope": scope}}, expect=201)
    validate(SPEC, "/devices/{deviceId}/components/{componentName}/commands/{commandName}", "post", 201, sent)
    assert sent["responseCode"] in (200, 501) and "result" in sent["response"]


def test_central_throttles_past_twenty_requests_a_second(sandbox, fresh_scenario):
    central = Central(sandbox)
    session = requests.Session()
    codes = [session.get(f"{central.url}/deviceGroups?{V}", headers={"Authorization": central.token}, timeout=10) for _ in range(40)]
    throttled = [r for r in codes if r.status_code == 429]
    assert throttled and int(throttled[0].headers["Retry-After"]) >= 1
    assert throttled[0].json()["error"]["code"] == "TooManyRequests"
    sandbox.control("POST", "quotas", json={"enabled": False})
    assert all(session.get(f"{central.url}/deviceGroups?{V}", headers={"Authorization": central.token}, timeout=10).status_code == 200 for _ in range(40))


def test_command_history_keeps_each_devices_last_run_from_a_job_or_a_direct_call(world):
    central, target = world
    personas = by_persona(central.fleet())
    job_id = str(uuid.uuid4())
    payload = move_job(target["id_scope"])["data"][0]["value"]
    central.call("PUT", f"/jobs/{job_id}", move_job(target["id_scope"]))
    central.wait_job(job_id)

    path = "/components/migration/commands/DeviceMove"
    moved = sorted(d["id"] for d in personas["healthy"] if d["id"].startswith("thermostat-"))[0]
    answered = central.call("GET", f"/devices/{moved}{path}")
    validate(SPEC, "/devices/{deviceId}/components/{componentName}/commands/{commandName}", "get", 200, answered)
    [run] = answered["value"]
    assert run["request"] == payload and run["responseCode"] == 200 and run["response"]["result"] is True
    assert run["responseTimeout"] == 30 and run["connectionTimeout"] == 0 and run["id"]

    offline = personas["offline"][0]["id"]
    [silent] = central.call("GET", f"/devices/{offline}{path}")["value"]
    assert silent["request"] == payload and "response" not in silent and "responseCode" not in silent
    refused = personas["noDeviceMove"][0]["id"]
    assert central.call("GET", f"/devices/{refused}{path}")["value"][0]["responseCode"] == 501

    # A direct run replaces the job's record with its own.
    direct = central.call("POST", f"/devices/{moved}{path}", {"request": {"idScope": "0neDIRECT"}, "responseTimeout": 10, "connectionTimeout": 5}, expect=201)
    [latest] = central.call("GET", f"/devices/{moved}{path}")["value"]
    assert latest == direct and latest["id"] != run["id"] and latest["responseTimeout"] == 10 and latest["connectionTimeout"] == 5

    assert central.call("GET", f"/devices/{moved}/commands/Reboot")["value"] == []
    missing = central.call("GET", f"/devices/nobody{path}", expect=404)
    assert missing["error"]["code"] == "NotFound"

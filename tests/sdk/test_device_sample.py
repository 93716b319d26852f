"""The Python device sample (examples/devices/python/device_move.py) run unmodified, apart from its
connection settings, against the sandbox: provisioned into the Central app's own hub through the
app's DPS, it receives a real DeviceMove from a Central job (component form, object request), moves
to the target DPS and hub, and its telemetry arrives there; then a root-form DeviceMove with a bare
ID scope, invoked through the target hub's service API, brings it back."""

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from azure.iot.deviceprovisioning import DeviceProvisioningClient
from azure.iot.hub import IoTHubRegistryManager
from azure.iot.hub.models import CloudToDeviceMethod

from conftest import PROD_SUBSCRIPTION, arm_view
from test_device_move import THERMOSTAT, Central

SAMPLE = Path(__file__).resolve().parents[2] / "examples" / "devices" / "python" / "device_move.py"
WAIT = 30


@pytest.fixture
def world(sandbox, fresh_scenario):
    central = Central(sandbox)
    target = arm_view(sandbox)
    # What the wizard does first: the target DPS takes devices keyed from Central's group key.
    keys = central.call("GET", "/enrollmentGroups/sas-iot-devices")["attestation"]["symmetricKey"]
    DeviceProvisioningClient.from_connection_string(target["dps_cs"]).enrollment_group.create_or_update(
        "from-contoso-fleet", {"enrollmentGroupId": "from-contoso-fleet", "attestation": {"type": "symmetricKey", "symmetricKey": keys}})
    return central, target


def telemetry_count(sandbox, hub: str, device_id: str) -> int:
    return sandbox.control("GET", f"hubs/{hub}/devices/{device_id}/telemetry")["count"]


def eventually(check, what: str, timeout: float = WAIT):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"{what} within {timeout} s")


@pytest.fixture
def sample(sandbox, world):
    """The sample, started for a device Central knows (and does not simulate)."""
    central, _ = world
    device_id = f"sample-{uuid.uuid4().hex[:8]}"
    central.call("PUT", f"/devices/{device_id}", {"displayName": "Python sample", "template": THERMOSTAT})
    creds = central.call("GET", f"/devices/{device_id}/credentials")
    env = {
        **os.environ,
        "ID_SCOPE": creds["idScope"], "REGISTRATION_ID": device_id, "DEVICE_KEY": creds["symmetricKey"]["primaryKey"],
        "TELEMETRY_INTERVAL": "0.3",
        # The connection settings of the sandbox's network: where DPS and the hubs' gateway are, the
        # proxy to port 8883, the CA.
        "PROVISIONING_HOST": "localhost", "GATEWAY_HOSTNAME": "localhost",
        "HTTPS_PROXY_ADDRESS": f"{sandbox.proxy_host}:{sandbox.proxy_port}", "CA_CERT_FILE": sandbox.ca_cert,
    }
    out = Path(os.environ.get("TMPDIR", "/tmp")) / f"{device_id}.out"
    with open(out, "w") as stdout:
        proc = subprocess.Popen([sys.executable, str(SAMPLE)], env=env, stdout=stdout, stderr=subprocess.STDOUT, text=True)
    try:
        yield device_id, creds["idScope"], proc, out
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        out.unlink(missing_ok=True)


def test_the_sample_moves_on_a_central_job_and_back_on_a_bare_scope(sandbox, world, sample):
    central, target = world
    device_id, central_scope, proc, out = sample
    central_hub = central.fleet()["hub"]
    eventually(lambda: telemetry_count(sandbox, central_hub, device_id) > 0 or proc.poll() is not None, "the sample sends telemetry to Central's hub")
    assert proc.poll() is None, out.read_text()

    # The job the wizard dispatches: DeviceMove on the migration component, every field filled.
    group = f"move-{device_id}"
    central.call("PUT", f"/deviceGroups/{group}", {"displayName": group, "filter": f'SELECT * FROM devices WHERE $id = "{device_id}"'})
    dps_id = f"/subscriptions/{PROD_SUBSCRIPTION}/resourceGroups/rg-iot-prod/providers/Microsoft.Devices/provisioningServices/{target['dps_name']}"
    payload = {"idScope": target["id_scope"], "dpsName": target["dps_name"], "dpsId": dps_id, "centralAppName": "contoso-fleet",
               "centralAppSubdomain": "contoso-fleet", "deviceTemplateId": ""}
    job_id = str(uuid.uuid4())
    central.call("PUT", f"/jobs/{job_id}", {"displayName": "Move the Python sample", "group": group,
                                            "data": [{"type": "command", "target": THERMOSTAT, "path": "migration.DeviceMove", "value": payload}]})
    job = central.wait_job(job_id, timeout=WAIT)
    assert job["status"] == "completed" and job["progress"]["completed"] == 1, job
    run = central.call("GET", f"/devices/{device_id}/components/migration/commands/DeviceMove")["value"][0]
    assert run["responseCode"] == 200 and run["response"]["result"] is True

    eventually(lambda: telemetry_count(sandbox, target["hub_host"], device_id) > 0, "telemetry arrives in the target hub")
    registry = IoTHubRegistryManager.from_connection_string(target["hub_cs"])
    assert registry.get_device(device_id).connection_state == "Connected"
    state = DeviceProvisioningClient.from_connection_string(target["dps_cs"]).device_registration_state.get(device_id)
    assert state["assignedHub"] == target["hub_host"] and state["status"] == "assigned"
    moved_at = telemetry_count(sandbox, central_hub, device_id)
    time.sleep(1)
    assert telemetry_count(sandbox, central_hub, device_id) == moved_at, "nothing more reaches the old hub"

    # The root form with the bare ID scope, as older tools send it, through the hub's service API.
    result = registry.invoke_device_method(device_id, CloudToDeviceMethod(method_name="DeviceMove", payload=central_scope, response_timeout_in_seconds=15))
    assert result.status == 200 and result.payload["result"] is True
    eventually(lambda: telemetry_count(sandbox, central_hub, device_id) > moved_at, "telemetry reaches Central's hub again")
    eventually(lambda: registry.get_device(device_id).connection_state == "Disconnected", "the target hub shows it gone")
    lines = out.read_text().splitlines()
    assert [line for line in lines if line.startswith("MOVE")] == [f"MOVE scope={target['id_scope']}", f"MOVE scope={central_scope}"]


def test_the_sample_refuses_a_move_without_a_scope_and_stays(sandbox, world, sample):
    central, target = world
    device_id, _, proc, out = sample
    central_hub = central.fleet()["hub"]
    eventually(lambda: telemetry_count(sandbox, central_hub, device_id) > 0 or proc.poll() is not None, "the sample sends telemetry")
    assert proc.poll() is None, out.read_text()
    run = central.call("POST", f"/devices/{device_id}/components/migration/commands/DeviceMove", {"request": {"dpsName": "contoso-dps"}}, expect=201)
    assert run["responseCode"] == 400
    before = telemetry_count(sandbox, central_hub, device_id)
    eventually(lambda: telemetry_count(sandbox, central_hub, device_id) > before, "it keeps sending to the same hub")


def test_a_move_the_new_dps_refuses_leaves_the_sample_on_its_old_hub(sandbox, world, sample):
    central, target = world
    device_id, central_scope, proc, out = sample
    central_hub = central.fleet()["hub"]
    eventually(lambda: telemetry_count(sandbox, central_hub, device_id) > 0 or proc.poll() is not None, "the sample sends telemetry")
    assert proc.poll() is None, out.read_text()
    # The target DPS no longer takes keys derived from Central's group key.
    DeviceProvisioningClient.from_connection_string(target["dps_cs"]).enrollment_group.delete("from-contoso-fleet")
    run = central.call("POST", f"/devices/{device_id}/components/migration/commands/DeviceMove", {"request": {"idScope": target["id_scope"]}}, expect=201)
    assert run["responseCode"] == 200
    eventually(lambda: "MOVE-FAILED" in out.read_text(), "the sample sees the new DPS refuse it")
    before = telemetry_count(sandbox, central_hub, device_id)
    eventually(lambda: telemetry_count(sandbox, central_hub, device_id) > before, "it sends to its old hub again")
    assert telemetry_count(sandbox, target["hub_host"], device_id) == 0
    assert proc.poll() is None, out.read_text()

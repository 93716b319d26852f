"""DPS: enrollment groups through the official service client (azure-iot-deviceprovisioning),
and a device registering with the key derived from its group's key, as the DeviceMove devices
will, landing in the linked hub where azure-iot-hub finds it."""

import base64
import hashlib
import hmac
import time
import urllib.parse

import pytest
import requests
from azure.core.exceptions import HttpResponseError
from azure.iot.deviceprovisioning import DeviceProvisioningClient
from azure.iot.hub import IoTHubRegistryManager

from conftest import arm_view
from swagger import validate

SERVICE_SPEC = "specification/deviceprovisioningservices/data-plane/Microsoft.Devices/stable/2021-10-01/service.json"
RUNTIME_SPEC = "specification/deviceprovisioningservices/data-plane/DeviceProvisioningServices/stable/2021-10-01/device.json"
GROUP_KEY = base64.b64encode(hashlib.sha256(b"a Central enrollment group key, for tests").digest()).decode()


def derived_key(group_key: str, registration_id: str) -> str:
    return base64.b64encode(hmac.new(base64.b64decode(group_key), registration_id.encode(), hashlib.sha256).digest()).decode()


def device_sas(id_scope: str, registration_id: str, key: str) -> str:
    sr = urllib.parse.quote(f"{id_scope}/registrations/{registration_id}", safe="")
    se = int(time.time()) + 3600
    sig = base64.b64encode(hmac.new(base64.b64decode(key), f"{sr}\n{se}".encode(), hashlib.sha256).digest()).decode()
    return f"SharedAccessSignature sr={sr}&sig={urllib.parse.quote(sig, safe='')}&se={se}&skn=registration"


@pytest.fixture
def cloud(sandbox, fresh_scenario):
    return arm_view(sandbox)


def group_body(keys: dict | None = None) -> dict:
    return {"enrollmentGroupId": "central-devices", "attestation": {"type": "symmetricKey", "symmetricKey": keys or {"primaryKey": GROUP_KEY, "secondaryKey": GROUP_KEY}}}


def test_an_enrollment_group_keeps_the_keys_it_was_given(cloud):
    client = DeviceProvisioningClient.from_connection_string(cloud["dps_cs"])
    created = client.enrollment_group.create_or_update("central-devices", group_body())
    assert created["attestation"]["symmetricKey"]["primaryKey"] == GROUP_KEY
    assert client.enrollment_group.get("central-devices")["etag"] == created["etag"]
    assert [g["enrollmentGroupId"] for g in client.enrollment_group.query({"query": "*"})] == ["central-devices"]
    with pytest.raises(HttpResponseError) as stale:
        client.enrollment_group.create_or_update("central-devices", group_body(), if_match="not-the-etag")
    assert stale.value.status_code == 412
    generated = client.enrollment_group.create_or_update("other", {**group_body({}), "enrollmentGroupId": "other"})
    assert base64.b64decode(generated["attestation"]["symmetricKey"]["primaryKey"])


def register(cloud, registration_id: str, key: str):
    url = f"https://{cloud['dps_host']}/{cloud['id_scope']}/registrations/{registration_id}"
    auth = {"Authorization": device_sas(cloud["id_scope"], registration_id, key)}
    started = requests.put(f"{url}/register?api-version=2021-06-01", json={"registrationId": registration_id}, headers=auth, timeout=10)
    if started.status_code != 202:
        return started, None
    op = started.json()["operationId"]
    return started, requests.get(f"{url}/operations/{op}?api-version=2021-06-01", headers=auth, timeout=10)


def test_a_device_registers_with_its_derived_key_and_appears_in_the_hub(cloud):
    DeviceProvisioningClient.from_connection_string(cloud["dps_cs"]).enrollment_group.create_or_update("central-devices", group_body())
    started, status = register(cloud, "thermostat-042", derived_key(GROUP_KEY, "thermostat-042"))
    assert started.status_code == 202, started.text
    validate(RUNTIME_SPEC, "/{idScope}/registrations/{registrationId}/register", "put", 202, started.json())
    assert status.status_code == 200, status.text
    validate(RUNTIME_SPEC, "/{idScope}/registrations/{registrationId}/operations/{operationId}", "get", 200, status.json())
    state = status.json()["registrationState"]
    assert state["status"] == "assigned" and state["assignedHub"] == cloud["hub_host"]

    device = IoTHubRegistryManager.from_connection_string(cloud["hub_cs"]).get_device("thermostat-042")
    assert device.authentication.symmetric_key.primary_key == derived_key(GROUP_KEY, "thermostat-042")

    service = DeviceProvisioningClient.from_connection_string(cloud["dps_cs"])
    registration = service.device_registration_state.get("thermostat-042")
    assert registration["assignedHub"] == cloud["hub_host"]
    validate(SERVICE_SPEC, "/registrations/{id}", "get", 200, registration)


def test_a_device_with_the_wrong_key_gets_401(cloud):
    DeviceProvisioningClient.from_connection_string(cloud["dps_cs"]).enrollment_group.create_or_update("central-devices", group_body())
    wrong = base64.b64encode(b"0" * 32).decode()
    started, _ = register(cloud, "thermostat-043", derived_key(wrong, "thermostat-043"))
    assert started.status_code == 401
    body = started.json()
    assert body["errorCode"] == 401002 and body["trackingId"]
    validate(RUNTIME_SPEC, "/{idScope}/registrations/{registrationId}/register", "put", "default", body)


def test_enrollment_groups_match_the_service_spec(cloud):
    client = DeviceProvisioningClient.from_connection_string(cloud["dps_cs"])
    validate(SERVICE_SPEC, "/enrollmentGroups/{id}", "put", 200, client.enrollment_group.create_or_update("central-devices", group_body()))
    validate(SERVICE_SPEC, "/enrollmentGroups/{id}", "get", 200, client.enrollment_group.get("central-devices"))


def test_an_individual_enrollment_registers_with_its_own_key_and_device_id(cloud):
    own_key = base64.b64encode(hashlib.sha256(b"one device's own key").digest()).decode()
    service = DeviceProvisioningClient.from_connection_string(cloud["dps_cs"])
    enrollment = service.enrollment.create_or_update("solo-7", {"registrationId": "solo-7", "deviceId": "solo-device-7",
                                                                 "attestation": {"type": "symmetricKey", "symmetricKey": {"primaryKey": own_key, "secondaryKey": own_key}}})
    validate(SERVICE_SPEC, "/enrollments/{id}", "put", 200, enrollment)
    _, status = register(cloud, "solo-7", own_key)
    state = status.json()["registrationState"]
    assert state["status"] == "assigned" and state["deviceId"] == "solo-device-7"
    device = IoTHubRegistryManager.from_connection_string(cloud["hub_cs"]).get_device("solo-device-7")
    assert device.authentication.symmetric_key.primary_key == own_key
    # A group's derived key does not stand in for an individual enrollment's own key.
    service.enrollment_group.create_or_update("central-devices", group_body())
    refused, _ = register(cloud, "solo-7", derived_key(GROUP_KEY, "solo-7"))
    assert refused.status_code == 401


def test_the_service_api_takes_an_entra_token_for_the_dps_audience(sandbox, cloud):
    from azure.identity import ClientSecretCredential
    from conftest import AUTOMATION_CLIENT, TENANT

    credential = ClientSecretCredential(TENANT, AUTOMATION_CLIENT, sandbox.client_secret(AUTOMATION_CLIENT),
                                        authority=sandbox.base_url, disable_instance_discovery=True)
    service = DeviceProvisioningClient(f"https://{cloud['dps_host']}", credential)
    service.enrollment_group.create_or_update("by-entra", {"enrollmentGroupId": "by-entra", "attestation": {"type": "symmetricKey"}})
    assert service.enrollment_group.get("by-entra")["attestation"]["symmetricKey"]["primaryKey"]


def test_registration_states_of_an_enrollment_group_page_through_the_official_client(cloud):
    from azure.core.exceptions import ResourceNotFoundError

    client = DeviceProvisioningClient.from_connection_string(cloud["dps_cs"])
    client.enrollment_group.create_or_update("central-devices", group_body())
    ids = [f"reg-{n:02}" for n in range(1, 8)]
    for registration_id in ids:
        started, _ = register(cloud, registration_id, derived_key(GROUP_KEY, registration_id))
        assert started.status_code == 202, started.text
    # A device of another group stays out.
    other = {"enrollmentGroupId": "other", "attestation": {"type": "symmetricKey", "symmetricKey": {"primaryKey": "", "secondaryKey": ""}}}
    other_key = client.enrollment_group.create_or_update("other", other)["attestation"]["symmetricKey"]["primaryKey"]
    assert other_key != GROUP_KEY
    assert register(cloud, "reg-other", derived_key(other_key, "reg-other"))[0].status_code == 202

    states = list(client.device_registration_state.query("central-devices", top=3))
    assert [s["registrationId"] for s in states] == ids
    assert all(s["status"] == "assigned" and s["assignedHub"] == cloud["hub_host"] for s in states)
    assert states[0] == client.device_registration_state.get("reg-01")
    validate(SERVICE_SPEC, "/registrations/{id}/query", "post", 200, states)
    with pytest.raises(ResourceNotFoundError):
        list(client.device_registration_state.query("no-such-group"))

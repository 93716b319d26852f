"""Devices provisioning with the official device SDK, azure-iot-device's ProvisioningDeviceClient,
over MQTT on TLS, unmodified. It dials port 8883 and has no port option, so it is given what a user
behind a proxy configures: ProxyOptions pointing at the sandbox's CONNECT proxy, and the sandbox CA
as server_verification_cert. Group symmetric key → DPS assigns the linked hub → azure-iot-hub
finds the device there."""

import base64
import hashlib
import hmac

import pytest
from azure.iot.device import ProvisioningDeviceClient, ProxyOptions
from azure.iot.device.exceptions import CredentialError
from azure.iot.deviceprovisioning import DeviceProvisioningClient
from azure.iot.hub import IoTHubRegistryManager

from conftest import arm_view

GROUP_KEY = base64.b64encode(hashlib.sha256(b"an enrollment group key for the device SDK test").digest()).decode()


def derived_key(group_key: str, registration_id: str) -> str:
    return base64.b64encode(hmac.new(base64.b64decode(group_key), registration_id.encode(), hashlib.sha256).digest()).decode()


def provision(sandbox, id_scope: str, registration_id: str, key: str):
    client = ProvisioningDeviceClient.create_from_symmetric_key(
        provisioning_host="localhost", registration_id=registration_id, id_scope=id_scope, symmetric_key=key,
        proxy_options=ProxyOptions("HTTP", sandbox.proxy_host, sandbox.proxy_port),
        server_verification_cert=open(sandbox.ca_cert).read())
    return client.register()


@pytest.fixture
def target(sandbox, fresh_scenario):
    view = arm_view(sandbox)
    DeviceProvisioningClient.from_connection_string(view["dps_cs"]).enrollment_group.create_or_update(
        "sdk-devices", {"enrollmentGroupId": "sdk-devices", "attestation": {"type": "symmetricKey", "symmetricKey": {"primaryKey": GROUP_KEY, "secondaryKey": GROUP_KEY}}})
    return view


def test_a_group_key_device_is_assigned_the_linked_hub_and_exists_there(sandbox, target):
    result = provision(sandbox, target["id_scope"], "sdk-thermostat-1", derived_key(GROUP_KEY, "sdk-thermostat-1"))
    assert result.status == "assigned", result
    assert result.registration_state.assigned_hub == target["hub_host"]
    assert result.registration_state.device_id == "sdk-thermostat-1"
    device = IoTHubRegistryManager.from_connection_string(target["hub_cs"]).get_device("sdk-thermostat-1")
    assert device.authentication.symmetric_key.primary_key == derived_key(GROUP_KEY, "sdk-thermostat-1")


def test_a_device_with_a_key_no_group_derives_is_refused(sandbox, target):
    # CONNACK 5 (not authorised) is what the SDK turns into CredentialError.
    with pytest.raises(CredentialError):
        provision(sandbox, target["id_scope"], "sdk-intruder", derived_key(base64.b64encode(b"x" * 32).decode(), "sdk-intruder"))


def test_a_central_device_provisions_into_its_apps_own_hub_with_the_apps_scope(sandbox, fresh_scenario):
    import requests
    token = sandbox.control("GET", "credentials")["centralApiTokens"]["contoso-fleet"]
    creds = requests.get(f"{sandbox.base_url}/iotc/contoso-fleet/api/devices/thermostat-100/credentials?api-version=2022-07-31",
                         headers={"Authorization": token}, timeout=10).json()
    result = provision(sandbox, creds["idScope"], "thermostat-100", creds["symmetricKey"]["primaryKey"])
    assert result.status == "assigned"
    assert result.registration_state.assigned_hub == sandbox.control("GET", "fleet/contoso-fleet?summary=true")["hub"]

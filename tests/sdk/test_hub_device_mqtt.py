"""IoT Hub's device side over MQTT, driven by the official device SDK (azure-iot-device's
IoTHubDeviceClient) unmodified, with the official service SDK (azure-iot-hub) on the other side.

A device is pointed at a sandbox hub the way a device behind a transparent gateway is: its connection
string keeps the hub's HostName and adds GatewayHostName=localhost (the sandbox's one MQTT endpoint,
which tells hubs apart by the CONNECT's username), and — the SDK always dials port 8883 — ProxyOptions
pointing at the sandbox's CONNECT proxy, with the sandbox CA as server_verification_cert."""

import queue
import time
import uuid

import pytest
import requests
from azure.iot.device import IoTHubDeviceClient, Message, MethodResponse, ProvisioningDeviceClient, ProxyOptions
from azure.iot.device.exceptions import CredentialError
from azure.iot.hub import IoTHubRegistryManager
from azure.iot.hub.models import CloudToDeviceMethod, Twin, TwinProperties
from msrest.exceptions import HttpOperationError

from conftest import arm_view

DEVICE = "mqtt-thermostat-1"
WAIT = 10


@pytest.fixture
def hub(sandbox, fresh_scenario):
    view = arm_view(sandbox)
    registry = IoTHubRegistryManager.from_connection_string(view["hub_cs"])
    created = registry.create_device_with_sas(DEVICE, "", "", "enabled")
    return {**view, "registry": registry, "key": created.authentication.symmetric_key.primary_key}


def connection_string(hub_host: str, device_id: str, key: str) -> str:
    return f"HostName={hub_host};DeviceId={device_id};SharedAccessKey={key};GatewayHostName=localhost"


def device_client(sandbox, cs: str) -> IoTHubDeviceClient:
    return IoTHubDeviceClient.create_from_connection_string(
        cs, proxy_options=ProxyOptions("HTTP", sandbox.proxy_host, sandbox.proxy_port),
        server_verification_cert=open(sandbox.ca_cert).read(), connection_retry=False)


@pytest.fixture
def device(sandbox, hub):
    client = device_client(sandbox, connection_string(hub["hub_host"], DEVICE, hub["key"]))
    client.connect()
    yield client
    client.shutdown()


def eventually(check, what: str):
    deadline = time.time() + WAIT
    while time.time() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"{what} within {WAIT} s")


def test_the_registry_shows_the_device_connected_then_disconnected(sandbox, hub):
    assert hub["registry"].get_device(DEVICE).connection_state == "Disconnected"
    client = device_client(sandbox, connection_string(hub["hub_host"], DEVICE, hub["key"]))
    client.connect()
    connected = hub["registry"].get_device(DEVICE)
    assert connected.connection_state == "Connected"
    assert connected.last_activity_time.year > 2000, "a connection is activity"
    client.shutdown()
    eventually(lambda: hub["registry"].get_device(DEVICE).connection_state == "Disconnected", "the registry shows it disconnected")


def test_telemetry_is_counted_on_the_hub_and_readable(sandbox, hub, device):
    before = hub["registry"].get_device(DEVICE).last_activity_time
    for n in range(3):
        message = Message(f'{{"temperature": {20 + n}}}', content_encoding="utf-8", content_type="application/json")
        message.custom_properties["site"] = "lyon"
        device.send_message(message)
    received = sandbox.control("GET", f"hubs/contoso-hub-weu/devices/{DEVICE}/telemetry")
    assert received["count"] == 3
    assert [m["body"]["text"] for m in received["messages"]] == ['{"temperature": 20}', '{"temperature": 21}', '{"temperature": 22}']
    assert received["messages"][0]["properties"] == {"$.ct": "application/json", "$.ce": "utf-8", "site": "lyon"}
    assert hub["registry"].get_device(DEVICE).last_activity_time >= before
    # The same device on another hub has sent nothing there.
    assert sandbox.control("GET", f"hubs/contoso-hub-neu/devices/{DEVICE}/telemetry")["count"] == 0


def test_a_direct_method_reaches_the_device_and_its_answer_returns(hub, device):
    calls = []

    def answer(request):
        calls.append((request.name, request.payload))
        device.send_method_response(MethodResponse.create_from_method_request(request, 200, {"rebooting": True, "delay": request.payload["delay"]}))

    device.on_method_request_received = answer
    result = hub["registry"].invoke_device_method(DEVICE, CloudToDeviceMethod(method_name="reboot", payload={"delay": 3}, response_timeout_in_seconds=10))
    assert (result.status, result.payload) == (200, {"rebooting": True, "delay": 3})
    assert calls == [("reboot", {"delay": 3})]


def test_a_method_nobody_answers_times_out_and_an_offline_device_is_not_online(hub, device):
    device.on_method_request_received = lambda request: None
    with pytest.raises(HttpOperationError) as silent:
        hub["registry"].invoke_device_method(DEVICE, CloudToDeviceMethod(method_name="reboot", payload={}, response_timeout_in_seconds=5))
    assert silent.value.response.status_code == 504
    hub["registry"].create_device_with_sas("never-connected", "", "", "enabled")
    with pytest.raises(HttpOperationError) as offline:
        hub["registry"].invoke_device_method("never-connected", CloudToDeviceMethod(method_name="reboot", payload={}))
    assert offline.value.response.status_code == 404 and "DeviceNotOnline" in offline.value.response.text


def test_twin_get_reported_patch_and_desired_notifications(hub, device):
    registry = hub["registry"]
    twin = device.get_twin()
    assert twin["desired"] == {"$version": 1} and twin["reported"] == {"$version": 1}

    device.patch_twin_reported_properties({"firmware": "1.2.3", "battery": {"level": 80}})
    reported = registry.get_twin(DEVICE).properties.reported
    assert reported["firmware"] == "1.2.3" and reported["battery"] == {"level": 80} and reported["$version"] == 2
    device.patch_twin_reported_properties({"battery": None})
    assert "battery" not in registry.get_twin(DEVICE).properties.reported, "null removes, as on the hub"

    patches = queue.Queue()
    device.on_twin_desired_properties_patch_received = patches.put
    service_twin = registry.get_twin(DEVICE)
    registry.update_twin(DEVICE, Twin(properties=TwinProperties(desired={"interval": 30})), service_twin.etag)
    assert patches.get(timeout=WAIT) == {"interval": 30, "$version": 2}
    assert device.get_twin()["desired"] == {"interval": 30, "$version": 2}


def test_a_reported_patch_the_hub_refuses_is_an_error_to_the_device(hub, device):
    from azure.iot.device.exceptions import ClientError, ServiceError

    # The SDK wraps the hub's status in its own "Unexpected failure"; the cause carries it.
    with pytest.raises(ClientError) as refused:
        device.patch_twin_reported_properties({"bad.key": 1})
    assert isinstance(refused.value.__cause__, ServiceError) and "status 400" in str(refused.value.__cause__)
    assert "bad.key" not in hub["registry"].get_twin(DEVICE).properties.reported


def test_a_wrong_key_is_refused_and_the_device_stays_disconnected(sandbox, hub):
    secondary = hub["registry"].get_device(DEVICE).authentication.symmetric_key.secondary_key
    other = hub["registry"].create_device_with_sas("someone-else", "", "", "enabled").authentication.symmetric_key.primary_key
    for key in (other, "d3JvbmcgZGV2aWNlIGtleSB3cm9uZyBkZXZpY2Uga2V5"):
        client = device_client(sandbox, connection_string(hub["hub_host"], DEVICE, key))
        with pytest.raises(CredentialError):
            client.connect()
        client.shutdown()
    assert hub["registry"].get_device(DEVICE).connection_state == "Disconnected"
    # The secondary key is the device's too.
    client = device_client(sandbox, connection_string(hub["hub_host"], DEVICE, secondary))
    client.connect()
    assert hub["registry"].get_device(DEVICE).connection_state == "Connected"
    client.shutdown()


def test_a_central_command_reaches_a_real_device_beside_the_simulated_fleet(sandbox, fresh_scenario):
    """A device Central knows but does not simulate provisions through the app's own DPS with the
    official provisioning client, connects to the app's hub, and answers DeviceMove sent by
    Central's command API; a simulated device of the same app still answers the same command."""
    subdomain = "contoso-fleet"
    token = sandbox.control("GET", "credentials")["centralApiTokens"][subdomain]
    api = f"{sandbox.base_url}/iotc/{subdomain}/api"
    v = "api-version=2022-07-31"

    def central(method, path, body=None):
        r = requests.request(method, f"{api}{path}?{v}", json=body, headers={"Authorization": token}, timeout=60)
        assert r.status_code < 300, r.text
        return r.json()

    device_id = f"sdk-real-{uuid.uuid4().hex[:8]}"
    central("PUT", f"/devices/{device_id}", {"displayName": "Real device", "template": "dtmi:contoso:Thermostat;1"})
    creds = central("GET", f"/devices/{device_id}/credentials")
    key = creds["symmetricKey"]["primaryKey"]
    assert central("GET", f"/devices/{device_id}")["provisioned"] is False
    registration = ProvisioningDeviceClient.create_from_symmetric_key(
        provisioning_host="localhost", registration_id=device_id, id_scope=creds["idScope"], symmetric_key=key,
        proxy_options=ProxyOptions("HTTP", sandbox.proxy_host, sandbox.proxy_port),
        server_verification_cert=open(sandbox.ca_cert).read()).register()
    assert registration.status == "assigned"
    assert central("GET", f"/devices/{device_id}")["provisioned"] is True, "Central sees it registered through its DPS"
    assigned = registration.registration_state.assigned_hub
    assert assigned == sandbox.control("GET", f"fleet/{subdomain}?summary=true")["hub"]

    client = IoTHubDeviceClient.create_from_symmetric_key(
        symmetric_key=key, hostname=assigned, device_id=device_id, gateway_hostname="localhost",
        proxy_options=ProxyOptions("HTTP", sandbox.proxy_host, sandbox.proxy_port),
        server_verification_cert=open(sandbox.ca_cert).read(), connection_retry=False)
    seen = []

    def answer(request):
        seen.append((request.name, request.payload))
        client.send_method_response(MethodResponse.create_from_method_request(request, 200, {"result": True, "data": "moving"}))

    client.on_method_request_received = answer
    try:
        request = {"idScope": "0ne00000000", "dpsName": "contoso-dps"}
        run = central("POST", f"/devices/{device_id}/components/migration/commands/DeviceMove", {"request": request})
        assert run["responseCode"] == 200 and run["response"] == {"result": True, "data": "moving"}
        assert seen == [("migration*DeviceMove", request)]
        history = central("GET", f"/devices/{device_id}/components/migration/commands/DeviceMove")["value"]
        assert history[0]["responseCode"] == 200
    finally:
        client.shutdown()
    fleet = sandbox.control("GET", f"fleet/{subdomain}")["devices"]
    sim = next(d["id"] for d in fleet if d["persona"] == "healthy" and d["id"].startswith("thermostat-"))
    beside = central("POST", f"/devices/{sim}/components/migration/commands/DeviceMove", {"request": request})
    assert beside["responseCode"] == 200 and beside["response"]["result"] is True


def test_a_second_connection_ends_the_first_and_deleting_the_device_ends_its_connection(sandbox, hub):
    cs = connection_string(hub["hub_host"], DEVICE, hub["key"])
    first, second = device_client(sandbox, cs), device_client(sandbox, cs)
    try:
        first.connect()
        second.connect()
        eventually(lambda: not first.connected, "the hub ends the earlier connection")
        assert second.connected and hub["registry"].get_device(DEVICE).connection_state == "Connected"
        hub["registry"].delete_device(DEVICE)
        eventually(lambda: not second.connected, "the hub ends a deleted device's connection")
    finally:
        first.shutdown()
        second.shutdown()

"""IoT Hub and DPS through their official SDKs, unmodified: ARM (hub, keys, DPS linked hubs with
ETags) and the hub's registry reached with the connection string ARM hands out."""

import base64

import pytest
from azure.core.exceptions import HttpResponseError
from azure.identity import ClientSecretCredential
from azure.iot.hub import IoTHubRegistryManager
from azure.mgmt.iothub import IotHubClient
from azure.mgmt.iothubprovisioningservices import IotDpsClient
from msrest.exceptions import HttpOperationError

from conftest import AUTOMATION_CLIENT, PROD_SUBSCRIPTION, TENANT

RG = "rg-iot-prod"
COMMON = {"credential_scopes": ["https://management.azure.com/.default"]}


@pytest.fixture
def credential(sandbox, fresh_scenario):
    return ClientSecretCredential(TENANT, AUTOMATION_CLIENT, sandbox.client_secret(AUTOMATION_CLIENT),
                                  authority=sandbox.base_url, disable_instance_discovery=True)


@pytest.fixture
def hubs(sandbox, credential):
    return IotHubClient(credential, PROD_SUBSCRIPTION, base_url=sandbox.base_url, **COMMON)


@pytest.fixture
def dps_client(sandbox, credential):
    return IotDpsClient(credential, PROD_SUBSCRIPTION, base_url=sandbox.base_url, **COMMON)


def owner_connection_string(hubs, name: str) -> str:
    hub = hubs.iot_hub_resource.get(RG, name)
    key = hubs.iot_hub_resource.get_keys_for_key_name(RG, name, "iothubowner")
    return f"HostName={hub.properties.host_name};SharedAccessKeyName={key.key_name};SharedAccessKey={key.primary_key}"


def test_azure_mgmt_iothub_gets_hubs_and_their_keys(hubs, fresh_scenario):
    names = sorted(h.name for h in hubs.iot_hub_resource.list_by_subscription())
    assert names == ["contoso-hub-neu", "contoso-hub-weu"]
    hub = hubs.iot_hub_resource.get(RG, "contoso-hub-weu")
    assert hub.sku.name == "S1" and hub.sku.capacity == 1 and hub.properties.host_name.startswith("localhost:")
    keys = {k.key_name: k for k in hubs.iot_hub_resource.list_keys(RG, "contoso-hub-weu")}
    assert set(keys) == {"iothubowner", "service", "device", "registryRead", "registryReadWrite"}
    assert "RegistryWrite" in str(keys["iothubowner"].rights)


def test_azure_iot_hub_registry_manager_uses_the_connection_string_arm_gave(hubs, fresh_scenario):
    registry = IoTHubRegistryManager.from_connection_string(owner_connection_string(hubs, "contoso-hub-weu"))
    created = registry.create_device_with_sas("sensor-001", "", "", "enabled")
    assert created.device_id == "sensor-001" and created.authentication.symmetric_key.primary_key
    got = registry.get_device("sensor-001")
    assert got.etag == created.etag and got.connection_state == "Disconnected"
    assert registry.get_twin("sensor-001").device_id == "sensor-001"
    with pytest.raises(HttpOperationError) as exists:
        registry.create_device_with_sas("sensor-001", "", "", "enabled")
    assert exists.value.response.status_code == 409
    registry.delete_device("sensor-001")
    with pytest.raises(HttpOperationError) as gone:
        registry.get_device("sensor-001")
    assert gone.value.response.status_code == 404


def test_a_policy_without_registry_write_cannot_create_devices(hubs, fresh_scenario):
    hub = hubs.iot_hub_resource.get(RG, "contoso-hub-weu")
    key = hubs.iot_hub_resource.get_keys_for_key_name(RG, "contoso-hub-weu", "registryRead")
    reader = IoTHubRegistryManager.from_connection_string(
        f"HostName={hub.properties.host_name};SharedAccessKeyName=registryRead;SharedAccessKey={key.primary_key}")
    with pytest.raises(HttpOperationError) as denied:
        reader.create_device_with_sas("sensor-002", "", "", "enabled")
    assert denied.value.response.status_code == 401


def test_a_wrong_key_is_refused(hubs, fresh_scenario):
    hub = hubs.iot_hub_resource.get(RG, "contoso-hub-weu")
    forged = IoTHubRegistryManager.from_connection_string(
        f"HostName={hub.properties.host_name};SharedAccessKeyName=iothubowner;SharedAccessKey={base64.b64encode(bytes(32)).decode()}")
    with pytest.raises(HttpOperationError) as denied:
        forged.get_devices()
    assert denied.value.response.status_code == 401


def test_dps_shows_its_linked_hub_with_the_key_masked(dps_client, fresh_scenario):
    dps = dps_client.iot_dps_resource.get("contoso-dps", RG)
    assert dps.properties.id_scope.startswith("0ne")
    (linked,) = dps.properties.iot_hubs
    assert linked.connection_string.endswith("SharedAccessKey=****")
    assert [k.key_name for k in dps_client.iot_dps_resource.list_keys("contoso-dps", RG)] == ["provisioningserviceowner"]


def test_linking_a_second_hub_is_an_etag_safe_read_modify_write(dps_client, hubs, fresh_scenario):
    from azure.mgmt.iothubprovisioningservices.models import IotHubDefinitionDescription

    dps = dps_client.iot_dps_resource.get("contoso-dps", RG)
    stale_etag = dps.etag
    dps.properties.iot_hubs.append(IotHubDefinitionDescription(
        connection_string=owner_connection_string(hubs, "contoso-hub-neu"), location="northeurope", allocation_weight=2))
    updated = dps_client.iot_dps_resource.begin_create_or_update(RG, "contoso-dps", dps).result()
    assert len(updated.properties.iot_hubs) == 2 and updated.etag != stale_etag
    # Someone else's write since we read: the service refuses rather than overwrite it.
    dps.etag = stale_etag
    dps.properties.iot_hubs = dps.properties.iot_hubs[:1]
    with pytest.raises(HttpResponseError) as conflict:
        dps_client.iot_dps_resource.begin_create_or_update(RG, "contoso-dps", dps).result()
    assert conflict.value.status_code == 412
    assert len(dps_client.iot_dps_resource.get("contoso-dps", RG).properties.iot_hubs) == 2


def test_a_hub_connection_string_with_a_wrong_key_is_not_linked(dps_client, hubs, fresh_scenario):
    from azure.mgmt.iothubprovisioningservices.models import IotHubDefinitionDescription

    dps = dps_client.iot_dps_resource.get("contoso-dps", RG)
    host = hubs.iot_hub_resource.get(RG, "contoso-hub-neu").properties.host_name
    dps.properties.iot_hubs.append(IotHubDefinitionDescription(
        connection_string=f"HostName={host};SharedAccessKeyName=iothubowner;SharedAccessKey=d3JvbmcK", location="northeurope"))
    with pytest.raises(HttpResponseError) as bad:
        dps_client.iot_dps_resource.begin_create_or_update(RG, "contoso-dps", dps).result()
    assert bad.value.status_code == 400 and "InvalidIotHubConnectionString" in str(bad.value)


def test_query_iot_hub_pages_twins_and_filters_with_in(hubs, fresh_scenario):
    from azure.iot.hub.models import QuerySpecification

    registry = IoTHubRegistryManager.from_connection_string(owner_connection_string(hubs, "contoso-hub-weu"))
    ids = [f"q-{n:02}" for n in range(1, 26)]
    for n, device_id in enumerate(ids):
        registry.create_device_with_sas(device_id, "", "", "disabled" if n % 5 == 0 else "enabled")

    seen, token, pages = [], None, 0
    while True:
        page = registry.query_iot_hub(QuerySpecification(query="SELECT * FROM devices"), token, 10)
        assert page.type == "twin" and len(page.items) <= 10
        seen += [t.device_id for t in page.items]
        pages += 1
        token = page.continuation_token
        if not token:
            break
    assert pages == 3 and sorted(seen) == seen and set(ids) <= set(seen)
    twin = registry.get_twin("q-02")
    assert {(t.device_id, t.status, t.connection_state) for t in page.items if t.device_id == "q-25"} == {("q-25", "enabled", "Disconnected")}
    assert twin.device_id == "q-02"

    query = "select deviceId, status from devices where status = 'disabled' and deviceId IN ['q-01', 'q-06', 'q-07', 'nobody']"
    found = registry.query_iot_hub(QuerySpecification(query=query), None, 100)
    assert [(t.device_id, t.status) for t in found.items] == [("q-01", "disabled"), ("q-06", "disabled")]
    assert found.continuation_token is None and found.items[0].etag is None, "only the selected fields come back"
    found = registry.query_iot_hub(QuerySpecification(query="SELECT * FROM devices WHERE deviceId NOT IN ['q-01'] AND NOT (status = 'enabled')"), None, 100)
    assert [t.device_id for t in found.items] == ["q-06", "q-11", "q-16", "q-21"]

    with pytest.raises(HttpOperationError) as bad:
        registry.query_iot_hub(QuerySpecification(query="SELECT * FROM devices WHERE status == 'x'"), None, 10)
    assert bad.value.response.status_code == 400
    assert "position 37" in bad.value.response.json()["Message"]

"""ARM writes through the official management clients: an IoT hub created and rescaled as a
long-running PUT that honours If-Match, and a DPS created with linked hubs, whose allocation
policy then decides where devices land (static and geo-latency as well as hashed)."""

import pytest
from azure.core.exceptions import HttpResponseError
from azure.identity import ClientSecretCredential
from azure.iot.deviceprovisioning import DeviceProvisioningClient
from azure.iot.hub import IoTHubRegistryManager
from azure.mgmt.iothub import IotHubClient
from azure.mgmt.iothub.models import IotHubDescription, IotHubSkuInfo
from azure.mgmt.iothubprovisioningservices.models import (IotDpsPropertiesDescription, IotDpsSkuInfo,
                                                          IotHubDefinitionDescription, ProvisioningServiceDescription)

from conftest import AUTOMATION_CLIENT, PROD_SUBSCRIPTION, TENANT
from test_dps_sdks import GROUP_KEY, derived_key, group_body, register
from test_hub_dps_sdks import RG, credential, dps_client, hubs, owner_connection_string  # noqa: F401  (fixtures)


def create_hub(hubs, name, sku="S1", capacity=1, location="westeurope"):
    return hubs.iot_hub_resource.begin_create_or_update(RG, name, IotHubDescription(location=location, sku=IotHubSkuInfo(name=sku, capacity=capacity)), polling_interval=0.2).result()


def test_a_created_hub_listens_and_its_keys_open_its_registry(hubs):
    hub = create_hub(hubs, "contoso-hub-new", capacity=2)
    assert hub.properties.host_name.startswith("localhost:") and hub.sku.capacity == 2 and hub.sku.tier == "Standard"
    assert "contoso-hub-new" in [h.name for h in hubs.iot_hub_resource.list_by_resource_group(RG)]
    registry = IoTHubRegistryManager.from_connection_string(owner_connection_string(hubs, "contoso-hub-new"))
    registry.create_device_with_sas("made-in-new-hub", "", "", "enabled")
    assert registry.get_device("made-in-new-hub").status == "enabled"


def test_rescaling_is_guarded_by_the_etag_and_the_tier_rules(hubs):
    hub = hubs.iot_hub_resource.get(RG, "contoso-hub-weu")
    hub.sku = IotHubSkuInfo(name="S2", capacity=3)
    scaled = hubs.iot_hub_resource.begin_create_or_update(RG, "contoso-hub-weu", hub, if_match=hub.etag, polling_interval=0.2).result()
    assert (scaled.sku.name, scaled.sku.capacity) == ("S2", 3) and scaled.etag != hub.etag
    with pytest.raises(HttpResponseError) as stale:
        hubs.iot_hub_resource.begin_create_or_update(RG, "contoso-hub-weu", hub, if_match=hub.etag).result()
    assert stale.value.status_code == 412
    hub.sku = IotHubSkuInfo(name="B1", capacity=1)
    with pytest.raises(HttpResponseError) as downgrade:
        hubs.iot_hub_resource.begin_create_or_update(RG, "contoso-hub-weu", hub, if_match=scaled.etag).result()
    assert downgrade.value.status_code == 400 and "cannot be downgraded" in str(downgrade.value)


def test_a_hub_name_in_use_elsewhere_is_refused(sandbox, fresh_scenario):
    scenario = sandbox.default_scenario()
    scenario["subscriptions"][0]["resourceGroups"].append({"name": "rg-iot-staging", "location": "westeurope"})
    sandbox.load_scenario(scenario)
    # A reload mints new client secrets: sign in after it.
    cred = ClientSecretCredential(TENANT, AUTOMATION_CLIENT, sandbox.client_secret(AUTOMATION_CLIENT), authority=sandbox.base_url, disable_instance_discovery=True)
    hubs = IotHubClient(cred, PROD_SUBSCRIPTION, base_url=sandbox.base_url, credential_scopes=["https://management.azure.com/.default"])
    with pytest.raises(HttpResponseError) as taken:
        hubs.iot_hub_resource.begin_create_or_update("rg-iot-staging", "contoso-hub-neu", IotHubDescription(location="westeurope", sku=IotHubSkuInfo(name="S1", capacity=1))).result()
    assert taken.value.status_code == 409 and "IotHubNameNotAvailable" in str(taken.value)
    created = hubs.iot_hub_resource.begin_create_or_update("rg-iot-staging", "contoso-hub-staging", IotHubDescription(location="westeurope", sku=IotHubSkuInfo(name="B1", capacity=1)), polling_interval=0.2).result()
    assert (created.name, created.sku.tier) == ("contoso-hub-staging", "Basic")


@pytest.mark.parametrize("policy,expected_hub", [("Static", "contoso-hub-neu"), ("GeoLatency", "contoso-hub-weu")])
def test_a_created_dps_allocates_by_its_policy(sandbox, dps_client, hubs, policy, expected_hub):
    # DPS in West Europe with North Europe linked first: static takes the first, geo-latency the nearest.
    linked = [IotHubDefinitionDescription(connection_string=owner_connection_string(hubs, name), location=loc)
              for name, loc in (("contoso-hub-neu", "northeurope"), ("contoso-hub-weu", "westeurope"))]
    description = ProvisioningServiceDescription(location="westeurope", sku=IotDpsSkuInfo(name="S1", capacity=1),
                                                 properties=IotDpsPropertiesDescription(iot_hubs=linked, allocation_policy=policy))
    dps = dps_client.iot_dps_resource.begin_create_or_update(RG, f"contoso-dps-{policy.lower()}", description, polling_interval=0.2).result()
    assert dps.properties.allocation_policy == policy and dps.properties.id_scope.startswith("0ne") and len(dps.properties.iot_hubs) == 2
    owner = dps_client.iot_dps_resource.list_keys_for_key_name(dps.name, "provisioningserviceowner", RG)
    host = dps.properties.service_operations_host_name
    DeviceProvisioningClient.from_connection_string(f"HostName={host};SharedAccessKeyName=provisioningserviceowner;SharedAccessKey={owner.primary_key}").enrollment_group.create_or_update("central-devices", group_body())
    cloud = {"dps_host": host, "id_scope": dps.properties.id_scope}
    for device in ("dev-a", "dev-b", "dev-c"):
        _, status = register(cloud, device, derived_key(GROUP_KEY, device))
        assert status.json()["registrationState"]["assignedHub"] == hubs.iot_hub_resource.get(RG, expected_hub).properties.host_name


def test_a_dps_with_a_bad_allocation_policy_is_not_created(dps_client):
    with pytest.raises(HttpResponseError) as bad:
        dps_client.iot_dps_resource.begin_create_or_update(RG, "contoso-dps-bad", ProvisioningServiceDescription(
            location="westeurope", sku=IotDpsSkuInfo(name="S1", capacity=1), properties=IotDpsPropertiesDescription(allocation_policy="Nearest"))).result()
    assert bad.value.status_code == 400 and "InvalidAllocationPolicy" in str(bad.value)
    assert "contoso-dps-bad" not in [d.name for d in dps_client.iot_dps_resource.list_by_resource_group(RG)]

"""A hub's shared access keys and the DPS links that use them, through the official SDKs, unmodified:
azure-mgmt-iothub pages the keys and regenerates one the way `az iot hub policy renew-key` does (a
PUT of the hub with the policy's new key), after which the hub refuses the old key at once;
a DPS link still holding the old key fails registrations to that hub (azure-iot-device sees the
service's failure); allocation weights, applyAllocationPolicy and enrollment pins steer where
devices land; a hub with local auth disabled refuses keys and cannot be linked."""

import base64
import hashlib
import hmac
import os

import pytest
from azure.core.exceptions import HttpResponseError
from azure.identity import ClientSecretCredential
from azure.iot.device import ProvisioningDeviceClient, ProxyOptions
from azure.iot.device.exceptions import ClientError
from azure.iot.deviceprovisioning import DeviceProvisioningClient
from azure.iot.hub import IoTHubRegistryManager
from azure.mgmt.iothub import IotHubClient
from azure.mgmt.iothub.models import SharedAccessSignatureAuthorizationRule
from azure.mgmt.iothubprovisioningservices import IotDpsClient
from azure.mgmt.iothubprovisioningservices.models import IotHubDefinitionDescription
from msrest.exceptions import HttpOperationError

from conftest import AUTOMATION_CLIENT, PROD_SUBSCRIPTION, TENANT, arm_view

RG = "rg-iot-prod"
COMMON = {"credential_scopes": ["https://management.azure.com/.default"]}
GROUP_KEY = base64.b64encode(hashlib.sha256(b"linked hubs test group key").digest()).decode()


def derived_key(group_key: str, registration_id: str) -> str:
    return base64.b64encode(hmac.new(base64.b64decode(group_key), registration_id.encode(), hashlib.sha256).digest()).decode()


@pytest.fixture
def clients(sandbox, fresh_scenario):
    cred = ClientSecretCredential(TENANT, AUTOMATION_CLIENT, sandbox.client_secret(AUTOMATION_CLIENT),
                                  authority=sandbox.base_url, disable_instance_discovery=True)
    hubs = IotHubClient(cred, PROD_SUBSCRIPTION, base_url=sandbox.base_url, **COMMON).iot_hub_resource
    dps = IotDpsClient(cred, PROD_SUBSCRIPTION, base_url=sandbox.base_url, **COMMON).iot_dps_resource
    view = arm_view(sandbox)
    DeviceProvisioningClient.from_connection_string(view["dps_cs"]).enrollment_group.create_or_update(
        "fleet", {"enrollmentGroupId": "fleet", "attestation": {"type": "symmetricKey", "symmetricKey": {"primaryKey": GROUP_KEY, "secondaryKey": GROUP_KEY}}})
    return hubs, dps, view


def provision(sandbox, id_scope: str, registration_id: str):
    client = ProvisioningDeviceClient.create_from_symmetric_key(
        provisioning_host="localhost", registration_id=registration_id, id_scope=id_scope, symmetric_key=derived_key(GROUP_KEY, registration_id),
        proxy_options=ProxyOptions("HTTP", sandbox.proxy_host, sandbox.proxy_port), server_verification_cert=open(sandbox.ca_cert).read())
    return client.register()


def connection_string(hubs, hub_name: str, key: str, policy: str = "iothubowner") -> str:
    host = hubs.get(RG, hub_name).properties.host_name
    return f"HostName={host};SharedAccessKeyName={policy};SharedAccessKey={key}"


def renew_primary_key(hubs, hub_name: str, policy_name: str) -> str:
    """What `az iot hub policy renew-key --renew-key primary` does: every policy with its keys, the
    one renewed given a new key, sent back in a PUT of the hub guarded by its ETag."""
    hub = hubs.get(RG, hub_name)
    policies = list(hubs.list_keys(RG, hub_name))
    new_key = base64.b64encode(os.urandom(32)).decode()
    hub.properties.authorization_policies = [
        SharedAccessSignatureAuthorizationRule(key_name=p.key_name, rights=p.rights, secondary_key=p.secondary_key,
                                               primary_key=new_key if p.key_name == policy_name else p.primary_key)
        for p in policies
    ]
    hubs.begin_create_or_update(RG, hub_name, hub, if_match=hub.etag).result()
    return new_key


def test_list_keys_pages_as_arm_pages_it(sandbox, fresh_scenario):
    fresh_scenario["armPageSize"] = 2
    sandbox.load_scenario(fresh_scenario)
    cred = ClientSecretCredential(TENANT, AUTOMATION_CLIENT, sandbox.client_secret(AUTOMATION_CLIENT),
                                  authority=sandbox.base_url, disable_instance_discovery=True)
    hubs = IotHubClient(cred, PROD_SUBSCRIPTION, base_url=sandbox.base_url, **COMMON).iot_hub_resource
    pages = list(hubs.list_keys(RG, "contoso-hub-weu").by_page())
    assert [len(list(p)) for p in pages] == [2, 2, 1]


def test_a_renewed_key_works_at_once_and_the_old_one_is_refused(clients):
    hubs, _, _ = clients
    old = hubs.get_keys_for_key_name(RG, "contoso-hub-weu", "iothubowner")
    new_key = renew_primary_key(hubs, "contoso-hub-weu", "iothubowner")
    now = hubs.get_keys_for_key_name(RG, "contoso-hub-weu", "iothubowner")
    assert (now.primary_key, now.secondary_key) == (new_key, old.secondary_key)
    assert IoTHubRegistryManager.from_connection_string(connection_string(hubs, "contoso-hub-weu", new_key)).get_devices() == []
    with pytest.raises(HttpOperationError) as refused:
        IoTHubRegistryManager.from_connection_string(connection_string(hubs, "contoso-hub-weu", old.primary_key)).get_devices()
    assert refused.value.response.status_code == 401
    # The other policies kept their keys and rights.
    assert {k.key_name for k in hubs.list_keys(RG, "contoso-hub-weu")} == {"iothubowner", "service", "device", "registryRead", "registryReadWrite"}


def test_a_bad_key_or_right_in_the_policies_is_refused_and_nothing_changes(clients):
    hubs, _, _ = clients
    before = {k.key_name: k.primary_key for k in hubs.list_keys(RG, "contoso-hub-weu")}
    hub = hubs.get(RG, "contoso-hub-weu")
    hub.properties.authorization_policies = [SharedAccessSignatureAuthorizationRule(key_name="iothubowner", rights="RegistryWrite", primary_key="not-base64!")]
    with pytest.raises(HttpResponseError) as bad:
        hubs.begin_create_or_update(RG, "contoso-hub-weu", hub).result()
    assert bad.value.status_code == 400 and "InvalidAuthorizationPolicies" in str(bad.value)
    assert {k.key_name: k.primary_key for k in hubs.list_keys(RG, "contoso-hub-weu")} == before


def test_a_link_holding_a_stale_key_fails_registrations_until_it_is_updated(sandbox, clients):
    hubs, dps_client, view = clients
    assert provision(sandbox, view["id_scope"], "before-rotation").status == "assigned"
    new_key = renew_primary_key(hubs, "contoso-hub-weu", "iothubowner")
    with pytest.raises(ClientError) as failed:
        provision(sandbox, view["id_scope"], "during-gap")
    assert "failed registration status" in str(failed.value.__cause__)
    state = DeviceProvisioningClient.from_connection_string(view["dps_cs"]).device_registration_state.get("during-gap")
    assert state["status"] == "failed" and state["errorCode"] == 401002 and "IotHubUnauthorizedAccess" in state["errorMessage"]
    dps = dps_client.get("contoso-dps", RG)
    dps.properties.iot_hubs[0].connection_string = connection_string(hubs, "contoso-hub-weu", new_key)
    dps_client.begin_create_or_update(RG, "contoso-dps", dps).result()
    assert provision(sandbox, view["id_scope"], "after-update").status == "assigned"


def test_weights_the_apply_flag_and_enrollment_pins_steer_allocation(sandbox, clients):
    hubs, dps_client, view = clients
    dps = dps_client.get("contoso-dps", RG)
    neu = hubs.get_keys_for_key_name(RG, "contoso-hub-neu", "iothubowner")
    dps.properties.iot_hubs[0].allocation_weight = 1
    dps.properties.iot_hubs.append(IotHubDefinitionDescription(connection_string=connection_string(hubs, "contoso-hub-neu", neu.primary_key),
                                                               location="northeurope", allocation_weight=1000))
    dps = dps_client.begin_create_or_update(RG, "contoso-dps", dps).result()
    neu_host = dps.properties.iot_hubs[1].name
    landed = [provision(sandbox, view["id_scope"], f"weighted-{i}").registration_state.assigned_hub for i in range(8)]
    assert landed.count(neu_host) >= 7, landed
    # Taken out of allocation: nothing more lands on the heavy hub.
    dps.properties.iot_hubs[1].apply_allocation_policy = False
    dps_client.begin_create_or_update(RG, "contoso-dps", dps).result()
    assert {provision(sandbox, view["id_scope"], f"unweighted-{i}").registration_state.assigned_hub for i in range(4)} == {view["hub_host"]}
    # An enrollment pinned to that hub still reaches it.
    DeviceProvisioningClient.from_connection_string(view["dps_cs"]).enrollment_group.create_or_update(
        "fleet", {"enrollmentGroupId": "fleet", "iotHubs": [neu_host],
                  "attestation": {"type": "symmetricKey", "symmetricKey": {"primaryKey": GROUP_KEY, "secondaryKey": GROUP_KEY}}})
    assert provision(sandbox, view["id_scope"], "pinned-1").registration_state.assigned_hub == neu_host


def test_a_hub_with_local_auth_disabled_refuses_keys_and_cannot_be_linked(clients):
    hubs, dps_client, _ = clients
    key = hubs.get_keys_for_key_name(RG, "contoso-hub-neu", "iothubowner").primary_key
    hub = hubs.get(RG, "contoso-hub-neu")
    hub.properties.disable_local_auth = True
    assert hubs.begin_create_or_update(RG, "contoso-hub-neu", hub, if_match=hub.etag).result().properties.disable_local_auth is True
    with pytest.raises(HttpOperationError) as refused:
        IoTHubRegistryManager.from_connection_string(connection_string(hubs, "contoso-hub-neu", key)).get_devices()
    assert refused.value.response.status_code == 401
    dps = dps_client.get("contoso-dps", RG)
    dps.properties.iot_hubs.append(IotHubDefinitionDescription(connection_string=connection_string(hubs, "contoso-hub-neu", key), location="northeurope"))
    with pytest.raises(HttpResponseError) as bad:
        dps_client.begin_create_or_update(RG, "contoso-dps", dps).result()
    assert bad.value.status_code == 400 and "local authentication disabled" in str(bad.value)

"""IoT Hub's tier throttles through the official registry client (azure-iot-hub 2.x, msrest).

msrest's status list leaves out 429, but it hands urllib3 a Retry (3 retries) that honours a
Retry-After on 413/429/503: a throttled call is retried after the seconds the hub asks, up to three
times, unseen by the caller. So a caller going one call at a time is paced, not failed; with the
SDK's retries set to 0 it gets HttpOperationError with the 429, Retry-After and the hub's error
body. The tests assert both, counting the calls that reached the hub.
"""

import time

import pytest
import requests
from azure.identity import ClientSecretCredential
from azure.iot.hub import IoTHubRegistryManager
from azure.mgmt.iothub import IotHubClient
from msrest.exceptions import HttpOperationError

from conftest import AUTOMATION_CLIENT, PROD_SUBSCRIPTION, TENANT

RG = "rg-iot-prod"
HUB = "contoso-hub-weu"


@pytest.fixture
def quota_scenario(sandbox):
    """The built-in scenario with quotas on, plus a basic-tier hub and a hub with its own switch off."""
    scenario = sandbox.default_scenario()
    scenario["quotas"] = True
    hubs = scenario["subscriptions"][0]["resourceGroups"][0]["iotHubs"]
    hubs.append({"name": "contoso-hub-basic", "sku": "B1", "capacity": 1})
    hubs.append({"name": "contoso-hub-bench", "sku": "S1", "capacity": 1, "quotas": False})
    sandbox.load_scenario(scenario)
    yield scenario
    sandbox.load_scenario(sandbox.default_scenario())


def registry(sandbox, name: str) -> IoTHubRegistryManager:
    cred = ClientSecretCredential(TENANT, AUTOMATION_CLIENT, sandbox.client_secret(AUTOMATION_CLIENT),
                                  authority=sandbox.base_url, disable_instance_discovery=True)
    arm = IotHubClient(cred, PROD_SUBSCRIPTION, base_url=sandbox.base_url,
                       credential_scopes=["https://management.azure.com/.default"]).iot_hub_resource
    host = arm.get(RG, name).properties.host_name
    key = arm.get_keys_for_key_name(RG, name, "iothubowner").primary_key
    return IoTHubRegistryManager.from_connection_string(f"HostName={host};SharedAccessKeyName=iothubowner;SharedAccessKey={key}")


def clear_counters(sandbox) -> None:
    requests.delete(f"{sandbox.base_url}/_sandbox/counters", verify=sandbox.ca_bundle, timeout=10, headers=sandbox.control_headers).raise_for_status()


def hub_calls(sandbox, route: str) -> int:
    return sandbox.control("GET", "counters").get(f"hub {route}", 0)


def test_an_s1_hub_paces_registry_creates_through_the_sdks_retries(sandbox, quota_scenario):
    manager = registry(sandbox, HUB)
    clear_counters(sandbox)
    started = time.monotonic()
    for n in range(130):
        manager.create_device_with_sas(f"paced-{n:03}", "", "", "enabled")
    elapsed = time.monotonic() - started
    # A minute's worth at once (100 on S1 x1), then 100 a minute: the last 30 wait for tokens.
    assert elapsed >= 30 * 60 / 100 - 3, elapsed
    calls = hub_calls(sandbox, "PUT /devices/{id}")
    assert calls > 130, f"{calls} calls for 130 creates: the 429s were retried by the SDK"


def test_without_sdk_retries_the_caller_sees_429_with_retry_after(sandbox, quota_scenario):
    manager = registry(sandbox, HUB)
    manager.protocol.config.retry_policy.retries = 0
    clear_counters(sandbox)
    started, created = time.monotonic(), 0
    with pytest.raises(HttpOperationError) as throttled:
        while created < 300:
            manager.create_device_with_sas(f"burst-{created:03}", "", "", "enabled")
            created += 1
    elapsed = time.monotonic() - started
    assert 100 <= created <= 100 + elapsed * 100 / 60 + 1, (created, elapsed)
    response = throttled.value.response
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "1"
    assert response.headers["iothub-errorcode"] == "ThrottlingException"
    assert response.json()["Message"].startswith("ErrorCode:ThrottlingException;")
    assert hub_calls(sandbox, "PUT /devices/{id}") == created + 1, "no retry"
    # Waiting what Retry-After asks is enough for the next create.
    time.sleep(int(response.headers["Retry-After"]))
    manager.create_device_with_sas("after-the-wait", "", "", "enabled")
    # Reads spend the same registry budget; twin reads have their own.
    with pytest.raises(HttpOperationError) as read:
        for _ in range(5):
            manager.get_device("burst-000")
    assert read.value.response.status_code == 429
    assert manager.get_twin("burst-000").device_id == "burst-000"


def test_a_hub_switched_off_is_not_throttled_and_the_switch_answers_each_hub(sandbox, quota_scenario):
    state = sandbox.control("POST", "quotas", json={"enabled": False, "hub": HUB})
    assert state["enabled"] is True
    assert state["hubs"] == {"contoso-hub-weu": False, "contoso-hub-neu": True, "contoso-hub-basic": True, "contoso-hub-bench": False}
    manager = registry(sandbox, HUB)
    manager.protocol.config.retry_policy.retries = 0
    for n in range(150):
        manager.create_device_with_sas(f"free-{n:03}", "", "", "enabled")
    assert len(manager.get_devices(max_number_of_devices=1000)) == 150
    # Back to the sandbox-wide switch (on): the next minute's worth, then 429.
    sandbox.control("POST", "quotas", json={"enabled": None, "hub": HUB})
    with pytest.raises(HttpOperationError) as throttled:
        for n in range(150):
            manager.get_device(f"free-{n:03}")
    assert throttled.value.response.status_code == 429


def test_a_basic_hub_has_no_twins(sandbox, quota_scenario):
    manager = registry(sandbox, "contoso-hub-basic")
    manager.create_device_with_sas("basic-001", "", "", "enabled")
    with pytest.raises(HttpOperationError) as refused:
        manager.get_twin("basic-001")
    assert refused.value.response.status_code == 403
    assert refused.value.response.headers["iothub-errorcode"] == "OperationNotAvailableInCurrentTier"

"""Every ARM operation the sandbox serves answers in the shape its official spec defines."""

import pytest
import requests
from jsonschema import ValidationError

from conftest import AUTOMATION_CLIENT, PROD_SUBSCRIPTION
from swagger import SPECS, validate

SUBSCRIPTIONS = "specification/resources/resource-manager/Microsoft.Resources/stable/2022-12-01/subscriptions.json"
RESOURCES = "specification/resources/resource-manager/Microsoft.Resources/stable/2024-07-01/resources.json"
CENTRAL = "specification/iotcentral/resource-manager/Microsoft.IoTCentral/stable/2021-06-01/iotcentral.json"
HUB_ARM = "specification/iothub/resource-manager/Microsoft.Devices/stable/2023-06-30/iothub.json"
DPS_ARM = "specification/deviceprovisioningservices/resource-manager/Microsoft.Devices/stable/2022-12-12/iotdps.json"
HUB_SERVICE = "azure-iot-sdk-python/azure-iot-hub/service.json"
HUBS = "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Devices/IotHubs"
DPSS = "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Devices/provisioningServices"
HUB_URL = f"/subscriptions/{PROD_SUBSCRIPTION}/resourceGroups/rg-iot-prod/providers/Microsoft.Devices/IotHubs"
DPS_URL = f"/subscriptions/{PROD_SUBSCRIPTION}/resourceGroups/rg-iot-prod/providers/Microsoft.Devices/provisioningServices"
SUB = PROD_SUBSCRIPTION
RG = "rg-iot-prod"

OPERATIONS = [
    (SUBSCRIPTIONS, "/subscriptions", "/subscriptions?api-version=2022-12-01", 200),
    (HUB_ARM, "/subscriptions/{subscriptionId}/providers/Microsoft.Devices/IotHubs", f"/subscriptions/{SUB}/providers/Microsoft.Devices/IotHubs?api-version=2023-06-30", 200),
    (HUB_ARM, HUBS, f"{HUB_URL}?api-version=2023-06-30", 200),
    (HUB_ARM, HUBS + "/{resourceName}", f"{HUB_URL}/contoso-hub-weu?api-version=2023-06-30", 200),
    (HUB_ARM, HUBS + "/{resourceName}", f"{HUB_URL}/nope?api-version=2023-06-30", 404),
    (DPS_ARM, "/subscriptions/{subscriptionId}/providers/Microsoft.Devices/provisioningServices", f"/subscriptions/{SUB}/providers/Microsoft.Devices/provisioningServices?api-version=2022-12-12", 200),
    (DPS_ARM, DPSS, f"{DPS_URL}?api-version=2022-12-12", 200),
    (DPS_ARM, DPSS + "/{provisioningServiceName}", f"{DPS_URL}/contoso-dps?api-version=2022-12-12", 200),
    (SUBSCRIPTIONS, "/subscriptions/{subscriptionId}", f"/subscriptions/{SUB}?api-version=2022-12-01", 200),
    (RESOURCES, "/subscriptions/{subscriptionId}/resourcegroups", f"/subscriptions/{SUB}/resourcegroups?api-version=2024-07-01", 200),
    (RESOURCES, "/subscriptions/{subscriptionId}/resourcegroups/{resourceGroupName}", f"/subscriptions/{SUB}/resourcegroups/{RG}?api-version=2024-07-01", 200),
    (RESOURCES, "/subscriptions/{subscriptionId}/resourcegroups/{resourceGroupName}", f"/subscriptions/{SUB}/resourcegroups/nope?api-version=2024-07-01", 404),
    (CENTRAL, "/subscriptions/{subscriptionId}/providers/Microsoft.IoTCentral/iotApps", f"/subscriptions/{SUB}/providers/Microsoft.IoTCentral/iotApps?api-version=2021-06-01", 200),
    (CENTRAL, "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.IoTCentral/iotApps", f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.IoTCentral/iotApps?api-version=2021-06-01", 200),
    (CENTRAL, "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.IoTCentral/iotApps/{resourceName}", f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.IoTCentral/iotApps/contoso-fleet?api-version=2021-06-01", 200),
    (CENTRAL, "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.IoTCentral/iotApps/{resourceName}", f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.IoTCentral/iotApps/nope?api-version=2021-06-01", 404),
]


@pytest.fixture(scope="module")
def token(sandbox):
    r = requests.post(f"{sandbox.authority}/oauth2/v2.0/token", data={
        "client_id": AUTOMATION_CLIENT, "client_secret": sandbox.client_secret(AUTOMATION_CLIENT),
        "grant_type": "client_credentials", "scope": "https://management.azure.com/.default",
    }, timeout=10)
    return r.json()["access_token"]


def test_the_specs_are_where_the_suite_expects_them():
    assert (SPECS / "INDEX.md").exists(), f"official specs not found at {SPECS}"


@pytest.mark.parametrize("spec,path,url,status", OPERATIONS, ids=[f"{o[2].split('?')[0]} {o[3]}" for o in OPERATIONS])
def test_the_response_matches_the_official_spec(sandbox, token, spec, path, url, status):
    r = requests.get(f"{sandbox.base_url}{url}", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert r.status_code == status, r.text
    validate(spec, path, "get", status, r.json())


POSTS = [
    (HUB_ARM, HUBS + "/{resourceName}/listkeys", f"{HUB_URL}/contoso-hub-weu/listkeys?api-version=2023-06-30", 200),
    (HUB_ARM, HUBS + "/{resourceName}/IotHubKeys/{keyName}/listkeys", f"{HUB_URL}/contoso-hub-weu/IotHubKeys/service/listkeys?api-version=2023-06-30", 200),
    (DPS_ARM, DPSS + "/{provisioningServiceName}/listkeys", f"{DPS_URL}/contoso-dps/listkeys?api-version=2022-12-12", 200),
    (DPS_ARM, DPSS + "/{provisioningServiceName}/keys/{keyName}/listkeys", f"{DPS_URL}/contoso-dps/keys/provisioningserviceowner/listkeys?api-version=2022-12-12", 200),
]


@pytest.mark.parametrize("spec,path,url,status", POSTS, ids=[o[2].split("?")[0].rsplit("providers/", 1)[1] for o in POSTS])
def test_key_listing_matches_the_official_spec(sandbox, token, spec, path, url, status):
    r = requests.post(f"{sandbox.base_url}{url}", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert r.status_code == status, r.text
    validate(spec, path, "post", status, r.json())


def hub_sas(host: str, key_name: str, key: str) -> str:
    import base64, hashlib, hmac, time, urllib.parse
    sr, se = urllib.parse.quote(host, safe=""), int(time.time()) + 3600
    sig = base64.b64encode(hmac.new(base64.b64decode(key), f"{sr}\n{se}".encode(), hashlib.sha256).digest()).decode()
    return f"SharedAccessSignature sr={sr}&sig={urllib.parse.quote(sig, safe='')}&se={se}&skn={key_name}"


def test_the_hub_registry_matches_the_service_spec(sandbox, token):
    hub = requests.get(f"{sandbox.base_url}{HUB_URL}/contoso-hub-weu?api-version=2023-06-30", headers={"Authorization": f"Bearer {token}"}, timeout=10).json()
    owner = requests.post(f"{sandbox.base_url}{HUB_URL}/contoso-hub-weu/IotHubKeys/iothubowner/listkeys?api-version=2023-06-30",
                          headers={"Authorization": f"Bearer {token}"}, timeout=10).json()
    host = hub["properties"]["hostName"]
    auth = {"Authorization": hub_sas(host, "iothubowner", owner["primaryKey"])}
    base = f"https://{host}"
    created = requests.put(f"{base}/devices/spec-d1?api-version=2021-04-12", json={"deviceId": "spec-d1"}, headers=auth, timeout=10)
    assert created.status_code == 200, created.text
    validate(HUB_SERVICE, "/devices/{id}", "put", 200, created.json())
    validate(HUB_SERVICE, "/devices/{id}", "get", 200, requests.get(f"{base}/devices/spec-d1?api-version=2021-04-12", headers=auth, timeout=10).json())
    validate(HUB_SERVICE, "/devices", "get", 200, requests.get(f"{base}/devices?api-version=2021-04-12", headers=auth, timeout=10).json())
    validate(HUB_SERVICE, "/twins/{id}", "get", 200, requests.get(f"{base}/twins/spec-d1?api-version=2021-04-12", headers=auth, timeout=10).json())
    missing = requests.get(f"{base}/devices/nope?api-version=2021-04-12", headers=auth, timeout=10)
    assert missing.status_code == 404 and missing.json()["Message"].startswith("ErrorCode:DeviceNotFound;")
    assert requests.delete(f"{base}/devices/spec-d1?api-version=2021-04-12", headers={**auth, "If-Match": "*"}, timeout=10).status_code == 204


def test_the_validator_rejects_a_response_that_breaks_the_spec():
    """The check can fail: a subscription whose state is not one the spec allows."""
    body = {"value": [{"subscriptionId": "x", "state": "Sleeping"}]}
    with pytest.raises(ValidationError) as bad:
        validate(SUBSCRIPTIONS, "/subscriptions", "get", 200, body)
    assert "Sleeping" in str(bad.value)


WRITES = [
    (HUB_ARM, HUBS + "/{resourceName}", f"{HUB_URL}/contoso-hub-spec", {"location": "westeurope", "sku": {"name": "S1", "capacity": 1}}, 201),
    (HUB_ARM, HUBS + "/{resourceName}", f"{HUB_URL}/contoso-hub-weu", {"location": "westeurope", "sku": {"name": "S1", "capacity": 2}}, 200),
    (HUB_ARM, HUBS + "/{resourceName}", f"{HUB_URL}/contoso-hub-weu", {"location": "westeurope", "sku": {"name": "X9"}}, 400),
    (DPS_ARM, DPSS + "/{provisioningServiceName}", f"{DPS_URL}/contoso-dps-spec", {"location": "westeurope", "sku": {"name": "S1", "capacity": 1}, "properties": {}}, 201),
]


@pytest.mark.parametrize("spec,path,url,body,status", WRITES, ids=[f"PUT {w[2].rsplit('/', 1)[1]} {w[4]}" for w in WRITES])
def test_writes_and_their_operation_results_match_the_official_spec(sandbox, fresh_scenario, spec, path, url, body, status):
    r = requests.post(f"{sandbox.authority}/oauth2/v2.0/token", timeout=10, data={
        "client_id": AUTOMATION_CLIENT, "client_secret": sandbox.client_secret(AUTOMATION_CLIENT),
        "grant_type": "client_credentials", "scope": "https://management.azure.com/.default"})
    auth = {"Authorization": f"Bearer {r.json()['access_token']}"}
    version = "2023-06-30" if spec == HUB_ARM else "2022-12-12"
    r = requests.put(f"{sandbox.base_url}{url}?api-version={version}", json=body, headers=auth, timeout=10)
    assert r.status_code == status, r.text
    validate(spec, path, "put", status if status < 400 else "default", r.json())
    if status < 400:
        poll = requests.get(r.headers["Azure-AsyncOperation"], headers=auth, timeout=10)
        assert poll.status_code == 200 and poll.json()["status"] in ("Running", "Succeeded") and r.headers["Retry-After"] == "1"
        if spec == DPS_ARM:
            validate(spec, DPSS + "/{provisioningServiceName}/operationresults/{operationId}", "get", 200, poll.json())

"""Every ARM operation the sandbox serves answers in the shape its official spec defines."""

import pytest
import requests
from jsonschema import ValidationError

from conftest import AUTOMATION_CLIENT, PROD_SUBSCRIPTION
from swagger import SPECS, validate

SUBSCRIPTIONS = "specification/resources/resource-manager/Microsoft.Resources/stable/2022-12-01/subscriptions.json"
RESOURCES = "specification/resources/resource-manager/Microsoft.Resources/stable/2024-07-01/resources.json"
CENTRAL = "specification/iotcentral/resource-manager/Microsoft.IoTCentral/stable/2021-06-01/iotcentral.json"
SUB = PROD_SUBSCRIPTION
RG = "rg-iot-prod"

OPERATIONS = [
    (SUBSCRIPTIONS, "/subscriptions", "/subscriptions?api-version=2022-12-01", 200),
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


def test_the_validator_rejects_a_response_that_breaks_the_spec():
    """The check can fail: a subscription whose state is not one the spec allows."""
    body = {"value": [{"subscriptionId": "x", "state": "Sleeping"}]}
    with pytest.raises(ValidationError) as bad:
        validate(SUBSCRIPTIONS, "/subscriptions", "get", 200, body)
    assert "Sleeping" in str(bad.value)

"""The control API's fault injection and call counters, seen from official clients and raw HTTP:
a throttled ARM call that azure-mgmt retries after Retry-After, a dropped connection (before or
after the service acted), a stall, an outage with the service's own error shape, a share of calls
hit, and bad rules refused."""

import time

import pytest
import requests
from azure.identity import ClientSecretCredential
from azure.mgmt.iothub import IotHubClient

from conftest import AUTOMATION_CLIENT, PROD_SUBSCRIPTION, TENANT, arm_view

V = "api-version=2022-07-31"


@pytest.fixture
def clean(sandbox, fresh_scenario):
    sandbox.control("POST", "reset")
    yield sandbox
    requests.delete(f"{sandbox.base_url}/_sandbox/faults", verify=sandbox.ca_bundle, timeout=10, headers=sandbox.control_headers)


def counted(sandbox, needle):
    return sum(n for key, n in sandbox.control("GET", "counters").items() if needle in key)


def test_azure_mgmt_retries_a_throttled_call_after_retry_after(clean):
    sandbox = clean
    sandbox.control("POST", "faults", json={"service": "arm", "operation": "GET /subscriptions/" + PROD_SUBSCRIPTION + "/resourceGroups/rg-iot-prod/providers/Microsoft.Devices/IotHubs/contoso-hub-weu", "kind": "throttle", "count": 2})
    cred = ClientSecretCredential(TENANT, AUTOMATION_CLIENT, sandbox.client_secret(AUTOMATION_CLIENT), authority=sandbox.base_url, disable_instance_discovery=True)
    hubs = IotHubClient(cred, PROD_SUBSCRIPTION, base_url=sandbox.base_url, credential_scopes=["https://management.azure.com/.default"]).iot_hub_resource
    started = time.monotonic()
    hub = hubs.get("rg-iot-prod", "contoso-hub-weu")
    assert hub.name == "contoso-hub-weu"
    assert time.monotonic() - started >= 2, "the client must have waited Retry-After (1 s) twice"
    assert counted(sandbox, "arm GET /subscriptions/" + PROD_SUBSCRIPTION + "/resourceGroups/rg-iot-prod/providers/Microsoft.Devices/IotHubs/contoso-hub-weu") == 3


def test_a_reset_drops_the_connection_without_an_answer(clean):
    sandbox = clean
    token = sandbox.control("GET", "credentials")["centralApiTokens"]["contoso-fleet"]
    sandbox.control("POST", "faults", json={"service": "central", "operation": "GET /iotc/contoso-fleet/api/devices", "kind": "reset", "count": 1})
    url = f"{sandbox.base_url}/iotc/contoso-fleet/api/devices?{V}"
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(url, headers={"Authorization": token}, timeout=10)
    assert requests.get(url, headers={"Authorization": token}, timeout=10).status_code == 200
    assert counted(sandbox, "central GET /iotc/{app}/api/devices") == 2


def test_apply_then_reset_does_the_work_and_drops_the_answer(clean):
    sandbox = clean
    token = sandbox.control("GET", "credentials")["centralApiTokens"]["contoso-fleet"]
    sandbox.control("POST", "faults", json={"service": "central", "operation": "PUT /iotc/contoso-fleet/api/deviceGroups/", "kind": "applyThenReset", "count": 1})
    url = f"{sandbox.base_url}/iotc/contoso-fleet/api/deviceGroups/lost-answer?{V}"
    group = {"displayName": "Lost answer", "filter": "SELECT * FROM devices"}
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.put(url, headers={"Authorization": token}, json=group, timeout=10)
    # The group was made all the same: the client that retries meets its own work.
    assert requests.get(url, headers={"Authorization": token}, timeout=10).json()["displayName"] == "Lost answer"


@pytest.mark.parametrize("authorization", [None, "Bearer not-this-runs-token"])
def test_the_control_api_answers_only_the_runs_token(sandbox, authorization):
    headers = {"Authorization": authorization} if authorization else {}
    r = requests.get(f"{sandbox.base_url}/_sandbox/credentials", headers=headers, verify=sandbox.ca_bundle, timeout=10)
    assert r.status_code == 401 and r.json()["error"]["code"] == "ControlTokenRequired", r.text
    assert "clientSecrets" not in r.text


def test_an_outage_answers_503_in_the_hubs_error_shape_then_recovers(clean):
    sandbox = clean
    hub = arm_view(sandbox)["hub_host"]
    sandbox.control("POST", "faults", json={"service": "hub", "kind": "unavailable", "count": 1, "retryAfterSeconds": 7})
    r = requests.get(f"https://{hub}/devices/anything?api-version=2021-04-12", timeout=10)
    assert r.status_code == 503 and r.headers["Retry-After"] == "7" and "ServiceUnavailable" in r.json()["Message"]
    assert requests.get(f"https://{hub}/devices/anything?api-version=2021-04-12", timeout=10).status_code == 401


def test_a_stall_holds_the_answer_past_the_clients_timeout(clean):
    sandbox = clean
    dps = arm_view(sandbox)["dps_host"]
    sandbox.control("POST", "faults", json={"service": "dps", "kind": "stall", "stallSeconds": 3, "count": 1})
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.get(f"https://{dps}/enrollmentGroups/x?api-version=2021-10-01", timeout=0.5)


def test_a_share_of_calls_is_hit(clean):
    sandbox = clean
    sandbox.control("POST", "faults", json={"service": "entra", "operation": "/.well-known/openid-configuration", "kind": "throttle", "share": 0.5})
    url = f"{sandbox.base_url}/{TENANT}/v2.0/.well-known/openid-configuration"
    session = requests.Session()
    codes = [session.get(url, timeout=10).status_code for _ in range(200)]
    assert 60 <= codes.count(429) <= 140 and codes.count(200) == 200 - codes.count(429)


@pytest.mark.parametrize("rule,message", [
    ({"kind": "throttle", "share": 2}, "share must be between 0 and 1"),
    ({"kind": "explode"}, "unknown variant `explode`"),
    ({"kind": "throttle", "service": "storage"}, "service 'storage' is not one of"),
])
def test_a_bad_rule_is_refused_with_the_reason(clean, rule, message):
    r = requests.post(f"{clean.base_url}/_sandbox/faults", json=rule, verify=clean.ca_bundle, timeout=10, headers=clean.control_headers)
    assert r.status_code == 400 and message in r.json()["error"]["message"], r.text


def test_a_contradictory_scenario_is_refused_with_every_problem_named_and_nothing_loaded(clean):
    sandbox = clean
    scenario = sandbox.default_scenario()
    rg = scenario["subscriptions"][0]["resourceGroups"][0]
    rg["provisioningServices"][0]["linkedHubs"].append("contoso-hub-mars")
    rg["iotCentralApps"][0]["fleets"][0]["personas"] = {"offline": 80, "slow": 30}
    before = sandbox.control("GET", "fleet/contoso-fleet?summary=true")["idScope"]
    r = requests.post(f"{sandbox.base_url}/_sandbox/scenario", data=__import__("json").dumps(scenario), verify=sandbox.ca_bundle, timeout=10, headers=sandbox.control_headers)
    assert r.status_code == 400 and r.json()["error"]["code"] == "InvalidScenario"
    message = r.json()["error"]["message"]
    assert "provisioningServices[0].linkedHubs[1]: no hub 'contoso-hub-mars'" in message
    assert "iotCentralApps[0].fleets[0].personas: shares must be 0-100 % and add up to at most 100 %, not 110 %" in message
    assert sandbox.control("GET", "fleet/contoso-fleet?summary=true")["idScope"] == before

"""The sandbox never panics on bad input: every operation it serves, on every service, is sent
garbage — no auth, a forged token, broken JSON, JSON of the wrong type, absurdly long IDs,
bytes that are not UTF-8 — and must answer with a client error in that service's own error
shape, never a 5xx or a dropped connection; and the sandbox must still be answering afterwards."""

import pytest
import requests

from conftest import PROD_SUBSCRIPTION, TENANT, arm_view

V_CENTRAL = "api-version=2022-07-31"
ARM = f"/subscriptions/{PROD_SUBSCRIPTION}/resourceGroups/rg-iot-prod/providers"
LONG = "x" * 5000


def operations(base, hub, dps):
    central = f"{base}/iotc/contoso-fleet/api"
    return [
        ("GET", f"{base}/{LONG}/v2.0/.well-known/openid-configuration"),
        ("POST", f"{base}/{TENANT}/oauth2/v2.0/token"),
        ("GET", f"{base}/{TENANT}/oauth2/v2.0/authorize?client_id={LONG}"),
        ("POST", f"{base}/{TENANT}/oauth2/v2.0/authorize"),
        ("GET", f"{base}/subscriptions?api-version=2022-12-01"),
        ("GET", f"{base}{ARM}/Microsoft.Devices/IotHubs/{LONG}?api-version=2023-06-30"),
        ("PUT", f"{base}{ARM}/Microsoft.Devices/IotHubs/contoso-hub-weu?api-version=2023-06-30"),
        ("PUT", f"{base}{ARM}/Microsoft.Devices/provisioningServices/contoso-dps?api-version=2022-12-12"),
        ("POST", f"{base}{ARM}/Microsoft.Devices/provisioningServices/contoso-dps/listkeys?api-version=2022-12-12"),
        ("GET", f"{base}{ARM}/Microsoft.Devices/IotHubs/contoso-hub-weu/operationResults/%FF?api-version=2023-06-30"),
        ("PUT", f"{base}{ARM}/Microsoft.Devices/IotHubs/contoso-hub-weu/eventHubEndpoints/events/ConsumerGroups/%FF{LONG}?api-version=2023-06-30"),
        ("POST", f"{base}{ARM}/Microsoft.Devices/IotHubs/contoso-hub-weu/routing/routes/$testnew?api-version=2023-06-30"),
        ("POST", f"{base}{ARM}/Microsoft.Devices/IotHubs/contoso-hub-weu/exportDevices?api-version=2023-06-30"),
        ("POST", f"https://{hub}/devices/query?api-version=2024-03-31"),
        ("GET", f"{central}/devices?{V_CENTRAL}&maxpagesize=-1&$skiptoken=%FF"),
        ("PUT", f"{central}/devices/{LONG}?{V_CENTRAL}"),
        ("PUT", f"{central}/jobs/j1?{V_CENTRAL}"),
        ("PUT", f"{central}/jobs/j1/rerun/r1?{V_CENTRAL}"),
        ("POST", f"{central}/jobs/%FF/stop?{V_CENTRAL}"),
        ("POST", f"{central}/devices/thermostat-001/components/migration/commands/DeviceMove?{V_CENTRAL}"),
        ("GET", f"https://{hub}/devices/{LONG}?api-version=2021-04-12"),
        ("PUT", f"https://{hub}/devices/d1?api-version=2021-04-12"),
        ("DELETE", f"https://{hub}/devices/%FF?api-version=2021-04-12"),
        ("GET", f"https://{hub}/twins/d1?api-version=2021-04-12"),
        ("PUT", f"https://{dps}/enrollmentGroups/g1?api-version=2021-10-01"),
        ("POST", f"https://{dps}/enrollmentGroups/query?api-version=2021-10-01"),
        ("PUT", f"https://{dps}/0neXXXXXXXX/registrations/{LONG}/register?api-version=2021-06-01"),
        ("GET", f"https://{dps}/0neXXXXXXXX/registrations/r1/operations/%FF?api-version=2021-06-01"),
    ]


AUTHS = [None, "Bearer not.a.jwt", "SharedAccessSignature sr=%FF&sig=&se=notanumber&skn=", "Basic " + LONG]
BODIES = [b"{not json", b"[]", b'"a string"', b"1e999", b'{"deviceId": 5, "group": [], "data": {}, "sku": "S1", "properties": []}', "\u00ff\u0000".encode("latin-1")]


def shaped(service: str, response) -> bool:
    try:
        body = response.json()
    except ValueError:
        return False
    if not isinstance(body, dict):
        return False
    if service == "hub":
        return "Message" in body
    if service == "dps":
        return "errorCode" in body and "message" in body
    if service == "entra":
        return "error" in body
    return "code" in body.get("error", {}) and "message" in body["error"]


def service_of(url: str, hub: str, dps: str) -> str:
    if hub in url:
        return "hub"
    if dps in url:
        return "dps"
    if "/oauth2/" in url or "well-known" in url:
        return "entra"
    return "central" if "/iotc/" in url else "arm"


@pytest.fixture(scope="module")
def targets(sandbox):
    sandbox.load_scenario(sandbox.default_scenario())
    sandbox.control("POST", "quotas", json={"enabled": False})
    view = arm_view(sandbox)
    yield view
    sandbox.load_scenario(sandbox.default_scenario())


@pytest.mark.parametrize("auth", AUTHS, ids=["no-auth", "forged-jwt", "broken-sas", "basic"])
def test_garbage_gets_a_client_error_in_the_services_shape(sandbox, targets, auth):
    hub, dps = targets["hub_host"], targets["dps_host"]
    failures = []
    session = requests.Session()
    for method, url in operations(sandbox.base_url, hub, dps):
        for body in BODIES if method in ("PUT", "POST") else [None]:
            headers = {"Content-Type": "application/json"}
            if auth:
                headers["Authorization"] = auth
            r = session.request(method, url, data=body, headers=headers, timeout=10)
            service = service_of(url, hub, dps)
            if not 400 <= r.status_code < 500:
                failures.append(f"{method} {url[:100]} {body!r:.30}: {r.status_code} {r.text[:120]}")
            elif "html" not in r.headers.get("content-type", "") and not shaped(service, r):
                failures.append(f"{method} {url[:100]}: {r.status_code} not in {service}'s error shape: {r.text[:120]}")
    assert not failures, "\n".join(failures)
    assert sandbox.control("GET", "info")["baseUrl"] == sandbox.base_url


def test_garbage_from_an_authorised_caller_is_a_client_error_too(sandbox, targets):
    token = sandbox.control("GET", "credentials")["centralApiTokens"]["contoso-fleet"]
    central = f"{sandbox.base_url}/iotc/contoso-fleet/api"
    failures = []
    # Not objects, or an object whose known fields have the wrong types.
    wrong = [b for b in BODIES if not b.startswith(b"{")] + [b'{"displayName": 5, "enabled": "yes", "template": [], "group": 7, "data": "x", "responseTimeout": "soon"}']
    for path in ("/jobs/j1", "/devices/d1", "/jobs/j1/rerun/r1", "/devices/thermostat-001/components/migration/commands/DeviceMove"):
        for body in wrong:
            method = "POST" if "commands" in path else "PUT"
            r = requests.request(method, f"{central}{path}?{V_CENTRAL}", data=body, headers={"Authorization": token, "Content-Type": "application/json"}, timeout=10)
            if not (400 <= r.status_code < 500 and shaped("central", r)):
                failures.append(f"{method} {path} {body!r:.30}: {r.status_code} {r.text[:150]}")
    assert not failures, "\n".join(failures)


ARM_WRITES = ["/eventHubEndpoints/events/ConsumerGroups/g1", "/eventHubEndpoints/%FF/ConsumerGroups/%FF", "/routing/routes/$testall",
              "/routing/routes/$testnew", "/exportDevices", "/importDevices", "/jobs/%FF", "/IotHubStats"]
QUERIES = ["SELECT", "SELECT COUNT( FROM devices", "SELECT * FROM devices WHERE " + "(" * 2000, "SELECT TOP -1 * FROM devices",
           "SELECT * FROM devices WHERE SUBSTRING(deviceId, 99999999999999999999) = 'a'", "SELECT * FROM devices WHERE 'a' / 0 = 1 GROUP BY",
           "SELECT * FROM devices WHERE a = '\\u12'", "SELECT * FROM devices.modules.x", "SELECT * FROM devices WHERE 0x = 1"]


def test_garbage_to_the_iothub_operations_from_an_authorised_caller(sandbox, targets):
    """Consumer groups, route tests, jobs and the query language given nonsense by a caller who
    may use them: a client error in the service's shape, never a 5xx."""
    from azure.identity import ClientSecretCredential
    from conftest import AUTOMATION_CLIENT
    cred = ClientSecretCredential(TENANT, AUTOMATION_CLIENT, sandbox.client_secret(AUTOMATION_CLIENT), authority=sandbox.base_url, disable_instance_discovery=True)
    arm = {"Authorization": f"Bearer {cred.get_token('https://management.azure.com/.default').token}", "Content-Type": "application/json"}
    failures = []
    for path in ARM_WRITES:
        for method in ("PUT", "POST", "DELETE", "GET"):
            for body in BODIES + [b'{"route": {"condition": 5}, "message": {"appProperties": []}, "exportBlobContainerUri": 7, "excludeKeys": "x"}']:
                url = f"{sandbox.base_url}{ARM}/Microsoft.Devices/IotHubs/contoso-hub-weu{path}?api-version=2023-06-30"
                r = requests.request(method, url, data=body, headers=arm, timeout=10)
                if r.status_code >= 500 or (r.status_code >= 400 and not shaped("arm", r)):
                    failures.append(f"{method} {path} {body!r:.30}: {r.status_code} {r.text[:150]}")
    hub = f"https://{targets['hub_host']}/devices/query?api-version=2021-04-12"
    from test_api_versions import sas
    _, auth = sas(targets["hub_cs"])
    for query in QUERIES:
        r = requests.post(hub, json={"query": query}, headers=auth, timeout=10)
        if not (400 <= r.status_code < 500 and shaped("hub", r)):
            failures.append(f"query {query[:60]!r}: {r.status_code} {r.text[:150]}")
    assert not failures, "\n".join(failures)

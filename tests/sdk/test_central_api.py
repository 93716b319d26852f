"""IoT Central's application API (2022-07-31) in the sandbox, read through its REST wire format
(Microsoft ships no Python client for it) and validated against the official spec."""

import base64
import hashlib
import hmac

import msal
import pytest
import requests

from browser import sign_in
from conftest import DESKTOP_CLIENT
from swagger import validate

SPEC = "specification/iotcentral/data-plane/Microsoft.IoTCentral/stable/2022-07-31/iotcentral.json"
CENTRAL_SCOPE = "https://apps.azureiotcentral.com/user_impersonation"
V = "api-version=2022-07-31"


@pytest.fixture(scope="module")
def app_url(sandbox):
    return f"{sandbox.base_url}/iotc/contoso-fleet/api"


@pytest.fixture(scope="module")
def api_token(sandbox):
    return sandbox.control("GET", "credentials")["centralApiTokens"]["contoso-fleet"]


def user_token(sandbox, upn: str) -> str:
    app = msal.PublicClientApplication(DESKTOP_CLIENT, authority=sandbox.authority, instance_discovery=False)
    flow = app.initiate_auth_code_flow([CENTRAL_SCOPE], redirect_uri="http://localhost:3000")
    return app.acquire_token_by_auth_code_flow(flow, sign_in(flow["auth_uri"], upn=upn))["access_token"]


def get(url: str, token: str):
    return requests.get(url, headers={"Authorization": token}, timeout=10)


def all_pages(url: str, token: str) -> tuple[list, int]:
    items, pages = [], 0
    while url:
        body = get(url, token).json()
        validate(SPEC, "/devices" if "/devices?" in url or url.endswith("/devices") else "/deviceGroups/{deviceGroupId}/devices", "get", 200, body)
        items += body["value"]
        pages += 1
        url = body.get("nextLink")
    return items, pages


def test_every_page_of_devices_is_reachable_by_next_link(app_url, api_token):
    devices, pages = all_pages(f"{app_url}/devices?{V}", api_token)
    assert len(devices) == 252 and pages == 3
    members, _ = all_pages(f"{app_url}/deviceGroups/thermostats/devices?{V}", api_token)
    assert len(members) == 240 and all(d["template"] == "dtmi:contoso:Thermostat;1" for d in members)


def test_the_thermostat_template_carries_device_move_on_its_migration_component(app_url, api_token):
    template = get(f"{app_url}/deviceTemplates/dtmi:contoso:Thermostat;1?{V}", api_token).json()
    validate(SPEC, "/deviceTemplates/{deviceTemplateId}", "get", 200, template)
    (component,) = [c for c in template["capabilityModel"]["contents"] if c["@type"] == "Component"]
    assert component["name"] == "migration" and component["schema"]["@id"] == "dtmi:azureiot:DeviceMigration;1"
    assert [c["name"] for c in component["schema"]["contents"]] == ["DeviceMove"]
    legacy = get(f"{app_url}/deviceTemplates/dtmi:contoso:LegacySensor;1?{V}", api_token).json()
    assert not [c for c in legacy["capabilityModel"]["contents"] if c["@type"] == "Component"]


def test_device_keys_derive_from_the_enrollment_group_key(app_url, api_token):
    group = get(f"{app_url}/enrollmentGroups/sas-iot-devices?{V}", api_token).json()
    validate(SPEC, "/enrollmentGroups/{enrollmentGroupId}", "get", 200, group)
    creds = get(f"{app_url}/devices/thermostat-007/credentials?{V}", api_token).json()
    validate(SPEC, "/devices/{deviceId}/credentials", "get", 200, creds)
    group_key = base64.b64decode(group["attestation"]["symmetricKey"]["primaryKey"])
    expected = base64.b64encode(hmac.new(group_key, b"thermostat-007", hashlib.sha256).digest()).decode()
    assert creds["symmetricKey"]["primaryKey"] == expected and creds["idScope"].startswith("0ne")


def test_an_entra_user_of_the_subscription_reads_the_app_and_another_user_is_forbidden(sandbox, app_url):
    ada = f"Bearer {user_token(sandbox, 'ada@contoso-sandbox.onmicrosoft.com')}"
    groups = get(f"{app_url}/deviceGroups?{V}", ada)
    assert groups.status_code == 200
    validate(SPEC, "/deviceGroups", "get", 200, groups.json())
    assert {g["id"] for g in groups.json()["value"]} == {"thermostats", "legacy-sensors"}
    grace = get(f"{app_url}/deviceGroups?{V}", f"Bearer {user_token(sandbox, 'grace@contoso-sandbox.onmicrosoft.com')}")
    assert grace.status_code == 403


@pytest.mark.parametrize("path,auth,status,code", [
    (f"/devices?{V}", None, 401, "Unauthorized"),
    (f"/devices?{V}", "SharedAccessSignature sr=x&sig=y&skn=z&se=1", 401, "Unauthorized"),
    ("/devices?api-version=1999-01-01", "token", 400, "InvalidApiVersion"),
    (f"/devices/no-such-device?{V}", "token", 404, "NotFound"),
])
def test_errors_have_centrals_shape(app_url, api_token, path, auth, status, code):
    r = requests.get(f"{app_url}{path}", headers={"Authorization": api_token if auth == "token" else auth} if auth else {}, timeout=10)
    assert r.status_code == status
    body = r.json()
    assert body["error"]["code"] == code and body["error"]["requestId"] and body["error"]["time"]
    validate(SPEC, "/devices/{deviceId}", "get", "default", body)

"""ARM against the official management SDKs, unmodified: subscriptions, Central apps, RBAC."""

import time

import msal
import pytest
import requests
from azure.core.credentials import AccessToken
from azure.core.exceptions import HttpResponseError
from azure.identity import ClientSecretCredential
from azure.mgmt.iotcentral import IotCentralClient
from azure.mgmt.resource.subscriptions import SubscriptionClient

from browser import sign_in
from conftest import ARM_SCOPE, AUTOMATION_CLIENT, DESKTOP_CLIENT, LAB_SUBSCRIPTION, PROD_SUBSCRIPTION, TENANT

ARM_DEFAULT = "https://management.azure.com/.default"


class MsalUserCredential:
    """A TokenCredential over an msal sign-in: how an app hands a user's token to the SDKs."""

    def __init__(self, sandbox, upn: str):
        self.app = msal.PublicClientApplication(DESKTOP_CLIENT, authority=sandbox.authority, instance_discovery=False)
        flow = self.app.initiate_auth_code_flow([ARM_SCOPE], redirect_uri="http://localhost:3000")
        result = self.app.acquire_token_by_auth_code_flow(flow, sign_in(flow["auth_uri"], upn=upn))
        assert "access_token" in result, result

    def get_token(self, *scopes, **kwargs) -> AccessToken:
        result = self.app.acquire_token_silent([ARM_SCOPE], account=self.app.get_accounts()[0])
        return AccessToken(result["access_token"], int(time.time()) + result["expires_in"])


def clients(sandbox, credential):
    common = {"base_url": sandbox.base_url, "credential_scopes": [ARM_DEFAULT]}
    return SubscriptionClient(credential, **common), lambda sub: IotCentralClient(credential, sub, **common)


def test_a_user_lists_the_subscriptions_and_central_apps_they_can_see(sandbox, fresh_scenario):
    subs, central = clients(sandbox, MsalUserCredential(sandbox, "ada@contoso-sandbox.onmicrosoft.com"))
    names = sorted(s.display_name for s in subs.subscriptions.list())
    assert names == ["Contoso IoT Lab (sandbox)", "Contoso IoT Production (sandbox)"]
    apps = {a.subdomain: a for a in central(PROD_SUBSCRIPTION).apps.list_by_subscription()}
    assert set(apps) == {"contoso-fleet", "contoso-cold-chain"}
    assert apps["contoso-fleet"].application_id == "b1f5e0a4-3a7c-4e0e-9f3e-6c0d1a2b3c01"
    got = central(PROD_SUBSCRIPTION).apps.get("rg-iot-prod", "contoso-fleet")
    assert got.display_name == "Contoso Fleet" and got.sku.name == "ST2"


def test_every_page_is_followed_when_arm_pages_small(sandbox, fresh_scenario):
    fresh_scenario["armPageSize"] = 1
    sandbox.load_scenario(fresh_scenario)
    credential = MsalUserCredential(sandbox, "ada@contoso-sandbox.onmicrosoft.com")
    subs, central = clients(sandbox, credential)
    assert len(list(subs.subscriptions.list())) == 2
    assert len(list(central(PROD_SUBSCRIPTION).apps.list_by_subscription())) == 2
    raw = requests.get(
        f"{sandbox.base_url}/subscriptions/{PROD_SUBSCRIPTION}/providers/Microsoft.IoTCentral/iotApps?api-version=2021-06-01",
        headers={"Authorization": f"Bearer {credential.get_token(ARM_DEFAULT).token}"}, timeout=10,
    ).json()
    assert len(raw["value"]) == 1 and "$skiptoken=1" in raw["nextLink"]


def test_a_user_without_access_gets_403_authorization_failed(sandbox, fresh_scenario):
    subs, central = clients(sandbox, MsalUserCredential(sandbox, "grace@contoso-sandbox.onmicrosoft.com"))
    assert [s.subscription_id for s in subs.subscriptions.list()] == [LAB_SUBSCRIPTION]
    with pytest.raises(HttpResponseError) as denied:
        list(central(PROD_SUBSCRIPTION).apps.list_by_subscription())
    assert denied.value.status_code == 403 and denied.value.error.code == "AuthorizationFailed"


def test_azure_identity_client_credentials_reach_arm(sandbox, fresh_scenario):
    credential = ClientSecretCredential(
        TENANT, AUTOMATION_CLIENT, sandbox.client_secret(AUTOMATION_CLIENT),
        authority=sandbox.base_url, disable_instance_discovery=True,
    )
    subs, central = clients(sandbox, credential)
    assert [s.subscription_id for s in subs.subscriptions.list()] == [PROD_SUBSCRIPTION]
    assert len(list(central(PROD_SUBSCRIPTION).apps.list_by_subscription())) == 2


def test_the_subscription_lists_its_locations_as_arm_does(sandbox, fresh_scenario):
    credential = ClientSecretCredential(
        TENANT, AUTOMATION_CLIENT, sandbox.client_secret(AUTOMATION_CLIENT),
        authority=sandbox.base_url, disable_instance_discovery=True,
    )
    subs, _ = clients(sandbox, credential)
    locations = {l.name: l for l in subs.subscriptions.list_locations(PROD_SUBSCRIPTION)}
    assert locations["westeurope"].display_name == "West Europe"
    assert locations["westeurope"].regional_display_name == "(Europe) West Europe"
    assert locations["westeurope"].metadata.region_type == "Physical"
    # Every region the scenario places a resource group in is among them.
    production = next(s for s in fresh_scenario["subscriptions"] if s["id"] == PROD_SUBSCRIPTION)
    for group in production["resourceGroups"]:
        assert group["location"] in locations, group
    with pytest.raises(HttpResponseError) as denied:
        list(subs.subscriptions.list_locations(LAB_SUBSCRIPTION))
    assert denied.value.status_code == 403 and denied.value.error.code == "AuthorizationFailed"


def test_a_wrong_client_secret_is_aadsts7000215(sandbox):
    r = requests.post(f"{sandbox.authority}/oauth2/v2.0/token", data={
        "client_id": AUTOMATION_CLIENT, "client_secret": "wrong", "grant_type": "client_credentials", "scope": ARM_DEFAULT,
    }, timeout=10)
    assert r.status_code == 401 and r.json()["error"] == "invalid_client" and r.json()["error_codes"] == [7000215]


def arm_get(sandbox, path: str, token: str | None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.get(f"{sandbox.base_url}{path}", headers=headers, timeout=10)


def service_token(sandbox, scope: str) -> str:
    r = requests.post(f"{sandbox.authority}/oauth2/v2.0/token", data={
        "client_id": AUTOMATION_CLIENT, "client_secret": sandbox.client_secret(AUTOMATION_CLIENT),
        "grant_type": "client_credentials", "scope": scope,
    }, timeout=10)
    return r.json()["access_token"]


@pytest.mark.parametrize("path,auth,status,code", [
    ("/subscriptions?api-version=2022-12-01", None, 401, "AuthenticationFailed"),
    ("/subscriptions?api-version=2022-12-01", "garbage", 401, "InvalidAuthenticationToken"),
    ("/subscriptions?api-version=2022-12-01", "hub", 401, "InvalidAuthenticationTokenAudience"),
    ("/subscriptions", "arm", 400, "MissingApiVersionParameter"),
    ("/subscriptions?api-version=1999-01-01", "arm", 400, "NoRegisteredProviderFound"),
    (f"/subscriptions/{PROD_SUBSCRIPTION}/resourceGroups/nope?api-version=2024-07-01", "arm", 404, "ResourceGroupNotFound"),
    ("/subscriptions/00000000-0000-0000-0000-000000000000?api-version=2022-12-01", "arm", 404, "SubscriptionNotFound"),
])
def test_arm_errors_have_azure_status_and_code(sandbox, path, auth, status, code):
    token = {"arm": lambda: service_token(sandbox, ARM_DEFAULT), "hub": lambda: service_token(sandbox, "https://iothubs.azure.net/.default"),
             "garbage": lambda: "a.b.c", None: lambda: None}[auth]()
    r = arm_get(sandbox, path, token)
    assert r.status_code == status, r.text
    assert r.json()["error"]["code"] == code
    assert r.headers["x-ms-request-id"]
    if status == 401:
        assert r.headers["www-authenticate"].startswith("Bearer")

"""Entra ID against the official `msal` client, unmodified: authorization code + PKCE, refresh,
and the AADSTS errors a user of the app will meet."""

import base64
import hashlib
import secrets
from urllib.parse import urlencode

import msal
import pytest
import requests

from browser import error_page, sign_in
from conftest import ARM_SCOPE, CENTRAL_SCOPE, DESKTOP_CLIENT, SPA_CLIENT, TENANT

REDIRECT = "http://localhost:3000"


def desktop_app(sandbox) -> msal.PublicClientApplication:
    return msal.PublicClientApplication(DESKTOP_CLIENT, authority=sandbox.authority, instance_discovery=False)


def test_msal_signs_in_with_pkce_and_refreshes_silently(sandbox, fresh_scenario):
    app = desktop_app(sandbox)
    flow = app.initiate_auth_code_flow([ARM_SCOPE], redirect_uri=REDIRECT)
    assert flow["code_verifier"] and "code_challenge_method=S256" in flow["auth_uri"]
    result = app.acquire_token_by_auth_code_flow(flow, sign_in(flow["auth_uri"]))
    assert "access_token" in result, result
    assert result["id_token_claims"]["preferred_username"] == "ada@contoso-sandbox.onmicrosoft.com"
    # msal sends SHA-256(nonce) and checks the id_token carries it back.
    assert result["id_token_claims"]["nonce"] == hashlib.sha256(flow["nonce"].encode()).hexdigest()

    account = app.get_accounts()[0]
    refreshed = app.acquire_token_silent([ARM_SCOPE], account=account, force_refresh=True)
    assert refreshed and refreshed["access_token"] != result["access_token"]
    # The refresh token also buys a token for another resource, without a new sign-in.
    central = app.acquire_token_silent([CENTRAL_SCOPE], account=account)
    assert central and "access_token" in central


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def authorize_url(sandbox, client_id: str, challenge: str, redirect: str = REDIRECT, **extra) -> str:
    params = {
        "client_id": client_id, "response_type": "code", "redirect_uri": redirect,
        "scope": f"{ARM_SCOPE} offline_access openid profile", "state": "s1", "nonce": "n1",
        "code_challenge": challenge, "code_challenge_method": "S256", **extra,
    }
    return f"{sandbox.authority}/oauth2/v2.0/authorize?{urlencode(params)}"


def redeem(sandbox, client_id: str, code: str, verifier: str, origin: str | None = None, redirect: str = REDIRECT):
    headers = {"Origin": origin} if origin else {}
    return requests.post(
        f"{sandbox.authority}/oauth2/v2.0/token",
        data={"client_id": client_id, "grant_type": "authorization_code", "code": code, "redirect_uri": redirect,
              "code_verifier": verifier, "scope": f"{ARM_SCOPE} offline_access openid profile"},
        headers=headers, timeout=10,
    )


def aadsts(response) -> int:
    return response.json()["error_codes"][0]


def test_a_spa_registration_needs_the_origin_header_to_redeem(sandbox, fresh_scenario):
    verifier, challenge = pkce_pair()
    back = sign_in(authorize_url(sandbox, SPA_CLIENT, challenge))
    assert back["state"] == "s1"
    refused = redeem(sandbox, SPA_CLIENT, back["code"], verifier)
    assert refused.status_code == 400 and aadsts(refused) == 9002327
    assert "AADSTS9002327" in refused.json()["error_description"]

    verifier, challenge = pkce_pair()
    back = sign_in(authorize_url(sandbox, SPA_CLIENT, challenge))
    ok = redeem(sandbox, SPA_CLIENT, back["code"], verifier, origin="http://localhost:3000")
    assert ok.status_code == 200, ok.text
    assert ok.json()["refresh_token_expires_in"] <= 24 * 3600


def test_spa_refresh_tokens_end_after_24_hours(sandbox, fresh_scenario):
    verifier, challenge = pkce_pair()
    back = sign_in(authorize_url(sandbox, SPA_CLIENT, challenge))
    tokens = redeem(sandbox, SPA_CLIENT, back["code"], verifier, origin="http://localhost:3000").json()
    refresh = lambda rt: requests.post(  # noqa: E731
        f"{sandbox.authority}/oauth2/v2.0/token",
        data={"client_id": SPA_CLIENT, "grant_type": "refresh_token", "refresh_token": rt, "scope": ARM_SCOPE},
        headers={"Origin": "http://localhost:3000"}, timeout=10,
    )
    first = refresh(tokens["refresh_token"])
    assert first.status_code == 200, first.text
    sandbox.control("POST", "clock", json={"advanceSeconds": 24 * 3600})
    try:
        expired = refresh(first.json()["refresh_token"])
        assert expired.status_code == 400 and aadsts(expired) == 700084
    finally:
        sandbox.control("POST", "clock", json={"advanceSeconds": -24 * 3600})


def test_a_pkce_verifier_that_does_not_match_is_aadsts50148(sandbox, fresh_scenario):
    _, challenge = pkce_pair()
    back = sign_in(authorize_url(sandbox, DESKTOP_CLIENT, challenge))
    wrong = redeem(sandbox, DESKTOP_CLIENT, back["code"], "not-the-verifier-that-made-the-challenge")
    assert wrong.status_code == 400 and aadsts(wrong) == 50148


def test_a_code_is_redeemed_once(sandbox, fresh_scenario):
    verifier, challenge = pkce_pair()
    back = sign_in(authorize_url(sandbox, DESKTOP_CLIENT, challenge))
    assert redeem(sandbox, DESKTOP_CLIENT, back["code"], verifier).status_code == 200
    again = redeem(sandbox, DESKTOP_CLIENT, back["code"], verifier)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"


def test_an_unregistered_redirect_uri_is_aadsts50011_on_an_error_page(sandbox):
    _, challenge = pkce_pair()
    status, html = error_page(authorize_url(sandbox, SPA_CLIENT, challenge, redirect="http://localhost:4000"))
    assert status == 400 and "AADSTS50011" in html


def test_an_unknown_client_is_aadsts700016(sandbox):
    _, challenge = pkce_pair()
    status, html = error_page(authorize_url(sandbox, "00000000-0000-0000-0000-000000000000", challenge))
    assert status == 400 and "AADSTS700016" in html


def test_cancel_on_the_sign_in_page_returns_access_denied(sandbox):
    _, challenge = pkce_pair()
    back = sign_in(authorize_url(sandbox, DESKTOP_CLIENT, challenge), decision="cancel")
    assert back["error"] == "access_denied" and back["state"] == "s1"
    assert "AADSTS65004" in back["error_description"]


def test_authorize_without_pkce_is_refused(sandbox):
    url = authorize_url(sandbox, DESKTOP_CLIENT, "").replace("code_challenge=&", "")
    resp = requests.get(url, allow_redirects=False, timeout=10)
    assert resp.status_code in (302, 303) and "AADSTS9002325" in requests.utils.unquote(resp.headers["location"])


@pytest.mark.parametrize("scope,code", [
    (f"{ARM_SCOPE} https://iothubs.azure.net/.default", 28000),
    ("https://vault.azure.net/.default", 500011),
])
def test_bad_scopes_are_refused_with_their_aadsts_code(sandbox, scope, code):
    _, challenge = pkce_pair()
    url = authorize_url(sandbox, DESKTOP_CLIENT, challenge, scope=scope)
    resp = requests.get(url, allow_redirects=False, timeout=10)
    assert f"AADSTS{code}" in requests.utils.unquote(resp.headers["location"])


def test_openid_configuration_is_served_per_tenant_and_unknown_tenants_fail(sandbox):
    conf = requests.get(f"{sandbox.authority}/v2.0/.well-known/openid-configuration", timeout=10).json()
    assert conf["issuer"] == f"{sandbox.base_url}/{TENANT}/v2.0"
    keys = requests.get(conf["jwks_uri"], timeout=10).json()["keys"]
    assert keys[0]["kty"] == "RSA" and keys[0]["alg"] == "RS256"
    missing = requests.get(f"{sandbox.base_url}/nosuch.onmicrosoft.com/v2.0/.well-known/openid-configuration", timeout=10)
    assert missing.status_code == 400 and aadsts(missing) == 90002

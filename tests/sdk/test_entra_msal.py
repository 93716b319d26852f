"""Entra ID against the official `msal` client, unmodified: authorization code + PKCE, msal's
desktop sign-in (`acquire_token_interactive`) in a stock headless Chromium, refresh, and the
AADSTS errors a user of the app will meet. The sign-in page is where discovery sends browsers:
plain http://localhost, with the token endpoint and every API on HTTPS only."""

import base64
import hashlib
import secrets
import socket
import threading
import webbrowser
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlencode, urljoin, urlparse

import msal
import pytest
import requests

from browser import _Form, chromium_sign_in, error_page, sign_in
from conftest import ARM_SCOPE, CENTRAL_SCOPE, DESKTOP_CLIENT, SPA_CLIENT, TENANT

REDIRECT = "http://localhost:3000"


def desktop_app(sandbox) -> msal.PublicClientApplication:
    return msal.PublicClientApplication(DESKTOP_CLIENT, authority=sandbox.authority, instance_discovery=False)


def openid_configuration(sandbox) -> dict:
    return requests.get(f"{sandbox.authority}/v2.0/.well-known/openid-configuration", timeout=10).json()


def test_discovery_sends_browsers_to_plain_http_and_keeps_tokens_and_apis_on_https(sandbox):
    conf = openid_configuration(sandbox)
    page = urlparse(conf["authorization_endpoint"])
    assert (page.scheme, page.hostname, page.path) == ("http", "localhost", f"/{TENANT}/oauth2/v2.0/authorize"), conf["authorization_endpoint"]
    assert conf["token_endpoint"] == f"{sandbox.base_url}/{TENANT}/oauth2/v2.0/token"
    assert conf["response_modes_supported"] == ["query", "fragment", "form_post"]
    # The plain-HTTP listener serves the sign-in page and nothing else.
    origin = f"http://localhost:{page.port}"
    for method, path in [("POST", f"/{TENANT}/oauth2/v2.0/token"), ("GET", f"/{TENANT}/v2.0/.well-known/openid-configuration"),
                         ("GET", "/_sandbox/credentials"), ("GET", "/subscriptions?api-version=2022-12-01")]:
        answer = requests.request(method, origin + path, headers=sandbox.control_headers, data={"grant_type": "client_credentials"}, timeout=10)
        assert answer.status_code == 404, f"{method} {path} over plain HTTP: {answer.status_code}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class HeadlessChromium(webbrowser.BaseBrowser):
    """The test's default browser: msal opens the sign-in page with webbrowser.open, and a stock
    headless Chromium (no certificate exception) does what a person does there, in the background."""

    def __init__(self):
        super().__init__("iotm-headless-chromium")
        self.seen: list[str] = []
        self.errors: list[BaseException] = []
        self.threads: list[threading.Thread] = []

    def open(self, url, new=0, autoraise=True):
        def person():
            try:
                self.seen.append(chromium_sign_in(url))
            except BaseException as e:  # noqa: BLE001 - reported by the test
                self.errors.append(e)
        self.threads.append(threading.Thread(target=person, daemon=True))
        self.threads[-1].start()
        return True


@pytest.fixture
def headless_chromium():
    chromium = HeadlessChromium()
    webbrowser.register(chromium.name, None, chromium, preferred=True)
    try:
        yield chromium
    finally:
        webbrowser._tryorder.remove(chromium.name)  # the standard browsers again for other tests
        for thread in chromium.threads:
            thread.join(timeout=30)


def test_msal_desktop_sign_in_completes_in_a_stock_browser_with_form_post(sandbox, fresh_scenario, headless_chromium):
    app = desktop_app(sandbox)
    result = app.acquire_token_interactive([ARM_SCOPE], port=free_port(), timeout=90, prompt="select_account")
    assert not headless_chromium.errors, headless_chromium.errors
    assert "access_token" in result, result
    assert result["id_token_claims"]["preferred_username"] == "ada@contoso-sandbox.onmicrosoft.com"
    # msal's listener took the code from Entra's auto-posted form, and showed its own success page.
    # msal returns as soon as its listener has the code; the browser reads the page a moment later.
    for thread in headless_chromium.threads:
        thread.join(timeout=30)
    assert headless_chromium.seen and headless_chromium.seen[0].startswith("Authentication complete."), headless_chromium.seen
    assert app.get_accounts()[0]["username"] == "ada@contoso-sandbox.onmicrosoft.com"


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
    return f"{openid_configuration(sandbox)['authorization_endpoint']}?{urlencode(params)}"


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


def refresh_desktop(sandbox, refresh_token: str):
    return requests.post(
        f"{sandbox.authority}/oauth2/v2.0/token",
        data={"client_id": DESKTOP_CLIENT, "grant_type": "refresh_token", "refresh_token": refresh_token, "scope": ARM_SCOPE},
        timeout=10,
    )


def test_a_refresh_token_stays_valid_after_use_until_the_users_sessions_are_revoked(sandbox, fresh_scenario):
    verifier, challenge = pkce_pair()
    tokens = redeem(sandbox, DESKTOP_CLIENT, sign_in(authorize_url(sandbox, DESKTOP_CLIENT, challenge))["code"], verifier).json()
    # Two processes sharing one token cache, or a retry after a lost answer: both redemptions work.
    first, second = refresh_desktop(sandbox, tokens["refresh_token"]), refresh_desktop(sandbox, tokens["refresh_token"])
    assert (first.status_code, second.status_code) == (200, 200), (first.text, second.text)
    assert first.json()["access_token"] != second.json()["access_token"]
    # msal, redeeming the same refresh token again, gets a token too.
    app = desktop_app(sandbox)
    again = app.acquire_token_by_refresh_token(tokens["refresh_token"], [ARM_SCOPE])
    assert "access_token" in again, again

    revoked = sandbox.control("POST", "users/ada@contoso-sandbox.onmicrosoft.com/revokeSignInSessions")
    assert revoked["value"] is True and revoked["revokedRefreshTokens"] >= 3
    for refresh_token in (tokens["refresh_token"], second.json()["refresh_token"]):
        refused = refresh_desktop(sandbox, refresh_token)
        assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant" and aadsts(refused) == 50173, refused.text
        assert "AADSTS50173" in refused.json()["error_description"]
    refused = app.acquire_token_by_refresh_token(tokens["refresh_token"], [ARM_SCOPE])
    assert refused.get("error") == "invalid_grant" and 50173 in refused["error_codes"], refused
    # Signing in again works at once.
    verifier, challenge = pkce_pair()
    fresh = redeem(sandbox, DESKTOP_CLIENT, sign_in(authorize_url(sandbox, DESKTOP_CLIENT, challenge))["code"], verifier).json()
    assert refresh_desktop(sandbox, fresh["refresh_token"]).status_code == 200


@pytest.mark.parametrize("mode", ["query", "fragment", "form_post", None])
def test_the_code_comes_back_in_the_response_mode_asked_for(sandbox, fresh_scenario, mode):
    verifier, challenge = pkce_pair()
    extra = {"response_mode": mode} if mode else {}
    url = authorize_url(sandbox, DESKTOP_CLIENT, challenge, **extra)
    page = requests.get(url, timeout=10)
    form = _Form()
    form.feed(page.text)
    ada = form.users["ada@contoso-sandbox.onmicrosoft.com"]
    back = requests.post(urljoin(url, form.action), data={**form.fields, "user": ada, "decision": "accept"}, allow_redirects=False, timeout=10)
    if mode == "form_post":
        # Entra's answer: a page whose form posts the code to the redirect URI.
        assert back.status_code == 200 and 'action="http://localhost:3000/"' in back.text and "document.forms[0].submit()" in back.text
        hidden = _Hidden()
        hidden.feed(back.text)
        params = hidden.fields
    else:
        assert back.status_code in (302, 303)
        location = urlparse(back.headers["location"])
        assert (location.scheme, location.netloc) == ("http", "localhost:3000")
        carried = location.fragment if mode == "fragment" else location.query
        assert (location.query if mode == "fragment" else location.fragment) == ""
        params = {k: v[0] for k, v in parse_qs(carried).items()}
    assert params["state"] == "s1"
    assert redeem(sandbox, DESKTOP_CLIENT, params["code"], verifier).status_code == 200


def test_an_unknown_response_mode_is_aadsts70007(sandbox):
    _, challenge = pkce_pair()
    resp = requests.get(authorize_url(sandbox, DESKTOP_CLIENT, challenge, response_mode="post"), allow_redirects=False, timeout=10)
    assert resp.status_code in (302, 303) and "AADSTS70007" in requests.utils.unquote(resp.headers["location"])


class _Hidden(HTMLParser):
    def __init__(self):
        super().__init__()
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "input" and a.get("type") == "hidden":
            self.fields[a["name"]] = a.get("value", "")
